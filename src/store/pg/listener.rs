//! The LISTEN side of live refresh (SPEC §15): a thread with a connection of its own counts the
//! notifications on [`CHANNEL`], and the console and the SSE feed poll [`Listener::version`] where
//! SQLite polls `PRAGMA data_version`.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config};

use super::CHANNEL;

/// How long the thread waits for a notification before it looks at its stop flag: the most a
/// drop waits.
const POLL: Duration = Duration::from_millis(200);
/// The pause between attempts to reconnect to a server that went away.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// The longest one connection attempt may take: also the longest a drop may wait while the
/// thread is reconnecting to an unreachable host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Listener {
    version: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Connects and listens; an error when the first connection fails. Later losses are
    /// reconnected by the thread, which then bumps the version once: what changed while it was
    /// away is unknown, so every reader refreshes.
    pub fn start(url: &str) -> Result<Listener, postgres::Error> {
        let version = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, first) = mpsc::channel();
        let thread = {
            let (url, version, stop) = (url.to_owned(), version.clone(), stop.clone());
            // The client runs its own runtime: connect on the listener's own thread, so starting
            // from inside an async context is safe too.
            std::thread::Builder::new()
                .name("pg-listener".into())
                .spawn(move || match listen(&url) {
                    Ok(client) => {
                        let _ = ready.send(Ok(()));
                        run(client, &url, &version, &stop);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                })
                .expect("spawning the PostgreSQL listener thread")
        };
        let started = first
            .recv()
            .expect("the listener thread answers before anything else");
        let listener = Listener {
            version,
            stop,
            thread: Some(thread),
        };
        started.map(|()| listener)
    }

    /// Bumped on every notification and after every reconnect.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn listen(url: &str) -> Result<Client, postgres::Error> {
    let tls = super::tls_settings(url);
    let mut config = Config::from_str(&tls.url)?;
    super::fill_password(&mut config);
    config.application_name("pitwall-listener");
    config.connect_timeout(CONNECT_TIMEOUT);
    // A listener on a dead connection would wait for notifications for ever.
    super::notice_a_dead_server(&mut config);
    let mut client = config.connect(super::tls_connector(&tls))?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}

fn run(mut client: Client, url: &str, version: &AtomicU64, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        let lost = {
            let mut notifications = client.notifications();
            let mut pending = notifications.timeout_iter(POLL);
            loop {
                match pending.next() {
                    Ok(Some(_)) => {
                        version.fetch_add(1, Ordering::AcqRel);
                        // A steady stream of notifications must not keep a drop waiting.
                        if stop.load(Ordering::Acquire) {
                            break false;
                        }
                    }
                    Ok(None) => break false,
                    Err(e) => {
                        tracing::warn!("PostgreSQL listener lost its connection: {e}");
                        break true;
                    }
                }
            }
        };
        if lost || client.is_closed() {
            let Some(fresh) = reconnect(url, stop) else {
                return;
            };
            client = fresh;
            version.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// A new listening connection, retried until it works or the listener is dropped.
fn reconnect(url: &str, stop: &AtomicBool) -> Option<Client> {
    while !stop.load(Ordering::Acquire) {
        match listen(url) {
            Ok(client) => return Some(client),
            Err(e) => {
                tracing::debug!("PostgreSQL listener reconnecting: {e}");
                std::thread::sleep(RECONNECT_PAUSE);
            }
        }
    }
    None
}
