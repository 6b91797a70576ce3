//! The identity file on a real file system: its mode, its all-or-nothing writing, and every
//! way it can be malformed.

use super::*;

fn alice() -> Identity {
    Identity {
        name: "alice".into(),
        key: SecretKey::from_seed([0xab; 32]),
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn write_with_mode(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn malformed(text: &str) -> (usize, String) {
    match parse(text) {
        Err(e) => e,
        Ok(id) => panic!("{text:?} parsed as {}", id.name),
    }
}

#[test]
fn a_saved_identity_is_private_complete_and_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new").join("hubbub").join("identity");
    save_new(&path, &alice()).expect("saved");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().expect("dir")), DIR_MODE);
    let back = load(&path).expect("loads").expect("present");
    assert_eq!(back.name, "alice");
    assert_eq!(back.key.seed(), [0xab; 32]);
    let text = fs::read_to_string(&path).expect("read");
    assert!(
        text.contains(&format!("seed = {}", "ab".repeat(32))),
        "{text}"
    );
    let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["identity"], "no temporary file is left");
}

#[test]
fn the_temporary_file_is_private_before_the_secret_is_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("identity");
    let pending = prepare(&path, &alice()).expect("prepared");
    assert_eq!(mode(pending.temp()), 0o600, "before it has a name");
    pending.commit().expect("committed");
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn an_existing_identity_is_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("identity");
    save_new(&path, &alice()).expect("saved");
    let bob = Identity {
        name: "bob".into(),
        key: SecretKey::from_seed([1; 32]),
    };
    assert!(matches!(
        save_new(&path, &bob),
        Err(IdentityError::Exists { .. })
    ));
    assert_eq!(load(&path).expect("loads").expect("present").name, "alice");
}

#[test]
fn an_identity_that_appears_meanwhile_is_kept_and_so_is_the_new_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("identity");
    let pending = prepare(&path, &alice()).expect("prepared");
    let temp = pending.temp().to_owned();
    write_with_mode(&path, "name = bob\n", 0o600);
    let err = pending.commit().expect_err("the link must fail");
    assert!(
        err.to_string().contains(&temp.display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).expect("read"), "name = bob\n");
    assert!(temp.exists(), "the key of the registration is not lost");
}

#[test]
fn an_uncommitted_identity_leaves_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("identity");
    let pending = prepare(&path, &alice()).expect("prepared");
    let temp = pending.temp().to_owned();
    assert!(temp.exists());
    drop(pending);
    assert!(!temp.exists());
    assert!(!path.exists());
    assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[test]
fn a_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("identity");
    for loose in [0o644, 0o640, 0o604, 0o660, 0o606] {
        write_with_mode(&path, &render(&alice()), loose);
        match load(&path) {
            Err(IdentityError::Loose { mode, .. }) => assert_eq!(mode, loose),
            other => panic!("mode {loose:o}: expected a refusal, got {other:?}"),
        }
    }
    write_with_mode(&path, &render(&alice()), 0o400);
    assert!(load(&path).expect("owner-only is fine").is_some());
    let err = IdentityError::Loose {
        path: path.clone(),
        mode: 0o644,
    };
    assert!(err.to_string().contains("mode 0644"), "{err}");
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn a_missing_file_is_no_identity_and_a_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(load(&dir.path().join("none")).expect("no error").is_none());
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
    assert!(matches!(
        load(dir.path()),
        Err(IdentityError::NotAFile { .. })
    ));
}

#[test]
fn malformed_files_name_the_line_and_the_fault() {
    let seed = "ab".repeat(32);
    let cases = [
        ("seed = ".to_owned() + &seed, 0, "no `name"),
        ("name = alice".to_owned(), 0, "no `seed"),
        (
            format!("name = alice\nseed = {}", &seed[..62]),
            2,
            "64 hex digits",
        ),
        (
            format!("name = alice\nseed = {}zz", &seed[..62]),
            2,
            "64 hex digits",
        ),
        (
            format!("name = alice\n\nseed = {seed}\nseed = {seed}"),
            4,
            "twice",
        ),
        (format!("name = al ice\nseed = {seed}"), 1, "' '"),
        (
            format!("# c\nname = alice\nhub = x\nseed = {seed}"),
            3,
            "unknown key",
        ),
        (format!("alice\nseed = {seed}"), 1, "expected"),
        (format!("name =\nseed = {seed}"), 1, "at least one"),
    ];
    for (text, line, why) in cases {
        let (at, said) = malformed(&text);
        assert_eq!(at, line, "{text:?}: {said}");
        assert!(said.contains(why), "{text:?}: {said}");
    }
}

#[test]
fn comments_blank_lines_spaces_and_case_are_accepted() {
    let text = format!(
        "# mine\n\n  name=Alice  \r\n\tseed =  {}\n",
        "AB".repeat(32)
    );
    let id = parse(&text).expect("parses");
    assert_eq!(id.name, "alice");
    assert_eq!(id.key.seed(), [0xab; 32]);
    assert_eq!(parse(&render(&id)).expect("round trip").name, "alice");
}

#[test]
fn the_default_path_follows_xdg_then_home() {
    let home = Some(PathBuf::from("/home/me"));
    assert_eq!(
        default_path_from(Some("/cfg".into()), home.clone()),
        Some(PathBuf::from("/cfg/hubbub/identity"))
    );
    for ignored in [None, Some(OsString::new()), Some("relative".into())] {
        assert_eq!(
            default_path_from(ignored, home.clone()),
            Some(PathBuf::from("/home/me/.config/hubbub/identity"))
        );
    }
    assert_eq!(default_path_from(None, None), None);
}

#[test]
fn anonymous_wins_and_only_a_named_file_must_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("identity");
    assert!(matches!(
        choose(false, Some(&path)),
        Err(IdentityError::Missing { .. })
    ));
    assert!(choose(true, Some(&path)).expect("no error").is_none());
    save_new(&path, &alice()).expect("saved");
    let (at, id) = choose(false, Some(&path)).expect("loads").expect("chosen");
    assert_eq!((at, id.name.as_str()), (path.clone(), "alice"));
    assert!(choose(true, Some(&path)).expect("no error").is_none());
}
