//! SPEC §7's strict input, through the protocol: a duplicate key is a `parse_error` (never
//! last-one-wins), a byte-order mark before the first line is ignored, ids are printable and not
//! blank, and an intake's preferred mechanic follows the same rule as `set_preferred`.

use crate::common;

use common::*;
use pitwall::error::ErrorCode;
use serde_json::{Value, json};

fn respond(engine: &mut pitwall::engine::Engine, line: &str) -> Value {
    let (_, response) = pitwall::headless::respond(engine, line);
    serde_json::from_str(&response).unwrap()
}

#[test]
fn a_duplicate_key_is_a_parse_error_and_acts_on_nothing() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S-wait", json!({})));
    let before = dump(&e);
    for line in [
        r#"{"cmd":"cancel","session":"NOPE","session":"S-wait"}"#,
        r#"{"cmd":"cancel","cmd":"cancel","session":"S-wait"}"#,
        r#"{"cmd":"intake","id":"S2","customer":{"name":"A","name":"B","email":"a@b.ca"}}"#,
        r#"{"cmd":"accept","session":"S-wait","mechanic":"t1","mechanic":"t2"}"#,
    ] {
        let out = respond(&mut e, line);
        assert_eq!(out["ok"], false, "{line}");
        assert_eq!(out["error"]["code"], "parse_error", "{line}: {out}");
        assert!(
            out["error"]["message"]
                .as_str()
                .unwrap()
                .contains("appears twice"),
            "{out}"
        );
    }
    assert_eq!(
        dump(&e),
        before,
        "a line with a duplicate key changed the database"
    );
    let s = ok(&mut e, json!({"cmd": "session", "id": "S-wait"}));
    assert_eq!(s["session"]["status"], "waiting");
}

#[test]
fn a_byte_order_mark_before_the_first_line_is_ignored() {
    let mut e = engine();
    let input = b"\xEF\xBB\xBF{\"cmd\":\"now\"}\n{\"cmd\":\"now\"}\n";
    let mut out = Vec::new();
    let summary = pitwall::headless::run(&mut e, &input[..], &mut out).unwrap();
    assert_eq!(summary.failed, 0, "{}", String::from_utf8_lossy(&out));
    assert_eq!(summary.commands, 2);
    // Only before the first line: elsewhere it is a character like any other, and not JSON.
    let input = b"{\"cmd\":\"now\"}\n\xEF\xBB\xBF{\"cmd\":\"now\"}\n";
    let mut out = Vec::new();
    let summary = pitwall::headless::run(&mut e, &input[..], &mut out).unwrap();
    assert_eq!(summary.failed, 1, "{}", String::from_utf8_lossy(&out));
}

#[test]
fn ids_are_printable_and_not_blank() {
    let mut e = engine();
    roster(&mut e);
    let bad = [
        " ",
        "   ",
        "\t",
        "\u{3000}",
        "\u{200B}",
        "S\u{200B}1",
        "\u{200D}",
        "\u{200E}",
        "\u{200F}",
        "S1\u{202E}",
        "\u{2066}S1",
        "\u{FEFF}",
        "a\u{AD}b",
        "a\u{7}b",
        "\u{85}",
        "\u{2028}",
        "\u{3164}",
        " S1",
        "S1 ",
    ];
    for id in bad {
        for cmd in [
            intake(id, json!({})),
            mechanic(id, true, json!({})),
            json!({"cmd": "join_waitlist", "id": id, "customer": {"name": "Bo", "email": "bo@example.com"}}),
        ] {
            let err = refused(&mut e, cmd.clone(), ErrorCode::InvalidInput);
            assert_eq!(err.field.as_deref(), Some("id"), "{id:?} in {cmd}: {err:?}");
        }
    }
    // Printable ids of every script still work.
    for id in ["S 1", "Ève-2", "会话-1", "🚗🔧"] {
        ok(&mut e, intake(id, json!({})));
    }
}

/// An id already in use is a conflict with what is stored (409 over HTTP), not a malformed
/// request: `invalid_state` at the id, and nothing changes.
#[test]
fn an_id_in_use_is_a_conflict_that_changes_nothing() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, mechanic("M1", true, json!({})));
    let entry = |id: &str| json!({"cmd": "join_waitlist", "id": id, "customer": {"name": "Bo", "email": "bo@example.com"}});
    ok(&mut e, entry("W1"));
    let before = dump(&e);
    for (cmd, record) in [
        (intake("S1", json!({})), "A session"),
        (mechanic("M1", true, json!({})), "A mechanic"),
        (entry("W1"), "A waitlist entry"),
    ] {
        let err = refused(&mut e, cmd.clone(), ErrorCode::InvalidState);
        assert_eq!(err.field.as_deref(), Some("id"), "{cmd}: {err:?}");
        assert!(err.message.starts_with(record), "{cmd}: {err:?}");
        assert!(err.message.contains("already exists"), "{err:?}");
    }
    assert_eq!(dump(&e), before, "a refused duplicate changed the database");
}

#[test]
fn intake_and_set_preferred_agree_on_an_ineligible_mechanic() {
    let mut e = engine();
    roster(&mut e);
    ok(
        &mut e,
        mechanic("sus", false, json!({"account_status": "suspended"})),
    );
    ok(
        &mut e,
        mechanic("thin", false, json!({"profile_completion_score": 40})),
    );
    ok(&mut e, intake("S1", json!({})));
    for who in ["sus", "thin"] {
        let by_set = refused(
            &mut e,
            json!({"cmd": "set_preferred", "session": "S1", "mechanic": who}),
            ErrorCode::NotEligible,
        );
        let by_intake = refused(
            &mut e,
            intake("S2", json!({"preferred_mechanic": who})),
            ErrorCode::NotEligible,
        );
        assert_eq!(by_intake.field.as_deref(), Some("preferred_mechanic"));
        assert_eq!(by_intake.message, by_set.message);
    }
    // The brand rule too: a specialist request cannot prefer a mechanic outside its brands.
    let brand =
        json!({"request_type": "brand_specialist", "brands": ["BMW"], "preferred_mechanic": "t1"});
    let err = refused(&mut e, intake("S3", brand), ErrorCode::NotEligible);
    assert_eq!(err.field.as_deref(), Some("preferred_mechanic"));
    // An eligible one is still welcome.
    ok(&mut e, intake("S4", json!({"preferred_mechanic": "off"})));
}
