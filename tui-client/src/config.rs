//! The config file, `~/.config/hubbub/tui.toml` (or `--config FILE`): every key optional, an
//! unknown one refused with its name and the file's. [`Settings::resolve`] merges it under
//! the flags and their environment variables (flag > env > config > built-in default), and
//! [`Settings::to_toml`] prints the result as a config file that reads back the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::Color;
use serde::{Deserialize, Serialize};

use crate::app::keymap::{KeyError, KeyMap};
use crate::app::notify::{Choices, Desktop, Presence};
use crate::cli::Cli;
use crate::render::Theme;

/// The hub's address when neither a flag, its variable nor the config names one.
pub const DEFAULT_HUB: &str = "127.0.0.1:7878";
/// The file's name in the config directory.
const FILE_NAME: &str = "tui.toml";

/// Why the config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read (a `--config` file that is missing is one).
    #[error("config file {}: {source}", path.display())]
    Read {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, or a key or value it does not have (the message names it).
    #[error("config file {}: {message}", path.display())]
    Parse {
        /// Which file.
        path: PathBuf,
        /// The parser's words, with the line.
        message: String,
    },
    /// A colour that is not one.
    #[error("config file {}: colors.{key} = {value:?} is not a colour (a name such as \"cyan\" or \"light-blue\", \"#rrggbb\", or 0 to 255)", path.display())]
    Color {
        /// Which file.
        path: PathBuf,
        /// Which colour.
        key: &'static str,
        /// What it says.
        value: String,
    },
    /// A `[keys]` entry refused.
    #[error("config file {}: [keys]: {source}", path.display())]
    Keys {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: KeyError,
    },
}

/// The file as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The hub's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// The identity file (`~/` is the home directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Mouse capture (clicks and the wheel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mouse: Option<bool>,
    /// The palette.
    #[serde(default)]
    pub colors: ColorsFile,
    /// What tells you a message came.
    #[serde(default)]
    pub notify: NotifyFile,
    /// Keys for actions of the binding table: action name to key.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

/// `[colors]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColorsFile {
    /// The focused pane's border, the prompt.
    pub accent: Option<String>,
    /// Your own name on your messages.
    pub own: Option<String>,
    /// The client's own lines (connected, who left), hints.
    pub system: Option<String>,
    /// Unread counts.
    pub unread: Option<String>,
    /// Errors and warnings.
    pub warning: Option<String>,
}

/// `[notify]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    /// Ring the terminal bell.
    pub bell: Option<bool>,
    /// Put the unread count in the terminal's title.
    pub title: Option<bool>,
    /// Desktop notifications: "off", "osc9" or "osc777".
    pub desktop: Option<Desktop>,
    /// A mention notifies even in a `/quiet` conversation.
    pub mentions: Option<bool>,
    /// Where presence lines go: "conversations", "all" or "off".
    pub presence: Option<Presence>,
}

/// The settings in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The hub's address.
    pub hub: String,
    /// The identity file named by a flag, its variable or the config; without one the
    /// default place is used, where a missing file means anonymous.
    pub identity: Option<PathBuf>,
    /// Mouse capture.
    pub mouse: bool,
    /// The palette.
    pub theme: Theme,
    /// Bell, title, mentions.
    pub notify: Choices,
    /// Desktop notifications.
    pub desktop: Desktop,
    /// Keys given to actions.
    pub keys: KeyMap,
}

/// Where the config is read from without `--config`: beside the identity file,
/// `$XDG_CONFIG_HOME/hubbub/tui.toml`, else `~/.config/hubbub/tui.toml`.
pub fn default_path() -> Option<PathBuf> {
    crate::identity::default_path().map(|p| p.with_file_name(FILE_NAME))
}

/// Read a config file; a missing file is an error only when `required`.
pub fn read(path: &Path, required: bool) -> Result<ConfigFile, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(ConfigFile::default())
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parse a config file's text; `path` names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })
}

fn color(
    path: &Path,
    key: &'static str,
    value: &Option<String>,
    default: Color,
) -> Result<Color, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| ConfigError::Color {
            path: path.to_owned(),
            key,
            value: text.clone(),
        }),
    }
}

fn color_name(c: Color) -> String {
    c.to_string().to_ascii_lowercase()
}

impl Settings {
    /// The flags (and their variables) of `cli` over the config file they name (or the
    /// default one) over the built-in defaults.
    pub fn resolve(cli: &Cli) -> Result<Settings, ConfigError> {
        let (file, path) = match &cli.config {
            Some(path) => (read(path, true)?, path.clone()),
            None => match default_path() {
                Some(path) => (read(&path, false)?, path),
                None => (ConfigFile::default(), PathBuf::from(FILE_NAME)),
            },
        };
        Settings::merge(cli, &file, &path)
    }

    /// [`Self::resolve`] with the file already read from `path`.
    pub fn merge(cli: &Cli, file: &ConfigFile, path: &Path) -> Result<Settings, ConfigError> {
        let base = Theme::default();
        let c = &file.colors;
        let theme = Theme {
            accent: color(path, "accent", &c.accent, base.accent)?,
            own: color(path, "own", &c.own, base.own)?,
            system: color(path, "system", &c.system, base.system)?,
            unread: color(path, "unread", &c.unread, base.unread)?,
            warning: color(path, "warning", &c.warning, base.warning)?,
        };
        let defaults = Choices::default();
        let n = &file.notify;
        let notify = Choices {
            bell: n.bell.unwrap_or(defaults.bell),
            title: n.title.unwrap_or(defaults.title),
            mentions: n.mentions.unwrap_or(defaults.mentions),
            presence: n.presence.unwrap_or(defaults.presence),
        };
        let keys = KeyMap::new(&file.keys).map_err(|source| ConfigError::Keys {
            path: path.to_owned(),
            source,
        })?;
        Ok(Settings {
            hub: cli
                .hub
                .clone()
                .or_else(|| file.hub.clone())
                .unwrap_or_else(|| DEFAULT_HUB.to_owned()),
            identity: cli
                .identity
                .clone()
                .or_else(|| file.identity.as_deref().map(crate::files::expand_home)),
            mouse: cli.mouse.or(file.mouse).unwrap_or(false),
            theme,
            notify,
            desktop: cli.desktop_notify.or(n.desktop).unwrap_or_default(),
            keys,
        })
    }

    /// The settings as a config file with every key, which read back gives these settings.
    pub fn to_file(&self) -> ConfigFile {
        let t = &self.theme;
        ConfigFile {
            hub: Some(self.hub.clone()),
            identity: self
                .identity
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            mouse: Some(self.mouse),
            colors: ColorsFile {
                accent: Some(color_name(t.accent)),
                own: Some(color_name(t.own)),
                system: Some(color_name(t.system)),
                unread: Some(color_name(t.unread)),
                warning: Some(color_name(t.warning)),
            },
            notify: NotifyFile {
                bell: Some(self.notify.bell),
                title: Some(self.notify.title),
                desktop: Some(self.desktop),
                mentions: Some(self.notify.mentions),
                presence: Some(self.notify.presence),
            },
            keys: self.keys.table(),
        }
    }

    /// [`Self::to_file`] as TOML, for `--print-config`.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.to_file()).expect("a config file is always TOML")
    }
}

#[cfg(test)]
mod tests;
