//! The client's state and the one place it changes: `App::update(Action) -> Vec<Effect>`.
//! No I/O happens here; effects describe the I/O the event loop should do.

pub mod bindings;
pub mod command;
pub mod complete;
pub mod compose;
pub mod conversation;
pub mod inbox;
pub mod keep;
pub mod keymap;
pub mod keys;
pub mod names;
pub mod network;
pub mod notify;
mod panes;
pub mod peers;
pub mod secure;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use crossterm::event::{KeyEvent, MouseEvent};
use shared::{Limits, RequestId, UserId};

use crate::layout::Areas;
use crate::net::{NetEvent, Relay};
use command::Ask;
pub use command::Request;
use complete::Completion;
use compose::{Attachment, Compose};
use inbox::Inbox;
use peers::Peers;

/// The highest request id the UI uses. 0 is the watch's, and the ids above are the network
/// task's own (lookups, acks) and the login helper's, so that no answer is taken for another.
pub const UI_REQ_MAX: u32 = (1 << 31) - 1;

/// Ticks a notice stays on screen (ticks are 500 ms apart).
pub const NOTICE_TICKS: u32 = 12;

/// Everything that can happen to the client.
#[derive(Clone, Debug)]
pub enum Action {
    /// A key was pressed.
    Key(KeyEvent),
    /// Text was pasted (bracketed paste).
    Paste(String),
    /// A mouse event (only with `--mouse`).
    Mouse(MouseEvent),
    /// The terminal has a new size.
    Resize(u16, u16),
    /// The terminal gained (`true`) or lost the focus (focus events).
    Focus(bool),
    /// Time passes: notices expire.
    Tick,
    /// The network task said something.
    Net(NetEvent),
    /// The file asked for by [`Effect::LoadFile`] was read (or not).
    FileLoaded(Result<Attachment, String>),
    /// Completions asked for by [`Effect::CompletePath`].
    Completions(Vec<String>),
    /// The relay or request an effect asked for could not be handed to the network task
    /// (too many in flight).
    RelayRefused(RequestId),
    /// Entries from the history store, oldest first: the recent part at start, or the page
    /// [`Effect::LoadHistory`] asked for.
    History(Vec<crate::history::Record>),
    /// The history store's answer to a `/search` that ran out of entries in memory
    /// ([`App::take_history_search`]): the entries from the match on, oldest first; none
    /// when nothing older matches.
    Found(Vec<crate::history::Record>),
}

/// I/O the event loop performs for `update`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Relay a body through the network task; its request id is already in the inbox.
    Relay(Relay),
    /// Read a file to attach, refusing it above `max` bytes; answer with [`Action::FileLoaded`].
    LoadFile {
        /// The path as typed.
        path: PathBuf,
        /// The hub's body limit.
        max: u64,
    },
    /// List completions of a typed path; answer with [`Action::Completions`].
    CompletePath(String),
    /// Ask the hub something through the network task; the answer is a [`NetEvent`].
    Request(RequestId, Request),
    /// Clear the terminal and draw every cell again (Ctrl-L), for a screen another program
    /// scribbled on.
    RedrawAll,
    /// Read the page of history before the entry `before`; answer with [`Action::History`].
    LoadHistory {
        /// The oldest id shown.
        before: i64,
    },
}

/// Which pane takes keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The peer list.
    Peers,
    /// The compose box.
    Compose,
    /// The inbox.
    Inbox,
}

/// The connection as the UI knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Attempt `n` is under way.
    Connecting(u32),
    /// Connected.
    Connected,
    /// Gone, retrying after the pause.
    Down {
        /// Why.
        reason: String,
        /// Pause before the next attempt.
        retry_in: Duration,
    },
}

/// A one-line message to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Whether it reports a problem.
    pub error: bool,
    /// Ticks left.
    ttl: u32,
}

/// The whole client state.
#[derive(Debug)]
pub struct App {
    /// The hub's address being tried or connected to (one of `--hub`'s), as given.
    pub hub: String,
    /// The address of the last connection that worked, to tell a switch to another.
    last_hub: Option<String>,
    /// The address this connection failed over from, for the status bar: set when a
    /// connection is made to another address than the last one that worked.
    pub switched_from: Option<String>,
    /// Our id on the current connection (the account's once logged in).
    pub me: Option<UserId>,
    /// The account this connection is logged in as.
    pub account: Option<String>,
    /// Connection state.
    pub conn: ConnState,
    /// The hub's limits (defaults until the welcome).
    pub limits: Limits,
    /// The peer list.
    pub peers: Peers,
    /// The inbox.
    pub inbox: Inbox,
    /// The compose box.
    pub compose: Compose,
    /// Where keys go.
    pub focus: Focus,
    /// Whether the help popup is open.
    pub help: bool,
    /// Rows of the help popup scrolled past.
    pub help_scroll: usize,
    /// Whether "quit and lose the draft?" is being asked.
    pub confirm_quit: bool,
    /// The Tab completion being cycled through.
    pub completion: Option<Completion>,
    /// The path sent for completion from the input line, until its answer.
    completing_path: Option<String>,
    /// The text of the last `/search`.
    pub searching: Option<String>,
    /// Slash commands waiting for the hub's answer.
    asks: HashMap<RequestId, Ask>,
    /// The notice line.
    pub notice: Option<Notice>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// The side panes shown (`Some(true)`) or hidden by F2; `None`: shown on a wide terminal
    /// ([`crate::layout::NARROW_WIDTH`] columns or more).
    pub panes: Option<bool>,
    /// Local wall-clock time, set by the event loop before each update.
    pub now: NaiveTime,
    /// Today's local date, set with `now`.
    pub today: NaiveDate,
    /// Set when the user asked to quit.
    pub quit: bool,
    /// Keys the config file gave to actions.
    pub keys: keymap::KeyMap,
    /// The palette (the config file's `[colors]`).
    pub theme: crate::render::Theme,
    /// The bell, the title and desktop notifications.
    pub notify: notify::Notifier,
    /// Mailbox messages still to come (they come first after logging in): unread even if
    /// their conversation is on screen, since they came while the client was closed.
    mailbox_left: u64,
    /// History being kept, once the event loop opened a store.
    keeping: Option<keep::Keeping>,
    next_req: RequestId,
    /// This session's own fingerprint, once logged in with end-to-end keys.
    pub fingerprint: Option<String>,
    /// People whose key is not the one pinned (or is forged), and why: shown in red in the
    /// status bar until `tui-client trust NAME` and a reconnect.
    pub key_alerts: std::collections::BTreeMap<UserId, String>,
    /// Conversations already told that what is sent there goes in the clear.
    clear_noted: std::collections::HashSet<conversation::ConvKey>,
    /// What the directory said of a peer's key (fingerprint, pin state), for the peer list's
    /// detail row; `None` while it is being asked. Forgotten when their key alert changes.
    pub peer_keys: HashMap<UserId, Option<String>>,
}

impl App {
    /// A fresh client for `hub` on a `size` terminal.
    pub fn new(hub: impl Into<String>, size: (u16, u16)) -> App {
        App {
            hub: hub.into(),
            last_hub: None,
            switched_from: None,
            me: None,
            account: None,
            conn: ConnState::Connecting(1),
            limits: Limits::default(),
            peers: Peers::default(),
            inbox: Inbox::default(),
            compose: Compose::default(),
            // The peer list, where the selection is made, unless a narrow terminal hides it.
            focus: if crate::layout::wide(size.0) {
                Focus::Peers
            } else {
                Focus::Compose
            },
            help: false,
            help_scroll: 0,
            confirm_quit: false,
            completion: None,
            completing_path: None,
            searching: None,
            asks: HashMap::new(),
            notice: None,
            size,
            panes: None,
            now: NaiveTime::MIN,
            today: NaiveDate::MIN,
            quit: false,
            keys: keymap::KeyMap::default(),
            theme: crate::render::Theme::default(),
            notify: notify::Notifier::default(),
            mailbox_left: 0,
            keeping: None,
            next_req: RequestId(1),
            fingerprint: None,
            key_alerts: std::collections::BTreeMap::new(),
            clear_noted: std::collections::HashSet::new(),
            peer_keys: HashMap::new(),
        }
    }

    /// Apply one action; returns the I/O to perform.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let effects = self.apply(action);
        // A narrow terminal (or F2) hides the peer list; keys then go to compose.
        if self.focus == Focus::Peers && !self.panes_shown(self.size.0) {
            self.focus = Focus::Compose;
        }
        effects
    }

    fn apply(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(key) => {
                let before = self.peer_under_cursor();
                let mut effects = self.on_key(key);
                effects.extend(self.page_history());
                if self.peer_under_cursor() != before {
                    effects.extend(self.peer_detail());
                }
                return effects;
            }
            Action::Paste(text) => self.on_paste(&text),
            Action::Mouse(mouse) => {
                let before = self.peer_under_cursor();
                self.on_mouse(mouse);
                let mut effects = self.page_history();
                if self.peer_under_cursor() != before {
                    effects.extend(self.peer_detail());
                }
                return effects;
            }
            Action::History(records) => self.on_history(records),
            Action::Found(records) => self.on_found(records),
            Action::Resize(w, h) => self.size = (w, h),
            Action::Focus(focused) => self.on_focus(focused),
            Action::Tick => self.on_tick(),
            Action::Net(event) => return self.on_net(event),
            Action::FileLoaded(result) => self.on_file_loaded(result),
            Action::Completions(found) => self.on_completions(found),
            Action::RelayRefused(req) => {
                self.request_failed(req, "too many sends in flight; try again".into())
            }
        }
        Vec::new()
    }

    /// Whether `action` can change what is drawn (ticks only when a notice is up).
    pub fn needs_redraw(&self, action: &Action) -> bool {
        !matches!(action, Action::Tick) || self.notice.is_some()
    }

    /// Show a notice.
    pub fn tell(&mut self, text: impl Into<String>, error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            error,
            ttl: NOTICE_TICKS,
        });
    }

    fn on_tick(&mut self) {
        self.notify.tick();
        if let Some(n) = &mut self.notice {
            n.ttl = n.ttl.saturating_sub(1);
            if n.ttl == 0 {
                self.notice = None;
            }
        }
    }

    /// A fresh request id, from 1 to [`UI_REQ_MAX`] and round again.
    fn take_req(&mut self) -> RequestId {
        let req = self.next_req;
        self.next_req = match req.next() {
            RequestId(n) if n > UI_REQ_MAX => RequestId(1),
            next => next,
        };
        req
    }

    /// The pane geometry for the current size.
    pub fn areas(&self) -> Areas {
        self.areas_at(self.size.0, self.size.1)
    }

    /// The pane geometry for a `width` x `height` screen.
    pub fn areas_at(&self, width: u16, height: u16) -> Areas {
        let shape = crate::layout::Shape {
            conversations: self.inbox.conversations().len(),
            panes: self.panes_shown(width),
        };
        let cap = usize::from(crate::layout::compose_max_rows(height));
        crate::layout::areas(width, height, shape, |w| {
            self.compose.rows_upto(usize::from(w), cap)
        })
    }

    /// The inbox text area as (width, height), for scrolling.
    fn inbox_dims(&self) -> (usize, usize) {
        let a = self.areas().inbox_text;
        (usize::from(a.width), usize::from(a.height))
    }

    /// Pasted text goes where typed text would: the prompt, the filter, else the input line
    /// (the focus stays).
    fn on_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.completion = None;
        if let Some(prompt) = &mut self.compose.prompt {
            prompt.input.push_str(text.trim_end_matches('\n'));
        } else if self.peers.filtering {
            text.chars().for_each(|c| self.peers.filter_push(c));
        } else {
            self.compose.text.insert_str(text);
        }
    }

    fn on_file_loaded(&mut self, result: Result<Attachment, String>) {
        match result {
            Ok(att) => {
                self.tell(
                    format!(
                        "attached {} ({} bytes); Enter sends it",
                        att.name,
                        att.body.len()
                    ),
                    false,
                );
                self.compose.attachment = Some(att);
                self.compose.prompt = None;
                self.focus = Focus::Compose;
            }
            // Keep the prompt open so the path can be corrected.
            Err(why) => self.tell(why, true),
        }
    }
}

#[cfg(test)]
mod tests;
