//! The config file: every key read, unknown ones and bad values refused with the file's name,
//! the flags over the file over the defaults, and `--print-config`'s text reading back the same.

use std::path::Path;

use clap::Parser;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

use super::*;
use crate::app::bindings::Act;

const FULL: &str = r##"
hub = "10.0.0.5:7878"
identity = "/home/me/alice.identity"
mouse = true

[colors]
accent = "light-magenta"
own = "#ffaa00"
system = "grey"
unread = "208"
warning = "light-red"

[notify]
bell = false
title = false
desktop = "osc777"
mentions = false
presence = "all"

[keys]
next-conversation = "ctrl-down"
toggle-panes = "alt-p"
"##;

fn path() -> &'static Path {
    Path::new("/tmp/tui.toml")
}

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["tui-client"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).expect("flags parse")
}

fn settings(text: &str, args: &[&str]) -> Result<Settings, ConfigError> {
    Settings::merge(&cli(args), &parse(path(), text)?, path())
}

#[test]
fn every_key_is_read() {
    let s = settings(FULL, &[]).expect("the full file is good");
    assert_eq!(s.hub, "10.0.0.5:7878");
    assert_eq!(s.identity, Some(PathBuf::from("/home/me/alice.identity")));
    assert!(s.mouse);
    assert_eq!(
        s.theme,
        Theme {
            accent: Color::LightMagenta,
            own: Color::Rgb(0xff, 0xaa, 0),
            system: Color::Gray,
            unread: Color::Indexed(208),
            warning: Color::LightRed,
        }
    );
    assert_eq!(
        s.notify,
        Choices {
            bell: false,
            title: false,
            mentions: false,
            presence: Presence::All,
        }
    );
    assert_eq!(s.desktop, Desktop::Osc777);
    assert_eq!(s.keys.name_of(Act::TogglePanes), "Alt-P");
    let down = KeyEvent::new(KeyCode::Down, KeyModifiers::CONTROL);
    assert_eq!(
        s.keys.translate(down),
        KeyEvent::new(KeyCode::Down, KeyModifiers::ALT),
        "ctrl-down acts as next-conversation's own alt-down"
    );
}

#[test]
fn an_empty_file_is_the_built_in_defaults() {
    let s = settings("", &[]).expect("empty is fine");
    assert_eq!(s.hub, DEFAULT_HUB);
    assert_eq!(s.identity, None);
    assert!(!s.mouse);
    assert_eq!(s.theme, Theme::default());
    assert_eq!(s.notify, Choices::default());
    assert_eq!(s.desktop, Desktop::Off);
    assert_eq!(s.keys, KeyMap::default());
}

#[test]
fn flags_win_over_the_file() {
    let s = settings(
        FULL,
        &[
            "--hub",
            "192.168.1.2:9000",
            "--identity",
            "/x/id",
            "--mouse=false",
            "--desktop-notify",
            "osc9",
        ],
    )
    .expect("good");
    assert_eq!(s.hub, "192.168.1.2:9000");
    assert_eq!(s.identity, Some(PathBuf::from("/x/id")));
    assert!(!s.mouse, "--mouse=false turns off the file's mouse = true");
    assert_eq!(s.desktop, Desktop::Osc9);
    assert!(settings("mouse = false", &["--mouse"]).expect("good").mouse);
}

#[test]
fn print_config_reads_back_as_the_same_settings() {
    for (text, args) in [
        (FULL, &[][..]),
        ("", &[][..]),
        (
            "[keys]\nselect-peer = \"f9\"\nquit = \"ctrl-q\"",
            &["--mouse"][..],
        ),
        (FULL, &["--hub", "h:1", "--desktop-notify", "off"][..]),
    ] {
        let s = settings(text, args).expect("good");
        let printed = s.to_toml();
        let again = settings(&printed, &[]).expect("the printed file reads back");
        assert_eq!(again, s, "{printed}");
        assert_eq!(again.to_toml(), printed);
    }
}

fn error(text: &str) -> String {
    settings(text, &[]).expect_err("refused").to_string()
}

#[test]
fn an_unknown_key_is_refused_by_name_with_the_file() {
    for (text, key) in [
        ("hubb = \"x\"", "hubb"),
        (
            "[colors]\naccent = \"red\"\nbackground = \"red\"",
            "background",
        ),
        ("[notify]\nsound = true", "sound"),
        ("[colours]\naccent = \"red\"", "colours"),
    ] {
        let e = error(text);
        assert!(e.starts_with("config file /tmp/tui.toml: "), "{e}");
        assert!(e.contains(&format!("unknown field `{key}`")), "{e}");
    }
}

#[test]
fn bad_values_are_refused_with_what_is_wrong() {
    let e = error("[colors]\nunread = \"chartreuse-ish\"");
    assert!(
        e.contains("colors.unread = \"chartreuse-ish\" is not a colour"),
        "{e}"
    );
    let e = error("mouse = \"yes\"");
    assert!(e.contains("mouse") && e.contains("line 1"), "{e}");
    let e = error("[notify]\ndesktop = \"osc8\"");
    assert!(e.contains("osc8"), "{e}");
    let e = error("hub = ");
    assert!(e.contains("config file /tmp/tui.toml"), "{e}");
}

#[test]
fn bad_keys_are_refused() {
    let e = error("[keys]\nfrobnicate = \"f9\"");
    assert!(e.contains("no action \"frobnicate\""), "{e}");
    assert!(e.contains("next-conversation"), "the list of actions: {e}");
    let e = error("[keys]\nhelp = \"ctrl-n\"");
    assert!(
        e.contains("\"ctrl-n\" for help is already next-conversation's (ctrl-n)"),
        "{e}"
    );
    let e = error("[keys]\nhelp = \"f9\"\nquit = \"F9\"");
    assert!(e.contains("already help's (from the config)"), "{e}");
    let e = error("[keys]\nhelp = \"ctrl-a\"");
    assert!(e.contains("the input line's (ctrl-a)"), "{e}");
    let e = error("[keys]\nhelp = \"q\"");
    assert!(e.contains("can be text"), "{e}");
    let e = error("[keys]\nhelp = \"hyper-x\"");
    assert!(e.contains("\"hyper-x\" is not a key"), "{e}");
    let e = error("[keys]\nhelp = \"f13\"");
    assert!(e.contains("is not a key"), "{e}");
}

#[test]
fn a_missing_config_file_is_an_error_only_when_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    assert_eq!(
        read(&missing, false).expect("default place"),
        ConfigFile::default()
    );
    let e = read(&missing, true).expect_err("named").to_string();
    assert!(
        e.starts_with(&format!("config file {}: ", missing.display())),
        "{e}"
    );
}
