//! The crash tests' shared half (SQLite's tests/it/crash.rs, PostgreSQL's tests/it/pg_crash.rs): a
//! varied headless script, and the check that an acknowledged command is in the database.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use pitwall::store::{Db, Sql};
use pitwall::synth::Rng;
use serde_json::{Value, json};

/// When a trial's SIGKILL lands: after the child has printed `lines` lines (0: at once), and
/// then `pause` more. Counting lines rather than waiting a fixed time puts kills mid-run however
/// loaded the machine is (the tests share one binary, and the machine, with others); the pause
/// puts them anywhere in a command, not only between two.
pub struct KillAt {
    pub lines: usize,
    pub pause: Duration,
}

impl KillAt {
    /// The first trials die while the process starts (opening or making the database); the
    /// others after a random number of acknowledged commands, below `most`.
    pub fn for_trial(rng: &mut Rng, n: u64, most: usize) -> KillAt {
        if n < 2 {
            KillAt {
                lines: 0,
                pause: Duration::from_millis(10 + rng.below(150) as u64),
            }
        } else {
            KillAt {
                lines: rng.below(most),
                pause: Duration::from_millis(rng.below(50) as u64),
            }
        }
    }
}

/// Kills `child` (its stdout piped) with SIGKILL at `at`: no chance to commit, roll back or say
/// goodbye. Every line it printed, in order.
pub fn kill_at(child: &mut Child, at: &KillAt) -> Vec<String> {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    while printed.len() < at.lines {
        match rx.recv() {
            Ok(line) => printed.push(line),
            // The script ended first: the kill finds it done, and every line is checked.
            Err(mpsc::RecvError) => break,
        }
    }
    std::thread::sleep(at.pause);
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    printed.extend(rx.try_iter());
    printed
}

/// A long, varied script: mechanics, intakes, accepts, clock-outs and ins, waitlist joins,
/// completes, cancels and clock advances.
pub fn script(rng: &mut Rng, mechanics: u64) -> Vec<Value> {
    let mut lines = vec![json!({"cmd": "set_flag", "enabled": false})];
    // Room for many sessions each, so accepts keep landing (capacity is not what this tests).
    for m in 0..mechanics {
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
            0 | 1 => lines.push(
                json!({"cmd": "accept", "session": session, "mechanic": format!("m{}", rng.below(mechanics as usize))}),
            ),
            2 => lines.push(
                json!({"cmd": "join_waitlist", "id": format!("W{i}"), "session": session}),
            ),
            3 => {
                let m = format!("m{}", rng.below(mechanics as usize));
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

pub fn count(conn: &Db, sql: Sql<'_>, params: &[&str]) -> i64 {
    let values: Vec<&dyn pitwall::store::db::ToValue> = params
        .iter()
        .map(|p| p as &dyn pitwall::store::db::ToValue)
        .collect();
    conn.query_row(sql, values.as_slice(), |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
}

/// What an acknowledged command must have left in the database.
pub fn assert_durable(conn: &Db, command: &Value) {
    let (sql, keys): (Sql<'static>, &[&str]) = match command["cmd"].as_str().unwrap() {
        "add_mechanic" => (
            pitwall::sql!("SELECT COUNT(*) FROM mechanics WHERE id = ?1"),
            &["id"],
        ),
        "intake" => (
            pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE id = ?1"),
            &["id"],
        ),
        "join_waitlist" => (
            pitwall::sql!("SELECT COUNT(*) FROM customer_waitlist WHERE id = ?1"),
            &["id"],
        ),
        "accept" => (
            pitwall::sql!(
                "SELECT COUNT(*) FROM session_assignments WHERE session_id = ?1 AND mechanic_id = ?2 \
             AND status = 'accepted'"
            ),
            &["session", "mechanic"],
        ),
        "complete" => (
            pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE id = ?1 AND status = 'completed'"),
            &["session"],
        ),
        "cancel" => (
            pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE id = ?1 AND status = 'cancelled'"),
            &["session"],
        ),
        "clock_in" | "clock_out" | "set_flag" | "advance" => return,
        other => panic!("unexpected command {other}"),
    };
    let params: Vec<&str> = keys.iter().map(|k| command[*k].as_str().unwrap()).collect();
    let n = count(conn, sql, &params);
    assert_eq!(n, 1, "acknowledged {command} is not in the database");
}
