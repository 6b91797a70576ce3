//! Golden test: every byte shown in `docs/PROTOCOL.md` is what the code sends and accepts.
//!
//! Each hex example in the document names its value (`# example: ClientMsg::Ping { req: … }`,
//! the value's `Debug`). The same values are built here; each must encode to the document's
//! bytes and decode back from them. Every variant of every enum must have an example or a table
//! row, checked twice: the `*_name` matches in `values.rs` stop compiling when a variant is
//! added, and `assert_tags_complete` checks at run time that the decoder knows no tag past them.

#[path = "protocol_doc/parse.rs"]
mod parse;
#[path = "protocol_doc/values.rs"]
mod values;

use std::collections::{BTreeMap, BTreeSet};

use bytes::BytesMut;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::account::{
    signed_bytes, verify, Purpose, CHALLENGE_LEN, FIRST_ACCOUNT_ID, MAX_ACCOUNT_NAME_LEN,
    MAX_DIRECTORY_RESULTS, MAX_PATTERN_LEN,
};
use shared::limits::HEADER_ROOM;
use shared::{
    BodyKind, ClientMsg, DecodeError, ErrorKind, FrameCodec, HubMsg, Limits, SecretKey,
    BASE_VERSION, LIST_CHUNK, LIST_VERSION, MAX_BODY_LEN, MAX_ERROR_TEXT_LEN, MAX_FRAME_LEN,
    MAX_NAME_LEN, MAX_RECEIVERS, PRESENCE_VERSION, PROTOCOL_VERSION, RECEIPTS_VERSION,
};
use tokio_util::codec::Decoder;

use parse::{Doc, Example};
use values::*;

fn doc() -> Doc {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md");
    let text = std::fs::read_to_string(path).expect("docs/PROTOCOL.md is readable");
    parse::parse(&text)
}

fn hex_block(key: &str, bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("```hex\n# example: {key}\n{}\n```", hex.join(" "))
}

/// The tag of an encoded enum value: its first byte (all tags are below 128, so one byte).
fn tag_of(payload: &[u8]) -> u32 {
    assert!(
        payload[0] < 0x80,
        "tags this large need a multi-byte varint"
    );
    u32::from(payload[0])
}

/// `tags` must be exactly 0..n, and tag n must be unknown to the decoder: then every variant
/// the code has is covered, whatever the count.
fn assert_tags_complete<T: DeserializeOwned>(what: &str, tags: &BTreeSet<u32>) {
    let n = tags.len() as u32;
    assert_eq!(
        tags,
        &(0..n).collect::<BTreeSet<u32>>(),
        "{what}: tags covered are not 0..{n}"
    );
    // Zeros decode as any field (0, empty, None, first variant) but a fixed-length byte
    // string, so a known tag succeeds on the first probe or, when its fields start with a
    // request id, 32 and 64 bytes (a `PublishKey`), on the second.
    let known = |tag: u32| {
        let mut zeros = vec![0u8; 128];
        zeros[0] = tag as u8;
        let mut keyed = vec![tag as u8, 0, 32];
        keyed.extend([0; 32]);
        keyed.push(64);
        keyed.extend([0; 64]);
        [zeros, keyed]
            .iter()
            .any(|probe| postcard::take_from_bytes::<T>(probe).is_ok())
    };
    assert!(
        !known(n),
        "{what} has a variant with tag {n} that docs/PROTOCOL.md does not show"
    );
    assert!(known(n - 1), "{what}");
}

/// Check one built value against the document's example with the same key.
fn check_example<M>(
    prefix: &str,
    msg: &M,
    decode: fn(&[u8]) -> Result<M, DecodeError>,
    doc: &BTreeMap<String, &Example>,
) -> Vec<u8>
where
    M: Serialize + std::fmt::Debug + PartialEq,
{
    let key = format!("{prefix}::{msg:?}");
    let frame = shared_frame(msg);
    let Some(example) = doc.get(&key) else {
        panic!(
            "docs/PROTOCOL.md lacks this example:\n{}",
            hex_block(&key, &frame)
        )
    };
    assert_eq!(
        example.bytes,
        frame,
        "line {}: bytes differ from the code's; they should be:\n{}",
        example.line,
        hex_block(&key, &frame)
    );
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&example.bytes[..]);
    let payload = codec.decode(&mut buf).expect("valid frame").expect("whole");
    assert!(
        buf.is_empty(),
        "line {}: bytes after the frame",
        example.line
    );
    let decoded = decode(&payload).expect("decodes");
    assert_eq!(
        &decoded, msg,
        "line {}: decodes to another value",
        example.line
    );
    payload.to_vec()
}

/// What `to_frame` must produce: the big-endian payload length, then postcard. Written out
/// here so the test does not only compare the code with itself.
fn shared_frame<M: Serialize>(msg: &M) -> Vec<u8> {
    let len = postcard::experimental::serialized_size(msg).expect("sizes");
    let mut frame = (len as u32).to_be_bytes().to_vec();
    frame.extend(postcard::to_allocvec(msg).expect("encodes"));
    frame
}

#[test]
fn every_hex_example_is_what_the_code_sends() {
    let doc = doc();
    let mut by_key = BTreeMap::new();
    for ex in &doc.examples {
        if let Some(prev) = by_key.insert(ex.key.clone(), ex) {
            panic!("lines {} and {}: same example twice", prev.line, ex.line);
        }
    }
    let mut used = BTreeSet::new();
    let mut client_tags = BTreeMap::new();
    for msg in client_examples() {
        assert_eq!(
            msg.to_frame().expect("encodes").to_vec(),
            shared_frame(&msg),
            "to_frame is length prefix + postcard"
        );
        let payload = check_example("ClientMsg", &msg, ClientMsg::decode, &by_key);
        client_tags.insert(tag_of(&payload), client_name(&msg));
        used.insert(format!("ClientMsg::{msg:?}"));
    }
    let mut hub_tags = BTreeMap::new();
    for msg in hub_examples() {
        assert_eq!(
            msg.to_frame().expect("encodes").to_vec(),
            shared_frame(&msg)
        );
        let payload = check_example("HubMsg", &msg, HubMsg::decode, &by_key);
        hub_tags.insert(tag_of(&payload), hub_name(&msg));
        used.insert(format!("HubMsg::{msg:?}"));
    }
    for ex in &doc.examples {
        assert!(
            used.contains(&ex.key),
            "line {}: example `{}` is not built by this test; add it to the lists above",
            ex.line,
            ex.key
        );
    }
    assert_tags_complete::<ClientMsg>("ClientMsg", &client_tags.keys().copied().collect());
    assert_tags_complete::<HubMsg>("HubMsg", &hub_tags.keys().copied().collect());
    check_tag_table(&doc, "ClientMsg", &client_tags);
    check_tag_table(&doc, "HubMsg", &hub_tags);
}

/// The summary table `| tag | name | … |` must list exactly these tags and names.
fn check_tag_table(doc: &Doc, name: &str, tags: &BTreeMap<u32, &str>) {
    let rows: BTreeMap<u32, String> = doc
        .table(name)
        .rows
        .iter()
        .map(|r| (parse::number(&r[0]) as u32, r[1].clone()))
        .collect();
    let expected: BTreeMap<u32, String> = tags.iter().map(|(t, n)| (*t, n.to_string())).collect();
    assert_eq!(rows, expected, "the `{name}` table");
}

#[test]
fn error_kinds_match_the_table() {
    let doc = doc();
    let rows: BTreeMap<u32, String> = doc
        .table("ErrorKind")
        .rows
        .iter()
        .map(|r| (parse::number(&r[0]) as u32, r[1].clone()))
        .collect();
    let mut code = BTreeMap::new();
    for kind in ERROR_KINDS {
        let bytes = postcard::to_allocvec(&kind).expect("encodes");
        assert_eq!(
            postcard::from_bytes::<ErrorKind>(&bytes).expect("decodes"),
            kind
        );
        code.insert(tag_of(&bytes), error_kind_name(kind).to_string());
    }
    assert_tags_complete::<ErrorKind>("ErrorKind", &code.keys().copied().collect());
    assert_eq!(rows, code, "the `ErrorKind` table");
}

#[test]
fn body_kinds_match_the_table() {
    let doc = doc();
    let rows: BTreeMap<u32, String> = doc
        .table("BodyKind")
        .rows
        .iter()
        .map(|r| (parse::number(&r[0]) as u32, r[1].clone()))
        .collect();
    let file = BodyKind::File { name: "x".into() };
    let mut code = BTreeMap::new();
    for kind in [BodyKind::Bytes, BodyKind::Text, file, BodyKind::Sealed] {
        let bytes = postcard::to_allocvec(&kind).expect("encodes");
        code.insert(tag_of(&bytes), body_kind_name(&kind).to_string());
    }
    assert_tags_complete::<BodyKind>("BodyKind", &code.keys().copied().collect());
    assert_eq!(rows, code, "the `BodyKind` table");
}

#[test]
fn constants_and_limits_match_the_tables() {
    let doc = doc();
    let constants = [
        ("PROTOCOL_VERSION", u64::from(PROTOCOL_VERSION)),
        ("BASE_VERSION", u64::from(BASE_VERSION)),
        ("RECEIPTS_VERSION", u64::from(RECEIPTS_VERSION)),
        ("PRESENCE_VERSION", u64::from(PRESENCE_VERSION)),
        ("LIST_VERSION", u64::from(LIST_VERSION)),
        ("MAX_BODY_LEN", MAX_BODY_LEN as u64),
        ("MAX_RECEIVERS", MAX_RECEIVERS as u64),
        ("MAX_NAME_LEN", MAX_NAME_LEN as u64),
        ("HEADER_ROOM", HEADER_ROOM as u64),
        ("MAX_FRAME_LEN", MAX_FRAME_LEN as u64),
        ("MAX_ERROR_TEXT_LEN", MAX_ERROR_TEXT_LEN as u64),
        ("LIST_CHUNK", LIST_CHUNK as u64),
        ("MAX_ACCOUNT_NAME_LEN", MAX_ACCOUNT_NAME_LEN as u64),
        ("FIRST_ACCOUNT_ID", FIRST_ACCOUNT_ID),
        ("CHALLENGE_LEN", CHALLENGE_LEN as u64),
        ("MAX_DIRECTORY_RESULTS", MAX_DIRECTORY_RESULTS as u64),
        ("MAX_PATTERN_LEN", MAX_PATTERN_LEN as u64),
    ];
    check_named_values(&doc, "constants", &constants);
    // Destructured so that a new field stops this from compiling until the table has it.
    let Limits {
        max_body,
        max_receivers,
        max_name,
        max_frame,
    } = Limits::default();
    let limits = [
        ("max_body", u64::from(max_body)),
        ("max_receivers", u64::from(max_receivers)),
        ("max_name", u64::from(max_name)),
        ("max_frame", u64::from(max_frame)),
    ];
    check_named_values(&doc, "Limits", &limits);
}

/// Rows `| name | … | value |` (value in the last column), in this order.
fn check_named_values(doc: &Doc, table: &str, expected: &[(&str, u64)]) {
    let rows: Vec<(String, u64)> = doc
        .table(table)
        .rows
        .iter()
        .map(|r| (r[0].clone(), parse::number(r.last().expect("cells"))))
        .collect();
    let expected: Vec<(String, u64)> = expected.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    assert_eq!(rows, expected, "the `{table}` table");
}

#[test]
fn varint_table_matches_postcard() {
    let doc = doc();
    let table = doc.table("varint");
    assert!(table.rows.len() >= 5, "a few varint examples");
    for row in &table.rows {
        let value = parse::number(&row[0]);
        let bytes = parse::hex(&row[1]);
        assert_eq!(
            postcard::to_allocvec(&value).expect("encodes"),
            bytes,
            "{value}"
        );
        assert_eq!(postcard::from_bytes::<u64>(&bytes).expect("decodes"), value);
    }
}

/// Decode `payload` as the enum named in the first cell; `Err` carries the decoder's message.
fn decode_as(which: &str, payload: &[u8]) -> Result<String, String> {
    match which {
        "ClientMsg" => ClientMsg::decode(payload)
            .map(|m| format!("{m:?}"))
            .map_err(|e| e.to_string()),
        "HubMsg" => HubMsg::decode(payload)
            .map(|m| format!("{m:?}"))
            .map_err(|e| e.to_string()),
        other => panic!("`{other}` is neither ClientMsg nor HubMsg"),
    }
}

#[test]
fn accepted_and_rejected_payloads_are_as_documented() {
    let doc = doc();
    let accepted = &doc.table("accepted").rows;
    assert!(!accepted.is_empty());
    for row in accepted {
        let decoded = decode_as(&row[0], &parse::hex(&row[1]));
        assert_eq!(
            decoded.as_deref(),
            Ok(row[2].as_str()),
            "payload `{}`",
            row[1]
        );
    }
    let rejected = &doc.table("rejected").rows;
    assert!(rejected.len() >= 5);
    for row in rejected {
        let decoded = decode_as(&row[0], &parse::hex(&row[1]));
        assert!(
            decoded.is_err(),
            "payload `{}` decodes: {decoded:?}",
            row[1]
        );
    }
}

#[test]
fn the_version_table_runs_from_the_base_to_this_code() {
    let doc = doc();
    let rows: Vec<Vec<u64>> = doc
        .table("versions")
        .rows
        .iter()
        .map(|r| r[..5].iter().map(|c| parse::number(c)).collect())
        .collect();
    assert_eq!(
        rows[0][0],
        u64::from(BASE_VERSION),
        "the first row is the base"
    );
    for pair in rows.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        assert_eq!(new[0], old[0] + 1, "versions follow each other");
        assert!(
            new[1..].iter().zip(&old[1..]).all(|(n, o)| n >= o),
            "version {}: enums only grow",
            new[0]
        );
        assert!(
            new[1..] != old[1..],
            "version {}: a version is raised by an append",
            new[0]
        );
    }
    let distinct = |names: Vec<&str>| names.into_iter().collect::<BTreeSet<_>>().len() as u64;
    let code = vec![
        u64::from(PROTOCOL_VERSION),
        distinct(client_examples().iter().map(client_name).collect()),
        distinct(hub_examples().iter().map(hub_name).collect()),
        4, // BodyKind: `body_kinds_match_the_table` proves there are no more.
        ERROR_KINDS.len() as u64,
    ];
    assert_eq!(rows.last(), Some(&code), "the last row is this code");
}

fn purpose_name(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Register => "Register",
        Purpose::Login => "Login",
        Purpose::Delete => "Delete",
    }
}

/// Rows `| label | hex |` must be exactly these; on a difference, print the table they should be.
fn check_hex_rows(doc: &Doc, table: &str, expected: &[(&str, Vec<u8>)]) {
    let rows: Vec<(String, Vec<u8>)> = doc
        .table(table)
        .rows
        .iter()
        .map(|r| (r[0].clone(), parse::hex(&r[1])))
        .collect();
    let expected: Vec<(String, Vec<u8>)> = expected
        .iter()
        .map(|(l, b)| (l.to_string(), b.clone()))
        .collect();
    let shown: Vec<String> = expected
        .iter()
        .map(|(l, b)| {
            let hex: Vec<String> = b.iter().map(|b| format!("{b:02x}")).collect();
            format!("| {l} | `{}` |", hex.join(" "))
        })
        .collect();
    assert_eq!(
        rows,
        expected,
        "the `{table}` table; its rows should be:\n{}",
        shown.join("\n")
    );
}

#[test]
fn signing_is_as_documented() {
    let doc = doc();
    let purposes = [Purpose::Register, Purpose::Login, Purpose::Delete];
    let rows: Vec<(String, String, Vec<u8>, u64)> = doc
        .table("domains")
        .rows
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].clone(),
                parse::hex(&r[2]),
                parse::number(&r[3]),
            )
        })
        .collect();
    let code: Vec<(String, String, Vec<u8>, u64)> = purposes
        .iter()
        .map(|&p| {
            let domain = p.domain();
            let (nul, ascii) = domain.split_last().expect("a domain");
            assert_eq!(*nul, 0, "a domain ends in NUL");
            let text = format!("{}\\0", std::str::from_utf8(ascii).expect("ASCII"));
            (
                purpose_name(p).to_string(),
                text,
                domain.to_vec(),
                domain.len() as u64,
            )
        })
        .collect();
    assert_eq!(rows, code, "the `domains` table");

    // The worked example: a login as alice with the key whose seed is 07 × 32.
    let secret = SecretKey::from_seed([7; 32]);
    let key = secret.public();
    let challenge = [0x33; CHALLENGE_LEN];
    let bytes = signed_bytes(Purpose::Login, &challenge, "alice", &key, &[]);
    let domain = Purpose::Login.domain();
    let parts = [
        ("domain", domain.to_vec()),
        ("challenge", challenge.to_vec()),
        ("name length", vec![5]),
        ("name", b"alice".to_vec()),
        ("public key", key.0.to_vec()),
    ];
    let joined: Vec<u8> = parts.iter().flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(joined, bytes, "the parts are the signed bytes");
    check_hex_rows(&doc, "signed", &parts);
    let signature = secret.sign(Purpose::Login, &challenge, "alice");
    assert!(verify(
        &key,
        &signature,
        Purpose::Login,
        &challenge,
        "alice",
        &[]
    ));
    check_hex_rows(
        &doc,
        "signature",
        &[
            ("seed", secret.seed().to_vec()),
            ("public key", key.0.to_vec()),
            ("signature, bytes 0 to 31", signature.0[..32].to_vec()),
            ("signature, bytes 32 to 63", signature.0[32..].to_vec()),
        ],
    );
}
