//! Who is planned on shift when. Until the weekly shift plans of SPEC §14 land, every mechanic
//! follows a fixed pattern derived from his id: an eight-hour shift starting at one of five
//! times of day (UTC), and two days off a week. [`planned_on_shift`] is the only function the
//! simulation asks, so plugging in the real plans is a change to this file alone.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Shift starts (UTC hours): 13:00 UTC is 08:00 in Toronto, so the default day (from 14:00
/// UTC) begins with the early shifts on and the late ones still to come.
const SHIFT_STARTS: [u32; 5] = [11, 13, 14, 16, 18];
const SHIFT_HOURS: u32 = 8;

/// Whether `mechanic` is planned to be working at `at`.
pub fn planned_on_shift(mechanic: &str, at: DateTime<Utc>) -> bool {
    let h = stable_hash(mechanic);
    let start = SHIFT_STARTS[(h % SHIFT_STARTS.len() as u64) as usize];
    let first_day_off = ((h / 5) % 7) as u32;
    // A shift past midnight belongs to the day it started on.
    let hour = at.hour();
    let (day, into_shift) = if hour >= start {
        (at.weekday().num_days_from_monday(), hour - start)
    } else {
        (
            (at.weekday().num_days_from_monday() + 6) % 7,
            hour + 24 - start,
        )
    };
    let off = day == first_day_off || day == (first_day_off + 1) % 7;
    !off && into_shift < SHIFT_HOURS
}

/// FNV-1a: the same on every platform and every run (std's hasher is neither promised).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn each_mechanic_works_eight_hours_on_five_days_a_week() {
        let monday = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        for id in ["m1", "m2", "marie", "g000042"] {
            let hours = (0..24 * 7)
                .filter(|h| planned_on_shift(id, monday + chrono::Duration::hours(*h)))
                .count();
            assert_eq!(hours, 40, "{id}");
        }
    }
}
