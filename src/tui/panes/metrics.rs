//! The metrics pane: SPEC §9 figures beside their goals, and match scores by tier.

use crate::tui::widgets::panel;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph};

use crate::model::Tier;
use crate::report::BUCKET_WIDTH;
use crate::tui::app::App;
use crate::tui::theme::Tone;

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
    let goal = |ok: Option<bool>| match ok {
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
    let twice = match (a.targeted, a.broadcast) {
        (Some(x), Some(y)) => Some(x * 2.0 <= y),
        _ => None,
    };
    let lines = vec![
        row("Sessions", m.sessions_total.to_string(), Span::raw("")),
        row(
            "  with location (goal 100%)",
            pct(m.location_share),
            goal(m.location_share.map(|s| s >= 1.0)),
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
            goal(m.targeted_accept_share.map(|s| s >= 0.8)),
        ),
        row(
            "  avg targeted score (> 100)",
            num(m.avg_accepted_targeted_score, ""),
            goal(m.avg_accepted_targeted_score.map(|s| s > 100.0)),
        ),
        row(
            "  median s to accept, targeted",
            num(a.targeted, " s"),
            Span::raw(""),
        ),
        row(
            "  median s to accept, broadcast",
            num(a.broadcast, " s"),
            goal(twice),
        ),
        Line::default(),
        row(
            "Waitlist joined / notified",
            format!("{} / {}", m.waitlist.joined, m.waitlist.notified),
            Span::raw(""),
        ),
        row("  expired", m.waitlist.expired.to_string(), Span::raw("")),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(panel(t, " Success metrics ")),
        figures,
    );

    let bars: Vec<Bar> = m
        .score_histogram
        .iter()
        .map(|b| {
            let (mark, tone) = match b.tier {
                Tier::High => ("H", Tone::Good),
                Tier::Good => ("G", Tone::Info),
                _ => ("S", Tone::Dim),
            };
            Bar::default()
                .value(b.count as u64)
                .label(Line::from(format!("{}{mark}", b.from)))
                .style(t.style(tone))
                .value_style(t.style(Tone::Selected))
        })
        .collect();
    let title = format!(
        " Offer scores, {BUCKET_WIDTH}-point buckets · H high ≥150 · G good ≥100 · S standard "
    );
    let chart_widget = BarChart::default()
        .direction(Direction::Vertical)
        .data(BarGroup::default().bars(&bars))
        .bar_width(4)
        .bar_gap(1)
        .block(panel(t, title));
    frame.render_widget(chart_widget, chart);
}
