//! The one injectable clock (SPEC §1): system time in the console, a manual clock in headless
//! mode and tests, so every rule about time can be tested without sleeping.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};

#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(DateTime<Utc>),
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
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }

    /// Moves a manual clock forward; a system clock cannot be moved.
    pub fn advance(&mut self, seconds: i64) -> bool {
        match self {
            Clock::System => false,
            Clock::Manual(t) => {
                *t += Duration::seconds(seconds);
                true
            }
        }
    }
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
