//! Who may run what over HTTP (SPEC §13): one table of role × command, then the object-level
//! checks a mechanic token needs (his own id, his own sessions).

use crate::store::Db;
use serde_json::Value;

use crate::command::Command;
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::tokens::Role;

/// Commands a mechanic runs for himself; `mechanic` omitted means himself.
const MECHANIC_SELF: &[&str] = &["clock_in", "clock_out", "queue", "accept", "decline"];

/// Whether `role` may run `command` at all, before looking at which objects it names.
pub fn role_allows(role: &Role, command: &Command) -> bool {
    role_allows_name(role, command.name())
}

/// The role × command table of SPEC §13, by the command's protocol name.
pub fn role_allows_name(role: &Role, command: &str) -> bool {
    match role {
        // No server file paths over the network, and the clock is the system clock.
        Role::Dispatcher => !matches!(command, "load_seeds" | "advance"),
        Role::Mechanic(_) => matches!(
            command,
            "clock_in" | "clock_out" | "queue" | "accept" | "decline" | "session"
        ),
        Role::Intake => matches!(command, "intake" | "browse" | "slots" | "join_waitlist"),
    }
}

/// The refusal of a command outside the role.
pub fn forbidden_command(role: &Role, command: &str) -> DispatchError {
    forbidden(format!(
        "A {} token may not run \"{command}\".",
        role.name()
    ))
}

/// Fills in a mechanic token's own id where a command for himself leaves `mechanic` out.
pub fn fill_in_self(role: &Role, value: &mut Value) {
    let (Role::Mechanic(me), Value::Object(fields)) = (role, value) else {
        return;
    };
    let for_himself = fields
        .get("cmd")
        .and_then(Value::as_str)
        .is_some_and(|cmd| MECHANIC_SELF.contains(&cmd));
    if for_himself && !fields.contains_key("mechanic") {
        fields.insert("mechanic".into(), Value::String(me.clone()));
    }
}

/// The whole check: the role's table, then for a mechanic the objects the command names.
pub fn check(conn: &Db, role: &Role, command: &Command) -> DispatchResult<()> {
    if !role_allows(role, command) {
        return Err(forbidden_command(role, command.name()));
    }
    let Role::Mechanic(me) = role else {
        return Ok(());
    };
    use Command as C;
    let named = match command {
        C::ClockIn(r) | C::ClockOut(r) | C::Queue(r) => &r.mechanic,
        C::Accept(r) | C::Decline(r) => &r.mechanic,
        C::Session(r) => {
            return if crate::store::tokens::mechanic_knows_session(conn, me, &r.id)? {
                Ok(())
            } else {
                // The same answer for a session that does not exist: a mechanic token cannot
                // probe for other customers' session ids.
                Err(forbidden(
                    "A mechanic token reads only sessions offered to or matched with him."
                        .to_string(),
                )
                .with_field("id"))
            };
        }
        _ => return Ok(()),
    };
    if named != me {
        return Err(forbidden(
            "A mechanic token acts only for its own mechanic; leave \"mechanic\" out.".to_string(),
        )
        .with_field("mechanic"));
    }
    Ok(())
}

fn forbidden(message: String) -> DispatchError {
    DispatchError::new(ErrorCode::Forbidden, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse_line;

    #[test]
    fn the_role_table_of_spec_13() {
        let cmds = [
            (
                r#"{"cmd":"load_seeds","path":"/etc/passwd"}"#,
                [false, false, false],
            ),
            (r#"{"cmd":"advance","seconds":1}"#, [false, false, false]),
            (r#"{"cmd":"tick"}"#, [true, false, false]),
            (
                r#"{"cmd":"accept","session":"S","mechanic":"m"}"#,
                [true, true, false],
            ),
            (r#"{"cmd":"session","id":"S"}"#, [true, true, false]),
            (r#"{"cmd":"browse"}"#, [true, false, true]),
            (r#"{"cmd":"join_waitlist"}"#, [true, false, true]),
            (r#"{"cmd":"report"}"#, [true, false, false]),
        ];
        let roles = [Role::Dispatcher, Role::Mechanic("m".into()), Role::Intake];
        for (line, allowed) in cmds {
            let cmd = parse_line(line).unwrap();
            for (role, want) in roles.iter().zip(allowed) {
                assert_eq!(role_allows(role, &cmd), want, "{role:?} {line}");
            }
        }
    }

    #[test]
    fn a_mechanic_left_out_is_himself() {
        let role = Role::Mechanic("m7".into());
        let mut v = serde_json::json!({"cmd": "accept", "session": "S"});
        fill_in_self(&role, &mut v);
        assert_eq!(v["mechanic"], "m7");
        let mut v = serde_json::json!({"cmd": "accept", "session": "S", "mechanic": "x"});
        fill_in_self(&role, &mut v);
        assert_eq!(v["mechanic"], "x");
        let mut v = serde_json::json!({"cmd": "accept", "session": "S"});
        fill_in_self(&Role::Dispatcher, &mut v);
        assert!(v.get("mechanic").is_none());
    }
}
