//! The WAL and two connections: a `-wal` file deleted while pitwall runs (an operator mistake
//! SQLite warns against) loses nothing pitwall acknowledged, because the writer's connection —
//! which still has the deleted file open — closes last and writes it back; meanwhile `check`
//! names what happened instead of a bare "disk I/O error".

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common;

fn mechanic(i: usize) -> Value {
    json!({"cmd": "add_mechanic", "id": format!("m{i}"), "name": format!("M {i}"),
        "email": "m@example.ca", "profile_completion_score": 90})
}

fn beside(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

fn pitwall(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs a headless pitwall on `db`, deletes its `-wal` mid-run, calls `meanwhile` while it still
/// runs, then lets it quit normally.
fn delete_the_wal_while_running(db: &Path, meanwhile: impl FnOnce()) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args([
            "headless",
            "--clock",
            "manual",
            "--db",
            db.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |cmd: Value| {
        writeln!(stdin, "{cmd}").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["ok"], true, "{answer}");
    };
    // Straight away, before the background checkpointer first runs: all of it is in the WAL.
    for i in 0..3 {
        send(mechanic(i));
    }
    std::fs::remove_file(beside(db, "-wal")).unwrap();
    for i in 3..6 {
        send(mechanic(i));
        // Give the checkpointer its turns on the file it finds at the path now.
        std::thread::sleep(Duration::from_millis(300));
    }
    meanwhile();
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_deleted_wal_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    delete_the_wal_while_running(&db, || {});
    let db_arg = db.to_str().unwrap();
    let out = pitwall(&["check", "--db", db_arg]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM mechanics ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4", "m5"]);
}

#[test]
fn check_names_a_deleted_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    delete_the_wal_while_running(&db, || {
        // SQLite itself says only "disk I/O error".
        let out = pitwall(&["check", "--db", db.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("-wal file is gone"), "{stderr}");
        assert!(stderr.contains("never delete"), "{stderr}");
    });
}

/// `pitwall serve` stopped as a service manager stops it (SIGTERM) closes every connection it
/// opened (the engine's, its checkpointer's, the relay's, the event feed's), so the last one to
/// close copies the log back and SQLite removes the `-wal` file. It was left behind while the
/// relay's thread still held its connection when the process exited.
#[test]
fn serve_stopped_by_sigterm_leaves_no_wal() {
    use common::server::{Server, agent, post, token};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let intake_token = token(&db, "intake", None);
    let receiver = common::receivers::Webhooks::start(common::receivers::Behaviour::default());
    let config = format!(
        "{}\n[delivery.email]\nwebhook = \"{}\"\n",
        common::server::ROOMY,
        receiver.url("/email")
    );
    let dispatcher = token(&db, "dispatcher", None);
    for round in 0..3 {
        let mut server = Server::start(&db, &config);
        let agent = agent();
        // An event stream open at the end, as a dispatcher's screen would be.
        let stream = agent
            .get(server.url("/v1/events"))
            .header("Authorization", &format!("Bearer {dispatcher}"))
            .call()
            .unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stream.into_body().into_reader());
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                line.clear();
            }
        });
        // Enough writes that the log holds some when the server stops: the last connection's
        // copy back takes a moment, the moment a process exiting early cut short.
        for _ in 0..150 {
            // A booking form's token: the server assigns the session's id.
            let mut intake = common::intake("unused", json!({}));
            intake.as_object_mut().unwrap().remove("id");
            let answer = post(&agent, &server, &intake_token, &intake);
            assert_eq!(answer.status, 200, "{:?}", answer.body);
        }
        let status = server.stop().expect("stopped within 10 s");
        assert!(status.success(), "{status}");
        reader.join().unwrap();
        assert!(
            !beside(&db, "-wal").exists(),
            "round {round}: -wal left beside the database after SIGTERM; log: {}",
            server.log_text()
        );
    }
}
