//! The one sanitiser for everything the client draws or saves under a name someone else chose.
//! A terminal obeys control characters (ESC starts a sequence that can repaint the screen) and
//! reorders text around bidi controls (U+202E makes `gnp.exe` read `exe.png`); zero-width and
//! other format characters hide text. Drawn text shows each of them visibly; file names lose
//! them.

use std::borrow::Cow;
use std::fmt::Write;

use ratatui::buffer::Buffer;

/// Whether `c` is a Unicode format character (general category Cf) or a line or paragraph
/// separator: bidi controls, zero-width spaces and joiners, invisible operators, tags. The
/// list is Unicode 15's Cf set, small and stable enough to keep here.
pub fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{0600}'..='\u{0605}' | '\u{061c}' | '\u{06dd}' | '\u{070f}'
        | '\u{0890}'..='\u{0891}' | '\u{08e2}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}'
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// Whether `c` must not reach the terminal as it is (newline is handled by the layout).
pub fn is_unsafe(c: char) -> bool {
    // Printable ASCII first: nearly every character drawn is one.
    if (' '..'\u{7f}').contains(&c) {
        return false;
    }
    (c.is_control() && c != '\n') || is_format(c)
}

/// Text as it may be drawn: newlines kept, TAB and CR as a space (so widths are predictable),
/// other C0 controls and DEL in caret notation (`^[` for ESC), C1 controls and format
/// characters as `<U+202E>`. Borrowed when there is nothing to change, which is nearly always.
pub fn display(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(c as u8 + b'@'));
            }
            '\u{7f}' => out.push_str("^?"),
            c if is_unsafe(c) => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text that must stay on one row (a name, a path, a notice): as [`display`], and a newline
/// shown as `^J` too rather than silently dropped.
pub fn display_line(text: &str) -> Cow<'_, str> {
    if !text.contains('\n') {
        return display(text);
    }
    Cow::Owned(display(text).replace('\n', "^J"))
}

/// A name with every control and format character removed: what a saved file may be called.
pub fn strip(name: &str) -> String {
    name.chars()
        .filter(|&c| !c.is_control() && !is_format(c))
        .collect()
}

/// The last line of defence, run over a finished frame: a cell that still holds an unsafe
/// character (a widget drew text that did not pass [`display`]) keeps only its safe ones.
pub fn scrub(buf: &mut Buffer) {
    for cell in &mut buf.content {
        let symbol = cell.symbol();
        // Most cells hold one printable ASCII byte (a space, more often than not).
        if symbol.len() == 1 && (b' '..0x7f).contains(&symbol.as_bytes()[0]) {
            continue;
        }
        if symbol.chars().any(is_unsafe) {
            let kept: String = cell.symbol().chars().filter(|&c| !is_unsafe(c)).collect();
            cell.set_symbol(if kept.is_empty() { " " } else { &kept });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_format_characters_are_shown_visibly() {
        assert_eq!(display("plain ünïcode\nline"), "plain ünïcode\nline");
        assert!(matches!(display("plain"), Cow::Borrowed(_)));
        assert_eq!(display("a\x1b[2Jb\tc\x7f\x00"), "a^[[2Jb c^?^@");
        assert_eq!(
            display("\u{85}\u{202e}x\u{200d}"),
            "<U+0085><U+202E>x<U+200D>"
        );
        assert_eq!(
            display("\u{2066}\u{2069}\u{061c}\u{200e}"),
            "<U+2066><U+2069><U+061C><U+200E>"
        );
        assert_eq!(display_line("a\nb\x1b"), "a^Jb^[");
    }

    #[test]
    fn names_lose_controls_and_format_characters() {
        assert_eq!(strip("\u{202e}gnp.exe"), "gnp.exe");
        assert_eq!(strip("a\u{200b}b\x1b\u{feff}c\u{2067}"), "abc");
    }

    #[test]
    fn scrub_leaves_only_safe_characters_in_cells() {
        let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 3, 1));
        buf[(0, 0)].set_symbol("x\x1b");
        buf[(1, 0)].set_symbol("\u{202e}");
        scrub(&mut buf);
        assert_eq!((buf[(0, 0)].symbol(), buf[(1, 0)].symbol()), ("x", " "));
    }
}
