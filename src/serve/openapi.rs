//! `GET /v1/openapi.json`: the OpenAPI document, generated from the command types (schemars)
//! and the command table, for the caller's role. Each command the role may run has a request
//! schema (its fields, which are required, `cmd`) and an answer schema (the outcome type, or
//! the role's view of it); each path lists the statuses it really answers.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::command::Command;
use crate::command_table::{self, RoleKind, Scope};
use crate::engine::outcome as o;
use crate::error::ErrorCode;

use super::handle::status_of;
use super::views;

/// The document for `role`, made once per role and kept (it never changes while serving).
pub fn document_text(role: RoleKind) -> &'static str {
    use std::sync::OnceLock;
    static DOCS: [OnceLock<String>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match role {
        RoleKind::Dispatcher => 0,
        RoleKind::Mechanic => 1,
        RoleKind::Intake => 2,
    };
    DOCS[slot].get_or_init(|| document(role).to_string())
}

/// The OpenAPI 3.0 document for `role`.
pub fn document(role: RoleKind) -> Value {
    let settings = SchemaSettings::openapi3().with_transform(drop_descriptions);
    let mut requests = settings.clone().for_deserialize().into_generator();
    let mut answers = settings.for_serialize().into_generator();
    let mut schemas = Map::new();
    let mut request_refs = Vec::new();
    let mut answer_refs = Vec::new();
    let mut mapping = Map::new();
    for declared in command_table::TABLE.iter().filter(|d| d.allows(role)) {
        let name = declared.name;
        let Some(mut fields) = Command::fields_schema(name, &mut requests) else {
            continue;
        };
        // What `take_definitions(true)` does for the named schemas, for this inline one.
        for transform in requests.transforms_mut() {
            transform.transform(&mut fields);
        }
        let request = request_schema(role, declared.scope(role), name, fields.to_value());
        let request_ref = format!("#/components/schemas/{name}.request");
        schemas.insert(format!("{name}.request"), request);
        mapping.insert(name.to_string(), json!(request_ref));
        request_refs.push(json!({ "$ref": request_ref }));
        let answer = answer_schema(role, name, &mut answers);
        schemas.insert(format!("{name}.answer"), success(name, answer));
        answer_refs.push(json!({ "$ref": format!("#/components/schemas/{name}.answer") }));
    }
    for generator in [&mut requests, &mut answers] {
        for (name, schema) in generator.take_definitions(true) {
            // The same type met from both sides is the same schema (the enums); a name used
            // for two different types would be a bug in the types' names.
            if let Some(old) = schemas.get(&name) {
                debug_assert_eq!(old, &schema, "two schemas named {name}");
                continue;
            }
            schemas.insert(name, schema);
        }
    }
    schemas.insert("Error".into(), error_schema());
    let commands_doc = format!(
        "Runs one command, the JSON object headless reads, and answers the JSON object headless \
         prints{}. Commands this {} token may run: {}.",
        match role {
            RoleKind::Dispatcher => "",
            RoleKind::Mechanic => " (a mechanic's view of it: his job, never another mechanic)",
            RoleKind::Intake => " (a booking form's view of it: no scores, no staff matters)",
        },
        role.name(),
        command_table::TABLE
            .iter()
            .filter(|d| d.allows(role))
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let every_code: Vec<ErrorCode> = ErrorCode::ALL.to_vec();
    let mut command_responses = errors(&every_code);
    command_responses.insert(
        "200".into(),
        json!({
            "description": "The command ran (\"ok\": true).",
            "content": {"application/json": {"schema": {"oneOf": answer_refs}}},
        }),
    );
    let token_codes = [
        ErrorCode::Unauthorized,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Busy,
        ErrorCode::MethodNotAllowed,
    ];
    let mut events_responses = errors(&[token_codes.as_slice(), &[ErrorCode::Forbidden]].concat());
    events_responses.insert(
        "200".into(),
        json!({
            "description": "Server-sent events: `id` (the audit id), `event` (its kind), `data` \
                            (the event as JSON), as the token may see them. Resume with \
                            Last-Event-ID; `event: reset` when that id cannot be resumed from.",
            "content": {"text/event-stream": {"schema": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "id": {"type": "string"},
                    "event": {"type": "string"},
                    "data": {"type": "string"},
                },
            }}},
        }),
    );
    let mut openapi_responses = errors(&token_codes);
    openapi_responses.insert(
        "200".into(),
        json!({
            "description": "This document, for the token's role.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }),
    );
    let mut health_responses = errors(&[ErrorCode::MethodNotAllowed]);
    health_responses.insert(
        "200".into(),
        json!({
            "description": "Serving.",
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["ok", "version"],
                "properties": {"ok": {"type": "boolean"}, "version": {"type": "string"}},
            }}},
        }),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "pitwall HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "One headless command per POST, answered with the JSON object headless prints, \
                 as a {} token sees it. Every endpoint but /v1/health needs \
                 `Authorization: Bearer <token>` (pitwall token create).",
                role.name()
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/health": {"get": {
                "operationId": "health",
                "summary": "Liveness; no token needed.",
                "security": [],
                "responses": health_responses,
            }},
            "/v1/commands": {"post": {
                "operationId": "command",
                "summary": "Run one command.",
                "description": commands_doc,
                "parameters": [{
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": false,
                    "description": "1–255 visible ASCII characters. For a command that writes, \
                                    the first answer for (token, key) is kept 24 h, recorded in \
                                    the command's own transaction, and replayed for the same \
                                    body (header Idempotent-Replayed: true); another body is 422 \
                                    invalid_input (field Idempotency-Key). Ignored for reads.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                               "pattern": "^[!-~]+$"},
                }],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {
                        "oneOf": request_refs,
                        "discriminator": {"propertyName": "cmd", "mapping": mapping},
                    }}},
                },
                "responses": command_responses,
            }},
            "/v1/events": {"get": {
                "operationId": "events",
                "summary": "The audit events this token may see, live.",
                "parameters": [{
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": false,
                    "description": "The id of the last event received: every event after it is \
                                    sent first, in order.",
                    "schema": {"type": "string"},
                }],
                "responses": events_responses,
            }},
            "/v1/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": openapi_responses,
            }},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

/// The types' doc comments are written for the team; the document's own words are the ones
/// above.
fn drop_descriptions(schema: &mut schemars::Schema) {
    if let Some(object) = schema.as_object_mut() {
        object.remove("description");
    }
    schemars::transform::transform_subschemas(&mut drop_descriptions, schema);
}

/// A command's fields as `role` may send them, with `cmd`.
fn request_schema(role: RoleKind, scope: Scope, name: &str, fields: Value) -> Value {
    let mut schema = match fields {
        Value::Object(map) => map,
        // A command without fields described otherwise (never so today): an open object.
        _ => Map::new(),
    };
    schema.insert("type".into(), json!("object"));
    let properties = schema
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut properties = properties;
    let mut drop = |field: &str| {
        properties.remove(field);
        required.retain(|r| r != field);
    };
    match (role, scope) {
        // A booking form does not choose ids; the server assigns them.
        (RoleKind::Intake, _) if command_table::writes(name) => drop("id"),
        // A phone acts for its own mechanic, who is filled in.
        (RoleKind::Mechanic, Scope::Himself) => drop("mechanic"),
        _ => {}
    }
    if name == "session" {
        // `session` names its session `session`, as every command does (`id` still works).
        if let Some(id) = properties.remove("id") {
            properties.insert("session".into(), id);
        }
        required = vec!["session".into()];
    }
    let mut all = Map::new();
    all.insert("cmd".into(), json!({"type": "string", "enum": [name]}));
    all.extend(properties);
    required.insert(0, "cmd".into());
    schema.insert("properties".into(), Value::Object(all));
    schema.insert("required".into(), json!(required));
    // Unknown fields are refused (the types deny them): say so, so a request valid here is
    // never refused for a field.
    schema.insert("additionalProperties".into(), json!(false));
    super::constraints::constrain(name, &mut schema);
    Value::Object(schema)
}

/// An answer's fields with `ok` and `cmd`.
fn success(name: &str, fields: Value) -> Value {
    json!({"allOf": [fields, {
        "type": "object",
        "required": ["ok", "cmd"],
        "properties": {
            "ok": {"type": "boolean", "enum": [true]},
            "cmd": {"type": "string", "enum": [name]},
        },
    }]})
}

/// The answer's fields for `name`, as `role` sees them.
fn answer_schema(role: RoleKind, name: &str, g: &mut SchemaGenerator) -> Value {
    let view = match (role, name) {
        (RoleKind::Intake, "intake") => Some(g.subschema_for::<views::FormIntake>()),
        (RoleKind::Intake, "browse") => Some(g.subschema_for::<views::FormBrowse>()),
        (RoleKind::Intake, "slots") => Some(g.subschema_for::<views::FormSlots>()),
        (RoleKind::Intake, "join_waitlist") => Some(g.subschema_for::<views::FormJoined>()),
        (RoleKind::Intake, "session") => Some(g.subschema_for::<views::FormSessionAnswer>()),
        (RoleKind::Mechanic, "queue") => Some(g.subschema_for::<views::PhoneQueue>()),
        (RoleKind::Mechanic, "session") => Some(g.subschema_for::<views::PhoneSessionAnswer>()),
        _ => None,
    };
    view.map(|s| s.to_value())
        .unwrap_or_else(|| outcome_schema(name, g))
}

/// The outcome type each command answers with (as the engine's `run` builds it).
fn outcome_schema(name: &str, g: &mut SchemaGenerator) -> Value {
    fn of<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
        g.subschema_for::<T>().to_value()
    }
    match name {
        "add_mechanic" | "clock_in" | "clock_out" | "set_shifts" => of::<o::MechanicOutcome>(g),
        "load_seeds" => of::<o::CountOutcome>(g),
        "mechanics" => of::<o::MechanicsOutcome>(g),
        "intake" => of::<o::IntakeOutcome>(g),
        "browse" => of::<o::BrowseOutcome>(g),
        "sign_waiver" | "confirm_payment" | "set_preferred" | "complete" | "cancel" => {
            of::<o::SessionStatusOutcome>(g)
        }
        "accept" | "decline" => of::<o::AssignmentOutcome>(g),
        "queue" => of::<o::QueueOutcome>(g),
        "session" => of::<o::SessionOutcome>(g),
        "join_waitlist" | "cancel_waitlist" => of::<o::EntryOutcome>(g),
        "waitlist" => of::<o::EntriesOutcome>(g),
        "notifications" => of::<o::NotificationsOutcome>(g),
        "set_flag" => of::<o::FlagOutcome>(g),
        "set_setting" => of::<o::SettingsOutcome>(g),
        "eligibility" => of::<o::EligibilityOutcome>(g),
        "advance" | "tick" => of::<o::TickOutcome>(g),
        "now" => of::<o::NowOutcome>(g),
        "slots" => of::<o::SlotsOutcome>(g),
        // The relay's pass report and the metrics: objects whose fields `deliver` and `report`
        // document in the README.
        _ => json!({"type": "object"}),
    }
}

/// The coded error every refusal carries.
fn error_schema() -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "type": "object",
        "required": ["ok", "cmd", "error"],
        "properties": {
            "ok": {"type": "boolean", "enum": [false]},
            "cmd": {"type": "string", "nullable": true},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                    "field": {"type": "string", "nullable": true},
                },
            },
        },
    })
}

/// One response per status the codes answer with, each naming its codes and the headers it
/// always carries.
fn errors(codes: &[ErrorCode]) -> Map<String, Value> {
    let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
    for c in codes {
        by_status.entry(status_of(*c)).or_default().push(c.as_str());
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let header = match status {
                401 => Some(("WWW-Authenticate", "The scheme to use: Bearer.")),
                405 => Some(("Allow", "The methods this path takes.")),
                429 | 503 => Some(("Retry-After", "Seconds to wait before trying again.")),
                _ => None,
            };
            let mut response = json!({
                "description": format!(
                    "{}{}",
                    codes.join(", "),
                    if status == 405 { " (another method than this path takes)" } else { "" }
                ),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            });
            if let Some((name, what)) = header {
                response["headers"] =
                    json!({ name: {"description": what, "schema": {"type": "string"}} });
            }
            (status.to_string(), response)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_gets_the_commands_it_may_run_each_with_its_fields() {
        for role in RoleKind::ALL {
            let doc = document(role);
            let schemas = doc["components"]["schemas"].as_object().unwrap();
            for d in command_table::TABLE {
                let request = schemas.get(&format!("{}.request", d.name));
                assert_eq!(request.is_some(), d.allows(role), "{role:?} {}", d.name);
                if let Some(r) = request {
                    assert_eq!(r["properties"]["cmd"]["enum"][0], d.name);
                    assert_eq!(r["required"][0], "cmd");
                    assert!(schemas.contains_key(&format!("{}.answer", d.name)));
                }
            }
        }
        let intake = document(RoleKind::Intake);
        let fields = &intake["components"]["schemas"]["intake.request"]["properties"];
        assert!(fields.get("id").is_none(), "a booking form chooses no id");
        assert!(fields.get("customer").is_some());
        // A dispatcher may choose the id of what it creates: a named format, still optional.
        let staff = document(RoleKind::Dispatcher);
        for name in ["intake", "add_mechanic", "join_waitlist"] {
            let id = &staff["components"]["schemas"][format!("{name}.request")]["properties"]["id"];
            assert_eq!(id["format"], crate::serve::constraints::ID_FORMAT, "{name}");
            assert_eq!(
                (id["minLength"].as_u64(), id["nullable"].as_bool()),
                (Some(1), Some(true))
            );
        }
        let phone = document(RoleKind::Mechanic);
        let accept = &phone["components"]["schemas"]["accept.request"];
        assert_eq!(accept["required"], json!(["cmd", "session"]));
        let session = &phone["components"]["schemas"]["session.request"];
        assert_eq!(session["required"], json!(["cmd", "session"]));
        // Every reference resolves.
        for role in RoleKind::ALL {
            let doc = document(role);
            let text = doc.to_string();
            for piece in text.split("\"#/components/schemas/").skip(1) {
                let name = piece.split('"').next().unwrap();
                assert!(
                    doc["components"]["schemas"].get(name).is_some(),
                    "{role:?}: no schema {name}"
                );
            }
        }
    }
}
