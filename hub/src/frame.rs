//! The hub's outgoing frames: every message it sends is encoded here, errors included.

use bytes::Bytes;
use shared::{BodyKind, ErrorKind, HubMsg, RequestId, UserId, MAX_ERROR_TEXT_LEN};

/// Encode a hub message. Every message the hub builds is bounded by the protocol's limits
/// (lists are cut into frames of `LIST_CHUNK`, `SNAPSHOT_CHUNK` or `PRESENCE_CHUNK`), so this
/// cannot fail but by a bug. Should one slip through, it is logged as an error and the
/// receiver gets a `FrameTooLarge` goodbye naming it in place of the message, rather than a
/// panic that would kill the connection's task, or poison the registry's lock and with it
/// the hub, without a word.
pub(crate) fn encode(msg: &HubMsg<impl serde::Serialize>) -> Bytes {
    msg.to_frame().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a hub message too big to encode (a bug): sent a goodbye instead");
        error(
            None,
            ErrorKind::FrameTooLarge,
            &format!("the hub's message was too big to send ({e}); please report it"),
        )
    })
}

/// An error frame: the answer to request `req`, or a goodbye when `req` is `None`. The text is
/// cut to [`MAX_ERROR_TEXT_LEN`] bytes on a character boundary.
pub(crate) fn error(req: Option<RequestId>, kind: ErrorKind, text: &str) -> Bytes {
    let mut end = text.len().min(MAX_ERROR_TEXT_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    encode(&HubMsg::<Bytes>::Error {
        req,
        kind,
        text: text[..end].to_string(),
    })
}

/// The sender, kind and body of a relayed message's frame (a `Message`), the body a slice of
/// the frame; `None` for any other frame.
pub(crate) fn relayed(frame: &Bytes) -> Option<(UserId, BodyKind, Bytes)> {
    match HubMsg::<&[u8]>::decode_borrowed(frame.get(4..)?) {
        Ok(HubMsg::Message { from, kind, body }) => Some((from, kind, frame.slice_ref(body))),
        _ => None,
    }
}

/// Whether `frame` is a relayed message.
pub(crate) fn is_relayed(frame: &Bytes) -> bool {
    relayed(frame).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relayed_frame_gives_back_its_message_without_a_copy() {
        let body = Bytes::from_static(b"hello");
        let frame = encode(&HubMsg::Message {
            from: UserId(7),
            kind: BodyKind::Text,
            body: body.clone(),
        });
        let (from, kind, got) = relayed(&frame).expect("a message");
        assert_eq!(
            (from, kind, &got[..]),
            (UserId(7), BodyKind::Text, &b"hello"[..])
        );
        assert!(
            frame.as_ptr_range().contains(&got.as_ptr()),
            "a slice of the frame"
        );
        assert!(!is_relayed(&error(None, ErrorKind::Idle, "bye")));
        assert!(!is_relayed(&Bytes::from_static(b"\0\0")));
    }

    /// A message over the frame limit (a bug: the hub bounds every list it sends) becomes a
    /// goodbye that says so, not a panic.
    #[test]
    fn a_message_too_big_to_encode_becomes_a_goodbye_not_a_panic() {
        let frame = encode(&HubMsg::<Bytes>::Peers {
            req: RequestId(3),
            peers: vec![UserId(u64::MAX); shared::MAX_FRAME_LEN / 10 + 1],
        });
        let msg = HubMsg::decode(&frame[4..]).expect("decodes");
        assert!(
            matches!(&msg, HubMsg::Error { req: None, kind: ErrorKind::FrameTooLarge, text } if text.contains("too big")),
            "{msg:?}"
        );
    }

    #[test]
    fn error_texts_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_TEXT_LEN);
        let frame = error(Some(RequestId(1)), ErrorKind::Malformed, &long);
        let HubMsg::Error { text, .. } = HubMsg::decode(&frame[4..]).expect("decodes") else {
            panic!("an error frame");
        };
        assert_eq!(text.len(), MAX_ERROR_TEXT_LEN);
        assert!(long.starts_with(&text));
        let frame = error(None, ErrorKind::Idle, "short");
        assert!(
            matches!(HubMsg::decode(&frame[4..]), Ok(HubMsg::Error { text, .. }) if text == "short")
        );
    }
}
