//! Command-line flags (each with an environment variable) and the one-shot subcommands.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// hubbub's terminal client. Without a command it opens the full-screen UI.
#[derive(Debug, Parser)]
#[command(name = "tui-client", version, about)]
pub struct Cli {
    /// The hub's address.
    #[arg(
        long,
        env = "HUBBUB_HUB",
        default_value = "127.0.0.1:7878",
        global = true
    )]
    pub hub: String,
    /// Where received files are saved [default: <data dir>/hubbub/downloads].
    #[arg(long, env = "HUBBUB_DOWNLOAD_DIR", global = true)]
    pub download_dir: Option<PathBuf>,
    /// The log file [default: <data dir>/hubbub/tui-client.log]. Logs never go to the screen.
    #[arg(long, env = "HUBBUB_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,
    /// Let the mouse wheel scroll the inbox (the terminal's own text selection then needs
    /// Shift).
    #[arg(long, env = "HUBBUB_MOUSE")]
    pub mouse: bool,
    /// A one-shot command instead of the UI.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One-shot commands for scripts. Exit codes (see [`crate::exit`]): 0 success, 1 an error,
/// 2 a usage error, 3 `send` reached some receivers but not all, 4 `send` reached none.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the id the hub gives this connection.
    Id,
    /// Print the ids of everyone else connected, one per line, ascending.
    List,
    /// Send text (the arguments), a file (--file) or standard input (neither) to some ids.
    Send {
        /// Receivers, comma-separated: `--to 2,3`.
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<u64>,
        /// A file to send; its name travels with it.
        #[arg(long, conflicts_with = "text")]
        file: Option<PathBuf>,
        /// The text; several words are joined with spaces.
        text: Vec<String>,
    },
    /// Print each message as it arrives; files are saved. A lost hub is reported (`closed`)
    /// and reconnected to with backoff. Ends with Ctrl-C.
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
