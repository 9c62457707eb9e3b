//! The storage boundary: one connection type, statement, row and error for every database pitwall
//! runs on. The rest of the program speaks only these; which engine sits underneath (SQLite by
//! default, PostgreSQL for a shared database, SPEC §15) is decided when the database is opened.
//!
//! The API follows rusqlite's shape (`prepare_cached(..)?.execute(params![..])`, `query_row`,
//! `query_map`, `Row::get`) because the SQL under `src/store/` was written against it. SQL is
//! written once per backend where the dialects differ, as a [`Sql`] pair (see `sql.rs`), and each
//! connection hands its backend's text to the driver verbatim.

use std::cell::{Cell, OnceCell};

use super::pg;
pub use super::sql::Backend;
use super::sql::Sql;
use super::value::Value;

pub use super::error::{Error, ErrorKind, Result};

/// A value borrowed from a row, or lent to a statement as a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl ValueRef<'_> {
    pub fn as_str(&self) -> Result<&str, String> {
        match self {
            ValueRef::Text(s) => Ok(s),
            other => Err(format!("expected text, found {}", other.kind())),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
        }
    }

    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(s) => Value::Text(s.to_string()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// What may be bound to a placeholder.
pub trait ToValue {
    fn to_value(&self) -> ValueRef<'_>;
}

/// What a column may be read as.
pub trait FromValue: Sized {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String>;
}

/// Every closed vocabulary of the model, as its text.
macro_rules! text_values {
    ($($t:ident),+) => {$(
        impl ToValue for crate::model::$t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Text(crate::model::TextEnum::as_str(*self))
            }
        }

        impl FromValue for crate::model::$t {
            fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
                use crate::model::TextEnum;
                let s = v.as_str()?;
                Self::parse(s).ok_or_else(|| format!("unknown {} {s:?}", Self::NAME))
            }
        }
    )+};
}
crate::with_text_enums!(text_values);

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Integer(*self as i64)
            }
        }
        impl FromValue for $t {
            fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
                match value {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| format!("{i} is out of range")),
                    other => Err(format!("expected an integer, found {}", other.kind())),
                }
            }
        }
    )*};
}
integer_values!(i64, i32, u32, u16, u8);

impl ToValue for usize {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl FromValue for usize {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        let i = i64::from_value(value)?;
        usize::try_from(i).map_err(|_| format!("{i} is out of range"))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::from(*self))
    }
}

impl FromValue for bool {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl FromValue for f64 {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {}", other.kind())),
        }
    }
}

impl ToValue for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl FromValue for String {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        value.as_str().map(str::to_string)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => Err(format!("expected a blob, found {}", other.kind())),
        }
    }
}

impl ToValue for Value {
    fn to_value(&self) -> ValueRef<'_> {
        self.as_ref()
    }
}

impl FromValue for Value {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        Ok(value.to_owned())
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Some(v) => v.to_value(),
            None => ValueRef::Null,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl rusqlite::ToSql for ValueRef<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as R};
        Ok(ToSqlOutput::Borrowed(match *self {
            ValueRef::Null => R::Null,
            ValueRef::Integer(i) => R::Integer(i),
            ValueRef::Real(f) => R::Real(f),
            ValueRef::Text(s) => R::Text(s.as_bytes()),
            ValueRef::Blob(b) => R::Blob(b),
        }))
    }
}

/// A statement's parameters: `params![a, b]`, an array of one type (`[id]`), or `[]`.
pub trait Params {
    fn values(&self) -> Vec<ValueRef<'_>>;
}

impl Params for &[&dyn ToValue] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl Params for Vec<Value> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(Value::as_ref).collect()
    }
}

/// `params![a, b, c]`: mixed parameters for one statement.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::db::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::db::ToValue),+] as &[&dyn $crate::store::db::ToValue] };
}
pub use crate::params;

/// One row of a result.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    /// PostgreSQL's rows, decoded into values as they arrive.
    Values(&'r [Value]),
}

/// A column index (rusqlite's `get::<_, T>(i)` spelling keeps working).
pub trait RowIndex {
    fn index(&self) -> usize;
}

impl RowIndex for usize {
    fn index(&self) -> usize {
        *self
    }
}

impl<'r> Row<'r> {
    pub fn get<I: RowIndex, T: FromValue>(&self, idx: I) -> Result<T> {
        let i = idx.index();
        T::from_value(self.get_ref(i)?).map_err(|why| Error::conversion(i, why))
    }

    pub fn column_count(&self) -> usize {
        match &self.inner {
            RowInner::Sqlite(r) => r.as_ref().column_count(),
            RowInner::Values(values) => values.len(),
        }
    }

    pub fn get_ref(&self, i: usize) -> Result<ValueRef<'_>> {
        match &self.inner {
            RowInner::Sqlite(r) => {
                use rusqlite::types::ValueRef as R;
                Ok(match r.get_ref(i)? {
                    R::Null => ValueRef::Null,
                    R::Integer(v) => ValueRef::Integer(v),
                    R::Real(v) => ValueRef::Real(v),
                    R::Text(t) => {
                        ValueRef::Text(std::str::from_utf8(t).map_err(|e| Error::conversion(i, e))?)
                    }
                    R::Blob(b) => ValueRef::Blob(b),
                })
            }
            RowInner::Values(values) => values
                .get(i)
                .map(Value::as_ref)
                .ok_or_else(|| Error::conversion(i, "no such column")),
        }
    }
}

/// A connection to pitwall's database.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PgDb>),
}

/// A PostgreSQL connection with what pitwall keeps beside it.
pub struct PgDb {
    conn: pg::PgConn,
    /// Started by the first [`Db::data_version`] (a console, the event feed): counts the
    /// notifications every write transaction sends when it commits.
    listener: OnceCell<pg::Listener>,
    /// Inside a write transaction, which notifies listeners as it commits.
    writing: Cell<bool>,
    /// Holding [`WRITER_LOCK`] (from before BEGIN until after COMMIT or ROLLBACK).
    holds_writer_lock: Cell<bool>,
    /// Between a BEGIN and its COMMIT or ROLLBACK: a connection lost in there is replaced only
    /// once the transaction is over, never under the statements still to come (they would run
    /// outside any transaction).
    in_transaction: Cell<bool>,
    /// A statement failed because the connection is gone. The client's own `is_closed` can lag
    /// behind the error that revealed it, so this is what [`PgDb::usable`] goes by.
    lost: Cell<bool>,
}

/// The advisory lock PostgreSQL writers take in turn (bytes of "pitwall!").
const WRITER_LOCK: i64 = 0x7069_7477_616c_6c21;

impl PgDb {
    pub fn new(conn: pg::PgConn) -> PgDb {
        PgDb {
            conn,
            listener: OnceCell::new(),
            writing: Cell::new(false),
            holds_writer_lock: Cell::new(false),
            in_transaction: Cell::new(false),
            lost: Cell::new(false),
        }
    }

    /// The connection, replaced first when it was found lost (the server restarted, a network
    /// split, a session the server ended) and no transaction is open: so the first statement
    /// after a loss fails (and says so), and the next one, of whatever caller (a command, the
    /// console's tick or refresh, `serve`'s token check, the relay, the event feed), works
    /// again. Replacing it inside a transaction would run the rest outside one.
    fn usable(&self) -> &pg::PgConn {
        if !self.in_transaction.get() && (self.lost.get() || self.conn.is_closed()) {
            match self.conn.reconnect() {
                Ok(()) => self.lost.set(false),
                Err(e) => tracing::debug!(error = %e, "reconnecting to PostgreSQL failed"),
            }
        }
        &self.conn
    }

    /// Notes a lost connection in `result`, for [`PgDb::usable`].
    fn noting<T>(&self, result: Result<T, postgres::Error>) -> Result<T, postgres::Error> {
        if let Err(e) = &result
            && pg::is_connection_lost(e)
        {
            self.lost.set(true);
        }
        result
    }

    pub fn conn(&self) -> &pg::PgConn {
        &self.conn
    }

    /// Lets the next writer in, whatever became of this one's transaction. (A lost connection
    /// lets it go by itself: the server drops a session's locks with the session.)
    fn release_writer_lock(&self) {
        if self.holds_writer_lock.replace(false) {
            let _ = self
                .conn
                .batch(&format!("SELECT pg_advisory_unlock({WRITER_LOCK})"));
        }
    }
}

impl From<rusqlite::Connection> for Db {
    fn from(conn: rusqlite::Connection) -> Db {
        Db::Sqlite(conn)
    }
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite connection underneath, for what only SQLite has (checkpoints, `PRAGMA`s,
    /// online backup); `None` on another engine.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Sqlite(c) => Some(c),
            Db::Postgres(_) => None,
        }
    }

    /// The same, to change the connection itself (hooks).
    pub fn sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match self {
            Db::Sqlite(c) => Some(c),
            Db::Postgres(_) => None,
        }
    }

    /// A statement, prepared once per connection and kept: the text of this connection's
    /// backend, handed to its driver as written.
    pub fn prepare_cached(&self, sql: Sql<'_>) -> Result<Statement<'_>> {
        let text = sql.text(self.backend());
        match self {
            Db::Sqlite(c) => Ok(Statement {
                inner: StatementInner::Sqlite(c.prepare_cached(text)?),
            }),
            Db::Postgres(p) => Ok(Statement {
                inner: StatementInner::Postgres {
                    db: p,
                    sql: text.to_owned(),
                },
            }),
        }
    }

    /// A statement for one use (rare or dynamic SQL); the same as [`Db::prepare_cached`]
    /// apart from the cache.
    pub fn prepare(&self, sql: Sql<'_>) -> Result<Statement<'_>> {
        self.prepare_cached(sql)
    }

    pub fn execute<P: Params>(&self, sql: Sql<'_>, params: P) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// An UPDATE whose changed rows the caller reads, written as two statements: `rows` hands
    /// the rows to `each`, then `update` (if this backend has one) changes them. PostgreSQL's
    /// `rows` is the `UPDATE … RETURNING` itself and its `update` empty. SQLite's RETURNING
    /// stages every changed row in a temporary b-tree before handing back the first (a sixth of
    /// a tick that expires 10,000 offers), so there `rows` is a SELECT of the same predicate and
    /// `update` the plain UPDATE after it: only inside a write transaction, whose lock keeps
    /// every other writer away between the two, so they see the same rows.
    pub fn update_reading<P: Params + Copy>(
        &self,
        rows: Sql<'_>,
        update: Sql<'_>,
        params: P,
        each: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        self.prepare_cached(rows)?.for_each_row(params, each)?;
        if !update.text(self.backend()).is_empty() {
            self.prepare_cached(update)?.execute(params)?;
        }
        Ok(())
    }

    pub fn query_row<P: Params, T>(
        &self,
        sql: Sql<'_>,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Runs an INSERT of one row and answers the row's integer key: `insert`'s SQLite text is
    /// the plain INSERT (the connection holds the rowid it made), its PostgreSQL text returns
    /// the key (`RETURNING`).
    pub fn insert_returning_rowid<P: Params>(&self, insert: Sql<'_>, params: P) -> Result<i64> {
        match self {
            Db::Sqlite(c) => {
                self.prepare_cached(insert)?.execute(params)?;
                Ok(c.last_insert_rowid())
            }
            Db::Postgres(_) => self.prepare_cached(insert)?.query_row(params, |r| r.get(0)),
        }
    }

    /// Statements without parameters, run in order (transaction control, savepoints).
    pub fn execute_batch(&self, sql: Sql<'_>) -> Result<()> {
        self.batch(sql.text(self.backend()))
    }

    /// The same, for the text of the connection's own backend (the code that chose it).
    fn batch(&self, text: &str) -> Result<()> {
        match self {
            // One statement (every command's BEGIN, COMMIT, SAVEPOINT, RELEASE) is kept
            // prepared: compiling it again each time was a few per cent of an intake.
            Db::Sqlite(c) if !text.contains(';') => {
                c.prepare_cached(text)?.execute([])?;
                Ok(())
            }
            Db::Sqlite(c) => Ok(c.execute_batch(text)?),
            Db::Postgres(p) => Ok(p.noting(p.usable().batch(text))?),
        }
    }
}

/// A prepared statement.
pub struct Statement<'c> {
    inner: StatementInner<'c>,
}

enum StatementInner<'c> {
    Sqlite(rusqlite::CachedStatement<'c>),
    Postgres { db: &'c PgDb, sql: String },
}

fn owned(values: Vec<ValueRef<'_>>) -> Vec<Value> {
    values.into_iter().map(ValueRef::to_owned).collect()
}

impl Statement<'_> {
    /// Runs it; the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values();
        match &mut self.inner {
            StatementInner::Sqlite(s) => Ok(s.execute(rusqlite::params_from_iter(values))?),
            StatementInner::Postgres { db, sql } => {
                Ok(db.noting(db.usable().execute(sql, &owned(values)))? as usize)
            }
        }
    }

    /// Calls `each` with every row, in order.
    pub fn for_each_row<P: Params>(
        &mut self,
        params: P,
        mut each: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        let values = params.values();
        match &mut self.inner {
            StatementInner::Sqlite(s) => {
                let mut rows = s.query(rusqlite::params_from_iter(values))?;
                while let Some(r) = rows.next()? {
                    each(&Row {
                        inner: RowInner::Sqlite(r),
                    })?;
                }
                Ok(())
            }
            StatementInner::Postgres { db, sql } => {
                for r in db.noting(db.usable().query(sql, &owned(values)))? {
                    each(&Row {
                        inner: RowInner::Values(&r),
                    })?;
                }
                Ok(())
            }
        }
    }

    /// Every row, mapped.
    pub fn query_map<P: Params, T>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut out = Vec::new();
        self.for_each_row(params, |r| {
            out.push(f(r));
            Ok(())
        })?;
        Ok(out.into_iter())
    }

    /// The first row, mapped; [`Error::NoRows`] when there is none.
    pub fn query_row<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let values = params.values();
        match &mut self.inner {
            StatementInner::Sqlite(s) => {
                let mut rows = s.query(rusqlite::params_from_iter(values))?;
                match rows.next()? {
                    Some(r) => f(&Row {
                        inner: RowInner::Sqlite(r),
                    }),
                    None => Err(Error::no_rows()),
                }
            }
            StatementInner::Postgres { db, sql } => {
                match db.noting(db.usable().query(sql, &owned(values)))?.first() {
                    Some(r) => f(&Row {
                        inner: RowInner::Values(r),
                    }),
                    None => Err(Error::no_rows()),
                }
            }
        }
    }

    /// Whether it returns a row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        self.query_row(params, |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }
}

/// `query_row(..).optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == ErrorKind::NoRows => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// How a transaction begins: a write takes the write lock at once (SQLite's `BEGIN IMMEDIATE`)
/// so a command never fails half-way for want of it; a read sees one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    Write,
    Read,
}

/// An open transaction: rolled back when dropped without [`Tx::commit`].
pub struct Tx<'a> {
    db: &'a Db,
    open: bool,
    /// A command's savepoint inside a group's transaction ([`Db::begin_in_group`]).
    in_group: bool,
}

/// The savepoint each command of a group runs in: begun, kept, and undone.
const IN_GROUP_BEGIN: &str = "SAVEPOINT pitwall_command";
const IN_GROUP_KEEP: &str = "RELEASE pitwall_command";
const IN_GROUP_UNDO: &str = "ROLLBACK TO pitwall_command; RELEASE pitwall_command";

impl Db {
    /// Begins a transaction. The busy handler waits for other writers, up to the one
    /// documented wait ([`super::lock_wait`]); past it the error [`Error::is_busy`]. SQLite
    /// answers some lock conflicts at once without calling the handler: those are tried again,
    /// but only within the same wait, never on top of it.
    pub fn begin(&mut self, kind: TxKind) -> Result<Tx<'_>> {
        let db: &Db = self;
        // PostgreSQL: SERIALIZABLE, so every rule the engine checks before it writes holds as
        // if commands ran one at a time, on every host; a lost race is a serialisation failure
        // (`Error::is_retryable`) and the command runs again. Reads see one snapshot.
        //
        // Writers also take turns, as they do on SQLite: an advisory lock taken *before* BEGIN,
        // so each write transaction's snapshot starts after the previous writer committed.
        // Without it, two hosts accepting offers at once collide far beyond their real
        // conflicts (every accept reads which mechanics are busy, every accept changes it), and
        // under load a command can lose its retries and answer `busy` (seen: two processes
        // racing 600 accepts). One writer at a time costs little here: a command holds the
        // lock for a millisecond or two.
        let sql = match (kind, db.backend()) {
            (TxKind::Write, Backend::Sqlite) => "BEGIN IMMEDIATE",
            (TxKind::Read, Backend::Sqlite) => "BEGIN DEFERRED",
            (TxKind::Write, Backend::Postgres) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            (TxKind::Read, Backend::Postgres) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        if let Db::Postgres(p) = db {
            p.writing.set(kind == TxKind::Write);
            // The wait for another writer's row locks, as SQLite's busy handler waits for its
            // lock: the one documented wait, or a shorter one (the console's tick).
            p.noting(p.usable().set_lock_wait(super::lock_wait()))?;
            if kind == TxKind::Write {
                // lock_timeout bounds this wait too: past it, `busy`. Its own round trip, then
                // BEGIN: the two cannot share one (the lock's SELECT would take the snapshot,
                // and BEGIN ISOLATION LEVEL is refused after a query). Between them the session
                // holds the lock outside a transaction, where the server's idle-in-transaction
                // limit cannot see a process that froze: a window of one round trip.
                p.noting(
                    p.conn
                        .batch(&format!("SELECT pg_advisory_lock({WRITER_LOCK})")),
                )?;
                p.holds_writer_lock.set(true);
            }
        }
        let started = std::time::Instant::now();
        loop {
            match db.batch(sql) {
                Ok(()) => {
                    if let Db::Postgres(p) = db {
                        p.in_transaction.set(true);
                    }
                    return Ok(Tx {
                        db,
                        open: true,
                        in_group: false,
                    });
                }
                Err(e) if e.is_busy() && started.elapsed() < super::lock_wait() => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => {
                    if let Db::Postgres(p) = db {
                        p.release_writer_lock();
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// Commands grouped into one transaction: `serve` under load runs the commands queued for the
/// engine one after another inside one `BEGIN IMMEDIATE` and commits them together, so the
/// log's pages an intake touches (two dozen: the tables' and indexes' last pages, which the
/// next intake touches again) are written and synced once for the group, not once per command.
/// Each command runs in a savepoint of its own, so one refused rolls back alone, and nobody
/// is answered before the group's commit. SQLite only: PostgreSQL's serialisable transactions
/// would make every command of a group lose with any one that lost a race.
impl Db {
    /// Begins a group's transaction (`BEGIN IMMEDIATE`, with [`Db::begin`]'s wait for
    /// another writer), which [`Db::commit_group`] ends.
    pub fn begin_group(&mut self) -> Result<()> {
        debug_assert_eq!(self.backend(), Backend::Sqlite);
        let mut tx = self.begin(TxKind::Write)?;
        tx.open = false;
        Ok(())
    }

    /// A command's transaction inside the group's: a savepoint, released by [`Tx::commit`]
    /// and rolled back to when dropped.
    pub fn begin_in_group(&self) -> Result<Tx<'_>> {
        self.batch(IN_GROUP_BEGIN)?;
        Ok(Tx {
            db: self,
            open: true,
            in_group: true,
        })
    }

    /// Commits the group; when that fails, rolls it back, so nothing of it stands.
    pub fn commit_group(&self) -> Result<()> {
        self.batch("COMMIT").inspect_err(|_| {
            let _ = self.batch("ROLLBACK");
        })
    }
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        match self.db {
            db if self.in_group => db.batch(IN_GROUP_KEEP)?,
            Db::Postgres(p) if p.writing.get() => {
                // One round trip: the notice, delivered to every listener (consoles, event
                // feeds, on any host) when, and only if, this transaction commits; the commit;
                // and the writer lock let go. Should the commit fail, the statement after it
                // does not run, and `Drop` rolls back and lets go of the lock.
                p.noting(p.conn.batch(&format!(
                    "NOTIFY {}; COMMIT; SELECT pg_advisory_unlock({WRITER_LOCK})",
                    pg::CHANNEL
                )))?;
                p.holds_writer_lock.set(false);
            }
            db => db.batch("COMMIT")?,
        }
        self.open = false;
        if let Db::Postgres(p) = self.db {
            p.in_transaction.set(false);
        }
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        match self.db {
            // The rollback and the writer lock's release in one round trip, so the session
            // never holds the lock outside a transaction, where the server's idle limit would
            // not end it should this process freeze.
            Db::Postgres(p) if self.open && p.holds_writer_lock.get() => {
                let both = format!("ROLLBACK; SELECT pg_advisory_unlock({WRITER_LOCK})");
                if p.conn.batch(&both).is_ok() {
                    p.holds_writer_lock.set(false);
                }
            }
            db if self.open && self.in_group => {
                let _ = db.batch(IN_GROUP_UNDO);
            }
            db if self.open => {
                let _ = db.batch("ROLLBACK");
            }
            _ => {}
        }
        if let Db::Postgres(p) = self.db {
            // Whatever is left (a failed batch above, a lock taken before a BEGIN that failed).
            p.release_writer_lock();
            p.in_transaction.set(false);
        }
    }
}

impl Db {
    /// Connects to a PostgreSQL database and brings its schema up to date.
    pub fn connect_postgres(url: &str) -> Result<Db, super::OpenError> {
        let label = super::describe_url(url);
        if let Some(why) = pg::tls_problem(url) {
            return Err(super::OpenError::Unusable { path: label, why });
        }
        let conn = pg::PgConn::connect(url).map_err(|e| super::OpenError::Unusable {
            path: label.clone(),
            why: pg_unreachable(&e),
        })?;
        match pg::prepare_schema(&conn) {
            Ok(_) => Ok(Db::Postgres(Box::new(PgDb::new(conn)))),
            Err(pg::SchemaError::NotPitwall) => Err(super::OpenError::NotPitwall { path: label }),
            Err(pg::SchemaError::TooNew { found, known }) => Err(super::OpenError::TooNew {
                path: label,
                found,
                known,
            }),
            Err(e) => Err(super::OpenError::Unusable {
                path: label,
                why: e.to_string(),
            }),
        }
    }

    /// Changes whenever anyone commits a write (in this process or another), so a console can
    /// notice without re-reading everything: SQLite's `PRAGMA data_version`, PostgreSQL's
    /// notifications counted by a listening connection.
    pub fn data_version(&self) -> Result<i64> {
        match self {
            Db::Sqlite(conn) => Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?),
            Db::Postgres(p) => {
                if p.listener.get().is_none() {
                    let listener = pg::Listener::start(p.conn.url())?;
                    let version = listener.version() as i64;
                    let _ = p.listener.set(listener);
                    // Commits made before LISTEN took effect were not counted: the call that
                    // starts listening answers one less than the next will, so a caller that
                    // read the database before its first call reads it once more.
                    return Ok(version - 1);
                }
                Ok(p.listener.get().map_or(0, |l| l.version() as i64))
            }
        }
    }

    /// How far [`Db::data_version`] may have moved for this connection's own last commit,
    /// after the caller read it: SQLite's counts only other connections' commits (0);
    /// PostgreSQL's counts every notice, this connection's too, and the notice of its last
    /// commit may arrive late (1).
    pub fn own_commit_notices(&self) -> i64 {
        match self {
            Db::Sqlite(_) => 0,
            Db::Postgres(_) => 1,
        }
    }

    /// Runs `f` so that a statement in it that fails leaves the transaction usable: PostgreSQL
    /// aborts a whole transaction on any error, so the failure is confined to a savepoint.
    /// (SQLite undoes just the failed statement by itself.)
    pub fn tolerating<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.backend() == Backend::Sqlite {
            return f();
        }
        self.batch("SAVEPOINT tolerated")?;
        let result = f();
        self.batch(if result.is_ok() {
            "RELEASE tolerated"
        } else {
            "ROLLBACK TO tolerated; RELEASE tolerated"
        })?;
        result
    }

    /// Gives the space of removed rows back, and says what was done. SQLite: `VACUUM` rewrites
    /// the file without them (writers wait while it runs: about a second per 100 MB), then the
    /// log is emptied. PostgreSQL: a plain `VACUUM (ANALYZE)` of the tables prune touches marks
    /// their space reusable by new rows and refreshes the planner's figures; the files
    /// themselves shrink only under `VACUUM FULL`, which locks each table while it rewrites it,
    /// so it is left to the operator's quiet hour.
    pub fn reclaim_space(&self) -> Result<&'static str> {
        match self {
            Db::Sqlite(c) => {
                c.execute_batch("VACUUM")?;
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                Ok("VACUUM: the database file was rewritten without the removed rows")
            }
            Db::Postgres(_) => {
                self.batch(
                    "VACUUM (ANALYZE) sessions, intakes, session_assignments, \
                     assignment_details, events, notifications, customer_waitlist",
                )?;
                Ok(
                    "VACUUM (ANALYZE): PostgreSQL reuses the removed rows' space for new rows; \
                     its files shrink only with VACUUM FULL, which locks each table while it \
                     runs (run it yourself at a quiet hour)",
                )
            }
        }
    }

    /// Marks a point inside the open transaction that the work after it can be undone to,
    /// leaving the work before it (and the transaction) as it was: [`Savepoint::release`] keeps
    /// that work, [`Savepoint::roll_back`] undoes it. Savepoints nest.
    pub fn savepoint(&self) -> Result<Savepoint> {
        self.batch("SAVEPOINT pitwall_step")?;
        Ok(Savepoint { _private: () })
    }
}

/// An open savepoint ([`Db::savepoint`]). It holds no borrow of the connection, so the work it
/// guards may use the connection freely; it must be ended with the connection it was made on.
#[must_use = "a savepoint is ended by release or roll_back"]
pub struct Savepoint {
    _private: (),
}

impl Savepoint {
    /// Keeps what was done since the savepoint (it commits with the transaction).
    pub fn release(self, db: &Db) -> Result<()> {
        db.batch("RELEASE pitwall_step")
    }

    /// Undoes what was done since the savepoint; the transaction goes on (on PostgreSQL, usable
    /// again even after a statement in it failed).
    pub fn roll_back(self, db: &Db) -> Result<()> {
        db.batch("ROLLBACK TO pitwall_step; RELEASE pitwall_step")
    }
}

/// Why a PostgreSQL server could not be reached, in words an operator acts on.
fn pg_unreachable(e: &postgres::Error) -> String {
    let detail = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string());
    let detail = match std::error::Error::source(e) {
        Some(source) if e.as_db_error().is_none() => format!("{detail}: {source}"),
        _ => detail,
    };
    format!(
        "cannot connect to the PostgreSQL server ({detail}); check the address, the user and that the server is running"
    )
}
