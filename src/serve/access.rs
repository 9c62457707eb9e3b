//! Who may run what over HTTP: the command table ([`crate::command_table`]) decides which
//! roles may run a command, and this module applies it to a request: first on the JSON, before
//! the command's fields are read (a refused command never answers 422 in its place), then on the
//! objects it names (a mechanic's own id and sessions, an intake token's own sessions).

use crate::store::Db;
use serde_json::Value;

use crate::command::Command;
use crate::command_table::{self, Declared, RoleKind, Scope};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::tokens::{Caller, Role};

/// Whether `role` may run the command named `name` at all. A command the table does not
/// declare is forbidden to every role.
pub fn role_allows_name(role: &Role, name: &str) -> bool {
    command_table::allows(role.kind(), name)
}

/// The refusal of a command outside the role.
pub fn forbidden_command(role: &Role, command: &str) -> DispatchError {
    let article = if role.name().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "An"
    } else {
        "A"
    };
    forbidden(format!(
        "{article} {} token may not run \"{command}\".",
        role.name()
    ))
}

/// The checks made on the JSON before it is parsed: the role may run the command, a mechanic
/// acts only for himself (`mechanic` left out means himself and is filled in), and an intake
/// token does not choose ids. `Ok(None)` for a body that names no known command: the parser
/// says what is wrong with it.
pub fn screen(role: &Role, value: &mut Value) -> Result<Option<&'static Declared>, DispatchError> {
    let Value::Object(fields) = value else {
        return Ok(None);
    };
    let Some(name) = fields.get("cmd").and_then(Value::as_str) else {
        return Ok(None);
    };
    let Some(known) = Command::NAMES.iter().find(|n| **n == name) else {
        return Ok(None);
    };
    let Some(declared) = command_table::declared(known).filter(|d| d.allows(role.kind())) else {
        return Err(forbidden_command(role, known));
    };
    match (role, declared.scope(role.kind())) {
        (Role::Mechanic(me), Scope::Himself) => match fields.get("mechanic") {
            None => {
                fields.insert("mechanic".into(), Value::String(me.clone()));
            }
            Some(Value::String(named)) if named != me => {
                return Err(forbidden(
                    "A mechanic token acts only for its own mechanic; leave \"mechanic\" out."
                        .to_string(),
                )
                .with_field("mechanic"));
            }
            // His own id, or not a string (the parser says so).
            Some(_) => {}
        },
        // `"id": null` is no id (a client that writes out every field).
        (Role::Intake, _) if declared.writes && fields.get("id").is_some_and(|v| !v.is_null()) => {
            // A public form that picks ids can learn which exist ("already exists") and aim at
            // them. The server assigns one; an Idempotency-Key makes a retry safe instead.
            return Err(forbidden(
                "An intake token may not choose an id; leave \"id\" out and the server assigns \
                 one (send an Idempotency-Key to make a retry safe)."
                    .to_string(),
            )
            .with_field("id"));
        }
        _ => {}
    }
    Ok(Some(declared))
}

/// The checks on the objects a parsed command names: a mechanic reads only sessions offered to
/// or matched with him; an intake token reaches only sessions it created, and any other answers
/// exactly as a missing one.
pub fn check(conn: &Db, caller: &Caller, command: &Command) -> DispatchResult<()> {
    let kind = caller.role.kind();
    let Some(declared) = command_table::declared(command.name()).filter(|d| d.allows(kind)) else {
        return Err(forbidden_command(&caller.role, command.name()));
    };
    match (&caller.role, declared.scope(kind)) {
        (Role::Mechanic(me), Scope::Himself) if command.mechanic().is_some_and(|m| m != me) => {
            return Err(forbidden(
                "A mechanic token acts only for its own mechanic; leave \"mechanic\" out."
                    .to_string(),
            )
            .with_field("mechanic"));
        }
        (Role::Mechanic(me), Scope::OwnSessions) => {
            if let Some(session) = command.session()
                && !crate::store::tokens::mechanic_knows_session(conn, me, session)?
            {
                // The same answer for a session that does not exist: a mechanic token cannot
                // probe for other customers' session ids.
                return Err(forbidden(
                    "A mechanic token reads only sessions offered to or matched with him."
                        .to_string(),
                )
                .with_field("id"));
            }
        }
        (Role::Intake, Scope::OwnSessions) => {
            if let Some(session) = command.session()
                && !crate::store::tokens::token_owns_session(conn, &caller.token_id, session)?
            {
                // Word for word what the engine says of a session that does not exist.
                let field = match command {
                    Command::Session(_) => "id",
                    _ => "session",
                };
                return Err(DispatchError::not_found(field, "session", session));
            }
        }
        (_, Scope::No) => return Err(forbidden_command(&caller.role, command.name())),
        _ => {}
    }
    Ok(())
}

fn forbidden(message: String) -> DispatchError {
    DispatchError::new(ErrorCode::Forbidden, message)
}

impl Role {
    /// The role without the mechanic it is bound to, as the command table names roles.
    pub fn kind(&self) -> RoleKind {
        match self {
            Role::Dispatcher => RoleKind::Dispatcher,
            Role::Mechanic(_) => RoleKind::Mechanic,
            Role::Intake => RoleKind::Intake,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mechanic_left_out_is_himself_and_another_is_refused() {
        let role = Role::Mechanic("m7".into());
        let mut v = serde_json::json!({"cmd": "accept", "session": "S"});
        screen(&role, &mut v).unwrap();
        assert_eq!(v["mechanic"], "m7");
        let mut v = serde_json::json!({"cmd": "accept", "session": "S", "mechanic": "x"});
        let e = screen(&role, &mut v).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::Forbidden, Some("mechanic"))
        );
        let mut v = serde_json::json!({"cmd": "accept", "session": "S"});
        screen(&Role::Dispatcher, &mut v).unwrap();
        assert!(v.get("mechanic").is_none());
    }

    #[test]
    fn an_intake_token_chooses_no_id() {
        let mut v = serde_json::json!({"cmd": "intake", "id": "S1"});
        let e = screen(&Role::Intake, &mut v).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("id"));
        for mut v in [
            serde_json::json!({"cmd": "intake"}),
            serde_json::json!({"cmd": "intake", "id": null}),
        ] {
            assert!(screen(&Role::Intake, &mut v).unwrap().is_some());
        }
    }

    #[test]
    fn refusals_read_as_english() {
        let e = forbidden_command(&Role::Intake, "cancel");
        assert!(e.message.starts_with("An intake token"), "{}", e.message);
        let e = forbidden_command(&Role::Mechanic("m".into()), "cancel");
        assert!(e.message.starts_with("A mechanic token"), "{}", e.message);
    }
}
