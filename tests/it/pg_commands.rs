//! Every command line that takes `--db` works on a PostgreSQL server (SPEC §15): report, check,
//! token and headless on one database; `backup` names pg_dump and exits 2; a server that cannot
//! be reached, or a database of someone else's, is refused in words, untouched. Ignored
//! without `PITWALL_TEST_POSTGRES` (see common/pg.rs).

use crate::common::pg;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn pitwall(args: &[&str], stdin: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .env("PITWALL_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `url` with a password the output must never show.
fn with_password(url: &str) -> String {
    url.split_once('@').map_or_else(
        || url.to_string(),
        |(user, rest)| format!("{user}:hunter2-secret@{rest}"),
    )
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn the_operator_commands_work_on_a_server_database() {
    let server = pg::required_server();
    let db = pg::TestDb::create(&server);
    let url = db.url.as_str();

    let script = r#"{"cmd":"add_mechanic","id":"m1","name":"Ann","country":"Canada","postal_code":"M5V 1A1","profile_completion_score":95,"currently_on_shift":true}
{"cmd":"intake","id":"S1","customer":{"name":"C","email":"c@example.com"},"location":{"country":"Canada","postal_code":"M5V 3L9"},"concern":"brakes squeal","payment_method":"free"}
{"cmd":"accept","session":"S1","mechanic":"m1"}
"#;
    let out = pitwall(&["headless", "--clock", "manual", "--db", url], script);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["ok"] == true), "{lines:?}");

    let report = pitwall(&["report", "--json", "--db", url], "");
    assert!(report.status.success(), "{}", text(&report.stderr));
    let v: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(v["accepts_total"], 1);

    let check = pitwall(&["check", "--db", url], "");
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).contains("All checks passed."));

    let created = pitwall(
        &["token", "create", "--role", "dispatcher", "--db", url],
        "",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).trim().starts_with("pw_dispatcher_"));
    let listed = pitwall(&["token", "list", "--db", url], "");
    assert!(text(&listed.stdout).contains("dispatcher"));

    // SPEC §15: backup on PostgreSQL points at pg_dump and exits 2, without the password.
    let secret = with_password(url);
    let backup = pitwall(&["backup", "/tmp/never-written.db", "--db", &secret], "");
    assert_eq!(backup.status.code(), Some(2));
    let said = text(&backup.stderr);
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!said.contains("hunter2-secret"), "{said}");
    assert!(!std::path::Path::new("/tmp/never-written.db").exists());
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn an_unreachable_server_and_a_foreign_database_are_refused_in_words() {
    let server = pg::required_server();
    // Nothing listens on port 1.
    let out = pitwall(
        &[
            "report",
            "--db",
            "postgres://pitwall:hunter2-secret@127.0.0.1:1/nowhere",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stderr);
    assert!(
        said.contains("cannot connect to the PostgreSQL server"),
        "{said}"
    );
    assert!(!said.contains("hunter2-secret"), "{said}");

    // A database with a table of its own is someone else's: refused, and left as it was.
    let db = pg::TestDb::create(&server);
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE invoices (id int); INSERT INTO invoices VALUES (7)")
        .unwrap();
    let out = pitwall(&["report", "--db", &db.url], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a pitwall database"),
        "{}",
        text(&out.stderr)
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was created beside the foreign table");
}

/// SPEC §15: a lost connection is reported with a code, never half-applied, and the engine
/// reconnects for the next command.
#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn a_lost_connection_is_reported_then_the_engine_reconnects() {
    let server = pg::required_server();
    let db = pg::TestDb::create(&server);
    let mut engine = pitwall::engine::Engine::open(
        Some(std::path::Path::new(&db.url)),
        pitwall::clock::Clock::manual_default(),
    )
    .unwrap();
    let run = |engine: &mut pitwall::engine::Engine, line: &str| {
        engine.execute(pitwall::command::parse_line(line).unwrap())
    };
    run(
        &mut engine,
        r#"{"cmd":"add_mechanic","id":"m1","name":"Ann","country":"Canada","postal_code":"M5V 1A1","profile_completion_score":95,"currently_on_shift":true}"#,
    )
    .unwrap();

    // The server ends pitwall's session (a restart, a failover, an operator).
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    let ended: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert!(ended >= 1, "pitwall's session was there to end");

    let intake = r#"{"cmd":"intake","id":"S1","customer":{"name":"C","email":"c@example.com"},"location":{"country":"Canada","postal_code":"M5V 3L9"},"concern":"brakes squeal","payment_method":"free"}"#;
    let lost = run(&mut engine, intake).unwrap_err();
    assert_eq!(lost.code, pitwall::error::ErrorCode::Busy);
    assert!(
        lost.message
            .contains("connection to the database server was lost"),
        "{lost:?}"
    );
    // Nothing of it was applied, and the next command runs on a new connection.
    let mut check = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let sessions: i64 = check
        .query_one("SELECT count(*) FROM sessions", &[])
        .unwrap()
        .get(0);
    assert_eq!(sessions, 0);
    run(&mut engine, intake).unwrap();
    let sessions: i64 = check
        .query_one("SELECT count(*) FROM sessions WHERE id = 'S1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1);
}
