//! Weekly shift plans (SPEC §14): when a mechanic is *expected* on shift. Pure: no I/O, no
//! clock. A plan is wall-clock time in the mechanic's own time zone, so 08:00–16:00 stays
//! 08:00–16:00 local across daylight-saving changes; only `currently_on_shift` says he is
//! actually there (§1).
//!
//! The two questions the rest of pitwall (and the simulation) asks are
//! [`WeeklyPlan::is_planned_at`] and [`WeeklyPlan::next_planned_start`].
//!
//! Rules at the edges, where SPEC is silent:
//! - `end` earlier than `start` is an overnight shift: it runs past midnight into the next
//!   day (`{"day":"fri","start":"22:00","end":"06:00"}` ends Saturday 06:00). `end` equal to
//!   `start` is refused (an empty or 24-hour shift is a typo more often than a plan).
//! - A start that does not exist on a spring-forward day (02:30 in a skipped hour) begins at
//!   the first minute that does (03:00); a start that happens twice on a fall-back day begins
//!   at the first of the two. Membership is by wall clock, so both readings of an ambiguous
//!   local time are on shift.
//! - Entries may touch (08:00–12:00 and 12:00–16:00) but not overlap, and a plan holds at most
//!   [`MAX_SHIFTS`] entries.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::DispatchError;

/// The default time zone of a mechanic who names none (SPEC §2).
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::America::Toronto;
/// Entries in one plan: three a day is more than any real roster uses.
pub const MAX_SHIFTS: usize = 21;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;
const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// One entry of a plan as typed: `{"day":"mon","start":"08:00","end":"16:00"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftInput {
    pub day: String,
    pub start: String,
    pub end: String,
}

/// One validated entry: a weekday and minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub day: Weekday,
    pub start: u32,
    pub end: u32,
}

impl Shift {
    pub fn overnight(&self) -> bool {
        self.end <= self.start
    }

    /// Minutes after Monday 00:00 local, `[from, to)`; `to` may pass the end of the week.
    fn week_span(&self) -> (u32, u32) {
        let from = self.day.num_days_from_monday() * MINUTES_PER_DAY + self.start;
        let length = if self.overnight() {
            MINUTES_PER_DAY - self.start + self.end
        } else {
            self.end - self.start
        };
        (from, from + length)
    }

    fn input(&self) -> ShiftInput {
        ShiftInput {
            day: day_name(self.day).to_string(),
            start: hhmm(self.start),
            end: hhmm(self.end),
        }
    }
}

impl Serialize for Shift {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.input().serialize(serializer)
    }
}

/// A mechanic's weekly plan: entries in his time zone. Kept small (every mechanic of a roster
/// of 100,000 holds one): membership is worked out from the entries, not stored beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyPlan {
    pub timezone: Tz,
    pub shifts: Vec<Shift>,
}

impl Serialize for WeeklyPlan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("WeeklyPlan", 2)?;
        s.serialize_field("timezone", self.timezone.name())?;
        s.serialize_field("shifts", &self.shifts)?;
        s.end()
    }
}

impl Default for WeeklyPlan {
    fn default() -> Self {
        WeeklyPlan::new(DEFAULT_TIMEZONE, Vec::new())
    }
}

impl WeeklyPlan {
    /// A plan from entries already validated (see [`validate_plan`]).
    pub fn new(timezone: Tz, mut shifts: Vec<Shift>) -> WeeklyPlan {
        shifts.shrink_to_fit();
        WeeklyPlan { timezone, shifts }
    }

    pub fn is_empty(&self) -> bool {
        self.shifts.is_empty()
    }

    /// Is the mechanic planned on shift at instant `t`? By his wall clock at `t`.
    pub fn is_planned_at(&self, t: DateTime<Utc>) -> bool {
        if self.shifts.is_empty() {
            return false;
        }
        let local = t.with_timezone(&self.timezone).naive_local();
        self.covers_local(week_minute(&local))
    }

    /// Is a minute of the local week (0 = Monday 00:00) inside the plan?
    pub fn covers_local(&self, minute: u32) -> bool {
        self.shifts.iter().any(|s| {
            let (from, to) = s.week_span();
            // A span past the end of the week (Sunday night) wraps to Monday morning.
            (from <= minute && minute < to) || minute + MINUTES_PER_WEEK < to
        })
    }

    /// The first planned shift start strictly after `t`, or `None` for an empty plan.
    pub fn next_planned_start(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = t.with_timezone(&self.timezone).date_naive();
        // Eight days ahead covers a whole week from any time of today.
        (0..=8)
            .filter_map(|d| today.checked_add_signed(Duration::days(d)))
            .flat_map(|date| {
                self.shifts
                    .iter()
                    .filter(move |s| s.day == date.weekday())
                    .filter_map(move |s| self.instant(date, s.start))
            })
            .filter(|start| *start > t)
            .min()
    }

    /// When the planned shift covering `t` ends (the first instant after `t` that the plan does
    /// not cover), or `None` when `t` is not planned.
    pub fn planned_until(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.is_planned_at(t) {
            return None;
        }
        let today = t.with_timezone(&self.timezone).date_naive();
        (-1..=8)
            .filter_map(|d| today.checked_add_signed(Duration::days(d)))
            .flat_map(|date| {
                self.shifts
                    .iter()
                    .filter(move |s| s.day == date.weekday())
                    .filter_map(move |s| {
                        let end_date = if s.overnight() {
                            date.succ_opt()?
                        } else {
                            date
                        };
                        self.instant(end_date, s.end)
                    })
            })
            .filter(|end| *end > t && !self.is_planned_at(*end))
            .min()
    }

    /// The instant a local date and minute of day fall on: the first of two on a fall-back
    /// day, the first minute that exists when it falls in a spring-forward gap.
    fn instant(&self, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
        let mut local = date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(
            minute * 60,
            0,
        )?);
        // Gaps are at most a few hours: step a minute at a time to the first local time that
        // exists, which is the instant the clocks jumped.
        for _ in 0..=(3 * 60) {
            match self.timezone.from_local_datetime(&local) {
                LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
                LocalResult::None => local = local.checked_add_signed(Duration::minutes(1))?,
            }
        }
        None
    }
}

/// Minutes after Monday 00:00 of a local date-time.
pub fn week_minute(local: &NaiveDateTime) -> u32 {
    local.weekday().num_days_from_monday() * MINUTES_PER_DAY + local.hour() * 60 + local.minute()
}

pub fn day_name(day: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(_, d)| *d == day)
        .map(|(n, _)| *n)
        .expect("every weekday has a name")
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// An IANA time zone name, or `invalid_input` on `field`.
pub fn parse_timezone(field: &str, name: &str) -> Result<Tz, DispatchError> {
    name.trim().parse::<Tz>().map_err(|_| {
        DispatchError::invalid(
            field,
            format!(
                "\"{}\" is not a time zone: use an IANA name such as America/Toronto, \
                 America/Halifax or America/Edmonton.",
                crate::text::inert(name)
            ),
        )
    })
}

fn parse_day(field: &str, text: &str) -> Result<Weekday, DispatchError> {
    let t = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(n, _)| *n == t)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            DispatchError::invalid(
                field,
                format!(
                    "\"{}\" is not a day: use mon, tue, wed, thu, fri, sat or sun.",
                    crate::text::inert(text)
                ),
            )
        })
}

fn parse_hhmm(field: &str, text: &str) -> Result<u32, DispatchError> {
    let bad = || {
        DispatchError::invalid(
            field,
            format!(
                "\"{}\" is not a time of day: use HH:MM, 24-hour (08:00, 16:30).",
                crate::text::inert(text)
            ),
        )
    };
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Validates a plan as typed. Fields are named `{prefix}timezone` and
/// `{prefix}shifts[i].day|start|end`, so a seed file's error points at its record.
pub fn validate_plan(
    prefix: &str,
    timezone: Option<&str>,
    shifts: &[ShiftInput],
) -> Result<WeeklyPlan, DispatchError> {
    let tz = match timezone {
        Some(name) => parse_timezone(&format!("{prefix}timezone"), name)?,
        None => DEFAULT_TIMEZONE,
    };
    if shifts.len() > MAX_SHIFTS {
        return Err(DispatchError::invalid(
            format!("{prefix}shifts"),
            format!(
                "A weekly plan holds at most {MAX_SHIFTS} shifts; this one has {}.",
                shifts.len()
            ),
        ));
    }
    let mut parsed: Vec<Shift> = Vec::with_capacity(shifts.len());
    for (i, s) in shifts.iter().enumerate() {
        let f = |name: &str| format!("{prefix}shifts[{i}].{name}");
        let shift = Shift {
            day: parse_day(&f("day"), &s.day)?,
            start: parse_hhmm(&f("start"), &s.start)?,
            end: parse_hhmm(&f("end"), &s.end)?,
        };
        if shift.start == shift.end {
            return Err(DispatchError::invalid(
                f("end"),
                "A shift must end at another time than it starts (an end before the start \
                 runs past midnight).",
            ));
        }
        let (a, b) = shift.week_span();
        for (j, other) in parsed.iter().enumerate() {
            let (c, d) = other.week_span();
            // Compare on the week as a circle: shift one span by a week either way.
            let overlaps = [0i64, MINUTES_PER_WEEK as i64, -(MINUTES_PER_WEEK as i64)]
                .iter()
                .any(|&w| (a as i64) < d as i64 + w && (c as i64) + w < b as i64);
            if overlaps {
                return Err(DispatchError::invalid(
                    f("start"),
                    format!(
                        "This shift ({} {}–{}) overlaps shifts[{j}] ({} {}–{}).",
                        day_name(shift.day),
                        hhmm(shift.start),
                        hhmm(shift.end),
                        day_name(other.day),
                        hhmm(other.start),
                        hhmm(other.end)
                    ),
                ));
            }
        }
        parsed.push(shift);
    }
    Ok(WeeklyPlan::new(tz, parsed))
}

/// A plan in one line, as the console's editor shows it:
/// `America/Halifax mon-fri 08:00-16:00, sat 10:00-14:00` (days in a row with the same hours
/// are joined).
pub fn to_line(plan: &WeeklyPlan) -> String {
    let mut groups: Vec<(Weekday, Weekday, u32, u32)> = Vec::new();
    for s in &plan.shifts {
        match groups.last_mut() {
            Some((_, last, start, end))
                if *start == s.start
                    && *end == s.end
                    && last.succ() == s.day
                    && s.day != Weekday::Mon =>
            {
                *last = s.day
            }
            _ => groups.push((s.day, s.day, s.start, s.end)),
        }
    }
    let entries: Vec<String> = groups
        .iter()
        .map(|(from, to, start, end)| {
            let days = if from == to {
                day_name(*from).to_string()
            } else {
                format!("{}-{}", day_name(*from), day_name(*to))
            };
            format!("{days} {}-{}", hhmm(*start), hhmm(*end))
        })
        .collect();
    format!("{} {}", plan.timezone.name(), entries.join(", "))
        .trim_end()
        .to_string()
}

/// Reads the one-line form of [`to_line`]: an optional IANA zone first, then entries
/// `DAY[-DAY] HH:MM-HH:MM` separated by commas. The entries are checked by [`validate_plan`]
/// afterwards (by the engine); this only splits the line, and says what it could not read.
pub fn from_line(line: &str) -> Result<(Option<String>, Vec<ShiftInput>), String> {
    let mut rest = line.trim();
    let mut zone = None;
    if let Some((first, after)) = rest.split_once(char::is_whitespace).or(Some((rest, "")))
        && first.contains('/')
    {
        zone = Some(first.to_string());
        rest = after.trim();
    }
    let mut shifts = Vec::new();
    for entry in rest.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (days, hours) = entry.split_once(char::is_whitespace).ok_or_else(|| {
            format!("\"{entry}\": write days then hours, e.g. mon-fri 08:00-16:00")
        })?;
        let (start, end) = hours
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("\"{entry}\": hours are START-END, e.g. 08:00-16:00"))?;
        let (first, last) = days.split_once('-').unwrap_or((days, days));
        let index = |d: &str| DAYS.iter().position(|(n, _)| *n == d.to_ascii_lowercase());
        match (index(first), index(last)) {
            (Some(a), Some(b)) if a <= b => {
                for (name, _) in &DAYS[a..=b] {
                    shifts.push(ShiftInput {
                        day: name.to_string(),
                        start: start.trim().to_string(),
                        end: end.trim().to_string(),
                    });
                }
            }
            _ => {
                // A single day the engine will judge (and name, if it is no day at all).
                if first == last {
                    shifts.push(ShiftInput {
                        day: first.to_string(),
                        start: start.trim().to_string(),
                        end: end.trim().to_string(),
                    });
                } else {
                    return Err(format!(
                        "\"{days}\": a range of days runs forward, e.g. mon-fri"
                    ));
                }
            }
        }
    }
    Ok((zone, shifts))
}

/// Which entry of the one-line form each shift of [`from_line`] came from: (entry number from
/// 1, the entry as typed), one per shift, so an error about `shifts[5]` can name the entry the
/// dispatcher wrote ("mon-fri 08:00-16:00" is five shifts).
pub fn line_entries(line: &str) -> Vec<(usize, String)> {
    let mut rest = line.trim();
    if let Some((first, after)) = rest.split_once(char::is_whitespace).or(Some((rest, "")))
        && first.contains('/')
    {
        rest = after.trim();
    }
    let mut out = Vec::new();
    for (k, entry) in rest
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let shifts = from_line(entry).map_or(1, |(_, s)| s.len().max(1));
        out.extend(std::iter::repeat_n((k + 1, entry.to_string()), shifts));
    }
    out
}

/// `text` with every `shifts[i]` (and its `.day`/`.start`/`.end`) said as the entry of `line`
/// it came from: `entry 2 ("sat 10:00-14:00")`.
pub fn name_entries(line: &str, text: &str) -> String {
    let entries = line_entries(line);
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("shifts[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "shifts[".len()..];
        let entry = after.split_once(']').and_then(|(n, tail)| {
            let (k, e) = entries.get(n.parse::<usize>().ok()?)?;
            Some((format!("entry {k} (\"{e}\")"), tail))
        });
        match entry {
            Some((named, tail)) => {
                out.push_str(&named);
                // The part of the entry is in the message already.
                rest = [".day", ".start", ".end"]
                    .iter()
                    .find_map(|p| tail.strip_prefix(p))
                    .unwrap_or(tail);
            }
            None => {
                out.push_str("shifts[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// When a mechanic is next expected, as the console's roster says it: "planned now" while his
/// plan covers `now`, else the next start in his own time ("Tue 08:00 AST").
pub fn next_expected(plan: &WeeklyPlan, now: DateTime<Utc>) -> String {
    if plan.is_empty() {
        return "no plan".to_string();
    }
    if let Some(until) = plan.planned_until(now) {
        return format!(
            "now → {}",
            until.with_timezone(&plan.timezone).format("%H:%M %Z")
        );
    }
    match plan.next_planned_start(now) {
        Some(t) => t
            .with_timezone(&plan.timezone)
            .format("%a %H:%M %Z")
            .to_string(),
        None => "no plan".to_string(),
    }
}

/// A plan as stored (a zone name and the entries' JSON), for rows pitwall wrote itself.
pub fn from_stored(timezone: &str, shifts_json: &str) -> Result<WeeklyPlan, String> {
    let shifts: Vec<ShiftInput> = serde_json::from_str(shifts_json).map_err(|e| e.to_string())?;
    validate_plan("", Some(timezone), &shifts).map_err(|e| e.message)
}

/// The entries as stored: JSON of their typed form.
pub fn shifts_json(plan: &WeeklyPlan) -> String {
    serde_json::to_string(&plan.shifts).expect("plain data always serialises")
}

/// How far ahead a time zone's clock is of UTC at `t`, in minutes.
pub fn offset_minutes(tz: Tz, t: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

/// The local minute of the week at `t` for a zone `offset` minutes ahead of UTC.
pub fn week_minute_at(t: DateTime<Utc>, offset: i32) -> u32 {
    // 1970-01-01 was a Thursday: day 3 counted from Monday.
    let local = t.timestamp().div_euclid(60) + i64::from(offset);
    let day = local.div_euclid(MINUTES_PER_DAY as i64);
    let weekday = (day + 3).rem_euclid(7) as u32;
    weekday * MINUTES_PER_DAY + local.rem_euclid(MINUTES_PER_DAY as i64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn plan(tz: &str, shifts: &[(&str, &str, &str)]) -> WeeklyPlan {
        let inputs: Vec<ShiftInput> = shifts
            .iter()
            .map(|(d, s, e)| ShiftInput {
                day: d.to_string(),
                start: s.to_string(),
                end: e.to_string(),
            })
            .collect();
        validate_plan("", Some(tz), &inputs).unwrap()
    }

    fn weekdays(tz: &str) -> WeeklyPlan {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let shifts: Vec<_> = days.iter().map(|d| (*d, "08:00", "16:00")).collect();
        plan(tz, &shifts)
    }

    #[test]
    fn a_plan_keeps_its_local_hours_across_the_march_change() {
        let p = weekdays("America/Toronto");
        // Saturday 7 March 2026: EST, UTC−5. Monday 9 March: EDT, UTC−4.
        assert!(p.is_planned_at(at("2026-03-07T13:00:00Z")));
        assert!(!p.is_planned_at(at("2026-03-07T12:59:00Z")));
        assert!(p.is_planned_at(at("2026-03-09T12:00:00Z")));
        assert!(!p.is_planned_at(at("2026-03-09T11:59:00Z")));
        assert!(!p.is_planned_at(at("2026-03-09T20:00:00Z")));
        assert_eq!(
            p.next_planned_start(at("2026-03-07T22:00:00Z")),
            Some(at("2026-03-08T12:00:00Z")),
            "Sunday 8 March, the change day, starts at 08:00 EDT"
        );
        assert_eq!(
            p.planned_until(at("2026-03-08T13:00:00Z")),
            Some(at("2026-03-08T20:00:00Z"))
        );
    }

    #[test]
    fn a_plan_keeps_its_local_hours_across_the_november_change() {
        let p = weekdays("America/Halifax");
        // Saturday 31 October 2026: ADT, UTC−3. Sunday 1 November: AST, UTC−4.
        assert_eq!(
            p.next_planned_start(at("2026-10-31T20:00:00Z")),
            Some(at("2026-11-01T12:00:00Z"))
        );
        assert!(p.is_planned_at(at("2026-10-31T11:00:00Z")));
        assert!(!p.is_planned_at(at("2026-11-02T11:00:00Z")));
        assert!(p.is_planned_at(at("2026-11-02T12:00:00Z")));
        assert_eq!(
            p.planned_until(at("2026-11-02T12:00:00Z")),
            Some(at("2026-11-02T20:00:00Z"))
        );
    }

    #[test]
    fn a_start_in_the_skipped_hour_begins_when_the_clocks_jump() {
        let p = plan("America/Toronto", &[("sun", "02:30", "06:00")]);
        // 8 March 2026: 02:00 EST becomes 03:00 EDT at 07:00Z; 02:30 never happens.
        assert_eq!(
            p.next_planned_start(at("2026-03-07T00:00:00Z")),
            Some(at("2026-03-08T07:00:00Z"))
        );
        assert!(p.is_planned_at(at("2026-03-08T07:00:00Z")));
        assert!(!p.is_planned_at(at("2026-03-08T06:59:00Z")));
        // The skipped hour is lost, not moved: 03:00–06:00 EDT, 07:00Z–10:00Z.
        assert!(!p.is_planned_at(at("2026-03-08T10:00:00Z")));
    }

    #[test]
    fn a_start_in_the_repeated_hour_begins_at_its_first_reading() {
        let p = plan("America/Toronto", &[("sun", "01:30", "03:00")]);
        // 1 November 2026: 01:30 EDT (05:30Z) then 01:30 EST (06:30Z).
        assert_eq!(
            p.next_planned_start(at("2026-10-31T00:00:00Z")),
            Some(at("2026-11-01T05:30:00Z"))
        );
        // Both readings are on the plan: wall-clock membership.
        assert!(p.is_planned_at(at("2026-11-01T06:45:00Z")));
        assert!(!p.is_planned_at(at("2026-11-01T08:00:00Z")));
    }

    #[test]
    fn an_overnight_shift_runs_into_the_next_day_and_the_week_wraps() {
        let p = plan("America/Edmonton", &[("sun", "22:00", "06:00")]);
        // Sunday 11 Jan 2026 22:00 MST = Monday 05:00Z; ends Monday 06:00 MST = 13:00Z.
        assert!(p.is_planned_at(at("2026-01-12T05:00:00Z")));
        assert!(p.is_planned_at(at("2026-01-12T12:59:00Z")));
        assert!(!p.is_planned_at(at("2026-01-12T13:00:00Z")));
        assert_eq!(
            p.planned_until(at("2026-01-12T06:00:00Z")),
            Some(at("2026-01-12T13:00:00Z"))
        );
    }

    #[test]
    fn bad_plans_name_the_entry_and_field() {
        let input = |d: &str, s: &str, e: &str| ShiftInput {
            day: d.into(),
            start: s.into(),
            end: e.into(),
        };
        let field = |tz: Option<&str>, shifts: &[ShiftInput]| {
            validate_plan("", tz, shifts).unwrap_err().field.unwrap()
        };
        assert_eq!(field(Some("Mars/Olympus"), &[]), "timezone");
        let ok = input("mon", "08:00", "16:00");
        assert_eq!(
            field(None, &[ok.clone(), input("funday", "08:00", "09:00")]),
            "shifts[1].day"
        );
        assert_eq!(
            field(
                None,
                &[
                    ok.clone(),
                    input("wed", "08:00", "12:00"),
                    input("tue", "8am", "09:00")
                ]
            ),
            "shifts[2].start"
        );
        assert_eq!(
            field(None, &[input("tue", "08:00", "24:00")]),
            "shifts[0].end"
        );
        assert_eq!(
            field(None, &[input("tue", "08:00", "08:00")]),
            "shifts[0].end"
        );
        assert_eq!(
            field(None, &[ok.clone(), input("mon", "15:00", "18:00")]),
            "shifts[1].start"
        );
        // Sunday night into Monday morning overlaps a Monday 05:00 start across the week's end.
        assert_eq!(
            field(
                None,
                &[
                    input("sun", "22:00", "06:00"),
                    input("mon", "05:00", "09:00")
                ]
            ),
            "shifts[1].start"
        );
        let many: Vec<ShiftInput> = (0..22)
            .map(|h| input("sat", &hhmm(h * 60), &hhmm(h * 60 + 30)))
            .collect();
        assert_eq!(field(None, &many), "shifts");
        // Touching is fine.
        assert!(validate_plan("", None, &[ok, input("mon", "16:00", "20:00")]).is_ok());
    }

    #[test]
    fn the_one_line_form_round_trips_and_says_what_it_cannot_read() {
        let p = plan(
            "America/Halifax",
            &[
                ("mon", "08:00", "16:00"),
                ("tue", "08:00", "16:00"),
                ("wed", "08:00", "16:00"),
                ("sat", "10:00", "14:00"),
                ("sun", "22:00", "06:00"),
            ],
        );
        let line = to_line(&p);
        assert_eq!(
            line,
            "America/Halifax mon-wed 08:00-16:00, sat-sun 10:00-14:00, sun 22:00-06:00"
                .replace("sat-sun 10:00-14:00, sun", "sat 10:00-14:00, sun")
        );
        let (zone, shifts) = from_line(&line).unwrap();
        assert_eq!(validate_plan("", zone.as_deref(), &shifts).unwrap(), p);
        let (zone, shifts) = from_line("mon 09:00-17:00").unwrap();
        assert_eq!((zone, shifts.len()), (None, 1));
        assert!(from_line("mon").is_err());
        assert!(from_line("fri-mon 08:00-16:00").is_err());
        assert_eq!(from_line("").unwrap(), (None, Vec::new()));
        assert_eq!(
            next_expected(&p, at("2026-01-05T09:00:00Z")),
            "now → 06:00 AST",
            "Sunday night's shift runs into Monday"
        );
        assert_eq!(
            next_expected(&p, at("2026-01-05T11:30:00Z")),
            "Mon 08:00 AST"
        );
    }

    #[test]
    fn the_fast_week_minute_agrees_with_the_time_zone_database() {
        let tz: Tz = "America/St_Johns".parse().unwrap();
        for s in [
            "2026-03-08T05:29:00Z",
            "2026-11-01T03:31:00Z",
            "2026-07-04T23:59:00Z",
        ] {
            let t = at(s);
            let local = t.with_timezone(&tz).naive_local();
            assert_eq!(
                week_minute_at(t, offset_minutes(tz, t)),
                week_minute(&local),
                "{s}"
            );
        }
    }
}
