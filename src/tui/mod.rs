//! The dispatcher console (SPEC §10): Elm-style — `App` state, an `Action` per event, a pure
//! `update` returning effects, and `render` reading state. The runtime here owns the terminal,
//! the engine and the timers, and is the only place effects are carried out.

pub mod app;
pub mod keymap;
pub mod overlays;
pub mod panes;
pub mod render;
pub mod state;
pub mod theme;
pub mod widgets;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};

use self::app::{Action, App, Effect};
use crate::engine::Engine;

/// Carries out effects against the engine until none are left, feeding results back into
/// `update`. Returns false when the console should quit. Shared by the real loop and tests.
pub fn drive(app: &mut App, engine: &mut Engine, action: Action, bell: &mut dyn FnMut()) -> bool {
    debug_assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "the console calls its engine outside any async runtime (PostgreSQL's client runs one)"
    );
    let mut queue = vec![action];
    let mut refresh = false;
    while let Some(action) = queue.pop() {
        for effect in app::update(app, action) {
            match effect {
                Effect::Quit => return false,
                Effect::Bell => bell(),
                Effect::Refresh => refresh = true,
                Effect::Run(request) => {
                    let writes = !request.command.is_read_only();
                    let result = engine.execute(request.command);
                    refresh |= writes;
                    queue.push(Action::Done(request.from, request.purpose, result));
                }
                Effect::Read(read) => {
                    let found = (read.run)(engine, &read.key);
                    queue.push(Action::Found(read.pane, found));
                }
            }
        }
        if queue.is_empty() && refresh {
            refresh = false;
            match engine.snapshot(app.wants_metrics()) {
                Ok(snapshot) => queue.push(Action::Snapshot(Box::new(snapshot))),
                Err(e) => app.error(format!("Could not read the database: {}", e.message)),
            }
        }
    }
    true
}

/// Runs the console until the dispatcher quits, with the relay (SPEC §12) on a thread of its
/// own: the UI and the engine's transactions never wait on the network.
pub fn run(
    db: &Path,
    relay: crate::delivery::Relay,
    retention: Option<crate::engine::prune::Retention>,
) -> Result<(), String> {
    run_with(
        db,
        Some(relay),
        crate::clock::Clock::System,
        None,
        retention,
    )
}

/// [`run`] on a given clock, with a marker for the status line (`pitwall demo`: the clock runs
/// faster and a simulation acts beside the dispatcher), and without a relay when nothing is to
/// be sent.
pub fn run_with(
    db: &Path,
    relay: Option<crate::delivery::Relay>,
    clock: crate::clock::Clock,
    marker: Option<String>,
    retention: Option<crate::engine::prune::Retention>,
) -> Result<(), String> {
    let mut engine = Engine::open(Some(db), clock).map_err(|e| e.to_string())?;
    engine.set_retention(retention);
    // Every input of the console arrives on one channel: keys from a reader thread, delivery
    // warnings from the relay's. The loop waits on it with a timeout for its timers, on this
    // thread, outside any async runtime: the engine (and PostgreSQL's blocking client, which
    // runs a runtime of its own) is called here directly, as `serve`'s engine thread calls it.
    let (inputs_tx, inputs) = std::sync::mpsc::channel();
    let warn_tx = inputs_tx.clone();
    let _relay = relay.map(|relay| {
        crate::delivery::Background::spawn(db.to_path_buf(), relay, move |line| {
            let _ = warn_tx.send(Input::Warning(line));
        })
    });
    // ratatui::init installs a panic hook that restores the terminal before the panic message.
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot open the terminal: {e}"))?;
    // Pasted text arrives whole (not as keys, where a line break would be Enter), and the mouse
    // reports clicks and the wheel where the terminal can.
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::EnableBracketedPaste,
        ratatui::crossterm::event::EnableMouseCapture
    );
    // A panic hands the terminal back without mouse reports or bracketed paste too (ratatui's
    // own hook, which runs next, restores the rest).
    let restore = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = ratatui::crossterm::execute!(
            std::io::stdout(),
            ratatui::crossterm::event::DisableMouseCapture,
            ratatui::crossterm::event::DisableBracketedPaste
        );
        restore(info);
    }));
    let result = event_loop(&mut terminal, &mut engine, inputs_tx, inputs, marker);
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::DisableMouseCapture,
        ratatui::crossterm::event::DisableBracketedPaste
    );
    ratatui::restore();
    result
}

/// How long the once-a-second tick waits for another program's lock before trying next time.
const TICK_LOCK_WAIT: Duration = Duration::from_millis(100);

const DATABASE_BUSY: &str =
    "Database busy: another program is holding it; pitwall keeps trying. Nothing is lost.";

const CONNECTION_LOST: &str = "Lost the connection to the database server; pitwall reconnects and keeps trying. Nothing is lost.";

/// What wakes the console besides its timers.
enum Input {
    Terminal(Event),
    /// Said once by the relay's thread (no transport, or a channel failing).
    Warning(String),
    /// The terminal can no longer be read: the console ends.
    TerminalGone,
}

/// How often the engine ticks (expiries, broadcasts, countdowns).
const TICK_EVERY: Duration = Duration::from_secs(1);
/// How often the console looks for commits by other processes.
const POLL_EVERY: Duration = Duration::from_millis(400);

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    engine: &mut Engine,
    inputs_tx: std::sync::mpsc::Sender<Input>,
    inputs: std::sync::mpsc::Receiver<Input>,
    marker: Option<String>,
) -> Result<(), String> {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::Instant;

    let size = terminal.size().map_err(|e| e.to_string())?;
    let mut app = App::new(engine.now(), theme::Theme::from_env());
    // A simulated day brings an offer every few seconds: the demo starts with the bell off
    // (`!` turns it on).
    app.bell = marker.is_none();
    app.simulation = marker;
    app.size = (size.width, size.height);
    let mut ring = || {
        let _ = std::io::stdout().write_all(b"\x07");
        let _ = std::io::stdout().flush();
    };
    drive(&mut app, engine, Action::Clock(engine.now()), &mut ring);
    let first = engine.snapshot(false).map_err(|e| e.message)?;
    drive(
        &mut app,
        engine,
        Action::Snapshot(Box::new(first)),
        &mut ring,
    );

    // Terminal events arrive from a blocking reader thread.
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            if inputs_tx.send(Input::Terminal(ev)).is_err() {
                return;
            }
        }
        let _ = inputs_tx.send(Input::TerminalGone);
    });
    let mut next_tick = Instant::now() + TICK_EVERY;
    let mut next_poll = Instant::now() + POLL_EVERY;
    let mut version = engine.data_version().unwrap_or(0);
    let mut dirty = true;
    let mut health = TickHealth::default();
    loop {
        if dirty {
            terminal
                .draw(|f| render::render(&app, f))
                .map_err(|e| e.to_string())?;
            dirty = false;
        }
        let wait = next_tick
            .min(next_poll)
            .saturating_duration_since(Instant::now());
        match inputs.recv_timeout(wait) {
            Ok(Input::Terminal(ev)) => {
                let action = match ev {
                    Event::Key(k) if k.kind != KeyEventKind::Release => Action::Key(k),
                    Event::Resize(w, h) => Action::Resize(w, h),
                    Event::Paste(text) => Action::Paste(text),
                    Event::Mouse(m) => Action::Mouse(m),
                    _ => continue,
                };
                if !drive(&mut app, engine, action, &mut ring) {
                    return Ok(());
                }
                dirty = true;
            }
            Ok(Input::Warning(line)) => {
                // Beside the toast, so the result of the dispatcher's last action stays
                // readable.
                app.warn(line);
                dirty = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Input::TerminalGone) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if Instant::now() >= next_tick {
            if engine_tick(&mut app, engine, &mut health, &mut ring) {
                refresh(&mut app, engine, &mut ring);
            }
            // A tick that ran long delays the next rather than bunching them up.
            next_tick = Instant::now() + TICK_EVERY;
            dirty = true;
        }
        if Instant::now() >= next_poll {
            // Another pitwall process committed: show its changes.
            let now = engine.data_version().unwrap_or(version);
            if now != version {
                version = now;
                refresh(&mut app, engine, &mut ring);
                dirty = true;
            }
            next_poll = Instant::now() + POLL_EVERY;
        }
    }
}

/// What the once-a-second tick has seen of the database, so that a lasting problem (another
/// program holding the lock, a read-only file, a vanished disk) shows in the status line while
/// it lasts, is logged when it starts and when it ends — not every second — and is retried
/// less and less often.
#[derive(Debug, Default)]
pub struct TickHealth {
    busy: bool,
    /// The failure being met, as said in the status line.
    failing: Option<String>,
    /// Ticks to let pass before trying again, and the current wait.
    skip: u32,
    backoff: u32,
    /// Lines logged about the tick's health (tests hold this to a bound).
    pub logged: usize,
}

/// How much of each second the console gives the `[retention]` prune while one runs.
const RETENTION_SHARE: Duration = Duration::from_millis(50);

/// `[retention]`: steps of the day's prune (each holds the database well under a millisecond,
/// with a pause between for other writers) for at most [`RETENTION_SHARE`] of this tick. True
/// when the prune finished now (the lists need reloading).
fn retention(engine: &mut Engine) -> bool {
    use crate::engine::prune::RetentionStep;
    let started = std::time::Instant::now();
    loop {
        match crate::store::with_lock_wait(TICK_LOCK_WAIT, || engine.retention_step()) {
            Ok(RetentionStep::Working(pause)) if started.elapsed() + pause < RETENTION_SHARE => {
                std::thread::sleep(pause);
            }
            Ok(step) => return step == RetentionStep::Finished,
            Err(e) => {
                if e.code != crate::error::ErrorCode::Busy {
                    tracing::error!(
                        code = e.code.as_str(),
                        message = %e.message,
                        "retention: today's prune stopped"
                    );
                }
                return false;
            }
        }
    }
}

/// The longest wait between two tries of a failing tick, in ticks (seconds).
const MOST_BACKOFF: u32 = 32;

/// One engine tick (expiries and broadcast openings), then the countdowns move. It waits only
/// briefly for another program's lock, so a held database shows in the status line instead of
/// freezing the keys. Returns whether the tick changed anything (the lists need reloading).
pub fn engine_tick(
    app: &mut App,
    engine: &mut Engine,
    health: &mut TickHealth,
    ring: &mut dyn FnMut(),
) -> bool {
    if health.skip > 0 {
        health.skip -= 1;
        if let Some(problem) = &health.failing {
            app.error(problem.clone());
        }
        drive(app, engine, Action::Clock(engine.now()), ring);
        return false;
    }
    let changed = match crate::store::with_lock_wait(TICK_LOCK_WAIT, || engine.tick()) {
        Ok(t) => {
            if std::mem::take(&mut health.busy) || health.failing.take().is_some() {
                tracing::info!("database available again");
                health.logged += 1;
                app.info("Database available again.");
            }
            health.backoff = 0;
            !t.is_empty() || retention(engine)
        }
        Err(e) if e.code == crate::error::ErrorCode::Busy => {
            // Busy also stands for a connection to a PostgreSQL server that was lost (a
            // restart, a network cut): said as it is, since the fix is not another program's.
            let lost = e.cause == crate::error::Cause::ConnectionLost;
            if !std::mem::replace(&mut health.busy, true) {
                if lost {
                    tracing::warn!("lost the connection to the database server; reconnecting");
                } else {
                    tracing::warn!("database busy: another program holds the lock");
                }
                health.logged += 1;
            }
            app.error(if lost { CONNECTION_LOST } else { DATABASE_BUSY });
            false
        }
        Err(e) => {
            if health.failing.as_deref() != Some(e.message.as_str()) {
                tracing::error!(error = %e.message, "tick failed; retrying less often until it works");
                health.logged += 1;
            }
            health.failing = Some(e.message.clone());
            health.backoff = (health.backoff * 2).clamp(1, MOST_BACKOFF);
            health.skip = health.backoff - 1;
            app.error(e.message);
            false
        }
    };
    drive(app, engine, Action::Clock(engine.now()), ring);
    changed
}

fn refresh(app: &mut App, engine: &mut Engine, ring: &mut dyn FnMut()) {
    match engine.snapshot(app.wants_metrics()) {
        Ok(s) => {
            drive(app, engine, Action::Snapshot(Box::new(s)), ring);
        }
        Err(e) => app.error(format!("Could not read the database: {}", e.message)),
    }
}
