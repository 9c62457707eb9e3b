//! PostgreSQL (SPEC §15): one connection of the shared-server backend, the errors the storage
//! layer tells apart, the schema, and the LISTEN side of live refresh. The database facade calls
//! this module with PostgreSQL SQL (`$1…` placeholders) and [`Value`]s; nothing here knows
//! pitwall's tables except `schema_pg.sql`.
//!
//! The sync `postgres` client drives its own small tokio runtime per connection, so it must
//! never be called from a tokio worker thread (the server's engine runs on a plain thread); the
//! console's engine runs inside its event loop's runtime, so a call made there is handed to a
//! short-lived thread of its own ([`outside_runtime`]).

mod codec;
mod listener;
mod schema;

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as _;
use std::str::FromStr;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Statement};

use crate::store::value::Value;

pub use listener::Listener;
pub use schema::{SCHEMA_PG, SchemaError, prepare_schema};

/// The LISTEN/NOTIFY channel every write transaction notifies (`SELECT pg_notify('pitwall', '')`)
/// and every [`Listener`] listens on.
pub const CHANNEL: &str = "pitwall";

/// The name a pitwall session shows in `pg_stat_activity`.
const APPLICATION_NAME: &str = "pitwall";

/// One connection to the server, used from one thread.
pub struct PgConn {
    client: RefCell<Client>,
    /// Prepared statements by their SQL text: each is parsed and planned once per connection.
    statements: RefCell<HashMap<String, Statement>>,
    url: String,
}

impl PgConn {
    /// Connects (without TLS: a server on loopback or a private network) and sets the session
    /// up: UTC, `application_name`, and a lock wait of [`crate::store::busy_timeout`] so a writer
    /// blocked by another host's transaction answers `busy` as it does on SQLite.
    pub fn connect(url: &str) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: RefCell::new(outside_runtime(|| open(url))?),
            statements: RefCell::new(HashMap::new()),
            url: url.to_owned(),
        })
    }

    /// Runs one statement (prepared once per connection); the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, postgres::Error> {
        let statement = self.prepared(sql)?;
        let client: &mut Client = &mut self.client.borrow_mut();
        let result = outside_runtime(|| client.execute(&statement, &as_params(params)));
        self.forget_if_stale(sql, result)
    }

    /// Runs a query; every column of every row as a [`Value`].
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, postgres::Error> {
        let statement = self.prepared(sql)?;
        let client: &mut Client = &mut self.client.borrow_mut();
        let result = outside_runtime(|| client.query(&statement, &as_params(params)));
        let rows = self.forget_if_stale(sql, result)?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| row.try_get::<_, Value>(i)).collect())
            .collect()
    }

    /// Runs one or more statements without parameters (BEGIN, COMMIT, ROLLBACK, DDL).
    pub fn batch(&self, sql: &str) -> Result<(), postgres::Error> {
        let client: &mut Client = &mut self.client.borrow_mut();
        outside_runtime(|| client.batch_execute(sql))
    }

    /// True once the connection to the server is gone.
    pub fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }

    /// Replaces a lost connection with a new one (the prepared statements went with the old).
    pub fn reconnect(&self) -> Result<(), postgres::Error> {
        let url = self.url.as_str();
        let fresh = outside_runtime(|| open(url))?;
        self.statements.borrow_mut().clear();
        let lost = std::mem::replace(&mut *self.client.borrow_mut(), fresh);
        // Dropping a client closes it, which blocks on its runtime too.
        outside_runtime(move || drop(lost));
        Ok(())
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn prepared(&self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let client: &mut Client = &mut self.client.borrow_mut();
        let statement = outside_runtime(|| client.prepare(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Drops a cached statement the server no longer accepts (its plan's result type changed
    /// under DDL, or the server lost it), so the caller's retry prepares it afresh.
    fn forget_if_stale<T>(
        &self,
        sql: &str,
        result: Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        if let Err(e) = &result
            && matches!(
                e.code(),
                Some(&SqlState::FEATURE_NOT_SUPPORTED | &SqlState::INVALID_SQL_STATEMENT_NAME)
            )
        {
            self.statements.borrow_mut().remove(sql);
        }
        result
    }
}

/// Runs `call` (a blocking call of the sync client) where the client's own runtime may block:
/// on this thread, or, when this thread is inside a tokio runtime (the console's event loop),
/// on a scoped thread of its own — the client would panic ("Cannot start a runtime from within a
/// runtime") rather than nest its runtime in the caller's.
fn outside_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(call)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn as_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// A new session, set up as [`PgConn::connect`] says.
fn open(url: &str) -> Result<Client, postgres::Error> {
    let mut config = Config::from_str(url)?;
    config.application_name(APPLICATION_NAME);
    config.connect_timeout(crate::store::busy_timeout());
    let mut client = config.connect(NoTls)?;
    let lock_ms = crate::store::busy_timeout().as_millis();
    client.batch_execute(&format!(
        "SET TIME ZONE 'UTC'; SET lock_timeout = {lock_ms}"
    ))?;
    Ok(client)
}

/// A serialisation failure (40001) or deadlock (40P01): the whole transaction may run again.
pub fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE | &SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// The connection to the server is lost: closed, an I/O error, the server shutting down or
/// terminating this backend (57P01…), or any connection exception (class 08).
pub fn is_connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return code.code().starts_with("08")
            || matches!(
                code,
                &SqlState::ADMIN_SHUTDOWN
                    | &SqlState::CRASH_SHUTDOWN
                    | &SqlState::CANNOT_CONNECT_NOW
                    | &SqlState::IDLE_SESSION_TIMEOUT
            );
    }
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Unique violation (23505): another transaction got there first.
pub fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Waited too long for another transaction's lock (lock_timeout, lock_not_available 55P03) or
/// for the statement (statement_timeout, 57014): pitwall's `busy` answer.
pub fn is_busy(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::LOCK_NOT_AVAILABLE | &SqlState::QUERY_CANCELED)
    )
}
