//! Trust on first use against real files: the first key is pinned and survives a reload, a
//! changed key is reported and not taken until trusted, a damaged file is refused untouched.

use e2e::pins::{Check, Pins};
use ed25519_dalek::SigningKey;

fn key(seed: u8) -> ed25519_dalek::VerifyingKey {
    SigningKey::from_bytes(&[seed; 32]).verifying_key()
}

#[test]
fn a_first_key_is_pinned_and_a_changed_one_is_reported_until_trusted() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("config").join("pins");
    let mut pins = Pins::load(&path).expect("no file is no pins");
    assert_eq!(pins.check("alice", &key(1)), Check::FirstUse);
    pins.save().expect("pins save");

    let mut pins = Pins::load(&path).expect("pins reload");
    assert_eq!(pins.check("alice", &key(1)), Check::Same);
    assert_eq!(
        pins.check("alice", &key(2)),
        Check::Changed { pinned: key(1) }
    );
    pins.save().expect("pins save");
    // Reporting a change pins nothing.
    let mut pins = Pins::load(&path).expect("pins reload");
    assert_eq!(
        pins.check("alice", &key(2)),
        Check::Changed { pinned: key(1) }
    );

    pins.trust("alice", key(2));
    pins.save().expect("pins save");
    let mut pins = Pins::load(&path).expect("pins reload");
    assert_eq!(pins.check("alice", &key(2)), Check::Same);
}

#[test]
fn a_damaged_pin_file_is_refused_with_its_line_and_left_alone() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("pins");
    let hex: String = key(1)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let good = format!("alice {hex}\n");
    let text = format!("{good}bob not-a-key\n");
    std::fs::write(&path, &text).expect("write pins");
    let err = Pins::load(&path).expect_err("a bad line is refused");
    assert!(err.to_string().contains(":2:"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read pins"), text);
    std::fs::write(&path, &good).expect("write pins");
    let pins = Pins::load(&path).expect("a good file loads");
    assert_eq!(pins.get("alice"), Some(&key(1)));
}
