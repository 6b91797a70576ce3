//! The slash commands of the binding table: name, usage, what each does and what its first
//! argument completes to. `command.rs` runs them; the help popup, `/help COMMAND`, Tab
//! completion and the README's command table read this list.

/// Which slash command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `/msg NAME[,NAME…] TEXT`
    Msg,
    /// `/query NAME[,NAME…]`
    Query,
    /// `/file PATH`
    File,
    /// `/who [PATTERN]`
    Who,
    /// `/whois NAME`
    Whois,
    /// `/clear`
    Clear,
    /// `/search TEXT`
    Search,
    /// `/quiet`
    Quiet,
    /// `/help [COMMAND]`
    Help,
    /// `/quit`
    Quit,
    /// `//TEXT`: not a command, a text that starts with `/`.
    Literal,
}

/// What Tab completes in a command's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Peer and account names the client knows (`#id` for those without one).
    Names,
    /// A path on this machine.
    Path,
    /// A command name.
    Command,
    /// Nothing.
    None,
}

/// One slash command.
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// Which.
    pub command: Command,
    /// Its name, without the slash.
    pub name: &'static str,
    /// How it is written.
    pub usage: &'static str,
    /// What it does.
    pub does: &'static str,
    /// What its arguments complete to.
    pub arg: Arg,
}

const fn cmd(
    command: Command,
    name: &'static str,
    usage: &'static str,
    does: &'static str,
    arg: Arg,
) -> CommandSpec {
    CommandSpec {
        command,
        name,
        usage,
        does,
        arg,
    }
}

/// Every slash command, in the order help and the README list them.
pub const COMMANDS: &[CommandSpec] = &[
    cmd(
        Command::Msg,
        "msg",
        "/msg NAME[,NAME…] TEXT",
        "send TEXT to these names or #ids; the selection stays",
        Arg::Names,
    ),
    cmd(
        Command::Query,
        "query",
        "/query NAME[,NAME…]",
        "open the conversation with NAME (or these)",
        Arg::Names,
    ),
    cmd(
        Command::File,
        "file",
        "/file PATH",
        "attach a file; Enter sends it",
        Arg::Path,
    ),
    cmd(
        Command::Who,
        "who",
        "/who [PATTERN]",
        "list the hub's accounts (glob * ?)",
        Arg::Names,
    ),
    cmd(
        Command::Whois,
        "whois",
        "/whois NAME",
        "one account: id, online, key fingerprint, pin",
        Arg::Names,
    ),
    cmd(
        Command::Clear,
        "clear",
        "/clear",
        "empty the inbox on this screen",
        Arg::None,
    ),
    cmd(
        Command::Search,
        "search",
        "/search TEXT",
        "find TEXT here, then in the history; F3 goes on",
        Arg::Names,
    ),
    cmd(
        Command::Quiet,
        "quiet",
        "/quiet",
        "this conversation notifies only of mentions (again: of all)",
        Arg::None,
    ),
    cmd(
        Command::Help,
        "help",
        "/help [COMMAND]",
        "this help, or how to use COMMAND",
        Arg::Command,
    ),
    cmd(
        Command::Quit,
        "quit",
        "/quit",
        "quit (asks if a file is unsent)",
        Arg::None,
    ),
    cmd(
        Command::Literal,
        "/",
        "//TEXT",
        "send /TEXT as a message",
        Arg::Names,
    ),
];

/// The command called `name` (without its slash, any case).
pub fn named(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .find(|c| c.command != Command::Literal && c.name.eq_ignore_ascii_case(name))
}

/// The command table as Markdown, as tui-client/README.md shows it.
pub fn markdown() -> String {
    let mut out = String::from("| command | does |\n|---|---|\n");
    for c in COMMANDS {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            c.usage,
            c.does.replace('|', "\\|")
        ));
    }
    out
}
