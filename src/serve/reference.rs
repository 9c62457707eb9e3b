//! docs/commands.md: every command's fields and answer, in words, from the same schemas the
//! OpenAPI document publishes (the command types and the command table), so the reference a
//! user reads cannot drift from what the engine accepts. A test compares the file with this.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::command::Command;
use crate::command_table::{self, RoleKind, Scope};

/// The whole page.
pub fn command_reference() -> String {
    let mut generator = SchemaSettings::openapi3()
        .for_deserialize()
        .into_generator();
    let dispatcher = super::openapi::document(RoleKind::Dispatcher);
    let answers = &dispatcher["components"]["schemas"];
    let mut page = String::from(
        "# Commands\n\n\
         Generated from the code by `UPDATE_DOCS=1 cargo test --test it readme_examples::`; do not \
         edit by hand.\n\n\
         Every command is one JSON object with `cmd` and the fields below, the same on every \
         way in: a line of `pitwall headless`, the body of `POST /v1/commands`, a key in the \
         console. The answer is `{\"ok\":true,\"cmd\":…}` with the fields listed, or \
         `{\"ok\":false,\"cmd\":…,\"error\":{\"code\",\"message\",\"field\"}}`. Error codes: \
         `invalid_input` (with the field), `not_found`, `not_eligible`, `offline`, \
         `not_offered`, `already_taken`, `at_capacity`, `expired`, `invalid_state`, \
         `unknown_command`, `parse_error`, `busy`; over HTTP also `unauthorized`, `forbidden`, \
         `rate_limited`, `payload_too_large`, `unsupported_media_type`, \
         `method_not_allowed`. Times are RFC 3339 UTC. The API's tokens see narrower answers \
         (see api.md); the answers below are a dispatcher's and headless's.\n",
    );
    let mut fields_seen = Map::new();
    let requests: Vec<_> = command_table::TABLE
        .iter()
        .filter_map(|d| Command::fields_schema(d.name, &mut generator).map(|s| (d, s.to_value())))
        .collect();
    let defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    for (declared, schema) in requests {
        let name = declared.name;
        page.push_str(&format!("\n## `{name}`\n\n"));
        let roles: Vec<String> = RoleKind::ALL
            .iter()
            .filter_map(|role| match declared.scope(*role) {
                Scope::No => None,
                Scope::Any => Some(role.name().to_string()),
                Scope::Himself => Some(format!("{} (himself)", role.name())),
                Scope::OwnSessions => Some(format!("{} (its own sessions)", role.name())),
            })
            .collect();
        page.push_str(&format!(
            "{}. Over HTTP: {}.\n\n",
            if declared.writes {
                "Writes"
            } else {
                "Reads only"
            },
            if roles.is_empty() {
                "no token (headless only)".to_string()
            } else {
                roles.join(", ")
            }
        ));
        let fields = describe_object(&schema, &defs, &mut fields_seen);
        if fields.is_empty() {
            page.push_str("Fields: none.\n");
        } else {
            page.push_str("| field | type | required |\n|---|---|---|\n");
            for (field, kind, required) in fields {
                page.push_str(&format!(
                    "| `{field}` | {kind} | {} |\n",
                    if required { "yes" } else { "" }
                ));
            }
        }
        let answer = &answers[format!("{name}.answer")];
        let answer_fields: Vec<String> = answer["properties"]
            .as_object()
            .map(|p| {
                p.keys()
                    .filter(|k| *k != "ok" && *k != "cmd")
                    .map(|k| format!("`{k}`"))
                    .collect()
            })
            .unwrap_or_default();
        if !answer_fields.is_empty() {
            page.push_str(&format!("\nAnswer: {}.\n", answer_fields.join(", ")));
        }
    }
    if !fields_seen.is_empty() {
        page.push_str("\n## Objects\n");
        for (name, schema) in &fields_seen {
            page.push_str(&format!(
                "\n### `{name}`\n\n| field | type | required |\n|---|---|---|\n"
            ));
            for (field, kind, required) in describe_object(schema, &defs, &mut Map::new()) {
                page.push_str(&format!(
                    "| `{field}` | {kind} | {} |\n",
                    if required { "yes" } else { "" }
                ));
            }
        }
    }
    page
}

/// An object schema's fields: (name, type in words, required), in the schema's order. Named
/// object types met on the way are added to `objects` (listed once at the end of the page).
fn describe_object(
    schema: &Value,
    defs: &Map<String, Value>,
    objects: &mut Map<String, Value>,
) -> Vec<(String, String, bool)> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(field, property)| {
            (
                field.clone(),
                kind(property, defs, objects),
                required.contains(&field.as_str()),
            )
        })
        .collect()
}

/// A property's type in words: `text`, `integer`, `list of text`, `one of a, b`, an object's
/// name.
fn kind(property: &Value, defs: &Map<String, Value>, objects: &mut Map<String, Value>) -> String {
    if let Some(reference) = property["$ref"].as_str() {
        let name = reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
        let target = defs.get(&name).cloned().unwrap_or(Value::Null);
        if target["properties"].is_object() {
            objects.entry(name.clone()).or_insert(target);
            return format!("object [`{name}`](#{})", name.to_lowercase());
        }
        return kind(&target, defs, objects);
    }
    if let Some(values) = property["enum"].as_array() {
        let words: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("`{v}`"))
            .collect();
        return format!("one of {}", words.join(", "));
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        if let Some(options) = property[combinator].as_array() {
            let words: Vec<String> = options
                .iter()
                .filter(|o| o["type"] != "null")
                .map(|o| kind(o, defs, objects))
                .collect();
            return words.join(" or ");
        }
    }
    match property["type"].as_str() {
        Some("string") => match property["format"].as_str() {
            Some("date-time") => "time (RFC 3339)".to_string(),
            Some("date") => "date".to_string(),
            _ => "text".to_string(),
        },
        Some("integer") => "integer".to_string(),
        Some("number") => "number".to_string(),
        Some("boolean") => "true/false".to_string(),
        Some("array") => format!("list of {}", kind(&property["items"], defs, objects)),
        Some("object") => "object".to_string(),
        _ => match property["type"].as_array() {
            Some(types) => types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .map(|t| kind(&serde_json::json!({ "type": t }), defs, objects))
                .collect::<Vec<_>>()
                .join(" or "),
            None => "any".to_string(),
        },
    }
}
