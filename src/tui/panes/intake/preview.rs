//! The live preview beside the form: the ranking the typed intake would get, asked as it is typed.

#[allow(unused_imports)]
use super::*;

/// The live preview runs once there is something to match on: a concern, a place, a vehicle
/// or brands. A name alone (with the default country) would rank the whole roster on nothing.
pub(super) fn preview(app: &mut App) -> Vec<Effect> {
    let something = [
        "concern",
        "location.province",
        "location.city",
        "location.postal_code",
        "vehicle.make",
        "brands",
    ]
    .iter()
    .any(|k| !own(app).get(k).trim().is_empty());
    if !something {
        own_mut(app).preview = None;
        return Vec::new();
    }
    match own(app).request() {
        Ok(req) => vec![Effect::Run(Request {
            from: me(),
            command: Command::Browse(req),
            purpose: Purpose::new(Ask::Preview),
        })],
        Err(_) => Vec::new(),
    }
}


pub fn preview_done(app: &mut App, result: Result<Outcome, DispatchError>) {
    if let Ok(Outcome::Browse(b)) = result {
        own_mut(app).preview = Some(b);
    }
}

pub(super) fn render_preview(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut lines = error_lines(app, inner_width(area));
    match &own(app).preview {
        None => {
            lines.push(Line::from(Span::styled(
                "Type the concern and location: matching mechanics appear here as you type.",
                t.style(Tone::Dim),
            )));
        }
        Some(p) => {
            let keywords = if p.keywords.is_empty() {
                "none recognised yet".to_string()
            } else {
                p.keywords.join(", ")
            };
            lines.push(Line::from(vec![
                Span::styled("Keywords  ", t.style(Tone::Dim)),
                Span::styled(keywords, t.style(Tone::Info)),
            ]));
            let state = if p.all_offline {
                " — all offline"
            } else if p.all_busy {
                " — all on shift are busy"
            } else {
                ""
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "{} eligible mechanic{}{state}",
                        p.total_matches,
                        if p.total_matches == 1 { "" } else { "s" }
                    ),
                    t.style(if state.is_empty() {
                        Tone::Dim
                    } else {
                        Tone::Warn
                    }),
                ),
                Span::styled(
                    format!(" · not considered: {} (e: why)", p.excluded_total),
                    t.style(Tone::Dim),
                ),
            ]));
            lines.push(Line::default());
            if own(app).show_excluded {
                lines.push(Line::from(Span::styled(
                    "Not considered (e: back to the matches)",
                    t.style(Tone::Dim),
                )));
                for x in &p.excluded {
                    lines.push(Line::from(vec![
                        Span::raw(format!(
                            "  {} — ",
                            fit(&x.name, inner_width(area).saturating_sub(24))
                        )),
                        Span::styled(x.reason.label(), t.style(Tone::Warn)),
                    ]));
                }
                let more = p.excluded_total.saturating_sub(p.excluded.len());
                if more > 0 {
                    lines.push(Line::from(Span::styled(
                        format!("  … and {more} more"),
                        t.style(Tone::Dim),
                    )));
                }
            } else {
                for m in &p.matches {
                    lines.push(match_line(app, m, inner_width(area)));
                }
            }
        }
    }
    let block = panel(t, " Live preview ");
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// One matching mechanic on one row of `room` columns: the name gets what the shift mark, badge
/// and score (19 columns) leave.
pub(super) fn match_line(app: &App, m: &MatchView, room: usize) -> Line<'static> {
    let t = &app.theme;
    let (dot, tone) = if m.on_shift && m.busy {
        ("◐ busy", Tone::Warn)
    } else if m.on_shift {
        ("● on  ", Tone::Good)
    } else {
        ("○ off ", Tone::Dim)
    };
    Line::from(vec![
        Span::styled(format!("{dot} "), t.style(tone)),
        tier_badge(t, m.tier),
        Span::raw(format!(" {:>3}  ", m.score)),
        Span::raw(fit(&m.name, room.saturating_sub(19)).into_owned()),
    ])
}

