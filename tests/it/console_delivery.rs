//! The console's relay (SPEC §10, §12), through the real binary in tmux: it delivers the
//! outbox in the background while the console draws and answers keys, and the status line
//! says once that a channel has no transport.

use crate::common;

use std::time::Duration;

use common::receivers::{Behaviour, SECRET, Webhooks};
use common::terminal::{Terminal, wait_for};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

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

    let console = Terminal::start("delivery", home.path(), "", 120, 40);
    let capture = || console.capture();
    wait_for("the status line to name the sms channel", || {
        capture().contains("no sms transport")
    });
    // Keys work while the relay waits on the receiver.
    console.keys("M-4");
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
    assert!(screen.contains("… queued sms"), "{screen}");

    console.keys("q");
    assert_eq!(console.exit_status(), 0);
    let seen = hooks.seen.lock().unwrap();
    assert_eq!(seen.bad_signatures, 0);
    assert!(seen.delivered.values().all(|n| *n == 1));
}
