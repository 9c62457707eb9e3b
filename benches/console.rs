//! Console figures: snapshot load + first frame, and full redraws, with 10,000 waiting sessions
//! in a file database. Run: `cargo bench --bench console`.

use std::time::Instant;

use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::report::percentile;
use pitwall::tui::app::{Action, App};
use pitwall::tui::theme::Theme;
use pitwall::tui::{drive, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut engine = Engine::open(
        Some(&dir.path().join("console.db")),
        Clock::manual_default(),
    )
    .expect("open");
    engine.load_seeds(pitwall::DEMO_ROSTER).expect("roster");
    let started = Instant::now();
    for (i, mut req) in pitwall::synth::intakes(10_000, 3).into_iter().enumerate() {
        req.id = Some(format!("S{i:05}"));
        engine.intake(req).expect("intake");
    }
    println!(
        "created 10000 sessions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let snapshot = engine.snapshot(false).expect("snapshot");
    let load = started.elapsed();
    let mut app = App::new(engine.now(), Theme { color: true });
    app.size = (120, 40);
    drive(
        &mut app,
        &mut engine,
        Action::Snapshot(Box::new(snapshot)),
        &mut || {},
    );
    drive(
        &mut app,
        &mut engine,
        Action::Key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE)),
        &mut || {},
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let t = Instant::now();
    terminal.draw(|f| render::render(&app, f)).expect("draw");
    let first_draw = t.elapsed();
    println!(
        "first frame (snapshot load {:.2} ms + draw {:.2} ms) = {:.2} ms   target ≤ 150 ms",
        load.as_secs_f64() * 1e3,
        first_draw.as_secs_f64() * 1e3,
        (load + first_draw).as_secs_f64() * 1e3
    );

    let mut redraws = Vec::new();
    for i in 0..200 {
        let key = if i % 2 == 0 { 'j' } else { 'k' };
        drive(
            &mut app,
            &mut engine,
            Action::Key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE)),
            &mut || {},
        );
        terminal.clear().expect("clear");
        let t = Instant::now();
        terminal.draw(|f| render::render(&app, f)).expect("draw");
        redraws.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "full redraw, queues pane: p50 {:.3} ms  p99 {:.3} ms   target ≤ 4 ms",
        percentile(&redraws, 50.0).unwrap_or(0.0),
        percentile(&redraws, 99.0).unwrap_or(0.0)
    );
    let mut refreshes = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let s = engine.snapshot(false).expect("snapshot");
        drive(
            &mut app,
            &mut engine,
            Action::Snapshot(Box::new(s)),
            &mut || {},
        );
        refreshes.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "snapshot refresh (each second when data changed): p50 {:.2} ms  p99 {:.2} ms",
        percentile(&refreshes, 50.0).unwrap_or(0.0),
        percentile(&refreshes, 99.0).unwrap_or(0.0)
    );
}
