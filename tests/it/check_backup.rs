//! `pitwall check` finds broken invariants (on either backend: the invariant tests run on
//! PostgreSQL too when the suite does); `pitwall backup` copies a live database; schema
//! versions from the future are refused and an empty file is migrated.

use crate::common;

use std::process::Command;

use common::*;
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

fn pitwall(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .output()
        .unwrap()
}

fn file_engine(path: &std::path::Path) -> Engine {
    Engine::open(Some(path), Clock::manual_default()).unwrap()
}

#[test]
fn check_passes_on_a_busy_database_and_names_each_violation() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(database_in(dir.path(), "p.db"));
    let db_arg = db.to_str().unwrap();
    {
        let mut e = file_engine(&db);
        roster(&mut e);
        ok(&mut e, intake("S1", json!({})));
        ok(
            &mut e,
            json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
        );
        ok(&mut e, intake("S2", json!({})));
        ok(
            &mut e,
            json!({"cmd": "join_waitlist", "id": "W1", "session": "S2"}),
        );
        ok(&mut e, json!({"cmd": "clock_in", "mechanic": "off"}));
        ok(&mut e, json!({"cmd": "advance", "seconds": 200}));
        ok(&mut e, intake("S3", json!({"waiver_signed": false})));
    }
    let out = pitwall(&["check", "--db", db_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("All checks passed."));

    // Break five invariants behind the engine's back (one edit breaks a sixth).
    let conn = pitwall::store::open(Some(&db)).unwrap();
    let seq = |id: &str| format!("(SELECT seq FROM session_assignments WHERE id = '{id}')");
    conn.execute_batch(pitwall::store::Sql::plain(&format!(
        "UPDATE sessions SET matched_mechanic_id = 't2' WHERE id = 'S1';
         DELETE FROM assignment_details WHERE assignment_seq = {b};
         DELETE FROM session_assignments WHERE id = 'S2.b';
         DELETE FROM assignment_details WHERE assignment_seq = {t};
         UPDATE session_assignments SET active_from = 0 WHERE id = 'S3.b';
         UPDATE mechanics SET is_available = 1 - is_available WHERE id = 't3';",
        b = seq("S2.b"),
        t = seq("S1.t1"),
    )))
    .unwrap();
    drop(conn);
    let out = pitwall(&["check", "--db", db_arg]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✗ every session has exactly one broadcast: S2"),
        "{text}"
    );
    assert!(text.contains("✗ a matched or completed session has exactly one accepted assignment, by its mechanic: S1"), "{text}");
    assert!(
        text.contains("✗ is_available mirrors currently_on_shift: t3"),
        "{text}"
    );
    assert!(
        text.contains("✗ every assignment has its details: S1.t1"),
        "{text}"
    );
    assert!(
        text.contains(
            "✗ a held broadcast has an opening time only once its session is released: S3.b"
        ),
        "{text}"
    );
    // S1 now names t2 as its mechanic: that fills his one place while he holds S3.t2.
    assert!(
        text.contains("✗ no live or held targeted offer for a busy mechanic: S3.t2"),
        "{text}"
    );
    let json_out = pitwall(&["check", "--db", db_arg, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["violations"].as_array().unwrap().len(), 6);
}

/// An offer the tick expired records neither when nor why it closed (its deadline and `timeout`
/// are implied); one that records only one of the two, or has no deadline to close at, is named.
#[test]
fn check_names_a_timed_out_offer_that_records_half_of_its_closing() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(database_in(dir.path(), "timeouts.db"));
    let db_arg = db.to_str().unwrap();
    {
        let mut e = file_engine(&db);
        roster(&mut e);
        ok(&mut e, intake("S1", json!({})));
        let tick = ok(&mut e, json!({"cmd": "advance", "seconds": 120}));
        assert_eq!(
            tick["expired"],
            json!(["S1.t1", "S1.t2", "S1.t3"]),
            "{tick}"
        );
    }
    let out = pitwall(&["check", "--db", db_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let conn = pitwall::store::open(Some(&db)).unwrap();
    conn.execute_batch(pitwall::store::Sql::plain(
        "UPDATE session_assignments SET closed_at = expires_at WHERE id = 'S1.t1';
         UPDATE session_assignments SET closed_reason = 'timeout' WHERE id = 'S1.t2';
         UPDATE session_assignments SET expires_at = NULL WHERE id = 'S1.t3';",
    ))
    .unwrap();
    drop(conn);
    let out = pitwall(&["check", "--db", db_arg]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "✗ an expired, declined or cancelled assignment records when and why it closed, \
             unless it timed out at its deadline: S1.t1, S1.t2, S1.t3"
        ),
        "{text}"
    );
}

#[test]
fn check_on_a_missing_file_cannot_start() {
    let out = pitwall(&["check", "--db", "/nonexistent/p.db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the directory /nonexistent does not exist")
    );
}

#[test]
fn a_database_from_a_newer_pitwall_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("future.db");
    drop(file_engine(&db));
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Engine::open(Some(&db), Clock::manual_default())
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("newer pitwall (schema version 99"),
        "{err}"
    );
    let out = pitwall(&[
        "headless",
        "--clock",
        "manual",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("upgrade pitwall"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99, "left as it was");
}

#[test]
fn an_old_empty_file_is_migrated_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0")
        .unwrap();
    let mut e = file_engine(&db);
    ok(&mut e, mechanic("m", true, json!({})));
    let v: i64 = e
        .connection()
        .sqlite()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, pitwall::store::SCHEMA_VERSION);
}

#[test]
fn backup_copies_a_database_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let script = dir.path().join("load.jsonl");
    let mut lines = vec![r#"{"cmd":"load_seeds","path":"seeds/mechanics.json"}"#.to_string()];
    for i in 0..3000 {
        lines.push(format!(
            r#"{{"cmd":"intake","id":"L{i}","customer":{{"name":"C","email":"c@example.com"}},"location":{{"country":"Canada","postal_code":"M5V 3L9"}},"concern":"brakes","payment_method":"free"}}"#
        ));
    }
    std::fs::write(&script, lines.join("\n")).unwrap();
    let mut writer = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args([
            "headless",
            "--clock",
            "manual",
            "--db",
            db.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let copy = dir.path().join("copy.db");
    let out = pitwall(&[
        "backup",
        copy.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.wait().unwrap();
    let check = pitwall(&["check", "--db", copy.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM mechanics", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 44);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwrites.
    let again = pitwall(&[
        "backup",
        copy.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn a_negative_schema_version_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("odd.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = -1")
        .unwrap();
    let out = pitwall(&[
        "headless",
        "--clock",
        "manual",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no pitwall ever wrote"));
}

#[test]
fn report_prints_the_metrics_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    {
        let mut e = file_engine(&db);
        roster(&mut e);
        ok(
            &mut e,
            intake(
                "S1",
                json!({"customer": {"name": "\u{1b}[2JEvil", "email": "e@example.com"}}),
            ),
        );
        ok(
            &mut e,
            json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
        );
    }
    let text = pitwall(&["report", "--db", db.to_str().unwrap()]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Sessions                         1"),
        "{text}"
    );
    assert!(
        text.contains("through targeted offers        100.0 %  ✓ goal met (goal ≥ 80 %)"),
        "{text}"
    );
    // Every judged figure names its goal, even before there is anything to judge.
    assert!(
        text.contains("(goal: targeted 2× faster)") && text.contains("(goal > 100)"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no control characters reach the terminal"
    );
    let json_out = pitwall(&["report", "--db", db.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["sessions_total"], 1);
    assert_eq!(v["accepts_total"], 1);
    assert_eq!(v["avg_accepted_targeted_score"], 209.0);
    let missing = pitwall(&["report", "--db", "/nonexistent/r.db"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// The invariants of the dispatch rules (SPEC §5, §6): each broken behind the engine's back is
/// named, with the rows at fault.
#[test]
fn check_names_broken_dispatch_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(database_in(dir.path(), "rules.db"));
    let db_arg = db.to_str().unwrap();
    {
        let mut e = file_engine(&db);
        roster(&mut e);
        ok(
            &mut e,
            json!({"cmd": "add_mechanic", "id": "volvo", "name": "Volvo Vic",
                "profile_completion_score": 90, "is_brand_specialist": true,
                "brand_specializations": ["Volvo"]}),
        );
        ok(&mut e, intake("S1", json!({})));
        ok(
            &mut e,
            json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
        );
        ok(&mut e, intake("S2", json!({})));
        ok(
            &mut e,
            intake(
                "V1",
                json!({"request_type": "brand_specialist", "brands": ["Volvo"]}),
            ),
        );
        ok(
            &mut e,
            json!({"cmd": "join_waitlist", "id": "W1", "session": "V1"}),
        );
        ok(&mut e, json!({"cmd": "clock_in", "mechanic": "volvo"}));
        ok(
            &mut e,
            json!({"cmd": "set_setting", "name": "escalate_after_seconds", "value": 60}),
        );
        ok(&mut e, json!({"cmd": "advance", "seconds": 61}));
    }
    let out = pitwall(&["check", "--db", db_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let conn = pitwall::store::open(Some(&db)).unwrap();
    conn.execute_batch(
        // t2 (capacity 1) matched to two sessions, still holding a live offer (S2.t1); the
        // Volvo entry woken by t3, who is no Volvo specialist; V1 escalated before its release.
        pitwall::sql!(
            "UPDATE sessions SET status = 'matched', matched_mechanic_id = 't2', matched_at = 0
           WHERE id IN ('S1', 'S2');
         UPDATE session_assignments SET mechanic_id = 't2' WHERE id = 'S1.t1';
         UPDATE session_assignments SET status = 'offered', expires_at = 1 WHERE id = 'S2.t3';
         UPDATE customer_waitlist SET notified_mechanic_id = 't3' WHERE id = 'W1';
         UPDATE sessions SET escalated_at = released_at - 1 WHERE id = 'V1';"
        ),
    )
    .unwrap();
    drop(conn);
    let out = pitwall(&["check", "--db", db_arg, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let broken = |rule: &str| -> Vec<String> {
        v["violations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["rule"] == rule)
            .map(|x| {
                x["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        broken("no mechanic is matched to more sessions than his capacity"),
        ["t2"]
    );
    assert!(
        broken("no live or held targeted offer for a busy mechanic").contains(&"S2.t1".to_string()),
        "{v}"
    );
    assert_eq!(
        broken("a notified entry's mechanic could take its session"),
        ["W1"]
    );
    assert_eq!(
        broken("only a released session is escalated, after its release"),
        ["V1"]
    );
}

/// The invariants of scheduling (SPEC §14), each broken behind the engine's back: an offer on a
/// booking not released yet, and a booking left scheduled past its time.
#[test]
fn check_names_broken_scheduling_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::PathBuf::from(database_in(dir.path(), "sched.db"));
    let db_arg = db.to_str().unwrap();
    {
        let mut e = file_engine(&db);
        roster(&mut e);
        ok(
            &mut e,
            intake("B1", json!({"scheduled_for": "2026-01-05T16:00:00Z"})),
        );
        ok(
            &mut e,
            intake("B2", json!({"scheduled_for": "2026-01-05T17:00:00Z"})),
        );
        ok(&mut e, intake("S1", json!({})));
    }
    let out = pitwall(&["check", "--db", db_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let conn = pitwall::store::open(Some(&db)).unwrap();
    conn.execute_batch(pitwall::sql!(
        "UPDATE session_assignments SET session_id = 'B1' WHERE id = 'S1.t1';
         UPDATE events SET at = (SELECT scheduled_for FROM sessions WHERE id = 'B2') + 1
             WHERE id = (SELECT MAX(id) FROM events);"
    ))
    .unwrap();
    drop(conn);
    let out = pitwall(&["check", "--db", db_arg]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✗ a scheduled session has no offers: S1.t1"),
        "{text}"
    );
    assert!(
        text.contains("✗ no session stays scheduled past its time: B1, B2"),
        "{text}"
    );
}

/// The library's backup, called on a PostgreSQL URL, refuses with a code and the server's own
/// tool named (it once panicked on `sqlite().expect`); no connection is tried, no file made.
#[test]
fn backup_of_a_postgres_url_is_a_coded_refusal_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy.db");
    let url = std::path::Path::new("postgres://ann:secret@db.invalid:5432/pitwall");
    let refused = pitwall::admin::backup(url, &dest).unwrap_err();
    assert_eq!(refused.code, pitwall::error::ErrorCode::InvalidInput);
    assert_eq!(refused.field.as_deref(), Some("db"));
    assert!(refused.message.contains("pg_dump"), "{}", refused.message);
    assert!(!refused.message.contains("secret"), "{}", refused.message);
    assert!(!dest.exists());
}
