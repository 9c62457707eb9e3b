//! Four `pitwall headless` processes on one database file at once — intakes, accepts, declines,
//! clock in/out and ticks — never surface "database is locked", keep every invariant, and give
//! each contested session exactly one winner.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::common;

use pitwall::synth::Rng;
use serde_json::{Value, json};

const PROCESSES: usize = 4;
const SHARED: usize = 120;

fn shared_intake(i: usize) -> Value {
    json!({"cmd": "intake", "id": format!("S{i}"),
        "customer": {"name": "C", "email": format!("c{i}@example.com")},
        "location": {"country": "Canada", "city": "Toronto", "postal_code": "M5V 3L9"},
        "concern": "check engine light", "payment_method": "free"})
}

fn worker_script(p: usize) -> Vec<Value> {
    let mut rng = Rng::new(77 + p as u64);
    let mine = |k: usize| format!("p{p}m{k}");
    let mut lines = Vec::new();
    for i in 0..SHARED {
        // Everyone fights over the same sessions, through targeted offers and the broadcast.
        lines.push(
            json!({"cmd": "accept", "session": format!("S{i}"), "mechanic": mine(rng.below(3))}),
        );
        match rng.below(5) {
            0 => lines.push(json!({"cmd": "decline", "session": format!("S{}", rng.below(SHARED)), "mechanic": mine(rng.below(3))})),
            1 => {
                let m = mine(rng.below(3));
                lines.push(json!({"cmd": "clock_out", "mechanic": m}));
                lines.push(json!({"cmd": "clock_in", "mechanic": m}));
            }
            2 => lines.push(json!({"cmd": "tick"})),
            3 => {
                let mut intake = shared_intake(0);
                intake["id"] = json!(format!("P{p}-{i}"));
                lines.push(intake);
            }
            _ => lines.push(json!({"cmd": "queue", "mechanic": mine(0)})),
        }
    }
    lines
}

#[test]
fn four_processes_share_one_database_safely() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(common::database_in(dir.path(), "shared.db"));
    let mut setup = vec![json!({"cmd": "set_flag", "enabled": true})];
    for p in 0..PROCESSES {
        for k in 0..3 {
            setup.push(json!({"cmd": "add_mechanic", "id": format!("p{p}m{k}"), "name": format!("P{p} M{k}"),
                "city": "Toronto", "country": "Canada", "postal_code": "M5V 1A1",
                "profile_completion_score": 90, "currently_on_shift": true,
                "service_keywords": ["check engine light"], "years_experience": p * 3 + k,
                "max_active_sessions": 10_000}));
        }
    }
    // Half the shared sessions have targeted offers, half are broadcast-only (open to all).
    for i in 0..SHARED {
        if i == SHARED / 2 {
            setup.push(json!({"cmd": "set_flag", "enabled": false}));
        }
        setup.push(shared_intake(i));
    }
    let text: String = setup.iter().map(|l| format!("{l}\n")).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["headless", "--clock", "manual", "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let scripts: Vec<Vec<Value>> = (0..PROCESSES).map(worker_script).collect();
    let outputs = common::processes::run_together(&db, &scripts);

    let mut winners: HashMap<String, Vec<String>> = HashMap::new();
    let mut accepts_ok = 0;
    for (script, output) in scripts.iter().zip(&outputs) {
        assert_eq!(script.len(), output.len(), "one response per command");
        for (command, response) in script.iter().zip(output) {
            let code = response["error"]["code"].as_str().unwrap_or("");
            assert_ne!(code, "internal", "{command} → {response}");
            assert!(
                !response.to_string().contains("database is locked"),
                "{command} → {response}"
            );
            if command["cmd"] == "accept" && response["ok"] == true {
                accepts_ok += 1;
                winners
                    .entry(command["session"].as_str().unwrap().to_string())
                    .or_default()
                    .push(command["mechanic"].as_str().unwrap().to_string());
            }
        }
    }
    let report = pitwall::admin::check(&db).unwrap();
    assert!(report.ok(), "{}", report.to_text());
    let conn = pitwall::store::open(Some(&db)).unwrap();
    for (session, won) in &winners {
        assert_eq!(won.len(), 1, "{session} won by {won:?}");
        let matched: String = conn
            .query_row(
                pitwall::sql!("SELECT matched_mechanic_id FROM sessions WHERE id = ?1"),
                [session],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(&matched, &won[0]);
    }
    eprintln!(
        "{accepts_ok} accepts won across {} contested sessions",
        winners.len()
    );
    assert!(winners.len() > SHARED / 2, "most sessions were taken");
}
