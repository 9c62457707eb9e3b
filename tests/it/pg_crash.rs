//! SIGKILL on PostgreSQL (SPEC §15): a writer killed at random moments leaves nothing
//! half-applied. `pitwall headless` running a long script, and `pitwall serve` under the load of
//! four booking forms, are each killed several times; afterwards every command they acknowledged
//! (an `ok` line printed, an HTTP 200 received) is in the database and `pitwall check --db URL`
//! passes. The SQLite version is tests/it/crash.rs. Ignored without
//! `PITWALL_TEST_POSTGRES` (see common/pg.rs).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::pg::{self, TestDb};
use common::server::{ROOMY, Server, agent, assert_check_passes, token};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::synth::Rng;
use serde_json::{Value, json};

/// One headless run on a fresh schema of `database`, killed after a random pause; the number of
/// lines it printed.
fn headless_trial(database: &str, dir: &Path, n: u64) -> usize {
    let mut rng = Rng::new(2000 + n);
    let url = pg::fresh_schema(database);
    let db = PathBuf::from(&url);
    let script_path = dir.join(format!("crash-{n}.jsonl"));
    let commands = common::crash::script(&mut rng, 8);
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
    // The first two kills land while it starts (connecting, or making the schema: the first
    // process on a schema makes it), the others within its first 120 commands.
    let printed = common::crash::kill_at(
        &mut child,
        &common::crash::KillAt::for_trial(&mut rng, n, 120),
    );

    // The database opens, every invariant holds, and every command answered `ok` before the
    // kill is in it.
    drop(Engine::open(Some(&db), Clock::manual_default()).unwrap());
    assert_check_passes(&db);
    let conn = pitwall::store::open(Some(&db)).unwrap();
    for (line, command) in printed.iter().zip(&commands) {
        let response: Value = serde_json::from_str(line).expect("a printed line is whole JSON");
        assert_eq!(response["cmd"], command["cmd"], "responses follow commands");
        if response["ok"] == true {
            common::crash::assert_durable(&conn, command);
        }
    }
    printed.len()
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn every_command_headless_acknowledged_survives_sigkill() {
    let server = pg::required_server();
    let trials: u64 = std::env::var("PITWALL_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let database = TestDb::create(&server);
    let dir = tempfile::tempdir().unwrap();
    let acknowledged: Vec<usize> = (0..trials)
        .map(|n| headless_trial(&database.url, dir.path(), n))
        .collect();
    eprintln!("{trials} kills; lines acknowledged before each kill: {acknowledged:?}");
    assert!(
        acknowledged.iter().any(|n| *n > 50),
        "some kills land mid-run"
    );
}

/// Four booking forms send intakes to `server` until it is gone; the ids it answered 200, each
/// counted in `answered` as it comes.
fn forms_until_gone(
    server: &Server,
    form: &str,
    round: usize,
    answered: &std::sync::atomic::AtomicUsize,
) -> Vec<String> {
    std::thread::scope(|scope| {
        let forms: Vec<_> = (0..4)
            .map(|f| {
                let addr = &server.addr;
                scope.spawn(move || {
                    let agent = agent();
                    let mut ids = Vec::new();
                    // The server assigns each booking's id (a form may not choose one).
                    let mut booking = common::intake("-", json!({}));
                    booking.as_object_mut().unwrap().remove("id");
                    let booking = booking.to_string();
                    for n in 0.. {
                        let id = format!("F{round}-{f}-{n}");
                        let sent = agent
                            .post(format!("http://{addr}/v1/commands"))
                            .header("Authorization", &format!("Bearer {form}"))
                            .header("Content-Type", "application/json")
                            .send(&booking);
                        match sent {
                            Ok(mut resp) if resp.status().as_u16() == 200 => {
                                // Cut off mid-answer by the kill: not acknowledged.
                                let Ok(text) = resp.body_mut().read_to_string() else {
                                    break;
                                };
                                let body: serde_json::Value = serde_json::from_str(&text).unwrap();
                                ids.push(body["session"]["id"].as_str().unwrap().to_string());
                                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Ok(resp) => panic!("{id}: status {}", resp.status()),
                            Err(_) => break, // the server is gone
                        }
                    }
                    ids
                })
            })
            .collect();
        forms.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn every_intake_serve_answered_200_survives_sigkill() {
    let server = pg::required_server();
    let database = TestDb::create(&server);
    let db = PathBuf::from(&database.url);
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        common::roster(&mut e);
    }
    let form = token(&db, "intake", None);
    let mut rng = Rng::new(77);
    let mut acknowledged = Vec::new();
    let mut per_round = Vec::new();
    for round in 0..4 {
        // Each round starts a server on what the last kill left, and kills it under load.
        let mut serve = Server::start(&db, ROOMY);
        let answered = std::sync::atomic::AtomicUsize::new(0);
        let ids = std::thread::scope(|scope| {
            let forms = scope.spawn(|| forms_until_gone(&serve, &form, round, &answered));
            // Under load first (by answers, not by the clock: a busy machine answers fewer in
            // a given time), then a random moment later.
            let started = std::time::Instant::now();
            while answered.load(std::sync::atomic::Ordering::Relaxed) <= 10
                && started.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(rng.below(700) as u64));
            // The forms hold `serve` by reference: kill it through its pid.
            unsafe {
                libc::kill(serve.pid().expect("running") as i32, libc::SIGKILL);
            }
            forms.join().unwrap()
        });
        serve.kill(); // reaps it
        per_round.push(ids.len());
        acknowledged.extend(ids);
    }
    eprintln!("intakes answered 200 before each of 4 kills: {per_round:?}");
    assert!(
        per_round.iter().all(|n| *n > 10),
        "every kill landed under load: {per_round:?}"
    );
    let conn = pitwall::store::open(Some(&db)).unwrap();
    for id in &acknowledged {
        assert_eq!(
            common::crash::count(
                &conn,
                pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE id = ?1"),
                &[id]
            ),
            1,
            "{id} was answered 200 but is not in the database"
        );
    }
    assert_check_passes(&db);
}
