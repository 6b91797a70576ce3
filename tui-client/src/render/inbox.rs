//! The inbox pane: time, sender in its colour, wrapped text or a file entry, the delivery line
//! under our own messages, and a "new messages" marker while scrolled up.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{color_of, pane, Theme};
use crate::app::inbox::{Delivery, Entry, Sender, INDENT};
use crate::app::names::Names;
use crate::app::{App, Focus};
use crate::incoming::Body;
use crate::layout::Areas;

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
    out.extend(delivery_lines(entry, width, names, theme));
    out
}

/// The rows under our own message (and the marks under others'), coloured by what they say:
/// the words and their wrapping are [`Entry::delivery_rows`]'s.
fn delivery_lines(entry: &Entry, width: usize, names: &Names, theme: &Theme) -> Vec<Line<'static>> {
    let Some(delivery) = &entry.delivery else {
        return Vec::new();
    };
    let color = match delivery {
        Delivery::Pending | Delivery::Elsewhere => theme.system,
        Delivery::Done(answer) if answer.complete() => Color::Green,
        Delivery::Done(_) | Delivery::Clear => Color::Yellow,
        Delivery::Failed(_) | Delivery::Alert(_) => theme.warning,
    };
    let indent = " ".repeat(INDENT);
    entry
        .delivery_rows(width, names)
        .into_iter()
        .map(|row| {
            Line::from(vec![
                Span::raw(indent.clone()),
                Span::styled(row.text, Style::default().fg(color)),
            ])
        })
        .collect()
}
