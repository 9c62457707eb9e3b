//! Shared helpers: an in-memory engine on the manual clock, commands written as the JSON a
//! script would send, and a dump of every table to prove a rejected command changed nothing.
#![allow(dead_code)]

pub mod crash;
pub mod pg;
pub mod processes;
pub mod receivers;
pub mod server;
pub mod terminal;
pub mod tls;

use pitwall::clock::Clock;
use pitwall::command::parse_line;
use pitwall::engine::Engine;
use pitwall::error::{DispatchError, ErrorCode};
use serde_json::{Value, json};

/// An engine on the manual clock over a new, empty database: in memory (SQLite), or a schema
/// of its own on the PostgreSQL server when the suite runs on PostgreSQL ([`pg::backend`]).
pub fn engine() -> Engine {
    match pg::backend() {
        Some(server) => {
            let url = pg::fresh_schema(&server);
            Engine::open(Some(std::path::Path::new(&url)), Clock::manual_default())
                .expect("a PostgreSQL database")
        }
        None => Engine::open(None, Clock::manual_default()).expect("in-memory database"),
    }
}

/// Where a test that runs the binary keeps its database: a file in `dir`, or a fresh schema on
/// the PostgreSQL server when the suite runs on PostgreSQL.
pub fn database_in(dir: &std::path::Path, name: &str) -> String {
    match pg::backend() {
        Some(server) => pg::fresh_schema(&server),
        None => dir.join(name).display().to_string(),
    }
}

/// Runs one protocol command; the outcome as JSON, or the coded error.
pub fn run(engine: &mut Engine, command: Value) -> Result<Value, DispatchError> {
    let line = command.to_string();
    let cmd = parse_line(&line).map_err(|r| r.error)?;
    let cmd = pitwall::seeds::read_named_files(cmd)?;
    engine
        .execute(cmd)
        .map(|o| serde_json::to_value(o).unwrap())
}

pub fn ok(engine: &mut Engine, command: Value) -> Value {
    match run(engine, command.clone()) {
        Ok(v) => v,
        Err(e) => panic!("{command} failed: {e:?}"),
    }
}

pub fn err(engine: &mut Engine, command: Value) -> DispatchError {
    match run(engine, command.clone()) {
        Ok(v) => panic!("{command} should have failed, gave {v}"),
        Err(e) => e,
    }
}

/// Asserts a command is refused with `code`, and that the database is byte-for-byte unchanged.
pub fn refused(engine: &mut Engine, command: Value, code: ErrorCode) -> DispatchError {
    let before = dump(engine);
    let e = err(engine, command.clone());
    assert_eq!(e.code, code, "{command}: {e:?}");
    assert!(!e.message.is_empty());
    assert_eq!(
        dump(engine),
        before,
        "{command} was refused but changed the database"
    );
    e
}

/// Every row of every table, as text.
pub fn dump(engine: &Engine) -> String {
    pitwall::store::dump(engine.connection()).unwrap()
}

/// A mechanic who can accept sessions, with overrides.
pub fn mechanic(id: &str, on_shift: bool, extra: Value) -> Value {
    let mut m = json!({
        "cmd": "add_mechanic",
        "id": id,
        "name": format!("Mechanic {id}"),
        "email": format!("{id}@example.ca"),
        "city": "Toronto",
        "state_province": "ON",
        "country": "Canada",
        "postal_code": "M5V 1A1",
        "years_experience": 6,
        "rating": 4.2,
        "completed_sessions": 10,
        "profile_completion_score": 92,
        "account_status": "approved",
        "currently_on_shift": on_shift,
        "service_keywords": ["check engine light", "brake repair"],
    });
    merge(&mut m, extra);
    m
}

/// A valid Toronto intake, with overrides.
pub fn intake(id: &str, extra: Value) -> Value {
    let mut i = json!({
        "cmd": "intake",
        "id": id,
        "customer": {"name": "Ava Chen", "email": "ava@example.com", "phone": "+1 416 555 0100"},
        "location": {"country": "Canada", "province": "ON", "city": "Toronto", "postal_code": "M5V 3L9"},
        "vehicle": {"year": 2019, "make": "Honda", "model": "Civic"},
        "concern": "My check engine light is on",
        "payment_method": "free",
    });
    merge(&mut i, extra);
    i
}

pub fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

/// Five mechanics: t1 > t2 > t3 > t4 on shift in score order, `off` off shift.
pub fn roster(engine: &mut Engine) {
    ok(
        engine,
        mechanic("t1", true, json!({"years_experience": 12, "rating": 4.9})),
    );
    ok(
        engine,
        mechanic("t2", true, json!({"years_experience": 12, "rating": 4.1})),
    );
    ok(
        engine,
        mechanic("t3", true, json!({"years_experience": 6, "rating": 4.1})),
    );
    ok(
        engine,
        mechanic("t4", true, json!({"years_experience": 2, "rating": 3.0})),
    );
    ok(
        engine,
        mechanic("off", false, json!({"years_experience": 20, "rating": 5.0})),
    );
}

pub fn status_of(engine: &mut Engine, assignment: &str) -> String {
    assignment_field(engine, assignment, "status")
        .as_str()
        .unwrap()
        .to_string()
}

/// One field of an assignment, as the `session` command shows it.
pub fn assignment_field(engine: &mut Engine, assignment: &str, field: &str) -> Value {
    let session = assignment.rsplit_once('.').unwrap().0;
    let s = ok(engine, json!({"cmd": "session", "id": session}));
    s["session"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == assignment)
        .map(|a| a[field].clone())
        .unwrap_or_else(|| panic!("no assignment {assignment}"))
}
