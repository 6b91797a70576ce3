//! The help popup: every row of the binding table.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Cell, Clear, Row, Table, Widget};

use super::pane;
use crate::app::bindings::BINDINGS;

/// Draw the help popup centred in `area`.
pub fn render(area: Rect, buf: &mut Buffer) {
    let height = (BINDINGS.len() as u16 + 4).min(area.height);
    let width = area.width.min(90);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    let rows = BINDINGS.iter().map(|b| {
        Row::new(vec![
            Cell::from(b.place.label()).style(Style::default().fg(Color::DarkGray)),
            Cell::from(b.keys).style(Style::default().fg(Color::Yellow)),
            Cell::from(b.does),
        ])
    });
    let header = Row::new(vec!["where", "keys", "does"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Length(23),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .block(pane(" Help · any key closes ", true))
    .render(popup, buf);
}
