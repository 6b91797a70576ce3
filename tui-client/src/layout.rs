//! Where each pane goes for a terminal size. Pure, so `App` can scroll by the same geometry
//! the renderer draws with.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest usable terminal; below it the screen says "too small".
pub const MIN_SIZE: (u16, u16) = (50, 12);
/// Width of the peer pane.
const PEERS_WIDTH: u16 = 24;
/// Rows of the compose pane, borders included: three text rows and the info row.
const COMPOSE_HEIGHT: u16 = 6;

/// The panes of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// Whether the terminal is below [`MIN_SIZE`] (then only `full` matters).
    pub too_small: bool,
    /// The whole screen.
    pub full: Rect,
    /// Top row.
    pub status: Rect,
    /// Conversation list with borders, above the peers.
    pub convs: Rect,
    /// Rows of conversations inside the borders.
    pub convs_list: Rect,
    /// Peer pane with borders.
    pub peers: Rect,
    /// Rows of peer ids inside the borders.
    pub peers_list: Rect,
    /// Inbox pane with borders.
    pub inbox: Rect,
    /// Inbox rows inside the borders.
    pub inbox_text: Rect,
    /// Compose pane with borders.
    pub compose: Rect,
    /// Bottom row: notices and key hints.
    pub hint: Rect,
}

/// Lay out a `width` x `height` screen with `conversations` in the list (that pane takes a
/// row each, up to half the left column; the peers keep the rest).
pub fn areas(width: u16, height: u16, conversations: usize) -> Areas {
    let full = Rect::new(0, 0, width, height);
    if width < MIN_SIZE.0 || height < MIN_SIZE.1 {
        return Areas {
            too_small: true,
            full,
            ..Areas::default()
        };
    }
    let [status, main, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(full);
    let [left, right] =
        Layout::horizontal([Constraint::Length(PEERS_WIDTH), Constraint::Min(1)]).areas(main);
    let rows = u16::try_from(conversations.max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let [convs, peers] = Layout::vertical([
        Constraint::Length(rows.min(left.height / 2)),
        Constraint::Min(1),
    ])
    .areas(left);
    let [inbox, compose] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(COMPOSE_HEIGHT)]).areas(right);
    let inner = |r: Rect| {
        Rect::new(
            r.x + 1,
            r.y + 1,
            r.width.saturating_sub(2),
            r.height.saturating_sub(2),
        )
    };
    // The peer pane's first inner row holds the filter line.
    let pl = inner(peers);
    let peers_list = Rect::new(pl.x, pl.y + 1, pl.width, pl.height.saturating_sub(1));
    Areas {
        too_small: false,
        full,
        status,
        convs,
        convs_list: inner(convs),
        peers,
        peers_list,
        inbox,
        inbox_text: inner(inbox),
        compose,
        hint,
    }
}
