//! What leaves must be true, standard and safe, against real servers on loopback: an offer's
//! message is never sent once the offer ended (and says why), carries its deadline and the
//! session's short reference; webhooks verify the Standard Webhooks way with wall-clock
//! timestamps; a password goes to a mail server only over TLS; every mail is complete MIME; a
//! stalled channel delays no other; a command gets a clean environment; addresses the mailer
//! would refuse are refused at intake.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::receivers::{Behaviour, SECRET, Smtp, SmtpOptions, Webhooks};
use common::{intake, mechanic, ok, refused, roster};
use pitwall::clock::Clock;
use pitwall::delivery::{Config, Relay};
use pitwall::engine::Engine;
use pitwall::error::ErrorCode;
use serde_json::{Value, json};

/// An engine on the manual clock (on PostgreSQL when the suite runs there) whose `deliver`
/// uses `config`'s transports.
fn engine_with(config: &str) -> Engine {
    let mut e = common::engine();
    let config = Config::parse(config).unwrap_or_else(|e| panic!("config: {e:?}"));
    e.set_relay(Relay::new(&config).unwrap());
    e
}

fn webhooks_for(hooks: &Webhooks, routes: &[&str]) -> String {
    let mut config = format!("[delivery]\nsecret = \"{SECRET}\"\n");
    for route in routes {
        config.push_str(&format!(
            "[delivery.{route}]\nwebhook = \"{}\"\n",
            hooks.url(route)
        ));
    }
    config
}

fn notifications(e: &mut Engine) -> Vec<Value> {
    ok(e, json!({"cmd": "notifications"}))["notifications"]
        .as_array()
        .unwrap()
        .clone()
}

/// The outbox's offers to one mechanic, by recipient.
fn offer_rows_to(e: &mut Engine, recipient: &str) -> Vec<Value> {
    notifications(e)
        .into_iter()
        .filter(|n| n["kind"] == "offer" && n["recipient"] == recipient)
        .collect()
}

fn pitwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
}

/// A database file made on the system clock (the relay's), with `setup` run on it.
fn file_database(dir: &Path, setup: impl FnOnce(&mut Engine)) -> PathBuf {
    let db = dir.join("p.db");
    let mut e = Engine::open(Some(&db), Clock::System).unwrap();
    setup(&mut e);
    db
}

fn relay_once(db: &Path, config: &str, dir: &Path) -> std::process::Output {
    let file = dir.join("pitwall.toml");
    std::fs::write(&file, config).unwrap();
    pitwall()
        .args(["relay", "--once", "--db"])
        .arg(db)
        .arg("--config")
        .arg(&file)
        .env("PITWALL_HOME", dir)
        .output()
        .unwrap()
}

fn statuses(db: &Path) -> Vec<(String, String, String, Option<String>)> {
    let e = Engine::open(Some(db), Clock::System).unwrap();
    let mut rows: Vec<_> = pitwall::store::outbox::list(e.connection(), 100)
        .unwrap()
        .into_iter()
        .map(|n| {
            (
                n.kind.to_string(),
                n.recipient,
                n.status.to_string(),
                n.skip_reason.map(|r| r.to_string()),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The case an integrator met: an intake, one mechanic accepts within seconds, then the relay
/// runs. The two others' offers are not sent (the session is taken), the winner's own is not
/// either (he has it), and the customer's message is.
#[test]
fn offers_that_ended_before_the_relay_took_them_are_skipped_not_sent() {
    let hooks = Webhooks::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let db = file_database(dir.path(), |e| {
        roster(e);
        ok(e, intake("S1", json!({})));
        ok(
            e,
            json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
        );
    });
    let out = relay_once(&db, &webhooks_for(&hooks, &["email"]), dir.path());
    assert!(out.status.success(), "{out:?}");
    let pass: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pass["sent"].as_array().unwrap().len(), 1, "{pass}");
    assert_eq!(pass["skipped"].as_array().unwrap().len(), 3, "{pass}");
    assert_eq!(
        statuses(&db),
        vec![
            (
                "matched".into(),
                "ava@example.com".into(),
                "sent".into(),
                None
            ),
            (
                "offer".into(),
                "t1@example.ca".into(),
                "skipped".into(),
                Some("accepted".into())
            ),
            (
                "offer".into(),
                "t2@example.ca".into(),
                "skipped".into(),
                Some("taken".into())
            ),
            (
                "offer".into(),
                "t3@example.ca".into(),
                "skipped".into(),
                Some("taken".into())
            ),
        ]
    );
    std::thread::sleep(Duration::from_millis(50));
    let seen = hooks.seen.lock().unwrap();
    assert_eq!(seen.raw.len(), 1, "only the customer's message arrived");
    assert_eq!(seen.bodies.values().next().unwrap()["kind"], "matched");
}

/// Each way an offer ends is named: it expired, he declined, it was withdrawn (he clocked
/// out), the session was cancelled. A live offer beside them is sent.
#[test]
fn each_way_an_offer_ends_is_its_own_reason() {
    let hooks = Webhooks::start(Behaviour::default());
    let mut e = engine_with(&webhooks_for(&hooks, &["email"]));
    roster(&mut e);

    ok(&mut e, intake("EXP", json!({})));
    ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["skipped"].as_array().unwrap().len(), 3, "{pass}");
    assert!(pass["sent"].as_array().unwrap().is_empty(), "{pass}");
    for row in notifications(&mut e) {
        assert_eq!(
            (&row["status"], &row["skip_reason"]),
            (&json!("skipped"), &json!("expired"))
        );
        assert_eq!(row["attempts"], 0);
    }

    ok(&mut e, intake("DEC", json!({})));
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "DEC", "mechanic": "t1"}),
    );
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "t2"}));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["sent"].as_array().unwrap().len(), 1, "t3's: {pass}");
    let reason = |e: &mut Engine, to: &str, session: &str| {
        offer_rows_to(e, to)
            .into_iter()
            .find(|r| r["session"] == session)
            .map(|r| (r["status"].clone(), r["skip_reason"].clone()))
            .unwrap()
    };
    assert_eq!(
        reason(&mut e, "t1@example.ca", "DEC"),
        (json!("skipped"), json!("declined"))
    );
    assert_eq!(
        reason(&mut e, "t2@example.ca", "DEC"),
        (json!("skipped"), json!("withdrawn"))
    );
    assert_eq!(
        reason(&mut e, "t3@example.ca", "DEC"),
        (json!("sent"), Value::Null)
    );

    ok(&mut e, json!({"cmd": "clock_in", "mechanic": "t2"}));
    ok(&mut e, intake("CAN", json!({})));
    ok(&mut e, json!({"cmd": "cancel", "session": "CAN"}));
    ok(&mut e, json!({"cmd": "deliver"}));
    for to in ["t1@example.ca", "t2@example.ca"] {
        assert_eq!(
            reason(&mut e, to, "CAN"),
            (json!("skipped"), json!("cancelled"))
        );
    }
    let delivered = hooks.seen.lock().unwrap().delivered.len();
    assert_eq!(delivered, 1, "only the one live offer left the building");
}

/// A mechanic in Halifax reads his deadline in Halifax time; the payload carries it in UTC; a
/// session with a generated id is named by its short reference, never the whole UUID.
#[test]
fn an_offer_carries_its_deadline_in_the_mechanics_zone_and_a_short_reference() {
    let hooks = Webhooks::start(Behaviour::default());
    let mut e = engine_with(&webhooks_for(&hooks, &["email"]));
    ok(
        &mut e,
        mechanic("hx", true, json!({"timezone": "America/Halifax"})),
    );
    let mut request = intake("unused", json!({}));
    request.as_object_mut().unwrap().remove("id");
    let session = ok(&mut e, request)["session"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(session.len(), 36, "a UUID: {session}");
    ok(&mut e, json!({"cmd": "deliver"}));
    let seen = hooks.seen.lock().unwrap();
    let payload = seen.bodies.values().next().expect("the offer").clone();
    // The manual clock starts at 2026-01-05T14:00Z: two minutes on, 10:02 in Halifax (AST).
    assert_eq!(payload["expires_at"], "2026-01-05T14:02:00Z");
    let body = payload["body"].as_str().unwrap();
    assert!(body.contains("until 10:02 AST"), "{body}");
    assert!(body.contains(&session[..8]), "{body}");
    assert!(!body.contains(&session), "{body}");
    assert!(!payload["subject"].as_str().unwrap().contains(&session));
    assert_eq!(payload["session"], session, "machines get the whole id");
    drop(seen);
    let row = &notifications(&mut e)[0];
    assert_eq!(row["expires_at"], "2026-01-05T14:02:00Z");
}

/// Receivers reject a timestamp far from their own clock: a relay on the manual clock (headless
/// `deliver`, 2026-01-05) still stamps the wall clock.
#[test]
fn webhook_timestamps_are_the_wall_clock_also_on_a_manual_clock() {
    let hooks = Webhooks::start(Behaviour::default());
    let mut e = engine_with(&webhooks_for(&hooks, &["email"]));
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, json!({"cmd": "deliver"}));
    let now = chrono::Utc::now().timestamp();
    let seen = hooks.seen.lock().unwrap();
    assert_eq!(seen.raw.len(), 3);
    assert_eq!(seen.bad_signatures, 0);
    for (headers, _) in &seen.raw {
        let stamp: i64 = headers["webhook-timestamp"].parse().unwrap();
        assert!((now - stamp).abs() < 60, "{stamp} against {now}");
    }
}

/// The demo receiver verifies the standard way: the demo config's messages are accepted, a
/// message signed with another key is refused (401, so pitwall retries).
#[test]
fn the_demo_receiver_verifies_the_demo_configs_messages() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut receiver = ChildGuard(
        Command::new("python3")
            .args(["seeds/receiver.py", "--port", &port.to_string()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs seeds/receiver.py"),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "receiver up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/pitwall.toml"))
            .unwrap()
            .replace("9000", &port.to_string());
    let mut e = engine_with(&demo);
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["sent"].as_array().unwrap().len(), 3, "{pass}");

    let other = demo.replace(
        "whsec_lQE0m+jSFb5JhgFYtl8As7CitRfQSOtW6e2slwQ1phI=",
        "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
    );
    let mut e = engine_with(&other);
    roster(&mut e);
    ok(&mut e, intake("S2", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["retrying"].as_array().unwrap().len(), 3, "{pass}");
    receiver.0.kill().unwrap();
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Standard Webhooks reference library (Python) verifies every message pitwall sent.
/// Needs `pip install standardwebhooks`; `.ci/run` installs it and runs this.
#[test]
#[ignore = "needs the standardwebhooks Python package (.ci/run installs it and runs this)"]
fn the_standard_webhooks_reference_library_verifies_every_message() {
    let hooks = Webhooks::start(Behaviour {
        secret: None,
        ..Behaviour::default()
    });
    let mut e = engine_with(&webhooks_for(&hooks, &["email", "dispatcher"]));
    roster(&mut e);
    for id in ["S1", "S2", "S3"] {
        ok(&mut e, intake(id, json!({})));
    }
    ok(&mut e, json!({"cmd": "advance", "seconds": 700}));
    ok(&mut e, json!({"cmd": "deliver"}));
    let messages: Vec<Value> = hooks
        .seen
        .lock()
        .unwrap()
        .raw
        .iter()
        .map(|(headers, body)| {
            json!({"headers": headers, "body": String::from_utf8(body.clone()).unwrap()})
        })
        .collect();
    assert!(messages.len() >= 3, "{messages:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.json");
    std::fs::write(&file, serde_json::to_vec(&messages).unwrap()).unwrap();
    let script = "import json, sys\n\
        from standardwebhooks import Webhook\n\
        hook = Webhook(sys.argv[1])\n\
        msgs = json.load(open(sys.argv[2]))\n\
        for m in msgs:\n    hook.verify(m['body'].encode(), m['headers'])\n\
        print(len(msgs), 'verified')\n";
    let out = Command::new("python3")
        .args(["-c", script, SECRET])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} verified", messages.len())
    );
}

/// A server that offers AUTH but no STARTTLS never sees the password, nor the message: the
/// attempt fails with the reason.
#[test]
fn a_password_never_goes_to_a_server_without_starttls() {
    let smtp = Smtp::start_with(SmtpOptions {
        starttls: None,
        auth: true,
    });
    let mut e = engine_with(&format!(
        "[delivery.email]\nsmtp = \"smtp://ann:hunter2pw@127.0.0.1:{}\"\n\
         from = \"Dispatch <dispatch@example.com>\"",
        smtp.port
    ));
    ok(&mut e, mechanic("m1", true, json!({})));
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["retrying"].as_array().unwrap().len(), 1, "{pass}");
    let error = notifications(&mut e)[0]["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("no STARTTLS") && error.contains("nothing was sent"),
        "{error}"
    );
    let said = smtp.plain_lines();
    assert!(!said.is_empty(), "the relay did connect");
    for line in &said {
        let upper = line.to_ascii_uppercase();
        assert!(
            !upper.starts_with("AUTH") && !upper.starts_with("MAIL") && !line.contains("hunter2"),
            "{said:?}"
        );
    }
    assert!(smtp.mails.lock().unwrap().is_empty());
}

/// A server that requires STARTTLS, with a certificate from a CA the config names: the mail goes
/// out encrypted, and the password only inside TLS.
#[test]
fn mail_goes_over_starttls_trusting_the_configured_ca() {
    let ca = common::tls::test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let smtp = Smtp::start_with(SmtpOptions {
        starttls: Some(ca.server.clone()),
        auth: true,
    });
    let config = format!(
        "[delivery.email]\nsmtp = \"smtp://ann:hunter2pw@127.0.0.1:{}\"\n\
         from = \"Dispatch <dispatch@example.com>\"\nca_file = {:?}",
        smtp.port,
        ca_file.display().to_string()
    );
    let mut e = engine_with(&config);
    ok(&mut e, mechanic("m1", true, json!({})));
    ok(&mut e, intake("S1", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["sent"].as_array().unwrap().len(), 1, "{pass}");
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].encrypted);
    let plain: Vec<String> = smtp
        .plain_lines()
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase()
        })
        .collect();
    assert_eq!(plain, vec!["EHLO", "STARTTLS"], "all else inside TLS");
    assert!(
        smtp.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("tls: AUTH"))
    );

    // Without the CA the certificate is not trusted: nothing is sent, the reason is said.
    let untrusted = config.replace(
        &format!("ca_file = {:?}", ca_file.display().to_string()),
        "",
    );
    let mut e = engine_with(&untrusted);
    ok(&mut e, mechanic("m1", true, json!({})));
    ok(&mut e, intake("S2", json!({})));
    let pass = ok(&mut e, json!({"cmd": "deliver"}));
    assert_eq!(pass["retrying"].as_array().unwrap().len(), 1, "{pass}");
    assert_eq!(smtp.mails.lock().unwrap().len(), 1);
}

/// Every mail is complete MIME that Python's strict parser reads without a defect.
#[test]
fn every_mail_passes_a_strict_mime_parser() {
    let smtp = Smtp::start();
    let mut e = engine_with(&format!(
        "[delivery.email]\nsmtp = \"smtp://127.0.0.1:{}\"\nfrom = \"Dispatch <dispatch@example.com>\"",
        smtp.port
    ));
    roster(&mut e);
    ok(
        &mut e,
        intake(
            "S1",
            json!({"customer": {"name": "Zoë Ñúñez-O'Brien", "email": "zoe@example.com"}}),
        ),
    );
    ok(&mut e, json!({"cmd": "deliver"}));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    ok(&mut e, json!({"cmd": "deliver"}));
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 4);
    let script = "import sys, email, email.policy\n\
        m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.strict)\n\
        assert not m.defects, m.defects\n\
        for h in ['MIME-Version', 'Date', 'Message-ID', 'From', 'To', 'Subject']:\n    \
            assert m[h], h\n\
        assert m['MIME-Version'] == '1.0'\n\
        assert m.get_content_type() == 'text/plain', m.get_content_type()\n\
        assert m.get_content_charset() == 'utf-8', m.get_content_charset()\n\
        print(m.get_content())\n";
    for mail in &mails {
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(mail.raw.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            mail.raw
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("S1"), "{text}");
    }
    assert!(
        mails
            .iter()
            .any(|m| m.raw.contains("Subject: Your mechanic"))
    );
}

/// SMS's receiver hangs; email is delivered within two seconds all the same.
#[test]
fn a_stalled_channel_delays_no_other() {
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sms_port = hanging.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hanging.incoming().flatten() {
            held.push(s);
        }
    });
    let hooks = Webhooks::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let db = file_database(dir.path(), |e| {
        for id in ["a1", "a2", "a3"] {
            ok(
                e,
                mechanic(
                    id,
                    true,
                    json!({"phone": "+1 416 555 0111", "notify_via": ["sms", "email"]}),
                ),
            );
        }
        for s in ["S1", "S2"] {
            ok(e, intake(s, json!({})));
        }
    });
    let config = dir.path().join("pitwall.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery]\nsecret = \"{SECRET}\"\n[delivery.email]\nwebhook = \"{}\"\n\
             [delivery.sms]\nwebhook = \"http://127.0.0.1:{sms_port}/sms\"\n",
            hooks.url("email")
        ),
    )
    .unwrap();
    let started = Instant::now();
    let relay = ChildGuard(
        pitwall()
            .args(["relay", "--db"])
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .env("PITWALL_HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Six offers on each channel: more SMS than the four sends a channel may have in flight.
    while hooks.seen.lock().unwrap().delivered.len() < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "email waited behind the stalled SMS receiver: {} of 6 after {:?}",
            hooks.seen.lock().unwrap().delivered.len(),
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(relay);
}

/// The command transport's program sees PATH and the variables its config names, nothing
/// else of pitwall's environment (which may hold database URLs and tokens).
#[test]
fn a_command_gets_a_clean_environment() {
    let dir = tempfile::tempdir().unwrap();
    let seen_env = dir.path().join("env.txt");
    let db = file_database(dir.path(), |e| {
        ok(e, mechanic("m1", true, json!({})));
        ok(e, intake("S1", json!({})));
    });
    let config = dir.path().join("pitwall.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery.email]\ncommand = [\"sh\", \"-c\", \"cat >/dev/null; env > {}\"]\n\
             env = [\"PUSH_API_KEY\"]\n",
            seen_env.display()
        ),
    )
    .unwrap();
    let out = pitwall()
        .args(["relay", "--once", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .env("PITWALL_HOME", dir.path())
        .env("PUSH_API_KEY", "k-123")
        .env("PITWALL_DB", "postgres://admin:secret@db/pitwall")
        .env("AWS_SECRET_ACCESS_KEY", "do-not-leak")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let env = std::fs::read_to_string(&seen_env).unwrap();
    assert!(env.contains("PUSH_API_KEY=k-123"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(
        !env.contains("secret") && !env.contains("do-not-leak") && !env.contains("PITWALL_HOME"),
        "{env}"
    );
}

/// What the mailer would refuse is `invalid_input` at intake (and wherever an address comes
/// in), with nothing written — not a message retried until dead.
#[test]
fn addresses_the_mailer_would_refuse_are_refused_at_intake() {
    let mut e = common::engine();
    roster(&mut e);
    for bad in [
        "x,y@evil.com",
        "spy@evil.com>",
        "Ann <ann@example.com>",
        "a b@c.de",
    ] {
        let error = refused(
            &mut e,
            intake("S1", json!({"customer": {"name": "Ann", "email": bad}})),
            ErrorCode::InvalidInput,
        );
        assert_eq!(error.field.as_deref(), Some("customer.email"), "{bad}");
        let error = refused(
            &mut e,
            json!({"cmd": "join_waitlist",
                   "customer": {"name": "Ann", "email": bad}, "notify_via": ["email"]}),
            ErrorCode::InvalidInput,
        );
        assert_eq!(error.field.as_deref(), Some("customer.email"), "{bad}");
        refused(
            &mut e,
            mechanic("bad", true, json!({"email": bad})),
            ErrorCode::InvalidInput,
        );
    }
}

/// `pitwall secret` prints a secret in the standard form that the config accepts; a config
/// with another form is refused, saying how to make one, even when `pitwall secret` is what
/// the user runs next.
#[test]
fn pitwall_secret_makes_what_the_config_takes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pitwall.toml");
    std::fs::write(&config, "[delivery]\nsecret = \"a long random string\"\n").unwrap();
    let headless = |config: &Path| {
        pitwall()
            .args(["headless", "--config"])
            .arg(config)
            .env("PITWALL_HOME", dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = headless(&config);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("delivery.secret") && err.contains("pitwall secret"),
        "{err}"
    );
    assert!(!err.contains("a long random string"), "{err}");

    let out = pitwall()
        .args(["secret", "--config"])
        .arg(&config)
        .env("PITWALL_HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    std::fs::write(&config, format!("[delivery]\nsecret = \"{secret}\"\n")).unwrap();
    let out = headless(&config);
    assert!(out.status.success(), "{out:?}");
}
