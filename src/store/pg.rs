//! PostgreSQL (SPEC §15): one connection of the shared-server backend, the errors the storage
//! layer tells apart, the schema, and the LISTEN side of live refresh. The database facade calls
//! this module with PostgreSQL SQL (`$1…` placeholders) and [`Value`]s; nothing here knows
//! pitwall's tables except `schema_pg.sql`.
//!
//! The sync `postgres` client drives its own small tokio runtime per connection, so it must
//! never be called from a tokio worker thread (the server's engine runs on a plain thread).

mod codec;
mod credentials;
mod listener;
mod schema;
mod tls;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as _;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, Statement};

use crate::store::value::Value;

pub(crate) use credentials::fill_password;
pub use listener::Listener;
pub use schema::{SCHEMA_PG, SchemaError, prepare_schema};
pub(crate) use tls::{
    connector as tls_connector, problem as tls_problem, settings as tls_settings,
};

/// The LISTEN/NOTIFY channel every write transaction notifies (`SELECT pg_notify('pitwall', '')`)
/// and every [`Listener`] listens on.
pub const CHANNEL: &str = "pitwall";

/// The name a pitwall session shows in `pg_stat_activity`.
const APPLICATION_NAME: &str = "pitwall";

/// Prepared statements kept per connection. pitwall's SQL is a few hundred fixed texts; past
/// this many, something builds SQL text per call, and the cache (and the server's memory for
/// its statements) is emptied rather than left to grow.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// One connection to the server, used from one plain thread (see the module's note on tokio):
/// the console's engine thread, `serve`'s worker, feed and relay threads, the command line.
pub struct PgConn {
    /// Prepared statements by their SQL text: each is parsed and planned once per connection.
    /// Declared before the client, so they are dropped (closed on the server) while it is open.
    statements: RefCell<HashMap<String, Statement>>,
    client: RefCell<Client>,
    /// The session's lock_timeout now, so [`PgConn::set_lock_wait`] only speaks when it changes.
    lock_wait: Cell<Duration>,
    url: String,
}

impl PgConn {
    /// Connects (with TLS as the URL's `sslmode` asks: see `tls.rs`) and sets the session
    /// up: UTC, `application_name`, and a lock wait of [`crate::store::busy_timeout`] so a writer
    /// blocked by another host's transaction answers `busy` as it does on SQLite.
    pub fn connect(url: &str) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            statements: RefCell::new(HashMap::new()),
            client: RefCell::new(open(url)?),
            lock_wait: Cell::new(crate::store::busy_timeout()),
            url: url.to_owned(),
        })
    }

    /// Sets how long a statement waits for another transaction's lock before failing with
    /// [`is_busy`]: for [`crate::store::lock_wait`] (the console's tick waits less than a
    /// command). A round trip only when it differs from the session's current wait. Call it
    /// between transactions (just before BEGIN): a SET made inside one that rolls back is undone.
    pub fn set_lock_wait(&self, wait: Duration) -> Result<(), postgres::Error> {
        if self.lock_wait.get() != wait {
            // Zero would mean "wait for ever" to PostgreSQL.
            let ms = wait.as_millis().max(1);
            let sql = format!("SELECT set_config('lock_timeout', '{ms}', false)");
            self.client().batch_execute(&sql)?;
            self.lock_wait.set(wait);
        }
        Ok(())
    }

    /// Runs one statement (prepared once per connection); the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, postgres::Error> {
        let statement = self.prepared(sql)?;
        let params = as_params(params);
        let result = self.client().execute(&statement, &params);
        self.forget_if_stale(sql, result)
    }

    /// Runs a query; every column of every row as a [`Value`].
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, postgres::Error> {
        let statement = self.prepared(sql)?;
        let params = as_params(params);
        let result = self.client().query(&statement, &params);
        let rows = self.forget_if_stale(sql, result)?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| row.try_get::<_, Value>(i)).collect())
            .collect()
    }

    /// Runs one or more statements without parameters (BEGIN, COMMIT, ROLLBACK, DDL).
    pub fn batch(&self, sql: &str) -> Result<(), postgres::Error> {
        self.client().batch_execute(sql)
    }

    /// True once the connection to the server is gone.
    pub fn is_closed(&self) -> bool {
        self.client().is_closed()
    }

    fn client(&self) -> std::cell::RefMut<'_, Client> {
        self.client.borrow_mut()
    }

    /// Replaces a lost connection with a new one (the prepared statements went with the old).
    pub fn reconnect(&self) -> Result<(), postgres::Error> {
        let url = self.url.as_str();
        let fresh = open(url)?;
        self.statements.borrow_mut().clear();
        *self.client() = fresh;
        self.lock_wait.set(crate::store::busy_timeout());
        Ok(())
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn prepared(&self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client().prepare(sql)?;
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= STATEMENT_CACHE_LIMIT {
            // Dropping a Statement closes it on the server.
            statements.clear();
        }
        statements.insert(sql.to_owned(), statement.clone());
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

fn as_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// A new session, set up as [`PgConn::connect`] says.
fn open(url: &str) -> Result<Client, postgres::Error> {
    let tls = tls::settings(url);
    let mut config = Config::from_str(&tls.url)?;
    credentials::fill_password(&mut config);
    config.application_name(APPLICATION_NAME);
    config.connect_timeout(crate::store::busy_timeout());
    // A server that vanished (a host down, a network split) is noticed in about half a minute
    // instead of TCP's two hours, during which a console or a `serve` would hang on a read.
    notice_a_dead_server(&mut config);
    let mut client = config.connect(tls::connector(&tls))?;
    client.batch_execute(&session_settings(crate::store::busy_timeout()))?;
    Ok(client)
}

/// Keepalives and a limit on unacknowledged data, on the client's side of `config`.
pub(super) fn notice_a_dead_server(config: &mut Config) {
    config.keepalives_idle(KEEPALIVE_IDLE);
    config.keepalives_interval(KEEPALIVE_INTERVAL);
    config.keepalives_retries(KEEPALIVE_RETRIES);
    config.tcp_user_timeout(UNACKNOWLEDGED_LIMIT);
}

/// Idle seconds before the first keepalive probe, the seconds between probes, and the probes
/// unanswered before a connection is given up; with the limit on unacknowledged data below
/// (which Linux lets override the probes), about 30 s to notice a dead peer.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_RETRIES: u32 = 3;
/// How long sent data may stay unacknowledged before the connection is dropped.
const UNACKNOWLEDGED_LIMIT: Duration = Duration::from_secs(30);

/// How long a session may sit in an open transaction without sending anything before the server
/// ends it: under the one documented lock wait ([`crate::store::busy_timeout`]), so a writer
/// queued behind a frozen one gets in instead of answering `busy` at the same moment. Every
/// pitwall transaction is one command's work, milliseconds between statements, so
/// a transaction idle this long belongs to a process that froze (stopped, swapping, a debugger)
/// with the writer lock: ending its session releases the lock, where other hosts would
/// otherwise answer `busy` until the process woke. Its command is rolled back and reported
/// lost ("may not have been applied").
pub const IDLE_IN_TRANSACTION_LIMIT: Duration = Duration::from_secs(5);

/// The settings every session starts with: UTC; a lock wait of `lock_wait`; and, on the server's
/// side, the limits that end the session of a client that died or froze (the writer lock is a
/// session lock, released only with the session): the idle-in-transaction limit above, and the
/// same keepalives and unacknowledged-data limit as the client's (PostgreSQL 12 or newer).
fn session_settings(lock_wait: Duration) -> String {
    format!(
        "SET TIME ZONE 'UTC'; SET lock_timeout = {lock}; \
         SET idle_in_transaction_session_timeout = {idle}; \
         SET tcp_keepalives_idle = {ka_idle}; SET tcp_keepalives_interval = {ka_interval}; \
         SET tcp_keepalives_count = {KEEPALIVE_RETRIES}; SET tcp_user_timeout = {unacked}",
        lock = lock_wait.as_millis(),
        idle = IDLE_IN_TRANSACTION_LIMIT.as_millis(),
        ka_idle = KEEPALIVE_IDLE.as_secs(),
        ka_interval = KEEPALIVE_INTERVAL.as_secs(),
        unacked = UNACKNOWLEDGED_LIMIT.as_millis(),
    )
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
                    | &SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT
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
