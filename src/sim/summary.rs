//! What a simulated day comes to: the §9 report of its database plus what happened to offers
//! (SPEC §16), as JSON or text, and two runs side by side for `--compare`.

use serde::Serialize;

use crate::engine::Engine;
use crate::error::DispatchResult;
use crate::report::{Goal, Metrics};
use crate::store::report::OfferCounts;

use super::{Activity, Options, Params};

/// One run's result. Serialised, it is `simulate --json`: the same seed gives the same bytes,
/// so the two wall-clock figures (matcher latency and the run's own time) stay out of it and
/// are said on stderr instead.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub seed: u64,
    pub hours: f64,
    pub arrivals_per_hour: f64,
    pub smart_matching: bool,
    pub params: Params,
    /// The §9 metrics exactly as `pitwall report` computes them on this database, less the
    /// matcher latency (wall-clock time, different on every run).
    pub report: Metrics,
    pub offers: OfferCounts,
    pub activity: Activity,
    #[serde(skip)]
    pub wall_clock: WallClock,
}

#[derive(Debug, Clone, Default)]
pub struct WallClock {
    pub elapsed: std::time::Duration,
    pub matcher_latency_ms: crate::report::Latency,
}

impl Outcome {
    pub fn collect(
        engine: &mut Engine,
        options: &Options,
        activity: Activity,
        elapsed: std::time::Duration,
    ) -> DispatchResult<Outcome> {
        let mut report = engine.report()?;
        let latency = std::mem::take(&mut report.matcher_latency_ms);
        let offers = crate::store::report::offer_counts(engine.connection())?;
        Ok(Outcome {
            seed: options.seed,
            hours: options.hours,
            arrivals_per_hour: options.arrivals_per_hour,
            smart_matching: options.smart_matching,
            params: options.params.clone(),
            report,
            offers,
            activity,
            wall_clock: WallClock {
                elapsed,
                matcher_latency_ms: latency,
            },
        })
    }

    /// The wall-clock line for stderr: how long the run took, and the matcher's latency.
    pub fn timing_line(&self) -> String {
        let l = &self.wall_clock.matcher_latency_ms;
        let ms = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.2} ms"));
        format!(
            "simulated {} h ({} arrivals) in {:.2} s; matcher latency p50 {} p95 {} max {}",
            self.hours,
            self.activity.arrivals,
            self.wall_clock.elapsed.as_secs_f64(),
            ms(l.p50),
            ms(l.p95),
            ms(l.max)
        )
    }

    /// One run as text: what the simulation did, what happened to offers, then the report.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "pitwall simulate: {} h, {} arrivals/h, seed {}, smart matching {}\n\n",
            self.hours,
            self.arrivals_per_hour,
            self.seed,
            if self.smart_matching { "on" } else { "off" }
        );
        for row in rows(self) {
            out.push_str(&format!(
                "{:<38} {}{}\n",
                row.label,
                row.value,
                mark(row.goal)
            ));
        }
        // The §9 figures are among the rows above, once each (`pitwall report --db FILE`
        // prints them in its own layout); the matcher's latency is wall-clock time, said on
        // stderr, so this text is the same for the same seed, line for line.
        out.push('\n');
        out.push_str(&hourly_text(&self.activity.hourly));
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data") + "\n"
    }
}

/// `--compare`: both runs, as one JSON object.
#[derive(Debug, Serialize)]
pub struct Comparison<'a> {
    pub smart_matching_on: &'a Outcome,
    pub smart_matching_off: &'a Outcome,
}

impl Comparison<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data") + "\n"
    }

    /// The two runs side by side, each judged figure marked against its goal.
    pub fn to_text(&self) -> String {
        let (on, off) = (self.smart_matching_on, self.smart_matching_off);
        let mut out = format!(
            "pitwall simulate --compare: {} h, {} arrivals/h, seed {}\n\n",
            on.hours, on.arrivals_per_hour, on.seed
        );
        out.push_str(&format!(
            "{:<38} {:<20} {}\n",
            "", "smart matching on", "smart matching off"
        ));
        for (a, b) in rows(on).into_iter().zip(rows(off)) {
            let left = format!("{}{}", a.value, short_mark(a.goal));
            let line = format!(
                "{:<38} {left:<20} {}{}",
                a.label,
                b.value,
                short_mark(b.goal)
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "\n✓ goal met  ✗ below goal. Goals: {} targeted accepts; targeted accepted 2× faster \
             than broadcast (median); average targeted accept score > 100.\n",
            "≥ 80 %"
        ));
        if on.report.waitlist.joined != off.report.waitlist.joined {
            out.push_str(
                "Waitlist: a customer joins only from the \"all mechanics offline\" card, which \
                 needs matching to find that every suitable mechanic is off shift. With smart \
                 matching off nothing is matched, every session goes to the broadcast, and \
                 the card (and so the waitlist) never comes up.\n",
            );
        }
        out.push_str("\nHour by hour, smart matching on:\n");
        out.push_str(&hourly_text(&on.activity.hourly));
        out.push_str("\nHour by hour, smart matching off:\n");
        out.push_str(&hourly_text(&off.activity.hourly));
        out
    }
}

/// The day hour by hour: who was on shift against who arrived and what became of them.
fn hourly_text(hours: &[super::Hour]) -> String {
    let mut out = format!(
        "{:<12} {:>8} {:>9} {:>9} {:>10} {:>10} {:>9} {:>8}\n",
        "hour (UTC)",
        "arrivals",
        "on shift",
        "accepted",
        "targeted",
        "broadcast",
        "escalated",
        "waitlist",
    );
    for h in hours {
        let when = chrono::DateTime::parse_from_rfc3339(&h.starts_at)
            .map(|t| t.format("%a %H:%M").to_string())
            .unwrap_or_else(|_| h.starts_at.clone());
        out.push_str(&format!(
            "{when:<12} {:>8} {:>9} {:>9} {:>10} {:>10} {:>9} {:>8}\n",
            h.arrivals,
            h.most_on_shift,
            h.accepted_targeted + h.accepted_broadcast,
            h.accepted_targeted,
            h.accepted_broadcast,
            h.escalations,
            h.waitlist_joins,
        ));
    }
    out.push_str(
        "(on shift: the most at once in the hour; accepted: offers taken in the hour, of any \
         arrival; waitlist: customers who joined it)\n",
    );
    out
}

struct Row {
    label: &'static str,
    value: String,
    goal: Option<Goal>,
}

fn rows(o: &Outcome) -> Vec<Row> {
    let r = &o.report;
    let c = &o.offers;
    let a = &o.activity;
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1} %", v * 100.0));
    let secs = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.0} s"));
    let row = |label, value: String| Row {
        label,
        value,
        goal: None,
    };
    let judged = |label, value: String, goal| Row {
        label,
        value,
        goal: Some(goal),
    };
    vec![
        row("arrivals", a.arrivals.to_string()),
        row("sessions", r.sessions_total.to_string()),
        judged(
            "  with customer location",
            pct(r.location_share),
            r.location_goal(),
        ),
        row("  matching ran", pct(r.matching_ran_share)),
        row("  matching errors", r.matching_errors.to_string()),
        row("accepts", r.accepts_total.to_string()),
        judged(
            "  through targeted offers",
            pct(r.targeted_accept_share),
            r.targeted_goal(),
        ),
        row(
            "  median to accept, targeted",
            secs(r.median_seconds_to_accept.targeted),
        ),
        row(
            "  median to accept, broadcast",
            secs(r.median_seconds_to_accept.broadcast),
        ),
        judged(
            "  targeted faster than broadcast",
            match (
                r.median_seconds_to_accept.targeted,
                r.median_seconds_to_accept.broadcast,
            ) {
                (Some(t), Some(b)) if t > 0.0 => format!("{:.1}×", b / t),
                _ => "—".to_string(),
            },
            r.speed_goal(),
        ),
        judged(
            "  avg score, targeted accepts",
            r.avg_accepted_targeted_score
                .map_or("—".to_string(), |v| format!("{v:.1}")),
            r.score_goal(),
        ),
        row("targeted offers made", c.targeted_made.to_string()),
        row("  accepted", c.accepted_targeted.to_string()),
        row("  declined", c.declined.to_string()),
        row("  expired unanswered", c.expired.to_string()),
        row("  withdrawn (clock-out, busy)", c.withdrawn.to_string()),
        row("broadcast accepts", c.accepted_broadcast.to_string()),
        row("auto clock-outs", c.auto_clock_outs.to_string()),
        row("escalations", c.escalations.to_string()),
        row(
            "waitlist joined / notified / expired",
            format!(
                "{} / {} / {}",
                r.waitlist.joined, r.waitlist.notified, r.waitlist.expired
            ),
        ),
        row(
            "cancelled unmatched",
            r.sessions_cancelled_unmatched.to_string(),
        ),
        row("sessions completed", a.completed.to_string()),
    ]
}

fn mark(goal: Option<Goal>) -> String {
    match goal {
        Some(Goal {
            met: Some(true),
            text,
        }) => format!("  ✓ ({text})"),
        Some(Goal {
            met: Some(false),
            text,
        }) => format!("  ✗ ({text})"),
        Some(Goal { met: None, text }) => format!("  ({text})"),
        None => String::new(),
    }
}

fn short_mark(goal: Option<Goal>) -> &'static str {
    match goal.and_then(|g| g.met) {
        Some(true) => " ✓",
        Some(false) => " ✗",
        None => "",
    }
}
