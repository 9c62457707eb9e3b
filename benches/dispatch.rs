//! Quick dispatch figures: intake → session + offers committed, on a file database in WAL with
//! the shipped durability setting, for the demo roster and generated rosters.
//! Run: `cargo bench --bench dispatch`.

use std::time::Instant;

use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::report::percentile;

fn measure(label: &str, roster_json: &str, intakes: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut engine =
        Engine::open(Some(&dir.path().join("bench.db")), Clock::manual_default()).expect("open");
    let started = Instant::now();
    let count = engine.load_seeds(roster_json).expect("roster").count;
    let load = started.elapsed();
    let mut latencies = Vec::with_capacity(intakes);
    let requests = pitwall::synth::intakes(intakes, 7);
    let started = Instant::now();
    for (i, mut req) in requests.into_iter().enumerate() {
        req.id = Some(format!("B{i}"));
        let t = Instant::now();
        engine.intake(req).expect("intake");
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let total = started.elapsed().as_secs_f64();
    let matcher = engine.report().expect("report").matcher_latency_ms;
    println!(
        "{label:<22} {count:>7} mechanics (load {:>6.0} ms)  intake p50 {:>7.3} ms  p99 {:>7.3} ms  \
         matcher p50 {:>7.3} ms  {:>6.0} intakes/s",
        load.as_secs_f64() * 1000.0,
        percentile(&latencies, 50.0).unwrap_or(0.0),
        percentile(&latencies, 99.0).unwrap_or(0.0),
        matcher.p50.unwrap_or(0.0),
        intakes as f64 / total,
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    measure("demo roster", pitwall::DEMO_ROSTER, 500);
    for n in [1_000, 10_000] {
        let roster = serde_json::to_string(&pitwall::synth::roster(n, 42)).expect("json");
        measure(&format!("generated {n}"), &roster, 500);
    }
}
