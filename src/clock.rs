//! The one injectable clock (SPEC §1): system time in the console, a manual clock in headless
//! mode and tests, so every rule about time can be tested without sleeping.

use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone, Utc};

#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(DateTime<Utc>),
    /// Real time run faster (`pitwall demo --speed X`): from `origin` at the real instant
    /// `started`, `speed` seconds pass per real second. Clones share the origin, so a console
    /// and the simulation beside it read the same time.
    Scaled {
        origin: DateTime<Utc>,
        started: std::time::Instant,
        speed: f64,
    },
}

impl Clock {
    /// The headless default start (SPEC §8).
    pub fn manual_default() -> Clock {
        Clock::Manual(
            Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0)
                .single()
                .expect("a valid fixed date"),
        )
    }

    /// Current time, truncated to the millisecond the database stores.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => from_millis(Utc::now().timestamp_millis()),
            Clock::Manual(t) => from_millis(t.timestamp_millis()),
            Clock::Scaled {
                origin,
                started,
                speed,
            } => {
                let passed = (started.elapsed().as_secs_f64() * speed * 1000.0) as i64;
                from_millis(origin.timestamp_millis().saturating_add(passed))
            }
        }
    }

    /// Starts at `origin` now and runs `speed` times faster than real time (at least 1×, at
    /// most 1,000×).
    pub fn scaled(origin: DateTime<Utc>, speed: f64) -> Clock {
        Clock::Scaled {
            origin,
            started: std::time::Instant::now(),
            speed: speed.clamp(1.0, 1000.0),
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }

    /// Moves a manual clock forward, never past [`end_of_time`]; a system clock cannot be
    /// moved. The engine refuses an `advance` that would pass the end before calling this.
    pub fn advance(&mut self, seconds: i64) -> bool {
        match self {
            Clock::System | Clock::Scaled { .. } => false,
            Clock::Manual(t) => {
                *t = later(
                    *t,
                    TimeDelta::try_seconds(seconds).unwrap_or(TimeDelta::MAX),
                );
                true
            }
        }
    }
}

/// The last instant pitwall keeps: 9999-12-31T23:59:59Z, the end of what RFC 3339 can write
/// (SPEC §7). The manual clock never passes it, and deadlines computed near it stop at it.
pub fn end_of_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .expect("a valid fixed date")
}

/// `t + d`, or [`end_of_time`] when that would pass it: a deadline near the end of the calendar
/// is the end, never an overflow panic or a time RFC 3339 cannot write.
pub fn later(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d)
        .map_or_else(end_of_time, |t| t.min(end_of_time()))
}

/// Database representation of an instant: milliseconds since the Unix epoch, UTC.
pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// RFC 3339 UTC with a `Z`, fractional seconds only when there are any.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_end_of_time_is_the_clocks() {
        assert_eq!(
            end_of_time().timestamp_millis(),
            crate::model::END_OF_TIME_MILLIS
        );
    }

    #[test]
    fn the_clock_stops_at_the_end_of_rfc_3339() {
        let near = end_of_time() - TimeDelta::seconds(10);
        assert_eq!(
            later(near, TimeDelta::seconds(5)),
            near + TimeDelta::seconds(5)
        );
        assert_eq!(later(near, TimeDelta::hours(24)), end_of_time());
        assert_eq!(
            later(DateTime::<Utc>::MAX_UTC, TimeDelta::MAX),
            end_of_time()
        );
        let mut clock = Clock::Manual(near);
        clock.advance(i64::MAX);
        assert_eq!(clock.now(), end_of_time());
        assert_eq!(rfc3339(clock.now()), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn a_scaled_clock_runs_faster_from_its_origin_and_cannot_be_moved() {
        let origin = Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0).unwrap();
        let mut clock = Clock::scaled(origin, 100.0);
        let copy = clock.clone();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let passed = (clock.now() - origin).num_milliseconds();
        // 50 ms of real time is 5 s on the clock (a loaded machine may add a little).
        assert!((5_000..60_000).contains(&passed), "{passed}");
        assert!(!clock.advance(60) && !clock.is_manual());
        assert!((copy.now() - clock.now()).num_milliseconds().abs() < 1_000);
        assert!(
            matches!(Clock::scaled(origin, 1e9), Clock::Scaled { speed, .. } if speed == 1000.0)
        );
    }
}
