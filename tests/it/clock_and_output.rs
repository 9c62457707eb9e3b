//! The real binary at the edges of time and output (SPEC §7): the manual clock stops at
//! 9999-12-31T23:59:59Z and every time it prints is RFC 3339; output that cannot be written
//! (a full disk, a closed pipe) is an error exit with a message, never a panic (exit 101).

use std::fs::File;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn pitwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
}

fn headless(args: &[&str], script: &[Value]) -> (Vec<Value>, Output) {
    let mut child = pitwall()
        .arg("headless")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text: String = script.iter().map(|l| format!("{l}\n")).collect();
    // A refused start exits before reading its input: the pipe may close under the write.
    let _ = child.stdin.take().unwrap().write_all(text.as_bytes());
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, out)
}

fn no_panic(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every string in the value that looks like a time is RFC 3339 with a four-digit year.
fn times_are_rfc3339(v: &Value) {
    match v {
        Value::String(s) if s.len() >= 20 && s.contains('T') && s.ends_with('Z') => {
            assert!(
                s.as_bytes()[..4].iter().all(u8::is_ascii_digit) && s.as_bytes()[4] == b'-',
                "not RFC 3339: {s}"
            );
        }
        Value::String(s) => assert!(!s.starts_with("+1"), "not RFC 3339: {s}"),
        Value::Array(a) => a.iter().for_each(times_are_rfc3339),
        Value::Object(o) => o.values().for_each(times_are_rfc3339),
        _ => {}
    }
}

#[test]
fn the_manual_clock_stops_at_the_end_of_rfc_3339() {
    let mechanic = json!({"cmd": "add_mechanic", "id": "m1", "name": "Mo", "email": "mo@example.ca",
        "country": "Canada", "postal_code": "M5V 1A1", "profile_completion_score": 95,
        "currently_on_shift": true, "service_keywords": ["check engine light"]});
    let intake = |id: &str| {
        json!({"cmd": "intake", "id": id, "customer": {"name": "Ava", "email": "ava@example.com"},
            "location": {"country": "Canada", "postal_code": "M5V 3L9"},
            "concern": "check engine light", "payment_method": "free"})
    };
    let script = [
        mechanic,
        intake("S1"),
        json!({"cmd": "join_waitlist", "id": "w1", "session": "S1"}),
        json!({"cmd": "advance", "seconds": 60}),
        json!({"cmd": "advance", "seconds": 61}),
        json!({"cmd": "advance", "seconds": 31_622_400}),
        json!({"cmd": "now"}),
        json!({"cmd": "advance", "seconds": 59}),
        intake("S2"),
        json!({"cmd": "join_waitlist", "id": "w2", "session": "S2"}),
        json!({"cmd": "clock_out", "mechanic": "m1"}),
        json!({"cmd": "clock_in", "mechanic": "m1"}),
        json!({"cmd": "advance", "seconds": 1}),
        json!({"cmd": "advance", "seconds": 0}),
        json!({"cmd": "tick"}),
        json!({"cmd": "queue", "mechanic": "m1"}),
        json!({"cmd": "session", "id": "S2"}),
        json!({"cmd": "waitlist"}),
        json!({"cmd": "report"}),
        json!({"cmd": "now"}),
    ];
    let (lines, out) = headless(&["--start", "9999-12-31T23:58:00Z"], &script);
    no_panic(&out);
    assert_eq!(lines.len(), script.len(), "{lines:?}");
    for line in &lines {
        times_are_rfc3339(line);
    }
    assert_eq!(lines[3]["now"], "9999-12-31T23:59:00Z");
    for refused in [4, 5, 12] {
        assert_eq!(
            lines[refused]["error"]["code"], "invalid_input",
            "{}",
            lines[refused]
        );
        assert_eq!(lines[refused]["error"]["field"], "seconds");
    }
    assert_eq!(
        lines[6]["now"], "9999-12-31T23:59:00Z",
        "a refused advance moved the clock"
    );
    assert_eq!(lines[7]["now"], "9999-12-31T23:59:59Z");
    assert_eq!(lines[8]["ok"], true, "{}", lines[8]);
    assert_eq!(
        lines[8]["targeted"][0]["expires_at"],
        "9999-12-31T23:59:59Z"
    );
    assert_eq!(lines[9]["entry"]["expires_at"], "9999-12-31T23:59:59Z");
    for ok in [10, 11, 13, 14, 15, 16, 17, 18] {
        assert_eq!(lines[ok]["ok"], true, "{}", lines[ok]);
    }
    assert_eq!(lines[19]["now"], "9999-12-31T23:59:59Z");
}

#[test]
fn a_start_past_the_end_is_refused() {
    let (lines, out) = headless(
        &["--start", "9999-12-31T23:59:59-01:00"],
        &[json!({"cmd": "now"})],
    );
    no_panic(&out);
    assert!(lines.is_empty());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("9999-12-31T23:59:59Z"));
}

/// A database file with one command's worth of state.
fn database(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let db = dir.path().join("p.db");
    let (_, out) = headless(&["--db", db.to_str().unwrap()], &[json!({"cmd": "now"})]);
    assert!(out.status.success());
    db
}

/// Every printing command, run with stdout set up by `stdout`.
fn every_printing_command(stdout: impl Fn() -> Stdio) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir);
    let db = db.to_str().unwrap();
    let copy = dir.path().join("copy.db");
    let runs: Vec<Vec<&str>> = vec![
        vec!["--version"],
        vec!["check", "--db", db],
        vec!["check", "--json", "--db", db],
        vec!["report", "--db", db],
        vec!["report", "--json", "--db", db],
        vec!["backup", copy.to_str().unwrap(), "--db", db],
    ];
    for args in runs {
        let out = pitwall()
            .args(&args)
            .env("PITWALL_HOME", dir.path())
            .stdout(stdout())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot write the output"),
            "{args:?}: {stderr}"
        );
    }
    // Headless too: its first answer cannot be written.
    let out = pitwall()
        .args(["headless", "--clock", "manual", "--db", db])
        .stdin(Stdio::piped())
        .stdout(stdout())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"{\"cmd\":\"now\"}\n")?;
            child.wait_with_output()
        })
        .unwrap();
    no_panic(&out);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{out:?}");
    assert!(!out.stderr.is_empty());
}

#[test]
fn a_full_disk_is_an_error_exit_not_a_panic() {
    every_printing_command(|| Stdio::from(File::create("/dev/full").unwrap()));
}

#[test]
fn a_closed_pipe_is_an_error_exit_not_a_panic() {
    every_printing_command(|| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Stdio::from(writer)
    });
}
