//! Another program holding the database (SPEC §7): a write waits the documented time once —
//! `PITWALL_BUSY_TIMEOUT_MS` here, so the test takes a moment rather than 10 s — then answers the
//! coded `busy` with nothing changed; reads go on; the console shows "Database busy" in its
//! status line and keeps answering keys.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common;

use common::terminal::{Terminal, wait_for};

const WAIT_MS: u64 = 500;

fn mechanic(id: &str) -> Value {
    json!({"cmd": "add_mechanic", "id": id, "name": format!("M {id}"), "email": "m@example.ca",
        "profile_completion_score": 90})
}

/// Runs a headless script on `db`, killing it if it outlives `limit`.
fn headless(db: &Path, script: &[Value], limit: Duration) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["headless", "--clock", "manual", "--db"])
        .arg(db)
        .env("PITWALL_BUSY_TIMEOUT_MS", WAIT_MS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text: String = script.iter().map(|l| format!("{l}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("pitwall waited more than {limit:?} for the lock");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101));
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, elapsed)
}

/// Another program's write transaction on `db`, held until dropped.
fn hold_write_lock(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn a_write_blocked_past_the_wait_answers_busy_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let (lines, _) = headless(&db, &[mechanic("m0")], Duration::from_secs(20));
    assert_eq!(lines[0]["ok"], true);

    let lock = hold_write_lock(&db);
    let script = [
        mechanic("m1"),
        json!({"cmd": "mechanics"}),
        json!({"cmd": "tick"}),
    ];
    let (lines, elapsed) = headless(&db, &script, Duration::from_secs(8));
    assert_eq!(lines.len(), 3, "{lines:?}");
    for refused in [0, 2] {
        let error = &lines[refused]["error"];
        assert_eq!(error["code"], "busy", "{}", lines[refused]);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("Nothing was changed")
        );
        assert_eq!(error["field"], Value::Null);
    }
    // Readers never wait for a writer in WAL mode.
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[1]["mechanics"].as_array().unwrap().len(), 1);
    // Two refused writes: each waited the wait once, not once per retry.
    let wait = Duration::from_millis(WAIT_MS);
    assert!(elapsed >= 2 * wait, "{elapsed:?}");
    assert!(elapsed < 2 * wait + Duration::from_secs(2), "{elapsed:?}");

    drop(lock);
    let (lines, _) = headless(&db, &[mechanic("m1")], Duration::from_secs(20));
    assert_eq!(lines[0]["ok"], true, "{}", lines[0]);
}

#[test]
fn the_console_shows_a_busy_database_and_keeps_answering() {
    let home = tempfile::tempdir().unwrap();
    let console = Terminal::start("busy", home.path(), "", 120, 40);
    let capture = || console.capture();
    wait_for("the console to draw", || capture().contains("Live preview"));

    let lock = hold_write_lock(&home.path().join("pitwall.db"));
    wait_for("the busy status", || capture().contains("Database busy"));
    // Keys still work while the database is held: switch to the Mechanics pane.
    console.keys("M-3");
    wait_for("the Mechanics pane", || capture().contains("Daniel Okafor"));
    drop(lock);
    wait_for("the database back", || {
        capture().contains("Database available again")
    });

    console.keys("q");
    assert_eq!(console.exit_status(), 0);
}
