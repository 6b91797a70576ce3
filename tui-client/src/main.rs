//! `tui-client`: the full-screen UI, or a one-shot command for scripts.

use std::process::ExitCode;

use tui_client::cli::Cli;
use tui_client::config::Settings;
use tui_client::{event_loop, exit, files, history, logging, oneshot, terminal};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let settings = match Settings::resolve(&cli) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("tui-client: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if cli.print_config {
        print!("{}", settings.to_toml());
        return ExitCode::SUCCESS;
    }
    let download_dir = cli
        .download_dir
        .clone()
        .unwrap_or_else(files::default_download_dir);
    let log_file = cli.log_file.clone().unwrap_or_else(files::default_log_file);
    let _log = match logging::init(&log_file) {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("tui-client: logging disabled: {e}");
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built at startup");
    let result = oneshot::Options::from_cli(&cli, &settings, download_dir.clone())
        .and_then(|opts| run(cli, &settings, opts, download_dir, &runtime));
    // Do not wait for a blocked stdin read or similar at exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) if exit::code(&report) == exit::OK => ExitCode::SUCCESS,
        Err(report) => {
            eprintln!("tui-client: {}", exit::explain(&report));
            ExitCode::from(exit::code(&report))
        }
    }
}

fn run(
    cli: Cli,
    settings: &Settings,
    mut opts: oneshot::Options,
    download_dir: std::path::PathBuf,
    runtime: &tokio::runtime::Runtime,
) -> color_eyre::Result<()> {
    match cli.command {
        // The identity is read, and a new TLS hub's certificate confirmed, before the
        // terminal is taken, so their errors and the question print plainly.
        None => opts.me().and_then(|me| {
            if !runtime
                .block_on(opts.hubs.ask_first_use())
                .map_err(|e| color_eyre::eyre::eyre!(e))?
            {
                color_eyre::eyre::bail!(
                    "not connecting to a hub whose certificate you did not trust"
                );
            }
            opts.hubs.on_first_use(tui_client::net::FirstUse::Refuse);
            terminal::install_hooks()?;
            let identity = me.map(|(_, identity)| identity);
            let history = match &identity {
                Some(id) if !cli.no_history => history::default_path(&settings.hub, &id.name),
                _ => None,
            };
            let opts = event_loop::UiOptions {
                hubs: opts.hubs,
                download_dir,
                mouse: settings.mouse,
                desktop: settings.desktop,
                notify: settings.notify,
                theme: settings.theme,
                keys: settings.keys.clone(),
                history,
                pins: tui_client::secure::pins_path(cli.identity.as_deref()).ok(),
                identity,
            };
            runtime.block_on(event_loop::run(opts))
        }),
        Some(command) => runtime.block_on(oneshot::run(&opts, command)),
    }
}
