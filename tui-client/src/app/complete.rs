//! Tab completion in the input line: the command name after `/`, then each command's
//! argument as the binding table says (names, a path, a command), and names in plain text.
//! Names and commands cycle on repeated Tab (Shift-Tab goes back), as weechat's nick
//! completion does; paths complete like a shell's (the common part, the choices listed),
//! because a directory is a step to go into, not an answer to cycle past.

use super::bindings::commands::{self, Arg, Command, COMMANDS};
use super::{App, Effect};

/// A completion being cycled through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// What may replace the word, in order.
    pub candidates: Vec<String>,
    /// The one in the text now.
    pub index: usize,
    /// Characters the current candidate put in, taken out before the next goes in.
    inserted: usize,
}

/// What the word before the cursor is.
enum Word {
    /// The command name (with its `/`).
    Command(String),
    /// A name, or one of a comma-separated list.
    Name(String),
    /// A command name as an argument (`/help`'s).
    CommandArg(String),
    /// A path: everything after the command.
    Path(String),
    /// Nothing completes here.
    Nothing,
}

impl App {
    /// Tab (`forward`) or Shift-Tab.
    pub(super) fn complete(&mut self, forward: bool) -> Vec<Effect> {
        if let Some(mut c) = self.completion.take() {
            let n = c.candidates.len();
            c.index = if forward {
                (c.index + 1) % n
            } else {
                (c.index + n - 1) % n
            };
            c.inserted = self.replace_word(c.inserted, &c.candidates[c.index].clone());
            self.completion = Some(c);
            return Vec::new();
        }
        let (word, candidates) = match self.word_before_cursor() {
            Word::Path(path) => {
                self.completing_path = Some(path.clone());
                return vec![Effect::CompletePath(path)];
            }
            Word::Nothing => {
                self.tell("nothing completes here", true);
                return Vec::new();
            }
            Word::Command(w) => {
                let c = command_candidates(&w[1..], "/", " ");
                (w, c)
            }
            Word::CommandArg(w) => {
                let c = command_candidates(w.trim_start_matches('/'), "", "");
                (w, c)
            }
            Word::Name(w) => {
                let c = self.name_candidates(&w);
                (w, c)
            }
        };
        if candidates.is_empty() {
            self.tell(format!("no completion for '{word}'"), true);
            return Vec::new();
        }
        let index = if forward { 0 } else { candidates.len() - 1 };
        let inserted = self.replace_word(word.chars().count(), &candidates[index]);
        if candidates.len() > 1 {
            self.completion = Some(Completion {
                candidates,
                index,
                inserted,
            });
        }
        Vec::new()
    }

    /// Completions of a path, for the attach prompt or the input line.
    pub(super) fn on_completions(&mut self, found: Vec<String>) {
        let Some(prompt) = &mut self.compose.prompt else {
            if let Some(typed) = self.completing_path.take() {
                self.complete_path_with(typed, found);
            }
            return;
        };
        match found.len() {
            0 => self.tell("no file matches", true),
            _ => {
                let common = crate::files::common_prefix(&found);
                if common.len() > prompt.input.len() {
                    prompt.input = common;
                }
                prompt.candidates = if found.len() == 1 { Vec::new() } else { found };
            }
        }
    }

    /// Paths found for [`Effect::CompletePath`] from the input line: the common part goes
    /// in, and the choices, when there are several, are listed in the notice line.
    fn complete_path_with(&mut self, typed: String, found: Vec<String>) {
        if found.is_empty() {
            self.tell("no file matches", true);
            return;
        }
        let common = crate::files::common_prefix(&found);
        if common.len() > typed.len() {
            self.replace_word(typed.chars().count(), &common);
        }
        if found.len() > 1 {
            let names: Vec<&str> = found
                .iter()
                .map(|f| f.rsplit('/').find(|s| !s.is_empty()).unwrap_or(f))
                .collect();
            self.tell(names.join("  "), false);
        }
    }

    /// Take out the `remove` characters before the cursor and put `with` in; returns how
    /// many characters went in.
    fn replace_word(&mut self, remove: usize, with: &str) -> usize {
        for _ in 0..remove {
            self.compose.text.delete_char();
        }
        self.compose.text.insert_str(with);
        with.chars().count()
    }

    fn word_before_cursor(&self) -> Word {
        let (row, col) = self.compose.text.cursor();
        let line = &self.compose.text.lines()[row];
        let before: String = line.chars().take(col).collect();
        let last_word = |seps: &[char]| {
            let start = before.rfind(seps).map_or(0, |i| i + 1);
            before[start..].to_owned()
        };
        let is_command = row == 0 && before.starts_with('/') && !before.starts_with("//");
        if !is_command {
            return Word::Name(last_word(&[' ', '\t']));
        }
        let Some((name, rest)) = before.split_once(char::is_whitespace) else {
            return Word::Command(before);
        };
        let Some(spec) = commands::named(&name[1..]) else {
            return Word::Nothing;
        };
        match spec.arg {
            Arg::Path => Word::Path(rest.trim_start().to_owned()),
            Arg::Command => Word::CommandArg(last_word(&[' ', '\t'])),
            Arg::Names => Word::Name(last_word(&[' ', '\t', ','])),
            Arg::None => Word::Nothing,
        }
    }

    /// Names that start with `word` (any case): the peers present (`#id` for those
    /// without an account) and every account name learnt, without our own.
    fn name_candidates(&self, word: &str) -> Vec<String> {
        let word = word.to_lowercase();
        let mut names: Vec<String> = self
            .peers
            .all()
            .iter()
            .map(|id| self.peers.label(*id))
            .chain(self.inbox.names.all().map(str::to_owned))
            .filter(|n| n.to_lowercase().starts_with(&word))
            .filter(|n| Some(n) != self.account.as_ref())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// `prefix` + each command name that starts with `word`, + `suffix`.
fn command_candidates(word: &str, prefix: &str, suffix: &str) -> Vec<String> {
    COMMANDS
        .iter()
        .filter(|c| c.command != Command::Literal)
        .filter(|c| c.name.starts_with(&word.to_lowercase()))
        .map(|c| format!("{prefix}{}{suffix}", c.name))
        .collect()
}
