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
/// their positions in `HubMsg` (append-only, so these stay valid). Version 3's presence
/// (`Present`, `Arrived`) and `Outgoing` never come to these clients, which do not watch and
/// have one session each; like any tag not named here, they would pass as `Pong`.
fn decode_prefix(p: &[u8]) -> Option<Event<'_>> {
    let mut r = Varints { p, at: 0 };
    match r.next()? {
        0 => {
            let _version = r.next()?;
            Some(Event::Welcome(r.next()?))
        }
        // `Relayed` (versions 1 and 2) and `Routed` (3): whom a relay reached, then the lists of
        // those it did not (`unknown`, `dropped`; and at 3 `queued` first, `full` last).
        3 => relay_answer(&mut r, 2),
        17 => relay_answer(&mut r, 4),
        6 => {
            let _from = r.next()?;
            message_body(&mut r)
        }
        // A message from the mailbox: `seq`, `from`, `sent_at_ms`, then as `Message`.
        18 => {
            let (_seq, _from, _sent_at) = (r.next()?, r.next()?, r.next()?);
            message_body(&mut r)
        }
        9 => Some(Event::Ping),
        10 => {
            if r.next()? == 1 {
                let _req = r.next()?;
            }
            Some(Event::Error(r.next()?))
        }
        11 => {
            let _req = r.next()?;
            Some(Event::Hello(r.next()?))
        }
        12 => {
            let _req = r.next()?;
            let len = r.next()? as usize;
            Some(Event::Challenge(p.get(r.at..r.at + len)?))
        }
        13 => {
            let _req = r.next()?;
            Some(Event::LoggedIn(r.next()?))
        }
        _ => Some(Event::Pong),
    }
}

/// The answer to a relay: `req`, `delivered`, then `lists` lists of receivers not reached.
/// Only their lengths are needed; a list cut off by the [`super::CAP`] bytes kept still
/// counts, and lists past the cut count as empty (only a relay that missed many receivers is
/// cut, and the receivers count their losses themselves).
fn relay_answer<'a>(r: &mut Varints<'_>, lists: usize) -> Option<Event<'a>> {
    let _req = r.next()?;
    let delivered = r.next()?;
    let mut missed = 0;
    'lists: for _ in 0..lists {
        let Some(len) = r.next() else { break };
        missed += len;
        for _ in 0..len {
            if r.next().is_none() {
                break 'lists;
            }
        }
    }
    Some(Event::Ack {
        delivered,
        dropped: missed,
    })
}

/// The rest of a `Message` or `Stored` from its `kind` on: the start of the body.
fn message_body<'a>(r: &mut Varints<'a>) -> Option<Event<'a>> {
    let kind = r.next()?;
    if kind == 2 {
        // A file: skip its name.
        let len = r.next()? as usize;
        r.at += len;
    }
    let _body_len = r.next()?;
    Some(Event::Msg(r.p.get(r.at..)?))
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
                    Event::Msg(body) if body.len() > 40 && body.iter().all(|&b| b == 7) => {
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

    #[test]
    fn reads_the_answers_and_pushes_of_version_3() {
        let account = UserId(shared::account::FIRST_ACCOUNT_ID + 7);
        let frames: Vec<HubMsg> = vec![
            HubMsg::Hello {
                req: RequestId(0),
                version: 3,
            },
            HubMsg::Challenge {
                req: RequestId(1),
                nonce: [9; 32],
            },
            HubMsg::LoggedIn {
                req: RequestId(2),
                user_id: account,
                name: "w1-1-0".into(),
                waiting: 0,
            },
            HubMsg::Routed {
                req: RequestId(1),
                delivered: 40,
                queued: vec![account; 3],
                unknown: vec![UserId(5)],
                dropped: vec![],
                full: vec![account; 2],
            },
            HubMsg::Stored {
                seq: 4,
                from: account,
                sent_at_ms: 1_796_256_000_000,
                kind: BodyKind::Bytes,
                body: Bytes::from(vec![7u8; 300]),
            },
            HubMsg::Message {
                from: account,
                kind: BodyKind::Bytes,
                body: Bytes::from(vec![7u8; 300]),
            },
        ];
        let mut stream = Vec::new();
        for frame in &frames {
            stream.extend_from_slice(&frame.to_frame().expect("encodes"));
        }
        let ack = Event::Ack {
            delivered: 40,
            dropped: 6,
        };
        for step in [1, 7, 1000] {
            assert_eq!(
                events(&stream, step),
                vec![
                    "Hello(3)".to_string(),
                    format!("{:?}", Event::Challenge(&[9; 32])),
                    format!("LoggedIn({})", account.0),
                    format!("{ack:?}"),
                    "body of sevens".into(),
                    "body of sevens".into(),
                ]
            );
        }
    }

    #[test]
    fn a_relay_answer_cut_at_the_kept_bytes_still_counts() {
        // 49 account ids are 245 bytes: only the first few fit in the 64 kept.
        let routed: HubMsg = HubMsg::Routed {
            req: RequestId(1),
            delivered: 0,
            queued: vec![UserId(shared::account::FIRST_ACCOUNT_ID); 49],
            unknown: vec![],
            dropped: vec![],
            full: vec![],
        };
        let stream = routed.to_frame().expect("encodes");
        let got = events(&stream, 1000);
        let ack = Event::Ack {
            delivered: 0,
            dropped: 49,
        };
        assert_eq!(got, vec![format!("{ack:?}")]);
    }
}
