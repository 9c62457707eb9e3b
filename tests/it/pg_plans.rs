//! PostgreSQL plans every statement a request or a tick runs by an index, on a database with
//! enough history that the planner cares (30,000 finished sessions of one mechanic, 300,000
//! events, 300,000 sent messages, after ANALYZE): none reads a history table whole. Checked with
//! the values bound (the plan a first execution gets) and with the generic plan PostgreSQL
//! switches a prepared statement to after a few executions. (SQLite's plans:
//! `store::query_plans`; the work itself: tests/it/history_cost.rs.)

use crate::common::pg as pg_common;

use pitwall::store::Sql;
use pitwall::store::db::{Backend, Db};
use pitwall::store::value::Value;
use pitwall::store::{assignments, events, mechanics, outbox, prune, sessions, waitlist};

const HISTORY: i64 = 30_000;
const NOW: i64 = 1_800_000_000_000;

/// The tables that grow with history: none of them may be read whole.
const HISTORY_TABLES: &[&str] = &[
    "sessions",
    "intakes",
    "session_assignments",
    "assignment_details",
    "events",
    "notifications",
    "customer_waitlist",
];

fn fill(db: &Db) {
    db.execute_batch(Sql::plain(&format!(
        "INSERT INTO mechanics (id, name, created_at, updated_at, currently_on_shift,
                               profile_completion_score)
           SELECT 'g' || lpad(i::text, 6, '0'), 'M ' || i, 0, 0, (i % 3 = 0)::int, 90
           FROM generate_series(0, 999) i;
         INSERT INTO mechanics (id, name, created_at, updated_at, currently_on_shift,
                                profile_completion_score, max_active_sessions)
           VALUES ('vet', 'Val', 0, 0, 1, 100, 500);
         INSERT INTO intakes (id, customer_name, location_country, location_postal_code, concern,
                              created_at)
           SELECT 'H' || i, 'C ' || i, 'Canada', 'M5V 3L9', 'brakes', 1700000000000 + i * 60000
           FROM generate_series(0, {n} - 1) i;
         INSERT INTO sessions (id, intake_id, status, payment_method, matched_mechanic_id,
                               created_at, released_at, matched_at, completed_at)
           SELECT id, id, CASE WHEN created_at % 7 = 0 THEN 'cancelled' ELSE 'completed' END,
                  'free', 'vet', created_at, created_at, created_at + 1, created_at + 2
           FROM intakes;
         INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                                          priority, offered_at, expires_at, closed_at,
                                          closed_reason, created_at)
           SELECT s.id || '.t' || k, s.id, 'g' || lpad(((k * 7 + s.created_at / 60000) % 1000)::text, 6, '0'),
                  'targeted', 'expired', 'high', s.created_at, s.created_at + 120000,
                  s.created_at + 120000, 'timeout', s.created_at
           FROM sessions s, generate_series(1, 3) k;
         INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                                          priority, offered_at, accepted_at, created_at)
           SELECT id || '.b', id, 'vet', 'broadcast', 'accepted', 'normal', created_at,
                  created_at + 1, created_at FROM sessions;
         INSERT INTO assignment_details (assignment_seq) SELECT seq FROM session_assignments;
         INSERT INTO events (at, kind, session_id, mechanic_id)
           SELECT s.created_at + k, 'offer_created', s.id, 'vet'
           FROM sessions s, generate_series(0, 9) k ORDER BY 1;
         INSERT INTO notifications (id, kind, channel, recipient, subject, body, session_id,
                                    created_at, status, attempts, next_attempt_at, sent_at)
           SELECT s.id || '.n' || k, 'offer', CASE WHEN k % 2 = 0 THEN 'email' ELSE 'sms' END,
                  'x@example.com', 'New offer', 'A session near you', s.id, s.created_at + k,
                  'sent', 1, s.created_at + k, s.created_at + k + 1
           FROM sessions s, generate_series(0, 9) k ORDER BY s.created_at, k;
         INSERT INTO customer_waitlist (id, session_id, customer_name, status, created_at,
                                        expires_at)
           SELECT 'W' || id, id, 'C', 'expired', created_at, created_at + 86400000
           FROM sessions WHERE created_at % 10 = 0;
         -- What is live: a session the veteran holds, one waiting with offers, a message due.
         INSERT INTO intakes (id, customer_name, location_country, location_postal_code, concern,
                              created_at)
           VALUES ('LIVE1', 'L', 'Canada', 'M5V 3L9', 'brakes', {now}),
                  ('LIVE2', 'L', 'Canada', 'M5V 3L9', 'brakes', {now});
         INSERT INTO sessions (id, intake_id, status, payment_method, matched_mechanic_id,
                               created_at, released_at, matched_at)
           VALUES ('LIVE1', 'LIVE1', 'matched', 'free', 'vet', {now}, {now}, {now}),
                  ('LIVE2', 'LIVE2', 'waiting', 'free', NULL, {now}, {now}, NULL);
         INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                                          priority, offered_at, expires_at, accepted_at,
                                          active_from, created_at)
           VALUES ('LIVE1.b', 'LIVE1', 'vet', 'broadcast', 'accepted', 'normal', {now}, NULL,
                   {now}, NULL, {now}),
                  ('LIVE2.t1', 'LIVE2', 'vet', 'targeted', 'offered', 'high', {now},
                   {now} + 120000, NULL, NULL, {now}),
                  ('LIVE2.b', 'LIVE2', NULL, 'broadcast', 'queued', 'normal', NULL, NULL, NULL,
                   {now} + 120000, {now});
         INSERT INTO notifications (id, kind, channel, recipient, subject, body, session_id,
                                    created_at, status, attempts, next_attempt_at,
                                    assignment_id, expires_at)
           VALUES ('LIVE2.n', 'offer', 'email', 'vet@example.com', 'New offer', 'Hi', 'LIVE2',
                   {now}, 'pending', 0, {now}, 'LIVE2.t1', {now} + 120000);
         ANALYZE;",
        n = HISTORY,
        now = NOW,
    )))
    .expect("history");
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
#[ignore = "needs PITWALL_TEST_POSTGRES (bash .ci/postgres.sh start)"]
fn every_request_and_tick_statement_reads_by_index() {
    let server = pg_common::required_server();
    let test_db = pg_common::TestDb::create(&server);
    let db = Db::connect_postgres(&test_db.url).expect("connect");
    fill(&db);
    let int = Value::Integer;
    let statements: Vec<(&str, Sql<'static>, Vec<Value>)> = vec![
        (
            "a mechanic's queue",
            assignments::MINE,
            vec![text("vet"), int(NOW)],
        ),
        (
            "open broadcasts",
            assignments::OPEN_BROADCASTS,
            vec![int(NOW + 200_000)],
        ),
        (
            "a session's offers",
            assignments::FOR_SESSION,
            vec![text("LIVE2")],
        ),
        (
            "a mechanic's active sessions",
            mechanics::ACTIVE_SESSIONS,
            vec![text("vet")],
        ),
        ("busy mechanics", mechanics::BUSY, vec![]),
        (
            "live offers per mechanic",
            assignments::LIVE_OFFER_COUNTS,
            vec![int(NOW)],
        ),
        (
            "event feed catch-up",
            events::AFTER,
            vec![int(HISTORY * 10 - 100), int(500)],
        ),
        (
            "who an event's session concerns",
            events::SESSION_MECHANICS,
            vec![text("LIVE2")],
        ),
        (
            "a relay's claim",
            outbox::CLAIM,
            vec![
                text("relay"),
                int(NOW + 30_000),
                int(NOW),
                text("email"),
                int(50),
            ],
        ),
        (
            "pending messages on a channel",
            outbox::PENDING_ON,
            vec![text("sms")],
        ),
        (
            "console: sessions by status",
            sessions::LIST_BY_STATUS,
            vec![text("waiting"), int(500)],
        ),
        (
            "console: sessions in play per status",
            sessions::COUNT_IN_PLAY,
            vec![],
        ),
        (
            "console: escalated sessions",
            sessions::ESCALATED_WAITING,
            vec![int(500)],
        ),
        ("console: newest messages", outbox::LIST, vec![int(200)]),
        (
            "console: newest waitlist entries",
            waitlist::LIST,
            vec![int(200)],
        ),
        (
            "waiting waitlist entries",
            waitlist::WAITING,
            vec![int(NOW)],
        ),
        (
            "tick: due expiries",
            assignments::EXPIRE_DUE,
            vec![int(NOW)],
        ),
        (
            "tick: due broadcasts",
            assignments::ACTIVATE_DUE_BROADCASTS,
            vec![int(NOW)],
        ),
        (
            "tick: waitlist expiry",
            waitlist::EXPIRE_DUE,
            vec![int(NOW)],
        ),
        (
            "tick: escalation",
            sessions::ESCALATE,
            vec![int(NOW - 600_000), int(NOW)],
        ),
        (
            "prune: the next batch",
            prune::FINISHED_BATCH,
            vec![text("completed"), int(NOW), int(0), text(""), int(100)],
        ),
    ];
    let mut failures = Vec::new();
    for (i, (name, sql, params)) in statements.iter().enumerate() {
        // The plan of a first execution, the values bound. (PostgreSQL's text: only it runs.)
        let sql = sql.text(Backend::Postgres);
        let explain = format!("EXPLAIN {sql}");
        let custom: Vec<String> = db
            .prepare(Sql::each(&explain, &explain))
            .unwrap()
            .query_map(params.clone(), |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The generic plan a prepared statement settles on after a few executions.
        let args: Vec<String> = params.iter().map(literal).collect();
        // PostgreSQL's text with its $N, as the server prepares it.
        let prepare =
            format!("SET plan_cache_mode = force_generic_plan; PREPARE plan_{i} AS {sql}");
        db.execute_batch(Sql::each(&prepare, &prepare))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let execute = if args.is_empty() {
            format!("EXPLAIN EXECUTE plan_{i}")
        } else {
            format!("EXPLAIN EXECUTE plan_{i}({})", args.join(", "))
        };
        let generic: Vec<String> = db
            .prepare(Sql::plain(&execute))
            .unwrap()
            .query_map(pitwall::params![], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        db.execute_batch(pitwall::sql!("RESET plan_cache_mode"))
            .unwrap();
        for (mode, plan) in [("custom", custom), ("generic", generic)] {
            let plan = plan.join("\n");
            println!("-- {name} ({mode} plan)\n{plan}\n");
            for table in HISTORY_TABLES {
                if plan.contains(&format!("Seq Scan on {table} ")) {
                    failures.push(format!("{name} ({mode} plan) reads {table} whole:\n{plan}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A parameter as SQL text, for EXECUTE.
fn literal(value: &Value) -> String {
    match value {
        Value::Integer(i) => i.to_string(),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        other => panic!("no literal for {other:?}"),
    }
}
