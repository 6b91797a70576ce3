//! Slash commands: Enter on a line that starts with `/` runs the command the binding table
//! names (`bindings/commands.rs`). A command that worked leaves the input line empty (and
//! in the history); one that failed leaves it as typed, for a correction, and says why in
//! the notice line.

use shared::account::{Who, FIRST_ACCOUNT_ID, MAX_PATTERN_LEN};
use shared::{RequestId, UserId};

use super::bindings::commands::{self, Command};
use super::conversation::{ConvKey, MAX_CONVERSATIONS};
use super::{App, ConnState, Effect, Focus};

/// A question for the hub from a slash command; the answer comes back by its request id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The accounts whose names match a glob (`/who`).
    Users(String),
    /// One account (`/whois`).
    Lookup(Who),
}

/// A request to the hub the UI waits for, by its request id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// `/who PATTERN`.
    Who(String),
    /// `/whois NAME`.
    Whois(String),
    /// The key of the account under the peer list's cursor, for its detail row.
    Detail(UserId),
    /// `/query ARGS`, waiting for the directory to name `name`, which this client has not
    /// met (an account that is away); run again once it has.
    Query {
        /// The command's arguments, as typed.
        args: String,
        /// The name looked up.
        name: String,
    },
}

impl App {
    /// Enter: run the line's command, or send it.
    pub(super) fn submit(&mut self) -> Vec<Effect> {
        let line = self.compose.content();
        if !line.starts_with('/') || line.starts_with("//") {
            return self.send();
        }
        let (name, args) = line[1..]
            .split_once(char::is_whitespace)
            .unwrap_or((&line[1..], ""));
        let Some(spec) = commands::named(name) else {
            self.tell(
                format!("unknown command /{name}: /help lists the commands"),
                true,
            );
            return Vec::new();
        };
        let args = args.trim_start().to_owned();
        let done = match spec.command {
            Command::Msg => self.msg(&args),
            Command::Query => self.query(&args),
            Command::File => self.file(&args),
            Command::Who => self.who(&args),
            Command::Whois => self.whois(&args),
            Command::Clear => {
                self.inbox.clear();
                Ok(Vec::new())
            }
            Command::Search => self.search(&args).map(|()| Vec::new()),
            Command::Help => self.help_command(&args).map(|()| Vec::new()),
            Command::Quiet => self.quiet().map(|()| Vec::new()),
            Command::Quit | Command::Literal => Ok(Vec::new()),
        };
        match done {
            Ok(effects) => {
                self.compose.sent();
                if spec.command == Command::Quit {
                    self.request_quit();
                }
                effects
            }
            Err(why) => {
                self.tell(why, true);
                Vec::new()
            }
        }
    }

    /// `/msg NAME[,NAME…] TEXT`: to these, whatever is selected.
    fn msg(&mut self, args: &str) -> Result<Vec<Effect>, String> {
        let usage = "usage: /msg NAME[,NAME…] TEXT";
        let (names, text) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        if names.is_empty() || text.trim().is_empty() {
            return Err(usage.into());
        }
        let mut to = Vec::new();
        for name in names.split(',').filter(|n| !n.is_empty()) {
            let id = self.resolve(name)?;
            if !to.contains(&id) {
                to.push(id);
            }
        }
        let max = usize::from(self.limits.max_receivers);
        if to.len() > max {
            return Err(format!("at most {max} receivers per message"));
        }
        let text = text.trim_start().to_owned();
        self.check_send(Some(&text))?;
        Ok(vec![self.relay_text(to, text)])
    }

    /// `/query NAME[,NAME…]`: open the conversation with these (begun if new) and show it.
    /// An account need not be online (what is sent waits in its mailbox): a name this client
    /// has not met is asked of the hub's directory, and the command runs again on the answer.
    /// An anonymous id must be here, since it is gone for good once it leaves.
    pub(super) fn query(&mut self, args: &str) -> Result<Vec<Effect>, String> {
        let names = one_word(args, "usage: /query NAME[,NAME…]")?;
        let mut ids = Vec::new();
        for name in names.split(',').filter(|n| !n.is_empty()) {
            let id = match self.resolve(name) {
                Ok(id) => id,
                Err(why) if parse_id(name).is_some() || self.conn != ConnState::Connected => {
                    return Err(why)
                }
                Err(_) => {
                    let bare = name.trim_start_matches('@').to_lowercase();
                    let ask = Ask::Query {
                        args: args.to_owned(),
                        name: name.to_owned(),
                    };
                    let req = self.ask(ask)?;
                    return Ok(vec![Effect::Request(req, Request::Lookup(Who::Name(bare)))]);
                }
            };
            if id.0 < FIRST_ACCOUNT_ID && !self.peers.all().contains(&id) {
                return Err(format!("#{id} is not here"));
            }
            ids.push(id);
        }
        if ids.is_empty() {
            return Err("usage: /query NAME[,NAME…]".into());
        }
        let max = usize::from(self.limits.max_receivers);
        if ids.len() > max {
            return Err(format!("at most {max} receivers per message"));
        }
        self.open_conversation(ConvKey::with(&ids, self.me))?;
        Ok(Vec::new())
    }

    /// Show conversation `key`, begun if new.
    pub(super) fn open_conversation(&mut self, key: ConvKey) -> Result<(), String> {
        let i = self.inbox.index_or_begin(key).ok_or(format!(
            "at most {MAX_CONVERSATIONS} conversations besides all: new ones are only in all"
        ))?;
        self.switch_to(i);
        Ok(())
    }

    /// `/quiet`: the conversation on screen notifies only of mentions, or again of all.
    fn quiet(&mut self) -> Result<(), String> {
        let i = self.inbox.active();
        let label = self.inbox.current().key.label(&self.inbox.names);
        let conv = self.inbox.conversation_mut(i);
        conv.quiet = !conv.quiet;
        let text = if conv.quiet {
            format!("{label} is quiet: only mentions notify; /quiet again undoes it")
        } else {
            format!("{label} notifies of every message again")
        };
        self.tell(text, false);
        Ok(())
    }

    /// `/file PATH`: attach, as Ctrl-O does.
    fn file(&mut self, args: &str) -> Result<Vec<Effect>, String> {
        let path = args.trim();
        if path.is_empty() {
            return Err("usage: /file PATH".into());
        }
        Ok(vec![Effect::LoadFile {
            path: crate::files::expand_home(path),
            max: u64::from(self.limits.max_body),
        }])
    }

    /// `/who [PATTERN]`: a glob; without `*` or `?` it matches anywhere in a name.
    fn who(&mut self, args: &str) -> Result<Vec<Effect>, String> {
        let pattern = match args.trim() {
            "" => "*".to_owned(),
            p if p.contains(['*', '?']) => p.to_owned(),
            p => format!("*{p}*"),
        };
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(format!("a pattern has at most {MAX_PATTERN_LEN} bytes"));
        }
        let req = self.ask(Ask::Who(pattern.clone()))?;
        Ok(vec![Effect::Request(req, Request::Users(pattern))])
    }

    /// `/whois NAME`: one account, by name or id.
    fn whois(&mut self, args: &str) -> Result<Vec<Effect>, String> {
        let name = one_word(args, "usage: /whois NAME")?;
        let who = match parse_id(name) {
            Some(id) => Who::Id(id),
            None => Who::Name(name.trim_start_matches('@').to_owned()),
        };
        let req = self.ask(Ask::Whois(name.to_owned()))?;
        Ok(vec![Effect::Request(req, Request::Lookup(who))])
    }

    /// A request id for `ask`, remembered until its answer; refused while not connected.
    pub(super) fn ask(&mut self, ask: Ask) -> Result<RequestId, String> {
        if self.conn != super::ConnState::Connected {
            return Err("not connected to the hub".into());
        }
        let req = self.take_req();
        self.asks.insert(req, ask);
        Ok(req)
    }

    /// `/help [COMMAND]`.
    fn help_command(&mut self, args: &str) -> Result<(), String> {
        let name = args.trim().trim_start_matches('/');
        if name.is_empty() {
            self.open_help();
            return Ok(());
        }
        let spec = commands::named(name).ok_or(format!("no command /{name}: /help lists them"))?;
        self.tell(format!("{}: {}", spec.usage, spec.does), false);
        Ok(())
    }

    /// `/search TEXT`: the newest match; the same text again (or none) goes to the next
    /// older one.
    fn search(&mut self, args: &str) -> Result<(), String> {
        let text = args.trim();
        let again = text.is_empty() || self.searching.as_deref() == Some(text);
        match (text.is_empty(), &self.searching) {
            (true, None) => return Err("usage: /search TEXT".into()),
            (false, _) => self.searching = Some(text.to_owned()),
            (true, Some(_)) => {}
        }
        if !again {
            self.inbox.unmark();
        }
        self.search_step(true);
        Ok(())
    }

    /// F3 (`older`) or Shift-F3: the next match of the last search.
    pub(super) fn search_step(&mut self, older: bool) {
        let Some(text) = self.searching.clone() else {
            self.tell("nothing to search for: /search TEXT", true);
            return;
        };
        let from = self.inbox.marked();
        let found = if older {
            self.inbox.find_older(&text, from)
        } else {
            from.and_then(|seq| self.inbox.find_newer(&text, seq))
        };
        let Some(seq) = found else {
            if older && self.search_history(&text) {
                self.tell(format!("searching the history for '{text}'…"), false);
                return;
            }
            let which = if from.is_none() {
                "no"
            } else if older {
                "no older"
            } else {
                "no newer"
            };
            self.tell(format!("{which} match for '{text}'"), true);
            return;
        };
        let (w, h) = self.inbox_dims();
        self.inbox.show(seq, w, h);
        self.focus = Focus::Inbox;
        let (n, of) = self.inbox.match_rank(&text, seq);
        self.tell(
            format!("match {n}/{of} for '{text}' · F3 older · Shift-F3 newer"),
            false,
        );
    }

    /// The id `name` stands for: `#ID` or digits, `@NAME`, or a name (any case) of a peer
    /// or of an account the client has learnt.
    pub(super) fn resolve(&self, name: &str) -> Result<UserId, String> {
        if let Some(id) = parse_id(name) {
            return Ok(id);
        }
        let bare = name.trim_start_matches('@').to_lowercase();
        self.peers
            .find(&bare)
            .or_else(|| self.inbox.names.find(&bare))
            .ok_or(format!(
                "no one called {name} here: /who finds accounts, /whois {name} looks one up"
            ))
    }
}

/// `#ID` or plain digits.
fn parse_id(name: &str) -> Option<UserId> {
    let digits = name.strip_prefix('#').unwrap_or(name);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok().map(UserId))
        .flatten()
}

/// The one word of `args`, or the usage.
fn one_word<'a>(args: &'a str, usage: &str) -> Result<&'a str, String> {
    let mut words = args.split_whitespace();
    match (words.next(), words.next()) {
        (Some(word), None) => Ok(word),
        _ => Err(usage.into()),
    }
}
