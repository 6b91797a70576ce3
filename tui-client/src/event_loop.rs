//! The full-screen client's event loop: one `select!` over terminal events, network events and
//! a tick; effects performed here; a redraw only after something changed.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Local;
use color_eyre::eyre::{eyre, Result};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{info, warn};

use std::io::Write as _;

use crate::app::compose::Attachment;
use crate::app::keymap::KeyMap;
use crate::app::notify::{Choices, Desktop};
use crate::app::{Action, App, Effect, Request};
use crate::files;
use crate::history::{self, History};
use crate::identity::Identity;
use crate::net::{self, NetCommand, NetConfig, NetEvent};
use crate::render::Theme;
use crate::terminal::{self, Term};

/// How often notices age. Nothing else needs time, so an idle client sleeps.
const TICK: Duration = Duration::from_millis(500);
/// Network events applied before drawing once: a burst of 10,000 joins costs a few frames, not
/// 10,000.
const BURST: usize = 4096;

/// Options of the UI.
#[derive(Clone, Debug)]
pub struct UiOptions {
    /// The hub's addresses.
    pub hubs: crate::net::Hubs,
    /// Where received files go.
    pub download_dir: PathBuf,
    /// Whether the mouse is captured (clicks and the wheel).
    pub mouse: bool,
    /// Desktop notifications, if any.
    pub desktop: Desktop,
    /// Bell, title, mentions.
    pub notify: Choices,
    /// The palette.
    pub theme: Theme,
    /// Keys the config gave to actions.
    pub keys: KeyMap,
    /// The history store's file, when history is kept (logged in, not `--no-history`).
    pub history: Option<PathBuf>,
    /// Whom to log in as.
    pub identity: Option<Identity>,
    /// The pins file, beside the identity file.
    pub pins: Option<PathBuf>,
}

/// Run the UI until the user quits (or SIGINT/SIGTERM/SIGHUP). The terminal is restored on return.
pub async fn run(opts: UiOptions) -> Result<()> {
    let (cmd_tx, cmd_rx) = mpsc::channel(net::COMMAND_CAPACITY);
    let (ev_tx, mut ev_rx) = mpsc::channel(net::EVENT_CAPACITY);
    let config = NetConfig {
        hubs: opts.hubs.clone(),
        download_dir: opts.download_dir,
        pins: opts.pins,
        identity: opts.identity,
    };
    let network = tokio::spawn(net::run(config, cmd_rx, ev_tx));
    let (mut terminal, guard) = terminal::setup(opts.mouse)?;
    let size = terminal.size()?;
    let mut app = App::new(opts.hubs.get(0).to_string(), (size.width, size.height));
    app.notify.desktop = opts.desktop;
    app.notify.choices = opts.notify;
    app.theme = opts.theme;
    app.keys = opts.keys;
    let mut history = opts
        .history
        .as_deref()
        .and_then(|path| open_history(path, &mut app));
    let result = event_loop(&mut terminal, &mut app, &mut ev_rx, &cmd_tx, &mut history).await;
    drop(guard);
    network.abort();
    info!(ok = result.is_ok(), "quit");
    result
}

/// Open the history store and load its recent part into `app`; without it (it cannot be
/// opened) the client runs as before, and the log file says why.
fn open_history(path: &std::path::Path, app: &mut App) -> Option<History> {
    let opened = History::open(path).and_then(|h| {
        let recent = h.before(None, history::PAGE)?;
        Ok((h.last_id()?, recent, h))
    });
    match opened {
        Ok((last, recent, h)) => {
            app.keep_history(last);
            app.update(Action::History(recent));
            Some(h)
        }
        Err(e) => {
            warn!(path = %path.display(), error = %e, "history not kept");
            app.tell(format!("history not kept: {e}"), true);
            None
        }
    }
}

/// Go on with a `/search` in the store: the entries from its match on, for the app to page
/// in and search again.
fn search_history(app: &mut App, history: &Option<History>) -> Option<Action> {
    let (text, before) = app.take_history_search()?;
    let h = history.as_ref()?;
    let found = h.find_before(&text, Some(before)).and_then(|id| match id {
        Some(id) => h.between(id, before, crate::app::inbox::INBOX_CAP),
        None => Ok(Vec::new()),
    });
    match found {
        Ok(records) => Some(Action::Found(records)),
        Err(e) => {
            warn!(error = %e, "history search failed");
            None
        }
    }
}

/// Write what the app queued to the history store, in one transaction, then the receipts
/// that came (they reach rows not loaded as well).
fn write_history(app: &mut App, history: &mut Option<History>) {
    let records = app.take_records();
    let receipts = app.take_receipts();
    let Some(h) = history.as_mut() else { return };
    let mut result = if records.is_empty() {
        Ok(())
    } else {
        h.write(&records)
    };
    for (to, through) in receipts {
        result = result.and_then(|()| h.receipt(to, through).map(drop));
    }
    if let Err(e) = result {
        warn!(error = %e, "history write failed");
        app.tell(format!("history not written: {e}"), true);
    }
}

async fn event_loop(
    terminal: &mut Term,
    app: &mut App,
    net_rx: &mut mpsc::Receiver<NetEvent>,
    cmd_tx: &mpsc::Sender<NetCommand>,
    history: &mut Option<History>,
) -> Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term_sig = signal(SignalKind::terminate())?;
    let mut hup_sig = signal(SignalKind::hangup())?;
    // In raw mode Ctrl-C is a key; this catches a SIGINT sent by another process.
    let mut int_sig = signal(SignalKind::interrupt())?;
    let mut dirty = true;
    let mut clear = false;
    loop {
        if std::mem::take(&mut clear) {
            // Forget what ratatui believes is on screen, so that every cell is sent again.
            terminal.clear()?;
            dirty = true;
        }
        if dirty {
            terminal.draw(|frame| frame.render_widget(&*app, frame.area()))?;
            dirty = false;
        }
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => match to_action(event) {
                    Some(action) => action,
                    None => continue,
                },
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            event = net_rx.recv() => match event {
                Some(event) => Action::Net(event),
                // The task only ends on its own by panicking; without it the UI would lie.
                None => return Err(eyre!("the network task stopped; see the log file")),
            },
            _ = tick.tick() => Action::Tick,
            _ = term_sig.recv() => return Ok(()),
            _ = hup_sig.recv() => return Ok(()),
            _ = int_sig.recv() => return Ok(()),
        };
        dirty |= dispatch(app, action, cmd_tx, &mut clear, history);
        for _ in 0..BURST {
            let Ok(event) = net_rx.try_recv() else { break };
            dirty |= dispatch(app, Action::Net(event), cmd_tx, &mut clear, history);
        }
        if let Some(found) = search_history(app, history) {
            dirty |= dispatch(app, found, cmd_tx, &mut clear, history);
        }
        write_history(app, history);
        // After the whole burst, so that it rings once.
        let escapes = app.terminal_escapes();
        if !escapes.is_empty() {
            let out = terminal.backend_mut();
            out.write_all(escapes.as_bytes())?;
            out.flush()?;
        }
        if app.quit {
            return Ok(());
        }
    }
}

fn to_action(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) => Some(Action::Key(key)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Mouse(mouse) => Some(Action::Mouse(mouse)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        Event::FocusGained => Some(Action::Focus(true)),
        Event::FocusLost => Some(Action::Focus(false)),
    }
}

/// Apply an action and every action its effects lead to; whether a redraw is due. `clear` is
/// set when the whole screen must be drawn again.
fn dispatch(
    app: &mut App,
    action: Action,
    cmd_tx: &mpsc::Sender<NetCommand>,
    clear: &mut bool,
    history: &mut Option<History>,
) -> bool {
    let now = Local::now().naive_local();
    app.now = now.time();
    app.today = now.date();
    let redraw = app.needs_redraw(&action);
    let mut queue = VecDeque::from([action]);
    while let Some(action) = queue.pop_front() {
        for effect in app.update(action) {
            match effect {
                Effect::RedrawAll => *clear = true,
                effect => queue.extend(perform(effect, cmd_tx, history)),
            }
        }
    }
    redraw
}

/// Do the I/O an effect asks for; some answer with another action.
fn perform(
    effect: Effect,
    cmd_tx: &mpsc::Sender<NetCommand>,
    history: &mut Option<History>,
) -> Option<Action> {
    match effect {
        Effect::LoadHistory { before } => {
            let page = history.as_ref()?.before(Some(before), history::PAGE);
            match page {
                Ok(records) => Some(Action::History(records)),
                Err(e) => {
                    warn!(error = %e, "history read failed");
                    None
                }
            }
        }
        Effect::Relay(relay) => {
            // Never wait on the network task from the UI: a full queue fails the send.
            let req = relay.req;
            cmd_tx
                .try_send(NetCommand::Relay(relay))
                .err()
                .map(|_| Action::RelayRefused(req))
        }
        Effect::LoadFile { path, max } => {
            let loaded = files::read_attachment(&path, max).map(|(name, body)| Attachment {
                path,
                name,
                body,
            });
            Some(Action::FileLoaded(loaded))
        }
        Effect::Request(req, request) => {
            let cmd = match request {
                Request::Users(pattern) => NetCommand::Users { req, pattern },
                Request::Lookup(who) => NetCommand::Lookup { req, who },
            };
            cmd_tx
                .try_send(cmd)
                .err()
                .map(|_| Action::RelayRefused(req))
        }
        Effect::CompletePath(input) => Some(Action::Completions(files::complete_path(&input))),
        Effect::RedrawAll => None,
    }
}
