//! Every performance figure pitwall promises, measured and printed beside its target.
//!
//!     cargo bench --bench perf            # the whole suite (about 40 s, after a first
//!                                         # build of 2–3 minutes on 2 cores)
//!     cargo bench --bench perf -- quick   # smaller runs, for a sanity check
//!     cargo bench --bench perf -- tick    # only the sections named (rank, intake, throughput,
//!                                         # tick, scheduling, history, console, memory,
//!                                         # delivery, http, pages, simulate, postgres)
//!     PITWALL_SOAK_MINUTES=60 cargo bench --bench perf -- soak
//!                                         # serve under steady load, a row a minute
//!                                         # (only when named; see perf/soak.rs)
//!
//! Release build, file databases in WAL with the durability setting pitwall ships with
//! (`synchronous = NORMAL`), in a temporary directory on the same file system for every figure,
//! the bare-SQLite baseline included.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pitwall::clock::Clock;
use pitwall::command::{IntakeRequest, SetSetting};
use pitwall::engine::Engine;
use pitwall::matching::{Candidate, Criteria, CriteriaInput, extract_keywords, rank};
use pitwall::report::percentile;
use pitwall::synth;
use pitwall::tui::app::{Action, App};
use pitwall::tui::theme::Theme;
use pitwall::tui::{drive, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Requests on months of history, side by side with none, and a prune of it under load.
#[path = "perf/history.rs"]
mod history;
/// Accepting through an offer's page against the API's accept.
#[path = "perf/pages.rs"]
mod pages;
/// Fresh databases on a PostgreSQL server, shared with the tests.
#[path = "../tests/it/common/pg.rs"]
mod pg;
/// `serve` under a steady load for a set time (`-- soak`, never part of the whole suite).
#[path = "perf/soak.rs"]
mod soak;

struct Table {
    failed: usize,
}

impl Table {
    fn row(&mut self, figure: &str, value: f64, unit: &str, target: f64, lower_is_better: bool) {
        let ok = if lower_is_better {
            value <= target
        } else {
            value >= target
        };
        if !ok {
            self.failed += 1;
        }
        let cmp = if lower_is_better { "≤" } else { "≥" };
        println!(
            "  {figure:<58} {value:>10.3} {unit:<4} target {cmp} {target:<8} {}",
            if ok { "✓" } else { "✗ MISSED" }
        );
    }

    fn info(&self, figure: &str, value: String) {
        println!("  {figure:<58} {value}");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn p(values: &[f64], q: f64) -> f64 {
    percentile(values, q).unwrap_or(f64::NAN)
}

fn engine_with_roster(dir: &Path, name: &str, mechanics: usize) -> Engine {
    engine_at(&dir.join(name), mechanics)
}

/// An engine on `db` (a file, or a `postgres://` URL as a path) with a synthetic roster.
fn engine_at(db: &Path, mechanics: usize) -> Engine {
    let mut engine = Engine::open(Some(db), Clock::manual_default()).expect("open");
    let roster = serde_json::to_string(&synth::roster(mechanics, 42)).expect("json");
    engine.load_seeds(&roster).expect("roster");
    engine
}

fn with_id(mut req: IntakeRequest, id: String) -> IntakeRequest {
    req.id = Some(id);
    req
}

fn criteria(req: &IntakeRequest) -> Criteria {
    Criteria::new(CriteriaInput {
        keywords: extract_keywords(&req.concern),
        request_type: Some(req.request_type),
        brands: &req.brands,
        vehicle_make: req.vehicle.make.as_deref(),
        country: req.location.country.as_deref(),
        postal_code: req.location.postal_code.as_deref(),
        city: req.location.city.as_deref(),
        prefer_local: true,
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
    })
}

/// Ranking alone, pure: the matcher over an in-memory roster.
fn rank_figures(t: &mut Table, sizes: &[usize]) {
    println!("\nRank the roster for one intake (pure matching)");
    let intakes = synth::intakes(300, 9);
    for &n in sizes {
        let roster: Vec<Candidate> = synth::roster(n, 42)
            .into_iter()
            .map(|v| {
                let req: pitwall::command::AddMechanic = serde_json::from_value(v).expect("seed");
                mechanic_of(req)
            })
            .map(Candidate::new)
            .collect();
        let mut times = Vec::new();
        for req in &intakes {
            let c = criteria(req);
            let start = Instant::now();
            let ranking = rank(&c, &roster, &[], 10, 3);
            times.push(ms(start.elapsed()));
            std::hint::black_box(ranking.total);
        }
        let target = match n {
            10_000 => Some(2.0),
            100_000 => Some(20.0),
            _ => None,
        };
        match target {
            Some(target) => t.row(
                &format!("rank p50, {n} mechanics"),
                p(&times, 50.0),
                "ms",
                target,
                true,
            ),
            None => t.info(
                &format!("rank p50, {n} mechanics"),
                format!("{:>10.3} ms", p(&times, 50.0)),
            ),
        }
        t.info(
            &format!("rank p99, {n} mechanics"),
            format!("{:>10.3} ms", p(&times, 99.0)),
        );
    }
}

/// A mechanic record straight from a seed object, for the pure ranking figure.
fn mechanic_of(req: pitwall::command::AddMechanic) -> pitwall::model::Mechanic {
    let now = Clock::manual_default().now();
    pitwall::model::Mechanic {
        id: req.id.unwrap_or_default(),
        name: req.name,
        email: req.email,
        phone: req.phone,
        city: req.city,
        state_province: req.state_province,
        country: req.country,
        postal_code: req.postal_code,
        years_experience: req.years_experience,
        rating: req.rating,
        completed_sessions: req.completed_sessions,
        profile_completion_score: req.profile_completion_score,
        account_status: req
            .account_status
            .unwrap_or(pitwall::model::AccountStatus::Approved),
        currently_on_shift: req.currently_on_shift,
        is_available: req.currently_on_shift,
        last_clock_in: None,
        certification_type: req.certification_type,
        certification_number: req.certification_number,
        certification_authority: req.certification_authority,
        certification_region: req.certification_region,
        certification_expiry: req.certification_expiry,
        red_seal_certified: req.red_seal_certified,
        red_seal_number: req.red_seal_number,
        red_seal_province: req.red_seal_province,
        is_brand_specialist: req.is_brand_specialist,
        brand_specializations: req.brand_specializations,
        service_keywords: req.service_keywords,
        max_active_sessions: req.max_active_sessions.unwrap_or(1),
        notify_via: req
            .notify_via
            .unwrap_or_else(|| vec![pitwall::model::Channel::Email]),
        plan: pitwall::schedule::validate_plan("", req.timezone.as_deref(), &req.shifts)
            .expect("synthetic plans are valid"),
        created_at: now,
        updated_at: now,
    }
}

/// Intake → session + offers committed, through the engine, on a file database.
fn intake_figures(t: &mut Table, dir: &Path, sizes: &[(usize, usize)]) {
    println!("\nIntake → session + offers committed (file database, WAL, synchronous=NORMAL)");
    for &(n, count) in sizes {
        let mut engine = engine_with_roster(dir, &format!("intake-{n}.db"), n);
        let times = intake_times(&mut engine, count);
        match n {
            1_000 => {
                t.row(
                    "intake p50, 1,000 mechanics",
                    p(&times, 50.0),
                    "ms",
                    1.0,
                    true,
                );
                t.row(
                    "intake p99, 1,000 mechanics",
                    p(&times, 99.0),
                    "ms",
                    5.0,
                    true,
                );
            }
            100_000 => {
                t.row(
                    "intake p50, 100,000 mechanics",
                    p(&times, 50.0),
                    "ms",
                    25.0,
                    true,
                );
                t.info(
                    "intake p99, 100,000 mechanics",
                    format!("{:>10.3} ms", p(&times, 99.0)),
                );
            }
            _ => {
                t.info(
                    &format!("intake p50, {n} mechanics"),
                    format!("{:>10.3} ms", p(&times, 50.0)),
                );
                t.info(
                    &format!("intake p99, {n} mechanics"),
                    format!("{:>10.3} ms", p(&times, 99.0)),
                );
            }
        }
    }
}

/// Milliseconds each of `count` single intakes took, one after the other, each committed before
/// the next; a first intake, which loads the roster into memory, is not counted.
fn intake_times(engine: &mut Engine, count: usize) -> Vec<f64> {
    let mut reqs = synth::intakes(count + 1, 11).into_iter().enumerate();
    let (_, first) = reqs.next().expect("one");
    engine
        .intake(with_id(first, "warm".into()))
        .expect("intake");
    let mut times = Vec::with_capacity(count);
    for (i, req) in reqs {
        let start = Instant::now();
        engine
            .intake(with_id(req, format!("I{i}")))
            .expect("intake");
        times.push(ms(start.elapsed()));
    }
    times
}

/// What pitwall stored for one intake (its "warm" one), read back so a baseline writes rows of
/// the same size: session metadata, a targeted offer's details, the broadcast's metadata and the
/// outbox rows (one per channel of each targeted offer's mechanic).
struct SampleRows {
    session_meta: String,
    assignment_meta: String,
    reasons: String,
    broadcast_meta: String,
    messages: Vec<(String, String, String, String, String)>,
}

fn sample_rows(engine: &Engine) -> SampleRows {
    let broadcast_meta: String = engine
        .connection()
        .query_row(
            pitwall::sql!(
                "SELECT d.metadata FROM session_assignments a \
             JOIN assignment_details d ON d.assignment_seq = a.seq \
             WHERE a.session_id = 'warm' AND a.match_type = 'broadcast'"
            ),
            pitwall::params![],
            |r| r.get(0),
        )
        .expect("the sample's broadcast");
    let (session_meta, assignment_meta, reasons): (String, String, String) = engine
        .connection()
        .query_row(
            pitwall::sql!(
                "SELECT s.metadata, d.metadata, d.match_reasons FROM sessions s \
             JOIN session_assignments a ON a.session_id = s.id \
             JOIN assignment_details d ON d.assignment_seq = a.seq \
             WHERE s.id = 'warm' AND a.match_type = 'targeted' LIMIT 1"
            ),
            pitwall::params![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a sample session");
    let messages = engine
        .connection()
        .prepare(pitwall::sql!(
            "SELECT kind, channel, recipient, subject, body FROM notifications \
             WHERE session_id = 'warm'"
        ))
        .and_then(|mut s| {
            s.query_map(pitwall::params![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect()
        })
        .expect("the sample's messages");
    SampleRows {
        session_meta,
        assignment_meta,
        reasons,
        broadcast_meta,
        messages,
    }
}

/// The offers a baseline intake writes: three targeted offers to mechanics of the 1,000-mechanic
/// roster (`g000000`…) and one held broadcast; (assignment id, mechanic) pairs.
fn baseline_offers(id: &str, rng: &mut synth::Rng) -> Vec<(String, Option<String>)> {
    let mut offers: Vec<(String, Option<String>)> = (1..=3)
        .map(|k| {
            let mechanic = format!("g{:06}", rng.below(1_000));
            (format!("{id}.t{k}"), Some(mechanic))
        })
        .collect();
    offers.push((format!("{id}.b"), None));
    offers
}

/// Sustained rates of pitwall and a baseline measured in paired rounds.
struct Sustained {
    pitwall: f64,
    baseline: f64,
    /// Median over the round pairs of baseline time ÷ pitwall time, in %.
    median_ratio: f64,
    rounds: usize,
}

impl Sustained {
    /// Prints the rates, the overall ratio and (as a figure with its target) the median ratio,
    /// each figure's name after `prefix`.
    fn report(&self, t: &mut Table, prefix: &str, pitwall: &str, baseline: &str, verdict: &str) {
        t.info(
            &format!("{prefix}{pitwall}"),
            format!("{:>10.0}", self.pitwall),
        );
        t.info(
            &format!("{prefix}{baseline}"),
            format!("{:>10.0}", self.baseline),
        );
        t.info(
            &format!("{prefix}pitwall / baseline over all {} rounds", self.rounds),
            format!("{:>10.1} %", self.pitwall / self.baseline * 100.0),
        );
        t.row(
            &format!("{prefix}{verdict}"),
            self.median_ratio,
            "%",
            50.0,
            false,
        );
    }
}

/// Rounds in pairs, one pitwall round and one baseline round over the same ids, the side that
/// goes first alternating from pair to pair: the machine's drift (page-cache writeback, other
/// work on the cores) hits both sides of a pair alike, and the median pair ignores a round that
/// one such stall landed in. Each side goes on with its own database from round to round.
fn paired_rounds(
    count: usize,
    rounds: usize,
    mut pitwall_intake: impl FnMut(usize),
    mut baseline_intake: impl FnMut(usize),
) -> Sustained {
    let per_round = count / rounds;
    let (mut pitwall_time, mut baseline_time) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let ids = round * per_round..(round + 1) * per_round;
        let timed = |intake: &mut dyn FnMut(usize)| {
            let start = Instant::now();
            ids.clone().for_each(&mut *intake);
            start.elapsed()
        };
        let (pitwall_round, baseline_round) = if round % 2 == 0 {
            let p = timed(&mut pitwall_intake);
            (p, timed(&mut baseline_intake))
        } else {
            let b = timed(&mut baseline_intake);
            (timed(&mut pitwall_intake), b)
        };
        ratios.push(baseline_round.as_secs_f64() / pitwall_round.as_secs_f64() * 100.0);
        pitwall_time += pitwall_round;
        baseline_time += baseline_round;
    }
    let done = (rounds * per_round) as f64;
    Sustained {
        pitwall: done / pitwall_time.as_secs_f64(),
        baseline: done / baseline_time.as_secs_f64(),
        median_ratio: p(&ratios, 50.0),
        rounds,
    }
}

/// Sustained intake throughput against bare rusqlite doing the same writes per intake: each side
/// alone, `count` intakes in a process of its own on fresh databases, the two taking turns in
/// pairs whose first side alternates; the figure is the median pair. Alone, each side runs as it
/// would sustain (its log written, copied back by its own checkpoint thread and started over
/// every 8,000 frames or so) with nothing of the other's left in the caches or on the disk's
/// queue, and pairs in turn still cancel the machine's drift. Rounds of 250 intakes taking turns
/// in one process, as this measured before 2026-12-06, read 42-44 % on a quiet machine while the
/// two alone read 61-63 %: pitwall ran 10 % slower than alone (its roster and statements evicted
/// by the other side's round every 250 intakes, the other database's copying still on the disk),
/// the baseline 15 % faster (each of its rounds began on a log copied back and started over while
/// pitwall ran), and the figure moved with the rounds' length (48-53 % at 1,500).
fn throughput_figures(t: &mut Table, dir: &Path, count: usize, pairs: usize) {
    println!("\nSustained intake throughput vs a bare-SQLite baseline (1,000 mechanics)");
    sqlite_alone(dir, count, pairs).report(
        t,
        "",
        "pitwall intakes per second (median)",
        "bare SQLite (same writes, no matching) per second (median)",
    );
}

/// The rates of [`throughput_figures`]' pairs, each side alone in a process of its own.
struct Alone {
    /// Intakes per second of each pair's pitwall side, and of its baseline side.
    pitwall: Vec<f64>,
    baseline: Vec<f64>,
    /// Baseline time ÷ pitwall time of each pair, in %.
    ratios: Vec<f64>,
}

impl Alone {
    /// Prints the median rates, and the median pair's ratio as a figure with its target.
    fn report(&self, t: &mut Table, prefix: &str, pitwall: &str, baseline: &str) {
        t.info(
            &format!("{prefix}{pitwall}"),
            format!("{:>10.0}", p(&self.pitwall, 50.0)),
        );
        t.info(
            &format!("{prefix}{baseline}"),
            format!("{:>10.0}", p(&self.baseline, 50.0)),
        );
        t.row(
            &format!(
                "{prefix}pitwall / baseline, each alone, median of {} pairs",
                self.ratios.len()
            ),
            p(&self.ratios, 50.0),
            "%",
            50.0,
            false,
        );
    }
}

/// `pairs` pairs of the two sides, each `count` intakes alone in a process of its own (this
/// bench run again with [`SIDE_ARG`]) on fresh databases in `dir`, the side that goes first
/// alternating from pair to pair.
fn sqlite_alone(dir: &Path, count: usize, pairs: usize) -> Alone {
    let alone = |side: &str, run: usize| -> f64 {
        let side_dir = dir.join(format!("throughput-{side}-{run}"));
        std::fs::create_dir_all(&side_dir).expect("dir");
        let out = Command::new(std::env::current_exe().expect("this bench"))
            .arg(SIDE_ARG)
            .arg(side)
            .arg(count.to_string())
            .arg(&side_dir)
            .stderr(Stdio::inherit())
            .output()
            .expect("a process for one side");
        assert!(out.status.success(), "the {side} side failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let ms_per_intake: f64 = text.trim().parse().expect("milliseconds per intake");
        let _ = std::fs::remove_dir_all(&side_dir);
        ms_per_intake
    };
    let mut figures = Alone {
        pitwall: Vec::new(),
        baseline: Vec::new(),
        ratios: Vec::new(),
    };
    for pair in 0..pairs {
        let (p, b) = if pair % 2 == 0 {
            let p = alone("pitwall", pair);
            (p, alone("baseline", pair))
        } else {
            let b = alone("baseline", pair);
            (alone("pitwall", pair), b)
        };
        figures.pitwall.push(1000.0 / p);
        figures.baseline.push(1000.0 / b);
        figures.ratios.push(b / p * 100.0);
    }
    figures
}

/// Sets up pitwall (1,000 mechanics, one warm intake) and the bare-SQLite baseline in `dir`, and
/// hands `run` an intake of each, by index below `count`.
fn sqlite_sides<R>(
    dir: &Path,
    count: usize,
    run: impl FnOnce(&mut dyn FnMut(usize), &mut dyn FnMut(usize)) -> R,
) -> R {
    let mut engine = engine_with_roster(dir, "throughput.db", 1_000);
    let reqs: Vec<IntakeRequest> = synth::intakes(count, 21);
    engine
        .intake(with_id(reqs[0].clone(), "warm".into()))
        .expect("warm");
    let sample = sample_rows(&engine);

    // The baseline writes what an intake writes — one session row, four assignment rows and
    // the outbox rows of its offers, with metadata and messages of the same size — in one
    // BEGIN IMMEDIATE transaction, with the same pragmas (pitwall's own open) and the same
    // background checkpointer, and no matching, validation, intake row or audit events.
    let baseline_path = dir.join("baseline.db");
    let mut db = pitwall::store::open(Some(&baseline_path)).expect("baseline db");
    let _checkpointer = pitwall::store::checkpoint::Checkpointer::start(&baseline_path, &mut db)
        .expect("checkpointer");
    let conn = db.sqlite().expect("a file database is SQLite");
    conn.execute(
        "INSERT INTO intakes (id, customer_name, location_country, location_postal_code, concern, created_at) \
         VALUES ('x', 'x', 'Canada', 'M5V 3L9', 'x', 0)",
        [],
    )
    .expect("intake row");
    conn.execute_batch(
        "INSERT INTO mechanics (id, name, created_at, updated_at) \
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) \
         SELECT printf('g%06d', i), 'M', 0, 0 FROM n",
    )
    .expect("mechanics");
    let mut rng = synth::Rng::new(99);
    let mut baseline_intake = |i: usize| {
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
                .expect("begin");
        let id = format!("B{i}");
        tx.prepare_cached(
            "INSERT INTO sessions (id, intake_id, status, payment_method, metadata, created_at, released_at) \
             VALUES (?1, 'x', 'waiting', 'free', ?2, 0, 0)",
        )
        .and_then(|mut s| s.execute(rusqlite::params![id, sample.session_meta]))
        .expect("session");
        // An assignment is stored as two rows (its state and its details), as pitwall's
        // schema has it; the baseline writes both, like pitwall.
        for (assignment, mechanic) in baseline_offers(&id, &mut rng) {
            let offered = mechanic.is_some();
            tx.prepare_cached(
                "INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status, \
                 priority, match_score, offered_at, expires_at, active_from, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    assignment,
                    id,
                    mechanic,
                    if offered { "targeted" } else { "broadcast" },
                    if offered { "offered" } else { "queued" },
                    if offered { "high" } else { "normal" },
                    offered.then_some(150),
                    offered.then_some(0),
                    offered.then_some(120_000),
                    (!offered).then_some(120_000),
                ])
            })
            .expect("assignment");
            let (reasons, meta) = if offered {
                (sample.reasons.as_str(), sample.assignment_meta.as_str())
            } else {
                ("[]", sample.broadcast_meta.as_str())
            };
            tx.prepare_cached(
                "INSERT INTO assignment_details (assignment_seq, match_reasons, metadata) \
                 VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(rusqlite::params![tx.last_insert_rowid(), reasons, meta]))
            .expect("details");
        }
        for (kind, channel, recipient, subject, body) in &sample.messages {
            tx.prepare_cached(
                "INSERT INTO notifications (id, kind, channel, recipient, subject, body, \
                 session_id, created_at, status, attempts, next_attempt_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 'pending', 0, 0)",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    uuid::Uuid::now_v7().to_string(),
                    kind,
                    channel,
                    recipient,
                    subject,
                    body,
                    id
                ])
            })
            .expect("message");
        }
        tx.commit().expect("commit");
    };
    run(
        &mut |i| {
            engine
                .intake(with_id(reqs[i].clone(), format!("T{i}")))
                .expect("intake");
        },
        &mut baseline_intake,
    )
}

/// Which side a process of its own measures ([`throughput_side`]).
const SIDE_ARG: &str = "throughput-side";

/// In a process started by [`throughput_figures`]: one side alone, `count` intakes on fresh
/// databases in `dir`; prints its milliseconds per intake.
fn throughput_side(side: &str, count: usize, dir: &Path) {
    let ms = sqlite_sides(dir, count, |pitwall, baseline| {
        let start = Instant::now();
        if side == "pitwall" {
            (0..count).for_each(pitwall);
        } else {
            (0..count).for_each(baseline);
        }
        ms(start.elapsed()) / count as f64
    });
    println!("{ms}");
}

/// The PostgreSQL server of the `postgres` section: `PITWALL_BENCH_POSTGRES`, else the tests'
/// `PITWALL_TEST_POSTGRES`.
fn bench_server() -> Option<String> {
    ["PITWALL_BENCH_POSTGRES", pg::SERVER_VAR]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|url| !url.trim().is_empty()))
}

/// `url` with a server setting for its sessions (`options=-c name=value`).
fn with_setting(url: &str, setting: Option<&str>) -> String {
    match setting {
        None => url.to_owned(),
        Some(setting) => {
            let joiner = if url.contains('?') { '&' } else { '?' };
            format!("{url}{joiner}options=-c%20{}", setting.replace('=', "%3D"))
        }
    }
}

/// A bare `postgres` client writing what an intake writes, as a careful hand-written client
/// would: every statement prepared once, one round trip each, an assignment's sequence number
/// from `INSERT … RETURNING`, and the same transaction pitwall runs — SERIALIZABLE, with
/// `NOTIFY pitwall` — whose NOTIFY and COMMIT go in one round trip.
struct BarePostgres {
    client: postgres::Client,
    intake: postgres::Statement,
    session: postgres::Statement,
    assignment: postgres::Statement,
    details: postgres::Statement,
    message: postgres::Statement,
    sample: SampleRows,
    rng: synth::Rng,
}

impl BarePostgres {
    /// On `url`, a database with pitwall's schema (made by pitwall's own open) and nothing else:
    /// the baseline adds 1,000 bare mechanic rows for its offers to point at.
    fn connect(url: &str, sample: SampleRows) -> BarePostgres {
        drop(pitwall::store::open(Some(Path::new(url))).expect("the baseline's schema"));
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        client
            .batch_execute(
                "INSERT INTO mechanics (id, name, created_at, updated_at) \
                 SELECT 'g' || lpad(i::text, 6, '0'), 'M', 0, 0 FROM generate_series(0, 999) i",
            )
            .expect("mechanics");
        let mut prepare = |sql: &str| client.prepare(sql).expect("prepare");
        let intake = prepare(
            "INSERT INTO intakes (id, customer_name, location_country, location_postal_code, \
             concern, created_at) VALUES ($1, $2, 'Canada', 'M5V 3L9', $3, 0)",
        );
        let session = prepare(
            "INSERT INTO sessions (id, intake_id, status, payment_method, metadata, created_at, \
             released_at) VALUES ($1, $1, 'waiting', 'free', $2, 0, 0)",
        );
        let assignment = prepare(
            "INSERT INTO session_assignments (id, session_id, mechanic_id, match_type, status, \
             priority, match_score, offered_at, expires_at, active_from, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0) RETURNING seq",
        );
        let details = prepare(
            "INSERT INTO assignment_details (assignment_seq, match_reasons, metadata) \
             VALUES ($1, $2, $3)",
        );
        let message = prepare(
            "INSERT INTO notifications (id, kind, channel, recipient, subject, body, \
             session_id, created_at, status, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'pending', 0, 0)",
        );
        BarePostgres {
            client,
            intake,
            session,
            assignment,
            details,
            message,
            sample,
            rng: synth::Rng::new(99),
        }
    }

    fn intake(&mut self, i: usize, req: &IntakeRequest) {
        let id = format!("B{i}");
        let c = &mut self.client;
        c.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .expect("begin");
        c.execute(&self.intake, &[&id, &req.customer.name, &req.concern])
            .expect("intake");
        c.execute(&self.session, &[&id, &self.sample.session_meta])
            .expect("session");
        for (assignment, mechanic) in baseline_offers(&id, &mut self.rng) {
            let offered = mechanic.is_some();
            let seq: i64 = c
                .query_one(
                    &self.assignment,
                    &[
                        &assignment,
                        &id,
                        &mechanic,
                        &if offered { "targeted" } else { "broadcast" },
                        &if offered { "offered" } else { "queued" },
                        &if offered { "high" } else { "normal" },
                        &offered.then_some(150_i64),
                        &offered.then_some(0_i64),
                        &offered.then_some(120_000_i64),
                        &(!offered).then_some(120_000_i64),
                    ],
                )
                .expect("assignment")
                .get(0);
            let (reasons, meta) = if offered {
                (&self.sample.reasons, &self.sample.assignment_meta)
            } else {
                (&"[]".to_owned(), &self.sample.broadcast_meta)
            };
            c.execute(&self.details, &[&seq, reasons, meta])
                .expect("details");
        }
        for (kind, channel, recipient, subject, body) in &self.sample.messages {
            let message_id = uuid::Uuid::now_v7().to_string();
            c.execute(
                &self.message,
                &[&message_id, kind, channel, recipient, subject, body, &id],
            )
            .expect("message");
        }
        c.batch_execute("NOTIFY pitwall; COMMIT").expect("commit");
    }
}

/// Sustained intakes of pitwall on `engine_url` against [`BarePostgres`] on `baseline_url`.
fn postgres_throughput(engine_url: &str, baseline_url: &str, count: usize) -> Sustained {
    let mut engine = engine_at(Path::new(engine_url), 1_000);
    let reqs: Vec<IntakeRequest> = synth::intakes(count, 21);
    engine
        .intake(with_id(reqs[0].clone(), "warm".into()))
        .expect("warm");
    let mut bare = BarePostgres::connect(baseline_url, sample_rows(&engine));
    paired_rounds(
        count,
        12,
        |i| {
            engine
                .intake(with_id(reqs[i].clone(), format!("T{i}")))
                .expect("intake");
        },
        |i| bare.intake(i, &reqs[i]),
    )
}

/// Issue #14's figures in one run: intake p50/p99 and sustained throughput of pitwall on SQLite
/// and on PostgreSQL (a server on loopback, fresh databases dropped at the end), each against its
/// bare baseline. PostgreSQL runs as the server is configured (a stock server fsyncs every
/// commit), then once more with `synchronous_commit = off` for comparison: SQLite's
/// `synchronous = NORMAL` does not fsync each commit either.
fn postgres_figures(t: &mut Table, dir: &Path, quick: bool) {
    println!("\nSQLite vs PostgreSQL on loopback, side by side (1,000 mechanics)");
    let Some(server) = bench_server() else {
        println!(
            "  skipped: set PITWALL_BENCH_POSTGRES (or {}) to a server's URL; for a throwaway \
             one: bash .ci/postgres.sh start && source target/postgres.env",
            pg::SERVER_VAR
        );
        return;
    };
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).expect("the server");
    let settings: Vec<String> = [
        "server_version",
        "fsync",
        "synchronous_commit",
        "wal_sync_method",
    ]
    .iter()
    .map(|name| {
        let value: String = admin
            .query_one(&format!("SHOW {name}"), &[])
            .expect("SHOW")
            .get(0);
        format!("{name}={value}")
    })
    .collect();
    t.info("PostgreSQL server", settings.join(" "));
    let (latency_count, count) = if quick { (300, 600) } else { (1_000, 1_200) };

    let side = dir.join("side-by-side");
    std::fs::create_dir_all(&side).expect("dir");
    let sqlite_times = intake_times(
        &mut engine_with_roster(&side, "latency.db", 1_000),
        latency_count,
    );
    t.info(
        "SQLite: intake p50 / p99",
        format!(
            "{:>10.3} / {:.3} ms",
            p(&sqlite_times, 50.0),
            p(&sqlite_times, 99.0)
        ),
    );
    // SQLite's two sides each alone, as the throughput section measures them: taking turns in
    // this process, each round evicts the other side's caches and leaves its database's
    // copying on the disk (see [`throughput_figures`]); rounds of 100 read 47-54 % here.
    sqlite_alone(&side, count, 3).report(
        t,
        "SQLite: ",
        "pitwall intakes per second (median)",
        "bare client (same writes) per second (median)",
    );

    for (label, setting) in [
        ("PostgreSQL", None),
        ("PostgreSQL async", Some("synchronous_commit=off")),
    ] {
        if setting.is_some() {
            println!("  (async: synchronous_commit=off, no fsync per commit; for comparison only)");
        }
        let databases = [(); 3].map(|()| pg::TestDb::create(&server));
        let [latency_url, engine_url, baseline_url] = databases
            .each_ref()
            .map(|db| with_setting(&db.url, setting));
        let times = intake_times(
            &mut engine_at(Path::new(&latency_url), 1_000),
            latency_count,
        );
        t.info(
            &format!("{label}: intake p50 / p99"),
            format!("{:>10.3} / {:.3} ms", p(&times, 50.0), p(&times, 99.0)),
        );
        postgres_throughput(&engine_url, &baseline_url, count).report(
            t,
            &format!("{label}: "),
            "pitwall intakes per second",
            "bare client (same writes) per second",
            "pitwall / bare, median of paired rounds",
        );
    }
}

/// The tick: expiring 10,000 due offers at once (the median of several such ticks, each on a
/// fresh batch of sessions, so the figure is not one noisy sample). The tick with nothing due is
/// measured on a large history, in the `history` section (perf/history.rs).
fn tick_figures(t: &mut Table, dir: &Path, quick: bool) {
    println!("\nTick");
    let mut engine = engine_with_roster(dir, "tick.db", 1_000);
    // Escalation is measured on its own below: here the rounds' sessions (nobody accepts them)
    // must not reach the escalation delay inside a measured expiry tick.
    engine
        .set_setting(SetSetting {
            name: "escalate_after_seconds".into(),
            value: 86_400,
        })
        .expect("setting");
    let (sessions, rounds) = if quick { (1_000, 1) } else { (3_334, 5) };
    let mut ticks = Vec::with_capacity(rounds);
    let (mut expired, mut activated, mut clocked_out) = (0, 0, 0);
    for round in 0..rounds {
        let mut offers = 0;
        for (i, req) in synth::intakes(sessions, 31 + round as u64)
            .into_iter()
            .enumerate()
        {
            let mut req = req;
            req.payment_method = Some(pitwall::model::PaymentMethod::Free);
            req.request_type = pitwall::model::RequestType::General;
            req.brands.clear();
            offers += engine
                .intake(with_id(req, format!("K{round}-{i}")))
                .expect("intake")
                .targeted
                .map_or(0, |t| t.len());
        }
        let start = Instant::now();
        let tick = engine.advance(120).expect("tick");
        ticks.push(ms(start.elapsed()));
        assert_eq!(tick.expired.len(), offers);
        (expired, activated) = (offers, tick.activated.len());
        clocked_out = tick.auto_clocked_out.len();
        // Three unanswered offers in a row clock a mechanic out (SPEC §5); the next round's
        // mechanics are back on shift, so every round expires as many offers.
        for mechanic in tick.auto_clocked_out {
            engine.clock_in(&mechanic).expect("clock in");
        }
    }
    t.info(
        "mechanics clocked out for unanswered offers per tick (last)",
        format!("{clocked_out:>10}"),
    );
    // Every session of those rounds still waits: one tick escalates them all at once.
    engine
        .set_setting(SetSetting {
            name: "escalate_after_seconds".into(),
            value: 1,
        })
        .expect("setting");
    let start = Instant::now();
    let tick = engine.advance(1).expect("tick");
    let escalating = ms(start.elapsed());
    t.info(
        &format!("tick escalating {} waiting sessions", tick.escalated.len()),
        format!("{escalating:>10.3} ms"),
    );
    t.info(
        "offers expired / broadcasts opened per tick (last)",
        format!("{expired:>10} / {activated}"),
    );
    t.row(
        &format!("tick expiring {expired} due offers, p50 of {rounds}"),
        p(&ticks, 50.0),
        "ms",
        50.0,
        true,
    );
    t.info(
        "slowest of those ticks",
        format!("{:>10.3} ms", p(&ticks, 100.0)),
    );
}

/// Scheduling (SPEC §14): the slots a dispatcher books from, and the tick that releases due
/// bookings (each released runs the intake's matching and offers).
fn scheduling_figures(t: &mut Table, dir: &Path, quick: bool) {
    println!("\nScheduling");
    let mechanics = if quick { 1_000 } else { 10_000 };
    let mut engine = engine_with_roster(dir, "slots.db", mechanics);
    let requests: Vec<IntakeRequest> = synth::intakes(50, 7);
    let mut times = Vec::with_capacity(requests.len());
    let mut listed = 0;
    for req in &requests {
        let slots = pitwall::command::SlotsRequest {
            intake: req.clone(),
            from: None,
            days: Some(7),
        };
        let start = Instant::now();
        listed = engine.slots(slots).expect("slots").slots.len();
        times.push(ms(start.elapsed()));
    }
    t.info(
        "hourly slots listed (last request)",
        format!("{listed:>10}"),
    );
    t.row(
        &format!(
            "slots over 7 days, {mechanics} mechanics (p50 of {})",
            times.len()
        ),
        p(&times, 50.0),
        "ms",
        20.0,
        true,
    );
    t.info(
        "slowest of those (the first loads the roster)",
        format!("{:>10.3} ms", p(&times, 100.0)),
    );

    // 10,000 bookings over the next two days, the first 1,000 within the release window
    // once the clock moves 30 minutes: one tick releases exactly those. Three rounds, each on
    // a new file (the machine is shared: one round is one noisy sample).
    let (booked, due) = if quick { (2_000, 200) } else { (10_000, 1_000) };
    let rounds = if quick { 1 } else { 3 };
    let mut releasing = Vec::with_capacity(rounds);
    let mut engine = engine_with_roster(dir, "release-0.db", 1_000);
    for round in 0..rounds {
        if round > 0 {
            engine = engine_with_roster(dir, &format!("release-{round}.db"), 1_000);
        }
        let now = engine.now();
        for (i, req) in synth::intakes(booked, 11 + round as u64)
            .into_iter()
            .enumerate()
        {
            let mut req = with_id(req, format!("B{i}"));
            req.payment_method = Some(pitwall::model::PaymentMethod::Free);
            let at = if i < due {
                // 15–40 minutes ahead: due (10 minutes ahead) once the clock is 30 minutes on.
                now + chrono::Duration::seconds(900 + (i as i64 * 1_500 / due as i64))
            } else {
                now + chrono::Duration::minutes(60 + (i as i64 % 2_800))
            };
            req.scheduled_for = Some(pitwall::clock::rfc3339(at));
            engine.intake(req).expect("booking");
        }
        let start = Instant::now();
        let tick = engine.advance(30 * 60).expect("tick");
        releasing.push(ms(start.elapsed()));
        assert_eq!(tick.released.len(), due);
    }
    t.row(
        &format!("tick releasing {due} of {booked} bookings, 1,000 mechanics, p50 of {rounds}"),
        p(&releasing, 50.0),
        "ms",
        200.0,
        true,
    );
    let mut idle = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        std::hint::black_box(engine.tick().expect("tick"));
        idle.push(ms(start.elapsed()));
    }
    t.row(
        &format!("tick with {} bookings none due, p50", booked - due),
        p(&idle, 50.0),
        "ms",
        0.2,
        true,
    );
}

/// History: 100,000 closed sessions (400,000 assignments) written straight into the file, then
/// the hot reads measured on top of it.
/// The console with 10,000 waiting sessions: first frame, full redraws, and idle CPU.
fn console_figures(t: &mut Table, dir: &Path, quick: bool) {
    let waiting = if quick { 2_000 } else { 10_000 };
    println!("\nConsole with {waiting} waiting sessions");
    let path = dir.join("console.db");
    let mut engine = Engine::open(Some(&path), Clock::manual_default()).expect("open");
    engine.load_seeds(pitwall::DEMO_ROSTER).expect("roster");
    for (i, req) in synth::intakes(waiting, 3).into_iter().enumerate() {
        engine
            .intake(with_id(req, format!("S{i:05}")))
            .expect("intake");
    }
    let start = Instant::now();
    let snapshot = engine.snapshot(false).expect("snapshot");
    let mut app = App::new(engine.now(), Theme { color: true });
    app.size = (120, 40);
    drive(
        &mut app,
        &mut engine,
        Action::Snapshot(Box::new(snapshot)),
        &mut || {},
    );
    let key = |c: char| Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    drive(&mut app, &mut engine, key('2'), &mut || {});
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|f| render::render(&app, f)).expect("draw");
    t.row(
        "first frame (snapshot load + draw)",
        ms(start.elapsed()),
        "ms",
        150.0,
        true,
    );

    let mut redraws = Vec::new();
    for i in 0..300 {
        drive(
            &mut app,
            &mut engine,
            key(if i % 2 == 0 { 'j' } else { 'k' }),
            &mut || {},
        );
        terminal.clear().expect("clear");
        let start = Instant::now();
        terminal.draw(|f| render::render(&app, f)).expect("draw");
        redraws.push(ms(start.elapsed()));
    }
    t.row("full redraw, p50", p(&redraws, 50.0), "ms", 4.0, true);
    t.info(
        "full redraw, p99",
        format!("{:>10.3} ms", p(&redraws, 99.0)),
    );
    let mut refreshes = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let s = engine.snapshot(false).expect("snapshot");
        drive(
            &mut app,
            &mut engine,
            Action::Snapshot(Box::new(s)),
            &mut || {},
        );
        refreshes.push(ms(start.elapsed()));
    }
    t.info(
        "snapshot refresh (only when the data changed), p50",
        format!("{:>10.3} ms", p(&refreshes, 50.0)),
    );
    drop(engine);
    match idle_cpu(&path, if quick { 5 } else { 15 }) {
        Some(percent) => t.row("idle CPU of the running console", percent, "%", 1.0, true),
        None => t.info(
            "idle CPU of the running console",
            "not measured (needs tmux and /proc)".into(),
        ),
    }
}

/// Runs the real console in tmux on `db` for `seconds` and reads its CPU time from /proc.
fn idle_cpu(db: &Path, seconds: u64) -> Option<f64> {
    let session = format!("pitwall-bench-{}", std::process::id());
    let home = db.parent()?.join("console-home");
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "40"])
        .arg(format!(
            "PITWALL_HOME={} {} --db {}",
            home.display(),
            env!("CARGO_BIN_EXE_pitwall"),
            db.display()
        ))
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    std::thread::sleep(Duration::from_secs(2));
    let pid = Command::new("tmux")
        .args(["list-panes", "-t", &session, "-F", "#{pane_pid}"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u32>().ok());
    let cpu = |pid: u32| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        Some(fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?)
    };
    let result = pid.and_then(|pid| {
        let before = cpu(pid)?;
        std::thread::sleep(Duration::from_secs(seconds));
        let after = cpu(pid)?;
        Some((after - before) / 100.0 / seconds as f64 * 100.0)
    });
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    result
}

/// Peak memory of a `pitwall headless` process dispatching over 100,000 mechanics.
fn memory_figure(t: &mut Table, dir: &Path, quick: bool) {
    let n = if quick { 20_000 } else { 100_000 };
    println!("\nPeak memory");
    let path = dir.join("memory.db");
    drop(engine_with_roster(dir, "memory.db", n));
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["headless", "--clock", "manual", "--db"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pitwall headless");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    for (i, mut req) in synth::intakes(50, 51).into_iter().enumerate() {
        req.id = Some(format!("M{i}"));
        let line = serde_json::to_string(&pitwall::command::Command::Intake(req)).expect("json");
        writeln!(stdin, "{line}").expect("write");
        let mut response = String::new();
        out.read_line(&mut response).expect("read");
        assert!(response.contains("\"ok\":true"), "{response}");
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    drop(stdin);
    child.wait().expect("exit");
    t.row(
        &format!("peak memory, {n} mechanics, 50 intakes"),
        peak_kb / 1024.0,
        "MB",
        100.0,
        true,
    );
}

/// A loopback webhook receiver: HTTP/1.1 with keep-alive, every request answered 200 at once.
/// Counts what it received, so the figure is of messages that arrived.
fn webhook_receiver() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut out = stream;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                        return;
                    }
                    counted.fetch_add(1, Ordering::Relaxed);
                    if out
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, count)
}

fn pending_rows(engine: &Engine) -> i64 {
    engine
        .connection()
        .query_row(
            pitwall::sql!("SELECT COUNT(*) FROM notifications WHERE status = 'pending'"),
            pitwall::params![],
            |r| r.get(0),
        )
        .expect("count")
}

/// Delivery (SPEC §12): messages per second through the relay to a loopback webhook, and intake
/// latency with the relay idle and with it draining the outbox from another thread, side by side.
fn delivery_figures(t: &mut Table, dir: &Path, quick: bool) {
    println!("\nDelivery: relay → loopback webhook receiver (signed), 1,000 mechanics");
    let (port, received) = webhook_receiver();
    let config = pitwall::delivery::Config::parse(&format!(
        "[delivery]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
         [delivery.email]\nwebhook = \"http://127.0.0.1:{port}/e\"\n\
         [delivery.sms]\nwebhook = \"http://127.0.0.1:{port}/s\"\n\
         [delivery.push]\nwebhook = \"http://127.0.0.1:{port}/p\"\n\
         [delivery.dispatcher]\nwebhook = \"http://127.0.0.1:{port}/d\"\n"
    ))
    .expect("config");
    let db = dir.join("delivery.db");
    // The system clock, as the relays': offers made on another clock would have ended when
    // the relay takes them, and would be skipped rather than sent.
    let mut engine = Engine::open(Some(&db), Clock::System).expect("open");
    let roster = serde_json::to_string(&synth::roster(1_000, 42)).expect("json");
    engine.load_seeds(&roster).expect("roster");
    let count = if quick { 300 } else { 1_000 };
    let mut reqs = synth::intakes(3 * count + 1, 23).into_iter().enumerate();

    // Throughput: a backlog written by intakes, drained by one relay pass after another.
    for (i, req) in reqs.by_ref().take(count) {
        engine
            .intake(with_id(req, format!("D{i}")))
            .expect("intake");
    }
    let backlog = pending_rows(&engine);
    let relay = pitwall::delivery::Relay::new(&config).expect("relay");
    let conn = pitwall::store::open(Some(&db)).expect("open");
    let start = Instant::now();
    let mut sent = 0;
    loop {
        let report = relay.pass(&conn, &chrono::Utc::now).expect("pass");
        if report.is_empty() {
            break;
        }
        assert!(report.skipped.is_empty(), "every offer still live");
        sent += report.sent.len();
    }
    let elapsed = start.elapsed().as_secs_f64();
    t.row(
        &format!("notifications delivered per second ({sent} of {backlog})"),
        sent as f64 / elapsed,
        "/s",
        500.0,
        false,
    );
    assert_eq!(
        received.load(std::sync::atomic::Ordering::Relaxed),
        sent,
        "every message counted as sent arrived"
    );
    drop(conn);

    // Intake latency: relay idle, then relay draining the outbox on its own thread.
    let mut measure = |engine: &mut Engine, label: &str| {
        let mut times = Vec::with_capacity(count);
        for (i, req) in reqs.by_ref().take(count) {
            let start = Instant::now();
            engine
                .intake(with_id(req, format!("{label}{i}")))
                .expect("intake");
            times.push(ms(start.elapsed()));
        }
        times
    };
    let idle = measure(&mut engine, "Q");
    let background = pitwall::delivery::Background::spawn(
        db.clone(),
        pitwall::delivery::Relay::new(&config).expect("relay"),
        |_| {},
    );
    // Measure only once the relay is sending (its backlog lasts longer than the intakes).
    let waiting = pending_rows(&engine);
    while pending_rows(&engine) > waiting - 50 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let before = pending_rows(&engine);
    let busy_start = Instant::now();
    let busy = measure(&mut engine, "B");
    let busy_seconds = busy_start.elapsed().as_secs_f64();
    let after = pending_rows(&engine);
    drop(background);
    let drained = before + 3 * count as i64 - after;
    t.info(
        "relay at work during the second run",
        format!(
            "{:>10} rows sent meanwhile ({:.0}/s, backlog {before}; intakes back to back)",
            drained.max(0),
            drained.max(0) as f64 / busy_seconds
        ),
    );
    t.info(
        "intake p50 / p99, relay idle",
        format!("{:>10.3} / {:.3} ms", p(&idle, 50.0), p(&idle, 99.0)),
    );
    t.info(
        "intake p50 / p99, relay delivering",
        format!("{:>10.3} / {:.3} ms", p(&busy, 50.0), p(&busy, 99.0)),
    );
    t.row(
        "intake p50 with the relay delivering, 1,000 mechanics",
        p(&busy, 50.0),
        "ms",
        1.0,
        true,
    );
    t.row(
        "intake p99 with the relay delivering, 1,000 mechanics",
        p(&busy, 99.0),
        "ms",
        5.0,
        true,
    );
}

/// A file database with the synthetic roster of `mechanics`, on the system clock (as `serve`).
fn file_with_roster(dir: &Path, name: &str, mechanics: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut engine = Engine::open(Some(&path), Clock::System).expect("open");
    let roster = serde_json::to_string(&synth::roster(mechanics, 42)).expect("json");
    engine.load_seeds(&roster).expect("roster");
    path
}

/// The same intakes through the real binary twice in one run: piped into `pitwall headless`,
/// and posted to `pitwall serve` by 32 concurrent HTTP clients (keep-alive, one connection
/// each), on the machine's cores, 1,000 mechanics.
fn http_figures(t: &mut Table, dir: &Path, count: usize) {
    const CLIENTS: usize = 32;
    println!(
        "\nHTTP API vs headless: {count} intakes, 1,000 mechanics, {CLIENTS} HTTP clients, {} cores{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average().map_or(String::new(), |l| format!(
            ", load average {l} at the start"
        ))
    );
    let lines: Vec<String> = synth::intakes(count, 77)
        .into_iter()
        .map(|req| serde_json::to_string(&pitwall::command::Command::Intake(req)).expect("json"))
        .collect();

    // Headless: one process reading the lines, answering each after its commit.
    let headless_db = file_with_roster(dir, "http-headless.db", 1_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["headless", "--clock", "system", "--db"])
        .arg(&headless_db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("headless");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = lines.join("\n") + "\n";
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).expect("write");
    });
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut answered = 0;
    for line in out.lines() {
        let line = line.expect("line");
        assert!(line.starts_with("{\"ok\":true"), "{line}");
        answered += 1;
    }
    let headless_secs = started.elapsed().as_secs_f64();
    writer.join().expect("writer");
    let _ = child.wait();
    assert_eq!(answered, count);
    let headless_rate = count as f64 / headless_secs;

    // HTTP: the server on its own file with the same roster, a rate limit out of the way.
    let http_db = file_with_roster(dir, "http-serve.db", 1_000);
    let config = dir.join("http-bench.toml");
    std::fs::write(
        &config,
        "[serve]\nrate_per_second = 1000000\nburst = 1000000\n",
    )
    .expect("config");
    let token_out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "create", "--role", "intake", "--db"])
        .arg(&http_db)
        .output()
        .expect("token");
    let token = String::from_utf8(token_out.stdout)
        .expect("utf8")
        .trim()
        .to_string();
    let (mut server, base) = serve_on_loopback(
        Path::new(env!("CARGO_BIN_EXE_pitwall")),
        &http_db,
        &config,
        Stdio::null(),
    );
    let url = format!("{base}/v1/commands");
    let auth = format!("Bearer {token}");
    let (http_secs, mut latencies) = http_load(&url, &auth, &lines, CLIENTS);
    // The same load from 8 clients: with one writer, a request waits behind the others in
    // flight, so the latency at 32 is mostly queueing (Little's law: 32 / throughput).
    let (_, mut few) = http_load(&url, &auth, &lines[..count / 2], 8);
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    let _ = server.0.wait();
    latencies.sort_by(|a, b| a.total_cmp(b));
    few.sort_by(|a, b| a.total_cmp(b));
    let http_rate = count as f64 / http_secs;
    t.info(
        "headless intakes/s (one process, stdin)",
        format!("{headless_rate:.0}"),
    );
    t.info("HTTP intakes/s (32 clients)", format!("{http_rate:.0}"));
    t.row(
        "HTTP throughput as a share of headless",
        100.0 * http_rate / headless_rate,
        "%",
        70.0,
        false,
    );
    t.info("HTTP latency p50", format!("{:.2} ms", p(&latencies, 50.0)));
    // The tail's shape: a smooth climb is queueing behind the other clients (less work per
    // intake shortens it); a jump between p98 and p99 is a stall someone should find.
    t.info(
        "HTTP latency p90 / p95 / p98 / max (32 clients)",
        format!(
            "{:.1} / {:.1} / {:.1} / {:.1} ms",
            p(&latencies, 90.0),
            p(&latencies, 95.0),
            p(&latencies, 98.0),
            latencies.last().copied().unwrap_or(0.0)
        ),
    );
    t.row(
        "HTTP latency p99 (32 clients)",
        p(&latencies, 99.0),
        "ms",
        20.0,
        true,
    );
    t.info(
        "HTTP latency p50 / p99 with 8 clients",
        format!("{:.2} / {:.2} ms", p(&few, 50.0), p(&few, 99.0)),
    );
}

/// A child process killed when dropped: a section that fails half-way (a failed assertion)
/// must not leave its server running beside the figures measured after it.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        // Already gone after a clean stop: then both calls just fail.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pitwall serve` on a free loopback port over `db` with `config`, its log to `stderr`, and
/// the base URL it printed.
fn serve_on_loopback(bin: &Path, db: &Path, config: &Path, stderr: Stdio) -> (Stopped, String) {
    let mut server = Stopped(
        Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .arg("--config")
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("serve"),
    );
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("address");
    let base = first
        .trim()
        .trim_start_matches("pitwall serve: listening on ")
        .to_string();
    (server, base)
}

/// The 1-minute load average (Linux), printed beside the latencies: on a shared machine other
/// work on the same cores shows up in the p99 before anything else.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_string)
}

/// Posts `lines` over `clients` keep-alive connections, each sending its next request when the
/// last is answered; the wall time and every request's latency in ms. One thread drives them all
/// (hyper's client on a current-thread runtime), as a load tool such as wrk does: 32 blocking
/// client threads on the server's 2 cores took CPU from the server and added their own
/// scheduling delays to the latencies they measured.
fn http_load(url: &str, auth: &str, lines: &[String], clients: usize) -> (f64, Vec<f64>) {
    let uri: hyper::Uri = url.parse().expect("url");
    let authority = uri.authority().expect("host:port").to_string();
    let chunks: Vec<Vec<String>> = lines
        .chunks(lines.len().div_ceil(clients))
        .map(<[String]>::to_vec)
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let clients: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (uri, authority, auth) = (uri.clone(), authority.clone(), auth.to_string());
                tokio::spawn(async move { post_all(uri, authority, auth, chunk).await })
            })
            .collect();
        let mut latencies = Vec::with_capacity(lines.len());
        for client in clients {
            latencies.extend(client.await.expect("client"));
        }
        (started.elapsed().as_secs_f64(), latencies)
    })
}

/// One client: one connection, `bodies` posted one after another.
async fn post_all(
    uri: hyper::Uri,
    authority: String,
    auth: String,
    bodies: Vec<String>,
) -> Vec<f64> {
    use http_body_util::{BodyExt, Full};
    let tcp = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(bodies.len());
    for body in bodies {
        let request = hyper::Request::post(&uri)
            .header(hyper::header::HOST, &authority)
            .header(hyper::header::AUTHORIZATION, &auth)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(hyper::body::Bytes::from(body)))
            .expect("request");
        let sent = Instant::now();
        let response = send.send_request(request).await.expect("answer");
        let status = response.status();
        let text = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        latencies.push(ms(sent.elapsed()));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    }
    latencies
}

/// `pitwall simulate` (SPEC §16) on a new in-memory database with the demo roster, as the
/// command runs it: a working day, and a month (quick: a day) of around-the-clock arrivals.
fn simulate_figures(t: &mut Table, quick: bool) {
    println!("\nSimulation (demo roster, 30 arrivals/h, in memory)");
    let run = |hours: f64| {
        let mut engine =
            Engine::open(None, pitwall::clock::Clock::manual_default()).expect("in-memory db");
        engine
            .seed_if_unused(pitwall::DEMO_ROSTER)
            .expect("demo roster");
        let options = pitwall::sim::Options {
            hours,
            ..pitwall::sim::Options::default()
        };
        let started = Instant::now();
        let outcome = pitwall::sim::run(&mut engine, options, &mut |_, _| {}).expect("simulate");
        (started.elapsed(), outcome.activity.arrivals)
    };
    let (day, arrivals) = run(8.0);
    t.row(
        &format!("simulate an 8-hour day ({arrivals} arrivals)"),
        day.as_secs_f64(),
        "s",
        2.0,
        true,
    );
    if quick {
        let (d, arrivals) = run(24.0);
        t.info(
            &format!("simulate 24 hours ({arrivals} arrivals)"),
            format!("{:.2} s", d.as_secs_f64()),
        );
    } else {
        let (month, arrivals) = run(720.0);
        t.row(
            &format!("simulate a 30-day month ({arrivals} arrivals)"),
            month.as_secs_f64(),
            "s",
            60.0,
            true,
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, side, count, dir] = args.as_slice()
        && flag == SIDE_ARG
    {
        throughput_side(side, count.parse().expect("count"), Path::new(dir));
        return;
    }
    let quick = std::env::args().any(|a| a == "quick");
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut t = Table { failed: 0 };
    println!(
        "pitwall performance figures{}",
        if quick { " (quick)" } else { "" }
    );
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a != "quick")
        .collect();
    let run = |section: &str| named.is_empty() || named.iter().any(|n| n == section);
    if run("rank") {
        rank_figures(&mut t, sizes);
    }
    let intake_sizes: &[(usize, usize)] = if quick {
        &[(1_000, 500), (10_000, 200)]
    } else {
        &[(1_000, 2_000), (10_000, 500), (100_000, 200)]
    };
    if run("intake") {
        intake_figures(&mut t, dir.path(), intake_sizes);
    }
    if run("throughput") {
        throughput_figures(
            &mut t,
            dir.path(),
            if quick { 500 } else { 3_000 },
            if quick { 1 } else { 3 },
        );
    }
    if run("tick") {
        tick_figures(&mut t, dir.path(), quick);
    }
    if run("scheduling") {
        scheduling_figures(&mut t, dir.path(), quick);
    }
    if run("history") {
        history::run(&mut t, dir.path(), quick);
    }
    if run("console") {
        console_figures(&mut t, dir.path(), quick);
    }
    if run("memory") {
        memory_figure(&mut t, dir.path(), quick);
    }
    if run("delivery") {
        delivery_figures(&mut t, dir.path(), quick);
    }
    if run("http") {
        http_figures(&mut t, dir.path(), if quick { 600 } else { 3_000 });
    }
    if run("pages") {
        pages::run(&mut t, dir.path(), quick);
    }
    if run("simulate") {
        simulate_figures(&mut t, quick);
    }
    if run("postgres") {
        postgres_figures(&mut t, dir.path(), quick);
    }
    // Minutes to hours: only when named.
    if named.iter().any(|n| n == "soak") {
        soak::run(dir.path());
    }
    if quick {
        println!(
            "\n(quick: smaller sizes than the targets name; run without `quick` for the real verdicts)"
        );
    }
    println!(
        "\n{} in {:.0} s; {}",
        if t.failed == 0 {
            "All targets met"
        } else {
            "Some targets missed"
        },
        started.elapsed().as_secs_f64(),
        if t.failed == 0 {
            "✓".to_string()
        } else {
            format!("{} missed", t.failed)
        }
    );
}
