//! The help popup: every row of the binding table, keys grouped by where they work, then the
//! slash commands; wrapped to the popup's width and scrolled (at 50x12 it shows nine rows of
//! about sixty). [`max_scroll`] and [`page`] give `App` the same geometry for its scroll keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::pane;
use crate::app::bindings::{help_rows, HelpRow};
use crate::app::keymap::KeyMap;
use crate::app::App;

/// Widest popup: wider only spreads the two columns apart.
const MAX_WIDTH: u16 = 90;

/// The popup in a screen of `size`, and its inner width and height.
fn geometry(size: (u16, u16), keys: &KeyMap) -> (Rect, usize, usize) {
    let area = Rect::new(0, 0, size.0, size.1);
    let width = area.width.min(MAX_WIDTH);
    let inner_w = usize::from(width.saturating_sub(2));
    let wanted = lines(inner_w, keys).len() as u16 + 2;
    let height = wanted.min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    (popup, inner_w, usize::from(height.saturating_sub(2)))
}

/// Rows that fit at once in a screen of `size`.
pub fn page(size: (u16, u16), keys: &KeyMap) -> usize {
    geometry(size, keys).2
}

/// The furthest the help scrolls in a screen of `size`, with the config's `keys` listed.
pub fn max_scroll(size: (u16, u16), keys: &KeyMap) -> usize {
    let (_, w, h) = geometry(size, keys);
    lines(w, keys).len().saturating_sub(h)
}

/// The whole help as lines `width` columns wide: keys on the left, what they do on the
/// right, both wrapped.
fn lines(width: usize, keys: &KeyMap) -> Vec<Line<'static>> {
    let rows = help_rows(keys);
    let widest = rows
        .iter()
        .map(|r| match r {
            HelpRow::Key(b) => b.keys.width(),
            HelpRow::Command(c) => c.usage.width(),
            HelpRow::Given(k, _) => k.width(),
            HelpRow::Heading(_) => 0,
        })
        .max()
        .unwrap_or(0);
    let kw = widest.min(width * 2 / 5).max(8);
    // A column of margin on the right, away from the border.
    let dw = width.saturating_sub(kw + 3).max(8);
    // Keys break at spaces only: "Ctrl-" and "F6" belong together.
    let wrap = |text: &str, w: usize| -> Vec<String> {
        let options =
            textwrap::Options::new(w).word_splitter(textwrap::WordSplitter::NoHyphenation);
        textwrap::wrap(text, options)
            .into_iter()
            .map(|l| l.into_owned())
            .collect()
    };
    let mut out = Vec::new();
    for row in rows {
        let (keys, does) = match row {
            HelpRow::Heading(text) => {
                out.push(Line::styled(
                    text.to_owned(),
                    Style::default()
                        .fg(Color::Cyan)
                        .add_modifier(Modifier::BOLD),
                ));
                continue;
            }
            HelpRow::Key(b) => (b.keys.to_owned(), b.does.to_owned()),
            HelpRow::Command(c) => (c.usage.to_owned(), c.does.to_owned()),
            HelpRow::Given(k, d) => (k, d),
        };
        let keys = wrap(&keys, kw);
        let does = wrap(&does, dw);
        for i in 0..keys.len().max(does.len()) {
            let k = keys.get(i).map_or("", |k| k.as_ref());
            let d = does.get(i).map_or("", |d| d.as_ref());
            out.push(Line::from(vec![
                Span::styled(format!(" {k:<kw$} "), Style::default().fg(Color::Yellow)),
                Span::raw(d.to_owned()),
            ]));
        }
    }
    out
}

/// Draw the help popup over `area`, scrolled as `app` says.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let scroll = app.help_scroll;
    let (popup, w, h) = geometry((area.width, area.height), &app.keys);
    let popup = Rect {
        x: popup.x + area.x,
        y: popup.y + area.y,
        ..popup
    };
    Clear.render(popup, buf);
    let all = lines(w, &app.keys);
    let scroll = scroll.min(all.len().saturating_sub(h));
    let end = (scroll + h).min(all.len());
    let position = format!(" {}–{} of {} ", scroll + 1, end, all.len());
    let block = pane(app, " Help · ↑↓ PgUp/PgDn scroll · Esc closes ", true)
        .title_bottom(Line::from(position).right_aligned());
    let shown: Vec<Line> = all.into_iter().skip(scroll).take(h).collect();
    Paragraph::new(shown).block(block).render(popup, buf);
}
