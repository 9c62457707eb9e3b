//! The PostgreSQL backend's own parts against a real server (SPEC §15): the value codec, the
//! error classes the engine acts on, reconnecting, the schema and its version, LISTEN/NOTIFY, and
//! schema_pg.sql against schema.sql. Ignored without
//! `PITWALL_TEST_POSTGRES` (see common/pg.rs).

use crate::common::pg as pg_common;

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use pg_common::TestDb;
use pitwall::store::db::{Db, TxKind};
use pitwall::store::pg::{
    self, Listener, PgConn, SchemaError, is_busy, is_connection_lost, is_retryable,
    is_unique_violation, prepare_schema,
};
use pitwall::store::value::Value;

/// A database of the test's own and a connection to it.
fn database() -> (TestDb, PgConn) {
    let server = pg_common::required_server();
    let db = TestDb::create(&server);
    let conn = PgConn::connect(&db.url).expect("connect to the test database");
    (db, conn)
}

/// A database of the test's own with pitwall's schema and the store's connection to it.
fn pitwall_database() -> (TestDb, Db) {
    let server = pg_common::required_server();
    let db = TestDb::create(&server);
    let conn = Db::connect_postgres(&db.url).expect("connect to the test database");
    (db, conn)
}

fn one(conn: &PgConn, sql: &str) -> Value {
    let rows = conn
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0][0].clone()
}

/// The session's lock_timeout in milliseconds.
const LOCK_TIMEOUT_MS: &str =
    "SELECT (extract(epoch FROM current_setting('lock_timeout')::interval) * 1000)::bigint";

fn busy_ms() -> i64 {
    pitwall::store::busy_timeout().as_millis() as i64
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The engine thread owns its connection and may be moved to another thread; a listener is
/// shared with the console and the SSE feed.
#[test]
fn connections_move_between_threads_and_listeners_are_shared() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<PgConn>();
    send_sync::<Listener>();
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn every_value_round_trips_through_every_column_type() {
    let (_db, conn) = database();
    conn.batch(
        "CREATE TABLE t (k BIGINT PRIMARY KEY, i2 SMALLINT, i4 INTEGER, i8 BIGINT, f4 REAL, \
         f8 DOUBLE PRECISION, b BOOLEAN, n NUMERIC, t TEXT, v VARCHAR(40), c CHAR(5), j JSON, \
         jb JSONB, by BYTEA)",
    )
    .unwrap();
    let insert =
        "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    let full = vec![
        Value::Integer(1),
        Value::Integer(-32768),
        Value::Integer(2_147_483_647),
        Value::Integer(i64::MIN),
        Value::Real(1.5),
        Value::Real(-0.1),
        Value::Integer(1),
        Value::Integer(-123_456_789_012),
        text("héllo \u{1F697} 'quoted'"),
        text("varchar"),
        text("abc"),
        text(r#"{"a": [1, 2]}"#),
        text(r#"{"b": "x"}"#),
        Value::Blob(vec![0, 1, 254, 255]),
    ];
    assert_eq!(conn.execute(insert, &full).unwrap(), 1);
    let mut nulls = vec![Value::Null; 14];
    nulls[0] = Value::Integer(2);
    assert_eq!(conn.execute(insert, &nulls).unwrap(), 1);

    let rows = conn.query("SELECT * FROM t ORDER BY k", &[]).unwrap();
    let mut expected = full.clone();
    expected[10] = text("abc  "); // CHAR(5) pads, as PostgreSQL stores it
    assert_eq!(rows[0], expected);
    assert_eq!(rows[1], nulls);

    // SQLite-like flexibility where it is lossless: an integer into REAL, TEXT and BOOL columns.
    conn.execute(
        "INSERT INTO t (k, f8, t, b) VALUES ($1, $2, $3, $4)",
        &[
            Value::Integer(3),
            Value::Integer(7),
            Value::Integer(42),
            Value::Integer(0),
        ],
    )
    .unwrap();
    let row = &conn
        .query("SELECT f8, t, b FROM t WHERE k = 3", &[])
        .unwrap()[0];
    assert_eq!(row, &vec![Value::Real(7.0), text("42"), Value::Integer(0)]);

    // Aggregates: count is BIGINT, sum over BIGINT is NUMERIC (read as SQLite would), avg a
    // fraction; a parameter the server cannot type is text.
    assert_eq!(one(&conn, "SELECT count(*) FROM t"), Value::Integer(3));
    assert_eq!(one(&conn, "SELECT sum(k) FROM t"), Value::Integer(6));
    assert_eq!(
        one(&conn, "SELECT avg(k) FROM t WHERE k < 3"),
        Value::Real(1.5)
    );
    assert_eq!(
        one(&conn, "SELECT avg(k) FROM t WHERE k = 2"),
        Value::Real(2.0)
    );
    assert_eq!(one(&conn, "SELECT sum(k) FROM t WHERE k > 9"), Value::Null);
    assert_eq!(
        conn.query("SELECT $1", &[text("as is")]).unwrap(),
        vec![vec![text("as is")]]
    );
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn values_that_do_not_fit_are_clear_errors() {
    let (_db, conn) = database();
    conn.batch("CREATE TABLE t (i2 SMALLINT, i8 BIGINT, b BOOLEAN, by BYTEA)")
        .unwrap();
    let cases = [
        (
            "INSERT INTO t (i2) VALUES ($1)",
            Value::Integer(70_000),
            "smallint",
        ),
        (
            "INSERT INTO t (i8) VALUES ($1)",
            text("12"),
            "cannot store text",
        ),
        (
            "INSERT INTO t (b) VALUES ($1)",
            Value::Integer(2),
            "boolean",
        ),
        (
            "INSERT INTO t (by) VALUES ($1)",
            text("bytes"),
            "cannot store text",
        ),
        (
            "INSERT INTO t (i8) VALUES ($1)",
            Value::Blob(vec![1]),
            "cannot store a blob",
        ),
    ];
    for (sql, value, says) in cases {
        let err = conn
            .execute(sql, std::slice::from_ref(&value))
            .expect_err(sql);
        let chain = format!("{err}: {:?}", std::error::Error::source(&err));
        assert!(chain.contains(says), "{value:?}: {chain}");
    }
    let err = conn
        .query("SELECT now()", &[])
        .expect_err("timestamptz is not read");
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(
        chain.contains("timestamp with time zone") || chain.contains("timestamptz"),
        "{chain}"
    );
    assert_eq!(one(&conn, "SELECT count(*) FROM t"), Value::Integer(0));
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_session_is_set_up_and_statements_are_prepared_once() {
    let (_db, conn) = database();
    assert_eq!(
        one(&conn, "SELECT current_setting('TimeZone')"),
        text("UTC")
    );
    assert_eq!(
        one(&conn, "SELECT current_setting('application_name')"),
        text("pitwall")
    );
    assert_eq!(one(&conn, LOCK_TIMEOUT_MS), Value::Integer(busy_ms()));
    // The server ends the session of a client that froze in a transaction or died, so the
    // writer lock it held does not outlive it (see a_frozen_writer_gives_up_the_lock).
    let idle_ms = pg::IDLE_IN_TRANSACTION_LIMIT.as_millis() as i64;
    let mut settings = vec![("idle_in_transaction_session_timeout", idle_ms)];
    // The TCP ones read 0 over a Unix socket, where they do not apply.
    if one(&conn, "SELECT inet_server_addr() IS NOT NULL") == Value::Integer(1) {
        settings.extend([
            ("tcp_keepalives_idle", 10),
            ("tcp_keepalives_interval", 5),
            ("tcp_keepalives_count", 3),
            ("tcp_user_timeout", 30_000),
        ]);
    }
    for (setting, want) in settings {
        let sql = format!("SELECT setting::bigint FROM pg_settings WHERE name = '{setting}'");
        assert_eq!(one(&conn, &sql), Value::Integer(want), "{setting}");
    }

    let prepared = "SELECT count(*) FROM pg_prepared_statements";
    let before = one(&conn, prepared);
    for i in 0..5 {
        conn.query("SELECT $1::bigint + 1", &[Value::Integer(i)])
            .unwrap();
    }
    let after = one(&conn, prepared);
    let (Value::Integer(before), Value::Integer(after)) = (before, after) else {
        panic!()
    };
    assert_eq!(
        after - before,
        1,
        "five runs of one SQL text, one prepared statement"
    );

    // SQL built per call does not grow the cache (or the server's memory) without bound.
    for i in 0..600 {
        conn.query(&format!("SELECT {i}::bigint"), &[]).unwrap();
    }
    let Value::Integer(kept) = one(&conn, prepared) else {
        panic!()
    };
    assert!((1..=512).contains(&kept), "{kept} statements kept");
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn conflicting_serializable_transactions_are_retryable() {
    let (db, a) = database();
    let b = PgConn::connect(&db.url).unwrap();
    a.batch("CREATE TABLE duty (who TEXT, on_call BIGINT)")
        .unwrap();
    a.batch("INSERT INTO duty VALUES ('x', 1), ('y', 1)")
        .unwrap();
    // Write skew: each takes someone off call after seeing two on call.
    for (conn, who) in [(&a, "x"), (&b, "y")] {
        conn.batch("BEGIN ISOLATION LEVEL SERIALIZABLE").unwrap();
        assert_eq!(
            conn.query("SELECT count(*) FROM duty WHERE on_call = 1", &[])
                .unwrap(),
            vec![vec![Value::Integer(2)]]
        );
        conn.execute("UPDATE duty SET on_call = 0 WHERE who = $1", &[text(who)])
            .unwrap();
    }
    a.batch("COMMIT").unwrap();
    let err = b
        .batch("COMMIT")
        .expect_err("the second commit is a serialisation failure");
    assert!(is_retryable(&err), "{err:?}");
    assert!(!is_connection_lost(&err) && !is_busy(&err) && !is_unique_violation(&err));
    assert_eq!(
        one(&a, "SELECT count(*) FROM duty WHERE on_call = 1"),
        Value::Integer(1)
    );
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_deadlock_is_retryable() {
    let (db, a) = database();
    let b = PgConn::connect(&db.url).unwrap();
    a.batch(
        "CREATE TABLE r (id BIGINT PRIMARY KEY, n BIGINT); INSERT INTO r VALUES (1, 0), (2, 0)",
    )
    .unwrap();
    let lock = "UPDATE r SET n = n + 1 WHERE id = $1";
    a.batch("BEGIN").unwrap();
    a.execute(lock, &[Value::Integer(1)]).unwrap();
    b.batch("BEGIN").unwrap();
    b.execute(lock, &[Value::Integer(2)]).unwrap();
    // Each now waits for the other's row; the server picks one to fail (after deadlock_timeout).
    let first = thread::spawn(move || {
        let result = a.execute(lock, &[Value::Integer(2)]);
        (a, result)
    });
    let second = b.execute(lock, &[Value::Integer(1)]);
    if second.is_err() {
        b.batch("ROLLBACK").unwrap();
    }
    let (a, first) = first.join().unwrap();
    let failed: Vec<_> = [first, second]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        is_retryable(&failed[0]) && !is_busy(&failed[0]),
        "{:?}",
        failed[0]
    );
    a.batch("ROLLBACK").unwrap();
    b.batch("ROLLBACK").unwrap();
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn unique_violations_and_lock_waits_are_told_apart() {
    let (db, a) = database();
    let b = PgConn::connect(&db.url).unwrap();
    a.batch("CREATE TABLE s (id TEXT PRIMARY KEY, n BIGINT)")
        .unwrap();
    a.execute("INSERT INTO s VALUES ($1, 0)", &[text("one")])
        .unwrap();
    let err = a
        .execute("INSERT INTO s VALUES ($1, 0)", &[text("one")])
        .unwrap_err();
    assert!(is_unique_violation(&err) && !is_retryable(&err), "{err:?}");

    a.batch("BEGIN").unwrap();
    a.execute("UPDATE s SET n = 1 WHERE id = $1", &[text("one")])
        .unwrap();
    b.set_lock_wait(Duration::from_millis(100)).unwrap();
    assert_eq!(one(&b, LOCK_TIMEOUT_MS), Value::Integer(100));
    let started = Instant::now();
    let err = b
        .execute("UPDATE s SET n = 2 WHERE id = $1", &[text("one")])
        .unwrap_err();
    assert!(is_busy(&err) && !is_connection_lost(&err), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    a.batch("ROLLBACK").unwrap();
    b.set_lock_wait(pitwall::store::busy_timeout()).unwrap();
    assert_eq!(one(&b, LOCK_TIMEOUT_MS), Value::Integer(busy_ms()));
    assert_eq!(
        b.execute("UPDATE s SET n = 2 WHERE id = $1", &[text("one")])
            .unwrap(),
        1
    );
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_terminated_connection_is_lost_and_reconnects() {
    let (db, conn) = database();
    let admin = PgConn::connect(&db.url).unwrap();
    let pid = one(&conn, "SELECT pg_backend_pid()");
    conn.query("SELECT $1::text", &[text("cached")]).unwrap();
    assert_eq!(
        admin
            .query("SELECT pg_terminate_backend($1)", &[pid])
            .unwrap(),
        vec![vec![Value::Integer(1)]]
    );
    thread::sleep(Duration::from_millis(100));
    let err = conn
        .query("SELECT 1", &[])
        .expect_err("the backend was terminated");
    assert!(is_connection_lost(&err), "{err:?}");
    assert!(!is_retryable(&err));
    assert!(conn.is_closed());

    conn.reconnect().unwrap();
    assert!(!conn.is_closed());
    // A statement prepared on the old connection is prepared again on the new one.
    assert_eq!(
        conn.query("SELECT $1::text", &[text("cached")]).unwrap(),
        vec![vec![text("cached")]]
    );
    assert_eq!(
        one(&conn, "SELECT current_setting('application_name')"),
        text("pitwall")
    );
    assert_eq!(conn.url(), db.url);

    let gone = PgConn::connect("postgres://pitwall@127.0.0.1:1/postgres")
        .err()
        .unwrap();
    assert!(is_connection_lost(&gone), "{gone:?}");
}

fn schema_rows(conn: &PgConn) -> Vec<Vec<Value>> {
    conn.query("SELECT version FROM pitwall_schema", &[])
        .unwrap()
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn prepare_schema_creates_the_current_version_once() {
    let (_db, conn) = database();
    let current = pitwall::store::SCHEMA_VERSION;
    assert_eq!(prepare_schema(&conn).unwrap(), current);
    assert_eq!(schema_rows(&conn), vec![vec![Value::Integer(current)]]);
    let settings = one(&conn, "SELECT count(*) FROM settings");
    conn.execute(
        "INSERT INTO mechanics (id, name, created_at, updated_at) VALUES ('m1', 'M', 0, 0)",
        &[],
    )
    .unwrap();

    assert_eq!(prepare_schema(&conn).unwrap(), current);
    assert_eq!(schema_rows(&conn), vec![vec![Value::Integer(current)]]);
    assert_eq!(one(&conn, "SELECT count(*) FROM settings"), settings);
    assert_eq!(
        one(&conn, "SELECT count(*) FROM mechanics"),
        Value::Integer(1)
    );
    // The roster triggers bump the generation, as SQLite's do.
    assert_eq!(
        one(&conn, "SELECT generation FROM roster_generation"),
        Value::Integer(1)
    );
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn prepare_schema_from_two_processes_at_once() {
    let server = pg_common::required_server();
    for _ in 0..3 {
        let db = TestDb::create(&server);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let url = db.url.clone();
                thread::spawn(move || prepare_schema(&PgConn::connect(&url).unwrap()))
            })
            .collect();
        let current = pitwall::store::SCHEMA_VERSION;
        for worker in workers {
            assert_eq!(worker.join().unwrap().unwrap(), current);
        }
        let conn = PgConn::connect(&db.url).unwrap();
        assert_eq!(schema_rows(&conn), vec![vec![Value::Integer(current)]]);
    }
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn prepare_schema_refuses_other_databases_and_newer_versions() {
    let (db, conn) = database();
    conn.batch("CREATE TABLE invoices (id BIGINT)").unwrap();
    assert!(matches!(
        prepare_schema(&conn),
        Err(SchemaError::NotPitwall)
    ));
    assert_eq!(
        one(&conn, "SELECT to_regclass('public.mechanics') IS NULL"),
        Value::Integer(1)
    );

    let fresh = TestDb::create(&pg_common::required_server());
    let newer = PgConn::connect(&fresh.url).unwrap();
    prepare_schema(&newer).unwrap();
    newer
        .batch("UPDATE pitwall_schema SET version = 99")
        .unwrap();
    match prepare_schema(&newer) {
        Err(
            e @ SchemaError::TooNew {
                found: 99,
                known: pitwall::store::SCHEMA_VERSION,
            },
        ) => {
            assert!(e.to_string().contains("upgrade pitwall"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    newer
        .batch("UPDATE pitwall_schema SET version = 5")
        .unwrap();
    assert!(matches!(
        prepare_schema(&newer),
        Err(SchemaError::TooOld { found: 5, known: 6 })
    ));
    drop(db);
}

/// A database made by the first pitwall that ran on PostgreSQL (version 6), holding an offer
/// message still waiting, is upgraded in place: the schema a new database gets, every check
/// constraint alike, and the waiting offer message tied to its offer and deadline.
#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_version_6_database_upgrades_to_the_schema_a_new_one_gets() {
    let (old_db, old) = database();
    old.batch(include_str!("../fixtures/schema_pg_v6.sql"))
        .unwrap();
    old.batch(
        "INSERT INTO pitwall_schema (version) VALUES (6);
         INSERT INTO mechanics (id, name, phone, created_at, updated_at)
             VALUES ('m1', 'Ann', '+15550100', 0, 0);
         INSERT INTO intakes (id, customer_name, concern, location_country, location_postal_code,
                              created_at)
             VALUES ('i1', 'Bo', 'brakes', 'Canada', 'M5V 2T6', 0);
         INSERT INTO sessions (id, intake_id, status, payment_method, created_at)
             VALUES ('s1', 'i1', 'waiting', 'free', 0);
         INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                                          priority, expires_at, created_at)
             VALUES ('s1.t1', 's1', 'm1', 'targeted', 'offered', 'high', 120000, 0);
         INSERT INTO notifications (id, kind, channel, recipient, subject, body, session_id,
                                    created_at, next_attempt_at)
             VALUES ('n1', 'offer', 'sms', '+15550100', 'New offer', 'Hi', 's1', 0, 0);",
    )
    .unwrap();
    assert_eq!(
        prepare_schema(&old).unwrap(),
        pitwall::store::SCHEMA_VERSION
    );
    assert_eq!(
        schema_rows(&old),
        vec![vec![Value::Integer(pitwall::store::SCHEMA_VERSION)]]
    );
    let (_new_db, new) = database();
    prepare_schema(&new).unwrap();
    assert_eq!(postgres_shape(&old), postgres_shape(&new));
    let checks = |conn: &PgConn| -> Vec<Vec<Value>> {
        conn.query(
            "SELECT t.relname, pg_get_constraintdef(c.oid) FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = 'public' AND c.contype = 'c' ORDER BY 1, 2",
            &[],
        )
        .unwrap()
    };
    assert_eq!(checks(&old), checks(&new));
    assert_eq!(
        old.query(
            "SELECT assignment_id, expires_at, status FROM notifications WHERE id = 'n1'",
            &[]
        )
        .unwrap(),
        vec![vec![
            text("s1.t1"),
            Value::Integer(120_000),
            text("pending")
        ]]
    );
    drop(old_db);
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn the_listener_sees_committed_notifications_only() {
    let (db, conn) = database();
    let listener = Listener::start(&db.url).unwrap();
    let notify = format!("SELECT pg_notify('{}', '')", pg::CHANNEL);
    let start = listener.version();

    conn.batch("BEGIN").unwrap();
    conn.execute(&notify, &[]).unwrap();
    conn.batch("ROLLBACK").unwrap();
    thread::sleep(Duration::from_millis(600));
    assert_eq!(
        listener.version(),
        start,
        "a rolled-back transaction notifies nobody"
    );

    conn.batch("BEGIN").unwrap();
    conn.execute(&notify, &[]).unwrap();
    conn.batch("COMMIT").unwrap();
    let took = wait_for("the notification", Duration::from_secs(1), || {
        listener.version() > start
    });
    eprintln!("notification seen after {took:?}");

    // A lost connection: the listener reconnects and bumps the version, since it may have
    // missed something meanwhile; then it hears notifications again.
    let seen = listener.version();
    conn.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'pitwall-listener'",
        &[],
    )
    .unwrap();
    wait_for("the reconnect", Duration::from_secs(5), || {
        listener.version() > seen
    });
    let reconnected = listener.version();
    conn.execute(&notify, &[]).unwrap();
    wait_for(
        "a notification after reconnecting",
        Duration::from_secs(1),
        || listener.version() > reconnected,
    );

    let dropping = Instant::now();
    drop(listener);
    assert!(
        dropping.elapsed() < Duration::from_secs(2),
        "{:?}",
        dropping.elapsed()
    );
}

/// A process that froze inside a write transaction (here: a transaction begun and left) holds
/// the writer lock only until the server ends its idle session; then another writer gets in,
/// and the frozen one finds its connection gone, its work rolled back.
#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_frozen_writer_gives_up_the_lock() {
    let (db, mut frozen) = pitwall_database();
    let mut other = Db::connect_postgres(&db.url).unwrap();
    let held = Instant::now();
    let tx = frozen.begin(TxKind::Write).unwrap();
    tx.execute(
        pitwall::sql!("UPDATE settings SET value = 'frozen' WHERE key = ?1"),
        pitwall::params!["escalate_after_seconds"],
    )
    .unwrap();
    let limit = pg::IDLE_IN_TRANSACTION_LIMIT;
    let got_in = loop {
        match other.begin(TxKind::Write) {
            Ok(tx) => {
                tx.commit().unwrap();
                break held.elapsed();
            }
            Err(e) if e.is_busy() => {
                assert!(held.elapsed() < limit * 3, "still locked out: {e}");
            }
            Err(e) => panic!("{e}"),
        }
    };
    eprintln!("the other writer got in after {got_in:?}");
    assert!(got_in >= limit, "{got_in:?}: before the limit");
    let ended = tx.commit().expect_err("the frozen session was ended");
    assert!(ended.is_connection_lost(), "{ended}");
    drop(frozen);
    let value = Db::connect_postgres(&db.url)
        .unwrap()
        .query_row(
            pitwall::sql!("SELECT value FROM settings WHERE key = 'escalate_after_seconds'"),
            pitwall::params![],
            |r| r.get::<usize, String>(0),
        )
        .unwrap();
    assert_eq!(value, "600", "the frozen transaction was rolled back");
}

/// A connection the server ended is replaced by the next statement outside a transaction, for
/// any caller (not only a command, which reconnects after its own failure): the first statement
/// after the loss fails and says so, the next works. Inside a transaction it is not replaced:
/// the rest of the transaction fails too, and the next one starts on a new connection.
#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_lost_connection_is_replaced_between_transactions_only() {
    let (db, mut conn) = pitwall_database();
    let admin = PgConn::connect(&db.url).unwrap();
    let end_pitwall_sessions = || {
        admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'pitwall' \
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
    };
    let count = |conn: &Db| {
        conn.query_row(
            pitwall::sql!("SELECT count(*) FROM settings"),
            pitwall::params![],
            |r| r.get::<usize, i64>(0),
        )
    };
    assert!(count(&conn).is_ok());

    end_pitwall_sessions();
    let lost = count(&conn).expect_err("the session was ended");
    assert!(lost.is_connection_lost(), "{lost}");
    assert!(count(&conn).is_ok(), "the next statement reconnected");

    let tx = conn.begin(TxKind::Write).unwrap();
    end_pitwall_sessions();
    let lost = count(&tx).expect_err("the session was ended");
    assert!(lost.is_connection_lost(), "{lost}");
    assert!(
        count(&tx).is_err(),
        "no new connection under an open transaction"
    );
    drop(tx);
    let tx = conn.begin(TxKind::Write).unwrap();
    assert!(count(&tx).is_ok());
    tx.commit().unwrap();
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn listening_starts_with_one_change_to_read() {
    let (_db, conn) = pitwall_database();
    let first = conn.data_version().unwrap();
    let second = conn.data_version().unwrap();
    assert_ne!(
        first, second,
        "what was committed before LISTEN took effect is read once more"
    );
    assert_eq!(
        conn.data_version().unwrap(),
        second,
        "then quiet until a commit"
    );
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_listener_stops_promptly_under_a_stream_of_notifications() {
    let (db, _conn) = database();
    let listener = Listener::start(&db.url).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let notifier = {
        let (url, stop) = (db.url.clone(), stop.clone());
        thread::spawn(move || {
            let conn = PgConn::connect(&url).unwrap();
            // Faster than the listener's poll, so its wait for a quiet moment never ends.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                conn.execute("SELECT pg_notify('pitwall', '')", &[])
                    .unwrap();
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    wait_for("notifications", Duration::from_secs(2), || {
        listener.version() > 3
    });
    // Dropped on a thread of its own, so a drop that never returns fails the test, not hangs it.
    let (dropped, done) = std::sync::mpsc::channel();
    thread::spawn(move || {
        drop(listener);
        let _ = dropped.send(());
    });
    let finished = done.recv_timeout(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    notifier.join().unwrap();
    assert!(
        finished.is_ok(),
        "the listener was still stopping after 1 s"
    );
}

#[test]
fn a_listener_needs_a_server() {
    // No server needed to see this: nothing listens on port 1.
    assert!(Listener::start("postgres://pitwall@127.0.0.1:1/postgres").is_err());
}

/// Tables, columns in order with their types and nullability, foreign keys, indexes (columns,
/// uniqueness, partial or not), views and triggers, as SQLite's schema.sql declares them,
/// translated the way schema_pg.sql is.
fn sqlite_shape() -> BTreeSet<String> {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(include_str!("../../schema.sql"))
        .unwrap();
    let mut shape = BTreeSet::new();
    let mut objects = conn
        .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        .unwrap();
    let objects: Vec<(String, String, String)> = objects
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, name, table) in objects {
        match kind.as_str() {
            "table" => {
                shape.insert(format!("table {name}"));
                let mut columns = conn
                    .prepare("SELECT cid, name, type, \"notnull\", pk FROM pragma_table_info(?1)")
                    .unwrap();
                let columns = columns
                    .query_map([&name], |r| {
                        let declared: String = r.get(2)?;
                        let not_null: bool = r.get(3)?;
                        let pk: i64 = r.get(4)?;
                        let pg_type = match declared.as_str() {
                            "INTEGER" => "bigint",
                            "REAL" => "double precision",
                            "TEXT" => "text",
                            "BLOB" => "bytea",
                            other => panic!("{other}: add its PostgreSQL type here"),
                        };
                        Ok(format!(
                            "column {name}.{} #{} {pg_type}{}",
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(0)? + 1,
                            if not_null || pk > 0 { " not null" } else { "" }
                        ))
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect::<Vec<_>>();
                shape.extend(columns);
                let mut keys = conn
                    .prepare("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)")
                    .unwrap();
                let keys = keys
                    .query_map([&name], |r| {
                        let (from, to_table, to): (String, String, String) =
                            (r.get(0)?, r.get(1)?, r.get(2)?);
                        Ok(format!("foreign key {name}.{from} -> {to_table}.{to}"))
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect::<Vec<_>>();
                shape.extend(keys);
            }
            "index" => {
                let (unique, partial): (bool, bool) = conn
                    .query_row(
                        "SELECT \"unique\", partial FROM pragma_index_list(?1) WHERE name = ?2",
                        [&table, &name],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                let columns: String = conn
                    .query_row(
                        "SELECT group_concat(name, ',') FROM \
                         (SELECT name FROM pragma_index_info(?1) ORDER BY seqno)",
                        [&name],
                        |r| r.get(0),
                    )
                    .unwrap();
                shape.insert(format!(
                    "index {name} on {table} ({columns}){}{}",
                    if unique { " unique" } else { "" },
                    if partial { " partial" } else { "" }
                ));
            }
            "view" => {
                shape.insert(format!("view {name}"));
            }
            "trigger" => {
                shape.insert(format!("trigger {name} on {table}"));
            }
            other => panic!("{other} {name}"),
        }
    }
    shape
}

fn postgres_shape(conn: &PgConn) -> BTreeSet<String> {
    let strings = |sql: &str| -> Vec<String> {
        conn.query(sql, &[])
            .unwrap()
            .into_iter()
            .map(|row| match &row[0] {
                Value::Text(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let mut shape = BTreeSet::new();
    shape.extend(strings(
        "SELECT 'table ' || table_name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'pitwall_schema'",
    ));
    shape.extend(strings(
        "SELECT 'view ' || table_name FROM information_schema.views WHERE table_schema = 'public'",
    ));
    shape.extend(strings(
        "SELECT format('column %s.%s #%s %s%s', c.table_name, c.column_name, \
                (SELECT count(*) FROM information_schema.columns o \
                 WHERE o.table_schema = c.table_schema AND o.table_name = c.table_name \
                   AND o.column_name <> 'rowid' AND o.ordinal_position <= c.ordinal_position), \
                c.data_type, CASE WHEN c.is_nullable = 'NO' THEN ' not null' ELSE '' END) \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> 'pitwall_schema' AND c.column_name <> 'rowid'",
    ));
    // `rowid` (sessions, notifications) stands in for SQLite's implicit rowid, which has no
    // column in SQLite's schema: positions are counted without it (columns a later version
    // added come after it).
    // Indexes that back a PRIMARY KEY are SQLite's implicit ones, not in its schema; those that
    // back a UNIQUE column are its sqlite_autoindex_*: both are left out on either side.
    shape.extend(strings(
        "SELECT format('index %s on %s (%s)%s%s', i.relname, t.relname, \
                (SELECT string_agg(a.attname, ',' ORDER BY k.n) \
                 FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum), \
                CASE WHEN x.indisunique THEN ' unique' ELSE '' END, \
                CASE WHEN x.indpred IS NOT NULL THEN ' partial' ELSE '' END) \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
               WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u'))",
    ));
    // An index of `rowid` alone is what SQLite's rowid key is to its table: no index in
    // SQLite's schema.
    shape.retain(|line| !(line.starts_with("index ") && line.ends_with(" (rowid)")));
    shape.extend(strings(
        "SELECT format('foreign key %s.%s -> %s.%s', t.relname, a.attname, r.relname, ra.attname) \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] \
         WHERE c.contype = 'f' AND n.nspname = 'public'",
    ));
    shape.extend(strings(
        "SELECT format('trigger %s on %s', t.tgname, c.relname) FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.tgisinternal",
    ));
    shape
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn schema_pg_matches_schema_sql() {
    let (_db, conn) = database();
    prepare_schema(&conn).unwrap();
    let sqlite = sqlite_shape();
    let postgres = postgres_shape(&conn);
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schema.sql and schema_pg.sql differ:\n only in schema.sql: {only_sqlite:#?}\n \
         only in schema_pg.sql: {only_postgres:#?}"
    );
    assert!(sqlite.len() > 150, "{} objects compared", sqlite.len());
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn schema_pg_keeps_the_one_winner_rule_and_checks() {
    let (_db, conn) = database();
    prepare_schema(&conn).unwrap();
    conn.batch(
        "INSERT INTO mechanics (id, name, created_at, updated_at) VALUES ('m1', 'A', 0, 0), ('m2', 'B', 0, 0); \
         INSERT INTO intakes (id, customer_name, location_country, location_postal_code, concern, created_at) \
             VALUES ('i1', 'C', 'CA', 'H2X', 'noise', 0); \
         INSERT INTO sessions (id, intake_id, status, payment_method, created_at) \
             VALUES ('s1', 'i1', 'waiting', 'free', 0)",
    )
    .unwrap();
    let assign = "INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status, \
                  priority, created_at) VALUES ($1, 's1', $2, 'targeted', 'accepted', 'normal', 0) \
                  RETURNING seq";
    let first = conn.query(assign, &[text("a1"), text("m1")]).unwrap();
    assert_eq!(
        first,
        vec![vec![Value::Integer(1)]],
        "seq comes from the identity"
    );
    let err = conn.query(assign, &[text("a2"), text("m2")]).unwrap_err();
    assert!(is_unique_violation(&err), "{err:?}");
    // A CHECK, a foreign key and the token rule hold as in SQLite.
    assert!(
        conn.execute("UPDATE mechanics SET currently_on_shift = 2", &[])
            .is_err()
    );
    assert!(
        conn.execute("UPDATE sessions SET matched_mechanic_id = 'nobody'", &[])
            .is_err()
    );
    assert!(
        conn.execute(
            "INSERT INTO api_tokens (id, role, sha256, created_at) VALUES ('t', 'mechanic', $1, 0)",
            &[Value::Blob(vec![0; 32])]
        )
        .is_err()
    );
    // Events get increasing ids without the engine naming one.
    for kind in ["a", "b"] {
        conn.execute(
            "INSERT INTO events (at, kind) VALUES (0, $1)",
            &[text(kind)],
        )
        .unwrap();
    }
    assert_eq!(
        conn.query("SELECT id, kind FROM events ORDER BY id", &[])
            .unwrap(),
        vec![
            vec![Value::Integer(1), text("a")],
            vec![Value::Integer(2), text("b")]
        ]
    );
    // Text sorts byte-wise, as SQLite's BINARY collation does, whatever the database's locale.
    conn.batch("INSERT INTO settings (key, value) VALUES ('Zeta', ''), ('alpha', ''), ('_x', '')")
        .unwrap();
    assert_eq!(
        conn.query(
            "SELECT key FROM settings WHERE value = '' ORDER BY key",
            &[]
        )
        .unwrap(),
        vec![vec![text("Zeta")], vec![text("_x")], vec![text("alpha")]]
    );
    // The view puts match_type back into the metadata, as json_set does in SQLite.
    conn.execute(
        "INSERT INTO assignment_details (assignment_seq, metadata) VALUES (1, $1)",
        &[text(r#"{"x":1}"#)],
    )
    .unwrap();
    assert_eq!(
        one(&conn, "SELECT metadata FROM session_assignments_full"),
        text(r#"{"x": 1, "match_type": "targeted"}"#)
    );
}
