//! Tests of name cleaning, saving without overwriting, and path completion.

use super::*;

#[test]
fn clean_name_keeps_only_the_last_component_without_controls() {
    assert_eq!(clean_name("../../etc/passwd"), "passwd");
    assert_eq!(clean_name("C:\\Users\\x\\evil.exe"), "evil.exe");
    assert_eq!(clean_name("re\x1b[2Jport\n.txt"), "re[2Jport.txt");
    assert_eq!(clean_name("\u{202e}gnp.exe"), "gnp.exe");
    assert_eq!(clean_name("a\u{200b}b\u{2066}.txt"), "ab.txt");
    assert_eq!(clean_name(".."), "file");
    assert_eq!(clean_name(".bashrc"), "bashrc");
    assert_eq!(clean_name("dir/"), "file");
    assert_eq!(clean_name(""), "file");
    assert!(clean_name(&"é".repeat(300)).len() <= MAX_NAME_LEN);
}

#[test]
fn variants_put_the_number_before_the_extension() {
    assert_eq!(variant("a.txt", 0), "a.txt");
    assert_eq!(variant("a.txt", 1), "a (1).txt");
    assert_eq!(variant("archive.tar.gz", 2), "archive.tar (2).gz");
    assert_eq!(variant("README", 3), "README (3)");
}

#[test]
fn save_never_overwrites_and_leaves_no_part_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = save(dir.path(), "../a.txt", b"one").expect("save");
    let second = save(dir.path(), "a.txt", b"two").expect("save");
    let third = save(dir.path(), "a.txt", b"three").expect("save");
    assert_eq!(first, dir.path().join("a.txt"));
    assert_eq!(second, dir.path().join("a (1).txt"));
    assert_eq!(third, dir.path().join("a (2).txt"));
    assert_eq!(fs::read(&first).expect("read"), b"one");
    assert_eq!(fs::read(&second).expect("read"), b"two");
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
}

#[test]
fn complete_path_lists_matches_and_marks_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("notes.txt"), b"x").expect("write");
    fs::write(dir.path().join("notes.md"), b"x").expect("write");
    fs::write(dir.path().join(".hidden"), b"x").expect("write");
    fs::create_dir(dir.path().join("nested")).expect("mkdir");
    let base = format!("{}/", dir.path().display());
    let got = complete_path(&format!("{base}no"));
    assert_eq!(
        got,
        vec![format!("{base}notes.md"), format!("{base}notes.txt")]
    );
    assert_eq!(common_prefix(&got), format!("{base}notes."));
    assert_eq!(
        complete_path(&format!("{base}ne")),
        vec![format!("{base}nested/")]
    );
    assert_eq!(complete_path(&base).len(), 3, "hidden files stay hidden");
}

#[test]
fn every_name_the_protocol_allows_saves_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ascii = format!("{}.png", "a".repeat(246));
    // 82 three-byte characters, then 9 bytes: exactly 255 bytes.
    let wide = format!("{}abcde.png", "日".repeat(82));
    for name in [ascii, wide] {
        assert!(
            name.len() >= 250 && name.len() <= MAX_NAME_LEN,
            "{}",
            name.len()
        );
        let first = save(dir.path(), &name, b"one").expect("a legal name saves");
        assert_eq!(first, dir.path().join(&name));
        let second = save(dir.path(), &name, b"two").expect("and its variant too");
        let second_name = second.file_name().expect("name").to_str().expect("utf-8");
        assert!(second_name.len() <= MAX_NAME_LEN, "{}", second_name.len());
        assert!(second_name.ends_with(" (1).png"), "{second_name}");
        assert_eq!(fs::read(&second).expect("read"), b"two");
    }
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
        .collect();
    assert_eq!(names.len(), 4, "no part files left: {names:?}");
}

#[test]
fn a_name_too_long_for_the_file_system_is_shortened_keeping_its_extension() {
    assert_eq!(fit("abcdef.txt", 8), "abcd.txt");
    assert_eq!(fit("日本語.txt", 10), "日本.txt");
    assert_eq!(fit("noext", 3), "noe");
    assert_eq!(fit(&format!("x.{}", "e".repeat(40)), 10), "x.eeeeeeee");
    assert_eq!(fit("short.txt", 255), "short.txt");
}
