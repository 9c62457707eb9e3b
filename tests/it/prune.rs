//! Pruning history (`pitwall prune`, `[retention]`): finished sessions older than the cutoff go
//! with everything of theirs, live, waiting, scheduled and recent ones stay untouched, `check`
//! passes afterwards, an archive holds each removed session whole, a crash between the
//! archive's sync and the commit leaves both or neither, and the retention setting prunes
//! once a day. On SQLite, and on PostgreSQL with PITWALL_TEST_BACKEND=postgres.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;
use pitwall::archive::FileArchive;
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::engine::prune::{ArchiveSink, Retention, RetentionStep};
use pitwall::store::Sql;
use serde_json::{Value, json};

/// Old history and what must survive a prune of 30 days, made on the manual clock from
/// 2026-01-05: finished sessions then (completed with a waitlist entry, cancelled, declined
/// by one mechanic first), sessions still in play that were made then (waiting, matched, one
/// booked for later and released since), messages sent then; 40 days later a recent finished
/// session and a booking.
fn history(engine: &mut Engine) {
    roster(engine);
    ok(engine, intake("OLD-DONE", json!({})));
    ok(
        engine,
        json!({"cmd": "join_waitlist", "session": "OLD-DONE"}),
    );
    ok(
        engine,
        json!({"cmd": "decline", "session": "OLD-DONE", "mechanic": "t2"}),
    );
    ok(
        engine,
        json!({"cmd": "accept", "session": "OLD-DONE", "mechanic": "t1"}),
    );
    ok(engine, json!({"cmd": "complete", "session": "OLD-DONE"}));
    // Made through the HTTP API by an intake token, which owns it.
    let (token, _) = pitwall::tokens::create(
        engine.connection(),
        "intake",
        None,
        Some("booking form"),
        engine.now(),
    )
    .unwrap();
    engine
        .connection()
        .execute(
            pitwall::sql!("INSERT INTO api_session_owners (session_id, token_id) VALUES (?1, ?2)"),
            pitwall::params!["OLD-DONE", token],
        )
        .unwrap();
    ok(engine, intake("OLD-GONE", json!({})));
    ok(engine, json!({"cmd": "cancel", "session": "OLD-GONE"}));
    ok(engine, intake("OLD-MATCHED", json!({})));
    ok(
        engine,
        json!({"cmd": "accept", "session": "OLD-MATCHED", "mechanic": "t3"}),
    );
    ok(engine, intake("OLD-WAITING", json!({})));
    ok(
        engine,
        intake(
            "OLD-BOOKED",
            json!({"scheduled_for": "2026-01-18T15:00:00Z"}),
        ),
    );
    engine
        .connection()
        .execute_batch(pitwall::sql!(
            "UPDATE notifications SET status = 'sent', sent_at = created_at \
             WHERE status = 'pending'"
        ))
        .unwrap();
    ok(engine, json!({"cmd": "advance", "seconds": 40 * 86_400}));
    ok(engine, intake("NEW-DONE", json!({})));
    ok(
        engine,
        json!({"cmd": "accept", "session": "NEW-DONE", "mechanic": "t4"}),
    );
    ok(engine, json!({"cmd": "complete", "session": "NEW-DONE"}));
    ok(
        engine,
        intake(
            "NEW-BOOKED",
            json!({"scheduled_for": "2026-02-20T15:00:00Z"}),
        ),
    );
}

const GONE: [&str; 2] = ["OLD-DONE", "OLD-GONE"];
const KEPT: [&str; 5] = [
    "OLD-MATCHED",
    "OLD-WAITING",
    "OLD-BOOKED",
    "NEW-DONE",
    "NEW-BOOKED",
];

fn count(engine: &Engine, sql: Sql<'_>) -> i64 {
    engine
        .connection()
        .query_row(sql, pitwall::params![], |r| r.get(0))
        .unwrap()
}

/// Every row that belongs to `session`, as text.
fn rows_of(engine: &Engine, session: &str) -> String {
    let mut out = String::new();
    for sql in [
        pitwall::sql!("SELECT * FROM sessions WHERE id = ?1"),
        pitwall::sql!("SELECT * FROM intakes WHERE id = ?1"),
        pitwall::sql!(
            "SELECT a.*, d.* FROM session_assignments a JOIN assignment_details d \
         ON d.assignment_seq = a.seq WHERE a.session_id = ?1 ORDER BY a.seq"
        ),
        pitwall::sql!("SELECT * FROM events WHERE session_id = ?1 ORDER BY id"),
        pitwall::sql!("SELECT * FROM notifications WHERE session_id = ?1 ORDER BY id"),
        pitwall::sql!("SELECT * FROM customer_waitlist WHERE session_id = ?1 ORDER BY id"),
    ] {
        engine
            .connection()
            .prepare(sql)
            .unwrap()
            .for_each_row([session], |row| {
                for i in 0..row.column_count() {
                    out.push_str(&format!("{:?}|", row.get_ref(i)?));
                }
                out.push('\n');
                Ok(())
            })
            .unwrap();
    }
    out
}

fn belongs(engine: &Engine, session: &str) -> i64 {
    let n = |table: &str, column: &str| {
        engine
            .connection()
            .query_row(
                Sql::each(
                    &format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1"),
                    &format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"),
                ),
                [session],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
    };
    n("sessions", "id")
        + n("intakes", "id")
        + n("session_assignments", "session_id")
        + n("events", "session_id")
        + n("notifications", "session_id")
        + n("customer_waitlist", "session_id")
}

/// `check`'s verdict on the engine's database: integrity, foreign keys and every domain rule.
fn assert_clean(engine: &Engine) {
    let conn = engine.connection();
    assert_eq!(pitwall::store::check::integrity(conn).unwrap(), None);
    assert_eq!(
        pitwall::store::check::foreign_keys(conn).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(pitwall::store::check::invariants(conn).unwrap(), vec![]);
}

#[test]
fn prune_removes_finished_history_and_nothing_in_play_or_recent() {
    let mut engine = engine();
    history(&mut engine);
    let before: Vec<String> = KEPT.iter().map(|s| rows_of(&engine, s)).collect();
    let old_clock_ins = count(
        &engine,
        pitwall::sql!("SELECT COUNT(*) FROM events WHERE kind = 'mechanic_added'"),
    );
    assert!(old_clock_ins > 0);
    let report = engine.prune(30, None, &mut |_| {}).unwrap();
    assert_eq!(report.removed.sessions, 2, "{report:?}");
    for session in GONE {
        assert_eq!(belongs(&engine, session), 0, "{session} left rows behind");
    }
    let after: Vec<String> = KEPT.iter().map(|s| rows_of(&engine, s)).collect();
    assert_eq!(before, after, "a session in play or recent was touched");
    // Old audit rows of no session went; the prune's own record stays.
    assert_eq!(
        count(
            &engine,
            pitwall::sql!("SELECT COUNT(*) FROM events WHERE kind = 'mechanic_added'")
        ),
        0
    );
    assert_eq!(
        count(
            &engine,
            pitwall::sql!("SELECT COUNT(*) FROM events WHERE kind = 'history_pruned'")
        ),
        1
    );
    assert_eq!(
        count(
            &engine,
            pitwall::sql!("SELECT COUNT(*) FROM assignment_details")
        ),
        count(
            &engine,
            pitwall::sql!("SELECT COUNT(*) FROM session_assignments")
        )
    );
    assert_clean(&engine);
    // The report says from when it counts, and counts only what it may.
    let report = engine.report().unwrap();
    assert_eq!(
        report.pruned_before.as_deref(),
        Some("2026-01-15T14:00:00Z")
    );
    assert_eq!(report.counted_from, report.pruned_before);
    assert_eq!(
        report.sessions_total, 2,
        "only NEW-DONE and NEW-BOOKED were made since"
    );
    assert!(
        report.to_text().contains(
            "Counting sessions made from 2026-01-15T14:00:00Z (older history was pruned)"
        )
    );
    // The space given back (SQLite rewrites the file; PostgreSQL marks it reusable), the
    // database as it was.
    let kept = dump(&engine);
    let said = engine.vacuum().unwrap();
    assert!(said.starts_with("VACUUM"), "{said}");
    assert_eq!(dump(&engine), kept);
    // A second prune finds nothing more to remove, and the database is not "unused".
    let again = engine.prune(30, None, &mut |_| {}).unwrap();
    assert_eq!(again.removed.sessions, 0);
    assert!(!engine.seed_if_unused(pitwall::DEMO_ROSTER).unwrap());
}

#[test]
fn an_archive_holds_each_removed_session_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.jsonl");
    let mut engine = engine();
    history(&mut engine);
    let mut archive = FileArchive::new(&path).unwrap();
    let report = engine
        .prune(
            30,
            Some(&mut archive as &mut (dyn ArchiveSink + 'static)),
            &mut |_| {},
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(report.archived_bytes, text.len() as u64);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["session"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    for id in GONE {
        assert!(ids.contains(&id), "{id} not archived: {ids:?}");
    }
    let done = lines
        .iter()
        .find(|l| l["session"]["id"] == "OLD-DONE")
        .unwrap();
    assert_eq!(done["session"]["status"], "completed");
    assert_eq!(done["intake"]["customer_name"], "Ava Chen");
    let answers: Vec<(&str, &str)> = done["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["mechanic_id"].as_str().unwrap_or("-"),
                o["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(answers.contains(&("t1", "accepted")), "{answers:?}");
    assert!(answers.contains(&("t2", "declined")), "{answers:?}");
    let kinds: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["offer_declined", "offer_accepted", "session_completed"] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    assert!(!done["notifications"].as_array().unwrap().is_empty());
    assert_eq!(done["waitlist"].as_array().unwrap().len(), 1);
    // Recorded: the next prune appends after these lines.
    let recorded = count(
        &engine,
        Sql::plain(&format!(
            "SELECT CAST(value AS BIGINT) FROM settings WHERE key = '{}'",
            archive.key()
        )),
    );
    assert_eq!(recorded as usize, text.len());
    assert_clean(&engine);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut engine = engine();
    history(&mut engine);
    let before = dump(&engine);
    for days in [-1, pitwall::engine::prune::MAX_DAYS + 1] {
        let e = engine.prune(days, None, &mut |_| {}).unwrap_err();
        assert_eq!(e.code, pitwall::error::ErrorCode::InvalidInput);
        assert_eq!(e.field.as_deref(), Some("older_than"));
    }
    assert_eq!(dump(&engine), before);
    for text in ["abc", "-3", "1.5", "", "99999999999999999999"] {
        assert!(pitwall::prune::days(text).is_err(), "{text:?}");
    }
    // An archive cut short since it was last written: refused before anything is removed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let mut archive = FileArchive::new(&path).unwrap();
    std::fs::write(&path, "x".repeat(100)).unwrap();
    engine
        .start_prune(30, Some(&mut archive as &mut (dyn ArchiveSink + 'static)))
        .unwrap();
    std::fs::write(&path, "x".repeat(10)).unwrap();
    let before = dump(&engine);
    let e = engine
        .prune(
            30,
            Some(&mut archive as &mut (dyn ArchiveSink + 'static)),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(e.code, pitwall::error::ErrorCode::InvalidState, "{e:?}");
    assert_eq!(dump(&engine), before);
    assert!(FileArchive::new(dir.path()).is_err());
}

#[test]
fn retention_prunes_once_a_day() {
    let mut engine = engine();
    history(&mut engine);
    engine.set_retention(Some(Retention::new(30, None)));
    let pruned = |engine: &Engine| {
        count(
            engine,
            pitwall::sql!("SELECT COUNT(*) FROM events WHERE kind = 'history_pruned'"),
        )
    };
    let mut steps = 0;
    loop {
        steps += 1;
        match engine.retention_step().unwrap() {
            RetentionStep::Working(_) => continue,
            RetentionStep::Finished => break,
            RetentionStep::Idle => panic!("no prune started"),
        }
    }
    assert!(steps >= 2, "one step per call");
    assert_eq!(pruned(&engine), 1);
    for session in GONE {
        assert_eq!(belongs(&engine, session), 0);
    }
    // More old history, and the rest of the day passing: no second prune before a day is up.
    ok(&mut engine, intake("LATE", json!({})));
    ok(&mut engine, json!({"cmd": "cancel", "session": "LATE"}));
    for _ in 0..23 {
        ok(&mut engine, json!({"cmd": "advance", "seconds": 3_600}));
        for _ in 0..5 {
            assert_eq!(engine.retention_step().unwrap(), RetentionStep::Idle);
        }
    }
    assert_eq!(pruned(&engine), 1);
    // 40 days on, LATE is old too; a day after the first prune the next one starts.
    ok(
        &mut engine,
        json!({"cmd": "advance", "seconds": 40 * 86_400}),
    );
    assert!(matches!(
        engine.retention_step().unwrap(),
        RetentionStep::Working(_)
    ));
    while matches!(engine.retention_step().unwrap(), RetentionStep::Working(_)) {}
    // (The first prune's own record is old now, and went with the rest.)
    assert_eq!(pruned(&engine), 1);
    assert_eq!(
        engine.report().unwrap().pruned_before.as_deref(),
        Some("2026-02-25T13:00:00Z")
    );
    assert_eq!(belongs(&engine, "LATE"), 0);
    assert_eq!(engine.retention_step().unwrap(), RetentionStep::Idle);
    assert_clean(&engine);
}

#[test]
fn report_since_counts_only_that_period() {
    let mut engine = engine();
    history(&mut engine);
    let all = engine.report().unwrap();
    assert_eq!(all.sessions_total, 7);
    assert_eq!(all.counted_from, None);
    let since = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let recent = engine.report_since(Some(since)).unwrap();
    assert_eq!(recent.sessions_total, 2);
    assert_eq!(recent.accepts_total, 1);
    assert_eq!(recent.counted_from.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert!(
        recent
            .to_text()
            .contains("Counting sessions made from 2026-02-01T00:00:00Z\n")
    );
}

/// The binary's prune on a database whose history the manual clock made 40 days and more ago.
fn old_database(dir: &Path) -> String {
    let db = database_in(dir, "crash.db");
    let start = chrono::Utc::now() - chrono::Duration::days(80);
    let mut engine = Engine::open(Some(Path::new(&db)), Clock::Manual(start)).unwrap();
    roster(&mut engine);
    for i in 0..120 {
        let id = format!("C{i:03}");
        ok(&mut engine, intake(&id, json!({})));
        ok(
            &mut engine,
            json!({"cmd": "accept", "session": id, "mechanic": "t1"}),
        );
        ok(&mut engine, json!({"cmd": "complete", "session": id}));
    }
    ok(&mut engine, intake("LIVE", json!({})));
    db
}

fn prune_cli(db: &str, archive: &Path, failpoint: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitwall"));
    cmd.args([
        "prune",
        "--older-than",
        "30",
        "--json",
        "--db",
        db,
        "--archive",
    ])
    .arg(archive);
    if let Some(point) = failpoint {
        cmd.env("PITWALL_FAILPOINT", point);
    }
    cmd.output().unwrap()
}

fn sessions_left(db: &str) -> i64 {
    let engine = Engine::open(Some(Path::new(db)), Clock::System).unwrap();
    count(&engine, pitwall::sql!("SELECT COUNT(*) FROM sessions"))
}

fn archived_ids(archive: &Path) -> Vec<String> {
    std::fs::read_to_string(archive)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("every line whole JSON");
            v["session"]["id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Killed (as by `kill -9`) after the archive's sync and before the commit, at the first batch
/// and, in another run, at the second: afterwards the database and the archive agree (what the
/// database still holds is not counted as archived, what it lost is in the archive once), the
/// next prune finishes the work, and `check` passes.
#[test]
fn a_crash_between_the_archive_and_the_commit_leaves_both_or_neither() {
    use std::os::unix::process::ExitStatusExt;
    for point in ["prune-archive-synced", "prune-archive-synced@2"] {
        let dir = tempfile::tempdir().unwrap();
        let db = old_database(dir.path());
        let archive = dir.path().join("archive.jsonl");
        let crashed = prune_cli(&db, &archive, Some(point));
        assert_eq!(
            crashed.status.signal(),
            Some(libc::SIGKILL),
            "{point}: {}",
            String::from_utf8_lossy(&crashed.stderr)
        );
        // The archive may hold lines of the batch whose deletion never committed; those
        // sessions are still in the database, and the rest of the archive's sessions are not.
        let left = sessions_left(&db);
        let lines = archived_ids(&archive);
        assert!(left < 121 || point == "prune-archive-synced", "{point}");
        assert!(lines.len() as i64 >= 121 - left, "{point}");
        assert_checks(&db);
        let finished = prune_cli(&db, &archive, None);
        assert!(
            finished.status.success(),
            "{}",
            String::from_utf8_lossy(&finished.stderr)
        );
        let mut ids = archived_ids(&archive);
        assert_eq!(sessions_left(&db), 1, "only LIVE stays");
        ids.sort();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "{point}: a session archived twice");
        assert_eq!(ids.len(), 120, "{point}");
        assert_checks(&db);
    }
}

fn assert_checks(db: &str) {
    let check = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["check", "--db", db])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// `[retention] days = 30` in serve's config: the finished history older than that goes by
/// itself within a few seconds of the start, in steps between requests; live sessions stay.
#[test]
fn serve_applies_the_retention_setting() {
    if pg::backend().is_some() {
        // The same engine code runs on PostgreSQL (retention_prunes_once_a_day); serve's loop
        // is the same for both.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = old_database(dir.path());
    let path = Path::new(&db);
    let mut server = common::server::Server::start(
        path,
        &format!("{}\n[retention]\ndays = 30\n", common::server::ROOMY),
    );
    let started = std::time::Instant::now();
    loop {
        let left = {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        // The last step logs its summary just after its commit: wait for both, or a stop
        // between the two would lose the line.
        let log = server.log_text();
        if left == 1 && log.contains("retention: pruned") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{left} sessions left; log: {log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(server.stop().unwrap().success());
    assert!(server.log_text().contains("retention: pruned"));
    assert_checks(&db);
}

#[test]
fn a_bad_retention_setting_is_refused_by_name() {
    use pitwall::delivery::Config;
    for (text, key) in [
        ("[retention]\ndays = 0\n", "retention.days"),
        ("[retention]\ndays = 99999\n", "retention.days"),
        ("[retention]\narchive = \"a.jsonl\"\n", "retention.archive"),
        ("[retention]\ndays = \"ninety\"\n", "retention.days"),
        ("[retention]\nweeks = 3\n", "retention"),
    ] {
        let (found, _) = Config::parse(text).unwrap_err();
        assert!(found.starts_with(key), "{text:?}: {found}");
    }
    let ok = Config::parse("[retention]\ndays = 90\narchive = \"/tmp/a.jsonl\"\n").unwrap();
    assert_eq!(ok.retention.days, Some(90));
}

/// The command line: a bad `--older-than` or `--since` is a coded error on stderr, exit 2, and
/// the database untouched; a prune's summary names what it removed.
#[test]
fn the_command_line_refuses_bad_input_and_says_what_it_did() {
    if pg::backend().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = old_database(dir.path());
    let before = std::fs::read(&db).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(args)
            .args(["--db", &db])
            .output()
            .unwrap()
    };
    for args in [
        &["prune", "--older-than", "abc"][..],
        &["prune", "--older-than", "-1"],
        &["report", "--since", "yesterday"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("invalid_input"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let out = run(&["prune", "--older-than", "30"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("removed 120 sessions that finished before "),
        "{text}"
    );
    let report = run(&["report"]);
    assert!(
        String::from_utf8_lossy(&report.stdout).contains("(older history was pruned)"),
        "{}",
        String::from_utf8_lossy(&report.stdout)
    );
}
