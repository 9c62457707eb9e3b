//! Delivery (SPEC §12) against real servers on loopback, started here: the outbox rows each
//! change writes, signed webhooks with retries and dead rows, SMTP, the command transport,
//! channels without a transport, and the config file's errors.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::receivers::{Behaviour, SECRET, Smtp, Webhooks};
use common::{intake, mechanic, ok, roster};
use pitwall::clock::Clock;
use pitwall::delivery::{Config, Relay};
use pitwall::engine::Engine;
use serde_json::{Value, json};

fn engine_with(config: &str) -> Engine {
    let mut e = Engine::open(None, Clock::manual_default()).unwrap();
    let config = Config::parse(config).unwrap_or_else(|e| panic!("config: {e:?}"));
    e.set_relay(Relay::new(&config).unwrap());
    e
}

fn webhook_config(hooks: &Webhooks, extra: &str) -> String {
    format!(
        "[delivery]\nsecret = \"{SECRET}\"\n{extra}\n\
         [delivery.email]\nwebhook = \"{}\"\n\
         [delivery.sms]\nwebhook = \"{}\"\n\
         [delivery.dispatcher]\nwebhook = \"{}\"\n",
        hooks.url("email"),
        hooks.url("sms"),
        hooks.url("dispatch"),
    )
}

fn notifications(e: &mut Engine) -> Vec<Value> {
    ok(e, json!({"cmd": "notifications"}))["notifications"]
        .as_array()
        .unwrap()
        .clone()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_change_writes_its_messages_in_its_own_transaction() {
    let mut e = engine_with("");
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let rows = notifications(&mut e);
    // Three targeted offers went live at intake: one row each, to the mechanics' email.
    assert_eq!(rows.len(), 3, "{rows:?}");
    for r in &rows {
        assert_eq!(r["kind"], "offer");
        assert_eq!(r["channel"], "email");
        assert_eq!(r["status"], "pending");
        assert_eq!(r["attempts"], 0);
        assert_eq!(r["session"], "S1");
        let body = r["body"].as_str().unwrap();
        assert!(
            body.contains("check engine light") && body.contains("Toronto"),
            "{body}"
        );
        assert!(
            !body.contains("My check engine light is on"),
            "never the concern: {body}"
        );
        assert!(
            !body.contains("ava@example.com") && !body.contains("Ava"),
            "{body}"
        );
    }
    // A held session writes nothing until released.
    ok(&mut e, intake("S2", json!({"waiver_signed": false})));
    assert_eq!(notifications(&mut e).len(), 3);
    ok(&mut e, json!({"cmd": "sign_waiver", "session": "S2"}));
    assert_eq!(notifications(&mut e).len(), 6);
    // The accept tells the customer, by email (known).
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    let matched: Vec<Value> = notifications(&mut e)
        .into_iter()
        .filter(|r| r["kind"] == "matched")
        .collect();
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0]["recipient"], "ava@example.com");
    assert!(
        matched[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi Ava Chen")
    );
    // Escalation goes to the dispatcher.
    ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    let esc: Vec<Value> = notifications(&mut e)
        .into_iter()
        .filter(|r| r["kind"] == "escalation")
        .collect();
    assert_eq!(esc.len(), 1, "S2 waits too long");
    assert_eq!(esc[0]["channel"], "dispatcher");
    assert_eq!(esc[0]["session"], "S2");
    // Expiring offers write nothing.
    let before = notifications(&mut e).len();
    ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    assert_eq!(notifications(&mut e).len(), before);
    // A refused command writes no message.
    let n = notifications(&mut e).len();
    let _ = common::run(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "nobody"}),
    );
    assert_eq!(notifications(&mut e).len(), n);
}

#[test]
fn mechanics_choose_their_channels_sms_by_default_when_they_have_a_phone() {
    let mut e = engine_with("");
    let m = ok(
        &mut e,
        mechanic("p1", true, json!({"phone": "+1 416 555 0111"})),
    );
    assert_eq!(m["mechanic"]["notify_via"], json!(["sms"]));
    let m = ok(&mut e, mechanic("p2", true, json!({})));
    assert_eq!(m["mechanic"]["notify_via"], json!(["email"]));
    let m = ok(
        &mut e,
        mechanic(
            "p3",
            true,
            json!({"notify_via": ["email", "push", "email"]}),
        ),
    );
    assert_eq!(m["mechanic"]["notify_via"], json!(["email", "push"]));
    let refused = common::err(&mut e, mechanic("p4", true, json!({"notify_via": ["sms"]})));
    assert_eq!(refused.field.as_deref(), Some("notify_via"));
    ok(&mut e, intake("S1", json!({})));
    let to: Vec<(String, String)> = notifications(&mut e)
        .iter()
        .map(|r| {
            (
                r["channel"].as_str().unwrap().to_string(),
                r["recipient"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        to.contains(&("sms".into(), "+1 416 555 0111".into())),
        "{to:?}"
    );
    assert!(to.contains(&("push".into(), "p3".into())), "{to:?}");
}

#[test]
fn webhooks_are_signed_retried_with_backoff_and_delivered_once_per_id() {
    let hooks = Webhooks::start(Behaviour {
        fail_first: 2,
        ..Default::default()
    });
    let mut e = engine_with(&webhook_config(&hooks, ""));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let first = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&first["retrying"]).len(), 3, "{first}");
    let rows = notifications(&mut e);
    for r in &rows {
        assert_eq!(r["attempts"], 1);
        assert_eq!(r["last_error"], "webhook answered HTTP 500");
        assert_eq!(r["status"], "pending");
    }
    // Not due again before the backoff (5 s - 20 %).
    ok(&mut e, json!({"cmd": "advance", "seconds": 3}));
    let early = ok(&mut e, json!({"cmd": "deliver"}));
    assert!(ids(&early["retrying"]).is_empty() && ids(&early["sent"]).is_empty());
    ok(&mut e, json!({"cmd": "advance", "seconds": 3}));
    let second = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&second["retrying"]).len(), 3, "{second}");
    // The second wait is 10 s ± 20 %.
    ok(&mut e, json!({"cmd": "advance", "seconds": 7}));
    assert!(ids(&ok(&mut e, json!({"cmd": "deliver"}))["sent"]).is_empty());
    ok(&mut e, json!({"cmd": "advance", "seconds": 5}));
    let third = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&third["sent"]).len(), 3, "{third}");
    for r in notifications(&mut e) {
        assert_eq!(r["status"], "sent");
        assert_eq!(r["attempts"], 3);
        assert_eq!(r["last_error"], Value::Null);
        assert!(r["sent_at"].is_string());
    }
    let seen = hooks.seen.lock().unwrap();
    assert_eq!(seen.bad_signatures, 0);
    assert_eq!(seen.attempts.len(), 3);
    assert!(seen.attempts.values().all(|n| *n == 3));
    assert!(seen.delivered.values().all(|n| *n == 1));
    let body = seen.bodies.values().next().unwrap();
    for key in [
        "id",
        "kind",
        "channel",
        "recipient",
        "subject",
        "body",
        "session",
        "created_at",
    ] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    assert!(seen.paths.values().all(|p| p == "/email"));
}

#[test]
fn a_row_is_dead_after_max_attempts_and_never_tried_again() {
    let hooks = Webhooks::start(Behaviour {
        always_fail: true,
        ..Default::default()
    });
    let mut e = engine_with(&webhook_config(&hooks, "max_attempts = 2"));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    assert_eq!(
        ids(&ok(&mut e, json!({"cmd": "deliver"}))["retrying"]).len(),
        3
    );
    ok(&mut e, json!({"cmd": "advance", "seconds": 7}));
    let last = ok(&mut e, json!({"cmd": "deliver"}));
    let dead = ids(&last["dead"]);
    assert_eq!(dead.len(), 3, "{last}");
    // A day later (the session escalates meanwhile: a new row, tried on its own) the dead rows
    // are left alone.
    ok(&mut e, json!({"cmd": "advance", "seconds": 86_400}));
    let after = ok(&mut e, json!({"cmd": "deliver"}));
    for list in ["sent", "retrying", "dead"] {
        assert!(
            ids(&after[list]).iter().all(|id| !dead.contains(id)),
            "{after}"
        );
    }
    for r in notifications(&mut e)
        .iter()
        .filter(|r| r["kind"] == "offer")
    {
        assert_eq!(r["status"], "dead");
        assert_eq!(r["attempts"], 2);
        assert_eq!(
            hooks.seen.lock().unwrap().attempts[r["id"].as_str().unwrap()],
            2
        );
    }
}

#[test]
fn a_wrong_secret_is_refused_by_the_receiver_and_retried() {
    let hooks = Webhooks::start(Behaviour::default());
    // Another key in the standard form: the receiver's check, not the config's, refuses it.
    let config =
        webhook_config(&hooks, "").replace(SECRET, "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB");
    let mut e = engine_with(&config);
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&pass["retrying"]).len(), 3);
    assert_eq!(hooks.seen.lock().unwrap().bad_signatures, 3);
    let error = notifications(&mut e)[0]["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(error, "webhook answered HTTP 401");
    assert!(!error.contains("QUFBQUFB"));
}

#[test]
fn email_goes_out_by_smtp_with_the_row_id_as_message_id() {
    let smtp = Smtp::start();
    let mut e = engine_with(&format!(
        "[delivery.email]\nsmtp = \"smtp://127.0.0.1:{}\"\nfrom = \"Dispatch <dispatch@example.com>\"",
        smtp.port
    ));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&pass["sent"]).len(), 3, "the three offers: {pass}");
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&pass["sent"]).len(), 1, "the customer's: {pass}");
    let rows = notifications(&mut e);
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 4);
    let matched = rows.iter().find(|r| r["kind"] == "matched").unwrap();
    let id = matched["id"].as_str().unwrap();
    let mail = mails
        .iter()
        .find(|m| {
            m.headers.get("message-id").map(String::as_str) == Some(&format!("<{id}@pitwall>"))
        })
        .expect("the matched mail, by Message-ID");
    assert_eq!(mail.to, vec!["<ava@example.com>".to_string()]);
    assert_eq!(mail.from, "<dispatch@example.com>");
    assert_eq!(
        mail.headers["subject"],
        matched["subject"].as_str().unwrap()
    );
    // Complete MIME: a reader that follows RFC 2045 knows how to decode the body.
    assert_eq!(mail.headers["mime-version"], "1.0");
    assert_eq!(
        mail.headers["content-type"].to_ascii_lowercase(),
        "text/plain; charset=utf-8"
    );
    assert!(mail.headers.contains_key("date"), "{:?}", mail.headers);
    assert!(mail.headers.contains_key("content-transfer-encoding"));
    assert!(
        mail.body.contains("has taken your session S1"),
        "{}",
        mail.body
    );
}

#[test]
fn smtp_that_cannot_be_reached_is_a_retry_with_a_one_line_error() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut e = engine_with(&format!(
        "[delivery.email]\nsmtp = \"smtp://someone:hunter2222@127.0.0.1:{port}\"\nfrom = \"d@example.com\""
    ));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&pass["retrying"]).len(), 3);
    let error = notifications(&mut e)[0]["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.starts_with("smtp:"), "{error}");
    assert!(
        !error.contains("hunter2222") && !error.contains('\n'),
        "{error}"
    );
}

#[test]
fn the_command_transport_gets_the_row_on_stdin_and_its_exit_status_decides() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got");
    std::fs::create_dir(&out).unwrap();
    let script = format!("cat > {}/\"$$\".json", out.display());
    let mut e = engine_with(&format!(
        "[delivery.email]\ncommand = [\"sh\", \"-c\", {script:?}]\n\
         [delivery.dispatcher]\ncommand = [\"sh\", \"-c\", \"cat >/dev/null; exit 3\"]"
    ));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&pass["sent"]).len(), 3, "the offers: {pass}");
    ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(ids(&pass["retrying"]).len(), 1, "the escalation: {pass}");
    let files: Vec<Value> = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(files.len(), 3);
    assert!(
        files
            .iter()
            .all(|f| f["kind"] == "offer" && f["id"].is_string())
    );
    let esc = notifications(&mut e)
        .into_iter()
        .find(|r| r["kind"] == "escalation")
        .unwrap();
    assert_eq!(esc["last_error"], "command exited with status 3");
}

#[test]
fn a_channel_without_transport_leaves_its_rows_pending_and_says_so() {
    let hooks = Webhooks::start(Behaviour::default());
    let mut e = engine_with(&format!(
        "[delivery]\nsecret = \"{SECRET}\"\n[delivery.dispatcher]\nwebhook = \"{}\"",
        hooks.url("d")
    ));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["no_transport"], json!(["email"]));
    assert!(ids(&pass["sent"]).is_empty());
    assert!(
        notifications(&mut e)
            .iter()
            .all(|r| r["status"] == "pending" && r["attempts"] == 0)
    );
}

fn pitwall(args: &[&str], home: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .env("PITWALL_HOME", home)
        .output()
        .unwrap()
}

#[test]
fn a_bad_config_file_stops_every_command_with_the_key_named_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!("[delivery]\nsecret = \"{SECRET}\"\n[delivery.sms]\nwebhook = \"ftp://hunter2\"\n"),
    )
    .unwrap();
    for args in [
        vec!["--config", bad.to_str().unwrap(), "headless"],
        vec!["relay", "--once", "--config", bad.to_str().unwrap()],
        vec!["report", "--config", bad.to_str().unwrap()],
    ] {
        let out = pitwall(&args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("invalid_config at delivery.sms.webhook"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }
    // A named file that is missing is an error; the default one missing is no transports.
    let out = pitwall(
        &["--config", "/nonexistent/pitwall.toml", "headless"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let version = pitwall(&["--version"], dir.path());
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(
        text.contains(&format!(
            "config:   {}",
            dir.path().join("pitwall.toml").display()
        )),
        "{text}"
    );
    let version = pitwall(
        &["--version", "--config", bad.to_str().unwrap()],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&version.stdout).contains("bad.toml"));
}

#[test]
fn pitwall_relay_once_delivers_a_file_database() {
    let hooks = Webhooks::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    {
        // The system clock, as the relay's: offers made on the manual clock's 2026-01-05 would
        // have ended long before the relay runs, and are rightly not sent.
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        roster(&mut e);
        ok(&mut e, intake("S1", json!({})));
    }
    let config = dir.path().join("pitwall.toml");
    std::fs::write(&config, webhook_config(&hooks, "")).unwrap();
    let out = pitwall(
        &[
            "relay",
            "--once",
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&line["sent"]).len(), 3);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(hooks.seen.lock().unwrap().delivered.len(), 3);
}

#[test]
fn a_command_that_hangs_is_stopped_after_the_send_timeout() {
    // 10 s by default; half a second here, so the test does not wait ten.
    let mut e = engine_with(
        "[delivery]\nsend_timeout_ms = 500\n[delivery.email]\ncommand = [\"sleep\", \"30\"]",
    );
    ok(&mut e, mechanic("m1", true, json!({})));
    ok(&mut e, intake("S1", json!({})));
    let started = std::time::Instant::now();
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    let took = started.elapsed();
    assert_eq!(ids(&pass["retrying"]).len(), 1, "{pass}");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        notifications(&mut e)[0]["last_error"],
        "command timed out after 0.5 s"
    );
}

#[test]
fn a_webhook_that_never_answers_times_out_after_the_send_timeout() {
    // Accepts connections and reads, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let mut e = engine_with(&format!(
        "[delivery]\nsend_timeout_ms = 500\n\
         [delivery.email]\nwebhook = \"http://127.0.0.1:{port}/slow\""
    ));
    ok(&mut e, mechanic("m1", true, json!({})));
    ok(&mut e, intake("S1", json!({})));
    let started = std::time::Instant::now();
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    let took = started.elapsed();
    assert_eq!(ids(&pass["retrying"]).len(), 1, "{pass}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        notifications(&mut e)[0]["last_error"],
        "webhook timed out after 0.5 s"
    );
}
