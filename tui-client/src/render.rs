//! Drawing: `impl Widget for &App`. Reads the state, writes cells, does no I/O, and touches
//! only the rows that are on screen.

mod compose;
mod conversations;
pub mod help;
mod inbox;
mod peers;
mod status;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget, Wrap};
use shared::UserId;

use crate::app::{bindings, App};
use crate::layout::MIN_SIZE;
use crate::sanitize::display_line;

/// Sender colours: distinct on dark and light backgrounds, none of them the error red.
const PALETTE: [Color; 10] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::LightCyan,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
];

/// The colour of a sender: the same for an id on every screen and every run.
pub fn color_of(id: UserId) -> Color {
    // A step of 7 (coprime with 10) gives neighbouring ids different colours.
    PALETTE[(id.0.wrapping_mul(7) % PALETTE.len() as u64) as usize]
}

/// The named colours of the palette (the config file's `[colors]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// The focused pane's border and the attach prompt.
    pub accent: Color,
    /// Your own name on your messages.
    pub own: Color,
    /// The client's own lines (connected, who left) and waiting deliveries.
    pub system: Color,
    /// Unread counts.
    pub unread: Color,
    /// Errors: notices, failed sends, a missing receiver, the connection down.
    pub warning: Color,
}

impl Default for Theme {
    fn default() -> Theme {
        Theme {
            accent: Color::Cyan,
            own: Color::White,
            system: Color::DarkGray,
            unread: Color::Yellow,
            warning: Color::Red,
        }
    }
}

/// A bordered pane, highlighted in the accent colour when it has focus.
fn pane<'a>(app: &App, title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    let style = if focused {
        Style::default()
            .fg(app.theme.accent)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(style)
        .title(title)
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = self.areas_at(area.width, area.height);
        if a.too_small {
            let text = format!(
                "terminal too small: {}x{} (hubbub needs at least {}x{})",
                area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
            );
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .alignment(Alignment::Center)
                .render(area, buf);
            return;
        }
        status::render(self, &a, buf);
        if a.panes {
            conversations::render(self, &a, buf);
            peers::render(self, &a, buf);
        }
        inbox::render(self, &a, buf);
        compose::render(self, &a, buf);
        render_hint(self, a.hint, buf);
        if self.compose.prompt.is_some() {
            compose::render_prompt(self, a.compose, buf);
        }
        if self.help {
            help::render(self, a.full, buf);
        }
        crate::sanitize::scrub(buf);
    }
}

/// The bottom row: the quit question, the current notice, or the main keys.
fn render_hint(app: &App, area: Rect, buf: &mut Buffer) {
    if app.confirm_quit {
        let text = " Unsent draft: quit? y or Ctrl-C · any key stays";
        let style = Style::default()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD);
        buf.set_style(area, style);
        Line::styled(text, style).render(area, buf);
        return;
    }
    // The peer list's detail row (the key of the account under its cursor) stands in for
    // the hints while the list has focus.
    let detail = app.peer_key_detail();
    let line = match &app.notice {
        Some(n) => {
            let color = if n.error {
                app.theme.warning
            } else {
                Color::Green
            };
            Line::styled(
                format!(" {}", display_line(&n.text)),
                Style::default().fg(color),
            )
        }
        None if detail.is_some() => {
            let detail = detail.unwrap_or_default();
            let color = match detail.contains("CHANGED") {
                true => app.theme.warning,
                false => Color::Gray,
            };
            Line::styled(
                format!(" {}", display_line(&detail)),
                Style::default().fg(color),
            )
        }
        None => {
            let (own, always) = bindings::hints(app.focus);
            Line::from(vec![
                Span::styled(
                    format!(" {}", own.join(" · ")),
                    Style::default().fg(Color::Gray),
                ),
                Span::styled(
                    format!(" · {}", always.join(" · ")),
                    Style::default().fg(Color::DarkGray),
                ),
            ])
        }
    };
    line.render(area, buf);
}
