//! Kill `pitwall headless` with SIGKILL at random moments of a long script; after every kill the
//! database opens, `check` passes, and every command whose `ok` line was printed is in it.
//! `PITWALL_CRASH_TRIALS=200 cargo test --release --test crash -- --nocapture` for a longer run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use pitwall::synth::Rng;
use serde_json::{Value, json};

/// A long, varied script: mechanics, intakes, accepts via open broadcasts, clock-outs and ins,
/// waitlist joins, completes, cancels and clock advances.
fn script(rng: &mut Rng) -> Vec<Value> {
    let mut lines = vec![json!({"cmd": "set_flag", "enabled": false})];
    // Room for many sessions each, so accepts keep landing (capacity is not what this tests).
    for m in 0..12 {
        lines.push(
            json!({"cmd": "add_mechanic", "id": format!("m{m}"), "name": format!("M{m}"),
            "country": "Canada", "postal_code": "M5V 1A1", "profile_completion_score": 90,
            "currently_on_shift": true, "max_active_sessions": 10_000}),
        );
    }
    for i in 0..1500 {
        let session = format!("S{i}");
        lines.push(json!({"cmd": "intake", "id": session,
            "customer": {"name": "C", "email": format!("c{i}@example.com")},
            "location": {"country": "Canada", "postal_code": "M5V 3L9"},
            "concern": "brakes and check engine light", "payment_method": "free"}));
        match rng.below(6) {
            0 | 1 => lines.push(json!({"cmd": "accept", "session": session, "mechanic": format!("m{}", rng.below(12))})),
            2 => lines.push(json!({"cmd": "join_waitlist", "id": format!("W{i}"), "session": session})),
            3 => {
                let m = format!("m{}", rng.below(12));
                lines.push(json!({"cmd": "clock_out", "mechanic": m}));
                lines.push(json!({"cmd": "clock_in", "mechanic": m}));
            }
            4 => lines.push(json!({"cmd": "cancel", "session": session})),
            _ => lines.push(json!({"cmd": "advance", "seconds": 30})),
        }
        if i % 7 == 0 && i > 0 {
            lines.push(json!({"cmd": "complete", "session": format!("S{}", i - 1)}));
        }
    }
    lines
}

/// What an acknowledged command must have left in the database.
fn assert_durable(conn: &rusqlite::Connection, command: &Value) {
    let one = |sql: &str, id: &str| -> i64 { conn.query_row(sql, [id], |r| r.get(0)).unwrap() };
    let id = |k: &str| command[k].as_str().unwrap().to_string();
    match command["cmd"].as_str().unwrap() {
        "add_mechanic" => assert_eq!(
            one("SELECT COUNT(*) FROM mechanics WHERE id = ?1", &id("id")),
            1
        ),
        "intake" => assert_eq!(
            one("SELECT COUNT(*) FROM sessions WHERE id = ?1", &id("id")),
            1
        ),
        "join_waitlist" => assert_eq!(
            one(
                "SELECT COUNT(*) FROM customer_waitlist WHERE id = ?1",
                &id("id")
            ),
            1
        ),
        "accept" => {
            let n: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM session_assignments WHERE session_id = ?1 AND mechanic_id = ?2 AND status = 'accepted'",
                    [id("session"), id("mechanic")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "acknowledged accept {command} is missing");
        }
        "complete" => assert_eq!(
            one(
                "SELECT COUNT(*) FROM sessions WHERE id = ?1 AND status = 'completed'",
                &id("session")
            ),
            1
        ),
        "cancel" => assert_eq!(
            one(
                "SELECT COUNT(*) FROM sessions WHERE id = ?1 AND status = 'cancelled'",
                &id("session")
            ),
            1
        ),
        "clock_in" | "clock_out" | "set_flag" | "advance" => {}
        other => panic!("unexpected command {other}"),
    }
}

fn trial(dir: &Path, n: u64) -> usize {
    let mut rng = Rng::new(1000 + n);
    let db = dir.join(format!("crash-{n}.db"));
    let script_path = dir.join(format!("crash-{n}.jsonl"));
    let commands = script(&mut rng);
    let text: String = commands.iter().map(|c| format!("{c}\n")).collect();
    std::fs::write(&script_path, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["headless", "--clock", "manual", "--db"])
        .arg(&db)
        .arg("--script")
        .arg(&script_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    std::thread::sleep(Duration::from_millis(20 + rng.below(400) as u64));
    child.kill().unwrap(); // SIGKILL: no chance to flush or clean up
    child.wait().unwrap();
    let printed = reader.join().unwrap();

    // The database opens (and recovers its WAL), and every invariant holds.
    drop(
        pitwall::engine::Engine::open(Some(&db), pitwall::clock::Clock::manual_default()).unwrap(),
    );
    let report = pitwall::admin::check(&db).unwrap();
    assert!(report.ok(), "trial {n}: {}", report.to_text());

    // Every command answered `ok` before the kill is in the database.
    let conn = rusqlite::Connection::open(&db).unwrap();
    for (line, command) in printed.iter().zip(&commands) {
        let response: Value = serde_json::from_str(line).expect("a printed line is whole JSON");
        assert_eq!(response["cmd"], command["cmd"], "responses follow commands");
        if response["ok"] == true {
            assert_durable(&conn, command);
        }
    }
    printed.len()
}

#[test]
fn every_acknowledged_command_survives_sigkill() {
    let trials: u64 = std::env::var("PITWALL_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = Vec::new();
    for n in 0..trials {
        acknowledged.push(trial(dir.path(), n));
    }
    eprintln!("{trials} kills; lines acknowledged before each kill: {acknowledged:?}");
    assert!(
        acknowledged.iter().any(|n| *n > 50),
        "some kills land mid-run"
    );
}
