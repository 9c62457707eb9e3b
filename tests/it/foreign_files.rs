//! Files that are not pitwall databases (SPEC §7, §11): only an empty file becomes a new
//! database; a SQLite file with tables of its own — or any other file — is refused in one short
//! sentence and left byte for byte as it was, by every command that opens a database; a path
//! that cannot be a database is named in words a user acts on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common;

use common::terminal::Terminal;

fn pitwall(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .env("PITWALL_HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every command that opens a database, on `db`.
fn every_opener(db: &str, backup: &str) -> Vec<Vec<String>> {
    [
        vec!["headless", "--db", db],
        vec!["report", "--db", db],
        vec!["report", "--json", "--db", db],
        vec!["check", "--db", db],
        vec!["backup", backup, "--db", db],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(String::from).collect())
    .collect()
}

/// The file and everything SQLite might leave beside it, byte for byte.
fn snapshot(db: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let p = PathBuf::from(format!("{}{suffix}", db.display()));
            let bytes = std::fs::read(&p).ok();
            (p, bytes)
        })
        .collect()
}

fn refused_untouched(db: &Path, expect: &str) {
    let dir = db.parent().unwrap();
    let before = snapshot(db);
    let backup = dir.join("copy.db");
    for args in every_opener(db.to_str().unwrap(), backup.to_str().unwrap()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = pitwall(&args, dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.len() < 200,
            "{args:?}: one short sentence, got {stderr}"
        );
        assert_eq!(snapshot(db), before, "{args:?} changed {}", db.display());
        assert!(!backup.exists(), "{args:?} copied a foreign file");
    }
    console_refuses(db, expect);
    assert_eq!(snapshot(db), before, "the console changed {}", db.display());
}

/// The console, in a real terminal, exits 2 with `expect` on stderr.
fn console_refuses(db: &Path, expect: &str) {
    let dir = db.parent().unwrap();
    let name = format!("foreign-{}", db.file_stem().unwrap().to_string_lossy());
    let console = Terminal::start(&name, dir, &format!("--db {}", db.display()), 100, 30);
    assert_eq!(console.exit_status(), 2);
    let stderr = std::fs::read_to_string(dir.join("console.err")).unwrap();
    assert!(stderr.contains(expect), "console: {stderr}");
}

#[test]
fn a_sqlite_file_with_its_own_tables_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE notes(x); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    drop(conn);
    refused_untouched(&db, "is not a pitwall database; pitwall left it untouched");
}

#[test]
fn a_file_whose_tables_conflict_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("conflict.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE sessions(x);").unwrap();
    drop(conn);
    refused_untouched(&db, "is not a pitwall database");
}

#[test]
fn a_version_without_pitwall_tables_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("other-app.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE things(x); PRAGMA user_version = 1;")
        .unwrap();
    drop(conn);
    refused_untouched(&db, "is not a pitwall database");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.txt");
    std::fs::write(
        &db,
        "Dear diary, today I typed the wrong path.\n".repeat(200),
    )
    .unwrap();
    refused_untouched(&db, "is not a pitwall database");
}

#[test]
fn an_empty_file_becomes_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    std::fs::write(&db, b"").unwrap();
    let out = pitwall(&["report", "--db", db.to_str().unwrap()], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pitwall(&["check", "--db", db.to_str().unwrap()], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn paths_that_cannot_be_a_database_are_named_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no-such-dir").join("p.db");
    let missing_dir = missing_dir.to_str().unwrap();
    let a_dir = dir.path().to_str().unwrap();
    let copy = dir.path().join("copy.db");
    for (db, expect) in [
        (missing_dir, "no-such-dir does not exist"),
        (a_dir, "is a directory, not a file"),
        ("/dev/null", "not a regular file"),
    ] {
        for args in every_opener(db, copy.to_str().unwrap()) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = pitwall(&args, dir.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(expect), "{args:?}: {stderr}");
            assert!(!stderr.contains("unable to open database file"), "{stderr}");
        }
    }
    assert!(!dir.path().join("no-such-dir").exists());
}

#[test]
fn the_console_without_a_terminal_fails_before_touching_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    std::fs::write(&db, b"").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["--db", db.to_str().unwrap()])
        .env("PITWALL_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        b"",
        "the schema and roster were loaded"
    );
}
