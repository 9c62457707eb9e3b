//! At the default level, logs carry ids and codes — never a customer's name, email, phone,
//! postal code or concern.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_name_ids_not_customers() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        // Other tests of this binary, on other threads, may have met these log lines first with
        // no subscriber and cached "never"; ask every line again now that this one is set.
        tracing::callsite::rebuild_interest_cache();
        // On SQLite whatever the suite's backend: this is about what is logged, not where.
        let mut e = pitwall::engine::Engine::open(None, pitwall::clock::Clock::manual_default())
            .expect("in-memory database");
        roster(&mut e);
        // A matcher failure is logged…
        e.connection()
            .execute(
                pitwall::sql!("UPDATE mechanics SET service_keywords = 'broken' WHERE id = 't1'"),
                pitwall::params![],
            )
            .unwrap();
        let customer = json!({"name": "Zelda Quintanilla", "email": "zelda.q@example.org", "phone": "+1 709 555 0188"});
        ok(
            &mut e,
            intake(
                "S-LOG",
                json!({"customer": customer, "concern": "secret squeal in the gearbox",
            "location": {"country": "Canada", "postal_code": "A1C 5M2"}}),
            ),
        );
        // …and so is a refusal, whose message would quote the customer.
        err(
            &mut e,
            intake(
                "S-BAD",
                json!({"customer": customer, "location": {"country": "Canada", "postal_code": "NOPE9"}}),
            ),
        );
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("S-LOG"), "ids are logged: {text}");
    assert!(
        text.contains("invalid_input") && text.contains("location.postal_code"),
        "{text}"
    );
    for secret in [
        "Zelda",
        "Quintanilla",
        "zelda.q@example.org",
        "709 555 0188",
        "squeal",
        "A1C 5M2",
        "NOPE9",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the log: {text}"
        );
    }
}
