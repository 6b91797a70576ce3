//! The status bar: who we are, where, whether connected, how many peers, how many unread.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::bindings::Act;
use crate::app::{App, ConnState};
use crate::layout::Areas;

/// Draw the status bar (one row); it says so when the side panes are hidden, and which key
/// shows them.
pub fn render(app: &App, a: &Areas, buf: &mut Buffer) {
    let area = a.status;
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
            app.theme.warning,
        ),
    };
    let sep = Span::styled(" │ ", Style::default().fg(Color::DarkGray));
    let unread = app.unread();
    let unread_style = if unread > 0 {
        Style::default()
            .fg(app.theme.unread)
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
    let peers = Span::raw(match app.peers.all().len() {
        1 => "1 peer".to_string(),
        n => format!("{n} peers"),
    });
    let unread = Span::styled(format!("{unread} unread"), unread_style);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let state = Span::styled(state, Style::default().fg(color));
    let spans = if a.panes {
        let mut hub = format!("hub {}", crate::sanitize::display_line(&app.hub));
        if let Some(was) = &app.switched_from {
            let was = crate::sanitize::display_line(was);
            hub.push_str(&format!(" (failed over from {was})"));
        }
        let hub = Span::raw(hub);
        let name = Span::styled(" hubbub", bold);
        vec![name, Span::styled(me, bold), hub, state, peers, unread]
    } else {
        // Narrow: what matters first, and the key that brings the panes back (the
        // fingerprint, 39 columns, waits for the wide bar or /whois).
        let hidden = Span::styled(
            format!("{} shows panes", app.keys.name_of(Act::TogglePanes)),
            Style::default().fg(Color::Yellow),
        );
        let me = Span::styled(format!(" {me}"), bold);
        vec![me, state, unread, hidden, peers]
    };
    let mut line = Vec::with_capacity(spans.len() * 2 + 2);
    for (i, span) in spans.into_iter().enumerate() {
        if i > 0 {
            line.push(sep.clone());
        }
        line.push(span);
    }
    // Your own fingerprint last, and only whole: a cut one would be worse than none (it is in
    // `/whois` of yourself too).
    if let Some(fingerprint) = &app.fingerprint {
        let used: usize = line.iter().map(Span::width).sum();
        let mine = Span::styled(
            format!("key {fingerprint}"),
            Style::default().fg(Color::Gray),
        );
        if used + sep.width() + mine.width() <= usize::from(area.width) {
            line.push(sep);
            line.push(mine);
        }
    }
    Line::from(line).style(bar).render(area, buf);
}
