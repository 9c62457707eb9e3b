//! The metrics pane: SPEC §9 figures beside their goals, and match scores by tier.

use crate::tui::widgets::panel;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph};

use crate::model::Tier;
use crate::report::BUCKET_WIDTH;
use crate::tui::state::App;
use crate::tui::theme::Tone;

use crate::tui::keymap::Binding;
use crate::tui::panes::{self, PaneDef};

pub const PANE: PaneDef = PaneDef {
    title: "Metrics",
    keys: KEYS,
    op: panes::no_op,
    render,
    click: panes::no_click,
    key_state: panes::no_key_state,
    clamp: panes::no_clamp,
    back: panes::no_back,
    typing: None,
    filter: None,
    metrics: true,
    state: None,
    load: None,
    found: None,
    done: panes::acted,
};

/// The pane's keys, declared once: lookup, footer and help all read them.
pub const KEYS: &[Binding] = &[];

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let [figures, chart] =
        Layout::horizontal([Constraint::Length(58), Constraint::Min(24)]).areas(area);
    let Some(m) = &app.data.metrics else {
        let p = Paragraph::new(Span::styled("Loading figures…", t.style(Tone::Dim)));
        frame.render_widget(p.block(Block::bordered().title(" Metrics ")), area);
        return;
    };
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.0}%", v * 100.0));
    let num = |v: Option<f64>, unit: &str| v.map_or("—".to_string(), |v| format!("{v:.1}{unit}"));
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    let goal = |g: crate::report::Goal| match g.met {
        Some(true) => Span::styled(" ✓", t.style(Tone::Good)),
        Some(false) => Span::styled(" ✗ below goal", t.style(Tone::Warn)),
        None => Span::raw(""),
    };
    let row = |label: &str, value: String, mark: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("{label:<33}"), t.style(Tone::Dim)),
            Span::raw(value),
            mark,
        ])
    };
    let a = &m.median_seconds_to_accept;
    let lines = vec![
        row("Sessions", m.sessions_total.to_string(), Span::raw("")),
        row(
            "  with location (goal 100%)",
            pct(m.location_share),
            goal(m.location_goal()),
        ),
        row("  matching ran", pct(m.matching_ran_share), Span::raw("")),
        row(
            "  matching errors",
            m.matching_errors.to_string(),
            Span::raw(""),
        ),
        row(
            "  cancelled unmatched",
            m.sessions_cancelled_unmatched.to_string(),
            Span::raw(""),
        ),
        Line::default(),
        row(
            "Matcher ms, p50 / p95 / max",
            format!(
                "{} / {} / {}",
                ms(m.matcher_latency_ms.p50),
                ms(m.matcher_latency_ms.p95),
                ms(m.matcher_latency_ms.max)
            ),
            Span::raw(""),
        ),
        Line::default(),
        row("Accepts", m.accepts_total.to_string(), Span::raw("")),
        row(
            "  targeted (goal ≥ 80%)",
            pct(m.targeted_accept_share),
            goal(m.targeted_goal()),
        ),
        row(
            "  avg targeted score (> 100)",
            num(m.avg_accepted_targeted_score, ""),
            goal(m.score_goal()),
        ),
        row(
            "  median s to accept, targeted",
            num(a.targeted, " s"),
            Span::raw(""),
        ),
        row(
            "  median s to accept, broadcast",
            num(a.broadcast, " s"),
            goal(m.speed_goal()),
        ),
        row(
            "    (goal: targeted 2× faster)",
            String::new(),
            Span::raw(""),
        ),
        Line::default(),
        row(
            "Waitlist joined / notified",
            format!("{} / {}", m.waitlist.joined, m.waitlist.notified),
            Span::raw(""),
        ),
        row("  expired", m.waitlist.expired.to_string(), Span::raw("")),
        row(
            "Scheduled booked / awaiting",
            format!(
                "{} / {}",
                m.scheduled.booked, m.scheduled.awaiting_release
            ),
            Span::raw(""),
        ),
        row(
            "  matched within 10 min",
            m.scheduled.matched_within_10_min.to_string(),
            Span::raw(""),
        ),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(panel(t, " Success metrics ")),
        figures,
    );

    // Every bucket from the lowest to the highest score, empty ones too, so the axis reads
    // evenly; bars as wide as the room allows, and laid sideways when even one column each
    // would not fit them all.
    let buckets = contiguous(&m.score_histogram);
    let room = usize::from(chart.width.saturating_sub(2));
    let n = buckets.len().max(1);
    // A bar needs four columns for its label (`150H`) and one between.
    let fits_upright = n * 5 <= room + 1;
    let bars: Vec<Bar> = buckets
        .iter()
        .map(|b| {
            let (mark, tone) = match b.tier {
                Tier::High => ("H", Tone::Good),
                Tier::Good => ("G", Tone::Info),
                _ => ("S", Tone::Dim),
            };
            Bar::default()
                .value(b.count.max(0) as u64)
                .label(Line::from(format!("{}{mark}", b.from)))
                .style(t.style(tone))
                .value_style(t.style(Tone::Selected))
        })
        .collect();
    // The legend goes below, each part only when the whole fits: nothing is cut mid-word.
    let title = [
        format!(" Offer scores, {BUCKET_WIDTH}-point buckets "),
        format!(" Scores by {BUCKET_WIDTH} "),
    ]
    .into_iter()
    .find(|t| crate::text::width(t) <= room)
    .unwrap_or_default();
    let legend = [
        " H high ≥150 · G good ≥100 · S standard ",
        " H ≥150 G ≥100 S <100 ",
        " H G S: tiers ",
    ]
    .into_iter()
    .find(|t| crate::text::width(t) <= room)
    .unwrap_or_default();
    let chart_widget = if fits_upright {
        let width = ((room + 1) / n).saturating_sub(1).clamp(4, 6) as u16;
        BarChart::default()
            .direction(Direction::Vertical)
            .data(BarGroup::default().bars(&bars))
            .bar_width(width)
            .bar_gap(1)
    } else {
        BarChart::default()
            .direction(Direction::Horizontal)
            .data(BarGroup::default().bars(&bars))
            .bar_width(1)
            .bar_gap(0)
    };
    frame.render_widget(
        chart_widget.block(panel(t, title).title_bottom(Line::from(legend))),
        chart,
    );
}

/// The histogram's buckets from the lowest to the highest, with the empty ones between.
fn contiguous(buckets: &[crate::report::Bucket]) -> Vec<crate::report::Bucket> {
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return Vec::new();
    };
    (0..)
        .map(|i| first.from + i * BUCKET_WIDTH)
        .take_while(|from| *from <= last.from)
        .map(|from| {
            buckets
                .iter()
                .find(|b| b.from == from)
                .cloned()
                .unwrap_or(crate::report::Bucket {
                    from,
                    count: 0,
                    tier: Tier::of_score(from),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Bucket;

    #[test]
    fn the_axis_keeps_empty_buckets_between_the_lowest_and_the_highest() {
        let b = |from, count| Bucket {
            from,
            count,
            tier: Tier::of_score(from),
        };
        let filled = contiguous(&[b(100, 2), b(175, 1)]);
        let axis: Vec<(i64, i64)> = filled.iter().map(|b| (b.from, b.count)).collect();
        assert_eq!(axis, [(100, 2), (125, 0), (150, 0), (175, 1)]);
        assert!(contiguous(&[]).is_empty());
    }
}
