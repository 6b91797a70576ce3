//! The status bar: who we are, where, whether connected, how many peers, how many unread.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::{App, ConnState};

/// Draw the status bar into `area` (one row).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let bar = Style::default().bg(Color::Rgb(40, 44, 52)).fg(Color::White);
    buf.set_style(area, bar);
    let me = match (&app.account, app.me) {
        (Some(name), _) => format!("you {name}"),
        (None, Some(id)) => format!("you #{id}"),
        (None, None) => "you #?".to_owned(),
    };
    let (state, color) = match &app.conn {
        ConnState::Connected => ("● connected".to_owned(), Color::Green),
        ConnState::Connecting(n) if *n <= 1 => ("◌ connecting".to_owned(), Color::Yellow),
        ConnState::Connecting(n) => (format!("◌ reconnecting (attempt {n})"), Color::Yellow),
        ConnState::Down { retry_in, .. } => (
            format!("✗ down, retry {:.1}s", retry_in.as_secs_f32()),
            Color::Red,
        ),
    };
    let sep = Span::styled(" │ ", Style::default().fg(Color::DarkGray));
    let unread = app.unread();
    let unread_style = if unread > 0 {
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    if let Some(alert) = app.key_alert() {
        let red = Style::default()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD);
        buf.set_style(area, red);
        Line::styled(format!(" {alert}"), red).render(area, buf);
        return;
    }
    let mut me = me;
    if let Some(fingerprint) = &app.fingerprint {
        me.push_str(&format!(" [{fingerprint}]"));
    }
    let line = Line::from(vec![
        Span::styled(" hubbub", Style::default().add_modifier(Modifier::BOLD)),
        sep.clone(),
        Span::styled(me, Style::default().add_modifier(Modifier::BOLD)),
        sep.clone(),
        Span::raw(format!("hub {}", crate::sanitize::display_line(&app.hub))),
        sep.clone(),
        Span::styled(state, Style::default().fg(color)),
        sep.clone(),
        Span::raw(match app.peers.all().len() {
            1 => "1 peer".to_string(),
            n => format!("{n} peers"),
        }),
        sep,
        Span::styled(format!("{unread} unread"), unread_style),
    ]);
    line.style(bar).render(area, buf);
}
