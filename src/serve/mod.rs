//! `pitwall serve` (SPEC §13): the HTTP API over the engine's one `Command`, with the tick loop
//! and the delivery relay, on the same database a console may be watching.
//!
//! Threads: one tokio worker reads and writes sockets; the engine thread runs every command,
//! token lookup and tick on one SQLite connection ([`worker`]); the feed thread follows the
//! audit log on a read connection ([`feed`]); the relay delivers the outbox on its own
//! connection (the console's [`crate::delivery::Background`]). Three connections, one writer.

pub mod access;
mod constraints;
pub mod feed;
mod framing;
pub mod handle;
pub mod http;
pub mod limits;
mod listen;
pub mod openapi;
pub mod pages;
pub mod reference;
pub mod streams;
pub mod views;
pub mod worker;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::delivery::{Background, Config, Relay};
use crate::engine::Engine;

/// The address `serve` listens on without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// How long the once-a-second tick waits for another program's lock before trying next time.
const TICK_LOCK_WAIT: Duration = Duration::from_millis(100);

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight and stops.
pub fn run(db: &Path, listen: &str, config: Arc<Config>) -> Result<(), String> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| format!("--listen {listen:?} is not an address such as 127.0.0.1:7878"))?;
    // Bound before anything else starts: every link in a message is made from the address
    // phones reach (`[serve] public_url`, else this one, known only once bound on port 0).
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let base = crate::links::public_base(config.serve.public_url.as_deref(), &bound.to_string());
    let pages = Arc::new(pages::site::Pages::new(base.clone())?);
    let engine_config = config.clone();
    let engine_db = db.to_path_buf();
    let engine_base = base.clone();
    let (worker, engine_thread) = worker::Worker::start(move || {
        let mut engine =
            Engine::open(Some(&engine_db), Clock::System).map_err(|e| e.to_string())?;
        let mut relay = Relay::new(&engine_config).map_err(|e| format!("config: {e}"))?;
        relay.set_public_url(engine_base);
        engine.set_relay(relay);
        engine.set_retention(crate::archive::retention(&engine_config.retention)?);
        if let Err(e) = engine.prepare_for_intakes() {
            // The first intake loads it instead.
            tracing::warn!(code = e.code.as_str(), "could not load the roster at start");
        }
        Ok(engine)
    })?;
    let mut relay = Relay::new(&config).map_err(|e| format!("config: {e}"))?;
    relay.set_public_url(base);
    let _relay = Background::spawn(db.to_path_buf(), relay, |line| {
        tracing::warn!("{line}");
    });
    let feed = feed::Feed::start(db.to_path_buf())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // One: the engine thread is the bottleneck and wants a core of its own. With two
        // workers on a 2-core machine it was preempted more (engine time per intake over HTTP
        // 490–540 µs against 400–430 µs with one, 32 clients), and the runtime's share of a
        // request (parse headers, write the answer) is small next to the engine's.
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let limit = Arc::new(limits::RateLimit::new(
        config.serve.rate_per_second,
        config.serve.burst,
    ));
    let (stop_tx, stopping) = tokio::sync::watch::channel(false);
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        // One line on stdout, so a script (or a test on port 0) learns where to connect.
        let mut out = std::io::stdout().lock();
        writeln!(out, "pitwall serve: listening on http://{bound}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write the output: {e}"))?;
        drop(out);
        tracing::info!(%bound, db = %crate::store::describe(db), "serving");
        let ticker = tokio::spawn(tick_loop(worker.clone(), limit.clone()));
        let pruner = tokio::spawn(retention_loop(worker.clone()));
        let app = http::router(
            http::Shared {
                worker: worker.clone(),
                limit: limit.clone(),
                feed: feed.sender.clone(),
                stopping,
                revoked: feed.revoked.clone(),
                streams: streams::Streams::new(config.serve.max_streams),
                stream_lifetime: config.serve.stream_lifetime(),
                known: Arc::default(),
                pages,
            },
            pages::routes(),
        );
        listen::serve(
            listener,
            app,
            config.serve.connections_per_address,
            config.serve.header_timeout(),
            async move {
                shutdown_signal().await;
                tracing::info!("stopping: finishing the requests in flight");
                let _ = stop_tx.send(true);
            },
        )
        .await;
        ticker.abort();
        pruner.abort();
        let _ = ticker.await;
        let _ = pruner.await;
        Ok(())
    });
    // The relay and the feed stop first, each closing its connection, so the engine's writer
    // is the last connection to close: SQLite then copies the log back and removes the -wal
    // file (a connection left open at exit would leave it), and it does so from the writer's
    // own handle on the log (see `Engine`'s drop).
    drop(_relay);
    drop(feed);
    // Every sender of the engine's queue is gone once the runtime is: its thread ends after the
    // jobs already queued, so nothing is cut off mid-transaction.
    drop(worker);
    drop(runtime);
    let _ = engine_thread.join();
    tracing::info!("stopped");
    result
}

/// The engine tick every second (expiries, broadcasts, escalation) with a step of the
/// `[retention]` prune when one is under way, and once a minute the housekeeping: idempotency records past 24 h, quiet tokens in the rate limiter.
async fn tick_loop(worker: worker::Worker, limit: Arc<limits::RateLimit>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let housekeeping = n % 60 == 1;
        let done = worker
            .run(move |engine| {
                match crate::store::with_lock_wait(TICK_LOCK_WAIT, || engine.tick()) {
                    Ok(_) => {}
                    // Another process held the database: the next second tries again.
                    Err(e) if e.code == crate::error::ErrorCode::Busy => {
                        tracing::debug!("tick skipped: database busy");
                    }
                    // Anything else stops expiries, broadcasts and releases until fixed: say so.
                    Err(e) => tracing::error!(code = e.code.as_str(), "tick failed"),
                }
                if housekeeping {
                    let before = engine.now() - handle::KEEP_FOR;
                    if let Err(e) = crate::store::tokens::prune_kept(engine.connection(), before) {
                        tracing::debug!(error = %e, "idempotency pruning skipped");
                    }
                }
            })
            .await;
        if done.is_err() {
            return;
        }
        if housekeeping {
            limit.forget_quiet();
        }
    }
}

/// `[retention]`: once a second, whether today's prune is due; while one runs, its steps one
/// after another with a pause between, each a job of its own on the engine thread, so requests
/// queued meanwhile run between two steps (each holds the database well under a millisecond).
async fn retention_loop(worker: worker::Worker) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        loop {
            let step = worker
                .run(|engine| {
                    crate::store::with_lock_wait(TICK_LOCK_WAIT, || engine.retention_step())
                })
                .await;
            let pause = match step {
                Ok(worker::Ran::Done(Ok(crate::engine::prune::RetentionStep::Working(pause)))) => {
                    pause
                }
                Ok(worker::Ran::Done(Err(e))) if e.code != crate::error::ErrorCode::Busy => {
                    tracing::error!(
                        code = e.code.as_str(),
                        message = %e.message,
                        "retention: today's prune stopped"
                    );
                    break;
                }
                Err(_) => return,
                _ => break,
            };
            tokio::time::sleep(pause).await;
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
