//! The intake pane: the form, the live preview (keywords and top matches while typing), the
//! submit result with countdowns, and the "All mechanics currently offline" card (SPEC §6).

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

use crate::command::{
    Command, Customer, IntakeRequest, JoinWaitlist, Location, SessionMechanic, SlotsRequest, Vehicle,
};
use crate::engine::{IntakeOutcome, MatchView, Outcome, validate};
use crate::error::DispatchError;
use crate::model::{
    Assignment, AssignmentStatus, Channel, PaymentMethod, RequestType, SessionStatus, Tier,
};
use crate::text::{fit, fit_end, inert, pad};
pub use crate::tui::state::{IntakeState, Offline, Submitted};
use crate::tui::state::{App, Effect, Mode, Purpose, Request};
use crate::tui::keymap::Op;
use crate::tui::theme::Tone;
use crate::tui::widgets::{countdown, inner_width, panel, tier_badge};

use crate::tui::keymap::{Binding, b, code, ctrl, hidden, k};
use crate::tui::panes::{self, PaneDef};

pub const PANE: PaneDef = PaneDef {
    title: "Intake",
    keys: KEYS,
    op,
    render,
    click,
    key_state,
    clamp: panes::no_clamp,
    back,
    filter: None,
    metrics: false,
    state: None,
    load: None,
    found: None,
    done,
};

/// The results of what this pane asked: the preview, the submit, and the card's follow-ups.
fn done(app: &mut App, purpose: Purpose, result: Result<Outcome, DispatchError>) -> Vec<Effect> {
    match purpose {
        Purpose::Preview => {
            preview_done(app, result);
            Vec::new()
        }
        Purpose::Submit => submit_done(app, result),
        Purpose::OfflineChoice(text) => {
            if result.is_ok() {
                offline_choice_done(app, &text);
            }
            panes::acted(app, Purpose::Act(text), result)
        }
        Purpose::Slots => {
            slots_done(app, result);
            Vec::new()
        }
        Purpose::Follow => {
            follow_done(app, result);
            Vec::new()
        }
        Purpose::Book { replaces } => book_done(app, replaces, result),
        other => panes::acted(app, other, result),
    }
}

/// The pane's keys, declared once: lookup, footer and help all read them.
pub const KEYS: &[Binding] = &[
    b(
        &[code(KeyCode::Enter), k('i')],
        "Enter",
        "edit field",
        Op::Edit,
    ),
    b(&[k(' ')], "Space", "toggle / cycle", Op::Toggle),
    b(&[ctrl('s')], "^S", "submit", Op::Submit),
    b(&[k('n')], "n", "new intake", Op::NewIntake),
    b(&[k('e')], "e", "not considered: why", Op::WhyNot),
    // Shown in the footer while the offline card is up (App::key_state).
    hidden(&[k('b')], "b", "browse offline", Op::BrowseOffline),
    hidden(&[k('w')], "w", "waitlist", Op::JoinWaitlist),
    hidden(&[k('s')], "s", "schedule", Op::ScheduleLater),
];

mod card;
mod form;
mod preview;

pub use card::*;
pub use form::*;
pub use preview::*;


pub fn op(app: &mut App, op: Op) -> Vec<Effect> {
    if let Some(effects) = offline_op(app, op) {
        return effects;
    }
    match op {
        Op::Up => app.intake.focus = app.intake.focus.saturating_sub(1),
        Op::Down => app.intake.focus = (app.intake.focus + 1).min(SUBMIT_ROW),
        Op::Edit if app.intake.focus == SUBMIT_ROW => return submit(app),
        Op::Edit => match FIELDS[app.intake.focus].kind {
            Kind::Text(_) => app.mode = Mode::Editing,
            _ => return cycle(app, true),
        },
        Op::Toggle => return cycle(app, true),
        Op::Submit => return submit(app),
        Op::NewIntake => {
            if app.intake.is_dirty() {
                app.mode = Mode::Confirm(crate::tui::state::Confirm::ClearForm);
            } else {
                clear(app);
            }
        }
        Op::BrowseOffline | Op::JoinWaitlist | Op::ScheduleLater => {
            app.info("These choices appear when every matching mechanic is offline.");
        }
        Op::WhyNot => app.intake.show_excluded = !app.intake.show_excluded,
        _ => {}
    }
    Vec::new()
}

/// The pane's keys in the footer: while the offline card is up its choices come first (and
/// Enter and Space say what they do in the chosen step); the preview's `e` only with a preview.
pub fn key_state(app: &App, op: Op, state: &mut crate::tui::state::KeyState) {
    let stage = app.intake.result.as_ref().and_then(|r| r.offline.as_ref());
    match (stage, op) {
        (Some(_), Op::BrowseOffline | Op::JoinWaitlist | Op::ScheduleLater) => {
            state.shown = true;
            state.promoted = true;
        }
        (Some(Offline::Waitlist { .. }), Op::Edit) => {
            state.help = "join";
            state.promoted = true;
        }
        (Some(Offline::Waitlist { .. }), Op::Toggle) => {
            state.help = "channel on/off";
            state.promoted = true;
        }
        (Some(Offline::Browse { .. }), Op::Edit) => {
            state.help = "pick";
            state.promoted = true;
        }
        (Some(Offline::Schedule { .. }), Op::Edit) => {
            state.help = "book";
            state.promoted = true;
        }
        (Some(Offline::Browse { .. } | Offline::Card | Offline::Schedule { .. }), Op::Toggle) => {
            state.shown = false
        }
        (Some(_), Op::WhyNot | Op::Submit) => state.shown = false,
        (None, Op::WhyNot) => {
            state.enabled = app.intake.preview.is_some() && app.intake.result.is_none()
        }
        _ => {}
    }
}

/// Esc on the intake pane: leave a choice of the offline card, then the result itself.
pub fn back(app: &mut App) {
    if let Some(result) = app.intake.result.as_mut() {
        match result.offline {
            Some(Offline::Card) | None => {
                app.intake.result = None;
                // With the card closed, the form takes typing for the next customer.
                enter(app);
            }
            Some(_) => result.offline = Some(Offline::Card),
        }
    }
}
/// Whether the offline card is up: its letters (b, w, s) act on it, also after a first
/// choice (a customer may pick a mechanic and join the waitlist), until Esc closes it.
fn card_awaits_choice(app: &App) -> bool {
    app.intake
        .result
        .as_ref()
        .is_some_and(|r| r.offline.is_some())
}

/// The pane comes into view: the form takes typing at once (a field has the focus), unless
/// the offline card waits for a choice, whose keys are letters.
pub fn enter(app: &mut App) {
    if app.pane == crate::tui::state::Pane::Intake
        && !card_awaits_choice(app)
        && app.intake.focus < SUBMIT_ROW
    {
        app.mode = Mode::Editing;
    }
}

/// A click on the form: a field takes the focus, a text field starts editing (the cursor at
/// its end), the submit row submits.
pub fn click(app: &mut App, column: u16, y: u16, height: u16) -> Vec<Effect> {
    if column >= FORM_WIDTH || y == 0 {
        return Vec::new();
    }
    let inner_height = usize::from(height.saturating_sub(2));
    let rows = FIELDS.len() + 1;
    let first = (app.intake.focus + 1)
        .saturating_sub(inner_height)
        .min(rows.saturating_sub(inner_height));
    let i = first + usize::from(y - 1);
    if usize::from(y) > inner_height || i > SUBMIT_ROW {
        return Vec::new();
    }
    app.intake.focus = i;
    if i == SUBMIT_ROW {
        return submit(app);
    }
    app.mode = Mode::Editing;
    Vec::new()
}


pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let [form, side] =
        Layout::horizontal([Constraint::Length(FORM_WIDTH), Constraint::Min(30)]).areas(area);
    render_form(app, frame, form);
    match &app.intake.result {
        Some(result) => render_result(app, result, frame, side),
        None => render_preview(app, frame, side),
    }
}
