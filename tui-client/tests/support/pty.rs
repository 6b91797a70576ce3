//! Test support: a real `tui-client` in a pseudo-terminal, its screen kept by a vt100 parser.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};

use super::hub_support::wait_until;

/// A client process on a pty of `cols` x `rows`.
pub struct PtyClient {
    pub name: &'static str,
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl PtyClient {
    pub fn spawn(name: &'static str, hub: &str, dir: &Path, cols: u16, rows: u16) -> PtyClient {
        PtyClient::spawn_with(name, hub, dir, (cols, rows), &[])
    }

    /// [`Self::spawn`] with more arguments (`--mouse`, `--config FILE`).
    pub fn spawn_with(
        name: &'static str,
        hub: &str,
        dir: &Path,
        (cols, rows): (u16, u16),
        more: &[&str],
    ) -> PtyClient {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_tui-client"));
        cmd.args(["--hub", hub]);
        cmd.arg("--download-dir");
        cmd.arg(dir.join(format!("{name}-downloads")));
        cmd.arg("--log-file");
        cmd.arg(dir.join(format!("{name}.log")));
        cmd.args(more);
        cmd.env("TERM", "xterm-256color");
        // Never the user's own identity.
        cmd.env("XDG_CONFIG_HOME", dir.join(format!("{name}-config")));
        // Nor the user's own history.
        cmd.env("XDG_DATA_HOME", dir.join(format!("{name}-data")));
        cmd.env_remove("HUBBUB_IDENTITY");
        cmd.env_remove("HUBBUB_ANONYMOUS");
        cmd.env_remove("HUBBUB_CONFIG");
        cmd.env_remove("HUBBUB_MOUSE");
        cmd.cwd(dir);
        let child = pty.slave.spawn_command(cmd).expect("spawn tui-client");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            // Ends when the child closes the pty.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().expect("parser lock").process(&buf[..n]);
            }
        });
        PtyClient {
            name,
            screen,
            writer,
            child,
            master: pty.master,
        }
    }

    /// The screen as text.
    pub fn contents(&self) -> String {
        self.screen.lock().expect("parser lock").screen().contents()
    }

    /// Write `bytes` onto the screen as another program sharing the terminal would, behind
    /// the client's back.
    pub fn scribble(&self, bytes: &[u8]) {
        self.screen.lock().expect("parser lock").process(bytes);
    }

    /// How many cells have the ANSI background colour `idx` (1 is red).
    pub fn cells_with_background(&self, idx: u8) -> usize {
        let parser = self.screen.lock().expect("parser lock");
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r, c)))
            .filter(|&(r, c)| {
                screen
                    .cell(r, c)
                    .is_some_and(|cell| cell.bgcolor() == vt100::Color::Idx(idx))
            })
            .count()
    }

    /// Whether the terminal was asked to report the mouse.
    pub fn mouse_captured(&self) -> bool {
        self.screen
            .lock()
            .expect("parser lock")
            .screen()
            .mouse_protocol_mode()
            != vt100::MouseProtocolMode::None
    }

    /// A left click on the cell at column `x`, row `y` (from 0), as a terminal reports it in
    /// SGR mouse mode: the press, then the release.
    pub fn click(&mut self, x: u16, y: u16) {
        let (x, y) = (x + 1, y + 1);
        self.keys(&format!("\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m"));
    }

    /// Whether the alternate screen is on (the UI is up).
    pub fn alternate_screen(&self) -> bool {
        self.screen
            .lock()
            .expect("parser lock")
            .screen()
            .alternate_screen()
    }

    /// Resize the terminal, as a user dragging the window would.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.screen
            .lock()
            .expect("parser lock")
            .set_size(rows, cols);
        let size = PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        self.master.resize(size).expect("resize pty");
    }

    /// Wait until the terminal is back to normal: the alternate screen is off. (The reader
    /// thread may still be parsing the last bytes when the process has already exited.)
    pub fn wait_restored(&self) {
        let what = format!("{}'s terminal to leave the alternate screen", self.name);
        wait_until(&what, || (!self.alternate_screen()).then_some(()));
    }

    /// Type bytes as if at the keyboard.
    pub fn keys(&mut self, bytes: &str) {
        self.writer
            .write_all(bytes.as_bytes())
            .expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Wait until the screen contains `text`.
    pub fn wait_for(&self, text: &str) {
        let what = format!("{:?} on {}'s screen", text, self.name);
        wait_until(&what, || self.contents().contains(text).then_some(()));
    }

    /// Wait until the screen's words, read as one line (so a line the client wrapped reads
    /// whole), contain `text`.
    pub fn wait_for_words(&self, text: &str) {
        let what = format!("{:?} in the words on {}'s screen", text, self.name);
        wait_until(&what, || {
            let contents = self.contents();
            // Pane borders between the two halves of a wrapped line are not words.
            let words: Vec<&str> = contents
                .split_whitespace()
                .filter(|w| !w.chars().all(|c| c == '│'))
                .collect();
            let words = words.join(" ");
            words.contains(text).then_some(())
        });
    }

    /// Wait until the screen no longer contains `text`.
    pub fn wait_gone(&self, text: &str) {
        let what = format!("{:?} to leave {}'s screen", text, self.name);
        wait_until(&what, || (!self.contents().contains(text)).then_some(()));
    }

    /// The terminal's title, as the client last set it.
    pub fn title(&self) -> String {
        self.screen
            .lock()
            .expect("parser lock")
            .screen()
            .title()
            .to_owned()
    }

    /// How many times the client rang the bell.
    pub fn bells(&self) -> usize {
        self.screen
            .lock()
            .expect("parser lock")
            .screen()
            .audible_bell_count()
    }

    /// Wait until the title is `title`.
    pub fn wait_title(&self, title: &str) {
        let what = format!("{}'s title to be {title:?}", self.name);
        wait_until(&what, || (self.title() == title).then_some(()));
    }

    /// Our id, read from the status bar once connected.
    pub fn user_id(&self) -> u64 {
        wait_until("the status bar's id", || {
            let screen = self.contents();
            let rest = screen.split("you #").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
    }

    /// Send a signal (`TERM`, `INT`, `HUP`) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.process_id().expect("pid").to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Wait for the process to exit; whether it succeeded.
    pub fn wait_exit(&mut self) -> bool {
        let status = wait_until("the client to exit", || {
            self.child.try_wait().expect("try_wait")
        });
        status.success()
    }
}

impl Drop for PtyClient {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}
