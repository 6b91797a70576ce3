//! The one decoder, and the translation of postcard's errors into [`DecodeError`]s that say
//! what was wrong and where.
//!
//! postcard reports a failure without a position, and an unknown tag only as "a serde error".
//! The payload is therefore read through [`Tracked`], a slice flavor that knows how far it got,
//! where the last string or body lay and how many bytes a short one wanted; when postcard
//! fails, that trace and the payload itself are enough to name the fault and its offset.

use postcard::de_flavors::Flavor;
use postcard::{Deserializer, Error as Postcard};
use serde::Deserialize;

use super::{BodyKind, ClientMsg, ErrorKind, HubMsg};
use crate::error::DecodeError;

/// What the error texts need to know about a top-level message enum.
pub(super) trait Wire {
    /// The enum's name, as the protocol document calls it.
    const NAME: &'static str;
    /// Its highest tag.
    const LAST_TAG: u32;
    /// The enum nested in the variant with tag `top` (name and highest tag), if it has one.
    fn nested(top: u32) -> Option<(&'static str, u32)>;
}

impl<B> Wire for ClientMsg<B> {
    const NAME: &'static str = "ClientMsg";
    const LAST_TAG: u32 = 15;
    fn nested(top: u32) -> Option<(&'static str, u32)> {
        match top {
            2 => Some(("BodyKind", BodyKind::LAST_TAG)),
            11 => Some(("Who", 1)),
            _ => None,
        }
    }
}

impl<B> Wire for HubMsg<B> {
    const NAME: &'static str = "HubMsg";
    const LAST_TAG: u32 = 27;
    fn nested(top: u32) -> Option<(&'static str, u32)> {
        match top {
            6 | 18 | 21 => Some(("BodyKind", BodyKind::LAST_TAG)),
            10 => Some(("ErrorKind", ErrorKind::LAST_TAG)),
            _ => None,
        }
    }
}

/// Decode `payload` as exactly one `T`.
pub(super) fn decode_exact<'a, T: Deserialize<'a> + Wire>(
    payload: &'a [u8],
) -> Result<T, DecodeError> {
    let mut de = Deserializer::from_flavor(Tracked::new(payload));
    let decoded = T::deserialize(&mut de);
    let trace = de.finalize().expect("Tracked::finalize never fails");
    match decoded {
        Ok(msg) if trace.pos == payload.len() => Ok(msg),
        Ok(_) => Err(DecodeError::TrailingBytes {
            count: payload.len() - trace.pos,
            offset: trace.pos,
        }),
        Err(e) => Err(explain::<T>(e, payload, trace)),
    }
}

/// Turn postcard's bare error into ours, using where the decoder stopped. Kept out of line so
/// that the decoder of valid frames stays small.
#[cold]
#[inline(never)]
fn explain<T: Wire>(e: Postcard, payload: &[u8], trace: Trace) -> DecodeError {
    let Trace { pos, taken, short } = trace;
    let mark = varint_start(payload, pos, taken.1);
    match e {
        Postcard::DeserializeUnexpectedEnd if payload.is_empty() => DecodeError::Empty,
        Postcard::DeserializeUnexpectedEnd => match short {
            Some(announced) => DecodeError::ShortField {
                offset: pos,
                announced,
                left: payload.len() - pos,
            },
            None => DecodeError::Truncated { offset: pos },
        },
        Postcard::DeserializeBadVarint => {
            let len = pos - mark;
            let last = payload.get(pos.saturating_sub(1)).copied().unwrap_or(0);
            if last & 0x80 != 0 {
                DecodeError::VarintTooLong {
                    max_len: len,
                    offset: mark,
                }
            } else {
                let ty = match len {
                    3 => "u16",
                    5 => "u32",
                    _ => "u64",
                };
                DecodeError::VarintOverflow { ty, offset: mark }
            }
        }
        Postcard::DeserializeBadUtf8 => DecodeError::BadUtf8 { offset: taken.0 },
        Postcard::DeserializeBadOption => DecodeError::BadOption {
            byte: payload.get(pos.saturating_sub(1)).copied().unwrap_or(0),
            offset: pos.saturating_sub(1),
        },
        // serde's derive rejects a tag past the last variant with a custom error, raised right
        // after postcard read the tag: the varint that ends at `pos`.
        Postcard::SerdeDeCustom => match unknown_tag::<T>(payload, mark, pos) {
            Some(err) => err,
            None => DecodeError::Invalid { offset: mark },
        },
        _ => DecodeError::Invalid { offset: mark },
    }
}

/// Where the varint whose last byte read is at `end - 1` began: after the nearest byte
/// before it without a continuation bit, and never before `floor` (the end of the last string
/// or body, whose raw bytes may have any bit set).
fn varint_start(payload: &[u8], end: usize, floor: usize) -> usize {
    let before_last = end.saturating_sub(1);
    payload
        .get(floor..before_last)
        .and_then(|run| run.iter().rposition(|b| b & 0x80 == 0))
        .map_or(floor.min(before_last), |i| floor + i + 1)
}

/// The unknown-tag error for the tag at `start..end`, naming the enum it belongs to.
fn unknown_tag<T: Wire>(payload: &[u8], start: usize, end: usize) -> Option<DecodeError> {
    let tag = varint(payload.get(start..end)?)?;
    let (what, last) = if start == 0 {
        (T::NAME, T::LAST_TAG)
    } else {
        T::nested(varint(payload)?)?
    };
    Some(DecodeError::UnknownTag {
        what,
        tag,
        last,
        offset: start,
    })
}

/// The `u32` varint at the start of `bytes`, if it is one.
fn varint(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A slice flavor that keeps the position of what it reads. Single bytes (varints, option
/// markers) only move the position, since they are most of the work; where a failed varint
/// began is found afterwards from the bytes themselves ([`varint_start`]).
struct Tracked<'de> {
    /// What is left to read. An iterator rather than a slice: popping a byte then moves one
    /// pointer, not a pointer and a length.
    rest: std::slice::Iter<'de, u8>,
    /// The payload's length, so that positions can be told from what is left.
    len: usize,
    /// Where the last string or body began and ended.
    taken: (usize, usize),
    /// The length a string or body announced when fewer bytes were left.
    short: Option<usize>,
}

/// Where decoding stopped.
#[derive(Clone, Copy, Debug)]
struct Trace {
    /// Bytes consumed.
    pos: usize,
    /// Where the last string or body began and ended.
    taken: (usize, usize),
    /// The length a string or body announced when fewer bytes were left.
    short: Option<usize>,
}

impl<'de> Tracked<'de> {
    fn new(input: &'de [u8]) -> Self {
        Tracked {
            rest: input.iter(),
            len: input.len(),
            taken: (0, 0),
            short: None,
        }
    }
}

impl<'de> Flavor<'de> for Tracked<'de> {
    type Remainder = Trace;
    type Source = &'de [u8];

    #[inline]
    fn pop(&mut self) -> postcard::Result<u8> {
        self.rest
            .next()
            .copied()
            .ok_or(Postcard::DeserializeUnexpectedEnd)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        Some(self.rest.len())
    }

    #[inline]
    fn try_take_n(&mut self, ct: usize) -> postcard::Result<&'de [u8]> {
        let rest: &'de [u8] = self.rest.as_slice();
        if ct > rest.len() {
            self.short = Some(ct);
            return Err(Postcard::DeserializeUnexpectedEnd);
        }
        let (bytes, after) = rest.split_at(ct);
        let start = self.len - rest.len();
        self.taken = (start, start + ct);
        self.rest = after.iter();
        Ok(bytes)
    }

    fn finalize(self) -> postcard::Result<Trace> {
        Ok(Trace {
            pos: self.len - self.rest.len(),
            taken: self.taken,
            short: self.short,
        })
    }
}

#[cfg(test)]
mod tests;
