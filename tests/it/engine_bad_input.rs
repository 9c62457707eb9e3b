//! SPEC §7: every rejected input gets a coded error naming its field, and changes nothing.

use crate::common;

use common::*;
use pitwall::error::ErrorCode;
use serde_json::json;

fn ready() -> pitwall::engine::Engine {
    let mut e = engine();
    roster(&mut e);
    ok(
        &mut e,
        mechanic("low", true, json!({"profile_completion_score": 50})),
    );
    ok(&mut e, intake("S1", json!({})));
    e
}

#[test]
fn intake_validation_names_each_field() {
    let mut e = ready();
    let long = "x".repeat(4001);
    let cases = [
        (
            json!({"customer": {"name": "  ", "email": "a@b.ca"}}),
            "customer.name",
        ),
        (json!({"customer": {"name": "A"}}), "customer.email"),
        (
            json!({"customer": {"name": "A", "email": "nope"}}),
            "customer.email",
        ),
        (
            json!({"customer": {"name": "A", "phone": "call me maybe"}}),
            "customer.phone",
        ),
        (
            json!({"customer": {"name": "x".repeat(201), "email": "a@b.ca"}}),
            "customer.name",
        ),
        (json!({"concern": "   "}), "concern"),
        (json!({"concern": long}), "concern"),
        (
            json!({"location": {"postal_code": "M5V 3L9"}}),
            "location.country",
        ),
        (
            json!({"location": {"country": "Canada"}}),
            "location.postal_code",
        ),
        (
            json!({"location": {"country": "Canada", "postal_code": "90210"}}),
            "location.postal_code",
        ),
        (
            json!({"location": {"country": "US", "postal_code": "M5V 3L9"}}),
            "location.postal_code",
        ),
        (json!({"payment_method": null}), "payment_method"),
        (json!({"payment_method": "bitcoin"}), "payment_method"),
        (json!({"request_type": "brand_specialist"}), "brands"),
        (
            json!({"request_type": "brand_specialist", "brands": [""]}),
            "brands[0]",
        ),
        (json!({"request_type": "psychic"}), "request_type"),
        (json!({"vehicle": {"year": 1800}}), "vehicle.year"),
        (json!({"vehicle": {"vin": "x".repeat(18)}}), "vehicle.vin"),
        (json!({"urgent": "yes"}), "urgent"),
        (json!({"id": ""}), "id"),
        (json!({"id": "x".repeat(65)}), "id"),
        (json!({"concen": "typo"}), "concen"),
        // Lengths are measured as sent: padding counts, even around a blank optional field.
        (
            json!({"concern": format!("x{}", " ".repeat(4000))}),
            "concern",
        ),
        (
            json!({"customer": {"name": "A", "email": "a@b.ca", "phone": " ".repeat(33)}}),
            "customer.phone",
        ),
    ];
    for (extra, field) in cases {
        let mut cmd = intake("S9", json!({}));
        merge(&mut cmd, extra.clone());
        let err = refused(&mut e, cmd, ErrorCode::InvalidInput);
        assert_eq!(err.field.as_deref(), Some(field), "{extra}: {err:?}");
    }
    // An id in use is a conflict with what is stored, not malformed input.
    let err = refused(&mut e, intake("S1", json!({})), ErrorCode::InvalidState);
    assert_eq!(err.field.as_deref(), Some("id"));
    let err = refused(
        &mut e,
        intake("S9", json!({"preferred_mechanic": "ghost"})),
        ErrorCode::NotFound,
    );
    assert_eq!(err.field.as_deref(), Some("preferred_mechanic"));
}

#[test]
fn lifecycle_errors_carry_their_codes() {
    let mut e = ready();
    let cases = [
        (
            json!({"cmd": "accept", "session": "nope", "mechanic": "t1"}),
            ErrorCode::NotFound,
        ),
        (
            json!({"cmd": "accept", "session": "S1", "mechanic": "nobody"}),
            ErrorCode::NotFound,
        ),
        (
            json!({"cmd": "accept", "session": "S1", "mechanic": "low"}),
            ErrorCode::NotEligible,
        ),
        (
            json!({"cmd": "accept", "session": "S1", "mechanic": "off"}),
            ErrorCode::Offline,
        ),
        (
            json!({"cmd": "accept", "session": "S1", "mechanic": "t4"}),
            ErrorCode::NotOffered,
        ),
        (
            json!({"cmd": "decline", "session": "S1", "mechanic": "t4"}),
            ErrorCode::NotOffered,
        ),
        (
            json!({"cmd": "complete", "session": "S1"}),
            ErrorCode::InvalidState,
        ),
        (
            json!({"cmd": "sign_waiver", "session": "S1"}),
            ErrorCode::InvalidState,
        ),
        (
            json!({"cmd": "clock_in", "mechanic": "t1"}),
            ErrorCode::InvalidState,
        ),
        (
            json!({"cmd": "clock_out", "mechanic": "off"}),
            ErrorCode::InvalidState,
        ),
        (
            json!({"cmd": "clock_in", "mechanic": "ghost"}),
            ErrorCode::NotFound,
        ),
        (
            json!({"cmd": "session", "id": "ghost"}),
            ErrorCode::NotFound,
        ),
        (
            json!({"cmd": "cancel_waitlist", "id": "ghost"}),
            ErrorCode::NotFound,
        ),
        (
            json!({"cmd": "join_waitlist", "session": "ghost"}),
            ErrorCode::NotFound,
        ),
        (json!({"cmd": "join_waitlist"}), ErrorCode::InvalidInput),
        (
            json!({"cmd": "join_waitlist", "customer": {"name": "A", "email": "a@b.ca"}, "notify_via": ["sms"]}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "join_waitlist", "customer": {"name": "A", "email": "a@b.ca"}, "notify_via": []}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "join_waitlist", "customer": {"name": "A", "email": "a@b.ca"}, "notify_via": ["fax"]}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "set_flag", "rollout_percent": 101}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "advance", "seconds": -5}),
            ErrorCode::InvalidInput,
        ),
        (json!({"cmd": "advance"}), ErrorCode::InvalidInput),
        (
            json!({"cmd": "set_preferred", "session": "S1", "mechanic": "low"}),
            ErrorCode::NotEligible,
        ),
        (
            json!({"cmd": "load_seeds", "path": "/nonexistent/seeds.json"}),
            ErrorCode::NotFound,
        ),
        (
            json!({"cmd": "add_mechanic", "name": ""}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "add_mechanic", "id": "t1", "name": "Dup"}),
            ErrorCode::InvalidState,
        ),
        (
            json!({"cmd": "add_mechanic", "name": "R", "rating": 7.5}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "add_mechanic", "name": "R", "profile_completion_score": 101}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "add_mechanic", "name": "R", "country": "Canada", "postal_code": "ZZZ"}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "add_mechanic", "name": "R", "account_status": "retired"}),
            ErrorCode::InvalidInput,
        ),
        (
            json!({"cmd": "add_mechanic", "name": "R", "service_keywords": ["a\u{1b}[2J"]}),
            ErrorCode::InvalidInput,
        ),
    ];
    for (cmd, code) in cases {
        refused(&mut e, cmd, code);
    }
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t2"}),
        ErrorCode::AlreadyTaken,
    );
    refused(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t2"}),
        ErrorCode::AlreadyTaken,
    );
    refused(
        &mut e,
        json!({"cmd": "join_waitlist", "session": "S1"}),
        ErrorCode::InvalidState,
    );
    ok(&mut e, intake("S2", json!({})));
    ok(&mut e, json!({"cmd": "advance", "seconds": 60}));
    ok(&mut e, json!({"cmd": "clock_in", "mechanic": "off"}));
    ok(
        &mut e,
        json!({"cmd": "set_preferred", "session": "S2", "mechanic": "off"}),
    );
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S2", "mechanic": "t2"}),
    );
    ok(&mut e, json!({"cmd": "advance", "seconds": 60}));
    ok(&mut e, json!({"cmd": "cancel", "session": "S2"}));
    refused(
        &mut e,
        json!({"cmd": "cancel", "session": "S2"}),
        ErrorCode::InvalidState,
    );
}

#[test]
fn an_offer_that_lapsed_is_expired_not_missing() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({"preferred_mechanic": "off"})));
    ok(&mut e, json!({"cmd": "advance", "seconds": 90}));
    ok(&mut e, json!({"cmd": "clock_in", "mechanic": "off"}));
    ok(&mut e, json!({"cmd": "advance", "seconds": 30}));
    // 14:02: t1's offer lapsed; the broadcast is open, so t1 takes it instead.
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "t2"}));
    refused(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t1"}),
        ErrorCode::Expired,
    );
}

#[test]
fn a_seed_file_with_one_bad_record_loads_nothing() {
    let mut e = engine();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seeds.json");
    std::fs::write(
        &path,
        r#"[{"id":"a","name":"Good"},{"id":"b","name":"Bad","rating":9}]"#,
    )
    .unwrap();
    let err = refused(
        &mut e,
        json!({"cmd": "load_seeds", "path": path}),
        ErrorCode::InvalidInput,
    );
    assert_eq!(err.field.as_deref(), Some("[1].rating"));
    std::fs::write(&path, r#"[{"id":"a","name":"Good"},{"id":"b","name":5}]"#).unwrap();
    let err = refused(
        &mut e,
        json!({"cmd": "load_seeds", "path": path}),
        ErrorCode::InvalidInput,
    );
    assert_eq!(err.field.as_deref(), Some("[1].name"));
}

#[test]
fn protocol_errors_change_nothing() {
    let mut e = ready();
    let before = dump(&e);
    for (line, code) in [
        ("{not json", "parse_error"),
        ("[]", "parse_error"),
        (r#"{"cmd":"teleport"}"#, "unknown_command"),
        (r#"{"cmd":"accept"}"#, "invalid_input"),
        (
            r#"{"cmd":"accept","session":"S1","mechanic":"t1","extra":true}"#,
            "invalid_input",
        ),
    ] {
        let (okay, response) = pitwall::headless::respond(&mut e, line);
        assert!(!okay);
        let v: serde_json::Value = serde_json::from_str(&response).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["code"], code, "{line}");
        assert!(v["error"]["message"].as_str().unwrap().len() > 5);
    }
    assert_eq!(dump(&e), before);
}

#[test]
fn customer_text_is_stored_as_given() {
    let mut e = ready();
    let concern = "brakes \u{1b}[31mRED\u{7} and \u{202e}reversed";
    ok(&mut e, intake("S2", json!({"concern": concern})));
    let stored: String = e
        .connection()
        .query_row(
            pitwall::sql!("SELECT concern FROM intakes WHERE id = 'S2'"),
            pitwall::params![],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, concern);
    assert_eq!(
        pitwall::text::inert(&stored),
        "brakes \u{FFFD}[31mRED\u{FFFD} and \u{FFFD}reversed"
    );
}

#[test]
fn load_seeds_refuses_what_is_not_a_regular_file() {
    let mut e = engine();
    let err = refused(
        &mut e,
        json!({"cmd": "load_seeds", "path": "/dev/zero"}),
        ErrorCode::InvalidInput,
    );
    assert_eq!(err.field.as_deref(), Some("path"));
    let dir = tempfile::tempdir().unwrap();
    refused(
        &mut e,
        json!({"cmd": "load_seeds", "path": dir.path()}),
        ErrorCode::InvalidInput,
    );
    let file = dir.path().join("not-a-list.json");
    std::fs::write(&file, r#"{"id": "x"}"#).unwrap();
    let err = refused(
        &mut e,
        json!({"cmd": "load_seeds", "path": file}),
        ErrorCode::InvalidInput,
    );
    assert_eq!(err.field.as_deref(), Some("path"));
}

/// The engine reads no files (seed files are read by the front ends, `pitwall::seeds`): a
/// `load_seeds` that reaches it without its file's text is refused and changes nothing.
#[test]
fn the_engine_itself_never_reads_a_seed_file() {
    let mut e = engine();
    let before = dump(&e);
    let command = pitwall::command::Command::LoadSeeds(pitwall::command::LoadSeeds {
        path: "seeds/mechanics.json".into(),
        contents: None,
    });
    let err = e.execute(command).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(err.field.as_deref(), Some("path"));
    assert_eq!(dump(&e), before);
    // Through the front door the same command loads the file.
    let loaded = run(
        &mut e,
        json!({"cmd": "load_seeds", "path": "seeds/mechanics.json"}),
    )
    .unwrap();
    assert!(loaded["count"].as_u64().unwrap() > 10, "{loaded}");
}
