//! Where each pane goes for a terminal size. Pure, so `App` can scroll by the same geometry
//! the renderer draws with.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest usable terminal; below it the screen says "too small".
pub const MIN_SIZE: (u16, u16) = (50, 12);
/// Below this many columns the side panes (conversations, peers) are hidden unless asked for
/// (F2), so that the conversation and the compose box get the width.
pub const NARROW_WIDTH: u16 = 90;
/// Width of the left column (conversations above peers).
const PEERS_WIDTH: u16 = 24;
/// Rows of the compose pane around its text: the two borders and the info row.
const COMPOSE_CHROME: u16 = 3;
/// Text rows the compose box always has.
pub const COMPOSE_MIN_ROWS: u16 = 3;
/// The compose box grows with its text up to this fraction (1/n) of the screen's height.
const COMPOSE_MAX_FRACTION: u16 = 3;

/// What the layout depends on besides the size.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Conversations in the list (that pane takes a row each, up to half the left column).
    pub conversations: usize,
    /// Whether the side panes are shown.
    pub panes: bool,
}

/// The panes of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// Whether the terminal is below [`MIN_SIZE`] (then only `full` matters).
    pub too_small: bool,
    /// Whether the side panes are drawn (`convs` and `peers` are empty when not).
    pub panes: bool,
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
    /// The compose box's text rows (inside the borders, above the info row).
    pub compose_text: Rect,
    /// Bottom row: notices and key hints.
    pub hint: Rect,
}

/// The first row of a list drawn in `rows` rows so that row `cursor` is on screen: the
/// conversation and peer lists, drawn and clicked by the same rule.
pub fn list_offset(cursor: usize, rows: usize) -> usize {
    cursor.saturating_sub(rows.saturating_sub(1))
}

/// Whether a terminal `width` columns wide shows the side panes when nobody asked.
pub fn wide(width: u16) -> bool {
    width >= NARROW_WIDTH
}

/// Text rows the compose box may take on a screen `height` rows high.
pub fn compose_max_rows(height: u16) -> u16 {
    (height / COMPOSE_MAX_FRACTION)
        .saturating_sub(COMPOSE_CHROME)
        .max(COMPOSE_MIN_ROWS)
}

/// Lay out a `width` x `height` screen. `compose_rows` says how many text rows the compose
/// text takes at a given width (its wrapped lines); the box grows to fit them, from
/// [`COMPOSE_MIN_ROWS`] up to [`compose_max_rows`].
pub fn areas(width: u16, height: u16, shape: Shape, compose_rows: impl Fn(u16) -> usize) -> Areas {
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
    let (left, right) = if shape.panes {
        let [left, right] =
            Layout::horizontal([Constraint::Length(PEERS_WIDTH), Constraint::Min(1)]).areas(main);
        (left, right)
    } else {
        (Rect::new(main.x, main.y, 0, 0), main)
    };
    let rows = u16::try_from(shape.conversations.max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let [convs, peers] = Layout::vertical([
        Constraint::Length(rows.min(left.height / 2)),
        Constraint::Min(1),
    ])
    .areas(left);
    let text_width = right.width.saturating_sub(2);
    let wanted = u16::try_from(compose_rows(text_width)).unwrap_or(u16::MAX);
    let text_rows = wanted.clamp(COMPOSE_MIN_ROWS, compose_max_rows(height));
    let [inbox, compose] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(text_rows + COMPOSE_CHROME),
    ])
    .areas(right);
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
    let ct = inner(compose);
    let compose_text = Rect {
        height: ct.height.saturating_sub(1),
        ..ct
    };
    Areas {
        too_small: false,
        panes: shape.panes,
        full,
        status,
        convs,
        convs_list: inner(convs),
        peers,
        peers_list,
        inbox,
        inbox_text: inner(inbox),
        compose,
        compose_text,
        hint,
    }
}
