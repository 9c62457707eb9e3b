//! The simulation live beside the console (`pitwall demo`): the same [`Simulation`], on its
//! own thread and its own connection to the demo database, waiting on the (scaled) real clock
//! for each next event instead of advancing a manual one. The dispatcher acts on the same
//! database meanwhile; whatever he does first, the simulation finds out from the engine's
//! refusal and moves on.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveTime, Utc, Weekday};

use crate::clock::Clock;
use crate::command::{Command, NoInput};
use crate::engine::{Engine, Outcome};

use super::{MAX_HOURS, Options, Simulation};

/// `pitwall demo`: the console on a new database in a private temporary folder (removed at
/// the end; never the default database), with the simulation live beside the dispatcher, both
/// on a clock `speed` times real time.
pub fn demo(speed: f64, options: Options) -> Result<(), String> {
    let dir =
        DemoDir::create().map_err(|e| format!("cannot create the demo's temporary folder: {e}"))?;
    let db = dir.0.join("demo.db");
    let origin = demo_origin(chrono::Utc::now());
    let clock = Clock::scaled(origin, speed);
    Engine::open(Some(&db), clock.clone())
        .map_err(|e| e.to_string())?
        .seed_if_unused(crate::DEMO_ROSTER)
        .map_err(|e| format!("cannot load the demo roster: {}", e.message))?;
    tracing::info!(db = %db.display(), speed, "demo: simulation starting");
    let live = Live::spawn(db.clone(), clock.clone(), options);
    // Demo customers are made up: their notifications are never sent, so no relay runs (one
    // without transports would only say, truly but uselessly, that they wait).
    let result = crate::tui::run_with(&db, None, clock, Some(format!("SIMULATION ×{speed}")), None);
    drop(live);
    result
}

/// When the demo's day starts, run at `now`: a day the roster works, at 14:00 UTC (9:00 in
/// Toronto) whatever the hour, so mechanics are on shift from the first minute. The demo
/// roster's plans are Monday to Friday: on a Saturday or a Sunday the day is the coming Monday
/// (the header shows its date).
pub fn demo_origin(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive();
    let day = match today.weekday() {
        Weekday::Sat => today + Days::new(2),
        Weekday::Sun => today + Days::new(1),
        _ => today,
    };
    day.and_time(NaiveTime::MIN).and_utc() + chrono::TimeDelta::hours(14)
}

/// The demo's private folder, removed with everything in it when the demo ends.
struct DemoDir(PathBuf);

impl DemoDir {
    fn create() -> std::io::Result<DemoDir> {
        use std::os::unix::fs::DirBuilderExt;
        let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("pitwall-demo-{}-{stamp}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(DemoDir(path))
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A simulation running on a thread; stopped and joined when dropped.
pub struct Live {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// Longest sleep between two looks at the stop flag and the clock.
const NAP: Duration = Duration::from_millis(50);

impl Live {
    /// Starts the simulation on `db` with `clock` (the console's clock, so both read the
    /// same time). It runs until stopped (a year of simulated time at most).
    pub fn spawn(db: PathBuf, clock: Clock, options: Options) -> Live {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("simulation".into())
            .spawn(move || {
                if let Err(e) = drive(&db, clock, options, &flag) {
                    tracing::error!(error = %e, "the live simulation stopped");
                }
            })
            .ok();
        Live { stop, handle }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn drive(
    db: &std::path::Path,
    clock: Clock,
    options: Options,
    stop: &AtomicBool,
) -> Result<(), String> {
    let speed = match clock {
        Clock::Scaled { speed, .. } => speed,
        _ => 1.0,
    };
    let mut engine = Engine::open(Some(db), clock).map_err(|e| e.to_string())?;
    let options = Options {
        hours: MAX_HOURS,
        ..options
    };
    let mut sim = Simulation::new(&mut engine, options, "sim-").map_err(|e| e.message)?;
    while !stop.load(Ordering::Relaxed) {
        let Some(due) = sim.next_due() else {
            return Ok(());
        };
        let now = engine.now();
        let wait_ms = (due * 1000 - now.timestamp_millis()) as f64 / speed;
        if wait_ms > 0.0 {
            std::thread::sleep(NAP.min(Duration::from_millis(wait_ms.ceil() as u64)));
            continue;
        }
        // The console ticks too; ours makes sure the engine has acted on everything due
        // before the simulation does, and tells it what opened and who was clocked out.
        match engine.execute(Command::Tick(NoInput {})) {
            Ok(Outcome::Tick(tick)) => sim.after_tick(now.timestamp(), &tick),
            Ok(_) => {}
            Err(e) => {
                // Held by the console a moment: try again shortly.
                tracing::info!(code = e.code.as_str(), "simulation tick refused; retrying");
                std::thread::sleep(NAP);
                continue;
            }
        }
        if let Err(e) = sim.step(&mut engine) {
            tracing::warn!(code = e.code.as_str(), "simulation step failed; going on");
            std::thread::sleep(NAP);
        }
    }
    Ok(())
}
