//! The hub's outgoing frames: every message it sends is encoded here, errors included.

use bytes::Bytes;
use shared::{ErrorKind, HubMsg, RequestId, MAX_ERROR_TEXT_LEN};

/// Encode a hub message whose size is bounded by the protocol's own limits.
pub(crate) fn encode(msg: &HubMsg<impl serde::Serialize>) -> Bytes {
    msg.to_frame()
        .expect("hub messages are built within the frame limit")
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

#[cfg(test)]
mod tests {
    use super::*;

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
