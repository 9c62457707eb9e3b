//! A mechanic's whole record (Enter on the Mechanics pane): what the roster row cuts short —
//! every specialty, the whole location, certification details, capacity and why he can take
//! no session.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::centered;
use crate::text::{fit, for_screen};
use crate::tui::state::App;
use crate::tui::theme::Tone;
use crate::tui::widgets::{clear_overlay, panel};

pub fn render(app: &App, id: &str, scroll: u16, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(row) = app.data.roster.iter().find(|r| r.mechanic.id == id) else {
        return;
    };
    let m = &row.mechanic;
    let field = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), t.style(Tone::Dim)),
            Span::raw(for_screen(&value).into_owned()),
        ])
    };
    let join = |parts: &[Option<&String>]| {
        parts
            .iter()
            .flatten()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let shift = match (m.currently_on_shift, row.busy()) {
        (true, true) => "◐ on shift, busy (at capacity)",
        (true, false) => "● on shift",
        (false, _) => "○ off shift",
    };
    let cert = m
        .certification(app.now.date_naive())
        .map_or("not certified".to_string(), |c| {
            format!(
                "{}{}",
                c.label,
                if c.legacy {
                    " (legacy Red Seal fields)"
                } else {
                    ""
                }
            )
        });
    let mut lines = vec![
        field("Mechanic", format!("{} ({})", m.name, m.id)),
        field("Account", m.account_status.to_string()),
        field("Shift", shift.to_string()),
        field("Plan", crate::schedule::to_line(&m.plan)),
        field("Expected", crate::schedule::next_expected(&m.plan, app.now)),
        field(
            "Sessions",
            format!(
                "{} of {} active · {} live offers · {} completed",
                row.active_sessions, m.max_active_sessions, row.live_offers, m.completed_sessions
            ),
        ),
        field(
            "Offers by",
            m.notify_via
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        field(
            "Location",
            join(&[
                m.city.as_ref(),
                m.state_province.as_ref(),
                m.country.as_ref(),
                m.postal_code.as_ref(),
            ]),
        ),
        field(
            "Profile",
            format!(
                "{}% complete · {} years · ★{:.1}",
                m.profile_completion_score, m.years_experience, m.rating
            ),
        ),
        field("Certified", cert),
        field("Contact", join(&[m.email.as_ref(), m.phone.as_ref()])),
    ];
    if let Some(why) = m.account_exclusion() {
        lines.push(Line::from(Span::styled(
            format!("✗ Takes no session: {}", why.label()),
            t.style(Tone::Warn),
        )));
    }
    if row.unanswered > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "{} targeted offers in a row left unanswered (3 clock him out)",
                row.unanswered
            ),
            t.style(Tone::Warn),
        )));
    }
    lines.push(Line::default());
    lines.push(field(
        "Brands",
        if m.brand_specializations.is_empty() {
            "—".into()
        } else {
            m.brand_specializations.join(", ")
        },
    ));
    lines.push(field(
        "Services",
        if m.service_keywords.is_empty() {
            "—".into()
        } else {
            m.service_keywords.join(", ")
        },
    ));
    let popup = centered(
        area,
        area.width.saturating_sub(6).min(100),
        area.height.saturating_sub(2),
    );
    clear_overlay(frame, popup);
    let title = format!(" {} · ↑/↓ scroll · Esc closes ", fit(&m.name, 40));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(panel(t, title)),
        popup,
    );
}
