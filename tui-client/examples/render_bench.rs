//! Frame render time and memory with 10,000 peers and 10,000 inbox messages, then with 100
//! conversations and 100,000 messages of history.
//!
//! `cargo run --release -p tui-client --example render_bench`
//!
//! Draws `impl Widget for &App` into ratatui's `TestBackend` (the same cells a terminal gets,
//! without the terminal's write), at 80x24 (the narrow layout: no side panes) and 200x60,
//! following the newest messages and scrolled to the middle, and reports the time per frame
//! and the process's resident memory. The history part also draws 80x24 with the side panes
//! shown (F2) and with a compose box grown to its third of the screen.

use std::time::{Duration, Instant};

use chrono::NaiveTime;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{Limits, UserId};
use tui_client::app::{Action, App};
use tui_client::incoming::Body;
use tui_client::net::NetEvent;

const PEERS: u64 = 10_000;
const MESSAGES: usize = 10_000;
const FRAMES: usize = 200;

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn loaded_app(size: (u16, u16)) -> (App, Duration) {
    let mut app = App::new("127.0.0.1:7878", size);
    let start = Instant::now();
    let welcome = NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    };
    app.update(Action::Net(welcome));
    app.update(Action::Net(NetEvent::Peers(Vec::new())));
    // Peers arrive one join at a time, as they would from the hub.
    for id in 2..PEERS + 2 {
        app.update(Action::Net(NetEvent::Joined(UserId(id))));
    }
    let at = NaiveTime::from_hms_opt(12, 0, 0).expect("valid time");
    for i in 0..MESSAGES {
        let words = 3 + (i * 7919) % 60;
        let text = (0..words)
            .map(|w| format!("word{w}"))
            .collect::<Vec<_>>()
            .join(" ");
        let from = UserId(2 + (i as u64 * 31) % PEERS);
        app.update(Action::Net(NetEvent::Message {
            clear: false,
            from,
            at,
            body: Body::Text(text),
        }));
    }
    let load = start.elapsed();
    // Alt-A: select every shown peer (255 of them).
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('a'),
        KeyModifiers::ALT,
    )));
    (app, load)
}

/// 100 peers' conversations and 100,000 messages loaded from history (ten days of them, so
/// there are date lines), as the client has them after a start.
fn history_app(size: (u16, u16)) -> (App, Duration) {
    use tui_client::app::inbox::{Entry, Sender};
    use tui_client::history::Record;
    const HISTORY: i64 = 100_000;
    let mut app = App::new("127.0.0.1:7878", size);
    let start = Instant::now();
    app.keep_history(HISTORY);
    let day0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("valid date");
    let at = NaiveTime::from_hms_opt(12, 0, 0).expect("valid time");
    let records = (1..=HISTORY)
        .map(|id| {
            let words = 3 + (id as usize * 7919) % 60;
            let text = (0..words)
                .map(|w| format!("word{w}"))
                .collect::<Vec<_>>()
                .join(" ");
            Record {
                id,
                entry: Entry {
                    at,
                    day: day0 + chrono::Days::new((id / 10_000) as u64),
                    from: Sender::Peer(UserId(2 + (id as u64 * 31) % 100)),
                    body: Body::Text(text),
                    delivery: None,
                    record: Some(id),
                },
            }
        })
        .collect();
    app.update(Action::History(records));
    app.update(Action::Net(NetEvent::Connected {
        user_id: UserId(1),
        limits: Limits::default(),
    }));
    (app, start.elapsed())
}

fn bench(app: &App, label: &str) -> Duration {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        // A fresh buffer each frame so every cell is compared, as after a resize.
        terminal.clear().expect("clear");
        let start = Instant::now();
        terminal
            .draw(|f| f.render_widget(app, f.area()))
            .expect("draw");
        times.push(start.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / FRAMES as u32;
    println!(
        "{label:<34} mean {:>7.3} ms  p50 {:>7.3} ms  max {:>7.3} ms",
        mean.as_secs_f64() * 1e3,
        times[FRAMES / 2].as_secs_f64() * 1e3,
        times[FRAMES - 1].as_secs_f64() * 1e3,
    );
    mean
}

fn main() {
    let before = rss_kib("VmRSS:");
    println!("{PEERS} peers, {MESSAGES} messages, {FRAMES} frames each");
    for size in [(80, 24), (200, 60)] {
        let (mut app, load) = loaded_app(size);
        println!(
            "{}x{}: applying {PEERS} joins + {MESSAGES} messages took {:.1} ms",
            size.0,
            size.1,
            load.as_secs_f64() * 1e3
        );
        bench(&app, &format!("{}x{} following the newest", size.0, size.1));
        // F6: from the peer list to the inbox, where PgUp scrolls.
        key(&mut app, KeyCode::F(6));
        for _ in 0..2_000 {
            key(&mut app, KeyCode::PageUp);
        }
        key(&mut app, KeyCode::F(6));
        for _ in 0..500 {
            key(&mut app, KeyCode::PageDown);
        }
        bench(
            &app,
            &format!("{}x{} scrolled to the middle", size.0, size.1),
        );
        drop(app);
    }
    // Measured before the history part: its 100,000 records peak near 100 MiB, which the
    // allocator keeps, and would hide what one client state holds.
    let (app, _) = loaded_app((200, 60));
    println!(
        "resident memory: {} KiB before, {} KiB with one loaded client state (peak {} KiB)",
        before,
        rss_kib("VmRSS:"),
        rss_kib("VmHWM:")
    );
    drop(app);
    for size in [(80, 24), (200, 60)] {
        let (mut app, load) = history_app(size);
        let (w, h) = size;
        println!(
            "{w}x{h}: loading 100,000 history messages into {} conversations took {:.1} ms",
            app.inbox.conversations().len() - 1,
            load.as_secs_f64() * 1e3
        );
        bench(&app, &format!("{w}x{h} history, all, newest"));
        // Alt-5: one peer's conversation (1,000 of the messages).
        app.update(Action::Key(KeyEvent::new(
            KeyCode::Char('5'),
            KeyModifiers::ALT,
        )));
        bench(&app, &format!("{w}x{h} history, one conversation"));
        key(&mut app, KeyCode::F(6));
        for _ in 0..100 {
            key(&mut app, KeyCode::PageUp);
        }
        bench(&app, &format!("{w}x{h} history, conversation scrolled"));
        key(&mut app, KeyCode::F(2));
        bench(
            &app,
            &format!("{w}x{h} history, scrolled, side panes toggled"),
        );
        let draft: Vec<String> = (0..40).map(|i| format!("draft line {i}")).collect();
        app.update(Action::Paste(draft.join("\n")));
        bench(
            &app,
            &format!("{w}x{h} history, scrolled, toggled, 40-line draft"),
        );
    }
}
