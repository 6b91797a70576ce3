//! The NATS text protocol as a subscriber sees it: `MSG <subject> <sid> [reply] <len>\r\n`,
//! the payload, `\r\n`; plus `PING`, `PONG`, `+OK`, `-ERR` and `INFO` lines.

use super::{ascii_int, Capture, Event};

/// Streaming parser for server → client NATS traffic.
#[derive(Default)]
pub struct NatsScan {
    line: Vec<u8>,
    /// Payload bytes (plus its trailing CRLF) still to come; 0 while reading a control line.
    left: usize,
    cap: Capture,
}

impl NatsScan {
    /// Parse `data`, calling `sink` for each message and control line.
    pub fn feed(&mut self, mut data: &[u8], sink: &mut impl FnMut(Event<'_>)) {
        while !data.is_empty() {
            if self.left > 0 {
                let n = self.left.min(data.len());
                self.cap.offer(&data[..n]);
                self.left -= n;
                data = &data[n..];
                if self.left == 0 {
                    sink(Event::Msg(self.cap.get()));
                }
                continue;
            }
            match memchr::memchr(b'\n', data) {
                Some(end) => {
                    self.line.extend_from_slice(&data[..=end]);
                    data = &data[end + 1..];
                    self.on_line(sink);
                    self.line.clear();
                }
                None => {
                    self.line.extend_from_slice(data);
                    return;
                }
            }
        }
    }

    fn on_line(&mut self, sink: &mut impl FnMut(Event<'_>)) {
        let line = self.line.trim_ascii_end();
        if let Some(rest) = line.strip_prefix(b"MSG ") {
            let len = rest
                .rsplit(|&b| b == b' ')
                .next()
                .and_then(ascii_int)
                .unwrap_or(0);
            self.cap.clear();
            // A payload is followed by CRLF; counting it in `left` keeps the parser in step.
            self.left = len.max(0) as usize + 2;
        } else if line.starts_with(b"PING") {
            sink(Event::Ping);
        } else if line.starts_with(b"PONG") {
            sink(Event::Pong);
        } else if line.starts_with(b"-ERR") {
            sink(Event::Error(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_across_any_split() {
        let stream = b"INFO {}\r\nMSG r1 1 5\r\nhello\r\nPING\r\nMSG r1 1 3\r\nabc\r\n";
        for step in [1, 2, 7, 100] {
            let mut scan = NatsScan::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(step) {
                scan.feed(chunk, &mut |e| got.push(format!("{e:?}")));
            }
            assert_eq!(
                got,
                vec![
                    format!("{:?}", Event::Msg(b"hello\r\n")),
                    format!("{:?}", Event::Ping),
                    format!("{:?}", Event::Msg(b"abc\r\n")),
                ]
            );
        }
    }
}
