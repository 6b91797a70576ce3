//! The inbox pane: time, sender in its colour, wrapped text or a file entry, the delivery line
//! under our own messages, and a "new messages" marker while scrolled up.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use shared::UserId;

use super::{color_of, pane, Theme};
use crate::app::inbox::{Delivery, Entry, Sender, INDENT};
use crate::app::names::Names;
use crate::app::{App, Focus};
use crate::incoming::Body;
use crate::layout::Areas;

/// Ids listed in a delivery line before "and n more".
const IDS_SHOWN: usize = 8;

/// Draw the inbox pane.
pub fn render(app: &App, a: &Areas, buf: &mut Buffer) {
    let conv = app.inbox.current();
    let name = crate::sanitize::display_line(&conv.key.label(&app.inbox.names)).into_owned();
    let title = match &app.searching {
        Some(text) if app.inbox.marked().is_some() => format!(
            " {name} ({}) · search: {} ",
            app.inbox.len(),
            crate::sanitize::display_line(text)
        ),
        _ => format!(" {name} ({}) ", app.inbox.len()),
    };
    pane(app, title, app.focus == Focus::Inbox).render(a.inbox, buf);
    let area = a.inbox_text;
    let width = usize::from(area.width);
    let mut y = area.y;
    for shown in app.inbox.visible(width, usize::from(area.height)) {
        let marked = app.inbox.marked() == Some(shown.seq);
        let mut lines = entry_lines(shown.entry, width, app, marked);
        if shown.new_line {
            lines.insert(0, new_messages_line(width));
        }
        if let Some(day) = shown.date_line {
            lines.insert(0, date_line(day, width));
        }
        for line in lines.into_iter().skip(shown.skip_top).take(shown.take) {
            line.render(
                Rect {
                    y,
                    height: 1,
                    ..area
                },
                buf,
            );
            y += 1;
        }
    }
    if app.inbox.scrolled() {
        let n = app.inbox.new_below();
        let text = if n > 0 {
            format!(
                "── {n} new message{} below · End jumps down ──",
                if n == 1 { "" } else { "s" }
            )
        } else {
            "── scrolled up · End returns to the newest ──".to_owned()
        };
        let row = Rect {
            y: area.bottom().saturating_sub(1),
            height: 1,
            ..area
        };
        ratatui::widgets::Clear.render(row, buf);
        Line::styled(text, Style::default().fg(Color::Black).bg(Color::Yellow))
            .centered()
            .render(row, buf);
    }
}

/// The line where the day changes: `── Thursday 3 December 2026 ──`.
fn date_line(day: chrono::NaiveDate, width: usize) -> Line<'static> {
    let text = format!(" {} ", day.format("%A %-d %B %Y"));
    let side = width.saturating_sub(text.len()) / 2;
    let rule = "─".repeat(side);
    Line::styled(
        format!("{rule}{text}{rule}"),
        Style::default().fg(Color::DarkGray),
    )
}

/// The "new messages" line above the first message that came while you were away.
fn new_messages_line(width: usize) -> Line<'static> {
    let text = " new messages ";
    let side = width.saturating_sub(text.len()) / 2;
    let rule = "─".repeat(side);
    Line::styled(
        format!("{rule}{text}{rule}"),
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
    )
}

/// Every row of an entry, styled; a `marked` one (the search's match) has its time reversed.
fn entry_lines(entry: &Entry, width: usize, app: &App, marked: bool) -> Vec<Line<'static>> {
    let (names, theme) = (&app.inbox.names, &app.theme);
    let body_style = match (&entry.from, &entry.body) {
        (Sender::System, _) => Style::default()
            .fg(theme.system)
            .add_modifier(Modifier::ITALIC),
        (_, Body::File { .. }) => Style::default().fg(Color::LightCyan),
        _ => Style::default(),
    };
    let label_style = match &entry.from {
        Sender::Peer(id) => Style::default()
            .fg(color_of(*id))
            .add_modifier(Modifier::BOLD),
        Sender::Me { .. } => Style::default().fg(theme.own).add_modifier(Modifier::BOLD),
        Sender::System => Style::default().fg(theme.system),
    };
    let mut out = Vec::new();
    for (i, row) in entry.wrap(width, names).into_iter().enumerate() {
        let text = row.text;
        if i == 0 {
            out.push(Line::from(vec![
                Span::styled(
                    entry.at.format("%H:%M:%S").to_string(),
                    if marked {
                        Style::default().fg(Color::Black).bg(Color::Yellow)
                    } else {
                        Style::default().fg(Color::DarkGray)
                    },
                ),
                Span::raw(" "),
                Span::styled(entry.label(names), label_style),
                Span::raw(" "),
                Span::styled(text, body_style),
            ]));
        } else if row.indented {
            out.push(Line::from(vec![
                Span::raw(" ".repeat(INDENT)),
                Span::styled(text, body_style),
            ]));
        } else {
            out.push(Line::styled(text, body_style));
        }
    }
    if let Some(delivery) = &entry.delivery {
        out.push(delivery_line(delivery, names, theme));
    }
    out
}

fn ids(list: &[UserId], names: &Names) -> String {
    let mut s: Vec<String> = list
        .iter()
        .take(IDS_SHOWN)
        .map(|id| names.label(*id))
        .collect();
    if list.len() > IDS_SHOWN {
        s.push(format!("and {} more", list.len() - IDS_SHOWN));
    }
    s.join(" ")
}

/// The row under our own message: waiting, delivered to n or by name (receipts), queued,
/// unknown, dropped, full, failed, or sent by another session.
fn delivery_line(delivery: &Delivery, names: &Names, theme: &Theme) -> Line<'static> {
    let indent = " ".repeat(INDENT);
    let (text, color) = match delivery {
        Delivery::Pending => ("… waiting for the hub".to_owned(), theme.system),
        Delivery::Elsewhere => ("↗ sent from another session".to_owned(), theme.system),
        Delivery::Done(answer) => {
            // "delivered to 0" only when nobody was reached in any way; a message that is
            // only queued says so first, with a clock. Receipts move names from "queued for"
            // to "delivered to".
            let mut parts = Vec::new();
            let reached = answer.reached.len() as u32;
            match (answer.delivered, reached) {
                (0, 0) => {}
                (0, _) => parts.push(format!("✓ delivered to {}", ids(&answer.reached, names))),
                (n, r) => parts.push(format!("✓ delivered to {}", n + r)),
            }
            let waiting = answer.waiting();
            let lists = [
                (&waiting, "queued for"),
                (&answer.unknown, "unknown"),
                (&answer.dropped, "dropped"),
                (&answer.full, "mailbox full"),
            ];
            for (list, what) in lists {
                if !list.is_empty() {
                    parts.push(format!("{what} {}", ids(list, names)));
                }
            }
            let text = match (answer.delivered + reached, waiting.is_empty()) {
                (0, false) => format!("◷ {}", parts.join(" · ")),
                (0, true) if parts.is_empty() => "✗ delivered to 0".to_owned(),
                (0, true) => format!("✗ delivered to 0 · {}", parts.join(" · ")),
                _ => parts.join(" · "),
            };
            let color = if answer.complete() {
                Color::Green
            } else {
                Color::Yellow
            };
            (text, color)
        }
        Delivery::Failed(why) => (format!("✗ not sent: {why}"), theme.warning),
        Delivery::Clear => ("⚠ not encrypted".to_owned(), Color::Yellow),
        Delivery::Alert(why) => (format!("⚠ {why}"), theme.warning),
    };
    Line::from(vec![
        Span::raw(indent),
        Span::styled(text, Style::default().fg(color)),
    ])
}
