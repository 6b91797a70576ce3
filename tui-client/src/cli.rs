//! Command-line flags (each with an environment variable) and the one-shot subcommands.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// hubbub's terminal client. Without a command it opens the full-screen UI.
#[derive(Debug, Parser)]
#[command(name = "tui-client", version, about)]
pub struct Cli {
    /// The hub's address, `host:port` or `tls://host:port` for TLS [default: the config's
    /// `hub`, else 127.0.0.1:7878]. Several, comma-separated (`a:7878,b:7878`), are one hub
    /// service: the first that answers is used; a lost connection moves to the next, with
    /// the backoff between rounds through the list; one-shot commands try each in order.
    #[arg(long, env = "HUBBUB_HUB", global = true, value_name = "ADDR[,ADDR...]")]
    pub hub: Option<String>,
    /// Speak TLS to the hub. Its certificate is pinned on first use (see --known-hubs)
    /// unless --ca is given.
    #[arg(long, env = "HUBBUB_TLS", global = true)]
    pub tls: bool,
    /// Verify the hub's certificate against the CA certificates in this PEM file (and the
    /// hub's name in --hub) instead of pinning it; implies --tls.
    #[arg(long, env = "HUBBUB_CA", global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The file of pinned hub certificates (`ADDRESS FINGERPRINT` lines)
    /// [default: $XDG_CONFIG_HOME/hubbub/known_hubs, else ~/.config/hubbub/known_hubs].
    #[arg(long, env = "HUBBUB_KNOWN_HUBS", global = true, value_name = "PATH")]
    pub known_hubs: Option<PathBuf>,
    /// Where received files are saved [default: <data dir>/hubbub/downloads].
    #[arg(long, env = "HUBBUB_DOWNLOAD_DIR", global = true)]
    pub download_dir: Option<PathBuf>,
    /// The log file [default: <data dir>/hubbub/tui-client.log]. Logs never go to the screen.
    #[arg(long, env = "HUBBUB_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,
    /// Connect without logging in, even with an identity file (wins over --identity).
    #[arg(long, env = "HUBBUB_ANONYMOUS", global = true)]
    pub anonymous: bool,
    /// The identity file: an account's name and key. With one, every command logs in
    /// [default: $XDG_CONFIG_HOME/hubbub/identity, else ~/.config/hubbub/identity].
    #[arg(long, env = "HUBBUB_IDENTITY", global = true, value_name = "PATH")]
    pub identity: Option<PathBuf>,
    /// Capture the mouse: a click selects a peer or shows a conversation, the wheel scrolls
    /// the inbox (the terminal's own text selection then needs Shift). `--mouse=false` turns
    /// off a config's `mouse = true`.
    #[arg(
        long,
        env = "HUBBUB_MOUSE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub mouse: Option<bool>,
    /// Desktop notifications through the terminal: off, osc9 (iTerm2, kitty, WezTerm, Windows
    /// Terminal) or osc777 (foot, urxvt, GNOME's VTE); at most one every 10 s [default: the
    /// config's `notify.desktop`, else off].
    #[arg(long, env = "HUBBUB_DESKTOP_NOTIFY", value_enum)]
    pub desktop_notify: Option<crate::app::notify::Desktop>,
    /// The config file [default: $XDG_CONFIG_HOME/hubbub/tui.toml, else
    /// ~/.config/hubbub/tui.toml; a missing default file is no error].
    #[arg(long, env = "HUBBUB_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the settings in force (flags, environment, config file, defaults) as a config
    /// file, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Keep no history of the conversations (logged in, the client keeps one under
    /// <data dir>/hubbub/history/).
    #[arg(long, env = "HUBBUB_NO_HISTORY")]
    pub no_history: bool,
    /// A one-shot command instead of the UI.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One-shot commands for scripts. Exit codes (see [`crate::exit`]): 0 success, 1 an error,
/// 2 a usage error, 3 `send` reached some receivers but not all, 4 `send` reached none,
/// 5 `send` failed for nobody but some receivers have it in their mailbox, 6 `send` refused
/// because a receiver's key changed (`trust NAME` accepts it) or its published key is forged.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the id the hub gives this connection (the account's id when logged in).
    Id,
    /// Print the ids of everyone else connected, one per line, ascending.
    List,
    /// Create the account NAME with the identity file's key (a new key if there is no
    /// file), log in as it, save the identity file and print the account's id.
    Register {
        /// 1 to 32 of a-z, 0-9, '_', '.', '-' (upper case is folded to lower).
        name: String,
    },
    /// Print this connection's id and account name, or `ID (anonymous)`.
    Whoami,
    /// List the accounts whose names match PATTERN (`*` any run, `?` one character):
    /// `ID NAME online|offline`, one per line, by name.
    Users {
        /// The pattern.
        #[arg(default_value = "*")]
        pattern: String,
    },
    /// Delete the identity file's account on the hub, with its mailbox, then the file.
    DeleteAccount {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Send text (the arguments), a file (--file) or standard input (neither) to some
    /// receivers. An offline account gets it in its mailbox.
    Send {
        /// Receivers, comma-separated account names or ids: `--to bob,carol,12`. Digits are
        /// an id; `@NAME` is a name even when it is all digits.
        #[arg(long, value_delimiter = ',', required = true, value_name = "WHO")]
        to: Vec<String>,
        /// A file to send; its name travels with it.
        #[arg(long, conflicts_with = "text")]
        file: Option<PathBuf>,
        /// The text; several words are joined with spaces.
        text: Vec<String>,
    },
    /// Print an account's id, name, whether it is online, its key's fingerprint (compare it
    /// with theirs) and whether that key is pinned here. Your own name shows your fingerprint.
    Whois {
        /// The account's name.
        name: String,
    },
    /// Accept NAME's current key as theirs, replacing the one pinned (after comparing
    /// fingerprints with them): sending to them works again.
    Trust {
        /// The account's name.
        name: String,
    },
    /// Forget the pinned certificate of the hub at ADDRESS (default: --hub, when it names one
    /// address), so that the next connection pins the one it presents: after its operator
    /// replaced it and you compared the new fingerprint.
    ForgetHub {
        /// `host:port` or `tls://host:port`.
        address: Option<String>,
    },
    /// Print each message as it arrives; files are saved. Logged in, the mailbox comes
    /// first, each message acknowledged once printed. A lost hub is reported (`closed`) and
    /// reconnected to with backoff (the next of --hub's addresses, if several). Ends with Ctrl-C.
    Listen {
        /// Where files go [default: --download-dir].
        #[arg(long)]
        save_dir: Option<PathBuf>,
        /// Print one JSON object per line, for scripts.
        #[arg(long)]
        json: bool,
        /// Stop when the connection ends instead of reconnecting (exit code 1).
        #[arg(long)]
        once: bool,
    },
}

impl Cli {
    /// Parse the command line; exits on `--help` and on usage errors.
    ///
    /// clap counts a flag set through its environment variable as given on the command line,
    /// so its usage line would list `--log-file <LOG_FILE>` as if it were required. A usage
    /// error is therefore reported as the same command without environment variables sees it.
    pub fn parse_args() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let error = match Cli::command().try_get_matches_from(&args) {
            Ok(matches) => match Cli::from_arg_matches(&matches) {
                Ok(cli) => return cli,
                Err(e) => e,
            },
            Err(e) => e,
        };
        if matches!(
            error.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            error.exit();
        }
        let plain = Cli::command()
            .mut_args(|a| a.env(None))
            .mut_subcommands(|c| c.mut_args(|a| a.env(None)))
            .try_get_matches_from(&args);
        match plain {
            Err(plain) if plain.kind() == error.kind() => plain.exit(),
            _ => error.exit(),
        }
    }
}
