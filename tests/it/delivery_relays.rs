//! Relays as separate processes on one database file (SPEC §12): killed mid-pass at random
//! moments, nothing is lost and a repeat is only ever the same id again; two relays under
//! steady traffic never have one row in flight at once, and each row goes out once.

use crate::common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::receivers::{Behaviour, SECRET, Webhooks};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

fn setup(dir: &Path, hooks: &Webhooks, lease_seconds: u32) -> (PathBuf, PathBuf, Engine) {
    let db = dir.join("relays.db");
    let config = dir.join("pitwall.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery]\nsecret = \"{SECRET}\"\nlease_seconds = {lease_seconds}\n\
             send_timeout_ms = 1000\n\
             [delivery.email]\nwebhook = \"{}\"\n[delivery.dispatcher]\nwebhook = \"{}\"\n",
            hooks.url("email"),
            hooks.url("dispatch")
        ),
    )
    .unwrap();
    let mut engine = Engine::open(Some(&db), Clock::System).unwrap();
    for i in 0..4 {
        ok(
            &mut engine,
            mechanic(
                &format!("m{i}"),
                true,
                json!({"max_active_sessions": 10000}),
            ),
        );
    }
    (db, config, engine)
}

fn relay(db: &Path, config: &Path, out: Option<&Path>) -> Child {
    let stdout = match out {
        Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
        None => Stdio::null(),
    };
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["relay", "--db"])
        .arg(db)
        .arg("--config")
        .arg(config)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn rows(engine: &Engine) -> Vec<(String, String)> {
    let conn = engine.connection();
    let mut stmt = conn
        .prepare(pitwall::sql!(
            "SELECT id, status FROM notifications ORDER BY rowid"
        ))
        .unwrap();
    stmt.query_map(pitwall::params![], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn wait_all_sent(engine: &Engine, limit: Duration) {
    let started = Instant::now();
    loop {
        let pending = rows(engine).iter().filter(|(_, s)| s != "sent").count();
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{pending} rows still not sent after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_relay_killed_mid_pass_loses_nothing_and_repeats_only_the_same_id() {
    let hooks = Webhooks::start(Behaviour {
        delay: Duration::from_millis(3),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    // The shortest lease a one-second send timeout allows: what the killed relays held comes
    // back after two seconds.
    let (db, config, mut engine) = setup(dir.path(), &hooks, 2);
    for i in 0..150 {
        ok(&mut engine, intake(&format!("S{i}"), json!({})));
    }
    let all: HashSet<String> = rows(&engine).into_iter().map(|(id, _)| id).collect();
    assert_eq!(all.len(), 450);

    // Different moments each run, from a seed printed for a replay.
    let seed: u64 = pitwall::random::fresh_range(0..u64::MAX);
    eprintln!("kill moments seed: {seed}");
    let mut moments = pitwall::random::seeded(seed);
    for _ in 0..6 {
        let mut child = relay(&db, &config, None);
        std::thread::sleep(Duration::from_millis(rand::Rng::random_range(
            &mut moments,
            60..400,
        )));
        child.kill().unwrap(); // SIGKILL: no chance to give rows back
        child.wait().unwrap();
    }
    let mut last = relay(&db, &config, None);
    // Rows the killed relays held come back after their 2 s lease.
    wait_all_sent(&engine, Duration::from_secs(60));
    last.kill().unwrap();
    last.wait().unwrap();

    let seen = hooks.seen.lock().unwrap();
    let delivered: HashSet<&String> = seen.delivered.keys().collect();
    assert_eq!(delivered.len(), all.len(), "every row arrived");
    assert!(delivered.iter().all(|id| all.contains(*id)), "only row ids");
    assert!(
        seen.concurrent.is_empty(),
        "in flight twice: {:?}",
        seen.concurrent
    );
    assert_eq!(seen.bad_signatures, 0);
    let repeats = seen.delivered.values().filter(|n| **n > 1).count();
    eprintln!("rows delivered more than once (same id, dropped by receivers): {repeats}");
    // Only a row a relay died sending can repeat: at most one per send in flight when it died,
    // and a relay has at most four in flight on a channel (all of these go by email).
    assert!(repeats <= 6 * 4, "{repeats} repeats for 6 kills");
}

#[test]
fn two_relays_under_steady_traffic_never_send_a_row_twice() {
    let hooks = Webhooks::start(Behaviour {
        delay: Duration::from_millis(1),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (db, config, mut engine) = setup(dir.path(), &hooks, 60);
    let outs = [dir.path().join("a.jsonl"), dir.path().join("b.jsonl")];
    let mut relays: Vec<Child> = outs.iter().map(|o| relay(&db, &config, Some(o))).collect();

    // Steady traffic while both relays run: 200 intakes (600 offers), one every 10 ms.
    for i in 0..200 {
        ok(&mut engine, intake(&format!("S{i}"), json!({})));
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_all_sent(&engine, Duration::from_secs(60));
    for r in &mut relays {
        r.kill().unwrap();
        r.wait().unwrap();
    }

    let all: HashSet<String> = rows(&engine).into_iter().map(|(id, _)| id).collect();
    assert_eq!(all.len(), 600, "steady traffic made {} rows", all.len());
    let seen = hooks.seen.lock().unwrap();
    assert!(
        seen.concurrent.is_empty(),
        "in flight twice: {:?}",
        seen.concurrent
    );
    assert_eq!(seen.delivered.len(), all.len());
    assert!(
        seen.attempts.values().all(|n| *n == 1),
        "no row was sent twice"
    );
    // What each relay says it sent: together everything, in common nothing.
    let sent_by: Vec<HashSet<String>> = outs
        .iter()
        .map(|o| {
            std::fs::read_to_string(o)
                .unwrap()
                .lines()
                .flat_map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["sent"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .collect();
    assert!(sent_by[0].is_disjoint(&sent_by[1]));
    assert_eq!(sent_by[0].len() + sent_by[1].len(), all.len());
    eprintln!(
        "{} rows: relay A sent {}, relay B sent {}",
        all.len(),
        sent_by[0].len(),
        sent_by[1].len()
    );
}
