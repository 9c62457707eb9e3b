//! Upgrades: a file written by an older pitwall opens in this one with every row intact, and ends
//! up with exactly the schema a new file gets from schema.sql.

use crate::common;

use common::{intake, ok, roster};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::store::SCHEMA_VERSION;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::Path;

/// Version 1's schema.sql, as the first release shipped it.
const SCHEMA_V1: &str = include_str!("../fixtures/schema_v1.sql");
/// Version 2's schema.sql, as released.
const SCHEMA_V2: &str = include_str!("../fixtures/schema_v2.sql");
/// Version 3's schema.sql, as released.
const SCHEMA_V3: &str = include_str!("../fixtures/schema_v3.sql");
/// Version 4's schema.sql, as released.
const SCHEMA_V4: &str = include_str!("../fixtures/schema_v4.sql");
/// Version 5's schema.sql, as released.
const SCHEMA_V5: &str = include_str!("../fixtures/schema_v5.sql");
/// The current version's schema.sql, frozen: files in the field have exactly this.
const SCHEMA_V6: &str = include_str!("../fixtures/schema_v6.sql");
/// Version 7 as released: offer messages name their offer; `skipped` rows.
const SCHEMA_V7: &str = include_str!("../fixtures/schema_v7.sql");
/// Version 8: which intake token created which session.
const SCHEMA_V8: &str = include_str!("../fixtures/schema_v8.sql");
/// Version 9 as released: a session's events and messages found by their session.
const SCHEMA_V9: &str = include_str!("../fixtures/schema_v9.sql");
/// Version 10 as released: the links that open pitwall's pages.
const SCHEMA_V10: &str = include_str!("../fixtures/schema_v10.sql");
/// Version 11: an assignment's status CHECK in pairs.
const SCHEMA_V11: &str = include_str!("../fixtures/schema_v11.sql");
/// Version 12: every long CHECK list on the busy tables in pairs.
const SCHEMA_V12: &str = include_str!("../fixtures/schema_v12.sql");
/// Version 13: an assignment's status CHECK one comparison per word.
const SCHEMA_V13: &str = include_str!("../fixtures/schema_v13.sql");
/// Version 14: an offer the tick expires keeps `closed_at` and `closed_reason` NULL (implied).
const SCHEMA_V14: &str = include_str!("../fixtures/schema_v14.sql");

/// An empty file as the first release created it.
fn empty_version_1(path: &Path) {
    let v1 = Connection::open(path).unwrap();
    v1.execute_batch(SCHEMA_V1).unwrap();
    v1.pragma_update(None, "user_version", 1).unwrap();
}

/// An empty file as version 2 created it.
fn empty_version_2(path: &Path) {
    let v2 = Connection::open(path).unwrap();
    v2.execute_batch(SCHEMA_V2).unwrap();
    v2.pragma_update(None, "user_version", 2).unwrap();
}

/// An empty file as version 3 created it.
fn empty_version_3(path: &Path) {
    let v3 = Connection::open(path).unwrap();
    v3.execute_batch(SCHEMA_V3).unwrap();
    v3.pragma_update(None, "user_version", 3).unwrap();
}

/// An empty file as version 4 created it.
fn empty_version_4(path: &Path) {
    let v4 = Connection::open(path).unwrap();
    v4.execute_batch(SCHEMA_V4).unwrap();
    v4.pragma_update(None, "user_version", 4).unwrap();
}

/// `pitwall check` on a file, run as a user would.
fn check(path: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["check", "--db", path.to_str().unwrap()])
        .output()
        .unwrap()
}

fn open(path: &Path) -> Engine {
    Engine::open(Some(path), Clock::manual_default()).expect("open")
}

/// Every schema object as (type, name, SQL with comments and spacing taken out).
fn schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT type, name, COALESCE(sql, '') FROM sqlite_schema \
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
        .unwrap()
        .map(|row| {
            let (kind, name, sql) = row.unwrap();
            let code: Vec<&str> = sql
                .lines()
                .map(|line| line.split("--").next().unwrap_or(""))
                .collect();
            // Spacing around punctuation is not schema: `ALTER TABLE … ADD COLUMN` writes
            // `x INTEGER , y INTEGER)` where schema.sql says `x INTEGER,\n y INTEGER\n)`.
            let sql = code
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace(" ,", ",")
                .replace(" )", ")")
                .replace("( ", "(")
                // A renamed table's SQL names it in quotes (`ALTER TABLE … RENAME TO`).
                .replace('"', "");
            (kind, name, sql)
        })
        .collect()
}

/// A database with some of everything: matched, waiting, expired, broadcast and waitlisted.
fn busy(engine: &mut Engine) {
    roster(engine);
    ok(engine, intake("S1", json!({})));
    ok(
        engine,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    ok(engine, intake("S2", json!({})));
    ok(
        engine,
        json!({"cmd": "decline", "session": "S2", "mechanic": "t2"}),
    );
    ok(engine, json!({"cmd": "advance", "seconds": 200}));
    ok(engine, intake("S3", json!({"urgent": true})));
    ok(
        engine,
        json!({"cmd": "join_waitlist", "id": "W1", "session": "S3"}),
    );
    ok(engine, json!({"cmd": "clock_in", "mechanic": "off"}));
    ok(
        engine,
        json!({"cmd": "accept", "session": "S2", "mechanic": "t4"}),
    );
}

/// Writes `engine`'s data into a new version-1 file at `path`, as the first release stored it:
/// match_reasons and metadata (with match_type) on the assignment row.
fn as_version_1(engine: &Engine, path: &Path) {
    empty_version_1(path);
    let conn = engine.connection().sqlite().unwrap();
    conn.execute("ATTACH DATABASE ?1 AS v1", [path.to_str().unwrap()])
        .unwrap();
    conn.execute_batch(
        "BEGIN;
         DELETE FROM v1.settings;
         INSERT INTO v1.mechanics SELECT id, name, email, phone, city, state_province, country,
             postal_code, years_experience, rating, completed_sessions, profile_completion_score,
             account_status, currently_on_shift, is_available, last_clock_in, certification_type,
             certification_number, certification_authority, certification_region,
             certification_expiry, red_seal_certified, red_seal_number, red_seal_province,
             is_brand_specialist, brand_specializations, service_keywords, created_at, updated_at
           FROM main.mechanics;
         INSERT INTO v1.intakes SELECT * FROM main.intakes;
         INSERT INTO v1.sessions SELECT id, intake_id, status, payment_method, urgent,
             request_type, requested_brands, preferred_mechanic_id, waiver_signed,
             payment_confirmed, matched_mechanic_id, metadata, created_at, released_at,
             matched_at, completed_at, cancelled_at
           FROM main.sessions;
         INSERT INTO v1.session_assignments (rowid, id, session_id, mechanic_id, status, priority,
             match_score, match_reasons, offered_at, expires_at, active_from, accepted_at,
             closed_at, closed_reason, metadata, created_at)
           SELECT a.seq, f.id, f.session_id, f.mechanic_id, f.status, f.priority, f.match_score,
                  f.match_reasons, f.offered_at, f.expires_at, f.active_from, f.accepted_at,
                  f.closed_at, f.closed_reason, f.metadata, f.created_at
           FROM main.session_assignments_full f
           JOIN main.session_assignments a ON a.id = f.id ORDER BY a.seq;
         INSERT INTO v1.customer_waitlist SELECT * FROM main.customer_waitlist;
         INSERT INTO v1.notifications (waitlist_id, channel, recipient, message, created_at)
           SELECT waitlist_id, channel, recipient, body, created_at FROM main.notifications
           WHERE kind = 'waitlist_online' ORDER BY rowid;
         INSERT INTO v1.settings SELECT * FROM main.settings
           WHERE key NOT IN ('escalate_after_seconds', 'waitlist_rule_since');
         INSERT INTO v1.events SELECT * FROM main.events;
         INSERT OR REPLACE INTO v1.roster_generation SELECT * FROM main.roster_generation;
         COMMIT;
         DETACH DATABASE v1;",
    )
    .unwrap();
}

fn sessions(engine: &mut Engine, ids: &[&str]) -> Vec<Value> {
    ids.iter()
        .map(|id| ok(engine, json!({"cmd": "session", "id": id})))
        .collect()
}

#[test]
fn a_new_file_is_at_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir.path().join("new.db"));
    let version: i64 = engine
        .connection()
        .sqlite()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 14);
}

/// Changing schema.sql without a new version would leave files already at this version with a
/// different schema than new ones, and no upgrade would ever fix them. A schema change bumps the
/// version: schema.sql changes, `migrations/` gains the step, and this test moves to a new
/// frozen copy.
#[test]
fn the_schema_of_a_released_version_never_changes() {
    assert_eq!(
        SCHEMA_VERSION, 14,
        "a new schema version: freeze it as tests/fixtures/schema_vN.sql and compare with that"
    );
    let frozen = Connection::open_in_memory().unwrap();
    frozen.execute_batch(SCHEMA_V14).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(fresh.connection().sqlite().unwrap()),
        schema(&frozen),
        "schema.sql differs from version {SCHEMA_VERSION} as released: add an upgrade step instead"
    );
}

#[test]
fn a_version_1_file_upgrades_to_the_schema_a_new_file_gets() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v1.db");
    empty_version_1(&old);

    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
}

#[test]
fn a_version_2_file_upgrades_to_the_schema_a_new_file_gets() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v2.db");
    empty_version_2(&old);

    let mut upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    // The new setting is there with its default, and the rules work on the upgraded file.
    let setting: String = upgraded
        .connection()
        .sqlite()
        .unwrap()
        .query_row(
            "SELECT value FROM settings WHERE key = 'escalate_after_seconds'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(setting, "600");
    roster(&mut upgraded);
    ok(&mut upgraded, intake("S1", json!({})));
    ok(
        &mut upgraded,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    let t = ok(&mut upgraded, json!({"cmd": "advance", "seconds": 600}));
    assert_eq!(t["escalated"], json!([]));
}

/// A version-2 file in use when the dispatch rules arrive: a mechanic holding two sessions (no
/// limit then) with a live offer besides, and a Volvo customer's entry woken by a suspended
/// mechanic (any clock-in woke every entry). After the upgrade `check` passes: he keeps room for
/// what he holds, his offer is withdrawn as busy, and the old entry is judged by the old rule.
#[test]
fn a_version_2_file_in_use_upgrades_to_one_that_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v2-in-use.db");
    empty_version_2(&old);
    let v2 = Connection::open(&old).unwrap();
    v2.execute_batch(
        "INSERT INTO mechanics (id, name, account_status, profile_completion_score,
             currently_on_shift, is_available, created_at, updated_at)
           VALUES ('m1', 'Two Jobs', 'approved', 90, 1, 1, 0, 0),
                  ('m2', 'Suspended', 'suspended', 90, 1, 1, 0, 0);
         INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
             concern, created_at)
           VALUES ('S1', 'A', 'Canada', 'M5V 3L9', 'x', 0), ('S2', 'B', 'Canada', 'M5V 3L9', 'x', 0),
                  ('S3', 'C', 'Canada', 'M5V 3L9', 'x', 0), ('S4', 'D', 'Canada', 'M5V 3L9', 'x', 0);
         INSERT INTO sessions (id, intake_id, status, payment_method, request_type,
             requested_brands, matched_mechanic_id, created_at, released_at, matched_at)
           VALUES ('S1', 'S1', 'matched', 'free', 'general', '[]', 'm1', 0, 0, 1),
                  ('S2', 'S2', 'matched', 'free', 'general', '[]', 'm1', 0, 0, 1),
                  ('S3', 'S3', 'waiting', 'free', 'general', '[]', NULL, 0, 0, NULL),
                  ('S4', 'S4', 'waiting', 'free', 'brand_specialist', '[\"Volvo\"]', NULL, 0, 0, NULL);
         INSERT INTO session_assignments (seq, id, session_id, mechanic_id, match_type, status,
             priority, offered_at, expires_at, accepted_at, active_from, created_at)
           VALUES (1, 'S1.b', 'S1', 'm1', 'broadcast', 'accepted', 'normal', 0, NULL, 1, 0, 0),
                  (2, 'S2.b', 'S2', 'm1', 'broadcast', 'accepted', 'normal', 0, NULL, 1, 0, 0),
                  (3, 'S3.t1', 'S3', 'm1', 'targeted', 'offered', 'high', 0, 4102444800000, NULL, NULL, 0),
                  (4, 'S3.b', 'S3', NULL, 'broadcast', 'queued', 'normal', NULL, NULL, NULL, 120000, 0),
                  (5, 'S4.b', 'S4', NULL, 'broadcast', 'offered', 'normal', 0, NULL, NULL, 0, 0);
         INSERT INTO assignment_details (assignment_seq) VALUES (1), (2), (3), (4), (5);
         INSERT INTO customer_waitlist (id, session_id, customer_name, customer_email, status,
             created_at, expires_at, notified_at, notified_mechanic_id)
           VALUES ('W1', 'S4', 'D', 'd@example.com', 'notified', 0, 86400000, 5, 'm2');",
    )
    .unwrap();
    drop(v2);

    let upgraded = open(&old);
    let conn = upgraded.connection().sqlite().unwrap();
    let capacity: i64 = conn
        .query_row(
            "SELECT max_active_sessions FROM mechanics WHERE id = 'm1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(capacity, 2);
    let (status, reason): (String, String) = conn
        .query_row(
            "SELECT status, closed_reason FROM session_assignments WHERE id = 'S3.t1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("expired", "busy"));
    drop(upgraded);
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn a_version_1_file_keeps_every_row_and_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current.db");
    let old = dir.path().join("v1.db");
    let ids = ["S1", "S2", "S3"];

    let mut engine = open(&current);
    busy(&mut engine);
    as_version_1(&engine, &old);
    // Version 1 kept no unanswered-offer streaks: an upgraded file starts with none.
    engine
        .connection()
        .sqlite()
        .unwrap()
        .execute("DELETE FROM unanswered_offers", [])
        .unwrap();
    // Before version 4 only waitlist messages were written, and never sent: the upgrade
    // carries them as dead, with the reason, their ids 'v3-<old id>'.
    engine
        .connection()
        .sqlite()
        .unwrap()
        .execute_batch(
            "DELETE FROM notifications WHERE kind <> 'waitlist_online';
             CREATE TEMP TABLE renumbered AS
               SELECT id AS old, 'v3-' || ROW_NUMBER() OVER (ORDER BY rowid) AS new
               FROM notifications;
             UPDATE notifications SET
               id = (SELECT new FROM renumbered WHERE old = notifications.id),
               status = 'dead', attempts = 0, next_attempt_at = created_at, sent_at = NULL,
               last_error = 'not sent: written before pitwall delivered notifications \
(upgrade to schema 4)';
             DROP TABLE renumbered;",
        )
        .unwrap();
    // Before version 14 a timed-out offer's row held its deadline and `timeout` (a new file
    // leaves both NULL and implies them): the upgrade keeps what the row held.
    engine
        .connection()
        .sqlite()
        .unwrap()
        .execute(
            "UPDATE session_assignments SET closed_at = expires_at, closed_reason = 'timeout' \
             WHERE status = 'expired' AND closed_reason IS NULL",
            [],
        )
        .unwrap();
    let expected = sessions(&mut engine, &ids);
    let expected_rows = common::dump(&engine);
    drop(engine);

    let mut upgraded = open(&old);
    // The upgrade to version 3 records its own time there (a new file holds 0).
    upgraded
        .connection()
        .sqlite()
        .unwrap()
        .execute(
            "UPDATE settings SET value = '0' WHERE key = 'waitlist_rule_since'",
            [],
        )
        .unwrap();
    assert_eq!(sessions(&mut upgraded, &ids), expected);
    // Row for row, seq and all: the upgrade kept the order assignments were made in.
    assert_eq!(common::dump(&upgraded), expected_rows);
    // And the engine goes on working on it (t1 finishes S1 first: one session at a time).
    ok(&mut upgraded, json!({"cmd": "complete", "session": "S1"}));
    ok(&mut upgraded, intake("S4", json!({})));
    ok(
        &mut upgraded,
        json!({"cmd": "accept", "session": "S4", "mechanic": "t1"}),
    );

    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn check_names_an_older_file_instead_of_failing_on_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v1.db");
    empty_version_1(&old);
    let check = check(&old);
    assert_eq!(check.status.code(), Some(2));
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains(&format!(
            "schema version 1, older than this pitwall's {SCHEMA_VERSION}"
        )),
        "{said}"
    );
    // Checking wrote nothing: the file is still at version 1.
    let version: i64 = Connection::open(&old)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}

#[test]
fn a_version_1_row_the_upgrade_cannot_carry_is_named_and_the_file_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v1.db");
    let mut engine = open(&dir.path().join("current.db"));
    busy(&mut engine);
    as_version_1(&engine, &old);
    drop(engine);
    // A hand edit: S2.t1's metadata loses its match_type (v1 derived the column from it).
    let v1 = Connection::open(&old).unwrap();
    v1.execute(
        "UPDATE session_assignments SET metadata = '{\"reason\":\"top_match\"}' WHERE id = 'S2.t1'",
        [],
    )
    .unwrap();
    let before = v1
        .query_row("SELECT COUNT(*) FROM session_assignments", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    drop(v1);

    let err = Engine::open(Some(&old), Clock::manual_default())
        .err()
        .expect("refused");
    let said = err.to_string();
    assert!(said.contains("cannot upgrade"), "{said}");
    assert!(said.contains("S2.t1"), "{said}");

    let v1 = Connection::open(&old).unwrap();
    let version: i64 = v1
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
    let after: i64 = v1
        .query_row("SELECT COUNT(*) FROM session_assignments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, before);
}

#[test]
fn a_version_3_file_upgrades_to_the_schema_a_new_file_gets_and_keeps_its_messages_unsent() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v3.db");
    empty_version_3(&old);
    {
        let v3 = Connection::open(&old).unwrap();
        v3.execute_batch(
            "INSERT INTO mechanics (id, name, email, phone, created_at, updated_at)
               VALUES ('m1', 'Rosa', 'r@example.com', '+1 902 555 0100', 0, 0),
                      ('m2', 'Ann', 'a@example.com', NULL, 0, 0);
             INSERT INTO customer_waitlist (id, customer_name, customer_email, notify_via, status,
                 created_at, expires_at, notified_at, notified_mechanic_id)
               VALUES ('W1', 'Liam', 'l@example.com', '[\"email\"]', 'notified', 0, 86400000,
                       10, 'm1');
             INSERT INTO notifications (waitlist_id, channel, recipient, message, created_at)
               VALUES ('W1', 'email', 'l@example.com', 'A mechanic is online now: Rosa.', 10);",
        )
        .unwrap();
    }
    let mut upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    let n = ok(&mut upgraded, json!({"cmd": "notifications"}));
    let row = &n["notifications"][0];
    assert_eq!(row["id"], "v3-1");
    assert_eq!(row["kind"], "waitlist_online");
    assert_eq!(row["status"], "dead");
    assert_eq!(row["body"], "A mechanic is online now: Rosa.");
    assert!(
        row["last_error"]
            .as_str()
            .unwrap()
            .contains("before pitwall delivered")
    );
    // SPEC §2's default for who had no choice: sms with a phone, else email.
    let m = ok(&mut upgraded, json!({"cmd": "mechanics"}));
    let via: Vec<&Value> = m["mechanics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["notify_via"])
        .collect();
    assert_eq!(via, [&json!(["sms"]), &json!(["email"])], "{m}");
    // A relay finds nothing to send in it.
    let pass = ok(&mut upgraded, json!({"cmd": "deliver"}));
    assert_eq!(pass["sent"], json!([]));
    assert_eq!(pass["no_transport"], json!([]));
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// A version-4 file in use when scheduling arrives: the sessions table is rebuilt (its status
/// CHECK gains `scheduled`), so every session, with its assignments and waitlist entry still
/// pointing at it, must come through; the roster gets the default zone and an empty plan.
#[test]
fn a_version_4_file_in_use_upgrades_to_the_schema_a_new_file_gets_with_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current.db");
    let mut engine = open(&current);
    busy(&mut engine);
    let ids = ["S1", "S2", "S3"];
    let before = sessions(&mut engine, &ids);
    drop(engine);
    // The same rows in a version-4 file: copy every table but the new columns.
    let old = dir.path().join("v4.db");
    empty_version_4(&old);
    {
        let v4 = Connection::open(&old).unwrap();
        v4.execute("ATTACH DATABASE ?1 AS cur", [current.to_str().unwrap()])
            .unwrap();
        v4.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM main.roster_generation;")
            .unwrap();
        for table in [
            "mechanics",
            "intakes",
            "sessions",
            "session_assignments",
            "assignment_details",
            "customer_waitlist",
            "notifications",
            "unanswered_offers",
            "events",
            "roster_generation",
        ] {
            let columns: Vec<String> = v4
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let columns = columns.join(", ");
            v4.execute_batch(&format!(
                "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM cur.{table}"
            ))
            .unwrap();
        }
        v4.execute_batch("DETACH DATABASE cur").unwrap();
    }
    let mut upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    assert_eq!(sessions(&mut upgraded, &ids), before);
    let m = ok(&mut upgraded, json!({"cmd": "mechanics"}));
    assert_eq!(m["mechanics"][0]["timezone"], "America/Toronto");
    assert_eq!(m["mechanics"][0]["shifts"], json!([]));
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // Scheduling works on the upgraded file.
    ok(
        &mut upgraded,
        intake("S9", json!({"scheduled_for": "2026-01-06T15:00:00Z"})),
    );
}

/// A version-4 file gains the API's tables empty (and every later upgrade), `check` passes, and
/// tokens can be made on it at once.
#[test]
fn a_version_4_file_upgrades_and_takes_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v4.db");
    empty_version_4(&old);
    let upgraded = open(&old);
    let tokens: i64 = upgraded
        .connection()
        .sqlite()
        .unwrap()
        .query_row("SELECT COUNT(*) FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 0);
    drop(upgraded);
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "create", "--role", "dispatcher"])
        .args(["--db", old.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    assert!(String::from_utf8_lossy(&made.stdout).starts_with("pw_dispatcher_"));
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// A version-5 file with a token (the API's release) takes the scheduling upgrade: the token
/// still authenticates the same hash, and the sessions table rebuild leaves `check` clean.
#[test]
fn a_version_5_file_with_a_token_upgrades_to_the_schema_a_new_file_gets() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v5.db");
    {
        let v5 = Connection::open(&old).unwrap();
        v5.execute_batch(SCHEMA_V5).unwrap();
        v5.pragma_update(None, "user_version", 5).unwrap();
        v5.execute(
            "INSERT INTO api_tokens (id, role, mechanic_id, label, sha256, created_at) \
             VALUES ('tok_000000000001', 'dispatcher', NULL, 'form', ?1, 0)",
            [vec![7u8; 32]],
        )
        .unwrap();
    }
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    let kept: String = upgraded
        .connection()
        .sqlite()
        .unwrap()
        .query_row(
            "SELECT label FROM api_tokens WHERE id = 'tok_000000000001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, "form");
    drop(upgraded);
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// A version-6 file with offer messages still waiting upgrades to the schema a new file gets:
/// each waiting offer message is tied to its offer and deadline (so the relay can judge it),
/// the rest keep their state and order, and `check` passes.
#[test]
fn a_version_6_file_with_waiting_offer_messages_upgrades_and_ties_them_to_their_offers() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v6.db");
    {
        let v6 = Connection::open(&old).unwrap();
        v6.execute_batch(SCHEMA_V6).unwrap();
        v6.pragma_update(None, "user_version", 6).unwrap();
        v6.execute_batch(
            "INSERT INTO mechanics (id, name, phone, created_at, updated_at)
                 VALUES ('m1', 'Ann', '+15550100', 0, 0), ('m2', 'Bo', NULL, 0, 0);
             UPDATE mechanics SET email = 'bo@example.com' WHERE id = 'm2';
             INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
                                  concern, created_at)
                 VALUES ('i1', 'Cy', 'Canada', 'M5V 2T6', 'brakes', 0);
             INSERT INTO sessions (id, intake_id, status, payment_method, created_at,
                                   released_at)
                 VALUES ('s1', 'i1', 'waiting', 'free', 0, 0);
             INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                                              priority, offered_at, expires_at, created_at)
                 VALUES ('s1.t1', 's1', 'm1', 'targeted', 'offered', 'high', 0, 120000, 0),
                        ('s1.t2', 's1', 'm2', 'targeted', 'offered', 'high', 0, 120000, 0),
                        ('s1.b', 's1', NULL, 'broadcast', 'queued', 'normal', NULL, NULL, 0);
             INSERT INTO assignment_details (assignment_seq)
                 SELECT seq FROM session_assignments;
             INSERT INTO notifications (id, kind, channel, recipient, subject, body, session_id,
                                        created_at, status, next_attempt_at, sent_at)
                 VALUES ('n1', 'offer', 'sms', '+15550100', 'New offer', 'Hi', 's1', 0,
                         'pending', 0, NULL),
                        ('n2', 'offer', 'email', 'bo@example.com', 'New offer', 'Hi', 's1', 0,
                         'pending', 0, NULL),
                        ('n3', 'matched', 'email', 'cy@example.com', 'Yours', 'Hi', 's1', 0,
                         'sent', 0, 5);",
        )
        .unwrap();
    }
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    let rows: Vec<(String, Option<String>, Option<i64>, String)> = {
        let conn = upgraded.connection().sqlite().unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT id, assignment_id, expires_at, status FROM notifications ORDER BY rowid",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        rows,
        vec![
            (
                "n1".into(),
                Some("s1.t1".into()),
                Some(120_000),
                "pending".into()
            ),
            (
                "n2".into(),
                Some("s1.t2".into()),
                Some(120_000),
                "pending".into()
            ),
            ("n3".into(), None, None, "sent".into()),
        ]
    );
    drop(upgraded);
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// A version-7 file upgrades to the schema a new file gets: the table of which intake token
/// created which session starts empty (sessions made before it belong to no token, so no booking
/// form reaches them), and `check` passes.
#[test]
fn a_version_7_file_upgrades_with_sessions_owned_by_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v7.db");
    {
        let v7 = Connection::open(&old).unwrap();
        v7.execute_batch(SCHEMA_V7).unwrap();
        v7.pragma_update(None, "user_version", 7).unwrap();
    }
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    let owners: i64 = upgraded
        .connection()
        .sqlite()
        .unwrap()
        .query_row("SELECT COUNT(*) FROM api_session_owners", [], |r| r.get(0))
        .unwrap();
    assert_eq!(owners, 0);
}

/// A version-8 file with history upgrades to the schema a new file gets: its events and
/// messages found by their session (what prune reads), the old index of every accepted
/// assignment gone, every row kept, and `check` passes.
#[test]
fn a_version_8_file_with_history_upgrades_to_the_schema_a_new_file_gets() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v8.db");
    {
        let v8 = Connection::open(&old).unwrap();
        v8.execute_batch(SCHEMA_V8).unwrap();
        v8.pragma_update(None, "user_version", 8).unwrap();
        v8.execute_batch(
            "INSERT INTO mechanics (id, name, created_at, updated_at) VALUES ('m1', 'Ann', 0, 0);
             INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
                                  concern, created_at)
                 VALUES ('s1', 'Cy', 'Canada', 'M5V 2T6', 'brakes', 0);
             INSERT INTO sessions (id, intake_id, status, payment_method, matched_mechanic_id,
                                   created_at, released_at, matched_at, completed_at)
                 VALUES ('s1', 's1', 'completed', 'free', 'm1', 0, 0, 5, 9);
             INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                                              priority, offered_at, accepted_at, created_at)
                 VALUES ('s1.b', 's1', 'm1', 'broadcast', 'accepted', 'normal', 0, 5, 0);
             INSERT INTO assignment_details (assignment_seq) SELECT seq FROM session_assignments;
             INSERT INTO events (at, kind, session_id) VALUES (0, 'session_created', 's1'),
                                                              (9, 'session_completed', 's1');
             INSERT INTO notifications (id, kind, channel, recipient, subject, body, session_id,
                                        created_at, status, next_attempt_at, sent_at)
                 VALUES ('n1', 'matched', 'email', 'cy@example.com', 'Yours', 'Hi', 's1', 5,
                         'sent', 5, 6);",
        )
        .unwrap();
    }
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    assert_eq!(
        schema(upgraded.connection().sqlite().unwrap()),
        schema(fresh.connection().sqlite().unwrap())
    );
    let timeline = pitwall::store::events::for_sessions(upgraded.connection(), &["s1"]).unwrap();
    assert_eq!(timeline.len(), 2);
    let messages = pitwall::store::outbox::for_sessions(upgraded.connection(), &["s1"]).unwrap();
    assert_eq!(messages.len(), 1);
    drop(upgraded);
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// A version-9 file with a session upgrades to the schema a new file gets: the links table is
/// there, empty, and the session kept.
#[test]
fn a_version_9_file_upgrades_to_the_schema_a_new_file_gets() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v9.db");
    {
        let v9 = Connection::open(&old).unwrap();
        v9.execute_batch(SCHEMA_V9).unwrap();
        v9.pragma_update(None, "user_version", 9).unwrap();
        v9.execute_batch(
            "INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
                                  concern, created_at)
                 VALUES ('s1', 'Cy', 'Canada', 'M5V 2T6', 'brakes', 0);
             INSERT INTO sessions (id, intake_id, status, payment_method, created_at)
                 VALUES ('s1', 's1', 'waiting', 'free', 0);",
        )
        .unwrap();
    }
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    let conn = upgraded.connection().sqlite().unwrap();
    assert_eq!(schema(conn), schema(fresh.connection().sqlite().unwrap()));
    let (links, sessions): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM page_links), (SELECT COUNT(*) FROM sessions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((links, sessions), (0, 1));
}

/// A version-10 file with offers in every status upgrades to the schema a new file gets (its
/// assignments table rebuilt for the status CHECK in pairs, then for one comparison per word):
/// every row and its details kept, the details still tied to their assignment, and the CHECK
/// still refusing a word outside it.
#[test]
fn a_version_10_file_with_offers_upgrades_to_the_schema_a_new_file_gets() {
    upgrades_with_offers_in_every_status(10, SCHEMA_V10);
}

/// The same from version 12 (the status CHECK in pairs), rebuilt once for one comparison per
/// word.
#[test]
fn a_version_12_file_with_offers_upgrades_to_the_schema_a_new_file_gets() {
    upgrades_with_offers_in_every_status(12, SCHEMA_V12);
}

/// The same from version 13, whose step changes only the view over the table.
#[test]
fn a_version_13_file_with_offers_upgrades_to_the_schema_a_new_file_gets() {
    upgrades_with_offers_in_every_status(13, SCHEMA_V13);
}

/// Version 13 wrote a timed-out offer's deadline and `timeout` into its row; version 14 leaves
/// both NULL and implies them. After the upgrade the old offers read as they did, an offer the
/// tick expires now reads the same way, in the view and through the engine, and `check` passes.
#[test]
fn a_version_13_timeout_and_a_version_14_one_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v13.db");
    {
        let v13 = Connection::open(&old).unwrap();
        v13.execute_batch(SCHEMA_V13).unwrap();
        v13.pragma_update(None, "user_version", 13).unwrap();
        v13.execute_batch(
            "INSERT INTO mechanics (id, name, account_status, profile_completion_score,
                 currently_on_shift, is_available, created_at, updated_at)
               VALUES ('m1', 'Old Hand', 'approved', 90, 0, 0, 0, 0);
             INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
                 concern, created_at)
               VALUES ('S0', 'A', 'Canada', 'M5V 3L9', 'x', 0);
             INSERT INTO sessions (id, intake_id, status, payment_method, created_at,
                 released_at, cancelled_at)
               VALUES ('S0', 'S0', 'cancelled', 'free', 0, 0, 300000);
             INSERT INTO session_assignments (seq, id, session_id, mechanic_id, match_type,
                 status, priority, offered_at, expires_at, closed_at, closed_reason, created_at)
               VALUES (1, 'S0.t1', 'S0', 'm1', 'targeted', 'expired', 'high', 0, 120000,
                       120000, 'timeout', 0),
                      (2, 'S0.t2', 'S0', 'm1', 'targeted', 'expired', 'high', 0, 120000,
                       60000, 'clocked_out', 0),
                      (3, 'S0.b', 'S0', NULL, 'broadcast', 'cancelled', 'normal', 120000, NULL,
                       300000, 'session_cancelled', 0);
             INSERT INTO assignment_details (assignment_seq) VALUES (1), (2), (3);",
        )
        .unwrap();
    }
    let mut engine = open(&old);
    roster(&mut engine);
    ok(&mut engine, intake("S1", json!({})));
    let tick = ok(&mut engine, json!({"cmd": "advance", "seconds": 120}));
    assert!(
        tick["expired"].as_array().is_some_and(|a| !a.is_empty()),
        "{tick}"
    );
    let conn = engine.connection().sqlite().unwrap();
    let stored: Vec<(String, Option<i64>, Option<String>)> = conn
        .prepare(
            "SELECT id, closed_at, closed_reason FROM session_assignments \
             WHERE session_id = 'S1' AND status = 'expired' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!stored.is_empty());
    assert!(
        stored
            .iter()
            .all(|(_, at, why)| at.is_none() && why.is_none()),
        "the tick wrote what a timeout implies: {stored:?}"
    );
    /// (id, deadline, when it closed, why), as the view shows an expired offer.
    type Shown = (String, Option<i64>, Option<i64>, Option<String>);
    let shown: Vec<Shown> = conn
        .prepare(
            "SELECT id, expires_at, closed_at, closed_reason FROM session_assignments_full \
             WHERE status = 'expired' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        shown[..2],
        [
            (
                "S0.t1".into(),
                Some(120000),
                Some(120000),
                Some("timeout".into())
            ),
            (
                "S0.t2".into(),
                Some(120000),
                Some(60000),
                Some("clocked_out".into())
            ),
        ]
    );
    for (id, deadline, closed_at, why) in &shown[2..] {
        assert!(id.starts_with("S1."), "{id}");
        assert_eq!((closed_at, why.as_deref()), (deadline, Some("timeout")));
    }
    // Through the engine: the session's expired offers say when and why they closed.
    for session in sessions(&mut engine, &["S0", "S1"]) {
        for a in session["session"]["assignments"].as_array().unwrap() {
            if a["status"] == "expired" {
                assert!(a["closed_at"].is_string(), "{a}");
                let why = a["closed_reason"].as_str().unwrap();
                if a["id"] != "S0.t2" {
                    assert_eq!((why, &a["closed_at"]), ("timeout", &a["expires_at"]), "{a}");
                }
            }
        }
    }
    drop(engine);
    let check = check(&old);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

fn upgrades_with_offers_in_every_status(version: i64, schema_sql: &str) {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join(format!("v{version}.db"));
    let statuses = [
        "queued",
        "offered",
        "accepted",
        "declined",
        "expired",
        "cancelled",
    ];
    {
        let older = Connection::open(&old).unwrap();
        older.execute_batch(schema_sql).unwrap();
        older.pragma_update(None, "user_version", version).unwrap();
        older
            .execute_batch(
                "INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
                                  concern, created_at)
                 VALUES ('s1', 'Cy', 'Canada', 'M5V 2T6', 'brakes', 0);
             INSERT INTO sessions (id, intake_id, status, payment_method, created_at)
                 VALUES ('s1', 's1', 'waiting', 'free', 0);",
            )
            .unwrap();
        for (seq, status) in statuses.iter().enumerate() {
            older
                .execute(
                    "INSERT INTO session_assignments (seq, id, session_id, match_type, status,
                                                  priority, created_at)
                     VALUES (?1, ?2, 's1', 'broadcast', ?3, 'normal', ?1)",
                    rusqlite::params![seq as i64 + 1, format!("a{seq}"), status],
                )
                .unwrap();
            older.execute(
                "INSERT INTO assignment_details (assignment_seq, match_reasons) VALUES (?1, ?2)",
                rusqlite::params![seq as i64 + 1, format!("[\"{status}\"]")],
            )
            .unwrap();
        }
    }
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    let conn = upgraded.connection().sqlite().unwrap();
    assert_eq!(schema(conn), schema(fresh.connection().sqlite().unwrap()));
    let rows: Vec<(String, String, String)> = conn
        .prepare("SELECT id, status, match_reasons FROM session_assignments_full ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<(String, String, String)> = statuses
        .iter()
        .enumerate()
        .map(|(seq, status)| {
            (
                format!("a{seq}"),
                status.to_string(),
                format!("[\"{status}\"]"),
            )
        })
        .collect();
    assert_eq!(rows, expected);
    let refused = conn.execute(
        "UPDATE session_assignments SET status = 'withdrawn' WHERE id = 'a0'",
        [],
    );
    assert!(refused.is_err(), "a word outside the CHECK was written");
}

/// Every word each rebuilt CHECK allows, in a version 11 file: the upgrade keeps every row (and
/// its rowid, by which lists order), the schema is a new file's, and a word outside a list is
/// still refused.
#[test]
fn a_version_11_file_with_rows_in_every_status_upgrades_to_the_schema_a_new_file_gets() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v11.db");
    let session_statuses = [
        "scheduled",
        "pending",
        "waiting",
        "matched",
        "completed",
        "cancelled",
    ];
    let payments = ["free", "credit", "paid"];
    let message_statuses = [
        ("pending", None),
        ("sent", None),
        ("dead", None),
        ("skipped", Some("accepted")),
        ("skipped", Some("taken")),
        ("skipped", Some("declined")),
        ("skipped", Some("expired")),
        ("skipped", Some("withdrawn")),
        ("skipped", Some("cancelled")),
    ];
    let kinds = ["waitlist_online", "offer", "matched", "escalation"];
    let channels = ["email", "sms", "push", "dispatcher"];
    let waitlist = ["waiting", "notified", "expired", "cancelled"];
    let outcomes = ["accepted", "declined", "taken", "expired", "at_capacity"];
    let priorities = ["high", "normal", "low"];
    let dump = |conn: &Connection| -> Vec<String> {
        let mut rows = Vec::new();
        for (table, order) in [
            ("sessions", "rowid"),
            ("session_assignments", "seq"),
            ("customer_waitlist", "rowid"),
            ("notifications", "rowid"),
            ("page_links", "sha256"),
        ] {
            let sql = format!("SELECT rowid, * FROM {table} ORDER BY {order}");
            let sql = if table == "page_links" {
                format!("SELECT * FROM {table} ORDER BY {order}")
            } else {
                sql
            };
            let mut stmt = conn.prepare(&sql).unwrap();
            let n = stmt.column_count();
            let mut q = stmt.query([]).unwrap();
            while let Some(r) = q.next().unwrap() {
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                rows.push(format!("{table}: {}", cells.join(" | ")));
            }
        }
        rows
    };
    let before = {
        let v11 = Connection::open(&old).unwrap();
        v11.execute_batch(SCHEMA_V11).unwrap();
        v11.pragma_update(None, "user_version", 11).unwrap();
        v11.execute_batch(
            "INSERT INTO mechanics (id, name, created_at, updated_at) VALUES ('m1', 'Mo', 0, 0);",
        )
        .unwrap();
        for (n, status) in session_statuses.iter().enumerate() {
            // Rowids out of creation order, as a file that lost rows to a prune has them.
            v11.execute(
                "INSERT INTO intakes (id, customer_name, location_country, location_postal_code,
                                      concern, created_at)
                     VALUES (?1, 'Cy', 'Canada', 'M5V 2T6', 'brakes', 0)",
                [format!("s{n}")],
            )
            .unwrap();
            v11.execute(
                "INSERT INTO sessions (rowid, id, intake_id, status, payment_method, created_at)
                     VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    100 - n as i64,
                    format!("s{n}"),
                    status,
                    payments[n % payments.len()],
                    n as i64
                ],
            )
            .unwrap();
        }
        for (n, priority) in priorities.iter().enumerate() {
            v11.execute(
                "INSERT INTO session_assignments (seq, id, session_id, match_type, status,
                                                  priority, created_at)
                     VALUES (?1, ?2, 's2', 'broadcast', 'expired', ?3, ?1)",
                rusqlite::params![n as i64 + 1, format!("a{n}"), priority],
            )
            .unwrap();
            v11.execute(
                "INSERT INTO assignment_details (assignment_seq) VALUES (?1)",
                [n as i64 + 1],
            )
            .unwrap();
        }
        for (n, status) in waitlist.iter().enumerate() {
            v11.execute(
                "INSERT INTO customer_waitlist (rowid, id, customer_name, status, created_at,
                                                expires_at)
                     VALUES (?1, ?2, 'Cy', ?3, 0, 1)",
                rusqlite::params![50 - n as i64, format!("w{n}"), status],
            )
            .unwrap();
        }
        for (n, (status, skip)) in message_statuses.iter().enumerate() {
            v11.execute(
                "INSERT INTO notifications (rowid, id, kind, channel, recipient, subject, body,
                                            session_id, created_at, status, next_attempt_at,
                                            skip_reason)
                     VALUES (?1, ?2, ?3, ?4, 'r', 's', 'b', 's2', ?5, ?6, 0, ?7)",
                rusqlite::params![
                    70 - n as i64,
                    format!("n{n}"),
                    kinds[n % kinds.len()],
                    channels[n % channels.len()],
                    n as i64,
                    status,
                    skip
                ],
            )
            .unwrap();
        }
        for (n, outcome) in outcomes.iter().enumerate() {
            v11.execute(
                "INSERT INTO page_links (sha256, kind, session_id, assignment_id, mechanic_id,
                                         outcome, created_at)
                     VALUES (?1, 'offer', 's2', 'a0', 'm1', ?2, 0)",
                rusqlite::params![vec![n as u8; 32], outcome],
            )
            .unwrap();
        }
        v11.execute(
            "INSERT INTO page_links (sha256, kind, session_id, created_at)
                 VALUES (?1, 'status', 's3', 0)",
            [vec![9u8; 32]],
        )
        .unwrap();
        dump(&v11)
    };
    let upgraded = open(&old);
    let fresh = open(&dir.path().join("new.db"));
    let conn = upgraded.connection().sqlite().unwrap();
    assert_eq!(schema(conn), schema(fresh.connection().sqlite().unwrap()));
    assert_eq!(dump(conn), before, "every row, with its rowid, as it was");
    let fk: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0);
    for refused in [
        "UPDATE sessions SET status = 'lost' WHERE id = 's0'",
        "UPDATE sessions SET payment_method = 'cash' WHERE id = 's0'",
        "UPDATE session_assignments SET priority = 'urgent' WHERE id = 'a0'",
        "UPDATE customer_waitlist SET status = 'gone' WHERE id = 'w0'",
        "UPDATE notifications SET kind = 'spam' WHERE id = 'n0'",
        "UPDATE notifications SET channel = 'fax' WHERE id = 'n0'",
        "UPDATE notifications SET status = 'lost', skip_reason = NULL WHERE id = 'n0'",
        "UPDATE notifications SET skip_reason = 'bored' WHERE id = 'n3'",
        "UPDATE page_links SET outcome = 'maybe' WHERE kind = 'status'",
    ] {
        assert!(
            conn.execute(refused, []).is_err(),
            "a word outside the CHECK was written: {refused}"
        );
    }
}
