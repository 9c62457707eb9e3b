//! The only module that speaks SQL. One connection per process; the engine wraps every command
//! in one transaction (`BEGIN IMMEDIATE` for writes) and calls the functions here with it.

pub mod assignments;
pub mod check;
pub mod checkpoint;
pub mod db;
mod error;
pub mod events;
pub mod file;
pub mod links;
pub mod mechanics;
mod migrate;
pub mod outbox;
pub mod pg;
pub mod prune;
pub mod report;
pub mod sessions;
pub mod settings;
pub mod sql;
pub mod tokens;
pub mod value;
pub mod waitlist;

use std::cell::Cell;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::params;

pub use db::{Db, Error, ErrorKind, Result};
pub use migrate::{SCHEMA_VERSION, migrate};
pub use sql::Sql;

/// How long a writer waits for another process's transaction before giving up with `busy`
/// (SPEC §7), unless `PITWALL_BUSY_TIMEOUT_MS` says otherwise (see [`busy_timeout`]).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait for another process's lock: [`BUSY_TIMEOUT`], or `PITWALL_BUSY_TIMEOUT_MS`
/// milliseconds when that is set (tests use a short one; an operator may want a longer one).
pub fn busy_timeout() -> Duration {
    static TIMEOUT: OnceLock<Duration> = OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        std::env::var("PITWALL_BUSY_TIMEOUT_MS")
            .ok()
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .map_or(BUSY_TIMEOUT, Duration::from_millis)
    })
}

thread_local! {
    /// A shorter wait for what runs inside [`with_lock_wait`] on this thread.
    static LOCK_WAIT: Cell<Option<Duration>> = const { Cell::new(None) };
    /// When the current wait for a lock began (the busy handler's attempt 0).
    static WAIT_STARTED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How long a statement on this thread waits for another process's lock now.
pub fn lock_wait() -> Duration {
    LOCK_WAIT.get().unwrap_or_else(busy_timeout)
}

/// Runs `f` with lock waits of at most `limit` on this thread: for work that may as well be
/// skipped while another program holds the database (the console's once-a-second tick), so it
/// never holds up the dispatcher's keys for the whole [`busy_timeout`].
pub fn with_lock_wait<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    /// Puts the thread's previous wait back however `f` ends, a panic included: a caught panic
    /// (`serve`'s worker keeps serving) must not leave every later command on the short wait.
    struct Restore(Option<Duration>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOCK_WAIT.set(self.0);
        }
    }
    let _restore = Restore(LOCK_WAIT.replace(Some(limit.min(busy_timeout()))));
    f()
}

/// True for SQLite's "another connection holds the lock" answers.
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Page cache per connection, in KiB (SQLite's default is 2 MiB).
pub const CACHE_KIB: i64 = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path cannot hold a database, in words a user acts on (SPEC §11).
    #[error("cannot open database {path}: {why}")]
    Unusable { path: String, why: String },
    #[error("{path} is not a pitwall database; pitwall left it untouched")]
    NotPitwall { path: String },
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: Error },
    #[error(
        "database {path} was written by a newer pitwall (schema version {found}, this build knows {known}); upgrade pitwall to open it"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "database {path} has schema version {found}, which no pitwall ever wrote; is it a pitwall database?"
    )]
    UnknownVersion { path: String, found: i64 },
    #[error(
        "cannot upgrade database {path} from schema version {from}: {why}: {ids}. Nothing was changed; correct or remove those rows (the file is SQLite) and open it again"
    )]
    CannotUpgrade {
        path: String,
        from: i64,
        why: &'static str,
        ids: String,
    },
    #[error("cannot prepare database {path}: {source}")]
    Setup { path: String, source: Error },
}

/// Opens (creating if needed) a database file, or an in-memory one when `path` is `None`, and
/// brings its schema up to date. A file that is neither empty nor a pitwall database is refused
/// before anything is written to it: no WAL switch (which rewrites the header), no schema.
pub fn open(path: Option<&Path>) -> Result<Db, OpenError> {
    if let Some(url) = path.and_then(postgres_url) {
        return Db::connect_postgres(url);
    }
    let label = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
    if let Some(p) = path
        && let Some(why) = path_problem(p, true)
    {
        return Err(OpenError::Unusable { path: label, why });
    }
    let mut conn = match path {
        Some(p) => {
            create_private(p);
            Connection::open_with_flags(
                p,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        }
        None => Connection::open_in_memory(),
    }
    .map_err(|source| opening_failed(path, &label, source))?;
    conn.busy_handler(Some(wait_for_lock))
        .map_err(|source| opening_failed(path, &label, source))?;
    inspect(&conn, &label)?;
    configure(&mut conn).map_err(|source| OpenError::Setup {
        path: label.clone(),
        source: source.into(),
    })?;
    migrate(&conn, &label)?;
    Ok(Db::Sqlite(conn))
}

/// What a file holds, read without writing a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Nothing yet (an empty file, or SQLite without a table): it becomes a new database.
    Empty,
    /// A pitwall database of this schema version.
    Pitwall(i64),
}

/// Tables every pitwall schema version has had; a file claiming a version without them is not
/// a pitwall database.
const CORE_TABLES: &[&str] = &[
    "mechanics",
    "intakes",
    "sessions",
    "session_assignments",
    "customer_waitlist",
    "notifications",
    "settings",
    "events",
    "roster_generation",
];

/// What a database holds ([`inspect`] for whichever engine `db` is on).
pub fn contents(db: &Db, label: &str) -> Result<Contents, OpenError> {
    match db {
        Db::Sqlite(conn) => inspect(conn, label),
        // Opening a PostgreSQL database checks and prepares its schema (pg::prepare_schema).
        Db::Postgres(_) => Ok(Contents::Pitwall(SCHEMA_VERSION)),
    }
}

/// Tells a new file and a pitwall database from anything else, by reading only. Anything with
/// tables of its own but no pitwall version (user_version 0), or a version without pitwall's
/// tables, or not SQLite at all, is [`OpenError::NotPitwall`].
pub fn inspect(conn: &Connection, label: &str) -> Result<Contents, OpenError> {
    let not_pitwall = || OpenError::NotPitwall {
        path: label.to_string(),
    };
    let read = |e: rusqlite::Error| match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            not_pitwall()
        }
        _ if is_busy(&e) => OpenError::Unusable {
            path: label.to_string(),
            why: "another program keeps it locked; try again in a moment".into(),
        },
        _ if sqlite_wal_vanished(Path::new(label), &e) => OpenError::Unusable {
            path: label.to_string(),
            why: WAL_VANISHED.into(),
        },
        _ => OpenError::Setup {
            path: label.to_string(),
            source: e.into(),
        },
    };
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(read)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(read)?;
    match version {
        0 if tables.is_empty() => Ok(Contents::Empty),
        0 => Err(not_pitwall()),
        v if v > 0 && CORE_TABLES.iter().all(|t| tables.iter().any(|n| n == t)) => {
            Ok(Contents::Pitwall(v))
        }
        // Negative or unknown versions are named by the migration; a version without the
        // tables is someone else's numbering.
        v if v < 0 => Ok(Contents::Pitwall(v)),
        _ => Err(not_pitwall()),
    }
}

pub const WAL_VANISHED: &str = "its -wal file is gone while SQLite's index (-shm) still counts \
     committed transactions in it: it was deleted while pitwall ran. Let that pitwall quit normally \
     (the last connection to close writes the transactions back), then check again; never delete \
     -wal or -shm files";

/// Whether SQLite's "disk I/O error" on `path` is the trace of a deleted WAL: the shared index
/// (`-shm`) is there and counts frames, but the `-wal` file they are in is missing or empty, so
/// reading them comes up short (`SQLITE_IOERR_SHORT_READ`). SQLite tells this much only as an
/// I/O error; the files beside the database say which one it is.
pub fn wal_vanished(path: &Path, err: &Error) -> bool {
    err.sqlite().is_some_and(|e| sqlite_wal_vanished(path, e))
}

fn sqlite_wal_vanished(path: &Path, err: &rusqlite::Error) -> bool {
    let io = matches!(err, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_IOERR_SHORT_READ);
    let beside = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    io && beside("-shm").exists()
        && std::fs::metadata(beside("-wal")).map_or(true, |m| m.len() == 0)
}

/// The database the `PITWALL_DB` environment variable names (a file, or a PostgreSQL URL with
/// its password), for when `--db` is not given: a URL there never shows in a process list.
pub fn database_from_environment() -> Option<std::path::PathBuf> {
    std::env::var_os("PITWALL_DB")
        .filter(|db| !db.is_empty())
        .map(std::path::PathBuf::from)
}

/// The PostgreSQL server `--db` names, when it names one (`postgres://…` or
/// `postgresql://…`) rather than a file (SPEC §15).
pub fn postgres_url(db: &Path) -> Option<&str> {
    let s = db.to_str()?;
    (s.starts_with("postgres://") || s.starts_with("postgresql://")).then_some(s)
}

/// A database as shown to a person: a file's path, or a server's address without its password.
pub fn describe(db: &Path) -> String {
    match postgres_url(db) {
        Some(url) => describe_url(url),
        None => db.display().to_string(),
    }
}

/// A connection string as it may be shown (messages, logs): who, where and which database, with
/// the password as `***` and the options left out (they may carry one too). Rebuilt from what
/// the client parsed, not cut out of the text, so no spelling of a password (one holding `/`,
/// `?` or `@`, percent-encoded or not) can leak through.
pub fn describe_url(url: &str) -> String {
    // Only a scheme it knows: text before a `://` elsewhere (a key=value string holding one in
    // its password) is not shown.
    let scheme = ["postgresql", "postgres"]
        .into_iter()
        .find(|scheme| url.starts_with(&format!("{scheme}://")))
        .unwrap_or("postgres");
    let Ok(config) = url.parse::<postgres::Config>() else {
        return format!("{scheme}://(a connection string that does not parse)");
    };
    let mut out = format!("{scheme}://");
    if let Some(user) = config.get_user() {
        out.push_str(user);
        if config.get_password().is_some() {
            out.push_str(":***");
        }
        out.push('@');
    }
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                postgres::config::Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                postgres::config::Host::Tcp(name) => name.clone(),
                postgres::config::Host::Unix(dir) => format!("(socket in {})", dir.display()),
            };
            // One port for every host, or one each.
            match ports.get(i).or(ports.first().filter(|_| ports.len() == 1)) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    out.push_str(&hosts.join(","));
    if let Some(db) = config.get_dbname() {
        out.push('/');
        out.push_str(db);
    }
    out
}

/// Why `path` cannot be a database file, in words a user acts on (SPEC §11), or `None` when
/// it looks usable (or names a PostgreSQL server). `create`: a missing file is fine (it will
/// be made).
pub fn path_problem(path: &Path, create: bool) -> Option<String> {
    if postgres_url(path).is_some() {
        return None;
    }
    use std::io::ErrorKind;
    if path.is_dir() {
        return Some(format!(
            "it is a directory, not a file; name a file in it, such as {}",
            path.join("pitwall.db").display()
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            Some("it is not a regular file (a device or a pipe cannot hold a database)".into())
        }
        Ok(_) => match std::fs::File::open(path) {
            Err(e) if e.kind() == ErrorKind::PermissionDenied => Some(
                "permission denied: you may not read it (ask its owner, or check its mode)".into(),
            ),
            _ => None,
        },
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if !parent.exists() {
                Some(format!("the directory {} does not exist", parent.display()))
            } else if !parent.is_dir() {
                Some(format!("{} is not a directory", parent.display()))
            } else if !create {
                Some("there is no such file".into())
            } else {
                None
            }
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Some(format!(
            "permission denied: you may not look into {}",
            parent.display()
        )),
        Err(e) if e.kind() == ErrorKind::NotADirectory => {
            Some(format!("{} is not a directory", parent.display()))
        }
        Err(e) => Some(e.to_string()),
    }
}

/// SQLite's "unable to open database file", said in words that name the cause when the path
/// shows it.
fn opening_failed(path: Option<&Path>, label: &str, source: rusqlite::Error) -> OpenError {
    let why = path.and_then(|p| {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !p.exists() {
            Some(format!(
                "cannot create it: permission denied in {}",
                parent.display()
            ))
        } else if std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .is_err()
        {
            Some("permission denied: you may not write to it".into())
        } else {
            None
        }
    });
    match why {
        Some(why) => OpenError::Unusable {
            path: label.to_string(),
            why,
        },
        None => OpenError::Open {
            path: label.to_string(),
            source: source.into(),
        },
    }
}

/// Creates a new database file readable by its owner only; customer data lives in it.
pub(crate) fn create_private(path: &Path) {
    if path.exists() || postgres_url(path).is_some() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
}

/// WAL so readers never block the writer; `synchronous = NORMAL`, which in WAL mode keeps every
/// committed transaction through a process crash (a power loss may lose the last few); a busy
/// handler so two processes take turns at the write lock instead of failing.
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // No `wal_autocheckpoint` here or after: a writer's checkpoint thread turns it off and
    // hangs its wake-up on the WAL hook, which that pragma would replace.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A tick that expires thousands of offers dirties more pages than SQLite's default 2 MiB
    // cache holds, and spills them to the WAL mid-transaction (1–3 ms of a 10,000-offer tick;
    // 16 MiB bought no more and cost 8 MB of peak memory). The cache grows only as pages are
    // touched.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // Temporary storage in memory, not in files written with a syscall per page. What it holds
    // here is mostly statement journals (the undo of one statement inside a transaction):
    // 2–3 ms of a 10,000-offer tick. Sorts and temporary indexes would live there too; pitwall's
    // are small (the 400,000-assignment upgrade peaked at 34 MB).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Waits for another process's write lock. SQLite's default handler backs off to 100 ms sleeps,
/// so a process that keeps writing can starve another for seconds, and a dispatcher's accept
/// waits far longer than the other transaction took. These waits stay short (0.1 → 2 ms) and
/// give up once [`lock_wait`] has passed since the first attempt: the one documented wait,
/// after which the command answers `busy`.
fn wait_for_lock(attempt: i32) -> bool {
    const STEP_CAP_MICROS: u64 = 2_000;
    let now = Instant::now();
    let started = match WAIT_STARTED.get() {
        Some(started) if attempt > 0 => started,
        _ => {
            WAIT_STARTED.set(Some(now));
            now
        }
    };
    let left = lock_wait().saturating_sub(now - started);
    if left.is_zero() {
        return false;
    }
    let step = Duration::from_micros((100u64 << attempt.clamp(0, 5)).min(STEP_CAP_MICROS));
    std::thread::sleep(step.min(left));
    true
}

/// `PRAGMA data_version`: changes whenever another connection commits, so a console can notice
/// another process's writes without re-reading everything.
pub fn data_version(db: &Db) -> Result<i64> {
    db.data_version()
}

/// The names of pitwall's tables, sorted.
pub fn tables(db: &Db) -> Result<Vec<String>> {
    db.prepare(crate::sql_each!(
        sqlite: ["SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"],
        postgres: [
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        ],
    ))?
    .query_map(params![], |r| r.get(0))?
    .collect()
}

/// Every row of every table, as text: what tests compare to show a refused command changed
/// nothing.
pub fn dump(db: &Db) -> Result<String> {
    let mut out = String::new();
    for table in tables(db)? {
        out.push_str(&format!("[{table}]\n"));
        let select = format!("SELECT * FROM {table} ORDER BY 1");
        db.prepare(Sql::plain(&select))?
            .for_each_row(params![], |row| {
                for i in 0..row.column_count() {
                    out.push_str(&format!("{:?}|", row.get_ref(i)?));
                }
                out.push('\n');
                Ok(())
            })?;
    }
    Ok(out)
}

/// JSON text column → value, tolerating NULL as empty.
pub(crate) fn json_list(text: Option<String>) -> Result<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(|e| Error::conversion(0, e)),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises")
}

#[cfg(test)]
mod query_plans {
    //! The hot queries must use their indexes: a schema change that turns one into a table
    //! scan fails here, not in production at 100,000 sessions.

    use super::*;

    fn plan(conn: &Connection, sql: &str, params: usize) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Integer(0); params];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join(" | ")
    }

    #[test]
    fn hot_queries_use_their_indexes() {
        let db = open(None).unwrap();
        let conn = db.sqlite().unwrap();
        let cases: Vec<(&str, Sql<'static>, usize, &[&str])> = vec![
            (
                "due expiries",
                assignments::EXPIRE_DUE,
                1,
                &["assignments_due"],
            ),
            (
                "live offers per mechanic",
                assignments::LIVE_OFFER_COUNTS,
                1,
                &["assignments_due"],
            ),
            (
                "due expiries, expired",
                assignments::EXPIRE_DUE_UPDATE,
                1,
                &["assignments_due"],
            ),
            (
                "due broadcasts",
                assignments::ACTIVATE_DUE_BROADCASTS,
                1,
                &["assignments_broadcast_held"],
            ),
            (
                "due broadcasts, opened",
                assignments::ACTIVATE_DUE_BROADCASTS_UPDATE,
                1,
                &["assignments_broadcast_held"],
            ),
            (
                "open broadcasts",
                assignments::OPEN_BROADCASTS,
                1,
                &["assignments_broadcast_open", "assignments_broadcast_held"],
            ),
            (
                "a mechanic's queue",
                assignments::MINE,
                2,
                &[
                    "assignments_open_by_mechanic",
                    "sessions_matched_by_mechanic",
                    "assignments_one_accepted",
                ],
            ),
            (
                "a mechanic's active sessions",
                mechanics::ACTIVE_SESSIONS,
                1,
                &["sessions_matched_by_mechanic"],
            ),
            (
                "busy mechanics",
                mechanics::BUSY,
                0,
                &["sessions_matched_by_mechanic"],
            ),
            (
                "escalated sessions",
                sessions::ESCALATED_WAITING,
                1,
                &["sessions_escalated"],
            ),
            (
                "a relay's claim",
                outbox::CLAIM,
                5,
                &["notifications_pending_by_channel"],
            ),
            (
                "pending messages on a channel",
                outbox::PENDING_ON,
                1,
                &["notifications_pending_by_channel"],
            ),
            (
                "sessions to escalate",
                sessions::ESCALATE,
                2,
                &["sessions_to_escalate"],
            ),
            (
                "waitlist expiry",
                waitlist::EXPIRE_DUE,
                1,
                &["waitlist_waiting"],
            ),
            (
                "waiting waitlist entries",
                waitlist::WAITING,
                1,
                &["waitlist_waiting"],
            ),
            (
                "the console's newest waitlist entries",
                waitlist::LIST,
                1,
                &["waitlist_recent"],
            ),
            (
                "sessions in play per status",
                sessions::COUNT_IN_PLAY,
                0,
                &["sessions_by_status"],
            ),
            (
                "the console's sessions of a status",
                sessions::LIST_BY_STATUS,
                2,
                &["sessions_by_status"],
            ),
            (
                "a session's offers",
                assignments::FOR_SESSION,
                1,
                &["assignments_by_session"],
            ),
            (
                "the event feed's catch-up",
                events::AFTER,
                2,
                &["INTEGER PRIMARY KEY"],
            ),
            (
                "who an event's session concerns",
                events::SESSION_MECHANICS,
                1,
                &["assignments_by_session"],
            ),
            (
                "the console's newest messages",
                outbox::LIST,
                1,
                &["SCAN notifications"],
            ),
            (
                "prune: the next batch of finished sessions",
                prune::FINISHED_BATCH,
                5,
                &["sessions_by_status"],
            ),
        ];
        for (name, sql, params, indexes) in cases {
            let plan = plan(conn, sql.text(db::Backend::Sqlite), params);
            for index in indexes {
                assert!(
                    plan.contains(index),
                    "{name}: expected {index}, plan: {plan}"
                );
            }
            // Walking a partial index end to end is fine (it holds only the rows in play);
            // walking a table is not, unless the case names that walk (a LIMIT read from the
            // newest end of a table in rowid order).
            for step in plan.split(" | ") {
                assert!(
                    !step.starts_with("SCAN")
                        || step == "SCAN CONSTANT ROW"
                        || indexes.contains(&step)
                        || step.contains("USING INDEX")
                        || step.contains("USING COVERING INDEX"),
                    "{name} scans a table: {plan}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_described_url_never_shows_its_password() {
        use super::describe_url;
        let cases = [
            (
                "postgres://ann:secret@db.example:5433/pitwall",
                "postgres://ann:***@db.example:5433/pitwall",
            ),
            (
                "postgresql://ann@db/pitwall",
                "postgresql://ann@db:5432/pitwall",
            ),
            (
                "postgres://ann:se/cr?et@db/pitwall",
                "postgres://ann:***@db:5432/pitwall",
            ),
            (
                "postgres://ann:p%40ss%2Fw@db/pitwall?options=-c%20x%3D1",
                "postgres://ann:***@db:5432/pitwall",
            ),
            (
                "postgres://ann@db/pitwall?password=hunter2",
                "postgres://ann:***@db:5432/pitwall",
            ),
            (
                "postgres://ann:pw@a:1,b:2/pitwall",
                "postgres://ann:***@a:1,b:2/pitwall",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(describe_url(url), shown, "{url}");
        }
        assert_eq!(
            describe_url("postgres://ann:pw@[::1]:5433/x"),
            "postgres://ann:***@[::1]:5433/x"
        );
        assert_eq!(
            describe_url("postgres://ann@%2Frun%2Fpg/x"),
            "postgres://ann@(socket in /run/pg):5432/x"
        );
        for odd in [
            "postgres://ann:pw@db:notaport/x",
            "postgres://ann:pw@[::1/x",
            "host=db password=a://b",
        ] {
            let shown = describe_url(odd);
            assert!(!shown.contains("pw"), "{odd}: {shown}");
        }
    }
}

#[cfg(test)]
mod lock_wait_tests {
    use super::*;

    #[test]
    fn a_panic_inside_a_short_wait_leaves_the_threads_wait_as_it_was() {
        let before = lock_wait();
        let short = Duration::from_millis(7);
        let caught = std::panic::catch_unwind(|| {
            with_lock_wait(short, || {
                assert_eq!(lock_wait(), short.min(busy_timeout()));
                panic!("a bug in the job");
            })
        });
        assert!(caught.is_err());
        assert_eq!(lock_wait(), before);
    }
}
