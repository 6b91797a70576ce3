//! The side panes (conversations, peers): shown on a wide terminal, hidden on a narrow one,
//! toggled by F2; and the mouse, whose clicks land on their rows.

use crossterm::event::MouseEvent;
use ratatui::layout::{Position, Rect};

use super::{App, Focus};
use crate::layout;

impl App {
    /// Whether the side panes are shown on a terminal `width` columns wide: as F2 last set
    /// them, else on a wide one.
    pub fn panes_shown(&self, width: u16) -> bool {
        self.panes.unwrap_or_else(|| layout::wide(width))
    }

    /// F2: hide the side panes if shown, show them if hidden. The focus leaves the hidden
    /// peer list for the compose box.
    pub(crate) fn toggle_panes(&mut self) {
        let shown = !self.panes_shown(self.size.0);
        self.panes = Some(shown);
        if !shown && self.focus == Focus::Peers {
            self.focus = Focus::Compose;
        }
    }

    /// Show the side panes (a key that works in the peer list was asked for).
    pub(crate) fn show_panes(&mut self) {
        if !self.panes_shown(self.size.0) {
            self.panes = Some(true);
        }
    }

    /// The wheel scrolls the inbox; a left click on a conversation shows it, on a peer
    /// moves the cursor there and selects or unselects it.
    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) {
        use crossterm::event::{MouseButton, MouseEventKind};
        let (w, h) = self.inbox_dims();
        match mouse.kind {
            MouseEventKind::ScrollUp => self.inbox.scroll_up(3, w, h),
            MouseEventKind::ScrollDown => self.inbox.scroll_down(3, w),
            MouseEventKind::Down(MouseButton::Left) => self.click(mouse.column, mouse.row),
            _ => {}
        }
    }

    fn click(&mut self, x: u16, y: u16) {
        let a = self.areas();
        if !a.panes || a.too_small || self.help || self.compose.prompt.is_some() {
            return;
        }
        let at = Position { x, y };
        let row = |list: Rect, cursor: usize| {
            let offset = layout::list_offset(cursor, usize::from(list.height));
            offset + usize::from(y - list.y)
        };
        if a.convs_list.contains(at) {
            let i = row(a.convs_list, self.inbox.active());
            if i < self.inbox.conversations().len() {
                self.switch_to(i);
            }
        } else if a.peers_list.contains(at) {
            let i = row(a.peers_list, self.peers.cursor());
            if i < self.peers.view().len() {
                self.peers.filtering = false;
                self.peers
                    .move_cursor(i as isize - self.peers.cursor() as isize);
                self.focus = Focus::Peers;
                self.toggle_peer();
            }
        }
    }
}
