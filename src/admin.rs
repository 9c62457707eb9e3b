//! Operator commands: `pitwall check` (integrity and domain invariants) and `pitwall backup`
//! (a consistent online copy through SQLite's backup API, safe while consoles are running).

use std::path::Path;

use crate::error::{DispatchError, ErrorCode};
use crate::store::Db;
use crate::store::db::TxKind;

use crate::store::{self, check::Violation};

#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// SQLite's own verdict: "ok", or what it found.
    pub integrity: String,
    pub foreign_keys: Vec<String>,
    pub violations: Vec<Violation>,
    /// Domain rules checked, besides the integrity check and the foreign keys.
    pub rules_checked: usize,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.integrity == "ok" && self.foreign_keys.is_empty() && self.violations.is_empty()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.integrity == "ok" {
            out.push_str("✓ SQLite integrity check: ok\n");
        } else {
            out.push_str(&format!("✗ SQLite integrity check: {}\n", self.integrity));
        }
        if self.foreign_keys.is_empty() {
            out.push_str("✓ foreign keys: ok\n");
        } else {
            out.push_str(&format!(
                "✗ foreign keys broken: {}\n",
                self.foreign_keys.join(", ")
            ));
        }
        for rule in store::check::rules() {
            match self.violations.iter().find(|v| v.rule == rule) {
                None => out.push_str(&format!("✓ {rule}\n")),
                Some(v) => {
                    let shown: Vec<String> = v
                        .ids
                        .iter()
                        .take(10)
                        .map(|id| crate::text::inert(id).into_owned())
                        .collect();
                    let more = if v.ids.len() > 10 {
                        format!(" and {} more", v.ids.len() - 10)
                    } else {
                        String::new()
                    };
                    out.push_str(&format!("✗ {rule}: {}{more}\n", shown.join(", ")));
                }
            }
        }
        out.push_str(if self.ok() {
            "All checks passed.\n"
        } else {
            "Problems found.\n"
        });
        out
    }
}

/// Checks a database file without changing it (it is opened read-only).
pub fn check(path: &Path) -> Result<CheckReport, String> {
    let mut conn = store::file::open_read_only(path)?;
    check_version(&conn, path)?;
    let mut run = || -> crate::store::Result<CheckReport> {
        // One read transaction, a snapshot on every engine (PostgreSQL's REPEATABLE READ, read
        // only): every rule sees the same moment, even with writers running, so a command
        // committing between two rules cannot make them disagree.
        let snapshot = conn.begin(TxKind::Read)?;
        let report = CheckReport {
            integrity: store::check::integrity(&snapshot)?.unwrap_or_else(|| "ok".into()),
            foreign_keys: store::check::foreign_keys(&snapshot)?,
            violations: store::check::invariants(&snapshot)?,
            rules_checked: store::check::rules().count(),
        };
        snapshot.commit()?;
        Ok(report)
    };
    run().map_err(|e| {
        if store::wal_vanished(path, &e) {
            format!("cannot check {}: {}", path.display(), store::WAL_VANISHED)
        } else {
            format!("cannot check {}: {e}", path.display())
        }
    })
}

/// The rules are written for the current schema: a file of another version is named as such
/// rather than failing on a table it does not have. (Checking never upgrades: it writes nothing.)
fn check_version(conn: &Db, path: &Path) -> Result<(), String> {
    let found = match store::contents(conn, &path.display().to_string()) {
        Ok(store::Contents::Pitwall(v)) => v,
        Ok(store::Contents::Empty) => {
            return Err(format!(
                "{} is empty: not a pitwall database yet (any other command makes it one)",
                path.display()
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    let known = store::SCHEMA_VERSION;
    match found {
        v if v == known => Ok(()),
        v if (1..known).contains(&v) => Err(format!(
            "{} has schema version {v}, older than this pitwall's {known}; any command that \
             opens it upgrades it (pitwall report --db {} does, without a terminal), then check \
             it again",
            path.display(),
            path.display()
        )),
        v => Err(format!(
            "{} has schema version {v}, which this pitwall (version {known}) does not know",
            path.display()
        )),
    }
}

/// Copies a live database file to `dest` (which must not exist yet) in one consistent step. A
/// PostgreSQL database is refused (`invalid_input` on `db`), with the server's own tool named:
/// this copy is SQLite's backup API (SPEC §15).
pub fn backup(source: &Path, dest: &Path) -> Result<(), DispatchError> {
    if store::postgres_url(source).is_some() {
        return Err(DispatchError::invalid(
            "db",
            format!(
                "{} is a PostgreSQL database; back it up with pg_dump (for example \
                 `pg_dump --format=custom --file=pitwall.dump DBNAME`), which copies it \
                 consistently while pitwall runs",
                store::describe(source)
            ),
        ));
    }
    store::file::backup(source, dest).map_err(|e| DispatchError::new(ErrorCode::Internal, e))
}
