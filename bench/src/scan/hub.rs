//! hubbub frames: a big-endian `u32` length, then a postcard payload. Only the few leading
//! bytes of each payload are kept and decoded by hand; the body streams past.

use super::{Capture, Event};

/// Streaming parser for hub → client frames.
#[derive(Default)]
pub struct HubScan {
    header: [u8; 4],
    have: usize,
    left: usize,
    cap: Capture,
}

impl HubScan {
    /// Parse `data`, calling `sink` for each complete frame.
    pub fn feed(&mut self, mut data: &[u8], sink: &mut impl FnMut(Event<'_>)) {
        while !data.is_empty() {
            if self.have < 4 {
                let n = (4 - self.have).min(data.len());
                self.header[self.have..self.have + n].copy_from_slice(&data[..n]);
                self.have += n;
                data = &data[n..];
                if self.have == 4 {
                    self.left = u32::from_be_bytes(self.header) as usize;
                    self.cap.clear();
                    if self.left == 0 {
                        self.finish(sink);
                    }
                }
                continue;
            }
            let n = self.left.min(data.len());
            self.cap.offer(&data[..n]);
            self.left -= n;
            data = &data[n..];
            if self.left == 0 {
                self.finish(sink);
            }
        }
    }

    fn finish(&mut self, sink: &mut impl FnMut(Event<'_>)) {
        self.have = 0;
        if let Some(event) = decode_prefix(self.cap.get()) {
            sink(event);
        }
    }
}

/// Decode the variants a benchmark cares about from the start of a payload. Variant tags are
/// their positions in `HubMsg` (append-only, so these stay valid).
fn decode_prefix(p: &[u8]) -> Option<Event<'_>> {
    let mut r = Varints { p, at: 0 };
    match r.next()? {
        0 => {
            let _version = r.next()?;
            Some(Event::Welcome(r.next()?))
        }
        3 => {
            let _req = r.next()?;
            let delivered = r.next()?;
            let unknown = r.next()?;
            for _ in 0..unknown {
                r.next()?;
            }
            let dropped = r.next()?;
            Some(Event::Ack {
                delivered,
                dropped: unknown + dropped,
            })
        }
        6 => {
            let _from = r.next()?;
            let kind = r.next()?;
            if kind == 2 {
                // A file: skip its name.
                let len = r.next()? as usize;
                r.at += len;
            }
            let _body_len = r.next()?;
            Some(Event::Msg(p.get(r.at..)?))
        }
        9 => Some(Event::Ping),
        10 => {
            if r.next()? == 1 {
                let _req = r.next()?;
            }
            Some(Event::Error(r.next()?))
        }
        _ => Some(Event::Pong),
    }
}

/// postcard varints (LEB128) read one after another.
struct Varints<'a> {
    p: &'a [u8],
    at: usize,
}

impl Varints<'_> {
    fn next(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.p.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use shared::{BodyKind, HubMsg, RequestId, UserId};

    fn events(stream: &[u8], step: usize) -> Vec<String> {
        let mut scan = HubScan::default();
        let mut out = Vec::new();
        for chunk in stream.chunks(step) {
            scan.feed(chunk, &mut |e| {
                out.push(match e {
                    // The body starts after the header bytes of the 64 kept.
                    Event::Msg(body) if body.len() > 50 && body.iter().all(|&b| b == 7) => {
                        "body of sevens".to_string()
                    }
                    other => format!("{other:?}"),
                })
            });
        }
        out
    }

    #[test]
    fn finds_messages_and_acks_across_any_split() {
        let body = Bytes::from(vec![7u8; 300]);
        let mut stream = Vec::new();
        let msg = HubMsg::Message {
            from: UserId(300),
            kind: BodyKind::Bytes,
            body: body.clone(),
        };
        stream.extend_from_slice(&msg.to_frame().expect("encodes"));
        let ack: HubMsg = HubMsg::Relayed {
            req: RequestId(9),
            delivered: 2,
            unknown: vec![UserId(5)],
            dropped: vec![UserId(6)],
        };
        stream.extend_from_slice(&ack.to_frame().expect("encodes"));
        for step in [1, 3, 64, 1000] {
            let got = events(&stream, step);
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(got[0], "body of sevens");
            assert_eq!(
                got[1],
                format!(
                    "{:?}",
                    Event::Ack {
                        delivered: 2,
                        dropped: 2
                    }
                )
            );
        }
    }
}
