//! A request costs what is live, not what is history: every statement a request or a tick runs
//! does the same work on a database with thousands of finished sessions as on one without. The
//! work is counted in SQLite's virtual-machine steps (its progress handler), not timed, so the
//! test says the same on any machine: a statement that walks history steps once per old row.

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use pitwall::engine::Engine;
use serde_json::json;

/// Finished sessions on the two databases compared: enough recent ones on the first to fill
/// every bounded list the console shows (200 rows), four times as many on the second. Each
/// reads as tens of steps to a statement that walks them, so a walk shows far above the slack.
const RECENT: usize = 500;
const HISTORY: usize = 2_000;

/// Steps per progress-handler call.
const STEP: i32 = 10;

static STEPS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_steps(_: *mut std::ffi::c_void) -> std::ffi::c_int {
    STEPS.fetch_add(STEP as u64, Ordering::Relaxed);
    0
}

/// Steps `f` makes on the engine's connection. (Through SQLite's C interface: rusqlite's
/// handler wants the connection mutably, and the engine lends it out only shared.)
fn steps<T>(engine: &mut Engine, f: impl FnOnce(&mut Engine) -> T) -> u64 {
    let handle = || unsafe { engine_handle(engine) };
    STEPS.store(0, Ordering::Relaxed);
    unsafe {
        rusqlite::ffi::sqlite3_progress_handler(
            handle(),
            STEP,
            Some(count_steps),
            std::ptr::null_mut(),
        )
    };
    std::hint::black_box(f(engine));
    unsafe {
        rusqlite::ffi::sqlite3_progress_handler(
            engine_handle(engine),
            0,
            None,
            std::ptr::null_mut(),
        )
    };
    STEPS.load(Ordering::Relaxed)
}

/// The statements prepared on the engine's connection that stepped most since the last call,
/// with their steps (and their counters reset): what to look at when a figure grew.
fn busiest_statements(engine: &Engine) -> Vec<(i32, String)> {
    use rusqlite::ffi;
    let mut out = Vec::new();
    unsafe {
        let db = engine_handle(engine);
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            let steps = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_VM_STEP, 1);
            let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt))
                .to_string_lossy()
                .chars()
                .take(160)
                .collect();
            if steps > 0 {
                out.push((steps, sql));
            }
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.0));
    out.truncate(3);
    out
}

unsafe fn engine_handle(engine: &Engine) -> *mut rusqlite::ffi::sqlite3 {
    unsafe { engine.connection().sqlite().expect("SQLite").handle() }
}

fn setup(history: usize) -> Engine {
    let mut engine = Engine::open(None, pitwall::clock::Clock::manual_default()).unwrap();
    roster(&mut engine);
    // t1 may hold many sessions at once, so he stays free while he works through his history.
    ok(
        &mut engine,
        mechanic(
            "vet",
            true,
            json!({"years_experience": 30, "rating": 5.0, "max_active_sessions": 50}),
        ),
    );
    for i in 0..history {
        let id = format!("H{i:05}");
        ok(
            &mut engine,
            intake(&id, json!({"preferred_mechanic": "vet"})),
        );
        if i % 10 == 9 {
            ok(&mut engine, json!({"cmd": "cancel", "session": id}));
            continue;
        }
        if i % 2 == 0 {
            ok(
                &mut engine,
                json!({"cmd": "join_waitlist", "session": id, "notify_via": ["email"]}),
            );
        }
        ok(
            &mut engine,
            json!({"cmd": "accept", "session": id, "mechanic": "vet"}),
        );
        ok(&mut engine, json!({"cmd": "complete", "session": id}));
        if i % 50 == 0 {
            ok(&mut engine, json!({"cmd": "advance", "seconds": 60}));
        }
    }
    // Delivered long ago: history, not a backlog.
    engine
        .connection()
        .execute_batch(pitwall::sql!(
            "UPDATE notifications SET status = 'sent', sent_at = created_at \
             WHERE status = 'pending'"
        ))
        .unwrap();
    // What is live now, the same on both databases: one matched session of the veteran, one
    // waiting with offers, one pending message.
    ok(
        &mut engine,
        intake("LIVE1", json!({"preferred_mechanic": "vet"})),
    );
    ok(
        &mut engine,
        json!({"cmd": "accept", "session": "LIVE1", "mechanic": "vet"}),
    );
    ok(
        &mut engine,
        intake("LIVE2", json!({"preferred_mechanic": "vet"})),
    );
    engine
}

#[test]
fn requests_cost_the_same_on_a_long_history() {
    if pg::backend().is_some() {
        // Counted in SQLite's steps; PostgreSQL's plans are checked by tests/it/pg_plans.rs.
        return;
    }
    let mut fresh = setup(RECENT);
    let mut old = setup(HISTORY);
    type Op = (&'static str, Box<dyn Fn(&mut Engine)>);
    let ops: Vec<Op> = vec![
        (
            "queue",
            Box::new(|e| {
                e.queue("vet").unwrap();
            }),
        ),
        (
            "session",
            Box::new(|e| {
                e.session("LIVE2").unwrap();
            }),
        ),
        (
            "eligibility",
            Box::new(|e| {
                e.eligibility("LIVE2").unwrap();
            }),
        ),
        (
            "intake",
            Box::new(|e| {
                ok(e, intake("NEW1", json!({"preferred_mechanic": "vet"})));
            }),
        ),
        (
            "accept",
            Box::new(|e| {
                ok(
                    e,
                    json!({"cmd": "accept", "session": "NEW1", "mechanic": "vet"}),
                );
            }),
        ),
        (
            "complete",
            Box::new(|e| {
                ok(e, json!({"cmd": "complete", "session": "NEW1"}));
            }),
        ),
        (
            "tick",
            Box::new(|e| {
                e.tick().unwrap();
            }),
        ),
        (
            "console snapshot",
            Box::new(|e| {
                e.snapshot(false).unwrap();
            }),
        ),
        (
            "console: waitlist",
            Box::new(|e| {
                pitwall::store::waitlist::list(e.connection(), 200).unwrap();
            }),
        ),
        (
            "console: outbox",
            Box::new(|e| {
                pitwall::store::outbox::list(e.connection(), 200).unwrap();
            }),
        ),
        (
            "console: sessions",
            Box::new(|e| {
                use pitwall::model::SessionStatus as S;
                pitwall::store::sessions::list_by_status(
                    e.connection(),
                    &[S::Pending, S::Waiting, S::Matched],
                    500,
                )
                .unwrap();
            }),
        ),
        (
            "console: a session's timeline",
            Box::new(|e| {
                e.timeline("LIVE1").unwrap();
            }),
        ),
        (
            "event feed catch-up",
            Box::new(|e| {
                let conn = e.connection();
                let last = pitwall::store::events::latest_id(conn).unwrap();
                for event in pitwall::store::events::after(conn, last - 20, 500).unwrap() {
                    if let Some(s) = &event.session {
                        pitwall::store::events::session_mechanics(conn, s).unwrap();
                    }
                }
            }),
        ),
        (
            "prune: one batch",
            Box::new(|e| {
                let mut job = e.start_prune(0, None).unwrap();
                e.prune_step(&mut job, None).unwrap();
            }),
        ),
        (
            "relay claim",
            Box::new(|e| {
                let now = e.now();
                for route in [
                    pitwall::model::Route::Email,
                    pitwall::model::Route::Sms,
                    pitwall::model::Route::Dispatcher,
                ] {
                    pitwall::store::outbox::claim(
                        e.connection(),
                        "cost",
                        route,
                        now,
                        now + chrono::Duration::seconds(30),
                        50,
                    )
                    .unwrap();
                }
            }),
        ),
    ];
    let mut failures = Vec::new();
    for (name, op) in &ops {
        busiest_statements(&fresh);
        busiest_statements(&old);
        let before = steps(&mut fresh, |e| op(e));
        let after = steps(&mut old, |e| op(e));
        let busiest = busiest_statements(&old);
        println!(
            "{name:<22} {before:>8} steps after {RECENT} sessions, {after:>8} after {HISTORY}"
        );
        // Slack for deeper b-trees and a few more roster rows; a walk of the history is
        // thousands of steps past it.
        if after > before * 3 / 2 + 2_000 {
            failures.push(format!(
                "{name}: {before} -> {after} steps; busiest: {busiest:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "work grows with history: {failures:?}");
}
