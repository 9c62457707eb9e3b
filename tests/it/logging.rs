//! At the default level, logs carry ids and codes — never a customer's name, email, phone,
//! postal code or concern.

use crate::common;

use common::*;
use serde_json::json;

/// Set in the child process that runs the logging itself.
const CHILD: &str = "PITWALL_TEST_LOGGING_CHILD";

/// Runs itself again as a child process of this test binary, alone: a subscriber set while the
/// suite's other tests run on other threads of one process can miss lines (tracing caches, per
/// call site, whether any subscriber wants it), so the child sets the process's one global
/// subscriber and this test reads what it wrote.
#[test]
fn logs_name_ids_not_customers() {
    if std::env::var_os(CHILD).is_some() {
        return log_an_intake_and_a_refusal();
    }
    let child = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "logging::logs_name_ids_not_customers",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary again");
    let text = String::from_utf8_lossy(&child.stderr).into_owned();
    assert!(child.status.success(), "the child failed: {text}");
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

/// The child's part: an engine on the suite's backend, with one intake that succeeds and one
/// refused, logged at the default level to stderr.
fn log_an_intake_and_a_refusal() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let mut e = engine();
    roster(&mut e);
    // A matcher failure is logged…
    e.connection()
        .execute(
            pitwall::sql!("UPDATE mechanics SET service_keywords = 'broken' WHERE id = 't1'"),
            pitwall::params![],
        )
        .unwrap();
    let customer = json!({"name": "Zelda Quintanilla", "email": "zelda.q@example.org",
                          "phone": "+1 709 555 0188"});
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
            json!({"customer": customer,
                   "location": {"country": "Canada", "postal_code": "NOPE9"}}),
        ),
    );
}
