//! Every decode error text, on payloads that produce it.

use super::*;

fn client(payload: &[u8]) -> String {
    match ClientMsg::decode_borrowed(payload) {
        Ok(msg) => panic!("{payload:02x?} decodes to {msg:?}"),
        Err(e) => e.to_string(),
    }
}

fn hub(payload: &[u8]) -> String {
    match HubMsg::decode_borrowed(payload) {
        Ok(msg) => panic!("{payload:02x?} decodes to {msg:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_empty_payload_says_so() {
    let text = "empty payload: a frame of length 0 holds no message";
    assert_eq!(client(&[]), text);
    assert_eq!(hub(&[]), text);
}

#[test]
fn unknown_tags_name_their_enum_and_the_known_range() {
    assert_eq!(
        client(&[37]),
        "unknown ClientMsg tag 37 at payload offset 0 (tags 0..=15)"
    );
    assert_eq!(
        client(&[0x88, 0x01]),
        "unknown ClientMsg tag 136 at payload offset 0 (tags 0..=15)"
    );
    assert_eq!(
        hub(&[28]),
        "unknown HubMsg tag 28 at payload offset 0 (tags 0..=27)"
    );
    // A relay to user 1 whose body kind is 4.
    assert_eq!(
        client(&[2, 1, 1, 1, 4, 0]),
        "unknown BodyKind tag 4 at payload offset 4 (tags 0..=3)"
    );
    assert_eq!(
        hub(&[6, 7, 4, 0]),
        "unknown BodyKind tag 4 at payload offset 2 (tags 0..=3)"
    );
    assert_eq!(
        hub(&[10, 0, 22, 0]),
        "unknown ErrorKind tag 22 at payload offset 2 (tags 0..=21)"
    );
    // A stored message whose body kind is 4, and a lookup by who-kind 2.
    assert_eq!(
        hub(&[18, 1, 1, 1, 4, 0]),
        "unknown BodyKind tag 4 at payload offset 4 (tags 0..=3)"
    );
    assert_eq!(
        client(&[11, 1, 2, 0]),
        "unknown Who tag 2 at payload offset 2 (tags 0..=1)"
    );
}

#[test]
fn the_last_tags_in_the_texts_are_the_last_variants() {
    // Zeros decode as any field but a fixed-length byte string, so a known tag followed by
    // zeros is a whole message; one whose first fields are a request id, a 32-byte and a
    // 64-byte string (a `PublishKey`) takes the second probe.
    fn first_is_known<T: for<'a> Deserialize<'a>>(tag: u32) -> bool {
        let tag = u8::try_from(tag).expect("one-byte tags");
        let mut zeros = vec![0u8; 128];
        zeros[0] = tag;
        let mut keyed = vec![tag, 0, 32];
        keyed.extend([0; 32]);
        keyed.push(64);
        keyed.extend([0; 64]);
        [zeros, keyed]
            .iter()
            .any(|probe| postcard::take_from_bytes::<T>(probe).is_ok())
    }
    fn check<T: for<'a> Deserialize<'a>>(what: &str, last: u32) {
        assert!(first_is_known::<T>(last), "{what} has no tag {last}");
        assert!(
            !first_is_known::<T>(last + 1),
            "{what} has a tag {}",
            last + 1
        );
    }
    check::<ClientMsg>("ClientMsg", <ClientMsg as Wire>::LAST_TAG);
    check::<HubMsg>("HubMsg", <HubMsg as Wire>::LAST_TAG);
    check::<BodyKind>("BodyKind", BodyKind::LAST_TAG);
    check::<ErrorKind>("ErrorKind", ErrorKind::LAST_TAG);
}

#[test]
fn a_missing_field_gives_the_end_of_the_payload() {
    assert_eq!(
        client(&[5]),
        "payload ends inside the message at offset 1 (a field is missing)"
    );
    assert_eq!(
        client(&[7, 1]),
        "payload ends inside the message at offset 2 (a field is missing)"
    );
    assert_eq!(
        hub(&[11, 1]),
        "payload ends inside the message at offset 2 (a field is missing)"
    );
    // A ping whose req varint is cut after its continuation byte.
    assert_eq!(
        client(&[5, 0x80]),
        "payload ends inside the message at offset 2 (a field is missing)"
    );
}

#[test]
fn a_varint_without_an_end_gives_its_start_and_limit() {
    assert_eq!(
        client(&[5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
        "varint longer than 5 bytes at payload offset 1"
    );
    // A relay whose receiver count (a u64 length) never ends.
    let mut relay = vec![2, 1];
    relay.extend([0xff; 11]);
    assert_eq!(
        client(&relay),
        "varint longer than 10 bytes at payload offset 2"
    );
    assert_eq!(
        hub(&[1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        "varint longer than 10 bytes at payload offset 2"
    );
}

#[test]
fn a_varint_too_large_for_its_type_names_the_type() {
    assert_eq!(
        client(&[5, 0x80, 0x80, 0x80, 0x80, 0x10]),
        "varint at payload offset 1 is too large for a u32"
    );
    // A welcome whose max_receivers (a u16) is 3 bytes ending in 0x04.
    assert_eq!(
        hub(&[0, 1, 7, 0x80, 0x80, 0x40, 0xff, 0xff, 0x04, 0xff, 0x01, 0x80, 0xa0, 0x40]),
        "varint at payload offset 6 is too large for a u16"
    );
    assert_eq!(
        hub(&[7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
        "varint at payload offset 1 is too large for a u64"
    );
}

#[test]
fn a_short_string_or_body_gives_what_it_announced() {
    assert_eq!(
        client(&[3, 1, 5, 0x61]),
        "a string or body at payload offset 3 announces 5 bytes, but only 1 remain"
    );
    assert_eq!(
        hub(&[4, 6, 4, 0x70]),
        "a string or body at payload offset 3 announces 4 bytes, but only 1 remain"
    );
}

#[test]
fn bad_utf8_gives_the_string_start() {
    assert_eq!(
        client(&[2, 1, 1, 1, 2, 1, 0xff, 0]),
        "invalid UTF-8 in a string at payload offset 6"
    );
    assert_eq!(
        hub(&[10, 0, 2, 1, 0xc3]),
        "invalid UTF-8 in a string at payload offset 4"
    );
}

#[test]
fn a_bad_option_marker_gives_the_byte() {
    assert_eq!(
        hub(&[10, 2, 0, 0]),
        "option marker 0x02 at payload offset 1 is neither 00 (none) nor 01 (some)"
    );
}

#[test]
fn trailing_bytes_give_count_and_where_the_message_ended() {
    assert_eq!(
        client(&[5, 8, 0]),
        "1 trailing bytes after the message at payload offset 2"
    );
    assert_eq!(
        hub(&[9, 0, 0]),
        "2 trailing bytes after the message at payload offset 1"
    );
}

#[test]
fn no_text_mentions_the_decoding_library() {
    let payloads: [&[u8]; 6] = [
        &[37],
        &[5],
        &[5, 0x80, 0x80, 0x80, 0x80, 0x80],
        &[3, 1, 5],
        &[2, 1, 1, 1, 3],
        &[5, 8, 0],
    ];
    for payload in payloads {
        let text = client(payload).to_lowercase();
        for word in ["serde", "postcard", "usize", "deserializ"] {
            assert!(!text.contains(word), "{payload:02x?}: {text}");
        }
    }
}
