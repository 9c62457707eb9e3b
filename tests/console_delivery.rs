//! The console's relay (SPEC §10, §12), through the real binary in tmux: it delivers the
//! outbox in the background while the console draws and answers keys, and the status line
//! says once that a channel has no transport.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::receivers::{Behaviour, SECRET, Webhooks};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed for this test (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_console_delivers_in_the_background_and_names_a_channel_without_transport() {
    let hooks = Webhooks::start(Behaviour {
        // Slow enough that a UI waiting on the network would show it.
        delay: Duration::from_millis(300),
        ..Default::default()
    });
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("pitwall.toml"),
        format!(
            "[delivery]\nsecret = \"{SECRET}\"\n[delivery.email]\nwebhook = \"{}\"\n",
            hooks.url("email")
        ),
    )
    .unwrap();
    {
        let mut e = Engine::open(Some(&home.path().join("pitwall.db")), Clock::System).unwrap();
        ok(
            &mut e,
            mechanic("m1", true, json!({"years_experience": 12})),
        );
        ok(&mut e, mechanic("m2", true, json!({})));
        ok(
            &mut e,
            mechanic(
                "m3",
                true,
                json!({"phone": "+1 416 555 0123", "notify_via": ["sms"]}),
            ),
        );
        ok(&mut e, intake("S1", json!({})));
    }

    let session = format!("pitwall-delivery-{}", std::process::id());
    let exit_file = home.path().join("exit");
    let command = format!(
        "PITWALL_HOME={} {}; echo $? > {}",
        home.path().display(),
        env!("CARGO_BIN_EXE_pitwall"),
        exit_file.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ]);
    let capture = || tmux(&["capture-pane", "-p", "-t", &session]);
    wait_for("the status line to name the sms channel", || {
        capture().contains("no sms transport")
    });
    // Keys work while the relay waits on the receiver.
    tmux(&["send-keys", "-t", &session, "4"]);
    wait_for("the Waitlist pane", || {
        capture().contains("Notifications · delivery")
    });
    wait_for("two emails to arrive", || {
        hooks.seen.lock().unwrap().delivered.len() == 2
    });
    wait_for("the feed to show them sent", || {
        capture().matches("✓ sent").count() == 2
    });
    let screen = capture();
    assert!(screen.contains("… pending sms"), "{screen}");

    tmux(&["send-keys", "-t", &session, "q"]);
    wait_for("the console to exit", || {
        std::fs::read_to_string(&exit_file).is_ok_and(|s| s.ends_with('\n'))
    });
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .output();
    assert_eq!(std::fs::read_to_string(&exit_file).unwrap().trim(), "0");
    let seen = hooks.seen.lock().unwrap();
    assert_eq!(seen.bad_signatures, 0);
    assert!(seen.delivered.values().all(|n| *n == 1));
}
