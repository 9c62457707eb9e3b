//! Months of history (`cargo bench --bench perf -- history`; `PITWALL_HISTORY_SESSIONS=N` for
//! another size): one mechanic with 100,000
//! completed sessions behind him, 1,000,000 audit events and 1,000,000 sent messages, beside the
//! same roster with no history at all. Each request and the tick is timed on both, side by side
//! in one run (rounds alternate between the two files, so drift on a shared machine falls on
//! both alike), and must stay within 1.5× of its figure without history. Then 90 % of that
//! history is pruned in short transactions while another connection keeps taking intakes:
//! the longest write lock a prune step held, and the intakes' p99 with and without it (in
//! turns).

use pitwall::store::Sql;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pitwall::clock::Clock;
use pitwall::command::IntakeRequest;
use pitwall::engine::Engine;
use pitwall::synth;

use super::{Table, ms, p, with_id};

/// The mechanic whose history it is.
const VET: &str = "vet";

/// One file: the synthetic roster, the veteran, and a few sessions live now.
fn database(path: &Path) -> Engine {
    let mut engine = Engine::open(Some(path), Clock::manual_default()).expect("open");
    let mut roster = synth::roster(1_000, 42);
    roster.push(serde_json::json!({
        "id": VET, "name": "Val Veteran", "email": "val@example.ca", "city": "Toronto",
        "state_province": "ON", "country": "Canada", "postal_code": "M5V 2T6",
        "years_experience": 30, "rating": 5.0, "profile_completion_score": 100,
        "account_status": "approved", "currently_on_shift": true, "max_active_sessions": 500,
        "service_keywords": ["check engine light", "brake repair", "electrical", "diagnostics"],
    }));
    engine
        .load_seeds(&serde_json::to_string(&roster).expect("json"))
        .expect("roster");
    engine
}

/// 100,000 sessions of `VET`'s over 190 days up to ten days ago (`quick`: 10,000), each with
/// its intake, three targeted offers that lapsed and the broadcast he took, ten audit events
/// and ten sent messages; written in one transaction, in time order.
fn fill_history(engine: &Engine, sessions: i64) {
    let now = pitwall::clock::to_millis(engine.now());
    let day: i64 = 86_400_000;
    let start = now - 200 * day;
    let step = 190 * day / sessions;
    let meta = r#"{"source":"intake","smart_matching":true,"customer_city":"Toronto","customer_country":"Canada","customer_postal_code":"M5V 3L9","customer_province":"ON","extracted_keywords":["check engine light","brake repair"],"vehicle_make":"Honda","prefer_local":true,"matching_latency_ms":0.4}"#;
    engine
        .connection()
        .execute_batch(Sql::plain(&format!(
            "BEGIN;
             INSERT INTO intakes (id, customer_name, customer_email, customer_phone,
                 location_country, location_province, location_city, location_postal_code,
                 vehicle_year, vehicle_make, vehicle_model, concern, created_at)
               WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {sessions})
               SELECT printf('H%07d', i), 'History ' || i, 'h' || i || '@example.com',
                      '+1 416 555 0100', 'Canada', 'ON', 'Toronto', 'M5V 3L9', 2019, 'Honda',
                      'Civic', 'My check engine light is on and the brakes squeal',
                      {start} + i * {step} FROM n;
             INSERT INTO sessions (id, intake_id, status, payment_method, matched_mechanic_id,
                 metadata, created_at, released_at, matched_at, completed_at)
               SELECT id, id, 'completed', 'free', '{VET}', '{meta}', created_at, created_at,
                      created_at + 30000, created_at + 600000
               FROM intakes WHERE id LIKE 'H%' ORDER BY created_at;
             INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                 priority, match_score, offered_at, expires_at, closed_at, closed_reason,
                 created_at)
               SELECT s.id || '.t' || k.k, s.id, printf('g%06d', (s.created_at / 1000 + k.k) % 1000),
                      'targeted', 'expired', 'high', 150, s.created_at, s.created_at + 120000,
                      s.created_at + 120000, 'timeout', s.created_at
               FROM sessions s, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) k
               WHERE s.id LIKE 'H%' ORDER BY s.created_at, k.k;
             INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status,
                 priority, active_from, offered_at, accepted_at, created_at)
               SELECT id || '.b', id, '{VET}', 'broadcast', 'accepted', 'normal',
                      created_at + 120000, created_at + 120000, created_at + 130000, created_at
               FROM sessions WHERE id LIKE 'H%' ORDER BY created_at;
             INSERT INTO assignment_details (assignment_seq, match_reasons, metadata)
               SELECT seq, '[\"keyword: check engine light\",\"local: Toronto\"]',
                      '{{\"is_local_match\":true,\"is_brand_specialist\":false}}'
               FROM session_assignments WHERE session_id LIKE 'H%' ORDER BY seq;
             INSERT INTO events (at, kind, session_id, mechanic_id, assignment_id, detail)
               SELECT s.created_at + k.k * 1000, k.kind, s.id,
                      CASE WHEN k.k >= 7 THEN '{VET}' END,
                      CASE WHEN k.k BETWEEN 2 AND 6 THEN s.id || '.t1' END,
                      CASE WHEN k.k = 9 THEN '{{\"after_seconds\":600}}' END
               FROM sessions s, (SELECT 0 AS k, 'session_created' AS kind
                   UNION ALL SELECT 1, 'session_released' UNION ALL SELECT 2, 'offer_created'
                   UNION ALL SELECT 3, 'offer_created' UNION ALL SELECT 4, 'offer_created'
                   UNION ALL SELECT 5, 'broadcast_created' UNION ALL SELECT 6, 'offer_expired'
                   UNION ALL SELECT 7, 'offer_accepted' UNION ALL SELECT 8, 'session_matched'
                   UNION ALL SELECT 9, 'session_completed') k
               WHERE s.id LIKE 'H%' ORDER BY s.created_at, k.k;
             INSERT INTO notifications (id, kind, channel, recipient, subject, body,
                 session_id, created_at, status, attempts, next_attempt_at, sent_at)
               SELECT s.id || '.n' || k.k, CASE WHEN k.k < 8 THEN 'offer' ELSE 'matched' END,
                      CASE WHEN k.k % 2 = 0 THEN 'email' ELSE 'sms' END,
                      printf('mechanic%d@example.ca', k.k),
                      'New session near you: check engine light',
                      'A customer in Toronto needs help with a 2019 Honda Civic (check engine ' ||
                      'light, brake repair). Session ' || substr(s.id, 1, 8) || ' is yours if ' ||
                      'you accept within two minutes; reply in the app.',
                      s.id, s.created_at + k.k * 100, 'sent', 1, s.created_at + k.k * 100,
                      s.created_at + k.k * 100 + 250
               FROM sessions s, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2
                   UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
                   UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) k
               WHERE s.id LIKE 'H%' ORDER BY s.created_at, k.k;
             COMMIT;
             ANALYZE;"
        )))
        .expect("history");
}

/// What is live now, the same on both files: a session the veteran holds, and twenty waiting.
fn live(engine: &mut Engine) -> String {
    let mut requests = synth::intakes(21, 41).into_iter();
    let mut mine = requests.next().expect("one");
    mine.preferred_mechanic = Some(VET.into());
    engine.intake(with_id(mine, "MINE".into())).expect("intake");
    engine.accept("MINE", VET).expect("accept");
    for (i, req) in requests.enumerate() {
        engine
            .intake(with_id(req, format!("LIVE{i}")))
            .expect("intake");
    }
    "LIVE0".into()
}

/// Times `f` `n` times on each engine, alternating in rounds of 10; p50s (and p99s) in ms.
fn side_by_side(
    engines: &mut [&mut Engine; 2],
    n: usize,
    mut f: impl FnMut(&mut Engine, usize, usize),
) -> [Vec<f64>; 2] {
    let mut times = [Vec::with_capacity(n), Vec::with_capacity(n)];
    let mut done = 0;
    while done < n {
        for (which, engine) in engines.iter_mut().enumerate() {
            for k in done..(done + 10).min(n) {
                let start = Instant::now();
                f(engine, which, k);
                times[which].push(ms(start.elapsed()));
            }
        }
        done += 10;
    }
    times
}

fn row(t: &mut Table, name: &str, times: &[Vec<f64>; 2]) {
    let (empty, full) = (p(&times[0], 50.0), p(&times[1], 50.0));
    t.info(
        &format!("{name}: p50 empty / with history"),
        format!(
            "{empty:>7.3} / {full:>7.3} ms  (p99 {:.3} / {:.3})",
            p(&times[0], 99.0),
            p(&times[1], 99.0)
        ),
    );
    t.row(
        &format!("{name}: with history ÷ empty"),
        full / empty,
        "×",
        1.5,
        true,
    );
}

pub fn run(t: &mut Table, dir: &Path, quick: bool) {
    // PITWALL_HISTORY_SESSIONS: another size (1,000,000 prunes 900,000 sessions).
    let sessions: i64 = std::env::var("PITWALL_HISTORY_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 10_000 } else { 100_000 });
    println!(
        "\nHistory: one mechanic with {sessions} completed sessions, {} events, {} sent \
         messages, beside an empty history (1,000 mechanics each)",
        sessions * 10,
        sessions * 10
    );
    let started = Instant::now();
    let mut empty = database(&dir.join("history-empty.db"));
    let full_path = dir.join("history-full.db");
    let mut full = database(&full_path);
    fill_history(&full, sessions);
    let live_session = live(&mut empty);
    live(&mut full);
    t.info(
        "history written in",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );

    let mut engines = [&mut empty, &mut full];
    let queue = side_by_side(&mut engines, 500, |e, _, _| {
        std::hint::black_box(e.queue(VET).expect("queue"));
    });
    row(t, "a mechanic's queue", &queue);
    let session = side_by_side(&mut engines, 500, |e, _, _| {
        std::hint::black_box(e.session(&live_session).expect("session"));
    });
    row(t, "a session", &session);
    let requests: Vec<IntakeRequest> = synth::intakes(300, 77);
    let mut offered: [Vec<(String, String)>; 2] = [Vec::new(), Vec::new()];
    let intake = side_by_side(&mut engines, 300, |e, which, k| {
        // Each engine takes the same 300 customers; who was offered each is kept for accepts.
        let outcome = e
            .intake(with_id(requests[k].clone(), format!("N{k}")))
            .expect("intake");
        if let Some(first) = outcome.targeted.as_ref().and_then(|t| t.first()) {
            offered[which].push((format!("N{k}"), first.mechanic.clone()));
        }
    });
    row(t, "intake", &intake);
    let pairs = offered;
    let accepts = pairs[0].len().min(pairs[1].len()).min(200);
    // Accepts, each engine its own offers (the rankings may differ by a busy mechanic).
    let mut accept_times = [Vec::new(), Vec::new()];
    for round in (0..accepts).step_by(10) {
        for which in 0..2 {
            for (session, mechanic) in &pairs[which][round..(round + 10).min(accepts)] {
                let e = &mut *engines[which];
                let start = Instant::now();
                let taken = e.accept(session, mechanic);
                accept_times[which].push(ms(start.elapsed()));
                if taken.is_ok() {
                    let _ = e.complete(session);
                }
            }
        }
    }
    row(t, "accept", &accept_times);
    let tick = side_by_side(&mut engines, 1_000, |e, _, _| {
        std::hint::black_box(e.tick().expect("tick"));
    });
    row(t, "tick", &tick);
    let refresh = side_by_side(&mut engines, 60, |e, _, _| {
        std::hint::black_box(e.snapshot(false).expect("snapshot"));
    });
    row(t, "console refresh (snapshot)", &refresh);
    drop(empty);
    prune_under_load(t, &full_path, full, sessions, quick);
}

/// 90 % of the history pruned while another connection takes intakes at a steady pace (one
/// every 20 ms), and the longest write lock a step held. The prune runs in phases of
/// [`PHASE`] taking turns with phases in which it waits, so both halves of the intakes'
/// figures (with the prune and without it) are drawn from the same minutes of a shared
/// machine: measured one after the other, a slower spell of the host fell on one side only,
/// and p99s of ~1,000 intakes each read 0.4–1.5× from one run to the next. Once the intakes
/// stop, the rest is pruned on a quiet database (the prune then runs at full pace): both rates
/// are shown.
fn prune_under_load(t: &mut Table, path: &Path, mut engine: Engine, sessions: i64, quick: bool) {
    const PHASE: Duration = Duration::from_secs(2);
    // Time with the prune running, and as much without it.
    let window = Duration::from_secs(if quick { 8 } else { 30 });
    let running = Arc::new(AtomicBool::new(true));
    let pruning = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let customer = {
        let (running, pruning, latencies) = (running.clone(), pruning.clone(), latencies.clone());
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            let mut other = Engine::open(Some(&path), Clock::manual_default()).expect("open");
            let requests = synth::intakes(400, 5);
            let mut k = 0;
            let mut next = Instant::now();
            while running.load(Ordering::Relaxed) {
                let req = requests[k % requests.len()].clone();
                let during = pruning.load(Ordering::Relaxed);
                let start = Instant::now();
                other
                    .intake(with_id(req, format!("P{k}")))
                    .expect("intake during prune");
                let took = ms(start.elapsed());
                let mut l = latencies.lock().expect("latencies");
                if during {
                    l.1.push(took);
                } else {
                    l.0.push(took);
                }
                drop(l);
                k += 1;
                next += Duration::from_millis(20);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        })
    };
    let started = Instant::now();
    // Ten days of history are newer than 29 days; what is older is 90 % of it.
    let mut job = engine.start_prune(29, None).expect("prune");
    let mut busy = Duration::ZERO;
    let mut busy_sessions = 0;
    let mut more = true;
    while more && busy < window {
        // A phase without the prune, then one with it.
        std::thread::sleep(PHASE);
        pruning.store(true, Ordering::Relaxed);
        let phase = Instant::now();
        while more && phase.elapsed() < PHASE {
            more = engine.prune_step(&mut job, None).expect("prune step");
            std::thread::sleep(job.pause());
        }
        pruning.store(false, Ordering::Relaxed);
        busy += phase.elapsed();
        busy_sessions = job.report.removed.sessions;
    }
    // The intakes stop; what is left runs on a quiet database.
    running.store(false, Ordering::Relaxed);
    let quiet = Instant::now();
    while more {
        more = engine.prune_step(&mut job, None).expect("prune step");
        std::thread::sleep(job.pause());
    }
    let quiet_secs = quiet.elapsed().as_secs_f64().max(1e-9);
    let took = started.elapsed();
    let _ = customer.join();
    let report = job.report;
    let (before, during) = std::mem::take(&mut *latencies.lock().expect("latencies"));
    let removed = report.removed;
    let busy_secs = busy.as_secs_f64();
    t.info(
        &format!("prune of {} of {sessions} sessions", removed.sessions),
        format!(
            "{:.1} s, {} transactions ({} events, {} messages, {} offers)",
            took.as_secs_f64(),
            report.steps,
            removed.events,
            removed.notifications,
            removed.assignments,
        ),
    );
    t.info(
        "  sessions/s beside the intakes, then on a quiet database",
        format!(
            "{:.0}, then {:.0}",
            busy_sessions as f64 / busy_secs,
            (removed.sessions - busy_sessions) as f64 / quiet_secs
        ),
    );
    t.row(
        "prune: the longest write lock one step held",
        report.longest_lock_ms,
        "ms",
        100.0,
        true,
    );
    t.info(
        "intakes beside it: p50 / p99 without, with (2 s turns)",
        format!(
            "{:.2} / {:.2} ms ({} intakes), {:.2} / {:.2} ms ({} intakes)",
            p(&before, 50.0),
            p(&before, 99.0),
            before.len(),
            p(&during, 50.0),
            p(&during, 99.0),
            during.len()
        ),
    );
    t.row(
        "intake p99 while the prune runs ÷ while it waits",
        p(&during, 99.0) / p(&before, 99.0),
        "×",
        1.5,
        true,
    );
}
