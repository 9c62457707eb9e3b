//! Delivery (SPEC §12): the relay that takes due rows from the outbox and sends them.
//!
//! The relay never sends inside a database transaction: it claims rows (one conditional UPDATE
//! that sets a lease), sends each over the network with no lock held, and records the result
//! (another conditional UPDATE, only while it still holds the row). Engine commands therefore
//! never wait on the network, and several relays may share one database: a row is never with
//! two of them at once, and a relay that dies leaves its rows to the others once the lease
//! passes. Delivery is at least once; receivers drop repeats by `webhook-id` / `Message-ID`.

pub mod config;
pub mod transport;

use std::time::Duration as StdDuration;

use crate::store::Db;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use config::SEND_TIMEOUT;
pub use config::{Config, ConfigError, Loaded};
use transport::Transport;

use crate::model::{DeliveryStatus, Notification, Route};
use crate::store::outbox;

/// Rows claimed at a time.
const BATCH: usize = 64;
/// Rows one pass handles at most, so a pass under steady traffic still ends.
const PASS_LIMIT: usize = 2_000;

/// What one pass did (the output of headless `deliver` and `pitwall relay`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Delivered in this pass.
    pub sent: Vec<String>,
    /// Failed, to be tried again later.
    pub retrying: Vec<String>,
    /// Failed for the last time allowed.
    pub dead: Vec<String>,
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
        self.sent.is_empty() && self.retrying.is_empty() && self.dead.is_empty()
    }
}

pub struct Relay {
    transports: Vec<(Route, Transport)>,
    max_attempts: i64,
    lease: Duration,
    /// Who holds a claimed row: unique per relay, so two relays never record each other's rows.
    owner: String,
    /// Texts never to write into last_error or a log (the signing key, SMTP passwords).
    secrets: Vec<String>,
}

impl Relay {
    /// A relay for a config; a channel whose transport cannot be set up is an error naming it.
    pub fn new(config: &Config) -> Result<Relay, String> {
        let mut transports = Vec::new();
        for (route, c) in config.channels() {
            let t = Transport::new(c, config.delivery.secret.as_ref())
                .map_err(|e| format!("delivery.{route}: {e}"))?;
            transports.push((route, t));
        }
        Ok(Relay {
            transports,
            max_attempts: config.delivery.max_attempts,
            lease: Duration::seconds(config.delivery.lease_seconds),
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

    /// One pass: every due row of a configured channel (up to a limit) is claimed, sent and
    /// recorded. `now` is the relay's clock, read before each step (the system clock, or the
    /// engine's manual clock for headless `deliver`).
    pub fn pass(
        &self,
        conn: &Db,
        now: &dyn Fn() -> DateTime<Utc>,
    ) -> crate::store::Result<PassReport> {
        let mut report = PassReport::default();
        let routes: Vec<Route> = self.transports.iter().map(|(r, _)| *r).collect();
        let mut handled = 0;
        // Enough of the lease must be left to finish a send (which may take SEND_TIMEOUT)
        // before anyone else may claim the row.
        let margin =
            Duration::from_std(SEND_TIMEOUT + StdDuration::from_secs(2)).expect("a few seconds");
        while !routes.is_empty() && handled < PASS_LIMIT {
            let claimed_at = now();
            let lease_until = crate::clock::later(claimed_at, self.lease);
            let rows = outbox::claim(
                conn,
                &self.owner,
                &routes,
                claimed_at,
                lease_until,
                BATCH.min(PASS_LIMIT - handled),
            )?;
            if rows.is_empty() {
                break;
            }
            handled += rows.len();
            let mut rows = rows.into_iter();
            while let Some(row) = rows.next() {
                if lease_until - now() < margin {
                    // Too late to send safely under this lease: give the rest back.
                    outbox::release(conn, &row.id, &self.owner)?;
                    for rest in rows.by_ref() {
                        outbox::release(conn, &rest.id, &self.owner)?;
                    }
                    break;
                }
                self.deliver_one(conn, &row, now, &mut report)?;
                if now() > lease_until {
                    // Only SMTP can get here: lettre bounds each step of the exchange by 10 s,
                    // not the whole of it. Said, so an operator can lengthen lease_seconds.
                    tracing::warn!(
                        notification = %row.id,
                        "a send outlasted the relay's lease; consider a longer lease_seconds"
                    );
                }
            }
        }
        for route in Route::ALL {
            if !routes.contains(route) && outbox::pending_on(conn, *route)? {
                report.no_transport.push(*route);
            }
        }
        report.no_transport.sort_by_key(|r| r.as_str());
        Ok(report)
    }

    fn deliver_one(
        &self,
        conn: &Db,
        row: &Notification,
        now: &dyn Fn() -> DateTime<Utc>,
        report: &mut PassReport,
    ) -> crate::store::Result<()> {
        let Some((_, transport)) = self.transports.iter().find(|(r, _)| *r == row.channel) else {
            outbox::release(conn, &row.id, &self.owner)?;
            return Ok(());
        };
        let result = transport.send(row, now().timestamp());
        let done = now();
        match result {
            Ok(()) => {
                if outbox::mark_sent(conn, &row.id, &self.owner, done)? {
                    report.sent.push(row.id.clone());
                } else {
                    tracing::warn!(notification = %row.id, "sent after losing its lease");
                }
                if !report.delivered_on.contains(&row.channel) {
                    report.delivered_on.push(row.channel);
                }
            }
            Err(error) => {
                let error = self.scrub(&error);
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

/// A factor in 0.8–1.2 from the OS's randomness (through a UUID v4, already a dependency).
fn jitter() -> f64 {
    let bits = (uuid::Uuid::new_v4().as_u128() & 0xFFFF_FFFF) as f64;
    0.8 + 0.4 * bits / u32::MAX as f64
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
            while !flag.load(Ordering::Relaxed) {
                let worked = match relay.pass(&conn, &Utc::now) {
                    Ok(report) => {
                        for line in watch.observe(&report) {
                            tracing::warn!("{line}");
                            warn(line);
                        }
                        !report.is_empty()
                    }
                    Err(e) => {
                        if watch.note_error() {
                            tracing::warn!(error = %e, "relay pass failed; retrying");
                        }
                        false
                    }
                };
                if !worked {
                    std::thread::sleep(StdDuration::from_millis(500));
                }
            }
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
            "[delivery]\nsecret = \"s3cr3t-key\"\n[delivery.email]\n\
             smtp = \"smtp://ann:pa55word@127.0.0.1:1\"\nfrom = \"a@b.c\"",
        )
        .unwrap();
        let relay = Relay::new(&config).unwrap();
        let line = relay.scrub("failed for ann:pa55word with s3cr3t-key\nsecond line");
        assert!(
            !line.contains("pa55word") && !line.contains("s3cr3t"),
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
