//! The conversation list: its number (Alt-1…9), its name, the unread count at the right
//! edge, `@` when you are mentioned and `~` when it is quiet; the one on screen marked `▸`
//! and highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::pane;
use crate::app::conversation::Conversation;
use crate::app::App;
use crate::layout::Areas;
use crate::sanitize::display_line;

/// Draw the conversation list.
pub fn render(app: &App, a: &Areas, buf: &mut Buffer) {
    let convs = app.inbox.conversations();
    let unread = app.unread();
    let title = match unread {
        0 => " Conversations ".to_owned(),
        n => format!(" Conversations ({n}) "),
    };
    pane(app, title, false).render(a.convs, buf);
    let list = a.convs_list;
    let rows = usize::from(list.height);
    if rows == 0 {
        return;
    }
    let active = app.inbox.active();
    // Keep the one on screen in the list.
    let offset = crate::layout::list_offset(active, rows);
    for (row, conv) in convs.iter().enumerate().skip(offset).take(rows) {
        let area = Rect {
            y: list.y + (row - offset) as u16,
            height: 1,
            ..list
        };
        let line = row_line(app, row, conv, row == active, usize::from(list.width));
        let line = if row == active {
            line.style(
                Style::default()
                    .add_modifier(Modifier::REVERSED)
                    .add_modifier(Modifier::BOLD),
            )
        } else {
            line
        };
        buf.set_style(area, line.style);
        line.render(area, buf);
    }
}

/// `2 bob        @3` (`2▸bob` when on screen): the name cut to leave room for the marks.
fn row_line(app: &App, i: usize, conv: &Conversation, active: bool, width: usize) -> Line<'static> {
    let mut marks = String::new();
    if conv.quiet {
        marks.push('~');
    }
    if conv.mention {
        marks.push('@');
    }
    if conv.unread > 0 {
        marks.push_str(&conv.unread.to_string());
    }
    let number = format!("{}{}", i + 1, if active { '▸' } else { ' ' });
    let room = width.saturating_sub(number.width() + marks.len() + 1);
    let label = display_line(&conv.key.label(&app.inbox.names)).into_owned();
    let label = cut(&label, room);
    let pad = width.saturating_sub(number.width() + label.width() + marks.len());
    let mark_style = if conv.mention {
        Style::default()
            .fg(Color::Magenta)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default()
            .fg(app.theme.unread)
            .add_modifier(Modifier::BOLD)
    };
    let label_style = if conv.unread > 0 {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::styled(number, Style::default().fg(Color::DarkGray)),
        Span::styled(label, label_style),
        Span::raw(" ".repeat(pad)),
        Span::styled(marks, mark_style),
    ])
}

/// `s` cut to `width` columns, with `…` when cut.
fn cut(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
