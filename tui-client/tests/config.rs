//! The real binary's config: `--print-config` prints the settings in force as a config file
//! that reads back the same, a flag beats its environment variable, which beats the file, and
//! a bad file stops the client with a usage error naming the key and the file.

use std::path::Path;
use std::process::{Command, Output};

fn client(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tui-client"));
    cmd.env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HUBBUB_LOG_FILE", dir.join("client.log"))
        .env_remove("HUBBUB_HUB")
        .env_remove("HUBBUB_CONFIG")
        .env_remove("HUBBUB_MOUSE")
        .env_remove("HUBBUB_IDENTITY")
        .env_remove("HUBBUB_DESKTOP_NOTIFY");
    cmd
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn print_config(cmd: &mut Command) -> String {
    let out = cmd.arg("--print-config").output().expect("run tui-client");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

#[test]
fn print_config_round_trips_through_the_default_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let builtin = print_config(&mut client(dir.path()));
    assert!(builtin.contains("hub = \"127.0.0.1:7878\""), "{builtin}");
    assert!(builtin.contains("[colors]\naccent = \"cyan\""), "{builtin}");
    // The default place, beside the identity file.
    let file = dir.path().join("config/hubbub/tui.toml");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &file,
        "mouse = true\n[keys]\ntoggle-panes = \"alt-p\"\n[colors]\nown = \"#102030\"\n",
    )
    .expect("write");
    let printed = print_config(&mut client(dir.path()));
    assert!(printed.contains("mouse = true"), "{printed}");
    assert!(printed.contains("own = \"#102030\""), "{printed}");
    assert!(
        printed.contains("[keys]\ntoggle-panes = \"alt-p\""),
        "{printed}"
    );
    // What it printed, read back from --config, prints the same again.
    let again = dir.path().join("printed.toml");
    std::fs::write(&again, &printed).expect("write");
    let twice = print_config(client(dir.path()).arg("--config").arg(&again));
    assert_eq!(twice, printed);
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "hub = \"from-file:1\"\n").expect("write");
    let with = |cmd: &mut Command| print_config(cmd.env("HUBBUB_CONFIG", &file));
    assert!(with(&mut client(dir.path())).contains("hub = \"from-file:1\""));
    let env = with(client(dir.path()).env("HUBBUB_HUB", "from-env:2"));
    assert!(env.contains("hub = \"from-env:2\""), "{env}");
    let flag = with(
        client(dir.path())
            .env("HUBBUB_HUB", "from-env:2")
            .args(["--hub", "from-flag:3"]),
    );
    assert!(flag.contains("hub = \"from-flag:3\""), "{flag}");
    // The mouse: the variable (any of clap's boolish words) over the file, the flag over both.
    std::fs::write(&file, "mouse = true\n").expect("write");
    assert!(with(&mut client(dir.path())).contains("mouse = true"));
    let off = with(client(dir.path()).env("HUBBUB_MOUSE", "off"));
    assert!(off.contains("mouse = false"), "{off}");
    let on = with(client(dir.path()).env("HUBBUB_MOUSE", "off").arg("--mouse"));
    assert!(on.contains("mouse = true"), "{on}");
    std::fs::write(&file, "").expect("write");
    let yes = with(client(dir.path()).env("HUBBUB_MOUSE", "yes"));
    assert!(yes.contains("mouse = true"), "{yes}");
}

#[test]
fn a_bad_config_file_is_a_usage_error_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "hub = \"h:1\"\n[notify]\nbeep = true\n").expect("write");
    let out = client(dir.path())
        .arg("--config")
        .arg(&file)
        .arg("id")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("tui-client: config file {}:", file.display())),
        "{err}"
    );
    assert!(err.contains("unknown field `beep`"), "{err}");
    // A named file that is not there is an error too; the default one may be missing.
    let out = client(dir.path())
        .args(["--config", "/nonexistent/tui.toml", "--print-config"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/tui.toml"));
}

#[test]
fn the_readme_example_config_is_good() {
    let readme = include_str!("../README.md");
    let from = readme.find("```toml\n").expect("an example") + "```toml\n".len();
    let example = &readme[from..from + readme[from..].find("```").expect("its end")];
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("example.toml");
    std::fs::write(&file, example).expect("write");
    let printed = print_config(client(dir.path()).arg("--config").arg(&file));
    assert!(printed.contains("next-pane = \"f7\""), "{printed}");
    assert!(printed.contains("desktop = \"osc9\""), "{printed}");
}
