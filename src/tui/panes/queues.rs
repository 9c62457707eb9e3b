//! The queues pane: live sessions with their offers (tier badge, score, reasons, countdown),
//! the broadcast held or open, and acting as a mechanic: accept, decline, complete, cancel.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState, Wrap};

use crate::command::{Command, SessionMechanic, SessionRef};
use crate::engine::views::{SessionRow, Snapshot};
use crate::model::{Assignment, AssignmentStatus, SessionStatus};
use crate::text::{fit, for_screen, inert, pad, width};
use crate::tui::state::{App, Confirm, Effect, Mode, Pane, Picker, Purpose, Request};
use crate::tui::keymap::Op;
use crate::tui::theme::Tone;
use crate::tui::widgets::{
    countdown, inner_width, panel, release_countdown, selectable_table, tier_badge,
};

use crate::tui::keymap::{Binding, b, code, k};
use crate::tui::panes::{self, PaneDef, PaneState};
use ratatui::crossterm::event::KeyCode;

pub const PANE: PaneDef = PaneDef {
    title: "Queues",
    keys: KEYS,
    op,
    render,
    click: |app, _, y, height| click(app, y, height),
    key_state,
    clamp: |app, old| {
        keep_on_session(app, old);
        clamp(app);
    },
    back: panes::no_back,
    typing: None,
    filter: Some(|app| {
        let state = app.state_mut::<QueuesState>();
        (&mut state.filter, Some(&mut state.selected))
    }),
    metrics: false,
    state: Some(panes::new_state::<QueuesState>),
    load: None,
    found: None,
    done,
};

/// What this pane asks the engine for, besides plain actions: no other file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    /// The session detail overlay's full record.
    Detail,
    /// Who may take a session's broadcast, for the "accept as" picker.
    Pick,
}

/// This pane's place in the registry.
fn me() -> Pane {
    Pane::of(&PANE)
}

fn own(app: &App) -> &QueuesState {
    app.panes.get()
}

/// The pane's state alone (not all of `App`): the snapshot stays readable beside it.
fn own_mut(app: &mut App) -> &mut QueuesState {
    app.panes.get_mut()
}

/// Which of the pane's two vertical lists ↑/↓ move in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Sessions,
    Offers,
}

/// The queues pane's own state: its selections, filter and the session detail overlay's record.
#[derive(Debug, Clone, Default)]
pub struct QueuesState {
    pub selected: usize,
    pub offer: usize,
    /// The session the offer cursor belongs to: another session starts at its top offer.
    pub offer_of: Option<String>,
    pub focus: Focus,
    /// The session to select at the next snapshot: the one just created at this console, or
    /// the one selected before the list changed under it (a new session sorted above it must
    /// not move the selection onto another customer).
    pub follow: Option<String>,
    pub filter: String,
    /// The session shown in the detail overlay, loaded in full when it opens.
    pub detail: Option<crate::engine::SessionDetail>,
}

impl PaneState for QueuesState {
    const PANE: &'static PaneDef = &PANE;
}


/// The results of what this pane asked: a session's whole record, who may take a broadcast.
fn done(
    app: &mut App,
    purpose: Purpose,
    result: Result<crate::engine::Outcome, crate::error::DispatchError>,
) -> Vec<Effect> {
    use crate::engine::Outcome;
    let Some(ask) = purpose.get::<Ask>().cloned() else {
        return panes::acted(app, purpose, result);
    };
    match (ask, result) {
        (Ask::Detail, Ok(Outcome::Session(detail))) => {
            own_mut(app).detail = Some(detail.session);
            app.mode = Mode::Detail { scroll: 0 };
        }
        (Ask::Pick, Ok(Outcome::Eligibility(e))) => open_picker(app, e),
        (_, Ok(_)) => {}
        (_, Err(e)) => app.error(e.message),
    }
    Vec::new()
}

/// The pane's keys, declared once: lookup, footer and help all read them.
pub const KEYS: &[Binding] = &[
    b(&[code(KeyCode::Left), k('h')], "←", "sessions", Op::Left),
    b(&[code(KeyCode::Right), k('l')], "→", "offers", Op::Right),
    b(&[k('a')], "a", "accept", Op::Accept),
    b(&[k('d')], "d", "decline", Op::Decline),
    b(&[code(KeyCode::Enter)], "Enter", "details", Op::Detail),
    b(&[k('c')], "c", "complete", Op::Complete),
    b(&[k('x')], "x", "cancel", Op::CancelSession),
    b(&[k('w')], "w", "sign waiver", Op::SignWaiver),
    b(&[k('p')], "p", "confirm payment", Op::ConfirmPayment),
    b(&[k('/')], "/", "filter", Op::Filter),
];

/// Sessions passing the filter (id, customer, city, concern, status; any case): the live ones,
/// then the bookings (SPEC §14), which the pane shows in a section of their own. One list, so
/// the same keys select, open and cancel either.
pub fn visible(app: &App) -> Vec<&SessionRow> {
    visible_in(&app.data, &own(app).filter)
}

fn visible_in<'a>(data: &'a Snapshot, filter: &str) -> Vec<&'a SessionRow> {
    let needle = filter.to_lowercase();
    data.sessions
        .iter()
        .chain(&data.scheduled)
        .filter(|row| {
            if needle.is_empty() {
                return true;
            }
            let intake = row.intake.as_ref();
            [
                Some(row.session.id.as_str()),
                Some(row.session.status.as_str()),
                intake.map(|i| i.customer_name.as_str()),
                intake.and_then(|i| i.city.as_deref()),
                intake.map(|i| i.concern.as_str()),
            ]
            .into_iter()
            .flatten()
            .any(|text| text.to_lowercase().contains(&needle))
        })
        .collect()
}

pub fn selected(app: &App) -> Option<&SessionRow> {
    selected_in(&app.data, own(app))
}

fn selected_in<'a>(data: &'a Snapshot, queues: &QueuesState) -> Option<&'a SessionRow> {
    // Without a filter every session is visible: no list to build (the footer asks this for
    // each of its keys, at every frame, over thousands of sessions).
    if queues.filter.is_empty() {
        let i = queues.selected;
        let live = data.sessions.len();
        return match data.sessions.get(i) {
            Some(row) => Some(row),
            None => data.scheduled.get(i - live),
        };
    }
    visible_in(data, &queues.filter)
        .get(queues.selected)
        .copied()
}

/// The selection stays on its session when the list changes around it (unless a session made
/// at this console is to be selected instead).
fn keep_on_session(app: &mut App, old: &Snapshot) {
    if own(app).follow.is_none() {
        let was = selected_in(old, own(app)).map(|r| r.session.id.clone());
        own_mut(app).follow = was;
    }
}

fn selected_offer(app: &App) -> Option<(&SessionRow, &Assignment)> {
    let row = selected(app)?;
    row.assignments.get(own(app).offer).map(|a| (row, a))
}

/// Has the pane open on a session made elsewhere at this console (the intake's submit or
/// booking), its sessions list selecting it once a snapshot lists it: what another pane asks of
/// this one, without reaching into its state.
pub fn open_on(app: &mut App, session: &str) {
    let queues = own_mut(app);
    queues.follow = Some(session.to_string());
    queues.focus = Focus::Sessions;
}

pub fn clamp(app: &mut App) {
    let follow = own_mut(app).follow.take();
    if let Some(id) = follow
        && let Some(i) = visible(app).iter().position(|r| r.session.id == id)
    {
        let queues = own_mut(app);
        if i != queues.selected {
            queues.offer = 0;
        }
        queues.selected = i;
    }
    let n = visible(app).len();
    let queues = own_mut(app);
    queues.selected = queues.selected.min(n.saturating_sub(1));
    // The offer cursor belongs to one session: another session (selected by a key, or moved
    // under the cursor by a new one sorted above) starts at its top offer, so `d` never lands
    // on the same row number of someone else's offers.
    let id = selected(app).map(|r| r.session.id.clone());
    let offers = selected(app).map_or(0, |r| r.assignments.len());
    let queues = own_mut(app);
    if id != queues.offer_of {
        queues.offer = 0;
        queues.offer_of = id;
    }
    queues.offer = queues.offer.min(offers.saturating_sub(1));
}

fn run(command: Command, done: String) -> Vec<Effect> {
    vec![Effect::Run(Request {
        from: me(),
        command,
        purpose: panes::plain(done),
    })]
}

pub fn op(app: &mut App, op: Op) -> Vec<Effect> {
    let count = visible(app).len();
    let offers = selected(app).map_or(0, |r| r.assignments.len());
    let queues = own_mut(app);
    match (op, queues.focus) {
        (Op::Up, Focus::Offers) => queues.offer = queues.offer.saturating_sub(1),
        (Op::Down, Focus::Offers) => {
            queues.offer = (queues.offer + 1).min(offers.saturating_sub(1));
        }
        (Op::Up, Focus::Sessions) => {
            queues.selected = queues.selected.saturating_sub(1);
            queues.offer = 0;
        }
        (Op::Down, Focus::Sessions) => {
            queues.selected = (queues.selected + 1).min(count.saturating_sub(1));
            queues.offer = 0;
        }
        (Op::PageUp, _) => queues.selected = queues.selected.saturating_sub(10),
        (Op::PageDown, _) => queues.selected = (queues.selected + 10).min(count.saturating_sub(1)),
        (Op::Left, _) => queues.focus = Focus::Sessions,
        (Op::Right, _) if offers > 0 => queues.focus = Focus::Offers,
        _ => return act(app, op),
    }
    clamp(app);
    Vec::new()
}

/// The pane's keys in the footer: dimmed when they can do nothing for the selected session or
/// offer (the engine would refuse), the waiver and payment keys only for a held session.
pub fn key_state(app: &App, op: Op, state: &mut crate::tui::state::KeyState) {
    let row = selected(app);
    let offer = selected_offer(app).map(|(_, a)| a);
    let status = row.map(|r| r.session.status);
    let now = app.now;
    match op {
        Op::Accept => {
            state.enabled = offer.is_some_and(|a| a.is_live_offer(now) || a.is_open_broadcast(now))
        }
        Op::Decline => {
            state.enabled = offer.is_some_and(|a| !a.is_broadcast() && a.is_live_offer(now))
        }
        Op::Complete => state.enabled = status == Some(SessionStatus::Matched),
        Op::CancelSession | Op::Detail => state.enabled = row.is_some(),
        Op::SignWaiver => {
            state.shown =
                matches!(status, Some(SessionStatus::Pending | SessionStatus::Scheduled))
                    && row.is_some_and(|r| !r.session.waiver_signed);
            state.promoted = state.shown;
        }
        Op::ConfirmPayment => {
            state.shown = status == Some(SessionStatus::Pending)
                && row.is_some_and(|r| r.session.waiver_signed)
                || status == Some(SessionStatus::Scheduled)
                    && row.is_some_and(|r| {
                        r.session.waiver_signed && !r.session.gate_clear()
                    });
            state.promoted = state.shown;
        }
        // Only the way to the other list is listed.
        Op::Right => {
            state.shown = own(app).focus == Focus::Sessions;
            state.enabled = offer.is_some();
        }
        Op::Left => state.shown = own(app).focus == Focus::Offers,
        _ => {}
    }
}

/// The pane's actions on the selected session and offer.
fn act(app: &mut App, op: Op) -> Vec<Effect> {
    match op {
        Op::Filter => app.mode = Mode::Filter,
        Op::Detail => {
            if let Some(row) = selected(app) {
                let command = Command::Session(crate::command::IdRef {
                    id: row.session.id.clone(),
                });
                return vec![Effect::Run(Request {
                    from: me(),
                    command,
                    purpose: Purpose::new(Ask::Detail),
                })];
            }
        }
        Op::Accept => return accept(app),
        Op::Decline => {
            if let Some((row, offer)) = selected_offer(app) {
                let Some(mechanic) = offer.mechanic_id.clone().filter(|_| !offer.is_broadcast())
                else {
                    app.error("Only a targeted offer can be declined; pick one (→, then ↑/↓)");
                    return Vec::new();
                };
                let session = row.session.id.clone();
                let done = format!(
                    "{} declined {}",
                    inert(app.mechanic_name(&mechanic)),
                    inert(&session)
                );
                return run(
                    Command::Decline(SessionMechanic { session, mechanic }),
                    done,
                );
            }
        }
        Op::Complete => {
            if let Some(row) = selected(app) {
                let session = row.session.id.clone();
                // Only a matched session can be completed, and that cannot be undone: ask.
                // Anything else goes straight to the engine, which says why not.
                if row.session.status == SessionStatus::Matched {
                    app.mode = Mode::Confirm(Confirm::CompleteSession(session));
                } else {
                    let done = format!("Session {} completed", inert(&session));
                    return run(Command::Complete(SessionRef { session }), done);
                }
            }
        }
        Op::CancelSession => {
            if let Some(row) = selected(app) {
                app.mode = Mode::Confirm(Confirm::CancelSession(row.session.id.clone()));
            }
        }
        Op::SignWaiver | Op::ConfirmPayment => {
            if let Some(row) = selected(app) {
                let session = row.session.id.clone();
                let r = SessionRef {
                    session: session.clone(),
                };
                return if op == Op::SignWaiver {
                    run(
                        Command::SignWaiver(r),
                        format!("Waiver signed for {}", inert(&session)),
                    )
                } else {
                    run(
                        Command::ConfirmPayment(r),
                        format!("Payment confirmed for {}", inert(&session)),
                    )
                };
            }
        }
        _ => {}
    }
    clamp(app);
    Vec::new()
}

/// The two lists' places within a body of `height` rows: the sessions above, the offers below.
fn areas(height: u16) -> (Rect, Rect) {
    let [list, offers] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
        .areas(Rect::new(0, 0, 1, height));
    (list, offers)
}

/// The sessions list, with room below it for the bookings when there are any: up to five
/// rows, so the live sessions keep most of the space.
fn booking_areas(list: Rect, bookings: usize) -> (Rect, Option<Rect>) {
    // Below 9 rows the two tables would show a row each: the live sessions keep the room (the
    // bookings stay in the list, and `↓` past the last live session reaches them).
    if bookings == 0 || list.height < 9 {
        return (list, None);
    }
    let height = ((bookings.min(5) as u16) + 3).min(list.height - 5);
    let [live, booked] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(height)]).areas(list);
    (live, Some(booked))
}

/// Bookings (SPEC §14), soonest first, each with its time and the countdown to its release.
fn render_bookings(
    app: &App,
    rows: &[&SessionRow],
    first: usize,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let t = &app.theme;
    let table_rows: Vec<Row> = rows
        .iter()
        .map(|row| {
            let intake = row.intake.as_ref();
            let at = row.session.scheduled_for;
            Row::new(vec![
                Cell::from(status_cell(app, row.session.status)),
                Cell::from(truncate(&row.session.id, 10)),
                Cell::from(truncate(
                    intake.map_or("", |i| i.customer_name.as_str()),
                    14,
                )),
                Cell::from(at.map_or(String::new(), |at| {
                    let local = intake
                        .and_then(|i| {
                            let zone = crate::zone::of_place(
                                Some(&i.country),
                                i.province.as_deref(),
                                i.city.as_deref(),
                            );
                            crate::zone::local_clock(at, zone)
                        })
                        .map(|l| format!(" · {l}"))
                        .unwrap_or_default();
                    format!("{}{local}", at.format("%d %b %H:%M"))
                })),
                Cell::from(at.map_or(Span::raw(""), |at| {
                    release_countdown(t, crate::engine::releases_at(at), app.now)
                })),
                Cell::from(truncate(intake.map_or("", |i| i.concern.as_str()), 60)),
            ])
        })
        .collect();
    let widths = vec![
        Constraint::Length(11),
        Constraint::Length(10),
        Constraint::Length(14),
        Constraint::Length(24),
        Constraint::Length(11),
        Constraint::Min(8),
    ];
    let header = vec![
        "Status",
        "Session",
        "Customer",
        "For (UTC · customer)",
        "Release",
        "Concern",
    ];
    let title = format!(
        " Scheduled ({}) · released 10 min before their time ",
        rows.len()
    );
    let selected = own(app)
        .selected
        .checked_sub(first)
        .filter(|i| *i < rows.len());
    let table = selectable_table(t, table_rows, widths, Row::new(header), panel(t, title));
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
}

/// A click at body row `y`: a session row selects it (the selected one opens its details), an
/// offer row selects that offer.
pub fn click(app: &mut App, y: u16, height: u16) -> Vec<Effect> {
    let (list, offers) = areas(height);
    let rows = visible(app);
    let live = rows
        .iter()
        .take_while(|r| r.session.status != SessionStatus::Scheduled)
        .count();
    let booked = rows.len() - live;
    drop(rows);
    let (list, bookings) = booking_areas(list, booked);
    let chosen = own(app).selected;
    let hit = crate::tui::state::table_row_at(y, list.y, list.height, chosen.min(live), live)
        .filter(|_| y < list.y + list.height)
        .or_else(|| {
            let b = bookings?;
            (y >= b.y).then_some(())?;
            crate::tui::state::table_row_at(y, b.y, b.height, chosen.saturating_sub(live), booked)
                .map(|i| live + i)
        });
    if let Some(i) = hit {
        own_mut(app).focus = Focus::Sessions;
        if i == own_mut(app).selected {
            return act(app, Op::Detail);
        }
        own_mut(app).selected = i;
        own_mut(app).offer = 0;
        own_mut(app).offer_of = selected(app).map(|r| r.session.id.clone());
        return Vec::new();
    }
    let Some(row) = selected(app) else {
        return Vec::new();
    };
    // Inside the border: the session's line, its held line if any, then one line per offer.
    let first = offers.y
        + 2
        + u16::from(row.session.status == SessionStatus::Pending)
        + 2 * u16::from(row.session.status == SessionStatus::Scheduled);
    if y >= first && usize::from(y - first) < row.assignments.len() {
        own_mut(app).offer_of = Some(row.session.id.clone());
        own_mut(app).offer = usize::from(y - first);
        own_mut(app).focus = Focus::Offers;
    }
    Vec::new()
}

/// Accept as the selected offer's mechanic; for the broadcast, choose who takes it.
fn accept(app: &mut App) -> Vec<Effect> {
    let Some((row, offer)) = selected_offer(app) else {
        app.error("Select a session and one of its offers first");
        return Vec::new();
    };
    let session = row.session.id.clone();
    if let (false, Some(mechanic)) = (offer.is_broadcast(), offer.mechanic_id.clone()) {
        let done = format!(
            "{} accepted {}",
            inert(app.mechanic_name(&mechanic)),
            inert(&session)
        );
        return run(Command::Accept(SessionMechanic { session, mechanic }), done);
    }
    if !offer.is_open_broadcast(app.now) {
        let opens = offer
            .active_from
            .map(|t| format!(" at {}", t.format("%H:%M:%S")))
            .unwrap_or_default();
        app.error(format!(
            "The broadcast opens{opens}; until then only the mechanics offered it can accept"
        ));
        return Vec::new();
    }
    // The engine says who may take it: the same rule the accept will apply.
    vec![Effect::Run(Request {
        from: me(),
        command: Command::Eligibility(crate::command::SessionRef { session }),
        purpose: Purpose::new(Ask::Pick),
    })]
}

/// Opens the "accept as" picker on the mechanics who may take the session now.
pub fn open_picker(app: &mut App, eligibility: crate::engine::EligibilityOutcome) {
    let mechanics: Vec<_> = eligibility
        .mechanics
        .into_iter()
        .filter(|m| m.may_take)
        .collect();
    if mechanics.is_empty() {
        app.error(format!(
            "Nobody on shift may take {} now (off shift, busy, or not eligible)",
            inert(&eligibility.session)
        ));
        return;
    }
    app.mode = Mode::Picker(Picker {
        session: eligibility.session,
        mechanics,
        selected: 0,
    });
}

pub fn picker_key(app: &mut App, op: Option<Op>, mut picker: Picker) -> Vec<Effect> {
    match op {
        Some(Op::Up) => picker.selected = picker.selected.saturating_sub(1),
        Some(Op::Down) => {
            picker.selected = (picker.selected + 1).min(picker.mechanics.len().saturating_sub(1))
        }
        Some(Op::Back) => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        Some(Op::Choose) => {
            app.mode = Mode::Normal;
            let Some(mechanic) = picker
                .mechanics
                .get(picker.selected)
                .map(|m| m.mechanic.clone())
            else {
                return Vec::new();
            };
            let done = format!(
                "{} took {} from the broadcast",
                inert(app.mechanic_name(&mechanic)),
                inert(&picker.session)
            );
            return run(
                Command::Accept(SessionMechanic {
                    session: picker.session,
                    mechanic,
                }),
                done,
            );
        }
        _ => {}
    }
    app.mode = Mode::Picker(picker);
    Vec::new()
}

fn status_cell(app: &App, status: SessionStatus) -> Span<'static> {
    let t = &app.theme;
    match status {
        SessionStatus::Scheduled => Span::styled("◷ scheduled", t.style(Tone::Info)),
        SessionStatus::Pending => Span::styled("◌ pending", t.style(Tone::Warn)),
        SessionStatus::Waiting => Span::styled("● waiting", t.style(Tone::Info)),
        SessionStatus::Matched => Span::styled("✓ matched", t.style(Tone::Good)),
        SessionStatus::Completed => Span::styled("✓ done", t.style(Tone::Dim)),
        SessionStatus::Cancelled => Span::styled("✗ cancelled", t.style(Tone::Dim)),
    }
}

/// The session's most pressing clock: its soonest live offer, or its broadcast.
fn next_clock(app: &App, row: &SessionRow) -> Span<'static> {
    let t = &app.theme;
    match row.session.status {
        SessionStatus::Pending => return Span::styled("gate", t.style(Tone::Warn)),
        SessionStatus::Matched => return Span::styled("taken", t.style(Tone::Good)),
        _ => {}
    }
    if let Some(deadline) = row
        .assignments
        .iter()
        .filter(|a| a.is_live_offer(app.now))
        .filter_map(|a| a.expires_at)
        .min()
    {
        return countdown(t, deadline, app.now);
    }
    if row.assignments.iter().any(|a| a.is_open_broadcast(app.now)) {
        return Span::styled("open", t.style(Tone::Accent));
    }
    Span::styled("—", t.style(Tone::Dim))
}

/// The concern, after who took the session once it is matched: the dispatcher reads a taken
/// session by its mechanic.
fn concern_cell(app: &App, row: &SessionRow, columns: usize) -> Line<'static> {
    let concern = row.intake.as_ref().map_or("", |i| i.concern.as_str());
    match row
        .session
        .matched_mechanic_id
        .as_deref()
        .filter(|_| row.session.status == SessionStatus::Matched)
    {
        Some(id) => {
            let who = format!("→ {} · ", truncate(app.mechanic_name(id), 20));
            let rest = columns.saturating_sub(width(&who));
            Line::from(vec![
                Span::styled(who, app.theme.style(Tone::Good)),
                Span::raw(truncate(concern, rest)),
            ])
        }
        None => Line::from(truncate(concern, columns)),
    }
}

/// At most `columns` columns of customer text, cut by display width.
fn truncate(s: &str, columns: usize) -> String {
    fit(s, columns).into_owned()
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let rows = visible(app);
    let (list, offers) = areas(area.height);
    let (list, offers) = (
        Rect::new(area.x, area.y + list.y, area.width, list.height),
        Rect::new(area.x, area.y + offers.y, area.width, offers.height),
    );
    let live = rows
        .iter()
        .take_while(|r| r.session.status != SessionStatus::Scheduled)
        .count();
    let (list, bookings) = booking_areas(list, rows.len() - live);
    if let Some(bookings) = bookings {
        render_bookings(app, &rows[live..], live, frame, bookings);
    }
    let wide = area.width >= 110;
    let table_rows: Vec<Row> = rows[..live]
        .iter()
        .map(|row| {
            let intake = row.intake.as_ref();
            let urgent = if row.escalated() {
                Span::styled("⚠ ESC", t.style(Tone::Urgent))
            } else if row.session.urgent {
                Span::styled("URGENT", t.style(Tone::Urgent))
            } else {
                Span::raw("")
            };
            // Narrow terminals keep every column, each narrower: the concern is what a
            // dispatcher reads a session by.
            let (id, name, city) = if wide { (14, 16, 12) } else { (9, 14, 10) };
            // What the concern column gets: the inner width less the selection mark, the
            // fixed columns and the six gaps between columns.
            let concern = usize::from(area.width)
                .saturating_sub(2 + 2 + 11 + id + name + city + 8 + 6 + 6)
                .max(1);
            Row::new(vec![
                Cell::from(status_cell(app, row.session.status)),
                Cell::from(truncate(&row.session.id, id)),
                Cell::from(truncate(
                    intake.map_or("", |i| i.customer_name.as_str()),
                    name,
                )),
                Cell::from(truncate(
                    intake.and_then(|i| i.city.as_deref()).unwrap_or(""),
                    city,
                )),
                Cell::from(next_clock(app, row)),
                Cell::from(urgent),
                Cell::from(concern_cell(app, row, concern)),
            ])
        })
        .collect();
    let (id, name, city) = if wide { (14, 16, 12) } else { (9, 14, 10) };
    let widths = vec![
        Constraint::Length(11),
        Constraint::Length(id),
        Constraint::Length(name),
        Constraint::Length(city),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Min(8),
    ];
    let header = vec![
        "Status", "Session", "Customer", "City", "Clock", "", "Concern",
    ];
    let filter = if own(app).filter.is_empty() && app.mode != Mode::Filter {
        String::new()
    } else {
        format!(
            " · filter: {}{}",
            fit(&own(app).filter, 30),
            if app.mode == Mode::Filter { "▏" } else { "" }
        )
    };
    let escalated = rows[..live].iter().filter(|r| r.escalated()).count();
    let alert = if escalated > 0 {
        format!(" · ⚠ {escalated} escalated: waiting too long, pinned on top")
    } else {
        String::new()
    };
    let focus = if own(app).focus == Focus::Sessions {
        "▶ "
    } else {
        ""
    };
    let title = format!(" {focus}Sessions ({live}){alert}{filter} ");
    let table = selectable_table(t, table_rows, widths, Row::new(header), panel(t, title));
    let chosen = own(app).selected;
    let mut state = TableState::default().with_selected((chosen < live).then_some(chosen));
    frame.render_stateful_widget(table, list, &mut state);

    let block = panel(
        t,
        if own(app).focus == Focus::Offers {
            " ▶ Offers · ↑/↓ choose · a accept · d decline · ← back to sessions "
        } else {
            " Offers · → to choose one · a accept · d decline "
        },
    );
    let Some(row) = rows.get(own(app).selected) else {
        let empty = Paragraph::new(Line::from(Span::styled(
            "No live sessions. Take an intake in pane 1.",
            t.style(Tone::Dim),
        )));
        frame.render_widget(empty.block(block), offers);
        return;
    };
    frame.render_widget(
        Paragraph::new(offer_lines(app, row, inner_width(offers)))
            .wrap(Wrap { trim: false })
            .block(block),
        offers,
    );
}

/// The selected session's offers; the first line (id and concern) is cut to `room` columns so
/// that a long concern cannot push the offers out of sight.
fn offer_lines(app: &App, row: &SessionRow, room: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    let id = format!("{} ", truncate(&row.session.id, 24));
    let concern = row.intake.as_ref().map_or(String::new(), |i| {
        truncate(&i.concern, room.saturating_sub(width(&id)))
    });
    lines.push(Line::from(vec![
        Span::styled(id, t.style(Tone::Title)),
        Span::raw(concern),
    ]));
    if let (SessionStatus::Scheduled, Some(at)) = (row.session.status, row.session.scheduled_for)
    {
        let release = crate::engine::releases_at(at);
        // The customer's own hours beside UTC, when their place tells the zone.
        let local = row
            .intake
            .as_ref()
            .and_then(|i| {
                let zone = crate::zone::of_place(
                    Some(&i.country),
                    i.province.as_deref(),
                    i.city.as_deref(),
                );
                crate::zone::local_clock(at, zone)
            })
            .map(|l| format!(" ({l} for the customer)"))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "Booked for {}{local} · released ",
                    at.format("%a %d %b %H:%M UTC")
                ),
                t.style(Tone::Info),
            ),
            release_countdown(t, release, app.now),
        ]));
        lines.push(Line::from(Span::styled(
            "No offers yet: matching runs at release, among the mechanics on shift then. \
             x cancels the booking.",
            t.style(Tone::Dim),
        )));
    }
    if row.session.status == SessionStatus::Pending {
        let missing = if !row.session.waiver_signed {
            "waiver (w)"
        } else {
            "payment (p)"
        };
        lines.push(Line::from(Span::styled(
            format!("Held: waiting for {missing}"),
            t.style(Tone::Warn),
        )));
    }
    for (i, a) in row.assignments.iter().enumerate() {
        let chosen = i == own(app).offer;
        let who = match (&a.mechanic_id, a.is_broadcast()) {
            (_, true) if a.status == AssignmentStatus::Accepted => {
                format!(
                    "broadcast → {}",
                    app.mechanic_name(a.mechanic_id.as_deref().unwrap_or("?"))
                )
            }
            (_, true) => "broadcast".to_string(),
            (Some(m), false) => app.mechanic_name(m).to_string(),
            (None, false) => "?".to_string(),
        };
        let mut spans = vec![
            Span::raw(if chosen { "› " } else { "  " }),
            tier_badge(t, a.tier()),
            Span::raw(format!(
                " {:>4} ",
                a.match_score.map_or(String::new(), |s| s.to_string())
            )),
            Span::raw(format!("{} ", pad(&who, 24))),
        ];
        spans.push(match (a.status, a.is_broadcast()) {
            (AssignmentStatus::Offered, false) => match a.expires_at {
                Some(e) if e > app.now => countdown(t, e, app.now),
                _ => Span::styled("expired", t.style(Tone::Dim)),
            },
            (AssignmentStatus::Queued, true) if a.is_open_broadcast(app.now) => {
                Span::styled("OPEN to all", t.style(Tone::Accent))
            }
            (AssignmentStatus::Offered, true) => Span::styled("OPEN to all", t.style(Tone::Accent)),
            (AssignmentStatus::Queued, true) => match a.active_from {
                Some(from) => {
                    let mut s = countdown(t, from, app.now);
                    s.content = format!("held · opens in {}", s.content).into();
                    s
                }
                None => Span::styled("held until release", t.style(Tone::Dim)),
            },
            (AssignmentStatus::Queued, false) => {
                Span::styled("held until release", t.style(Tone::Dim))
            }
            (AssignmentStatus::Accepted, _) => Span::styled("✓ accepted", t.style(Tone::Good)),
            (status, _) => Span::styled(
                format!(
                    "{status}{}",
                    a.closed_reason
                        .as_deref()
                        // A reason that only repeats the status says nothing more.
                        .filter(|r| *r != status.as_str())
                        .map(|r| format!(" ({})", fit(&r.replace('_', " "), 40)))
                        .unwrap_or_default()
                ),
                t.style(Tone::Dim),
            ),
        });
        let line = Line::from(spans);
        lines.push(if chosen && own(app).focus == Focus::Offers {
            line.style(t.style(Tone::Selected))
        } else {
            line
        });
    }
    if let Some(a) = row
        .assignments
        .get(own(app).offer)
        .filter(|a| !a.match_reasons.is_empty())
    {
        lines.push(Line::from(Span::styled(
            format!("Why: {}", for_screen(&a.match_reasons.join(" · "))),
            t.style(Tone::Dim),
        )));
    }
    lines
}
