//! `pitwall serve` as a booking form, a mechanic's phone and a dispatcher's script meet it: the
//! real binary on loopback, a real HTTP client, every role × command, every status code of
//! SPEC §13, tokens revoked at the next request, idempotent replay, the rate limit, the body
//! limit, the event stream and the OpenAPI text.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;

use common::server::{ROOMY, Server, agent, get, post, post_raw, token};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::{Value, json};

/// A database file with the test roster (t1–t4 on shift, `off` off shift) and session S1,
/// offered to the top three.
fn seeded(dir: &Path, name: &str) -> std::path::PathBuf {
    let db = dir.join(format!("{name}.db"));
    let mut e = Engine::open(Some(&db), Clock::System).unwrap();
    common::roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    db
}

fn code(a: &common::server::Answer) -> &str {
    a.body["error"]["code"].as_str().unwrap_or("")
}

/// One body per command, each parseable: what a role may not run is `forbidden` whatever it
/// holds; what it may run answers something else (ok, not_found, invalid_input…).
fn bodies() -> Vec<(&'static str, Value)> {
    let mut browse = intake("x", json!({}));
    browse["cmd"] = json!("browse");
    browse.as_object_mut().unwrap().remove("id");
    vec![
        ("add_mechanic", mechanic("perm-new", false, json!({}))),
        (
            "load_seeds",
            json!({"cmd": "load_seeds", "path": "/etc/passwd"}),
        ),
        ("clock_in", json!({"cmd": "clock_in", "mechanic": "t1"})),
        ("clock_out", json!({"cmd": "clock_out", "mechanic": "t1"})),
        ("intake", {
            // No id: an intake token may not choose one (the server assigns it).
            let mut i = intake("-", json!({}));
            i.as_object_mut().unwrap().remove("id");
            i
        }),
        ("browse", browse),
        (
            "sign_waiver",
            json!({"cmd": "sign_waiver", "session": "nope"}),
        ),
        (
            "confirm_payment",
            json!({"cmd": "confirm_payment", "session": "nope"}),
        ),
        (
            "accept",
            json!({"cmd": "accept", "session": "nope", "mechanic": "t1"}),
        ),
        (
            "decline",
            json!({"cmd": "decline", "session": "nope", "mechanic": "t1"}),
        ),
        ("complete", json!({"cmd": "complete", "session": "nope"})),
        ("cancel", json!({"cmd": "cancel", "session": "nope"})),
        ("queue", json!({"cmd": "queue", "mechanic": "t1"})),
        ("session", json!({"cmd": "session", "id": "S1"})),
        (
            "join_waitlist",
            json!({"cmd": "join_waitlist", "session": "nope"}),
        ),
        (
            "cancel_waitlist",
            json!({"cmd": "cancel_waitlist", "id": "nope"}),
        ),
        ("waitlist", json!({"cmd": "waitlist"})),
        ("notifications", json!({"cmd": "notifications"})),
        ("deliver", json!({"cmd": "deliver"})),
        (
            "set_preferred",
            json!({"cmd": "set_preferred", "session": "nope", "mechanic": "t1"}),
        ),
        ("mechanics", json!({"cmd": "mechanics"})),
        (
            "eligibility",
            json!({"cmd": "eligibility", "session": "nope"}),
        ),
        ("set_flag", json!({"cmd": "set_flag"})),
        (
            "set_setting",
            json!({"cmd": "set_setting", "name": "escalate_after_seconds", "value": 600}),
        ),
        ("advance", json!({"cmd": "advance", "seconds": 1})),
        ("tick", json!({"cmd": "tick"})),
        ("now", json!({"cmd": "now"})),
        ("report", json!({"cmd": "report"})),
        (
            "set_shifts",
            json!({"cmd": "set_shifts", "mechanic": "t1", "shifts": []}),
        ),
        ("slots", {
            let mut slots = intake("x", json!({}));
            slots["cmd"] = json!("slots");
            slots.as_object_mut().unwrap().remove("id");
            slots
        }),
    ]
}

#[test]
fn every_role_runs_exactly_the_commands_of_the_command_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "roles");
    let tokens = [
        ("dispatcher", token(&db, "dispatcher", None)),
        ("mechanic", token(&db, "mechanic", Some("t1"))),
        ("intake", token(&db, "intake", None)),
    ];
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    let bodies = bodies();
    let names: Vec<&str> = bodies.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        pitwall::command::Command::NAMES,
        "a body for every command"
    );
    // The matrix is the command table's: each role × each command, refused exactly where the
    // table says so (and every command is in the table: a unit test holds that).
    let allowed = |role: &str, cmd: &str| {
        let kind = match role {
            "dispatcher" => pitwall::command_table::RoleKind::Dispatcher,
            "mechanic" => pitwall::command_table::RoleKind::Mechanic,
            _ => pitwall::command_table::RoleKind::Intake,
        };
        pitwall::command_table::allows(kind, cmd)
    };
    for (role, tok) in &tokens {
        for (name, body) in &bodies {
            let a = post(&agent, &server, tok, body);
            if allowed(role, name) {
                assert_ne!(a.status, 403, "{role} {name}: {:?}", a.body);
                assert_ne!(a.status, 401, "{role} {name}");
                assert_eq!(a.body["cmd"], *name, "{role} {name}: {:?}", a.body);
            } else {
                assert_eq!((a.status, code(&a)), (403, "forbidden"), "{role} {name}");
                assert_eq!(a.body["ok"], false);
            }
        }
    }
}

/// A command outside the role is 403 whatever its body holds: a missing or bad field must not
/// answer 422 in its place (and so tell a phone what the command would need).
#[test]
fn a_command_outside_the_role_is_forbidden_before_its_fields_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "outside");
    let t1 = token(&db, "mechanic", Some("t1"));
    let form = token(&db, "intake", None);
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    for (tok, body) in [
        (&t1, json!({"cmd": "set_shifts", "shifts": []})),
        (&t1, json!({"cmd": "intake"})),
        (&form, json!({"cmd": "cancel"})),
        (&form, json!({"cmd": "accept", "session": 7})),
    ] {
        let a = post(&agent, &server, tok, &body);
        assert_eq!(a.status, 403, "{body} → {:?}", a.body);
        assert_eq!(code(&a), "forbidden", "{body}");
        assert_eq!(a.body["cmd"], body["cmd"]);
    }
}

#[test]
fn a_mechanic_token_acts_and_reads_only_for_himself() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "self");
    {
        // S2 is made while t1 is off shift (never offered to him); S3 while he is on.
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        ok(&mut e, json!({"cmd": "clock_out", "mechanic": "t1"}));
        ok(&mut e, intake("S2", json!({})));
        ok(&mut e, json!({"cmd": "clock_in", "mechanic": "t1"}));
        ok(&mut e, intake("S3", json!({})));
    }
    let t1 = token(&db, "mechanic", Some("t1"));
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    // `mechanic` left out: himself.
    let q = post(&agent, &server, &t1, &json!({"cmd": "queue"}));
    assert_eq!(q.status, 200, "{:?}", q.body);
    let mine: Vec<&str> = q.body["mine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["session"].as_str().unwrap())
        .collect();
    assert_eq!(mine, ["S3"]);
    // Another mechanic's id: forbidden, naming the field, and nothing happens.
    for cmd in ["queue", "clock_out", "clock_in"] {
        let a = post(&agent, &server, &t1, &json!({"cmd": cmd, "mechanic": "t2"}));
        assert_eq!((a.status, code(&a)), (403, "forbidden"), "{cmd}");
        assert_eq!(a.body["error"]["field"], "mechanic");
    }
    let a = post(
        &agent,
        &server,
        &t1,
        &json!({"cmd": "accept", "session": "S3", "mechanic": "t2"}),
    );
    assert_eq!((a.status, code(&a)), (403, "forbidden"));
    // Sessions: his own yes; one never offered to him, or one that does not exist, no (the
    // same answer: a phone cannot probe for session ids).
    for id in ["S1", "S3"] {
        let own = post(&agent, &server, &t1, &json!({"cmd": "session", "id": id}));
        assert_eq!(
            own.status, 200,
            "{id}: once offered to him, always readable by him"
        );
    }
    for id in ["S2", "no-such"] {
        let a = post(&agent, &server, &t1, &json!({"cmd": "session", "id": id}));
        assert_eq!((a.status, code(&a)), (403, "forbidden"), "{id}");
    }
    // He takes his offer without naming himself, and the session is his.
    let a = post(
        &agent,
        &server,
        &t1,
        &json!({"cmd": "accept", "session": "S3"}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["session"]["status"], "matched");
}

#[test]
fn every_status_code_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "codes");
    let d = token(&db, "dispatcher", None);
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    let raw = |body: &str| post_raw(&agent, &server, Some(&d), &[], body);
    // 200, and the body is exactly what headless prints for the same command.
    let a = raw(r#"{"cmd":"session","id":"S1"}"#);
    assert_eq!(a.status, 200);
    let mut e = Engine::open(Some(&db), Clock::System).unwrap();
    let (_, line) = pitwall::headless::respond(&mut e, r#"{"cmd":"session","id":"S1"}"#);
    drop(e);
    assert_eq!(a.body, serde_json::from_str::<Value>(&line).unwrap());
    // 400
    for bad in ["{nope", "[1]", "", r#"{"cmd":"now","cmd":"now"}"#] {
        let a = raw(bad);
        assert_eq!((a.status, code(&a)), (400, "parse_error"), "{bad:?}");
    }
    let a = raw(r#"{"cmd":"fly"}"#);
    assert_eq!((a.status, code(&a)), (400, "unknown_command"));
    // 401
    let a = post_raw(&agent, &server, None, &[], r#"{"cmd":"now"}"#);
    assert_eq!((a.status, code(&a)), (401, "unauthorized"));
    let a = post_raw(
        &agent,
        &server,
        Some("pw_dispatcher_forged"),
        &[],
        r#"{"cmd":"now"}"#,
    );
    assert_eq!((a.status, code(&a)), (401, "unauthorized"));
    let a = post_raw(
        &agent,
        &server,
        None,
        &[("Authorization", &format!("Basic {d}"))],
        r#"{"cmd":"now"}"#,
    );
    assert_eq!((a.status, code(&a)), (401, "unauthorized"));
    // 403
    let a = raw(r#"{"cmd":"load_seeds","path":"/etc/passwd"}"#);
    assert_eq!((a.status, code(&a)), (403, "forbidden"));
    // 404
    let a = raw(r#"{"cmd":"cancel","session":"nope"}"#);
    assert_eq!((a.status, code(&a)), (404, "not_found"));
    let a = get(&agent, &server, Some(&d), "/v1/nothing-here");
    assert_eq!((a.status, code(&a)), (404, "not_found"));
    // 409
    let a = raw(r#"{"cmd":"accept","session":"S1","mechanic":"t1"}"#);
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = raw(r#"{"cmd":"accept","session":"S1","mechanic":"t2"}"#);
    assert_eq!(a.status, 409, "{:?}", a.body);
    assert_eq!(a.body["cmd"], "accept");
    let a = raw(r#"{"cmd":"sign_waiver","session":"S1"}"#);
    assert_eq!((a.status, code(&a)), (409, "invalid_state"), "{:?}", a.body);
    // A caller-chosen id already in use is a conflict too, not a malformed request.
    let a = raw(r#"{"cmd":"add_mechanic","id":"t1","name":"Again"}"#);
    assert_eq!((a.status, code(&a)), (409, "invalid_state"), "{:?}", a.body);
    assert_eq!(a.body["error"]["field"], "id");
    // 413: a body that says it is over 1 MiB, and one that is but does not say so (chunked).
    let (status, body) = common::server::raw_request(
        &server.addr,
        format!(
            "POST /v1/commands HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {d}\r\n\
             Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{{",
            (1 << 20) + 1
        )
        .as_bytes(),
    );
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
    let mut chunked = format!(
        "POST /v1/commands HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {d}\r\n\
         Content-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..17 {
        chunked.extend_from_slice(format!("{:x}\r\n", 1 << 16).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 1 << 16));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = common::server::raw_request(&server.addr, &chunked);
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
    // Exactly 1 MiB is accepted (and then read as the command it is).
    let padded = format!(r#"{{"cmd":"now"}}{}"#, " ".repeat((1 << 20) - 13));
    assert_eq!(padded.len(), 1 << 20);
    assert_eq!(raw(&padded).status, 200);
    // 422
    let a = raw(r#"{"cmd":"intake","concern":"noise"}"#);
    assert_eq!((a.status, code(&a)), (422, "invalid_input"));
    assert!(a.body["error"]["field"].is_string());
    // 405 is HTTP's own (a method the path does not take), coded like every refusal.
    let resp = agent.delete(server.url("/v1/commands")).call().unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    // Health needs no token; nothing else answers without one.
    let h = get(&agent, &server, None, "/v1/health");
    assert_eq!(h.status, 200);
    assert_eq!(h.body["ok"], true);
    assert_eq!(h.body["version"], env!("CARGO_PKG_VERSION"));
    for path in ["/v1/openapi.json", "/v1/events"] {
        let a = get(&agent, &server, None, path);
        assert_eq!((a.status, code(&a)), (401, "unauthorized"), "{path}");
    }
}

/// 429 and 503 need their own servers: a tight rate, and another program holding the lock.
#[test]
fn a_token_over_its_rate_is_told_when_to_come_back_and_others_are_not_slowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "rate");
    let (a_tok, b_tok) = (token(&db, "dispatcher", None), token(&db, "intake", None));
    let server = Server::start(&db, "[serve]\nrate_per_second = 1\nburst = 3\n");
    let agent = agent();
    let now = json!({"cmd": "now"});
    for _ in 0..3 {
        assert_eq!(post(&agent, &server, &a_tok, &now).status, 200);
    }
    let a = post(&agent, &server, &a_tok, &now);
    assert_eq!((a.status, code(&a)), (429, "rate_limited"));
    let secs: u64 = a.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&secs), "{secs}");
    // Another token is not slowed by the first.
    let b = post(&agent, &server, &b_tok, &json!({"cmd": "browse"}));
    assert_ne!(b.status, 429);
    std::thread::sleep(std::time::Duration::from_secs(secs));
    assert_eq!(post(&agent, &server, &a_tok, &now).status, 200);
}

#[test]
fn a_busy_database_is_503_with_retry_after_and_a_broken_one_500() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "busy");
    let d = token(&db, "dispatcher", None);
    let config = dir.path().join("busy.toml");
    std::fs::write(&config, ROOMY).unwrap();
    // The server waits 300 ms for another program's lock, then answers busy.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .env("PITWALL_BUSY_TIMEOUT_MS", "300")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit('/').next().unwrap().to_string();
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let agent = agent();
    let mut resp = agent
        .post(format!("http://{addr}/v1/commands"))
        .header("Authorization", &format!("Bearer {d}"))
        .header("Content-Type", "application/json")
        .send(json!({"cmd": "cancel", "session": "S1"}).to_string())
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").cloned();
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("busy"))
    );
    assert!(retry.is_some());
    // Nothing changed, and once the lock is free the same command runs.
    let mut resp = agent
        .post(format!("http://{addr}/v1/commands"))
        .header("Authorization", &format!("Bearer {d}"))
        .header("Content-Type", "application/json")
        .send(json!({"cmd": "session", "id": "S1"}).to_string())
        .unwrap();
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["session"]["status"], "waiting");
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    assert!(child.wait().unwrap().success());

    // A database that fails a write for reasons not the caller's (here a trigger planted by
    // hand, as a damaged or tampered file might): 500 `internal`, and nothing is written.
    let broken = seeded(dir.path(), "broken");
    let d = token(&broken, "dispatcher", None);
    rusqlite::Connection::open(&broken)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE UPDATE ON sessions \
             BEGIN SELECT RAISE(ABORT, 'the disk says no'); END;",
        )
        .unwrap();
    let server = Server::start(&broken, ROOMY);
    let a = post(
        &agent,
        &server,
        &d,
        &json!({"cmd": "cancel", "session": "S1"}),
    );
    assert_eq!((a.status, code(&a)), (500, "internal"), "{:?}", a.body);
    let s = post(&agent, &server, &d, &json!({"cmd": "session", "id": "S1"}));
    assert_eq!(s.body["session"]["status"], "waiting");
}

#[test]
fn a_revoked_token_is_refused_at_its_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "revoke");
    let d = token(&db, "dispatcher", None);
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    assert_eq!(
        post(&agent, &server, &d, &json!({"cmd": "now"})).status,
        200
    );
    let list = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "list", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(!text.contains(&d), "the list never shows a token");
    let id = listed[0]["id"].as_str().unwrap();
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    let revoke = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "revoke", id, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let a = post(&agent, &server, &d, &json!({"cmd": "now"}));
    assert_eq!((a.status, code(&a)), (401, "unauthorized"));
    // Revoking twice, or a token that never was, is a coded refusal.
    for (id, want) in [(id, "invalid_state"), ("tok_nope", "not_found")] {
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["token", "revoke", id, "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&again.stderr).contains(want));
    }
}

#[test]
fn token_create_refuses_what_cannot_be_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "create");
    for (args, want) in [
        (
            vec!["--role", "mechanic", "--mechanic", "ghost"],
            "not_found",
        ),
        (vec!["--role", "mechanic"], "invalid_input"),
        (
            vec!["--role", "intake", "--mechanic", "t1"],
            "invalid_input",
        ),
        (vec!["--role", "root"], "invalid_input"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["token", "create"])
            .args(&args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(want),
            "{args:?}"
        );
    }
    let t = token(&db, "mechanic", Some("t1"));
    let secret = t.strip_prefix("pw_mechanic_").unwrap();
    assert_eq!(secret.len(), 43, "256 bits in base64url");
    // Only a SHA-256 is stored.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<u8> = conn
        .query_row("SELECT sha256 FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, pitwall::tokens::sha256(&t));
}

#[test]
fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "idem");
    let form = token(&db, "intake", None);
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    let mut booking = intake("ignored", json!({}));
    booking.as_object_mut().unwrap().remove("id");
    let body = booking.to_string();
    let send = |key: &str, body: &str| {
        post_raw(
            &agent,
            &server,
            Some(&form),
            &[("Idempotency-Key", key)],
            body,
        )
    };
    let first = send("booking-1", &body);
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert!(!first.replayed);
    let again = send("booking-1", &body);
    assert_eq!(again.status, 200);
    assert!(again.replayed);
    assert_eq!(again.body, first.body, "the same session, not a second one");
    let other = send("booking-1", &body.replace("Ava Chen", "Someone Else"));
    assert_eq!((other.status, code(&other)), (422, "invalid_input"));
    assert_eq!(other.body["error"]["field"], "Idempotency-Key");
    let bad = send("has space", &body);
    assert_eq!((bad.status, code(&bad)), (422, "invalid_input"));
    // A new key is a new booking; one session per key, two in all besides S1.
    let second = send("booking-2", &body);
    assert_ne!(second.body["session"]["id"], first.body["session"]["id"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let sessions: i64 = conn
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 3);
    // A refusal that ran is kept too: the same answer, not a second evaluation.
    let refused = send("booking-3", r#"{"cmd":"intake","concern":"x"}"#);
    let replay = send("booking-3", r#"{"cmd":"intake","concern":"x"}"#);
    assert_eq!((refused.status, replay.status), (422, 422));
    assert!(replay.replayed);
}

/// Reads server-sent events until one of `kind` arrives; returns its data.
fn next_event(lines: &mut impl BufRead, kind: &str) -> Value {
    let mut current = String::new();
    loop {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "stream ended");
        let line = line.trim_end();
        if let Some(k) = line.strip_prefix("event: ") {
            current = k.to_string();
        } else if let Some(data) = line.strip_prefix("data: ")
            && (current == kind || kind == "any")
        {
            return serde_json::from_str(data).unwrap();
        }
    }
}

#[test]
fn the_event_stream_shows_each_token_what_it_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "events");
    let d = token(&db, "dispatcher", None);
    let t4 = token(&db, "mechanic", Some("t4"));
    let form = token(&db, "intake", None);
    let mut server = Server::start(&db, ROOMY);
    let agent = agent();
    let stream = |tok: &str| {
        let resp = agent
            .get(server.url("/v1/events"))
            .header("Authorization", &format!("Bearer {tok}"))
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        BufReader::new(resp.into_body().into_reader())
    };
    let mut dispatcher = stream(&d);
    let mut phone = stream(&t4);
    let a = get(&agent, &server, Some(&form), "/v1/events");
    assert_eq!((a.status, code(&a)), (403, "forbidden"));
    // S2 is offered to t1–t3: the dispatcher sees it made, t4's phone does not. Then t4 clocks
    // out: his phone's first event is that, so nothing of S2 reached it before.
    let created = post(&agent, &server, &d, &intake("S2", json!({})));
    assert_eq!(created.status, 200, "{:?}", created.body);
    let made = next_event(&mut dispatcher, "session_created");
    assert_eq!(made["session"], "S2");
    assert!(made["id"].as_i64().unwrap() > 0);
    let out = post(&agent, &server, &t4, &json!({"cmd": "clock_out"}));
    assert_eq!(out.status, 200, "{:?}", out.body);
    let first = next_event(&mut phone, "any");
    assert_eq!(
        (first["kind"].as_str(), first["mechanic"].as_str()),
        (Some("clock_out"), Some("t4"))
    );
    // t1 takes S2: the dispatcher sees the accept.
    let t1 = token(&db, "mechanic", Some("t1"));
    let a = post(
        &agent,
        &server,
        &t1,
        &json!({"cmd": "accept", "session": "S2"}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let theirs = next_event(&mut dispatcher, "offer_accepted");
    assert_eq!(
        (theirs["session"].as_str(), theirs["mechanic"].as_str()),
        (Some("S2"), Some("t1"))
    );
    // A phone that lost its connection comes back with Last-Event-ID and gets what it missed.
    let resp = agent
        .get(server.url("/v1/events"))
        .header("Authorization", &format!("Bearer {d}"))
        .header("Last-Event-ID", &made["id"].to_string())
        .call()
        .unwrap();
    let mut resumed = BufReader::new(resp.into_body().into_reader());
    let first = next_event(&mut resumed, "any");
    assert!(first["id"].as_i64().unwrap() > made["id"].as_i64().unwrap());
    let again = next_event(&mut resumed, "offer_accepted");
    assert_eq!(again["id"], theirs["id"], "the same event, by its audit id");
    drop(resumed);
    // Open streams do not hold up a shutdown: they end, and the server exits cleanly.
    let status = server
        .stop()
        .expect("stopped within 10 s with two streams open");
    assert!(status.success());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut dispatcher, &mut rest);
    drop(phone);
}

#[test]
fn the_openapi_text_matches_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "openapi");
    let d = token(&db, "dispatcher", None);
    let server = Server::start(&db, ROOMY);
    let agent = agent();
    let doc = get(&agent, &server, Some(&d), "/v1/openapi.json");
    assert_eq!(doc.status, 200);
    let doc = doc.body;
    assert_eq!(doc["openapi"], "3.0.3");
    // Every path it names answers (not 404), and the unknown one does not.
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        [
            "/v1/commands",
            "/v1/events",
            "/v1/health",
            "/v1/openapi.json"
        ]
    );
    // One request schema per command the role may run, from the command table, each naming
    // its `cmd`; one answer schema each.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in pitwall::command::Command::NAMES {
        let allowed =
            pitwall::command_table::allows(pitwall::command_table::RoleKind::Dispatcher, name);
        let request = schemas.get(&format!("{name}.request"));
        assert_eq!(request.is_some(), allowed, "{name}");
        if let Some(r) = request {
            assert_eq!(r["properties"]["cmd"]["enum"], json!([name]));
            assert!(schemas.contains_key(&format!("{name}.answer")), "{name}");
        }
    }
    // The fields are the types': accept needs a session and a mechanic.
    assert_eq!(
        schemas["accept.request"]["required"],
        json!(["cmd", "session", "mechanic"])
    );
    // A booking form's document has its own commands only, without ids to choose.
    let form = token(&db, "intake", None);
    let form_doc = get(&agent, &server, Some(&form), "/v1/openapi.json").body;
    let form_schemas = form_doc["components"]["schemas"].as_object().unwrap();
    assert!(form_schemas.contains_key("intake.request"));
    assert!(!form_schemas.contains_key("report.request"));
    assert!(
        form_schemas["intake.request"]["properties"]
            .get("id")
            .is_none()
    );
    // The statuses of POST /v1/commands are exactly 200 and those of the code table, and each
    // code is listed under its own status.
    let responses = doc["paths"]["/v1/commands"]["post"]["responses"]
        .as_object()
        .unwrap();
    let mut documented: Vec<u16> = responses.keys().map(|k| k.parse().unwrap()).collect();
    documented.sort();
    let mut served: Vec<u16> = pitwall::error::ErrorCode::ALL
        .iter()
        .map(|c| pitwall::serve::handle::status_of(*c))
        .chain([200])
        .collect();
    served.sort();
    served.dedup();
    assert_eq!(documented, served);
    for c in pitwall::error::ErrorCode::ALL {
        let status = pitwall::serve::handle::status_of(*c).to_string();
        let text = responses[&status]["description"].as_str().unwrap();
        assert!(text.contains(c.as_str()), "{} under {status}", c.as_str());
    }
}

#[test]
fn sigterm_finishes_and_the_log_holds_no_token_and_no_body() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "stop");
    let form = token(&db, "dispatcher", None);
    let mut server = Server::start(&db, ROOMY);
    let agent = agent();
    let a = post(
        &agent,
        &server,
        &form,
        &intake(
            "S9",
            json!({"concern": "grinding noise from the secret-gearbox"}),
        ),
    );
    assert_eq!(a.status, 200);
    let status = server.stop().expect("stopped within 10 s");
    assert!(status.success(), "{status:?}");
    let log = server.log_text();
    assert!(log.contains("path=/v1/commands status=200"), "{log}");
    assert!(log.contains("token=\"tok_"), "{log}");
    assert!(!log.contains(&form), "a token in the log");
    assert!(!log.contains("secret-gearbox"), "a body in the log");
    assert!(log.contains("stopped"));
    // What the server acknowledged is in the file.
    common::server::assert_check_passes(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM sessions WHERE id = 'S9'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 1);
}

/// A client that starts a request and never finishes its head does not hold the connection
/// for ever: the server closes it after its header timeout (`header_timeout_ms`, here 600 ms
/// rather than the default 10 s), and goes on answering others.
#[test]
fn a_request_head_never_finished_is_closed_after_the_header_timeout() {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_millis(600);
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path(), "slow");
    let server = Server::start(
        &db,
        &format!("{ROOMY}header_timeout_ms = {}\n", timeout.as_millis()),
    );
    let mut slow = std::net::TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    // Meanwhile a whole request is answered at once.
    let health = get(&agent(), &server, None, "/v1/health");
    assert_eq!(health.status, 200);
    let mut rest = Vec::new();
    let end = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        end.is_ok()
            || end
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the server should close the connection, not leave it open: {end:?} after {waited:?}"
    );
    // Not before the timeout (less the moment between the write and `started`), and well
    // before the default one: the configured value is the one that acted.
    assert!(
        waited >= timeout - std::time::Duration::from_millis(100)
            && waited < pitwall::delivery::config::HEADER_TIMEOUT,
        "closed after {waited:?}"
    );
}
