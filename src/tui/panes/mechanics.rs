//! The mechanics pane: the roster with shift status, clock in/out, completion, certification,
//! location, specialties and live offers; filter by text and online only.

use crate::tui::widgets::{panel, selectable_table};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};

use crate::command::{Command, MechanicRef};
use crate::engine::views::RosterRow;
use crate::text::{fit, inert};
use crate::tui::state::{App, Effect, Mode, Pane, Purpose, Request};
use tui_input::Input;
use crate::tui::keymap::Op;
use crate::tui::theme::Tone;

use crate::tui::keymap::{Binding, b, code, k};
use crate::tui::panes::{self, PaneDef, PaneState};
use ratatui::crossterm::event::KeyCode;

pub const PANE: PaneDef = PaneDef {
    title: "Mechanics",
    keys: KEYS,
    op,
    render,
    click: |app, _, y, height| click(app, y, height),
    key_state,
    clamp: |app, _| clamp(app),
    back: panes::no_back,
    typing: Some(editor_key),
    filter: Some(|app| {
        let state = app.state_mut::<MechanicsState>();
        (&mut state.filter, Some(&mut state.selected))
    }),
    metrics: false,
    state: Some(panes::new_state::<MechanicsState>),
    load: None,
    found: None,
    done,
};

/// What this pane asks the engine for, besides plain actions: no other file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    /// A mechanic's plan from the editor, which stays open (with what was typed) until the
    /// engine accepts it; the text is the confirmation.
    SavePlan(String),
    /// Space on a mechanic on shift: his queue read at that moment, so clocking him out asks
    /// first whenever he holds a live offer (the last snapshot may be a moment old).
    ClockOutCheck { mechanic: String, name: String },
}

/// This pane's place in the registry.
fn me() -> Pane {
    Pane::of(&PANE)
}

fn own(app: &App) -> &MechanicsState {
    app.panes.get()
}

/// The pane's state alone (not all of `App`): the snapshot stays readable beside it.
fn own_mut(app: &mut App) -> &mut MechanicsState {
    app.panes.get_mut()
}

/// The mechanics pane's own state: selection, filter and the plan editor.
#[derive(Debug, Clone, Default)]
pub struct MechanicsState {
    pub selected: usize,
    pub filter: String,
    pub online_only: bool,
    /// The weekly plan being edited, while `Mode::PlanEditor`.
    pub editor: Option<PlanEditor>,
}

/// A mechanic's plan in its one-line form (`crate::schedule::to_line`), as typed.
#[derive(Debug, Clone, Default)]
pub struct PlanEditor {
    pub mechanic: String,
    pub name: String,
    pub input: Input,
}

impl PaneState for MechanicsState {
    const PANE: &'static PaneDef = &PANE;
}


/// The results of what this pane asked: a plan saved, a clock-out checked against his queue.
fn done(
    app: &mut App,
    purpose: Purpose,
    result: Result<crate::engine::Outcome, crate::error::DispatchError>,
) -> Vec<Effect> {
    match purpose.get::<Ask>().cloned() {
        Some(Ask::SavePlan(done)) => plan_saved(app, done, result),
        Some(Ask::ClockOutCheck { mechanic, name }) => {
            clock_out_checked(app, mechanic, name, result)
        }
        None => panes::acted(app, purpose, result),
    }
}

/// Clock in/out and details act on the selected mechanic: dimmed when the list is empty.
fn key_state(app: &App, op: Op, state: &mut crate::tui::state::KeyState) {
    if matches!(op, Op::ClockToggle | Op::Detail | Op::EditPlan) {
        state.enabled = visible(app).get(own(app).selected).is_some();
    }
}

/// The pane's keys, declared once: lookup, footer and help all read them.
pub const KEYS: &[Binding] = &[
    b(&[k(' ')], "Space", "clock in/out", Op::ClockToggle),
    b(&[code(KeyCode::Enter)], "Enter", "details", Op::Detail),
    b(&[k('o')], "o", "online only", Op::OnlineOnly),
    b(&[k('e')], "e", "edit plan", Op::EditPlan),
    b(&[k('/')], "/", "filter", Op::Filter),
];

pub fn visible(app: &App) -> Vec<&RosterRow> {
    let needle = own(app).filter.to_lowercase();
    app.data
        .roster
        .iter()
        .filter(|r| !own(app).online_only || r.mechanic.currently_on_shift)
        .filter(|r| {
            let m = &r.mechanic;
            needle.is_empty()
                || [
                    Some(&m.id),
                    Some(&m.name),
                    m.city.as_ref(),
                    m.state_province.as_ref(),
                ]
                .into_iter()
                .flatten()
                .chain(m.service_keywords.iter())
                .chain(m.brand_specializations.iter())
                .any(|s| s.to_lowercase().contains(&needle))
        })
        .collect()
}

pub fn clamp(app: &mut App) {
    let n = visible(app).len();
    let mechanics = own_mut(app);
    mechanics.selected = mechanics.selected.min(n.saturating_sub(1));
}

/// A click at body row `y` selects that mechanic.
pub fn click(app: &mut App, y: u16, height: u16) -> Vec<Effect> {
    let len = visible(app).len();
    if let Some(i) = crate::tui::state::table_row_at(y, 0, height, own(app).selected, len) {
        own_mut(app).selected = i;
    }
    Vec::new()
}

pub fn op(app: &mut App, op: Op) -> Vec<Effect> {
    let n = visible(app).len();
    let selected = &mut own_mut(app).selected;
    match op {
        Op::Up => *selected = selected.saturating_sub(1),
        Op::Down => *selected = (*selected + 1).min(n.saturating_sub(1)),
        Op::PageUp => *selected = selected.saturating_sub(10),
        Op::PageDown => *selected = (*selected + 10).min(n.saturating_sub(1)),
        Op::Filter => app.mode = Mode::Filter,
        Op::Detail => {
            if let Some(row) = visible(app).get(own(app).selected) {
                app.mode = Mode::Mechanic {
                    id: row.mechanic.id.clone(),
                    scroll: 0,
                };
            }
        }
        Op::EditPlan => {
            if let Some(row) = visible(app).get(own(app).selected) {
                let m = &row.mechanic;
                own_mut(app).editor = Some(PlanEditor {
                    mechanic: m.id.clone(),
                    name: m.name.clone(),
                    input: Input::new(crate::schedule::to_line(&m.plan)),
                });
                app.mode = Mode::PlanEditor;
            }
        }
        Op::OnlineOnly => {
            let mechanics = own_mut(app);
            mechanics.online_only = !mechanics.online_only;
            mechanics.selected = 0;
        }
        Op::ClockToggle => {
            if let Some(row) = visible(app).get(own(app).selected) {
                let m = &row.mechanic;
                let r = MechanicRef {
                    mechanic: m.id.clone(),
                };
                let name = inert(&m.name).into_owned();
                if m.currently_on_shift {
                    // His offers as they are now, not as the last snapshot had them: an offer
                    // made a moment ago (by the demo, another console, the API) counts too.
                    return vec![Effect::Run(Request {
                        from: me(),
                        command: Command::Queue(r),
                        purpose: Purpose::new(Ask::ClockOutCheck {
                            mechanic: m.id.clone(),
                            name: m.name.clone(),
                        }),
                    })];
                }
                return vec![Effect::Run(Request {
                    from: me(),
                    command: Command::ClockIn(r),
                    purpose: panes::plain(format!("{name} clocked in")),
                })];
            }
        }
        _ => {}
    }
    Vec::new()
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let rows = visible(app);
    let today = app.now.date_naive();
    let wide = area.width >= 110;
    let table_rows: Vec<Row> = rows
        .iter()
        .map(|r| {
            let m = &r.mechanic;
            let shift = if m.currently_on_shift && r.busy() {
                Span::styled("◐ busy", t.style(Tone::Warn))
            } else if m.currently_on_shift {
                Span::styled("● on ", t.style(Tone::Good))
            } else {
                Span::styled("○ off", t.style(Tone::Dim))
            };
            let completion = if m.can_accept_sessions() {
                Span::raw(format!("{:>3}%", m.profile_completion_score))
            } else {
                Span::styled(
                    format!("{:>3}% ✗", m.profile_completion_score),
                    t.style(Tone::Warn),
                )
            };
            let cert = m.certification(today).map_or("—".to_string(), |c| {
                if c.legacy {
                    format!("{}*", c.label)
                } else {
                    c.label.to_string()
                }
            });
            let place = match (&m.city, &m.state_province) {
                (Some(c), Some(p)) => format!("{c}, {p}"),
                (Some(c), None) => c.clone(),
                _ => String::new(),
            };
            let mut specialties: Vec<String> = m.brand_specializations.clone();
            specialties.extend(m.service_keywords.iter().cloned());

            // Why he is in no ranking, said where the dispatcher looks for him.
            let note = match m.account_exclusion() {
                Some(why) => format!("✗ {} — ", why.label()),
                None if r.unanswered > 0 => format!("{} unanswered — ", r.unanswered),
                None => String::new(),
            };
            let mut cells = vec![
                Cell::from(shift),
                Cell::from(fit(&m.name, 22).into_owned()),
                Cell::from(fit(&place, 16).into_owned()),
                Cell::from(completion),
                Cell::from(cert),
                Cell::from(if r.live_offers > 0 {
                    r.live_offers.to_string()
                } else {
                    String::new()
                }),
            ];
            if wide {
                cells.push(Cell::from(format!("{:.1}", m.rating)));
                cells.push(Cell::from(fit(
                    &crate::schedule::next_expected(&m.plan, app.now),
                    16,
                ).into_owned()));
            }
            cells.push(Cell::from(format!(
                "{note}{}",
                fit(&specialties.join(", "), usize::from(area.width))
            )));
            let row = Row::new(cells);
            if m.account_status != crate::model::AccountStatus::Approved {
                row.style(t.style(Tone::Dim))
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(6),
        Constraint::Length(22),
        Constraint::Length(16),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(4),
    ];
    let mut header = vec!["Shift", "Name", "Location", "Prof.", "Certified", "Off."];
    if wide {
        widths.push(Constraint::Length(4));
        header.push("★");
        widths.push(Constraint::Length(16));
        header.push("Next expected");
    }
    widths.push(Constraint::Min(10));
    header.push("Specialties");
    let on = app
        .data
        .roster
        .iter()
        .filter(|r| r.mechanic.currently_on_shift)
        .count();
    // The title holds what narrows the list (never cut); the legend goes below, as much of
    // it as fits whole.
    let mut title = format!(" Mechanics · {on} on shift of {} ", app.data.roster.len());
    if own(app).online_only {
        title.push_str("· online only ");
    }
    if !own(app).filter.is_empty() || app.mode == Mode::Filter {
        title.push_str(&format!(
            "· filter: {}{} ",
            fit(&own(app).filter, 30),
            if app.mode == Mode::Filter { "▏" } else { "" }
        ));
    }
    let room = usize::from(area.width.saturating_sub(2));
    let legend = [
        " ✗ takes no session · * legacy Red Seal · Off. live offers · Enter: all details ",
        " ✗ takes no session · * legacy Red Seal · Off. offers · Enter details ",
        " Enter details ",
    ]
    .into_iter()
    .find(|l| crate::text::width(l) <= room)
    .unwrap_or_default();
    let table = selectable_table(t, table_rows, widths, Row::new(header), panel(t, title).title_bottom(ratatui::text::Line::from(legend)));
    let mut state =
        TableState::default().with_selected((!rows.is_empty()).then_some(own(app).selected));
    frame.render_stateful_widget(table, area, &mut state);
    if app.mode == Mode::PlanEditor
        && let Some(editor) = &own(app).editor
    {
        render_editor(app, editor, frame, area);
    }
}

/// Keys while the plan editor is open: Enter saves (the engine judges the plan and names a bad
/// entry), Esc leaves it unchanged, everything else edits the line.
pub fn editor_key(
    app: &mut App,
    op: Option<Op>,
    key: ratatui::crossterm::event::KeyEvent,
) -> Vec<Effect> {
    let Some(editor) = own_mut(app).editor.as_mut() else {
        app.mode = Mode::Normal;
        return Vec::new();
    };
    match op {
        Some(Op::Back) => {
            own_mut(app).editor = None;
            app.mode = Mode::Normal;
            app.info("Plan unchanged");
            Vec::new()
        }
        Some(Op::Choose) => match crate::schedule::from_line(editor.input.value()) {
            Ok((timezone, shifts)) => {
                let done = format!("Plan of {} saved", inert(&editor.name));
                let command = Command::SetShifts(crate::command::SetShifts {
                    mechanic: editor.mechanic.clone(),
                    timezone,
                    shifts,
                });
                vec![Effect::Run(Request {
                    from: me(),
                    command,
                    purpose: Purpose::new(Ask::SavePlan(done)),
                })]
            }
            Err(why) => {
                app.error(format!("Not saved: {}", inert(&why)));
                Vec::new()
            }
        },
        _ => {
            if let Some(request) = tui_input::backend::crossterm::to_input_request(
                &ratatui::crossterm::event::Event::Key(key),
            ) {
                editor.input.handle(request);
            }
            Vec::new()
        }
    }
}

/// The plan editor, over the bottom of the roster.
fn render_editor(app: &App, editor: &PlanEditor, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let height = 5.min(area.height);
    let popup = Rect::new(area.x, area.bottom() - height, area.width, height);
    frame.render_widget(ratatui::widgets::Clear, popup);
    let block = panel(
        t,
        format!(
            " Weekly plan of {} · Enter saves · Esc cancels ",
            fit(&editor.name, 30)
        ),
    );
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let room = usize::from(inner.width.max(1));
    let scroll = editor.input.visual_scroll(room.saturating_sub(1));
    let text = crate::text::for_screen(editor.input.value());
    let shown: String = text.chars().skip(scroll).collect();
    let lines = vec![
        Line::from(fit(&shown, room).into_owned()),
        Line::from(Span::styled(
            fit(
                "zone, then days and hours: America/Halifax mon-fri 08:00-16:00, sat 10:00-14:00 \
                 (an end before the start runs past midnight)",
                room,
            )
            .into_owned(),
            t.style(Tone::Dim),
        )),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
    let cursor = editor.input.visual_cursor().saturating_sub(scroll);
    let x = inner.x + u16::try_from(cursor).unwrap_or(u16::MAX);
    if x < inner.right() {
        frame.set_cursor_position((x, inner.y));
    }
}

/// The engine's answer to a plan: saved closes the editor; refused keeps it open with the line
/// as typed, and says which entry is wrong.
pub fn plan_saved(app: &mut App, done: String, result: Result<crate::engine::Outcome, crate::error::DispatchError>) -> Vec<Effect> {
    match result {
        Ok(_) => {
            own_mut(app).editor = None;
            if app.mode == Mode::PlanEditor {
                app.mode = Mode::Normal;
            }
            app.info(done);
            vec![Effect::Refresh]
        }
        Err(e) => {
            // The engine counts shifts (`shifts[5]` is Saturday of "mon-fri …, sat …"); the
            // dispatcher wrote entries: say the one he wrote.
            let line = own(app)
                .editor
                .as_ref()
                .map(|ed| ed.input.value().to_string())
                .unwrap_or_default();
            let name = |text: &str| crate::schedule::name_entries(&line, text);
            app.error(match e.field.as_deref() {
                Some(field) if field.contains("shifts[") => {
                    format!("Not saved: {}: {}", name(field), name(&e.message))
                }
                Some(field) => format!("Not saved: {} ({field})", e.message),
                None => format!("Not saved: {} ({})", e.message, e.code.as_str()),
            });
            Vec::new()
        }
    }
}

/// Space on a mechanic on shift, with his queue as it is now: with a live offer it asks first
/// (clocking out withdraws it), else he is clocked out at once.
pub fn clock_out_checked(
    app: &mut App,
    mechanic: String,
    name: String,
    result: Result<crate::engine::Outcome, crate::error::DispatchError>,
) -> Vec<Effect> {
    let live = match result {
        Ok(crate::engine::Outcome::Queue(queue)) => queue
            .mine
            .iter()
            .filter(|r| {
                r.status == crate::model::AssignmentStatus::Offered
                    && r.seconds_left.is_some_and(|s| s > 0)
            })
            .count() as i64,
        Ok(_) => 0,
        Err(e) => {
            app.error(format!("{} ({})", e.message, e.code.as_str()));
            return Vec::new();
        }
    };
    if live > 0 {
        app.mode = Mode::Confirm(crate::tui::state::Confirm::ClockOut {
            mechanic,
            name,
            offers: live,
        });
        return Vec::new();
    }
    vec![Effect::Run(Request {
        from: me(),
        command: Command::ClockOut(MechanicRef { mechanic }),
        purpose: panes::plain(format!("{} clocked out", inert(&name))),
    })]
}
