//! What the command line owes a user (SPEC §11, issue 10 items 10–11), on the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn pitwall(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .env("PITWALL_HOME", tempfile::tempdir().unwrap().keep())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dash_capital_v_prints_the_version_like_long_version() {
    let (code, out, _) = pitwall(&["-V"], "");
    assert_eq!(code, 0);
    assert!(out.starts_with("pitwall "), "{out}");
    assert!(out.contains("database: "), "{out}");
    let long = pitwall(&["--version"], "").1;
    assert_eq!(out.lines().next(), long.lines().next());
}

#[test]
fn headless_help_says_its_default_database_is_in_memory() {
    let (code, out, _) = pitwall(&["headless", "--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("in-memory database"), "{out}");
    assert!(out.contains("--clock"), "{out}");
}

#[test]
fn a_line_that_is_not_a_command_is_named_by_its_line_number() {
    let script = "{\"cmd\":\"now\"}\n\n{bad\n\u{ff}\n";
    let (code, out, _) = pitwall(&["headless"], script);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].contains("Line 3: Not valid JSON: key must be a string at column 2."),
        "{out}"
    );
    assert!(!lines[1].contains("line 1 column"), "{out}");
}

#[test]
fn a_file_database_on_the_default_manual_clock_says_so_once_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let script = "{\"cmd\":\"now\"}\n{\"cmd\":\"now\"}\n";
    let (code, out, err) = pitwall(&["headless", "--db", db], script);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "stdout holds responses only: {out}");
    assert_eq!(err.matches("manual clock").count(), 1, "{err}");
    assert!(err.contains("--clock system"), "{err}");
    // Chosen explicitly, or in memory: nothing to say.
    for args in [
        vec!["headless", "--db", db, "--clock", "manual"],
        vec!["headless"],
    ] {
        let (_, _, err) = pitwall(&args, script);
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}
