//! Kill `pitwall headless` with SIGKILL at random moments of a long script; after every kill the
//! database opens, `check` passes, and every command whose `ok` line was printed is in it.
//! For a longer run: `PITWALL_CRASH_TRIALS=200 cargo test --release --test it -- --nocapture
//! --exact crash::every_acknowledged_command_survives_sigkill`.

use std::path::Path;
use std::process::{Command, Stdio};

use pitwall::synth::Rng;
use serde_json::Value;

use crate::common::crash as shared;

fn trial(dir: &Path, n: u64) -> usize {
    let mut rng = Rng::new(1000 + n);
    let db = dir.join(format!("crash-{n}.db"));
    let script_path = dir.join(format!("crash-{n}.jsonl"));
    let commands = shared::script(&mut rng, 12);
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
    // The first two kills land while it starts (making or recovering the file), the others
    // within its first 400 commands.
    let printed = shared::kill_at(&mut child, &shared::KillAt::for_trial(&mut rng, n, 400));

    // The database opens (and recovers its WAL), and every invariant holds.
    drop(
        pitwall::engine::Engine::open(Some(&db), pitwall::clock::Clock::manual_default()).unwrap(),
    );
    let report = pitwall::admin::check(&db).unwrap();
    assert!(report.ok(), "trial {n}: {}", report.to_text());

    // Every command answered `ok` before the kill is in the database.
    let conn = pitwall::store::open(Some(&db)).unwrap();
    for (line, command) in printed.iter().zip(&commands) {
        let response: Value = serde_json::from_str(line).expect("a printed line is whole JSON");
        assert_eq!(response["cmd"], command["cmd"], "responses follow commands");
        if response["ok"] == true {
            shared::assert_durable(&conn, command);
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
