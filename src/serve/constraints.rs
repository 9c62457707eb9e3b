//! The engine's input rules (engine/validate.rs and the commands' own checks) as JSON Schema
//! constraints on each command's request schema, so that a request valid against the OpenAPI
//! document is one the engine accepts, and one the engine refuses is (as far as JSON Schema can
//! say it) invalid against the document. The types give the fields and their JSON types; this
//! adds what serde cannot see: required text that may not be blank, lengths, ranges, formats, and
//! rules between fields. A rule that depends on the database (an id that must exist, a session's
//! state) answers 404 or 409, not 422, and needs no constraint.

use chrono::{Datelike, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::engine::validate::{
    MAX_CONCERN, MAX_EMAIL, MAX_ID, MAX_LIST_ITEMS, MAX_NAME, MAX_PHONE, MAX_SHORT_TEXT,
};

/// The white space the engine trims (`str::trim`: Unicode's White_Space), spelled out as a
/// class: `\s` means another set in each regex dialect (ECMA's adds U+FEFF, Python's U+001C to
/// U+001F), so a pattern using it would let a tool draw, as valid, text the engine refuses.
const WHITE_SPACE: [(u32, u32); 10] = [
    (0x09, 0x0d),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xa0, 0xa0),
    (0x1680, 0x1680),
    (0x2000, 0x200a),
    (0x2028, 0x2029),
    (0x202f, 0x202f),
    (0x205f, 0x205f),
    (0x3000, 0x3000),
];

/// [`WHITE_SPACE`] as the inside of a character class, in the `\uXXXX` escapes that ECMA,
/// Python and Rust regexes all read.
fn white_space_ranges() -> String {
    WHITE_SPACE
        .iter()
        .map(|&(from, to)| {
            if from == to {
                format!(r"\u{from:04X}")
            } else {
                format!(r"\u{from:04X}-\u{to:04X}")
            }
        })
        .collect()
}

/// Any run of white space the engine trims.
fn ws() -> String {
    format!("[{}]*", white_space_ranges())
}

/// Text with a character that is not white space (the engine trims, then requires one).
fn non_blank() -> String {
    format!("[^{}]", white_space_ranges())
}

/// Characters the engine refuses in list entries and contact details: C0 and C1 controls,
/// bidirectional overrides and isolates (text::inert's set).
const UNSAFE: &str = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069";

/// The addresses the engine takes (its own rules, then the mailer's RFC 5322 parser) include
/// exotic ones; the document promises the plain kind every mailer takes: dot-separated ASCII
/// words, and a domain of two or more labels.
fn email_body() -> String {
    let word = r"[A-Za-z0-9_%+-]+";
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    // At most 64 characters before the @ (RFC 5321).
    format!(r"(?=[^@]{{1,64}}@){word}(?:\.{word})*@(?:{label}\.)+{label}")
}

fn phone_body() -> &'static str {
    r"[ +\-().]*(?:[0-9][ +\-().]*){7,15}"
}

/// Commands whose `id` names the record they create (a caller-chosen id).
const NAMES_A_NEW_RECORD: [&str; 3] = ["intake", "add_mechanic", "join_waitlist"];

/// The name of the caller-chosen id's format in the document.
pub const ID_FORMAT: &str = "pitwall-id";

/// A caller-chosen id, as the engine's rule (validate::id) takes it: 1 to 64 characters, each
/// printable, at least one visible, no white space at either end. The rule is by Unicode
/// category, which a JSON Schema pattern cannot say in a way every tool reads alike (spelled out
/// as ranges it runs to 800 of them, and tools on an older Unicode refuse the newer ones), so the
/// document names it as a format and states it in words. An id already in use is a conflict
/// (409), not a schema matter.
fn new_id() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID,
        "format": ID_FORMAT,
        "description": "1 to 64 characters a person can see and type again: no control, \
                        format, private-use or unassigned characters, at least one visible \
                        character, no white space at either end. An id already in use is a \
                        conflict (409).",
    })
}

/// Adds the engine's rules to command `name`'s request schema.
pub fn constrain(name: &str, schema: &mut Map<String, Value>) {
    let now = Utc::now();
    if NAMES_A_NEW_RECORD.contains(&name) {
        // The field keeps what the types say of it (optional, nullable) and gains the rule.
        if let Some(Value::Object(id)) = properties(schema).get_mut("id")
            && let Value::Object(rule) = new_id()
        {
            id.extend(rule);
        }
    }
    match name {
        "intake" => {
            let p = properties(schema);
            p.insert("customer".into(), customer(true));
            p.insert("location".into(), location());
            p.insert("vehicle".into(), vehicle(now.year()));
            p.insert("concern".into(), text(MAX_CONCERN));
            p.insert(
                "payment_method".into(),
                json!({"$ref": "#/components/schemas/PaymentMethod"}),
            );
            p.insert("brands".into(), labels());
            p.insert("scheduled_for".into(), booking_time(now));
            require(
                schema,
                &["customer", "location", "concern", "payment_method"],
            );
            brands_rule(schema);
        }
        "browse" | "slots" => {
            let p = properties(schema);
            p.insert(
                "concern".into(),
                json!({"type": "string", "maxLength": MAX_CONCERN}),
            );
            p.insert("brands".into(), labels());
            if name == "slots" {
                p.insert(
                    "days".into(),
                    json!({"type": "integer", "nullable": true, "minimum": 1, "maximum": 14}),
                );
                p.insert("from".into(), any_time());
            }
            brands_rule(schema);
        }
        "join_waitlist" => {
            let p = properties(schema);
            let mut given = customer(false);
            given["nullable"] = json!(true);
            p.insert("customer".into(), given);
            // Defaults to email; an empty list is refused.
            p.insert(
                "notify_via".into(),
                json!({"type": "array", "nullable": true, "minItems": 1,
                       "items": {"$ref": "#/components/schemas/Channel"}}),
            );
            // A customer, or the session they came from (whose customer is copied); each channel
            // needs its address: email (the default) and push an email or phone, sms a phone.
            schema.insert(
                "anyOf".into(),
                json!([
                    {"required": ["session"], "properties": {
                        "session": {"type": "string"},
                        "customer": {"nullable": true, "enum": [null]}}},
                    {"required": ["customer"], "properties": {
                        "customer": {"type": "object", "required": ["email"],
                                     "properties": {"email": {"type": "string",
                                         "pattern": format!("^{ws}{}{ws}$", email_body(), ws = ws())}}},
                        "notify_via": {"nullable": true, "type": "array",
                                       "items": {"enum": ["email", "push"]}}}},
                    {"required": ["customer", "notify_via"], "properties": {
                        "customer": {"type": "object", "required": ["phone"],
                                     "properties": {"phone": {"type": "string",
                                         "pattern": format!("^{ws}{}{ws}$", phone_body(), ws = ws())}}},
                        "notify_via": {"type": "array", "items": {"enum": ["sms", "push"]}}}},
                    {"required": ["customer", "notify_via"], "properties": {
                        "customer": {"type": "object", "required": ["email", "phone"],
                                     "properties": {
                                         "email": {"type": "string",
                                             "pattern": format!("^{ws}{}{ws}$", email_body(), ws = ws())},
                                         "phone": {"type": "string",
                                             "pattern": format!("^{ws}{}{ws}$", phone_body(), ws = ws())}}},
                        "notify_via": {"type": "array"}}},
                ]),
            );
        }
        "add_mechanic" => {
            let p = properties(schema);
            p.insert("name".into(), text(MAX_NAME));
            let (email, phone) = contact();
            p.insert("email".into(), email);
            p.insert("phone".into(), phone);
            for field in [
                "city",
                "state_province",
                "country",
                "postal_code",
                "certification_number",
                "certification_authority",
                "certification_region",
                "red_seal_number",
                "red_seal_province",
            ] {
                p.insert(field.into(), short_text());
            }
            for (field, min, max) in [
                ("years_experience", 0, 80),
                ("completed_sessions", 0, 10_000_000),
                ("profile_completion_score", 0, 100),
            ] {
                p.insert(
                    field.into(),
                    json!({"type": "integer", "minimum": min, "maximum": max}),
                );
            }
            p.insert(
                "max_active_sessions".into(),
                json!({"type": "integer", "nullable": true, "minimum": 1, "maximum": 10_000}),
            );
            p.insert(
                "rating".into(),
                json!({"type": "number", "minimum": 0, "maximum": 5}),
            );
            p.insert("brand_specializations".into(), labels());
            p.insert("service_keywords".into(), labels());
            p.insert(
                "notify_via".into(),
                json!({"type": "array", "nullable": true, "minItems": 1,
                       "items": {"$ref": "#/components/schemas/Channel"}}),
            );
            plan(p);
            require(schema, &["name"]);
            // Each channel needs its address (sms a phone, email an email, push either), and a
            // postal code given with a country follows that country's rule.
            schema.insert(
                "allOf".into(),
                json!([
                    {"anyOf": channels_reachable()},
                    {"anyOf": [
                        {"properties": {"country": {"type": "string", "nullable": true,
                                                    "pattern": format!("^{}$", ws())}}},
                        {"properties": {"postal_code": {"type": "string", "nullable": true,
                                                        "pattern": format!("^{}$", ws())}}},
                        {"properties": {"postal_code": {"type": "string", "nullable": true,
                                                        "pattern": other_postal()}}},
                    ]},
                ]),
            );
        }
        "set_shifts" => plan(properties(schema)),
        "set_flag" => {
            properties(schema).insert(
                "rollout_percent".into(),
                json!({"type": "integer", "nullable": true, "minimum": 0, "maximum": 100}),
            );
        }
        "set_setting" => {
            let p = properties(schema);
            p.insert(
                "name".into(),
                json!({"type": "string", "enum": ["escalate_after_seconds"]}),
            );
            p.insert(
                "value".into(),
                json!({"type": "integer", "minimum": 1,
                       "maximum": crate::store::settings::ESCALATE_AFTER_MAX}),
            );
        }
        _ => {}
    }
}

/// A postal code outside Canada and the US (validate::postal_code's rule for them).
fn other_postal() -> String {
    format!(r"^{ws}[A-Za-z0-9-](?:[A-Za-z0-9 -]{{0,8}})[A-Za-z0-9-]{ws}$", ws = ws())
}

/// An email and a phone, each valid or blank when given.
fn contact() -> (Value, Value) {
    (
        json!({"type": "string", "nullable": true, "maxLength": MAX_EMAIL,
               "pattern": format!("^{ws}(?:{})?{ws}$", email_body(), ws = ws())}),
        json!({"type": "string", "nullable": true, "maxLength": MAX_PHONE,
               "pattern": format!("^{ws}(?:{})?{ws}$", phone_body(), ws = ws())}),
    )
}

/// A mechanic's `notify_via` against his addresses: left out (the default follows what he
/// has), or channels each of which reaches him.
fn channels_reachable() -> Value {
    let email = json!({"type": "string", "pattern": format!("^{ws}{}{ws}$", email_body(), ws = ws())});
    let phone = json!({"type": "string", "pattern": format!("^{ws}{}{ws}$", phone_body(), ws = ws())});
    json!([
        {"properties": {"notify_via": {"nullable": true, "enum": [null]}}},
        {"required": ["email"], "properties": {"email": email,
            "notify_via": {"type": "array", "items": {"enum": ["email", "push"]}}}},
        {"required": ["phone"], "properties": {"phone": phone,
            "notify_via": {"type": "array", "items": {"enum": ["sms", "push"]}}}},
        {"required": ["email", "phone"], "properties": {"email": email, "phone": phone}},
    ])
}

/// A weekly plan: an IANA time zone, and shifts of a day and two HH:MM times.
fn plan(p: &mut Map<String, Value>) {
    // OpenAPI 3.0: with an `enum`, `nullable` admits null only when the list holds it.
    let zones: Vec<Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| json!(tz.name()))
        .chain([Value::Null])
        .collect();
    p.insert(
        "timezone".into(),
        json!({"type": "string", "nullable": true, "enum": zones}),
    );
    let day = "[mM][oO][nN]|[tT][uU][eE]|[wW][eE][dD]|[tT][hH][uU]|[fF][rR][iI]|[sS][aA][tT]|[sS][uU][nN]";
    let time = format!("^{ws}(?:[01][0-9]|2[0-3]):[0-5][0-9]{ws}$", ws = ws());
    p.insert(
        "shifts".into(),
        json!({"type": "array", "maxItems": crate::schedule::MAX_SHIFTS, "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["day", "start", "end"],
            "properties": {
                "day": {"type": "string", "pattern": format!("^{ws}(?:{day}){ws}$", ws = ws())},
                "start": {"type": "string", "pattern": time},
                "end": {"type": "string", "pattern": time},
            },
        }}),
    );
}

fn properties(schema: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let entry = schema.entry("properties").or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("made an object above")
}

fn require(schema: &mut Map<String, Value>, fields: &[&str]) {
    let required = schema.entry("required").or_insert_with(|| json!([]));
    if let Some(list) = required.as_array_mut() {
        for f in fields {
            if !list.iter().any(|r| r == f) {
                list.push(json!(f));
            }
        }
    }
}

/// Required text, 1–`max` characters that are not all blank.
fn text(max: usize) -> Value {
    json!({"type": "string", "pattern": non_blank(), "maxLength": max})
}

/// Optional short text: null, blank, or up to [`MAX_SHORT_TEXT`] characters.
fn short_text() -> Value {
    json!({"type": "string", "nullable": true, "maxLength": MAX_SHORT_TEXT})
}

/// The customer: a name, and an email or a phone (`reachable`: at least one of them; either
/// way, each one given is valid or blank).
fn customer(reachable: bool) -> Value {
    let email_or_blank = format!("^{ws}(?:{})?{ws}$", email_body(), ws = ws());
    let phone_or_blank = format!("^{ws}(?:{})?{ws}$", phone_body(), ws = ws());
    let mut c = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": text(MAX_NAME),
            "email": {"type": "string", "nullable": true, "maxLength": MAX_EMAIL,
                      "pattern": email_or_blank},
            "phone": {"type": "string", "nullable": true, "maxLength": MAX_PHONE,
                      "pattern": phone_or_blank},
        },
    });
    if reachable {
        c["anyOf"] = json!([
            {"required": ["email"], "properties": {"email": {"type": "string",
                "pattern": format!("^{ws}{}{ws}$", email_body(), ws = ws())}}},
            {"required": ["phone"], "properties": {"phone": {"type": "string",
                "pattern": format!("^{ws}{}{ws}$", phone_body(), ws = ws())}}},
        ]);
    }
    c
}

/// Where the customer is: a country and a postal code (2–10 letters, digits, spaces or dashes,
/// the rule outside Canada and the US; those two countries have rules of their own that the
/// engine applies when it recognises the country).
fn location() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["country", "postal_code"],
        "properties": {
            "country": text(MAX_SHORT_TEXT),
            "postal_code": {"type": "string", "pattern": other_postal()},
            "province": short_text(),
            "city": short_text(),
        },
    })
}

fn vehicle(this_year: i32) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "year": {"type": "integer", "nullable": true, "minimum": 1900,
                     "maximum": this_year + 1},
            "make": short_text(),
            "model": short_text(),
            "vin": {"type": "string", "nullable": true, "maxLength": 17},
        },
    })
}

/// Brands: at most [`MAX_LIST_ITEMS`] entries, each not blank and without control characters.
fn labels() -> Value {
    let entry = format!(
        "^[^{UNSAFE}]*[^{UNSAFE}{}][^{UNSAFE}]*$",
        white_space_ranges()
    );
    json!({"type": "array", "maxItems": MAX_LIST_ITEMS,
           "items": {"type": "string", "maxLength": MAX_SHORT_TEXT, "pattern": entry}})
}

/// A brand specialist request names at least one brand.
fn brands_rule(schema: &mut Map<String, Value>) {
    schema.insert(
        "anyOf".into(),
        json!([
            {"properties": {"request_type": {"enum": ["general"]}}},
            {"required": ["brands"], "properties": {"brands": {"minItems": 1}}},
        ]),
    );
}

/// An RFC 3339 time (UTC, whole seconds), on a day of this century that every month has.
fn any_time() -> Value {
    json!({"type": "string", "nullable": true,
           "pattern": r"^20[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$"})
}

/// A booking time: 15 minutes to 14 days ahead. JSON Schema has no "now", so the document
/// (made afresh each day) lists the days from tomorrow to 13 days ahead, every time of which is
/// in the window; the engine also takes times nearer the window's edges.
fn booking_time(now: chrono::DateTime<Utc>) -> Value {
    let days: Vec<String> = (1..=13)
        .map(|d| (now + Duration::days(d)).format("%Y-%m-%d").to_string())
        .collect();
    json!({"type": "string", "nullable": true,
           "pattern": format!(r"^(?:{})T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$", days.join("|"))})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_white_space_class_is_what_the_engine_trims() {
        let in_class = |c: char| {
            WHITE_SPACE
                .iter()
                .any(|&(from, to)| (from..=to).contains(&(c as u32)))
        };
        let differ: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|&c| c.is_whitespace() != in_class(c))
            .collect();
        assert!(differ.is_empty(), "the class and str::trim differ on {differ:?}");
        assert_eq!(
            ws(),
            r"[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028-\u2029\u202F\u205F\u3000]*"
        );
    }
}
