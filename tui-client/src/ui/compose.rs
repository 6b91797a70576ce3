//! The compose pane (receivers in the title, text, attachment and size row) and the attach
//! prompt drawn over it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::pane;
use crate::app::{App, Focus};
use crate::incoming::human_size;

/// Receivers named in the title before "n peers" takes over.
const NAMED: usize = 4;

/// Draw the compose pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let sel = app.peers.selected();
    let title = if sel.is_empty() {
        Line::from(vec![
            Span::raw(" Compose "),
            Span::styled("(no receiver selected) ", Style::default().fg(Color::Red)),
        ])
    } else if sel.len() <= NAMED {
        let names: Vec<String> = sel.iter().map(|id| format!("#{id}")).collect();
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
    if focused {
        app.compose.text.render(text_area, buf);
    } else if app.compose.is_blank() {
        Line::styled("Tab here to write", Style::default().fg(Color::DarkGray))
            .render(text_area, buf);
    } else {
        Paragraph::new(app.compose.content()).render(text_area, buf);
    }
    let info = Rect {
        y: inner.bottom().saturating_sub(1),
        height: 1,
        ..inner
    };
    info_line(app).render(info, buf);
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
                att.name,
                human_size(att.body.len() as u64)
            ),
            Style::default().fg(Color::LightCyan),
        )),
        None => spans.push(Span::styled("Ctrl-O attaches a file · ", dim)),
    }
    let n = app.peers.selected().len();
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
            Span::raw(format!("{}▏", prompt.input)),
        ]),
        Line::styled(max, Style::default().fg(Color::DarkGray)),
    ];
    if !prompt.candidates.is_empty() {
        let names: Vec<&str> = prompt
            .candidates
            .iter()
            .map(|c| c.rsplit('/').find(|s| !s.is_empty()).unwrap_or(c))
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
