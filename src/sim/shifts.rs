//! Who is planned on shift when: a mechanic's weekly plan (SPEC §14), by his own wall clock. A
//! mechanic without a plan (a roster loaded from a file that has none) follows a fixed pattern
//! derived from his id instead — an eight-hour shift starting at one of five times of day (UTC),
//! two days off a week — so any roster still has a working day. [`planned_on_shift`] is the only
//! function the simulation asks.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::schedule::WeeklyPlan;

/// Whether the mechanic `id` with weekly plan `plan` is planned to be working at `at`.
pub fn planned_on_shift(id: &str, plan: &WeeklyPlan, at: DateTime<Utc>) -> bool {
    if plan.is_empty() {
        fixed_pattern(id, at)
    } else {
        plan.is_planned_at(at)
    }
}

/// Shift starts (UTC hours): 13:00 UTC is 08:00 in Toronto, so the default day (from 14:00
/// UTC) begins with the early shifts on and the late ones still to come.
const SHIFT_STARTS: [u32; 5] = [11, 13, 14, 16, 18];
const SHIFT_HOURS: u32 = 8;

/// The stand-in for a missing plan: the same for a given id on every run and platform.
fn fixed_pattern(mechanic: &str, at: DateTime<Utc>) -> bool {
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
    fn without_a_plan_each_mechanic_works_eight_hours_on_five_days_a_week() {
        let monday = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        for id in ["m1", "m2", "marie", "g000042"] {
            let hours = (0..24 * 7)
                .filter(|h| fixed_pattern(id, monday + chrono::Duration::hours(*h)))
                .count();
            assert_eq!(hours, 40, "{id}");
        }
    }

    #[test]
    fn a_plan_wins_over_the_fixed_pattern() {
        let plan = crate::schedule::from_stored(
            "America/Toronto",
            r#"[{"day":"mon","start":"08:00","end":"16:00"}]"#,
        )
        .unwrap();
        // Monday 2026-01-05 09:00 in Toronto is 14:00 UTC; Tuesday is off in the plan.
        let monday = Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0).unwrap();
        assert!(planned_on_shift("m1", &plan, monday));
        assert!(!planned_on_shift(
            "m1",
            &plan,
            monday + chrono::Duration::days(1)
        ));
    }
}
