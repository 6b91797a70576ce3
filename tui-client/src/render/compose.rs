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
use crate::app::compose::Wrapped;
use crate::app::{App, Focus};
use crate::incoming::human_size;
use crate::layout::Areas;
use crate::sanitize::{display, display_line};

/// Receivers named in the title before "n peers" takes over.
const NAMED: usize = 4;

/// Draw the compose pane.
pub fn render(app: &App, a: &Areas, buf: &mut Buffer) {
    let sel = app.receivers();
    let title = if sel.is_empty() {
        Line::from(vec![
            Span::raw(" Compose "),
            Span::styled(
                "(no receiver selected) ",
                Style::default().fg(app.theme.warning),
            ),
        ])
    } else if sel.len() <= NAMED {
        let names: Vec<String> = sel.iter().map(|id| app.inbox.names.label(*id)).collect();
        Line::raw(format!(" Compose → {} ", names.join(", ")))
    } else {
        Line::raw(format!(" Compose → {} peers ", sel.len()))
    };
    let focused = app.focus == Focus::Compose;
    let block = pane(app, title, focused);
    let inner = block.inner(a.compose);
    block.render(a.compose, buf);
    let text_area = a.compose_text;
    let wrapped = app.compose.wrapped(usize::from(text_area.width));
    let (top, rows, mark) = window(&wrapped, text_area);
    if app.compose.content().is_empty() {
        let hint = " type a message or /help; Enter sends";
        Line::styled(hint, Style::default().fg(Color::DarkGray)).render(text_area, buf);
    } else {
        render_text(app, &wrapped, (top, rows, mark), text_area, buf);
    }
    // Typing always lands here, whatever pane has focus, so the cursor is always drawn.
    let (row, col) = wrapped.cursor;
    let y = text_area.y + u16::from(mark) + row.saturating_sub(top) as u16;
    let x = text_area.x + col as u16;
    if x < text_area.right() && y < text_area.bottom() {
        buf[(x, y)].set_style(Style::default().add_modifier(Modifier::REVERSED));
    }
    let info = Rect {
        y: inner.bottom().saturating_sub(1),
        height: 1,
        ..inner
    };
    info_line(app).render(info, buf);
}

/// The rows of the wrapped text shown in `area`: (first row, how many, whether a first row
/// says how many are hidden). The cursor's row is always in view.
fn window(wrapped: &Wrapped, area: Rect) -> (usize, usize, bool) {
    let total = wrapped.rows.len();
    let height = usize::from(area.height).max(1);
    if total <= height {
        return (0, height, false);
    }
    let rows = (height - 1).max(1);
    (wrapped.cursor.0.saturating_sub(rows - 1), rows, true)
}

/// Draw the text itself, every row through the sanitiser.
fn render_text(
    app: &App,
    wrapped: &Wrapped,
    (top, rows, mark): (usize, usize, bool),
    area: Rect,
    buf: &mut Buffer,
) {
    let lines = app.compose.text.lines();
    let mut y = area.y;
    if mark {
        let below = wrapped.rows.len().saturating_sub(top + rows);
        let hint = hidden(top, below);
        Line::styled(hint, Style::default().fg(Color::DarkGray)).render(row_at(area, y), buf);
        y += 1;
    }
    for (line, range) in wrapped.rows.iter().skip(top).take(rows) {
        let text: String = lines[*line]
            .chars()
            .skip(range.start)
            .take(range.len())
            .collect();
        Line::raw(display(&text).into_owned()).render(row_at(area, y), buf);
        y += 1;
    }
}

/// The row over a text taller than its box: how many rows are hidden above and below.
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
        app,
        " Attach a file: Tab completes · Enter attaches · Esc cancels ",
        true,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let max = format!("at most {}", human_size(u64::from(app.limits.max_body)));
    let mut lines = vec![
        Line::from(vec![
            Span::styled("path: ", Style::default().fg(app.theme.accent)),
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
