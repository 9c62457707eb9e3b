//! Property tests with hostile input: the protocol parser, intake validation, postal codes and
//! keyword extraction never panic, every rejection is a coded error, and a rejection changes
//! nothing in the database.

use crate::common;

use common::*;
use pitwall::command::{Command, parse_line};
use pitwall::engine::validate;
use pitwall::error::ErrorCode;
use pitwall::matching::{canonical_keywords, extract_keywords};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Text with the characters that break naive code: controls, escapes, quotes, wide and
/// combining characters, bidi overrides.
fn nasty_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            Just('\u{1b}'),
            Just('\0'),
            Just('\u{202e}'),
            Just('"'),
            Just('\\'),
            Just('é'),
            Just('🚗'),
            Just(' '),
        ],
        0..80,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_.]{1,14}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELD_NAMES: &[&str] = &[
    "id",
    "session",
    "mechanic",
    "customer",
    "location",
    "concern",
    "payment_method",
    "brands",
    "request_type",
    "notify_via",
    "seconds",
    "enabled",
    "rollout_percent",
    "path",
    "name",
    "rating",
    "postal_code",
    "country",
    "preferred_mechanic",
    "urgent",
];

fn command_object() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(Command::NAMES),
        prop::collection::vec((prop::sample::select(FIELD_NAMES), json_value()), 0..6),
    )
        .prop_map(|(name, fields)| {
            let mut obj = serde_json::Map::new();
            obj.insert("cmd".into(), json!(name));
            for (k, v) in fields {
                // Never read files from the test machine through load_seeds.
                if k == "path" {
                    continue;
                }
                obj.insert(k.to_string(), v);
            }
            Value::Object(obj)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_line_parses_or_is_a_coded_error(line in nasty_text()) {
        if let Err(rejected) = parse_line(&line) {
            prop_assert!(matches!(
                rejected.error.code,
                ErrorCode::ParseError | ErrorCode::UnknownCommand | ErrorCode::InvalidInput
            ));
            prop_assert!(!rejected.error.message.is_empty());
        }
    }

    #[test]
    fn keyword_extraction_is_total_deduplicated_and_in_rule_order(text in nasty_text()) {
        let found = extract_keywords(&text);
        let order: Vec<&str> = canonical_keywords().collect();
        let positions: Vec<usize> = found.iter().map(|k| order.iter().position(|c| c == k).unwrap()).collect();
        prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "{found:?}");
        if text.is_ascii() {
            prop_assert_eq!(extract_keywords(&text.to_uppercase()), found, "case never matters");
        }
    }

    #[test]
    fn canadian_postal_codes_follow_the_pattern(
        a in "[A-Za-z]", b in "[0-9]", c in "[A-Za-z]", d in "[0-9]", e in "[A-Za-z]", f in "[0-9]",
        space in prop::bool::ANY,
    ) {
        let code = format!("{a}{b}{c}{}{d}{e}{f}", if space { " " } else { "" });
        prop_assert!(validate::postal_code("p", "Canada", &code).is_ok(), "{code}");
    }

    #[test]
    fn postal_validation_never_panics_and_rejections_name_the_field(
        country in prop_oneof![Just("Canada".to_string()), Just("US".to_string()), nasty_text()],
        code in nasty_text(),
    ) {
        if let Err(e) = validate::postal_code("location.postal_code", &country, &code) {
            prop_assert_eq!(e.code, ErrorCode::InvalidInput);
            prop_assert_eq!(e.field.as_deref(), Some("location.postal_code"));
            prop_assert!(!pitwall::text::has_control(&e.message));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn random_commands_never_panic_and_rejections_change_nothing(cmd in command_object()) {
        let mut e = engine();
        roster(&mut e);
        ok(&mut e, intake("S1", json!({})));
        let before = dump(&e);
        let line = cmd.to_string();
        let (okay, response) = pitwall::headless::respond(&mut e, &line);
        let v: Value = serde_json::from_str(&response).unwrap();
        prop_assert_eq!(v["ok"].as_bool(), Some(okay));
        if !okay {
            prop_assert!(v["error"]["code"].is_string());
            prop_assert_eq!(dump(&e), before, "{} was refused but wrote", line);
        }
    }

    #[test]
    fn hostile_intakes_are_stored_as_given_or_refused_with_a_field(
        name in nasty_text(), email in nasty_text(), concern in nasty_text(),
        city in nasty_text(), postal in nasty_text(), brands in prop::collection::vec(nasty_text(), 0..3),
    ) {
        let mut e = engine();
        roster(&mut e);
        let before = dump(&e);
        let cmd = intake("X", json!({
            "customer": {"name": name, "email": email, "phone": "+1 416 555 0100"},
            "location": {"country": "Canada", "city": city, "postal_code": postal},
            "concern": concern, "brands": brands,
        }));
        match run(&mut e, cmd) {
            Ok(out) => {
                prop_assert_eq!(out["session"]["id"].as_str(), Some("X"));
                let stored: String = e.connection()
                    .query_row(pitwall::sql!("SELECT concern FROM intakes WHERE id = 'X'"), pitwall::params![], |r| r.get(0)).unwrap();
                prop_assert_eq!(stored, concern.trim());
            }
            Err(err) => {
                prop_assert_eq!(err.code, ErrorCode::InvalidInput);
                prop_assert!(err.field.is_some());
                prop_assert_eq!(dump(&e), before);
            }
        }
    }
}
