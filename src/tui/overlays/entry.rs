//! A waitlist entry whole (Enter on the Waitlist pane): what the row cuts short — the
//! customer's contact, every time the entry has, who was notified for it and how each of its
//! notifications fared on the way out.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::centered;
use crate::model::WaitlistStatus;
use crate::text::{fit, for_screen};
use crate::tui::state::App;
use crate::tui::theme::Tone;
use crate::tui::widgets::{clear_overlay, delivery_state, panel};

const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";

pub fn render(app: &App, id: &str, scroll: u16, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(e) = app.data.waitlist.iter().find(|e| e.id == id) else {
        return;
    };
    let field = |label: &str, value: &str| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), t.style(Tone::Dim)),
            Span::raw(for_screen(value).into_owned()),
        ])
    };
    let or_dash = |v: Option<&String>| v.map_or("—".to_string(), |s| s.clone());
    let status = match e.status {
        WaitlistStatus::Waiting => {
            let mins = (e.expires_at - app.now).num_minutes().max(0);
            format!("⏳ waiting · {}h{:02}m left", mins / 60, mins % 60)
        }
        WaitlistStatus::Notified => "✓ notified".to_string(),
        WaitlistStatus::Expired => "✗ expired".to_string(),
        WaitlistStatus::Cancelled => "✗ cancelled".to_string(),
    };
    let via: Vec<&str> = e.notify_via.iter().map(|c| c.as_str()).collect();
    let mut lines = vec![
        field("Entry", &e.id),
        field("Status", &status),
        field("Customer", &e.customer_name),
        field("Email", &or_dash(e.customer_email.as_ref())),
        field("Phone", &or_dash(e.customer_phone.as_ref())),
        field(
            "Notify via",
            &if via.is_empty() {
                "—".to_string()
            } else {
                via.join(", ")
            },
        ),
        field("Session", e.session_id.as_deref().unwrap_or("—")),
        field("Created", &e.created_at.format(TIME).to_string()),
        field("Expires", &e.expires_at.format(TIME).to_string()),
        field(
            "Notified",
            &e.notified_at
                .map_or("—".to_string(), |at| at.format(TIME).to_string()),
        ),
        field(
            "Mechanic",
            &e.notified_mechanic_id
                .as_deref()
                .map_or("—".to_string(), |m| {
                    format!("{} ({m})", app.mechanic_name(m))
                }),
        ),
        Line::default(),
    ];
    let sent: Vec<_> = app
        .data
        .notifications
        .iter()
        .filter(|n| n.waitlist_id.as_deref() == Some(e.id.as_str()))
        .collect();
    if sent.is_empty() {
        lines.push(Line::from(Span::styled(
            "No notifications for this entry yet.",
            t.style(Tone::Dim),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            format!("Notifications ({})", sent.len()),
            t.style(Tone::Dim),
        )));
        for n in sent {
            let (state, tone) = delivery_state(n);
            lines.push(Line::from(vec![
                Span::styled(
                    n.created_at.format("%H:%M:%S ").to_string(),
                    t.style(Tone::Dim),
                ),
                Span::styled(format!("{state} "), t.style(tone)),
                Span::styled(format!("{:<10} ", n.channel.as_str()), t.style(Tone::Info)),
                Span::raw(fit(&n.recipient, 40).into_owned()),
            ]));
        }
    }
    let popup = centered(
        area,
        area.width.saturating_sub(6).min(100),
        area.height.saturating_sub(2),
    );
    clear_overlay(frame, popup);
    let title = format!(
        " Waitlist · {} · ↑/↓ scroll · Esc closes ",
        fit(&e.customer_name, 40)
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(panel(t, title)),
        popup,
    );
}
