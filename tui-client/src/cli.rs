//! Command-line flags (each with an environment variable) and the one-shot subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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

/// One-shot commands for scripts. Exit code 0 on success, 1 on errors, 3 when some receivers
/// did not get a message.
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
    /// Print each message as it arrives; files are saved. Ends with Ctrl-C.
    Listen {
        /// Where files go [default: --download-dir].
        #[arg(long)]
        save_dir: Option<PathBuf>,
        /// Print one JSON object per line, for scripts.
        #[arg(long)]
        json: bool,
    },
}
