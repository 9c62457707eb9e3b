//! Four phones race for the same 200 sessions over HTTP: each session has exactly one winner,
//! every other answer is a coded 409, and the file passes `pitwall check` afterwards.

use crate::common;

use std::collections::HashMap;

use common::server::{ROOMY, Server, agent, post, post_raw, token};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

const SESSIONS: usize = 200;
const PHONES: [&str; 4] = ["r1", "r2", "r3", "r4"];

#[test]
fn four_phones_accepting_the_same_200_sessions_make_exactly_one_winner_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(common::database_in(dir.path(), "race.db"));
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
        // Each is waiting with targeted offers to three of the four; the fourth phone is told
        // not_offered (a coded 409) until the broadcast opens.
        for n in 0..SESSIONS {
            let s = ok(&mut e, json!({"cmd": "session", "id": format!("R{n}")}));
            assert_eq!(s["session"]["status"], "waiting");
        }
    }
    let tokens: Vec<String> = PHONES
        .iter()
        .map(|m| token(&db, "mechanic", Some(m)))
        .collect();
    let mut server = Server::start(&db, ROOMY);
    let results: Vec<Vec<(usize, u16, String)>> = std::thread::scope(|scope| {
        let server = &server;
        let handles: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(i, tok)| {
                scope.spawn(move || {
                    let agent = agent();
                    // Each phone starts at a different place and wraps, so they collide all
                    // the way through.
                    (0..SESSIONS)
                        .map(|k| (k + i * SESSIONS / PHONES.len()) % SESSIONS)
                        .map(|n| {
                            let a = post(
                                &agent,
                                server,
                                tok,
                                &json!({"cmd": "accept", "session": format!("R{n}")}),
                            );
                            let code = a.body["error"]["code"].as_str().unwrap_or("").to_string();
                            (n, a.status, code)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut winners: HashMap<usize, usize> = HashMap::new();
    for phone in &results {
        assert_eq!(phone.len(), SESSIONS);
        for (n, status, code) in phone {
            match status {
                200 => *winners.entry(*n).or_default() += 1,
                409 => assert!(
                    matches!(code.as_str(), "already_taken" | "not_offered"),
                    "R{n}: {code}"
                ),
                other => panic!("R{n}: status {other} {code}"),
            }
        }
    }
    assert_eq!(winners.len(), SESSIONS, "every session has a winner");
    assert!(winners.values().all(|w| *w == 1), "exactly one each");
    assert!(server.stop().unwrap().success());
    common::server::assert_check_passes(&db);
    let conn = pitwall::store::open(Some(&db)).unwrap();
    let matched: i64 = conn
        .query_row(
            pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE status = 'matched'"),
            pitwall::params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(matched, SESSIONS as i64);
}

/// SIGTERM while four booking forms keep sending: every intake the server answered 200 is in
/// the file, the server exits 0, and the file passes `pitwall check` (nothing half-done).
#[test]
fn sigterm_under_load_loses_no_acknowledged_intake() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(common::database_in(dir.path(), "stop.db"));
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        common::roster(&mut e);
    }
    let form = token(&db, "intake", None);
    let mut server = Server::start(&db, ROOMY);
    let addr = server.addr.clone();
    let answered = std::sync::atomic::AtomicUsize::new(0);
    let acknowledged: Vec<String> = std::thread::scope(|scope| {
        let forms: Vec<_> = (0..4)
            .map(|f| {
                let (addr, form, answered) = (&addr, &form, &answered);
                scope.spawn(move || {
                    let agent = agent();
                    let mut ids = Vec::new();
                    // The server assigns each booking's id (a form may not choose one).
                    let mut booking = intake("-", json!({}));
                    booking.as_object_mut().unwrap().remove("id");
                    let booking = booking.to_string();
                    for n in 0.. {
                        let id = format!("F{f}-{n}");
                        let sent = agent
                            .post(format!("http://{addr}/v1/commands"))
                            .header("Authorization", &format!("Bearer {form}"))
                            .header("Content-Type", "application/json")
                            .send(&booking);
                        match sent {
                            Ok(mut resp) if resp.status().as_u16() == 200 => {
                                // Cut off mid-answer by the stop: not acknowledged.
                                let Ok(text) = resp.body_mut().read_to_string() else {
                                    break;
                                };
                                let body: serde_json::Value = serde_json::from_str(&text).unwrap();
                                ids.push(body["session"]["id"].as_str().unwrap().to_string());
                                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Ok(resp) => {
                                // A stopping server answers busy; nothing else is expected.
                                assert_eq!(resp.status().as_u16(), 503, "{id}");
                            }
                            Err(_) => break, // the server is gone
                        }
                    }
                    ids
                })
            })
            .collect();
        // The forms send until the server is gone: some requests meet it closing. It stops
        // once the load has run a while (by answers, not by the clock: a busy machine, or
        // PostgreSQL beside other tests, answers fewer in a given time), and at most after 10 s.
        let started = std::time::Instant::now();
        while answered.load(std::sync::atomic::Ordering::Relaxed) < 60
            && started.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let status = server.stop().expect("stopped within 10 s");
        assert!(status.success(), "{status:?}");
        forms.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        acknowledged.len() > 20,
        "the load ran: {}",
        acknowledged.len()
    );
    let conn = pitwall::store::open(Some(&db)).unwrap();
    for id in &acknowledged {
        let n: i64 = conn
            .query_row(
                pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE id = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{id} was acknowledged but is not in the file");
    }
    common::server::assert_check_passes(&db);
}

/// Eight booking forms at once, a third of their bookings refused (a postal code that is not
/// Canadian), each sent with an Idempotency-Key: the server commits the commands queued
/// together in one transaction, and each still stands or falls alone. Every good booking is
/// answered 200 with its own session, in the file with its offers; every refused one is a coded
/// 422 that left nothing (its key's claim, written before the command ran, undone with it);
/// each key sent again replays its own first answer; `check` passes.
#[test]
fn bookings_committed_together_stand_or_fall_each_on_its_own() {
    const FORMS: usize = 8;
    const EACH: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(common::database_in(dir.path(), "group.db"));
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        common::roster(&mut e);
    }
    let form = token(&db, "intake", None);
    let mut server = Server::start(&db, ROOMY);
    let answers: Vec<(bool, u16, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..FORMS)
            .map(|f| {
                let (server, form) = (&server, &form);
                scope.spawn(move || {
                    let agent = agent();
                    (0..EACH)
                        .map(|n| {
                            let good = (f + n) % 3 != 0;
                            let postal = if good { "M5V 3L9" } else { "90210" };
                            let mut booking = intake("-", json!({}));
                            booking["location"]["postal_code"] = json!(postal);
                            booking.as_object_mut().unwrap().remove("id");
                            let key = format!("form-{f}-{n}");
                            let headers = [("Idempotency-Key", key.as_str())];
                            let body = booking.to_string();
                            let a = post_raw(&agent, server, Some(form), &headers, &body);
                            assert!(!a.replayed, "{key}: a first answer");
                            let again = post_raw(&agent, server, Some(form), &headers, &body);
                            assert!(again.replayed, "{key}: the kept answer");
                            assert_eq!(
                                (again.status, &again.body["session"]["id"]),
                                (a.status, &a.body["session"]["id"]),
                                "{key}"
                            );
                            (good, a.status, a.body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(server.stop().unwrap().success());
    let conn = pitwall::store::open(Some(&db)).unwrap();
    let count = |sql: pitwall::store::Sql<'_>, id: &str| -> i64 {
        conn.query_row(sql, [id], |r| r.get(0)).unwrap()
    };
    let mut good = 0;
    for (expected, status, body) in &answers {
        if *expected {
            assert_eq!(*status, 200, "{body}");
            let id = body["session"]["id"].as_str().unwrap();
            let in_file = pitwall::sql!("SELECT COUNT(*) FROM sessions WHERE id = ?1");
            assert_eq!(
                count(in_file, id),
                1,
                "{id} answered 200 but is not in the file"
            );
            let offers =
                pitwall::sql!("SELECT COUNT(*) FROM session_assignments WHERE session_id = ?1");
            assert!(count(offers, id) > 0, "{id} has its offers");
            good += 1;
        } else {
            assert_eq!(*status, 422, "{body}");
            assert_eq!(body["error"]["code"], "invalid_input", "{body}");
        }
    }
    let all: i64 = conn
        .query_row(
            pitwall::sql!("SELECT COUNT(*) FROM sessions"),
            pitwall::params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(all, good, "a refused booking left a session behind");
    common::server::assert_check_passes(&db);
}
