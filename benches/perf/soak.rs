//! The soak: `pitwall serve` (with its relay) on a file for a set time under a steady, bounded
//! load from loopback clients, with loopback webhook receivers (one failing a share of its
//! requests), printing a row per minute: the server's resident memory and open files, the WAL
//! and database sizes, and that minute's request latencies. What months of operation meet,
//! compressed: a figure that climbs here climbs for ever.
//!
//!     cargo bench --bench perf -- soak                     # 15 minutes
//!     PITWALL_SOAK_MINUTES=60 cargo bench --bench perf -- soak
//!
//! Environment: PITWALL_SOAK_MINUTES (default 15), PITWALL_SOAK_CLIENTS (8),
//! PITWALL_SOAK_RATE (requests per second per client, 6), PITWALL_SOAK_FAIL_PERCENT (4, the
//! share of webhook calls the failing receiver answers 500). Everything is on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// What the clients saw in the current minute, and in all.
#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    statuses: std::collections::BTreeMap<u16, u64>,
    /// Latencies of `queue` alone: the read that once grew with a mechanic's history.
    queue_ms: Vec<f64>,
    /// Answers by command and status, and the first refusal's code of each.
    by_command: std::collections::BTreeMap<(String, u16), u64>,
    refusals: std::collections::BTreeMap<String, String>,
}

struct Shared {
    minute: Mutex<Tally>,
    total: Mutex<Tally>,
    stop: AtomicBool,
    events_seen: AtomicU64,
    event_gaps: AtomicU64,
}

impl Shared {
    fn record(&self, cmd: &str, status: u16, ms: f64, body: &str) {
        for tally in [&self.minute, &self.total] {
            let mut t = tally.lock().expect("tally");
            t.latencies_ms.push(ms);
            *t.statuses.entry(status).or_default() += 1;
            *t.by_command.entry((cmd.to_string(), status)).or_default() += 1;
            if status != 200 && !t.refusals.contains_key(cmd) {
                t.refusals
                    .insert(cmd.to_string(), body.chars().take(200).collect());
            }
            if cmd == "queue" {
                t.queue_ms.push(ms);
            }
        }
    }
}

/// A webhook receiver on loopback answering 500 to `fail_percent` of its requests (by count,
/// spread evenly), 200 to the rest; counts both.
fn receiver(fail_percent: u64) -> (u16, Arc<AtomicU64>, Arc<AtomicU64>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (ok2, failed2) = (ok.clone(), failed.clone());
    let seen = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (ok, failed, seen) = (ok2.clone(), failed2.clone(), seen.clone());
            std::thread::spawn(move || {
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
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let n = seen.fetch_add(1, Ordering::Relaxed);
                    let fail = fail_percent > 0 && n % (100 / fail_percent.min(100)) == 0;
                    let answer: &[u8] = if fail {
                        failed.fetch_add(1, Ordering::Relaxed);
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                    } else {
                        ok.fetch_add(1, Ordering::Relaxed);
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                    };
                    if out.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, ok, failed)
}

fn token(bin: &Path, db: &Path, role: &str) -> String {
    let out = Command::new(bin)
        .args(["token", "create", "--role", role, "--db"])
        .arg(db)
        .output()
        .expect("token");
    assert!(out.status.success(), "token create failed");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

/// One client: a customer's whole visit at a steady pace. An intake; now and then a waitlist
/// entry; the first offered mechanic looks at his queue and accepts; the session is completed,
/// or (one in ten) cancelled instead.
fn client(
    n: usize,
    base: String,
    intake_token: String,
    dispatcher: String,
    rate: f64,
    shared: Arc<Shared>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let pause = Duration::from_secs_f64(1.0 / rate);
    let intakes = pitwall::synth::intakes(500, 100 + n as u64);
    let mut next = Instant::now();
    let mut post = |token: &str, body: Value| -> Option<Value> {
        // A steady pace: each request at its slot, whatever the last one took.
        next += pause;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        } else {
            next = Instant::now();
        }
        let cmd = body["cmd"].as_str().unwrap_or("").to_string();
        let started = Instant::now();
        let answer = agent
            .post(format!("{base}/v1/commands"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string());
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match answer {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                shared.record(&cmd, status, ms, &text);
                (status == 200)
                    .then(|| serde_json::from_str(&text).ok())
                    .flatten()
            }
            Err(e) => {
                shared.record(&cmd, 0, ms, &e.to_string());
                None
            }
        }
    };
    let mut i: u64 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        i += 1;
        // Customers of every kind (the synthetic intakes: concerns, places, brands), so the
        // ranking and the offers vary as they do in a day's work.
        let mut req = intakes[(i as usize) % intakes.len()].clone();
        req.id = None;
        req.scheduled_for = None;
        let body = serde_json::to_value(pitwall::command::Command::Intake(req)).expect("json");
        let Some(made) = post(&intake_token, body) else {
            continue;
        };
        let Some(session) = made["session"]["id"].as_str().map(str::to_string) else {
            continue;
        };
        if i.is_multiple_of(5) {
            post(
                &dispatcher,
                json!({"cmd": "join_waitlist", "session": session}),
            );
        }
        let offered: Vec<String> = made["targeted"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["mechanic"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if i.is_multiple_of(10) || offered.is_empty() {
            post(&dispatcher, json!({"cmd": "cancel", "session": session}));
            continue;
        }
        post(&dispatcher, json!({"cmd": "queue", "mechanic": offered[0]}));
        // The first of those offered who is still free takes it (another client's customer may
        // have taken one of them meanwhile: an expected 409).
        let taken = offered.iter().any(|m| {
            post(
                &dispatcher,
                json!({"cmd": "accept", "session": session, "mechanic": m}),
            )
            .is_some()
        });
        if taken {
            post(&dispatcher, json!({"cmd": "complete", "session": session}));
        } else {
            post(&dispatcher, json!({"cmd": "cancel", "session": session}));
        }
    }
}

/// Follows `GET /v1/events` as a dispatcher and counts the events and any gap in their ids.
fn event_stream(base: String, token: String, shared: Arc<Shared>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let Ok(resp) = agent
        .get(format!("{base}/v1/events"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
    else {
        return;
    };
    let mut lines = BufReader::new(resp.into_body().into_reader());
    let mut last: Option<u64> = None;
    let mut line = String::new();
    while !shared.stop.load(Ordering::Relaxed) {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(id) = line.trim_end().strip_prefix("id: ")
            && let Ok(id) = id.parse::<u64>()
        {
            shared.events_seen.fetch_add(1, Ordering::Relaxed);
            if let Some(prev) = last
                && id != prev + 1
            {
                shared.event_gaps.fetch_add(1, Ordering::Relaxed);
            }
            last = Some(id);
        }
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn pct(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    super::p(values, q)
}

pub fn run(dir: &Path) {
    let minutes: u64 = env_or("PITWALL_SOAK_MINUTES", 15);
    let clients: usize = env_or("PITWALL_SOAK_CLIENTS", 8);
    let rate: f64 = env_or("PITWALL_SOAK_RATE", 6.0);
    let fail_percent: u64 = env_or("PITWALL_SOAK_FAIL_PERCENT", 4);
    println!(
        "\nSoak: pitwall serve with its relay for {minutes} min, {clients} clients at {rate} \
         requests/s each, webhooks failing {fail_percent} %, {} cores{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        super::load_average().map_or(String::new(), |l| format!(", load average {l}"))
    );
    // A copy of the binary: a rebuild during the soak must not swap it under the server.
    let bin = dir.join("pitwall-soak");
    std::fs::copy(env!("CARGO_BIN_EXE_pitwall"), &bin).expect("copy the binary");
    let db = super::file_with_roster(dir, "soak.db", 200);
    let (port, delivered, failed) = receiver(fail_percent);
    let config = dir.join("soak.toml");
    std::fs::write(
        &config,
        format!(
            "[serve]\nrate_per_second = 100000\nburst = 100000\n\n\
             [delivery]\nmax_attempts = 8\n\n\
             [delivery.email]\nwebhook = \"http://127.0.0.1:{port}/email\"\n\n\
             [delivery.sms]\nwebhook = \"http://127.0.0.1:{port}/sms\"\n\n\
             [delivery.push]\nwebhook = \"http://127.0.0.1:{port}/push\"\n\n\
             [delivery.dispatcher]\nwebhook = \"http://127.0.0.1:{port}/dispatch\"\n"
        ),
    )
    .expect("config");
    let intake_token = token(&bin, &db, "intake");
    let dispatcher = token(&bin, &db, "dispatcher");
    let (mut server, base) =
        super::serve_on_loopback(&bin, &db, &config, std::process::Stdio::null());
    let pid = server.0.id();
    let shared = Arc::new(Shared {
        minute: Mutex::default(),
        total: Mutex::default(),
        stop: AtomicBool::new(false),
        events_seen: AtomicU64::new(0),
        event_gaps: AtomicU64::new(0),
    });
    let mut streams = Vec::new();
    for _ in 0..2 {
        let (base, token, shared) = (base.clone(), dispatcher.clone(), shared.clone());
        streams.push(std::thread::spawn(move || {
            event_stream(base, token, shared)
        }));
    }
    let mut threads = Vec::new();
    for n in 0..clients {
        let (base, it, d, shared) = (
            base.clone(),
            intake_token.clone(),
            dispatcher.clone(),
            shared.clone(),
        );
        threads.push(std::thread::spawn(move || {
            client(n, base, it, d, rate, shared)
        }));
    }
    let wal = with_suffix(&db, "-wal");
    println!(
        "\n| min | RSS MB | FDs | WAL MB | DB MB | requests | req/s | p50 ms | p99 ms | queue p50 ms | 5xx | events |"
    );
    println!(
        "|----:|-------:|----:|-------:|------:|---------:|------:|-------:|-------:|-------------:|----:|-------:|"
    );
    let started = Instant::now();
    for minute in 1..=minutes {
        let until = started + Duration::from_secs(60 * minute);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            std::thread::sleep(left.min(Duration::from_secs(1)));
        }
        let mut tally = std::mem::take(&mut *shared.minute.lock().expect("tally"));
        let count = tally.latencies_ms.len();
        let errors: u64 = tally
            .statuses
            .iter()
            .filter(|(s, _)| **s >= 500 || **s == 0)
            .map(|(_, n)| n)
            .sum();
        println!(
            "| {minute:>3} | {:>6.1} | {:>3} | {:>6.2} | {:>5.1} | {count:>8} | {:>5.1} | {:>6.2} | {:>6.2} | {:>12.2} | {errors:>3} | {:>6} |",
            rss_mb(pid),
            open_fds(pid),
            file_len(&wal) as f64 / 1e6,
            file_len(&db) as f64 / 1e6,
            count as f64 / 60.0,
            pct(&mut tally.latencies_ms, 50.0),
            pct(&mut tally.latencies_ms, 99.0),
            pct(&mut tally.queue_ms, 50.0),
            shared.events_seen.load(Ordering::Relaxed),
        );
        let _ = std::io::stdout().flush();
    }
    // The clients finish the visit in hand; then the server is stopped as a service manager
    // stops it.
    shared.stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let stopping = Instant::now();
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let status = server.0.wait().expect("serve exit");
    let stop_secs = stopping.elapsed().as_secs_f64();
    for t in streams {
        let _ = t.join();
    }
    let total = shared.total.lock().expect("tally");
    let statuses: Vec<String> = total
        .statuses
        .iter()
        .map(|(s, n)| format!("{n} × {s}"))
        .collect();
    println!("\nrequests: {}", statuses.join(", "));
    for ((cmd, status), n) in &total.by_command {
        println!("  {cmd:<14} {status} × {n}");
    }
    for (cmd, body) in &total.refusals {
        println!("  first refusal of {cmd}: {body}");
    }
    println!(
        "webhooks: {} delivered, {} answered 500 (retried)",
        delivered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    println!(
        "event streams: {} events, {} gaps",
        shared.events_seen.load(Ordering::Relaxed),
        shared.event_gaps.load(Ordering::Relaxed)
    );
    println!(
        "SIGTERM: exited in {stop_secs:.2} s ({status}); -wal left beside the database: {}",
        if wal.exists() {
            format!("yes, {} bytes", file_len(&wal))
        } else {
            "no".to_string()
        }
    );
    let conn = rusqlite::Connection::open(&db).expect("open");
    let outbox: Vec<(String, i64)> = conn
        .prepare("SELECT status, COUNT(*) FROM notifications GROUP BY status ORDER BY 1")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("outbox");
    let sessions: i64 = conn
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .expect("sessions");
    drop(conn);
    println!("sessions: {sessions}; outbox: {outbox:?}");
    let check = Command::new(&bin)
        .args(["check", "--db"])
        .arg(&db)
        .output()
        .expect("check");
    println!(
        "pitwall check: {}",
        if check.status.success() {
            "clean".to_string()
        } else {
            String::from_utf8_lossy(&check.stdout).into_owned()
        }
    );
}
