//! SPEC §9 metrics, computed from the database, with their goals, as JSON or as text.

use serde::Serialize;

use crate::store::report::Figures;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    pub sessions_total: i64,
    /// Share of sessions whose metadata carries the customer's country and postal code (goal 100 %).
    pub location_share: Option<f64>,
    /// Share of sessions where the matcher ran without error.
    pub matching_ran_share: Option<f64>,
    pub matching_errors: i64,
    pub matcher_latency_ms: Latency,
    /// Average score of accepted targeted offers (goal > 100).
    pub avg_accepted_targeted_score: Option<f64>,
    pub accepts_total: i64,
    /// Share of accepts that went through a targeted offer (goal ≥ 80 %).
    pub targeted_accept_share: Option<f64>,
    /// Median seconds from release to accept (goal: targeted 2× faster than broadcast).
    pub median_seconds_to_accept: AcceptTimes,
    pub waitlist: WaitlistFigures,
    pub sessions_cancelled_unmatched: i64,
    /// Targeted offer scores in buckets of 25 points, for the console's histogram.
    pub score_histogram: Vec<Bucket>,
    /// Sessions booked for later (SPEC §14).
    pub scheduled: ScheduledFigures,
    /// When counting starts, if not at the beginning: sessions made from this time on are
    /// counted (`report --since`, or where pruned history ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted_from: Option<String>,
    /// History before this time was pruned (`pitwall prune`): no report counts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned_before: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScheduledFigures {
    /// Sessions ever booked for later.
    pub booked: i64,
    /// Booked and not released yet.
    pub awaiting_release: i64,
    /// Matched no later than ten minutes after the time they were booked for.
    pub matched_within_10_min: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AcceptTimes {
    pub targeted: Option<f64>,
    pub broadcast: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaitlistFigures {
    pub joined: i64,
    pub notified: i64,
    pub expired: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    /// Lowest score of the bucket; the bucket holds `from..from + 25`.
    pub from: i64,
    pub count: i64,
    pub tier: crate::model::Tier,
}

pub const BUCKET_WIDTH: i64 = 25;

/// The goals of SPEC §9, in one place: the report and the console's Metrics pane both judge
/// and name them from here.
pub const GOAL_LOCATION_SHARE: f64 = 1.0;
pub const GOAL_TARGETED_SHARE: f64 = 0.8;
/// The average score of accepted targeted offers must be above this.
pub const GOAL_AVG_SCORE: f64 = 100.0;
/// Targeted offers are accepted at least this many times faster than broadcasts (median).
pub const GOAL_SPEEDUP: f64 = 2.0;

/// Whether each goal is met (`None` while there is nothing to judge), and how it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goal {
    pub met: Option<bool>,
    pub text: &'static str,
}

impl Metrics {
    pub fn location_goal(&self) -> Goal {
        Goal {
            met: self.location_share.map(|s| s >= GOAL_LOCATION_SHARE),
            text: "goal 100 %",
        }
    }

    pub fn targeted_goal(&self) -> Goal {
        Goal {
            met: self.targeted_accept_share.map(|s| s >= GOAL_TARGETED_SHARE),
            text: "goal ≥ 80 %",
        }
    }

    pub fn score_goal(&self) -> Goal {
        Goal {
            met: self.avg_accepted_targeted_score.map(|s| s > GOAL_AVG_SCORE),
            text: "goal > 100",
        }
    }

    pub fn speed_goal(&self) -> Goal {
        let a = &self.median_seconds_to_accept;
        Goal {
            met: match (a.targeted, a.broadcast) {
                (Some(t), Some(b)) => Some(t * GOAL_SPEEDUP <= b),
                _ => None,
            },
            text: "goal: targeted 2× faster",
        }
    }
}

impl Metrics {
    pub fn from_figures(f: &Figures) -> Metrics {
        let accepts = f.accepts_targeted + f.accepts_broadcast;
        Metrics {
            sessions_total: f.sessions_total,
            location_share: share(f.sessions_with_location, f.sessions_total),
            matching_ran_share: share(f.sessions_matched_by_matcher, f.sessions_total),
            matching_errors: f.matching_errors,
            matcher_latency_ms: Latency {
                p50: percentile(&f.matcher_latencies_ms, 50.0),
                p95: percentile(&f.matcher_latencies_ms, 95.0),
                max: f.matcher_latencies_ms.iter().copied().reduce(f64::max),
            },
            avg_accepted_targeted_score: mean(&f.accepted_targeted_scores),
            accepts_total: accepts,
            targeted_accept_share: share(f.accepts_targeted, accepts),
            median_seconds_to_accept: AcceptTimes {
                targeted: percentile(&f.seconds_to_accept_targeted, 50.0),
                broadcast: percentile(&f.seconds_to_accept_broadcast, 50.0),
            },
            waitlist: WaitlistFigures {
                joined: f.waitlist_joined,
                notified: f.waitlist_notified,
                expired: f.waitlist_expired,
            },
            sessions_cancelled_unmatched: f.cancelled_unmatched,
            score_histogram: histogram(&f.targeted_scores),
            scheduled: ScheduledFigures {
                booked: f.scheduled_total,
                awaiting_release: f.scheduled_waiting,
                matched_within_10_min: f.scheduled_matched_on_time,
            },
            counted_from: f
                .counted_from
                .map(|t| crate::clock::rfc3339(crate::clock::from_millis(t))),
            pruned_before: f
                .pruned_before
                .map(|t| crate::clock::rfc3339(crate::clock::from_millis(t))),
        }
    }

    /// The report as a dispatcher reads it.
    pub fn to_text(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1} %", v * 100.0));
        let num =
            |v: Option<f64>, unit: &str| v.map_or("—".to_string(), |v| format!("{v:.2}{unit}"));
        // Each judged figure names its goal, met or not.
        let goal = |g: Goal| match g.met {
            Some(true) => format!("  ✓ goal met ({})", g.text),
            Some(false) => format!("  ✗ below goal ({})", g.text),
            None => format!("  ({})", g.text),
        };
        let l = &self.matcher_latency_ms;
        let a = &self.median_seconds_to_accept;
        let mut out = String::new();
        out.push_str("pitwall report\n\n");
        if let Some(from) = &self.counted_from {
            let pruned = self.pruned_before.as_ref() == Some(from);
            out.push_str(&format!(
                "Counting sessions made from {from}{}\n\n",
                if pruned {
                    " (older history was pruned)"
                } else {
                    ""
                }
            ));
        }
        out.push_str(&format!(
            "Sessions                         {}\n",
            self.sessions_total
        ));
        out.push_str(&format!(
            "  with customer location         {}{}\n",
            pct(self.location_share),
            goal(self.location_goal())
        ));
        out.push_str(&format!(
            "  matching ran                   {}\n",
            pct(self.matching_ran_share)
        ));
        out.push_str(&format!(
            "  matching errors                {}\n",
            self.matching_errors
        ));
        out.push_str(&format!(
            "  cancelled unmatched            {}\n\n",
            self.sessions_cancelled_unmatched
        ));
        out.push_str(&format!(
            "Matcher latency                  p50 {}  p95 {}  max {}\n\n",
            num(l.p50, " ms"),
            num(l.p95, " ms"),
            num(l.max, " ms")
        ));
        out.push_str(&format!(
            "Accepts                          {}\n",
            self.accepts_total
        ));
        out.push_str(&format!(
            "  through targeted offers        {}{}\n",
            pct(self.targeted_accept_share),
            goal(self.targeted_goal())
        ));
        out.push_str(&format!(
            "  avg score, targeted accepts    {}{}\n",
            num(self.avg_accepted_targeted_score, ""),
            goal(self.score_goal())
        ));
        out.push_str(&format!(
            "  median seconds to accept       targeted {}  broadcast {}{}\n\n",
            num(a.targeted, " s"),
            num(a.broadcast, " s"),
            goal(self.speed_goal())
        ));
        out.push_str(&format!(
            "Waitlist                         joined {}  notified {}  expired {}\n",
            self.waitlist.joined, self.waitlist.notified, self.waitlist.expired
        ));
        out.push_str(&format!(
            "Scheduled for later              booked {}  awaiting release {}  \
             matched within 10 min of their time {}\n",
            self.scheduled.booked,
            self.scheduled.awaiting_release,
            self.scheduled.matched_within_10_min
        ));
        out
    }
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
}

/// Nearest-rank percentile.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn histogram(scores: &[i64]) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    for &s in scores {
        let from = s.div_euclid(BUCKET_WIDTH) * BUCKET_WIDTH;
        match buckets.iter_mut().find(|b| b.from == from) {
            Some(b) => b.count += 1,
            None => buckets.push(Bucket {
                from,
                count: 1,
                tier: crate::model::Tier::of_score(from),
            }),
        }
    }
    buckets.sort_by_key(|b| b.from);
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 95.0), Some(5.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn histogram_buckets_by_25() {
        let h = histogram(&[10, 99, 100, 124, 151]);
        let got: Vec<(i64, i64)> = h.iter().map(|b| (b.from, b.count)).collect();
        assert_eq!(got, [(0, 1), (75, 1), (100, 2), (150, 1)]);
    }
}
