//! Why a database call failed, by kind. The engine's error (`crate::error`) and every caller
//! decide by [`ErrorKind`]; the driver's own error stays inside, for the message and the log,
//! so no caller can come to depend on which engine raised it.

use std::fmt;

use super::pg;
use crate::error::{Cause, DispatchError, ErrorCode, READ_ONLY};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure a database call met, whichever engine raised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Another connection held the lock past the wait: the command answers `busy`.
    Busy,
    /// The transaction lost a race with another one (PostgreSQL's serialisation failure or
    /// deadlock): nothing of it was applied, and running the command again is safe.
    RaceLost,
    /// The connection to the database server is gone (PostgreSQL).
    ConnectionLost,
    /// A constraint (unique, check, foreign key) refused the write.
    Constraint,
    /// The database may only be read (file permissions, a read-only mount, a read-only
    /// transaction).
    ReadOnly,
    /// A row could not be read as what it should hold (corrupt or foreign data): the statement
    /// itself succeeded.
    UnreadableRow,
    /// `query_row` found nothing (`optional()` turns this into `None`).
    NoRows,
    /// Anything else the database said (a full disk, a corrupt file, SQL it refused).
    Other,
}

/// A failed database call: its [`ErrorKind`], and the engine's own words for the message.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Source,
}

/// The driver's error, kept for its message and for what only the store asks of it.
#[derive(Debug)]
enum Source {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// A column held something its reader cannot take.
    Conversion {
        column: usize,
        why: String,
    },
    NoRows,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn is_busy(&self) -> bool {
        self.kind == ErrorKind::Busy
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::RaceLost
    }

    pub fn is_connection_lost(&self) -> bool {
        self.kind == ErrorKind::ConnectionLost
    }

    pub fn is_unreadable_row(&self) -> bool {
        self.kind == ErrorKind::UnreadableRow
    }

    pub fn is_constraint(&self) -> bool {
        self.kind == ErrorKind::Constraint
    }

    pub fn is_read_only(&self) -> bool {
        self.kind == ErrorKind::ReadOnly
    }

    /// A column held something its reader cannot take (a corrupt or foreign row).
    pub(crate) fn conversion(column: usize, why: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::UnreadableRow,
            source: Source::Conversion {
                column,
                why: why.to_string(),
            },
        }
    }

    pub(crate) fn no_rows() -> Error {
        Error {
            kind: ErrorKind::NoRows,
            source: Source::NoRows,
        }
    }

    /// SQLite's error underneath, for the few SQLite-only questions the store asks (a vanished
    /// WAL file).
    pub(crate) fn sqlite(&self) -> Option<&rusqlite::Error> {
        match &self.source {
            Source::Sqlite(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Sqlite(e) => e.fmt(f),
            Source::Postgres(e) => f.write_str(&postgres_message(e)),
            Source::Conversion { column, why } => write!(f, "column {column}: {why}"),
            Source::NoRows => f.write_str("the query returned no rows"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            Source::Sqlite(e) => Some(e),
            Source::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    ErrorKind::Busy
                }
                rusqlite::ErrorCode::ConstraintViolation => ErrorKind::Constraint,
                rusqlite::ErrorCode::ReadOnly => ErrorKind::ReadOnly,
                _ => ErrorKind::Other,
            },
            rusqlite::Error::QueryReturnedNoRows => ErrorKind::NoRows,
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => ErrorKind::UnreadableRow,
            _ => ErrorKind::Other,
        };
        Error {
            kind,
            source: Source::Sqlite(e),
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        let kind = if pg::is_retryable(&e) {
            ErrorKind::RaceLost
        } else if pg::is_connection_lost(&e) {
            ErrorKind::ConnectionLost
        } else if pg::is_busy(&e) {
            ErrorKind::Busy
        } else if e.code() == Some(&postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION) {
            ErrorKind::ReadOnly
        } else if e.code().is_some_and(|c| c.code().starts_with("23")) {
            // Class 23: integrity constraint violation.
            ErrorKind::Constraint
        } else {
            ErrorKind::Other
        };
        Error {
            kind,
            source: Source::Postgres(e),
        }
    }
}

/// A failed database call as the engine answers it (SPEC §7): by kind, never by message.
impl From<Error> for DispatchError {
    fn from(err: Error) -> Self {
        match err.kind() {
            ErrorKind::RaceLost => {
                tracing::debug!(error = %err, "transaction lost a race; it runs again");
                DispatchError {
                    cause: Cause::RaceLost,
                    ..DispatchError::busy(super::lock_wait())
                }
            }
            ErrorKind::ConnectionLost => {
                tracing::warn!(error = %err, "connection to the database lost");
                DispatchError::connection_lost()
            }
            ErrorKind::Busy => {
                tracing::warn!("database busy: another program held the lock past the wait");
                DispatchError::busy(super::lock_wait())
            }
            ErrorKind::ReadOnly => {
                // Said in words a user acts on; logged at debug, since a console on a read-only
                // file meets it every second and says so itself, once.
                tracing::debug!(error = %err, "database is read-only");
                DispatchError::new(ErrorCode::Internal, READ_ONLY)
            }
            _ => {
                tracing::error!(error = %err, "database error");
                DispatchError::new(
                    ErrorCode::Internal,
                    format!("The database could not complete the operation: {err}"),
                )
            }
        }
    }
}

/// PostgreSQL's own words for an error (the client's Display says only "db error").
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_failures_are_told_by_kind() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT NOT NULL UNIQUE)")
            .unwrap();
        conn.execute("INSERT INTO t (x) VALUES ('a')", []).unwrap();
        let duplicate: Error = conn
            .execute("INSERT INTO t (x) VALUES ('a')", [])
            .unwrap_err()
            .into();
        assert_eq!(duplicate.kind(), ErrorKind::Constraint);
        assert!(duplicate.to_string().contains("UNIQUE"), "{duplicate}");
        let none: Error = conn
            .query_row("SELECT x FROM t WHERE id = 99", [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap_err()
            .into();
        assert_eq!(none.kind(), ErrorKind::NoRows);
        let refused: Error = conn.execute("SELECT nonsense FROM", []).unwrap_err().into();
        assert_eq!(refused.kind(), ErrorKind::Other);
        assert_eq!(
            Error::conversion(3, "not a number").to_string(),
            "column 3: not a number"
        );
    }
}
