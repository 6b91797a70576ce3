//! The peer pane: a title with the "n/255" selection count, the filter row, and only the rows
//! of ids that fit.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{color_of, pane};
use crate::app::{App, Focus};
use crate::layout::Areas;

/// Draw the peer pane.
pub fn render(app: &App, a: &Areas, buf: &mut Buffer) {
    let peers = &app.peers;
    let focused = app.focus == Focus::Peers;
    let title = format!(
        " Peers {}/{} ",
        peers.selected().len(),
        app.limits.max_receivers
    );
    pane(app, title, focused).render(a.peers, buf);
    render_filter(app, a, buf);
    render_rows(app, a, buf);
}

/// The row above the list: the filter being typed, the filter in force, or the count.
fn render_filter(app: &App, a: &Areas, buf: &mut Buffer) {
    let peers = &app.peers;
    let filter_row = ratatui::layout::Rect {
        height: 1,
        y: a.peers_list.y - 1,
        ..a.peers_list
    };
    let filter = if peers.filtering {
        Line::styled(
            format!("find: {}▏", peers.filter()),
            Style::default().fg(Color::Yellow),
        )
    } else if !peers.filter().is_empty() {
        Line::styled(
            format!("find {} ({} shown)", peers.filter(), peers.view().len()),
            Style::default().fg(Color::Yellow),
        )
    } else {
        Line::styled(
            format!("{} online · Ctrl-F find", peers.all().len()),
            Style::default().fg(Color::DarkGray),
        )
    };
    filter.render(filter_row, buf);
}

/// The rows of ids that fit, the cursor kept on screen.
fn render_rows(app: &App, a: &Areas, buf: &mut Buffer) {
    let peers = &app.peers;
    let focused = app.focus == Focus::Peers;
    let list = a.peers_list;
    let rows = usize::from(list.height);
    if peers.view().is_empty() {
        let text = if peers.all().is_empty() {
            "(nobody else here)"
        } else {
            "(no id matches)"
        };
        Line::styled(text, Style::default().fg(Color::DarkGray)).render(list, buf);
        return;
    }
    // Keep the cursor on screen; only this window of the list is drawn.
    let offset = crate::layout::list_offset(peers.cursor(), rows);
    let end = (offset + rows).min(peers.view().len());
    for (row, id) in peers.view()[offset..end].iter().enumerate() {
        let selected = peers.selected().contains(id);
        let mark = if selected { "[x] " } else { "[ ] " };
        let mut style = Style::default().fg(color_of(*id));
        if selected {
            style = style.add_modifier(Modifier::BOLD);
        }
        let mut line = Line::from(vec![Span::raw(mark), Span::styled(peers.label(*id), style)]);
        if offset + row == peers.cursor() {
            let cursor = if focused {
                Modifier::REVERSED
            } else {
                Modifier::UNDERLINED
            };
            line = line.style(Style::default().add_modifier(cursor));
        }
        let area = ratatui::layout::Rect {
            y: list.y + row as u16,
            height: 1,
            ..list
        };
        buf.set_style(area, line.style);
        line.render(area, buf);
    }
}
