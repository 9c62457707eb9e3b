//! Several hosts on one PostgreSQL database (SPEC §15), each a real `pitwall` process on
//! loopback: two `pitwall serve` processes with mechanics' phones on both racing for the same
//! sessions, and consoles on either side seeing changes made elsewhere within a second (the
//! LISTEN/NOTIFY path across processes). Ignored without
//! `PITWALL_TEST_POSTGRES` (see common/pg.rs).

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::{self, TestDb};
use common::server::{ROOMY, Server, agent, assert_check_passes, post, token};
use common::terminal::{Terminal, wait_for};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::{Value, json};

const SESSIONS: usize = 200;
const PHONES: [&str; 4] = ["r1", "r2", "r3", "r4"];
/// How often a phone tries again after a `busy` (503) before the test gives up: a real phone
/// honours Retry-After and tries again.
const BUSY_RETRIES: usize = 20;

/// One phone's accept of one session: (session, phone, status, error code, `busy` answers
/// before it).
type Attempt = (usize, usize, u16, String, usize);

/// A database of the test's own on the PostgreSQL server (dropped at the end).
fn database() -> (TestDb, PathBuf) {
    let server = pg::required_server();
    let db = TestDb::create(&server);
    let path = PathBuf::from(&db.url);
    (db, path)
}

/// Every accepted assignment's mechanic, by session, as the database has it.
fn accepted_by_session(db: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = pitwall::store::open(Some(db)).unwrap();
    let mut accepted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    conn.prepare(pitwall::sql!(
        "SELECT session_id, mechanic_id FROM session_assignments WHERE status = 'accepted' \
         ORDER BY seq"
    ))
    .unwrap()
    .for_each_row(pitwall::params![], |r| {
        accepted.entry(r.get(0)?).or_default().push(r.get(1)?);
        Ok(())
    })
    .unwrap();
    accepted
}

/// Each session's status and matched mechanic, as the database has it.
fn sessions(db: &Path) -> BTreeMap<String, (String, Option<String>)> {
    let conn = pitwall::store::open(Some(db)).unwrap();
    let mut out = BTreeMap::new();
    conn.prepare(pitwall::sql!(
        "SELECT id, status, matched_mechanic_id FROM sessions"
    ))
    .unwrap()
    .for_each_row(pitwall::params![], |r| {
        out.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn phones_on_two_servers_accepting_the_same_sessions_make_exactly_one_winner_each() {
    let (_pg, db) = database();
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        for id in PHONES {
            // Room for every session: the race is for the session, not for capacity.
            ok(
                &mut e,
                mechanic(id, true, json!({"max_active_sessions": 10000})),
            );
        }
        for n in 0..SESSIONS {
            ok(&mut e, intake(&format!("R{n}"), json!({})));
        }
        for n in 0..SESSIONS {
            let s = ok(&mut e, json!({"cmd": "session", "id": format!("R{n}")}));
            assert_eq!(s["session"]["status"], "waiting");
        }
    }
    let tokens: Vec<String> = PHONES
        .iter()
        .map(|m| token(&db, "mechanic", Some(m)))
        .collect();
    let mut servers = [Server::start(&db, ROOMY), Server::start(&db, ROOMY)];
    assert_ne!(servers[0].addr, servers[1].addr);
    let started = Instant::now();
    let results: Vec<Vec<Attempt>> = std::thread::scope(|scope| {
        let servers = &servers;
        let handles: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(i, tok)| {
                scope.spawn(move || {
                    let agent = agent();
                    // Each phone starts at a different place and wraps, so they collide all the
                    // way through; each switches server on every request, so every session is
                    // asked for through both servers.
                    (0..SESSIONS)
                        .map(|k| (k, (k + i * SESSIONS / PHONES.len()) % SESSIONS))
                        .map(|(k, n)| {
                            let server = &servers[(k + i) % 2];
                            let body = json!({"cmd": "accept", "session": format!("R{n}")});
                            let mut busy = 0;
                            loop {
                                let a = post(&agent, server, tok, &body);
                                let code =
                                    a.body["error"]["code"].as_str().unwrap_or("").to_string();
                                if a.status == 503 && busy < BUSY_RETRIES {
                                    busy += 1;
                                    std::thread::sleep(Duration::from_millis(20));
                                    continue;
                                }
                                return (n, i, a.status, code, busy);
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut winners: HashMap<usize, Vec<usize>> = HashMap::new();
    let (mut taken, mut not_offered, mut busy) = (0, 0, 0);
    for phone in &results {
        assert_eq!(phone.len(), SESSIONS);
        for (n, i, status, code, retries) in phone {
            busy += retries;
            match (status, code.as_str()) {
                (200, _) => winners.entry(*n).or_default().push(*i),
                (409, "already_taken") => taken += 1,
                (409, "not_offered") => not_offered += 1,
                (other, code) => panic!("R{n}: status {other} {code}"),
            }
        }
    }
    eprintln!(
        "{} accepts through two servers in {elapsed:?}: {} won, {taken} already_taken, \
         {not_offered} not_offered, {busy} busy answers tried again",
        SESSIONS * PHONES.len(),
        winners.len()
    );
    assert_eq!(winners.len(), SESSIONS, "every session has a winner");
    for (n, w) in &winners {
        assert_eq!(w.len(), 1, "R{n} has winners {w:?}");
    }
    assert!(taken > 0, "the phones really collided");
    for s in &mut servers {
        assert!(s.stop().unwrap().success(), "{}", s.log_text());
    }

    // The database agrees: one accepted assignment per session, to the phone told it won, and
    // the session matched to that mechanic.
    let accepted = accepted_by_session(&db);
    let sessions = sessions(&db);
    for (n, w) in &winners {
        let id = format!("R{n}");
        let winner = PHONES[w[0]].to_string();
        assert_eq!(accepted.get(&id), Some(&vec![winner.clone()]), "{id}");
        assert_eq!(
            sessions.get(&id),
            Some(&("matched".to_string(), Some(winner))),
            "{id}"
        );
    }
    assert_eq!(accepted.len(), SESSIONS);
    assert_check_passes(&db);
}

/// The status line's session counts, as a dispatcher reads them.
fn counts(waiting: usize, matched: usize) -> String {
    format!("waiting {waiting} · matched {matched}")
}

/// After `change`, how long each console takes to show `expected` (polled every 10 ms); fails
/// past a second.
fn refresh_times(consoles: &[&Terminal], expected: &str, change: impl FnOnce()) -> Vec<Duration> {
    for c in consoles {
        assert!(!c.capture().contains(expected), "{}", c.capture());
    }
    change();
    let changed = Instant::now();
    let mut seen: Vec<Option<Duration>> = vec![None; consoles.len()];
    while seen.iter().any(Option::is_none) {
        for (c, at) in consoles.iter().zip(&mut seen) {
            if at.is_none() && c.capture().contains(expected) {
                *at = Some(changed.elapsed());
            }
        }
        if changed.elapsed() > Duration::from_secs(1) {
            let late: Vec<String> = consoles
                .iter()
                .zip(&seen)
                .filter(|(_, at)| at.is_none())
                .map(|(c, _)| c.capture())
                .collect();
            panic!(
                "not shown within a second ({expected}):\n{}",
                late.join("\n---\n")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    seen.into_iter().map(Option::unwrap).collect()
}

/// A running `pitwall headless --clock system --db DB`, answering one command at a time, so the
/// clock can start at its `ok` (after its commit) rather than at its exit.
struct Headless {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Headless {
    fn start(db: &Path) -> Headless {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["headless", "--clock", "system", "--db"])
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut h = Headless {
            child,
            stdin,
            stdout,
        };
        h.run(&json!({"cmd": "now"})); // it has opened the database
        h
    }

    /// Sends `command` and waits for its answer, which must be ok.
    fn run(&mut self, command: &serde_json::Value) {
        writeln!(self.stdin, "{command}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(line.contains("\"ok\":true"), "{command}: {line}");
    }

    fn finish(self) {
        drop(self.stdin);
        let status = self.child.wait_with_output().unwrap().status;
        assert!(status.success(), "{status:?}");
    }
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn consoles_on_either_side_show_changes_from_other_hosts_within_a_second() {
    let (_pg, db) = database();
    let home = tempfile::tempdir().unwrap();
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        ok(
            &mut e,
            mechanic("t1", true, json!({"max_active_sessions": 10})),
        );
        ok(&mut e, intake("S1", json!({})));
        ok(&mut e, intake("S2", json!({})));
    }
    let phone = token(&db, "mechanic", Some("t1"));
    let servers = [Server::start(&db, ROOMY), Server::start(&db, ROOMY)];
    // A console beside each server: two more processes on the database, each with its own
    // LISTEN connection.
    let args = format!("--db '{}'", db.display());
    let consoles: Vec<Terminal> = ["pg-host-a", "pg-host-b"]
        .iter()
        .map(|name| {
            let dir = home.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            Terminal::start(name, &dir, &args, 120, 40)
        })
        .collect();
    for c in &consoles {
        wait_for("a console to show the two waiting sessions", || {
            c.capture().contains(&counts(2, 0))
        });
    }
    let both: Vec<&Terminal> = consoles.iter().collect();
    let agent = agent();
    let accept = |server: &Server, session: &str| {
        let a = post(
            &agent,
            server,
            &phone,
            &json!({"cmd": "accept", "session": session}),
        );
        assert_eq!(a.status, 200, "{:?}", a.body);
    };
    let mut headless = Headless::start(&db);
    let mut measured = Vec::new();
    measured.push((
        "accept through serve A",
        refresh_times(&both, &counts(1, 1), || accept(&servers[0], "S1")),
    ));
    measured.push((
        "accept through serve B",
        refresh_times(&both, &counts(0, 2), || accept(&servers[1], "S2")),
    ));
    measured.push((
        "intake by headless",
        refresh_times(&both, &counts(1, 2), || {
            headless.run(&intake("S3", json!({})))
        }),
    ));
    for (what, times) in &measured {
        eprintln!(
            "{what}: console A after {:?}, console B after {:?}",
            times[0], times[1]
        );
    }
    headless.finish();
    for c in &consoles {
        c.keys("C-c");
        assert_eq!(c.exit_status(), 0);
    }
    drop(servers);
    assert_check_passes(&db);
}

/// A console whose server sessions are ended (a PostgreSQL restart, a network cut) reconnects
/// by itself at its next tick, shows no lasting error, and goes on showing changes.
#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_console_reconnects_after_losing_its_server_connection() {
    let (pg_db, db) = database();
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        ok(&mut e, mechanic("t1", true, json!({})));
    }
    let home = tempfile::tempdir().unwrap();
    let args = format!("--db '{}'", db.display());
    let console = Terminal::start("pg-lost", home.path(), &args, 120, 40);
    wait_for("the console to draw", || {
        console.capture().contains(&counts(0, 0))
    });

    let admin = pitwall::store::pg::PgConn::connect(&pg_db.url).unwrap();
    let console_sessions = || -> Vec<i64> {
        admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'pitwall' AND pid <> pg_backend_pid() ORDER BY pid",
                &[],
            )
            .unwrap()
            .into_iter()
            .map(|row| match row[0] {
                pitwall::store::value::Value::Integer(pid) => pid,
                ref other => panic!("{other:?}"),
            })
            .collect()
    };
    let before = console_sessions();
    assert!(!before.is_empty(), "the console is connected");
    // End every session of the console's (its engine's and its listener's).
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    // Its once-a-second tick finds the connection gone and makes a new one, unasked.
    wait_for("the console's new session", || {
        let now = console_sessions();
        !now.is_empty() && now.iter().all(|pid| !before.contains(pid))
    });
    wait_for("no error left in the status line", || {
        let screen = console.capture();
        !screen.contains("Lost the connection") && !screen.contains("busy")
    });

    // Still live: a change made elsewhere shows.
    let mut e = Engine::open(Some(&db), Clock::System).unwrap();
    ok(&mut e, intake("S1", json!({})));
    wait_for("the new session", || {
        console.capture().contains(&counts(1, 0))
    });

    console.keys("C-c");
    assert_eq!(console.exit_status(), 0);
}

/// One Idempotency-Key sent to two servers at once (a client retrying through a load balancer
/// that picked the other host): the command runs once, and both answers are its answer.
#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn two_servers_racing_one_idempotency_key_run_the_command_once() {
    let (_pg, db) = database();
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        common::roster(&mut e);
    }
    let form = token(&db, "intake", None);
    let servers = [Server::start(&db, ROOMY), Server::start(&db, ROOMY)];
    let mut booking = intake("-", json!({}));
    booking.as_object_mut().unwrap().remove("id");
    let booking = booking.to_string();
    const KEYS: usize = 40;
    for k in 0..KEYS {
        let key = format!("race-{k}");
        let answers: Vec<common::server::Answer> = std::thread::scope(|scope| {
            let sends: Vec<_> = servers
                .iter()
                .map(|server| {
                    let (key, booking, form) = (&key, &booking, &form);
                    scope.spawn(move || {
                        common::server::post_raw(
                            &agent(),
                            server,
                            Some(form),
                            &[("Idempotency-Key", key)],
                            booking,
                        )
                    })
                })
                .collect();
            sends.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for a in &answers {
            assert_eq!(a.status, 200, "{key}: {:?}", a.body);
        }
        // The same answer, but for the status link: each answer carries one of its own (a
        // replay makes a new one, as the first one's code is stored nowhere), to one page.
        let without_link = |v: &Value| {
            let mut v = v.clone();
            let link = v.as_object_mut().unwrap().remove("status_url");
            assert!(
                link.is_some_and(|l| l.is_string()),
                "{key}: a status link: {v}"
            );
            v
        };
        assert_eq!(
            without_link(&answers[0].body),
            without_link(&answers[1].body),
            "{key}: two different answers"
        );
        assert_eq!(
            answers.iter().filter(|a| a.replayed).count(),
            1,
            "{key}: one ran it, the other replayed it"
        );
    }
    assert_eq!(sessions(&db).len(), KEYS, "one session per key");
    assert_check_passes(&db);
}
