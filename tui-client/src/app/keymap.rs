//! Keys as the config file writes them (`ctrl-n`, `alt-up`, `shift-f6`, `f2`), and the keys
//! the config gives to the actions of the binding table: such a key acts as the action's
//! first key of [`ACTIONS`], which keeps its own keys too.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::bindings::{Act, ActSpec, ACTIONS, OTHER_KEYS};

/// A key with its modifiers, as compared: a letter in lower case without Shift, Shift-Tab as
/// `BackTab`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

/// Why a key or a `[keys]` table is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not a key this notation has.
    #[error("{0:?} is not a key (write e.g. \"ctrl-n\", \"alt-up\", \"shift-f6\", \"f2\")")]
    Bad(String),
    /// A key that can be text: typing always types.
    #[error(
        "{0:?} can be text, and typing always types: use a key with ctrl- or alt-, or an F-key"
    )]
    Text(String),
    /// No such action.
    #[error("no action {0:?}; the actions are: {1}")]
    UnknownAction(String, String),
    /// The key is taken.
    #[error("{key:?} for {action} is already {other}")]
    Clash {
        /// The key as written.
        key: String,
        /// The action it was given for.
        action: String,
        /// What has it already.
        other: String,
    },
}

const NAMED: &[(&str, KeyCode)] = &[
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("insert", KeyCode::Insert),
    ("delete", KeyCode::Delete),
    ("backspace", KeyCode::Backspace),
    ("esc", KeyCode::Esc),
    ("enter", KeyCode::Enter),
    ("tab", KeyCode::Tab),
    ("space", KeyCode::Char(' ')),
];

/// Modifiers in the order they are written.
const MODS: &[(&str, KeyModifiers)] = &[
    ("ctrl", KeyModifiers::CONTROL),
    ("alt", KeyModifiers::ALT),
    ("shift", KeyModifiers::SHIFT),
];

impl Key {
    /// The key of a key event.
    pub fn of(event: &KeyEvent) -> Key {
        let mods =
            event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        match event.code {
            KeyCode::Char(c) => Key {
                code: KeyCode::Char(c.to_ascii_lowercase()),
                mods: mods - KeyModifiers::SHIFT,
            },
            KeyCode::BackTab => Key {
                code: KeyCode::BackTab,
                mods: mods - KeyModifiers::SHIFT,
            },
            code => Key { code, mods },
        }
    }

    /// Parse `ctrl-n`, `alt-up`, `shift-f6`, `f2`, `ctrl-space` (any case).
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let bad = || KeyError::Bad(text.to_owned());
        let lower = text.trim().to_ascii_lowercase();
        let mut parts: Vec<&str> = lower.split('-').collect();
        let name = parts.pop().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        let mut mods = KeyModifiers::NONE;
        for part in parts {
            let (_, m) = MODS.iter().find(|(n, _)| *n == part).ok_or_else(bad)?;
            if mods.contains(*m) {
                return Err(bad());
            }
            mods |= *m;
        }
        let code = if let Some((_, code)) = NAMED.iter().find(|(n, _)| *n == name) {
            *code
        } else if let Some(n) = name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            if !(1..=12).contains(&n) {
                return Err(bad());
            }
            KeyCode::F(n)
        } else {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_graphic() => KeyCode::Char(c),
                _ => return Err(bad()),
            }
        };
        let key = match code {
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => Key {
                code: KeyCode::BackTab,
                mods: mods - KeyModifiers::SHIFT,
            },
            KeyCode::Char(_) if mods.contains(KeyModifiers::SHIFT) => return Err(bad()),
            code => Key { code, mods },
        };
        if matches!(key.code, KeyCode::Char(_))
            && !key
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return Err(KeyError::Text(text.to_owned()));
        }
        Ok(key)
    }

    /// The event this key is, as a terminal reports it.
    fn event(self) -> KeyEvent {
        match self.code {
            KeyCode::BackTab => KeyEvent::new(KeyCode::BackTab, self.mods | KeyModifiers::SHIFT),
            code => KeyEvent::new(code, self.mods),
        }
    }

    /// The parts as written: modifiers, then the key's name.
    fn parts(self) -> (Vec<&'static str>, String) {
        let mut mods: Vec<&str> = MODS
            .iter()
            .filter(|(_, m)| self.mods.contains(*m))
            .map(|(n, _)| *n)
            .collect();
        let name = match self.code {
            KeyCode::BackTab => {
                mods.push("shift");
                "tab".to_owned()
            }
            KeyCode::F(n) => format!("f{n}"),
            code => match NAMED.iter().find(|(_, c)| *c == code) {
                Some((n, _)) => (*n).to_owned(),
                None => match code {
                    KeyCode::Char(c) => c.to_string(),
                    _ => "?".to_owned(),
                },
            },
        };
        (mods, name)
    }

    /// As people read it: `Ctrl-N`, `Alt-Up`, `F2`.
    pub fn human(self) -> String {
        let (mods, name) = self.parts();
        let cap = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        };
        let name = match name.as_str() {
            "pageup" => "PgUp".to_owned(),
            "pagedown" => "PgDn".to_owned(),
            n => cap(n),
        };
        mods.iter()
            .map(|m| cap(m))
            .chain([name])
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// The config file's notation: `ctrl-n`.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mods, name) = self.parts();
        for m in mods {
            write!(f, "{m}-")?;
        }
        f.write_str(&name)
    }
}

fn spec(act: Act) -> &'static ActSpec {
    ACTIONS
        .iter()
        .find(|a| a.act == act)
        .expect("every action is in ACTIONS")
}

fn builtin(text: &str) -> Key {
    Key::parse(text).expect("the binding table's keys parse")
}

/// The keys the config file gave to actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyMap {
    given: BTreeMap<Act, Key>,
}

impl KeyMap {
    /// The `[keys]` table: action name to key. Refuses an unknown action, a key that is not
    /// one or can be text, and a key some other action (or the input line) has.
    pub fn new(table: &BTreeMap<String, String>) -> Result<KeyMap, KeyError> {
        let mut given = BTreeMap::new();
        let mut taken: Vec<(Key, String)> = Vec::new();
        for a in ACTIONS {
            for k in a.keys {
                taken.push((builtin(k), format!("{}'s ({k})", a.name)));
            }
        }
        for k in OTHER_KEYS {
            taken.push((builtin(k), format!("the input line's ({k})")));
        }
        for (name, text) in table {
            let Some(a) = ACTIONS.iter().find(|a| a.name == name) else {
                let names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
                return Err(KeyError::UnknownAction(name.clone(), names.join(", ")));
            };
            let key = Key::parse(text)?;
            if let Some((_, other)) = taken.iter().find(|(k, _)| *k == key) {
                return Err(KeyError::Clash {
                    key: text.clone(),
                    action: name.clone(),
                    other: other.clone(),
                });
            }
            taken.push((key, format!("{name}'s (from the config)")));
            given.insert(a.act, key);
        }
        Ok(KeyMap { given })
    }

    /// A key the config gave to an action becomes that action's own first key.
    pub fn translate(&self, event: KeyEvent) -> KeyEvent {
        let key = Key::of(&event);
        match self.given.iter().find(|(_, k)| **k == key) {
            Some((act, _)) => KeyEvent {
                kind: event.kind,
                ..builtin(spec(*act).keys[0]).event()
            },
            None => event,
        }
    }

    /// The key to tell people for `act`: the config's, else its own first.
    pub fn name_of(&self, act: Act) -> String {
        self.given
            .get(&act)
            .copied()
            .unwrap_or_else(|| builtin(spec(act).keys[0]))
            .human()
    }

    /// The keys given, as people read them, with their actions.
    pub fn given(&self) -> Vec<(String, &'static ActSpec)> {
        self.given
            .iter()
            .map(|(act, key)| (key.human(), spec(*act)))
            .collect()
    }

    /// The `[keys]` table back: action name to key, in the config's notation.
    pub fn table(&self) -> BTreeMap<String, String> {
        self.given
            .iter()
            .map(|(act, key)| (spec(*act).name.to_owned(), key.to_string()))
            .collect()
    }
}
