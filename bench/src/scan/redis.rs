//! Redis RESP3 as a client that both publishes and subscribes sees it: integer replies to
//! PUBLISH, `>3` pushes for messages and subscription confirmations, and the HELLO map.

use super::{ascii_int, Capture, Event};

/// Streaming parser for server → client RESP3.
#[derive(Default)]
pub struct RespScan {
    line: Vec<u8>,
    /// Bulk bytes (plus the trailing CRLF) still to come; 0 while reading a line.
    left: usize,
    /// Where the bulk in progress goes: the push's kind or its payload.
    target: Target,
    kind: Capture,
    payload: Capture,
    /// Open aggregates, outermost first.
    stack: Vec<Aggregate>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Target {
    #[default]
    None,
    Kind,
    Payload,
}

struct Aggregate {
    left: usize,
    index: usize,
    push: bool,
}

/// A complete element, as its parent needs to know it.
enum Element {
    Int(i64),
    Error,
    Push,
    Other,
}

impl RespScan {
    /// Parse `data`, calling `sink` for each message and top-level reply.
    pub fn feed(&mut self, mut data: &[u8], sink: &mut impl FnMut(Event<'_>)) {
        while !data.is_empty() {
            if self.left > 0 {
                let n = self.left.min(data.len());
                match self.target {
                    Target::Kind => self.kind.offer(&data[..n]),
                    Target::Payload => self.payload.offer(&data[..n]),
                    Target::None => {}
                }
                self.left -= n;
                data = &data[n..];
                if self.left == 0 {
                    self.complete(Element::Other, sink);
                }
                continue;
            }
            match memchr::memchr(b'\n', data) {
                Some(end) => {
                    self.line.extend_from_slice(&data[..=end]);
                    data = &data[end + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.on_line(line.trim_ascii_end(), sink);
                    self.line = line;
                    self.line.clear();
                }
                None => {
                    self.line.extend_from_slice(data);
                    return;
                }
            }
        }
    }

    fn on_line(&mut self, line: &[u8], sink: &mut impl FnMut(Event<'_>)) {
        let Some((&kind, rest)) = line.split_first() else {
            return;
        };
        let n = ascii_int(rest).unwrap_or(-1);
        match kind {
            b'$' | b'=' | b'!' if n >= 0 => self.start_bulk(n as usize),
            b'*' | b'>' | b'%' | b'~' if n >= 0 => {
                let len = if kind == b'%' { 2 * n } else { n } as usize;
                self.stack.push(Aggregate {
                    left: len,
                    index: 0,
                    push: kind == b'>',
                });
                if len == 0 {
                    self.stack.pop();
                    self.complete(Element::Other, sink);
                }
            }
            b':' => self.complete(Element::Int(n), sink),
            b'-' => self.complete(Element::Error, sink),
            _ => self.complete(Element::Other, sink),
        }
    }

    fn start_bulk(&mut self, len: usize) {
        self.target = match self.stack.as_slice() {
            [top] if top.push && top.index == 0 => Target::Kind,
            [top] if top.push && top.index == 2 => Target::Payload,
            _ => Target::None,
        };
        match self.target {
            Target::Kind => self.kind.clear(),
            Target::Payload => self.payload.clear(),
            Target::None => {}
        }
        self.left = len + 2;
    }

    fn complete(&mut self, mut element: Element, sink: &mut impl FnMut(Event<'_>)) {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return self.top_level(element, sink);
            };
            top.left -= 1;
            top.index += 1;
            if top.left > 0 {
                return;
            }
            let done = self.stack.pop().expect("a top exists");
            element = if done.push {
                Element::Push
            } else {
                Element::Other
            };
        }
    }

    fn top_level(&mut self, element: Element, sink: &mut impl FnMut(Event<'_>)) {
        match element {
            Element::Int(n) => sink(Event::Ack {
                delivered: n.max(0) as u64,
                dropped: 0,
            }),
            Element::Error => sink(Event::Error(0)),
            Element::Push => match self.kind.get() {
                b"message\r\n" => sink(Event::Msg(self.payload.get())),
                b"subscribe\r\n" => sink(Event::Subscribed),
                _ => {}
            },
            Element::Other => sink(Event::Pong),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_pushes_and_replies_across_any_split() {
        let stream: &[u8] = b"%2\r\n+server\r\n+redis\r\n$5\r\nproto\r\n*1\r\n:3\r\n\
            >3\r\n$9\r\nsubscribe\r\n$2\r\nr1\r\n:1\r\n\
            :4\r\n>3\r\n$7\r\nmessage\r\n$2\r\nr1\r\n$5\r\nhello\r\n";
        for step in [1, 2, 5, 1000] {
            let mut scan = RespScan::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(step) {
                scan.feed(chunk, &mut |e| got.push(format!("{e:?}")));
            }
            assert_eq!(
                got,
                vec![
                    format!("{:?}", Event::Pong),
                    format!("{:?}", Event::Subscribed),
                    format!(
                        "{:?}",
                        Event::Ack {
                            delivered: 4,
                            dropped: 0
                        }
                    ),
                    format!("{:?}", Event::Msg(b"hello\r\n")),
                ]
            );
        }
    }
}
