//! The compose pane (receivers in the title, text, attachment and size row) and the attach
//! prompt drawn over it. The text is drawn here rather than by the text area so that it passes
//! the sanitiser like everything else.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::borrow::Cow;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::pane;
use crate::app::{App, Focus};
use crate::incoming::human_size;
use crate::sanitize::{display, display_line};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Receivers named in the title before "n peers" takes over.
const NAMED: usize = 4;

/// Draw the compose pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let sel = app.receivers();
    let title = if sel.is_empty() {
        Line::from(vec![
            Span::raw(" Compose "),
            Span::styled("(no receiver selected) ", Style::default().fg(Color::Red)),
        ])
    } else if sel.len() <= NAMED {
        let names: Vec<String> = sel.iter().map(|id| app.inbox.names.label(*id)).collect();
        Line::raw(format!(" Compose → {} ", names.join(", ")))
    } else {
        Line::raw(format!(" Compose → {} peers ", sel.len()))
    };
    let focused = app.focus == Focus::Compose;
    let block = pane(title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let text_area = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    if app.compose.content().is_empty() {
        let hint = " type a message or /help; Enter sends";
        Line::styled(hint, Style::default().fg(Color::DarkGray)).render(text_area, buf);
    } else {
        render_text(app, text_area, buf);
    }
    // Typing always lands here, whatever pane has focus, so the cursor is always drawn.
    cursor(app, text_area, buf);
    let info = Rect {
        y: inner.bottom().saturating_sub(1),
        height: 1,
        ..inner
    };
    info_line(app).render(info, buf);
}

/// The rows of the text shown in `area`: the cursor's row in view and, when the text is taller
/// than the box, a first row saying how many lines are hidden above and below.
fn window(app: &App, area: Rect) -> (usize, usize) {
    let total = app.compose.text.lines().len();
    let height = usize::from(area.height).max(1);
    if total <= height {
        return (0, height);
    }
    let rows = (height - 1).max(1);
    (app.compose.text.cursor().0.saturating_sub(rows - 1), rows)
}

/// Where the cursor's row starts being drawn: its first column, or later when the cursor
/// would be past the right edge. Returns (columns skipped, the cursor's column on screen).
fn columns(app: &App, width: usize) -> (usize, usize) {
    let (row, col) = app.compose.text.cursor();
    let line = app.compose.text.lines().get(row).map_or("", String::as_str);
    let before: String = line.chars().take(col).collect();
    let at = display(&before).width();
    let skip = (at + 1).saturating_sub(width.max(1));
    (skip, at - skip)
}

/// Draw the text itself, every line through the sanitiser.
fn render_text(app: &App, area: Rect, buf: &mut Buffer) {
    let (top, rows) = window(app, area);
    let lines = app.compose.text.lines();
    let mut y = area.y;
    if area.height as usize > rows {
        let below = lines.len().saturating_sub(top + rows);
        let hint = hidden(top, below);
        Line::styled(hint, Style::default().fg(Color::DarkGray)).render(row_at(area, y), buf);
        y += 1;
    }
    let (skip, _) = columns(app, usize::from(area.width));
    for (i, line) in lines.iter().enumerate().skip(top).take(rows) {
        let shown = display(line);
        let shown = if i == app.compose.text.cursor().0 {
            skip_columns(&shown, skip)
        } else {
            &shown
        };
        Line::raw(shown.to_owned()).render(row_at(area, y), buf);
        y += 1;
    }
}

/// The cursor: a reversed cell.
fn cursor(app: &App, area: Rect, buf: &mut Buffer) {
    let (top, rows) = window(app, area);
    let hint = u16::from(usize::from(area.height) > rows);
    let row = app.compose.text.cursor().0.saturating_sub(top);
    let (_, col) = columns(app, usize::from(area.width));
    let (x, y) = (area.x + col as u16, area.y + hint + row as u16);
    if x < area.right() && y < area.bottom() {
        buf[(x, y)].set_style(Style::default().add_modifier(Modifier::REVERSED));
    }
}

/// The hint over a text taller than its box.
fn hidden(above: usize, below: usize) -> String {
    let lines = |n: usize| format!("{n} line{}", if n == 1 { "" } else { "s" });
    match (above, below) {
        (a, 0) => format!("↑ {a} more line{} above", if a == 1 { "" } else { "s" }),
        (0, b) => format!("↓ {b} more line{} below", if b == 1 { "" } else { "s" }),
        (a, b) => format!("↑ {} above · ↓ {} below", lines(a), lines(b)),
    }
}

fn row_at(area: Rect, y: u16) -> Rect {
    Rect {
        y,
        height: 1,
        ..area
    }
}

/// `text` without its first `skip` columns.
fn skip_columns(text: &str, skip: usize) -> &str {
    let mut width = 0;
    for (i, c) in text.char_indices() {
        if width >= skip {
            return &text[i..];
        }
        width += c.width().unwrap_or(0);
    }
    ""
}

/// Size of the text, the attachment, and how many will get it.
fn info_line(app: &App) -> Line<'static> {
    let dim = Style::default().fg(Color::DarkGray);
    let mut spans = vec![Span::styled(
        format!("{} · ", human_size(app.compose.content().len() as u64)),
        dim,
    )];
    match &app.compose.attachment {
        Some(att) => spans.push(Span::styled(
            format!(
                "file {} ({}) · Ctrl-X drops · ",
                display_line(&att.name),
                human_size(att.body.len() as u64)
            ),
            Style::default().fg(Color::LightCyan),
        )),
        None => spans.push(Span::styled("Ctrl-O attaches a file · ", dim)),
    }
    let n = app.receivers().len();
    spans.push(Span::styled(
        format!("to {n} peer{}", if n == 1 { "" } else { "s" }),
        dim,
    ));
    Line::from(spans)
}

/// Draw the attach prompt over the compose pane.
pub fn render_prompt(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(prompt) = &app.compose.prompt else {
        return;
    };
    Clear.render(area, buf);
    let block = pane(
        " Attach a file: Tab completes · Enter attaches · Esc cancels ",
        true,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let max = format!("at most {}", human_size(u64::from(app.limits.max_body)));
    let mut lines = vec![
        Line::from(vec![
            Span::styled("path: ", Style::default().fg(Color::Cyan)),
            Span::raw(format!("{}▏", display_line(&prompt.input))),
        ]),
        Line::styled(max, Style::default().fg(Color::DarkGray)),
    ];
    if !prompt.candidates.is_empty() {
        let names: Vec<Cow<str>> = prompt
            .candidates
            .iter()
            .map(|c| display_line(c.rsplit('/').find(|s| !s.is_empty()).unwrap_or(c)))
            .collect();
        lines.push(Line::styled(
            names.join("  "),
            Style::default().fg(Color::Yellow),
        ));
    }
    Paragraph::new(lines)
        .wrap(ratatui::widgets::Wrap { trim: false })
        .render(inner, buf);
}
