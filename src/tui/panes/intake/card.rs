//! The result card after a submit: the session followed to its end, its offers, and the offline
//! card with its choices (browse, waitlist, schedule with slots).

#[allow(unused_imports)]
use super::*;

/// Keys of the offline card and its three choices; `None` when the card is not showing.
pub(super) fn offline_op(app: &mut App, op: Op) -> Option<Vec<Effect>> {
    let result = own_mut(app).result.as_mut()?;
    let stage = result.offline.clone()?;
    let session = result.outcome.session.id.clone();
    let offline: Vec<MatchView> = result
        .outcome
        .matches
        .iter()
        .filter(|m| !m.on_shift)
        .cloned()
        .collect();
    let effects = match (stage, op) {
        (_, Op::BrowseOffline) => {
            result.offline = Some(Offline::Browse { selected: 0 });
            Vec::new()
        }
        (_, Op::JoinWaitlist) => {
            result.offline = Some(Offline::Waitlist {
                channels: [true, false, false],
                selected: 0,
            });
            Vec::new()
        }
        (_, Op::ScheduleLater) => {
            result.offline = Some(Offline::Schedule {
                slots: None,
                selected: 0,
            });
            match result.request.clone() {
                Some(intake) => vec![Effect::Run(Request {
                    from: me(),
                    command: Command::Slots(SlotsRequest {
                        intake,
                        from: None,
                        days: None,
                    }),
                    purpose: Purpose::new(Ask::Slots),
                })],
                None => Vec::new(),
            }
        }
        (Offline::Schedule { slots, selected }, Op::Up) => {
            result.offline = Some(Offline::Schedule {
                slots,
                selected: selected.saturating_sub(1),
            });
            Vec::new()
        }
        (Offline::Schedule { slots, selected }, Op::Down) => {
            let last = slots.as_ref().map_or(0, |s| s.len().saturating_sub(1));
            result.offline = Some(Offline::Schedule {
                slots,
                selected: (selected + 1).min(last),
            });
            Vec::new()
        }
        (Offline::Schedule { slots, selected }, Op::Edit) => {
            let slot = slots.as_ref().and_then(|s| s.get(selected));
            match (slot, result.request.clone()) {
                (Some(slot), Some(mut req)) => {
                    req.id = Some(app.ids.next_id());
                    req.scheduled_for = Some(slot.start.clone());
                    vec![Effect::Run(Request {
                        from: me(),
                        command: Command::Intake(req),
                        purpose: Purpose::new(Ask::Book { replaces: session }),
                    })]
                }
                _ => Vec::new(),
            }
        }
        (Offline::Browse { selected }, Op::Up) => {
            result.offline = Some(Offline::Browse {
                selected: selected.saturating_sub(1),
            });
            Vec::new()
        }
        (Offline::Browse { selected }, Op::Down) => {
            let last = offline.len().saturating_sub(1);
            result.offline = Some(Offline::Browse {
                selected: (selected + 1).min(last),
            });
            Vec::new()
        }
        // Space and the like belong to the card while it is open, not to the form behind it.
        (Offline::Browse { .. } | Offline::Card | Offline::Schedule { .. }, Op::Toggle) => {
            Vec::new()
        }
        (Offline::Browse { selected }, Op::Edit) => match offline.get(selected) {
            Some(m) => vec![Effect::Run(Request {
                from: me(),
                command: Command::SetPreferred(SessionMechanic {
                    session,
                    mechanic: m.mechanic.clone(),
                }),
                purpose: Purpose::new(Ask::OfflineChoice(format!(
                    "Preferred mechanic set: {} gets this session on clock-in",
                    inert(&m.name)
                ))),
            })],
            None => Vec::new(),
        },
        (Offline::Waitlist { channels, selected }, Op::Up) => {
            result.offline = Some(Offline::Waitlist {
                channels,
                selected: selected.saturating_sub(1),
            });
            Vec::new()
        }
        (Offline::Waitlist { channels, selected }, Op::Down) => {
            result.offline = Some(Offline::Waitlist {
                channels,
                selected: (selected + 1).min(2),
            });
            Vec::new()
        }
        (
            Offline::Waitlist {
                mut channels,
                selected,
            },
            Op::Toggle,
        ) => {
            channels[selected] = !channels[selected];
            result.offline = Some(Offline::Waitlist { channels, selected });
            Vec::new()
        }
        (Offline::Waitlist { channels, .. }, Op::Edit) => {
            let via: Vec<Channel> = [Channel::Email, Channel::Sms, Channel::Push]
                .into_iter()
                .zip(channels)
                .filter(|(_, on)| *on)
                .map(|(c, _)| c)
                .collect();
            vec![Effect::Run(Request {
                from: me(),
                command: Command::JoinWaitlist(JoinWaitlist {
                    id: None,
                    session: Some(session),
                    customer: None,
                    notify_via: Some(via),
                }),
                purpose: Purpose::new(Ask::OfflineChoice(
                    "Joined the waitlist: notified when a mechanic clocks in".into(),
                )),
            })]
        }
        _ => return None,
    };
    Some(effects)
}


pub fn submit_done(app: &mut App, result: Result<Outcome, DispatchError>) -> Vec<Effect> {
    match result {
        Ok(Outcome::Intake(outcome)) => {
            app.info(format!("Session {} created", inert(&outcome.session.id)));
            app.own_sessions.insert(outcome.session.id.clone());
            // Queues opens on the session just made: its keys act on this customer.
            crate::tui::panes::queues::open_on(app, &outcome.session.id);
            // The form starts over (a second ^S must not file the same customer twice); the
            // result card keeps what was submitted.
            let request = own(app).request().ok();
            let preview = own_mut(app).preview.take();
            *own_mut(app) = IntakeState {
                preview,
                ..IntakeState::default()
            };
            own_mut(app).result = Some(Submitted {
                request,
                offline: outcome.all_offline.then_some(Offline::Card),
                outcome: *outcome,
                follow_up: None,
                ended: None,
                replaced: None,
            });
            // Ready for the next customer's name, unless the card asks for a choice now.
            app.mode = Mode::Normal;
            enter(app);
            vec![Effect::Refresh]
        }
        Ok(_) => Vec::new(),
        // A short console id collided with an existing session: draw another.
        Err(e) if e.field.as_deref() == Some("id") => submit(app),
        Err(e) => {
            if let Some(field) = e.field.as_deref() {
                let field = if field.starts_with("brands") {
                    "brands"
                } else {
                    field
                };
                if let Some(i) = FIELDS.iter().position(|f| f.key == field) {
                    own_mut(app).focus = i;
                    own_mut(app)
                        .errors
                        .insert(field.to_string(), e.message.clone());
                    app.mode = Mode::Normal;
                    enter(app);
                }
            }
            app.error(format!("Not submitted: {}", e.message));
            Vec::new()
        }
    }
}

/// A choice made on the offline card is noted on the card, which goes back to its menu.
pub fn offline_choice_done(app: &mut App, note: &str) {
    if let Some(result) = own_mut(app).result.as_mut() {
        result.follow_up = Some(note.to_string());
        result.offline = Some(Offline::Card);
    }
}
/// The session behind the result card as it is now: its row in the live lists, else its record
/// read once it left them, else what the intake answered (before the first snapshot).
pub(super) struct Following<'a> {
    status: SessionStatus,
    session: Option<&'a crate::model::Session>,
    assignments: &'a [Assignment],
}

pub(super) fn following<'a>(app: &'a App, result: &'a Submitted) -> Following<'a> {
    let id = &result.outcome.session.id;
    if let Some(row) = app
        .data
        .sessions
        .iter()
        .chain(&app.data.scheduled)
        .find(|r| &r.session.id == id)
    {
        return Following {
            status: row.session.status,
            session: Some(&row.session),
            assignments: &row.assignments,
        };
    }
    match &result.ended {
        Some(detail) => Following {
            status: detail.session.status,
            session: Some(&detail.session),
            assignments: &detail.assignments,
        },
        None => Following {
            status: result.outcome.session.status,
            session: None,
            assignments: &[],
        },
    }
}

/// Keeps the result card true to its session: once it is matched, booked, or has a live
/// targeted offer (a mechanic clocked in for it), the offline card and its choices are gone;
/// once it leaves the live lists, its record is read again so the card can say how it ended.
pub fn follow(app: &mut App) -> Vec<Effect> {
    let now = app.now;
    let Some(result) = own(app).result.as_ref() else {
        return Vec::new();
    };
    let id = result.outcome.session.id.clone();
    let live = app
        .data
        .sessions
        .iter()
        .chain(&app.data.scheduled)
        .find(|r| r.session.id == id);
    let (offline_over, read_again) = match live {
        Some(row) => (
            !matches!(
                row.session.status,
                SessionStatus::Waiting | SessionStatus::Pending
            ) || row
                .assignments
                .iter()
                .any(|a| !a.is_broadcast() && a.is_live_offer(now)),
            false,
        ),
        None => (
            true,
            result.ended.as_ref().is_none_or(|d| {
                !matches!(
                    d.session.status,
                    SessionStatus::Completed | SessionStatus::Cancelled
                )
            }),
        ),
    };
    if offline_over
        && let Some(result) = own_mut(app).result.as_mut()
        && result.offline.take().is_some()
        && app.mode == Mode::Normal
    {
        // The card's letters no longer mean anything: the form takes the keys again.
        enter(app);
    }
    if read_again {
        return vec![Effect::Run(Request {
            from: me(),
            command: Command::Session(crate::command::IdRef { id }),
            purpose: Purpose::new(Ask::Follow),
        })];
    }
    Vec::new()
}

/// The card's session read again after it left the live lists.
pub fn follow_done(app: &mut App, result: Result<Outcome, DispatchError>) {
    if let Ok(Outcome::Session(found)) = result
        && let Some(card) = own_mut(app).result.as_mut()
        && card.outcome.session.id == found.session.session.id
    {
        card.ended = Some(found.session);
    }
}

pub(super) fn render_result(app: &App, result: &Submitted, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let o = &result.outcome;
    let now = following(app, result);
    let room = inner_width(area);
    let mut lines = error_lines(app, room);
    lines.push(Line::from(vec![
        Span::styled("Session ", t.style(Tone::Dim)),
        Span::styled(fit(&o.session.id, 24).into_owned(), t.style(Tone::Title)),
        Span::styled(format!("  {}", now.status), t.style(Tone::Info)),
    ]));
    if let Some(old) = &result.replaced {
        // The customer was told the first reference: the new one is said where it is seen.
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "New reference {}: give it to the customer ({} is withdrawn)",
                    o.session.id, old
                ),
                room,
            )
            .into_owned(),
            t.style(Tone::Warn),
        )));
    }
    if let Some(note) = &result.follow_up {
        lines.push(Line::from(Span::styled(
            format!("✓ {}", fit(note, room.saturating_sub(2))),
            t.style(Tone::Good),
        )));
    }
    let keywords = if o.keywords.is_empty() {
        "—".to_string()
    } else {
        o.keywords.join(", ")
    };
    lines.push(Line::from(vec![
        Span::styled("Keywords ", t.style(Tone::Dim)),
        Span::raw(keywords),
    ]));
    lines.push(Line::default());
    match (&result.offline, now.status) {
        (_, SessionStatus::Matched | SessionStatus::Completed) => {
            matched_lines(app, &now, &mut lines)
        }
        (_, SessionStatus::Cancelled) => lines.push(Line::from(Span::styled(
            "✗ Cancelled: no mechanic will be offered this session.",
            t.style(Tone::Warn),
        ))),
        (_, SessionStatus::Scheduled) => booked_lines(app, result, room, &mut lines),
        (Some(stage), _) => {
            // The rows inside the panel (the offline card has no hint below it).
            let rows = usize::from(area.height.saturating_sub(2));
            let zone = customer_zone(result.request.as_ref());
            offline_lines(app, o, stage, (room, rows), zone, &mut lines)
        }
        (None, _) => offer_lines(app, result, &now, area, &mut lines),
    }
    // The offline card says how to close it; the others how to go on.
    if result.offline.is_none() && !matches!(now.status, SessionStatus::Cancelled) {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            "Follow it in Queues (2) · typing starts the next customer",
            t.style(Tone::Dim),
        )));
    }
    let block = panel(t, " Result ");
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// Taken: by whom and when (the live row knows the mechanic; the card names him).
pub(super) fn matched_lines(app: &App, now: &Following<'_>, lines: &mut Vec<Line<'static>>) {
    let t = &app.theme;
    let who = now
        .session
        .and_then(|s| s.matched_mechanic_id.as_deref())
        .map_or("a mechanic", |id| app.mechanic_name(id));
    let at = now
        .session
        .and_then(|s| s.matched_at)
        .map(|at| format!(" at {}", at.format("%H:%M UTC")))
        .unwrap_or_default();
    let done = if now.status == SessionStatus::Completed {
        " · completed"
    } else {
        ""
    };
    lines.push(Line::from(Span::styled(
        format!("✓ Matched with {}{at}{done}", inert(who)),
        t.style(Tone::Good),
    )));
}

/// A booking (SPEC §14): when, in UTC and in the customer's own hours, and who is planned.
pub(super) fn booked_lines(app: &App, result: &Submitted, room: usize, lines: &mut Vec<Line<'static>>) {
    let t = &app.theme;
    let o = &result.outcome;
    let at = o
        .scheduled_for
        .as_deref()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&chrono::Utc));
    if let Some(at) = at {
        let zone = customer_zone(result.request.as_ref());
        let local = crate::zone::local_clock(at, zone)
            .map(|l| format!(" · {l} for the customer"))
            .unwrap_or_default();
        lines.push(Line::from(Span::styled(
            format!("◷ Booked for {}{local}", at.format("%a %d %b %H:%M UTC")),
            t.style(Tone::Title),
        )));
        lines.push(Line::from(vec![
            Span::styled("  released 10 min ahead, ", t.style(Tone::Dim)),
            crate::tui::widgets::release_countdown(t, crate::engine::releases_at(at), app.now),
        ]));
    }
    let planned = o.planned.as_deref().unwrap_or_default();
    if !planned.is_empty() {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            "Planned on shift then:",
            t.style(Tone::Dim),
        )));
        for m in planned.iter().take(5) {
            lines.push(match_line(app, m, room));
        }
    }
}

/// The customer's zone from what was submitted (the form's location).
pub(super) fn customer_zone(request: Option<&IntakeRequest>) -> Option<chrono_tz::Tz> {
    let l = &request?.location;
    crate::zone::of_place(
        l.country.as_deref(),
        l.province.as_deref(),
        l.city.as_deref(),
    )
}

/// The session's offers as they stand now: countdowns while live, then how each ended.
pub(super) fn offer_lines(
    app: &App,
    result: &Submitted,
    now: &Following<'_>,
    area: Rect,
    lines: &mut Vec<Line<'static>>,
) {
    let t = &app.theme;
    let o = &result.outcome;
    let targeted: Vec<&Assignment> = now
        .assignments
        .iter()
        .filter(|a| !a.is_broadcast())
        .collect();
    let broadcast = now.assignments.iter().find(|a| a.is_broadcast());
    let answered = o.targeted.as_deref().unwrap_or_default();
    if targeted.is_empty() && answered.is_empty() {
        lines.push(Line::from(Span::styled(
            "No targeted offers.",
            t.style(Tone::Warn),
        )));
    } else if now.status == SessionStatus::Pending {
        lines.push(Line::from(Span::styled(
            "Held until the waiver / payment clears (Queues: w, p); then offered to:",
            t.style(Tone::Warn),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            "Offered to (2 minutes to accept):",
            t.style(Tone::Title),
        )));
    }
    let room = (area.width as usize)
        .saturating_sub(2 + 6 + 6 + 9)
        .clamp(8, 24);
    if now.session.is_none() {
        // Before the first snapshot: what the intake answered.
        for offer in answered {
            let name = o
                .matches
                .iter()
                .find(|m| m.mechanic == offer.mechanic)
                .map_or(offer.mechanic.clone(), |m| m.name.clone());
            let mut spans = vec![
                tier_badge(t, Tier::of_score(offer.score)),
                Span::raw(format!(" {:>3}  {} ", offer.score, pad(&name, room))),
            ];
            spans.push(
                match offer
                    .expires_at
                    .as_deref()
                    .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                {
                    Some(e) => countdown(t, e.with_timezone(&chrono::Utc), app.now),
                    None => Span::styled(
                        "held until the waiver/payment clears",
                        t.style(Tone::Dim),
                    ),
                },
            );
            lines.push(Line::from(spans));
        }
    }
    for a in &targeted {
        let name = a
            .mechanic_id
            .as_deref()
            .map_or("?", |id| app.mechanic_name(id));
        let mut spans = vec![
            tier_badge(t, a.tier()),
            Span::raw(format!(
                " {:>3}  {} ",
                a.match_score.unwrap_or(0),
                pad(name, room)
            )),
        ];
        spans.push(match (a.status, a.expires_at) {
            (AssignmentStatus::Offered, Some(e)) if e > app.now => countdown(t, e, app.now),
            (AssignmentStatus::Queued, _) => Span::styled(
                "held until the waiver/payment clears",
                t.style(Tone::Dim),
            ),
            (AssignmentStatus::Offered, _) => Span::styled("expired", t.style(Tone::Dim)),
            (status, _) => Span::styled(
                format!(
                    "{status}{}",
                    a.closed_reason
                        .as_deref()
                        .filter(|r| *r != status.as_str())
                        .map(|r| format!(" ({})", fit(&r.replace('_', " "), 30)))
                        .unwrap_or_default()
                ),
                t.style(Tone::Dim),
            ),
        });
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    let reason = o.broadcast.as_ref().map(|b| b.reason.replace('_', " "));
    if let Some(reason) = &reason {
        lines.push(Line::from(vec![
            tier_badge(t, Tier::Broadcast),
            Span::raw(format!(" broadcast ({reason})")),
        ]));
    }
    let active_from = broadcast.and_then(|b| b.active_from).or_else(|| {
        o.broadcast
            .as_ref()
            .and_then(|b| b.active_from.as_deref())
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .map(|e| e.with_timezone(&chrono::Utc))
    });
    let open_now = broadcast.is_some_and(|b| b.is_open_broadcast(app.now));
    match active_from {
        Some(from) if from > app.now && !open_now => lines.push(Line::from(vec![
            Span::raw("  opens in "),
            countdown(t, from, app.now),
        ])),
        Some(_) => lines.push(Line::from(Span::styled(
            "  open to every mechanic on shift",
            t.style(Tone::Good),
        ))),
        None => {}
    }
}

/// A short profile of a mechanic the customer might wait for.
pub(super) fn profile_lines(app: &App, m: &MatchView, room: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(row) = app.data.roster.iter().find(|r| r.mechanic.id == m.mechanic) else {
        return Vec::new();
    };
    let mech = &row.mechanic;
    let place = [mech.city.as_deref(), mech.state_province.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let cert = mech
        .certification(app.now.date_naive())
        .map_or("not certified", |c| c.label);
    let mut specialties = mech.brand_specializations.clone();
    specialties.extend(mech.service_keywords.iter().cloned());
    vec![
        Line::from(Span::styled(
            format!(
                "    {} · {} yrs · ★{:.1} · {} · {} sessions",
                fit(&place, 40),
                mech.years_experience,
                mech.rating,
                cert,
                mech.completed_sessions
            ),
            t.style(Tone::Dim),
        )),
        Line::from(Span::styled(
            // Wrapped, but a few lines at most.
            format!("    {}", fit(&specialties.join(", "), 2 * room)),
            t.style(Tone::Dim),
        )),
    ]
}

pub(super) fn offline_lines(
    app: &App,
    o: &IntakeOutcome,
    stage: &Offline,
    (room, rows): (usize, usize),
    zone: Option<chrono_tz::Tz>,
    lines: &mut Vec<Line<'static>>,
) {
    let t = &app.theme;
    lines.push(Line::from(Span::styled(
        "⚠ All mechanics currently offline",
        t.style(Tone::Warn),
    )));
    lines.push(Line::from(Span::styled(
        "Mechanics match this request, but none is on shift right now.",
        t.style(Tone::Dim),
    )));
    lines.push(Line::default());
    let choice = |key: &str, text: &str, active: bool| {
        Line::from(vec![
            Span::styled(format!(" [{key}] "), t.style(Tone::Key)),
            Span::styled(
                text.to_string(),
                t.style(if active { Tone::Title } else { Tone::Normal }),
            ),
        ])
    };
    lines.push(choice(
        "b",
        "Browse offline mechanics",
        matches!(stage, Offline::Browse { .. }),
    ));
    lines.push(choice(
        "w",
        "Join waitlist",
        matches!(stage, Offline::Waitlist { .. }),
    ));
    lines.push(choice(
        "s",
        "Schedule for later",
        matches!(stage, Offline::Schedule { .. }),
    ));
    if matches!(stage, Offline::Card) {
        lines.push(Line::from(Span::styled(
            " Esc closes the card for the next customer",
            t.style(Tone::Dim),
        )));
    }
    lines.push(Line::default());
    match stage {
        Offline::Card => {}
        Offline::Browse { selected } => {
            lines.push(Line::from(Span::styled(
                "Pick one (Enter): they get the session when they clock in.",
                t.style(Tone::Dim),
            )));
            for (i, m) in o.matches.iter().filter(|m| !m.on_shift).enumerate() {
                // Two columns for the selection mark.
                let mut line = match_line(app, m, room.saturating_sub(2));
                if i == *selected {
                    line = line.style(t.style(Tone::Selected));
                    line.spans.insert(0, Span::raw("› "));
                    lines.push(line);
                    lines.extend(profile_lines(app, m, room));
                } else {
                    line.spans.insert(0, Span::raw("  "));
                    lines.push(line);
                }
            }
        }
        Offline::Waitlist { channels, selected } => {
            lines.push(Line::from(Span::styled(
                "Notify by (Space toggles, Enter joins):",
                t.style(Tone::Dim),
            )));
            for (i, (name, on)) in ["email", "sms", "push"].iter().zip(channels).enumerate() {
                let mark = if *on { "[x]" } else { "[ ]" };
                let line = Line::from(format!(
                    "{} {mark} {name}",
                    if i == *selected { "›" } else { " " }
                ));
                lines.push(if i == *selected {
                    line.style(t.style(Tone::Selected))
                } else {
                    line
                });
            }
        }
        Offline::Schedule { slots, selected } => {
            // Rows already taken, counting those the panel wraps onto two.
            let used: usize = lines
                .iter()
                .map(|l| l.width().div_ceil(room.max(1)).max(1))
                .sum();
            let shown = rows.saturating_sub(used + 1).max(3);
            schedule_lines(app, slots.as_deref(), *selected, (room, shown), zone, lines)
        }
    }
}

/// The hours a matching mechanic is planned on shift (SPEC §14), best first within each day;
/// Enter books the chosen one. As many as the panel has rows for, in a window around the
/// selection; each in UTC and in the customer's own hours when their place tells the zone.
pub(super) fn schedule_lines(
    app: &App,
    slots: Option<&[crate::engine::SlotView]>,
    selected: usize,
    (room, shown): (usize, usize),
    zone: Option<chrono_tz::Tz>,
    lines: &mut Vec<Line<'static>>,
) {
    let t = &app.theme;
    let Some(slots) = slots else {
        lines.push(Line::from(Span::styled(
            "Looking for hours when a matching mechanic is planned on shift…",
            t.style(Tone::Dim),
        )));
        return;
    };
    if slots.is_empty() {
        lines.push(Line::from(Span::styled(
            "No matching mechanic is planned on shift in the next 7 days. Join the waitlist \
             or pick a mechanic instead.",
            t.style(Tone::Warn),
        )));
        return;
    }
    let local = if zone.is_some() {
        " · customer's time"
    } else {
        ""
    };
    // A narrow panel keeps the times whole and says the planned count as "·3".
    let narrow = room < 56;
    let heading = if narrow {
        format!("Enter books · UTC{local} ·planned · {} slots", slots.len())
    } else {
        format!(
            "Enter books · UTC{local} · busiest first each day · {} of {} slots",
            shown.min(slots.len()),
            slots.len()
        )
    };
    lines.push(Line::from(Span::styled(
        fit(&heading, room).into_owned(),
        t.style(Tone::Dim),
    )));
    let first = selected
        .saturating_sub(shown / 2)
        .min(slots.len().saturating_sub(shown));
    for (i, slot) in slots.iter().enumerate().skip(first).take(shown) {
        let at = chrono::DateTime::parse_from_rfc3339(&slot.start)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc));
        let when = at.map_or_else(
            || slot.start.clone(),
            |t| {
                t.format(if narrow {
                    "%a %d %H:%M UTC"
                } else {
                    "%a %d %b %H:%M UTC"
                })
                .to_string()
            },
        );
        let local = at
            .and_then(|t| crate::zone::local_clock(t, zone))
            .map(|l| format!(" · {l}"))
            .unwrap_or_default();
        let mark = if i == selected { "›" } else { " " };
        let text = if narrow {
            format!("{mark} {when}{local} ·{}", slot.mechanics)
        } else {
            format!(
                "{mark} {when}{local}  {:>2} planned  {}",
                slot.mechanics,
                slot.top.join(", ")
            )
        };
        let line = Line::from(fit(&text, room).into_owned());
        lines.push(if i == selected {
            line.style(t.style(Tone::Selected))
        } else {
            line
        });
    }
}

/// The slots arrived: shown on the card if it still asks for them.
pub fn slots_done(app: &mut App, result: Result<Outcome, DispatchError>) {
    match result {
        Ok(Outcome::Slots(found)) => {
            if let Some(result) = own_mut(app).result.as_mut()
                && let Some(Offline::Schedule { slots, .. }) = result.offline.as_mut()
            {
                *slots = Some(found.slots);
            }
        }
        Ok(_) => {}
        Err(e) => app.error(format!("No slots: {} ({})", e.message, e.code.as_str())),
    }
}

/// A booking was made from the card: the card now follows the booking (its new reference said
/// prominently), and the immediate session it replaces is withdrawn. A failed booking leaves
/// the customer's session as it was.
pub fn book_done(
    app: &mut App,
    replaces: String,
    result: Result<Outcome, DispatchError>,
) -> Vec<Effect> {
    match result {
        Ok(Outcome::Intake(booked)) => {
            let id = booked.session.id.clone();
            app.own_sessions.insert(id.clone());
            let at = booked
                .scheduled_for
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let mut when = at.map_or(String::new(), |t| {
                t.format("%a %d %b %H:%M UTC").to_string()
            });
            if let Some(card) = own_mut(app).result.as_mut() {
                if let Some(local) =
                    at.and_then(|t| crate::zone::local_clock(t, customer_zone(card.request.as_ref())))
                {
                    when = format!("{when} ({local})");
                }
                card.outcome = *booked;
                card.offline = None;
                card.follow_up = None;
                card.ended = None;
                card.replaced = Some(replaces.clone());
            }
            crate::tui::panes::queues::open_on(app, &id);
            enter(app);
            vec![Effect::Run(Request {
                from: me(),
                command: Command::Cancel(crate::command::SessionRef {
                    session: replaces.clone(),
                }),
                purpose: panes::plain(format!(
                    "Booked for {when}: new reference {} ({} withdrawn)",
                    inert(&id),
                    inert(&replaces)
                )),
            })]
        }
        Ok(_) => Vec::new(),
        Err(e) => {
            app.error(format!("Not booked: {} ({})", e.message, e.code.as_str()));
            Vec::new()
        }
    }
}

