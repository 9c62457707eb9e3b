//! Who may run each command and whether it writes: the one table every front end reads. The
//! HTTP API asks it which role may run what (and on which objects); the console asks it which
//! commands change state. A command missing from the table is forbidden to every token, and a
//! test fails until it is declared.

/// A token's role, without the mechanic it is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleKind {
    Dispatcher,
    Mechanic,
    Intake,
}

impl RoleKind {
    pub const ALL: [RoleKind; 3] = [RoleKind::Dispatcher, RoleKind::Mechanic, RoleKind::Intake];

    pub fn name(self) -> &'static str {
        match self {
            RoleKind::Dispatcher => "dispatcher",
            RoleKind::Mechanic => "mechanic",
            RoleKind::Intake => "intake",
        }
    }
}

/// What a role may run a command on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Not at all.
    No,
    /// Anything the command names.
    Any,
    /// A mechanic for himself only: the command's `mechanic` is his own (left out, it is).
    Himself,
    /// Only sessions it knows: a mechanic's offered or matched ones, an intake token's own.
    OwnSessions,
}

/// One command's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    pub name: &'static str,
    /// Changes state: its answer is kept for an `Idempotency-Key`, and a console refreshes
    /// after it.
    pub writes: bool,
    pub dispatcher: Scope,
    pub mechanic: Scope,
    pub intake: Scope,
}

impl Declared {
    pub fn scope(&self, role: RoleKind) -> Scope {
        match role {
            RoleKind::Dispatcher => self.dispatcher,
            RoleKind::Mechanic => self.mechanic,
            RoleKind::Intake => self.intake,
        }
    }

    pub fn allows(&self, role: RoleKind) -> bool {
        self.scope(role) != Scope::No
    }
}

const fn row(
    name: &'static str,
    writes: bool,
    dispatcher: Scope,
    mechanic: Scope,
    intake: Scope,
) -> Declared {
    Declared {
        name,
        writes,
        dispatcher,
        mechanic,
        intake,
    }
}

const W: bool = true;
const R: bool = false;
use Scope::{Any, Himself, No, OwnSessions};

/// The table. `load_seeds` and `advance` run for no token: no server file paths over the
/// network, and the server's clock is the system clock.
pub const TABLE: &[Declared] = &[
    row("add_mechanic", W, Any, No, No),
    row("load_seeds", W, No, No, No),
    row("clock_in", W, Any, Himself, No),
    row("clock_out", W, Any, Himself, No),
    row("intake", W, Any, No, Any),
    row("browse", R, Any, No, Any),
    row("sign_waiver", W, Any, No, No),
    row("confirm_payment", W, Any, No, No),
    row("accept", W, Any, Himself, No),
    row("decline", W, Any, Himself, No),
    row("complete", W, Any, No, No),
    row("cancel", W, Any, No, No),
    row("queue", R, Any, Himself, No),
    row("session", R, Any, OwnSessions, OwnSessions),
    row("join_waitlist", W, Any, No, OwnSessions),
    row("cancel_waitlist", W, Any, No, No),
    row("waitlist", R, Any, No, No),
    row("notifications", R, Any, No, No),
    row("deliver", W, Any, No, No),
    row("set_preferred", W, Any, No, No),
    row("mechanics", R, Any, No, No),
    row("eligibility", R, Any, No, No),
    row("set_flag", W, Any, No, No),
    row("set_setting", W, Any, No, No),
    row("advance", W, No, No, No),
    row("tick", W, Any, No, No),
    row("now", R, Any, No, No),
    row("report", R, Any, No, No),
    row("set_shifts", W, Any, No, No),
    row("slots", R, Any, No, Any),
];

/// A command's entry; `None` for one never declared (forbidden to every token).
pub fn declared(name: &str) -> Option<&'static Declared> {
    TABLE.iter().find(|d| d.name == name)
}

/// Whether `role` may run `name` at all (before looking at what it names).
pub fn allows(role: RoleKind, name: &str) -> bool {
    declared(name).is_some_and(|d| d.allows(role))
}

/// Whether `name` changes state. An undeclared command counts as writing: the console then
/// refreshes after it rather than miss a change.
pub fn writes(name: &str) -> bool {
    declared(name).is_none_or(|d| d.writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;

    /// Adding a command without deciding who may run it, and whether it writes, fails here.
    #[test]
    fn every_command_is_declared_once_and_nothing_else_is() {
        for name in Command::NAMES {
            let rows = TABLE.iter().filter(|d| d.name == *name).count();
            assert_eq!(
                rows, 1,
                "\"{name}\" needs exactly one row in the command table"
            );
        }
        for d in TABLE {
            assert!(Command::NAMES.contains(&d.name), "{} is no command", d.name);
        }
    }

    #[test]
    fn an_undeclared_command_is_forbidden_and_counts_as_writing() {
        for role in RoleKind::ALL {
            assert!(!allows(role, "format_disk"));
        }
        assert!(writes("format_disk"));
    }

    #[test]
    fn scopes_fit_their_roles() {
        for d in TABLE {
            assert!(
                !matches!(d.dispatcher, Himself | OwnSessions),
                "{}: a dispatcher token is bound to no mechanic and no session",
                d.name
            );
            assert_ne!(
                d.intake, Himself,
                "{}: an intake token is no mechanic",
                d.name
            );
            // A mechanic acting for himself needs a command that names a mechanic.
            if d.mechanic == Himself {
                let alone = format!(r#"{{"cmd":"{}","mechanic":"m"}}"#, d.name);
                let with_session =
                    format!(r#"{{"cmd":"{}","session":"S","mechanic":"m"}}"#, d.name);
                let cmd = crate::command::parse_line(&alone)
                    .or_else(|_| crate::command::parse_line(&with_session))
                    .unwrap();
                assert_eq!(cmd.mechanic(), Some("m"), "{}", d.name);
            }
        }
    }
}
