//! Delivery (SPEC §12): the relay that takes due rows from the outbox and sends them.
//!
//! The relay never sends inside a database transaction: it claims rows (one conditional UPDATE
//! that sets a lease), sends each over the network with no lock held, and records the result
//! (another conditional UPDATE, only while it still holds the row). Engine commands therefore
//! never wait on the network, and several relays may share one database: a row is never with
//! two of them at once, and a relay that dies leaves its rows to the others once the lease
//! passes. Delivery is at least once; receivers drop repeats by `webhook-id` / `Message-ID`.

pub mod config;
pub mod smtp;
pub mod transport;

use std::sync::mpsc;
use std::time::Duration as StdDuration;

use crate::store::Db;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub use config::{Config, ConfigError, Loaded};
use transport::Transport;

use crate::model::{DeliveryStatus, Notification, Route};
use crate::store::outbox;

/// Rows one pass handles at most, so a pass under steady traffic still ends.
const PASS_LIMIT: usize = 2_000;

/// While sends are in flight, how often a pass looks for newly due rows on the channels that
/// have room: a channel whose receiver stalls must not keep another's new rows waiting.
const LOOK_AGAIN: StdDuration = StdDuration::from_millis(100);

/// What one pass did (the output of headless `deliver` and `pitwall relay`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Delivered in this pass.
    pub sent: Vec<String>,
    /// Failed, to be tried again later.
    pub retrying: Vec<String>,
    /// Failed for the last time allowed.
    pub dead: Vec<String>,
    /// Offers' messages not sent because the offer was no longer live (`notifications` says
    /// why).
    pub skipped: Vec<String>,
    /// Channels with pending rows and no transport configured: those rows wait.
    pub no_transport: Vec<Route>,
    /// The last error of each channel that failed in this pass (scrubbed of secrets).
    #[serde(skip)]
    pub failures: Vec<(Route, String)>,
    /// Channels that delivered at least once in this pass.
    #[serde(skip)]
    pub delivered_on: Vec<Route>,
}

impl PassReport {
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
            && self.retrying.is_empty()
            && self.dead.is_empty()
            && self.skipped.is_empty()
    }
}

pub struct Relay {
    transports: Vec<(Route, Transport)>,
    max_attempts: i64,
    lease: Duration,
    /// Sends in flight at once per channel.
    concurrency: usize,
    /// Who holds a claimed row: unique per relay, so two relays never record each other's rows.
    owner: String,
    /// Texts never to write into last_error or a log (the signing key, SMTP passwords).
    secrets: Vec<String>,
}

/// One send's outcome, from the thread that sent it to the pass that records it.
struct Sent {
    channel: usize,
    row: Notification,
    result: Result<(), String>,
}

impl Relay {
    /// A relay for a config; a channel whose transport cannot be set up is an error naming it.
    pub fn new(config: &Config) -> Result<Relay, String> {
        let secret = config.delivery.secret.as_ref().map(|s| s.expose());
        let mut transports = Vec::new();
        for (route, c) in config.channels() {
            let t = Transport::new(
                c,
                secret,
                &|name| std::env::var_os(name),
                config.delivery.send_timeout(),
            )
            .map_err(|e| format!("delivery.{route}: {e}"))?;
            transports.push((route, t));
        }
        Ok(Relay {
            transports,
            max_attempts: config.delivery.max_attempts,
            lease: Duration::seconds(config.delivery.lease_seconds),
            concurrency: config.delivery.concurrency,
            owner: uuid::Uuid::new_v4().to_string(),
            secrets: config.secrets(),
        })
    }

    /// A relay with no transports: every row stays pending.
    pub fn without_transports() -> Relay {
        Relay::new(&Config::default()).expect("no transports to set up")
    }

    /// The channels this relay can deliver, with the kind of transport.
    pub fn routes(&self) -> Vec<(Route, &'static str)> {
        self.transports
            .iter()
            .map(|(r, t)| (*r, t.kind()))
            .collect()
    }

    /// One pass: the due rows of every configured channel (up to a limit) are claimed, sent
    /// and recorded, each channel on its own: up to `concurrency` sends in flight per channel,
    /// each on a thread of its own, so a receiver that stalls holds only its own channel's
    /// rows. Rows are claimed only when they can be sent at once, so none waits under a lease
    /// behind a stalled send. Only this thread touches the database: the senders hand their
    /// outcome back. `now` is the relay's clock, read before each step (the system clock, or
    /// the engine's manual clock for headless `deliver`); webhooks are stamped with the wall
    /// clock whatever it is. The pass ends when nothing is due and nothing is in flight.
    pub fn pass(
        &self,
        conn: &Db,
        now: &dyn Fn() -> DateTime<Utc>,
    ) -> crate::store::Result<PassReport> {
        let mut report = PassReport::default();
        let mut failed: Option<crate::store::Error> = None;
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = mpsc::channel::<Sent>();
            let mut in_flight = vec![0usize; self.transports.len()];
            // A channel whose last claim found fewer rows than it had room for: nothing more is
            // due there for now (looked at again while sends are in flight).
            let mut drained = vec![false; self.transports.len()];
            let mut handled = 0;
            loop {
                if failed.is_none() && handled < PASS_LIMIT {
                    for (i, (route, transport)) in self.transports.iter().enumerate() {
                        let room = (self.concurrency - in_flight[i]).min(PASS_LIMIT - handled);
                        if drained[i] || room == 0 {
                            continue;
                        }
                        let rows = match self.claim(conn, *route, room, now) {
                            Ok(rows) => rows,
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        };
                        drained[i] = rows.len() < room;
                        handled += rows.len();
                        for row in rows {
                            if row.status == DeliveryStatus::Skipped {
                                report.skipped.push(row.id);
                                continue;
                            }
                            in_flight[i] += 1;
                            let done = done_tx.clone();
                            scope.spawn(move || {
                                let result = transport.send(&row);
                                let _ = done.send(Sent {
                                    channel: i,
                                    row,
                                    result,
                                });
                            });
                        }
                    }
                }
                let busy = in_flight.iter().any(|n| *n > 0);
                let more = failed.is_none() && handled < PASS_LIMIT && drained.contains(&false);
                if !busy && !more {
                    break;
                }
                if !busy {
                    continue;
                }
                match done_rx.recv_timeout(LOOK_AGAIN) {
                    Ok(sent) => {
                        in_flight[sent.channel] -= 1;
                        // After a failure to record, the rest are only collected: their leases
                        // run out and another pass records them.
                        if failed.is_none()
                            && let Err(e) = self.record(conn, &sent, now, &mut report)
                        {
                            failed = Some(e);
                        }
                    }
                    Err(_) => drained.iter_mut().for_each(|d| *d = false),
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let routes: Vec<Route> = self.transports.iter().map(|(r, _)| *r).collect();
        for route in Route::ALL {
            if !routes.contains(route) && outbox::pending_on(conn, *route)? {
                report.no_transport.push(*route);
            }
        }
        report.no_transport.sort_by_key(|r| r.as_str());
        Ok(report)
    }

    fn claim(
        &self,
        conn: &Db,
        route: Route,
        limit: usize,
        now: &dyn Fn() -> DateTime<Utc>,
    ) -> crate::store::Result<Vec<Notification>> {
        let claimed_at = now();
        let lease_until = crate::clock::later(claimed_at, self.lease);
        outbox::claim(conn, &self.owner, route, claimed_at, lease_until, limit)
    }

    /// Writes down how one send went.
    fn record(
        &self,
        conn: &Db,
        sent: &Sent,
        now: &dyn Fn() -> DateTime<Utc>,
        report: &mut PassReport,
    ) -> crate::store::Result<()> {
        let row = &sent.row;
        let done = now();
        match &sent.result {
            Ok(()) => {
                if outbox::mark_sent(conn, &row.id, &self.owner, done)? {
                    report.sent.push(row.id.clone());
                } else {
                    // Only SMTP can get here: lettre bounds each step of the exchange by the
                    // send timeout, not the whole of it. Said, so an operator can lengthen
                    // lease_seconds.
                    tracing::warn!(
                        notification = %row.id,
                        "sent after its lease ran out; consider a longer lease_seconds"
                    );
                }
                if !report.delivered_on.contains(&row.channel) {
                    report.delivered_on.push(row.channel);
                }
            }
            Err(error) => {
                let error = self.scrub(error);
                let attempts = row.attempts + 1;
                let next = crate::clock::later(done, backoff(attempts, jitter()));
                match outbox::mark_failed(
                    conn,
                    &row.id,
                    &self.owner,
                    &error,
                    next,
                    self.max_attempts,
                )? {
                    Some(DeliveryStatus::Dead) => report.dead.push(row.id.clone()),
                    Some(_) => report.retrying.push(row.id.clone()),
                    None => {}
                }
                report.failures.retain(|(r, _)| *r != row.channel);
                report.failures.push((row.channel, error));
            }
        }
        Ok(())
    }

    /// One line, bounded, with every configured secret taken out.
    fn scrub(&self, error: &str) -> String {
        let mut line: String = error
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        for secret in &self.secrets {
            line = line.replace(secret.as_str(), "***");
        }
        line.chars().take(200).collect()
    }
}

/// The wait before attempt `attempts + 1`: `min(5 s · 2^(attempts−1), 1 h)`, scaled by
/// `jitter` (0.8–1.2, so ±20 %) so that rows failing together do not retry together.
pub fn backoff(attempts: i64, jitter: f64) -> Duration {
    let exponent = (attempts.max(1) - 1).min(20) as u32;
    let base_ms = (5_000i64 << exponent).min(3_600_000);
    Duration::milliseconds((base_ms as f64 * jitter.clamp(0.8, 1.2)) as i64)
}

/// A factor in 0.8–1.2, different for every row and run.
fn jitter() -> f64 {
    crate::random::fresh_range(0.8..=1.2)
}

/// The relay's one loop, for `pitwall relay` and the console's [`Background`] alike: a pass
/// whenever the last one found work, a pause of `idle` otherwise, until `keep_going` says no
/// (asked before each pass: `None`) or `after_pass` breaks with the loop's result.
pub fn run<T>(
    relay: &Relay,
    conn: &crate::store::Db,
    idle: StdDuration,
    keep_going: impl Fn() -> bool,
    mut after_pass: impl FnMut(Result<PassReport, crate::store::Error>) -> std::ops::ControlFlow<T>,
) -> Option<T> {
    while keep_going() {
        let pass = relay.pass(conn, &Utc::now);
        let worked = pass.as_ref().is_ok_and(|report| !report.is_empty());
        if let std::ops::ControlFlow::Break(done) = after_pass(pass) {
            return Some(done);
        }
        if !worked {
            std::thread::sleep(idle);
        }
    }
    None
}

/// A relay running on a thread of its own (the console's): its own connection, the system
/// clock, a pass whenever the last one found work and every half second otherwise. Trouble is
/// reported through `warn`, once per channel and kind (no transport; three failures in a row),
/// never repeated while it lasts, so neither the status line nor the log is flooded.
pub struct Background {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Background {
    pub fn spawn(
        db: std::path::PathBuf,
        relay: Relay,
        warn: impl Fn(String) + Send + 'static,
    ) -> Background {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (done_tx, done) = std::sync::mpsc::channel();
        let flag = stop.clone();
        std::thread::spawn(move || {
            let conn = match crate::store::open(Some(&db)) {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::error!(error = %e, "relay cannot open the database");
                    warn(format!("Delivery stopped: cannot open the database ({e})."));
                    return;
                }
            };
            let mut watch = Watch::default();
            for (route, kind) in relay.routes() {
                tracing::info!(channel = %route, transport = kind, "relay delivers");
            }
            run(
                &relay,
                &conn,
                StdDuration::from_millis(500),
                || !flag.load(Ordering::Relaxed),
                |pass| {
                    match pass {
                        Ok(report) => {
                            for line in watch.observe(&report) {
                                tracing::warn!("{line}");
                                warn(line);
                            }
                        }
                        Err(e) => {
                            if watch.note_error() {
                                tracing::warn!(error = %e, "relay pass failed; retrying");
                            }
                        }
                    }
                    std::ops::ControlFlow::<()>::Continue(())
                },
            );
            // Closed before saying so: the process may exit the moment it hears, and a
            // connection still open then is never closed (SQLite leaves the -wal file of a
            // database whose last connection did not close).
            drop(conn);
            let _ = done_tx.send(());
        });
        Background { stop, done }
    }
}

impl Drop for Background {
    /// Stops the relay; waits a moment for a send in progress, never the full timeout (a row
    /// left mid-send is retried after its lease, and receivers drop the repeat).
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.done.recv_timeout(StdDuration::from_millis(1_500));
    }
}

/// What the console has been told about each channel, so each trouble is said once.
#[derive(Default)]
struct Watch {
    no_transport_told: Vec<Route>,
    failing: Vec<(Route, u32)>,
    failing_told: Vec<Route>,
    db_error_told: bool,
}

/// Failures in a row before a channel counts as failing.
const FAILING_AFTER: u32 = 3;

impl Watch {
    fn observe(&mut self, report: &PassReport) -> Vec<String> {
        let mut lines = Vec::new();
        self.db_error_told = false;
        for route in &report.no_transport {
            if !self.no_transport_told.contains(route) {
                self.no_transport_told.push(*route);
                lines.push(format!(
                    "⚠ {route} notifications are waiting: no {route} transport in the config \
                     (see pitwall --version)."
                ));
            }
        }
        for route in &report.delivered_on {
            self.failing.retain(|(r, _)| r != route);
            self.failing_told.retain(|r| r != route);
        }
        for (route, error) in &report.failures {
            let count = match self.failing.iter_mut().find(|(r, _)| r == route) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    self.failing.push((*route, 1));
                    1
                }
            };
            if count >= FAILING_AFTER && !self.failing_told.contains(route) {
                self.failing_told.push(*route);
                lines.push(format!(
                    "⚠ {route} delivery keeps failing ({error}); pitwall keeps retrying."
                ));
            }
        }
        lines
    }

    /// True the first time in a row (so it is logged once).
    fn note_error(&mut self) -> bool {
        !std::mem::replace(&mut self.db_error_told, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_to_an_hour() {
        assert_eq!(backoff(1, 1.0), Duration::seconds(5));
        assert_eq!(backoff(2, 1.0), Duration::seconds(10));
        assert_eq!(backoff(4, 1.0), Duration::seconds(40));
        assert_eq!(backoff(11, 1.0), Duration::hours(1));
        assert_eq!(backoff(1_000, 1.0), Duration::hours(1));
        assert_eq!(backoff(1, 0.8), Duration::seconds(4));
        assert_eq!(backoff(1, 1.2), Duration::seconds(6));
        assert_eq!(backoff(1, 7.0), Duration::seconds(6));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.8..=1.2).contains(&j));
        }
    }

    #[test]
    fn errors_lose_their_secrets_and_line_breaks() {
        let config = Config::parse(
            "[delivery]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
             [delivery.email]\nsmtp = \"smtp://ann:pa55word@127.0.0.1:1\"\nfrom = \"a@b.c\"",
        )
        .unwrap();
        let relay = Relay::new(&config).unwrap();
        let line = relay.scrub(
            "failed for ann:pa55word with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nsecond line",
        );
        assert!(
            !line.contains("pa55word") && !line.contains("MfKQ9r8GKYqrTwjUPD8"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let config =
            Config::parse("[delivery.sms]\nwebhook = \"https://gw.example.com/hooks/T0K3N\"")
                .unwrap();
        let relay = Relay::new(&config).unwrap();
        let line = relay.scrub("error sending to https://gw.example.com/hooks/T0K3N: refused");
        assert!(!line.contains("T0K3N"), "{line}");
    }

    #[test]
    fn the_console_is_told_each_trouble_once() {
        let mut watch = Watch::default();
        let waiting = PassReport {
            no_transport: vec![Route::Sms],
            ..Default::default()
        };
        assert_eq!(watch.observe(&waiting).len(), 1);
        assert!(watch.observe(&waiting).is_empty(), "said once");
        let failing = PassReport {
            failures: vec![(Route::Email, "webhook answered HTTP 500".into())],
            ..Default::default()
        };
        assert!(watch.observe(&failing).is_empty());
        assert!(watch.observe(&failing).is_empty());
        let said = watch.observe(&failing);
        assert_eq!(said.len(), 1, "the third failure in a row");
        assert!(said[0].contains("email delivery keeps failing (webhook answered HTTP 500)"));
        assert!(
            watch.observe(&failing).is_empty(),
            "not again while it lasts"
        );
        // Delivering again resets it: a new run of failures is said again.
        let recovered = PassReport {
            delivered_on: vec![Route::Email],
            ..Default::default()
        };
        assert!(watch.observe(&recovered).is_empty());
        for _ in 0..2 {
            assert!(watch.observe(&failing).is_empty());
        }
        assert_eq!(watch.observe(&failing).len(), 1);
    }
}
