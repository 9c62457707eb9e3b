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
use crate::tui::state::{App, Effect, Mode, Pane, Purpose, Request};
use crate::tui::keymap::Op;
use crate::tui::theme::Tone;
use crate::tui::widgets::{countdown, inner_width, panel, tier_badge};

use crate::tui::keymap::{Binding, b, code, ctrl, hidden, k};
use crate::tui::panes::{self, PaneDef, PaneState};

pub const PANE: PaneDef = PaneDef {
    title: "Intake",
    keys: KEYS,
    op,
    render,
    click,
    key_state,
    clamp: panes::no_clamp,
    back,
    typing: Some(edit_key),
    filter: None,
    metrics: false,
    state: Some(panes::new_state::<IntakeState>),
    load: None,
    found: None,
    done,
};

/// What happens after the offline card is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    Card,
    Browse {
        selected: usize,
    },
    Waitlist {
        channels: [bool; 3],
        selected: usize,
    },
    /// Schedule for later (SPEC §14): the hourly slots with planned mechanics, once loaded.
    Schedule {
        slots: Option<Vec<crate::engine::SlotView>>,
        selected: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Submitted {
    pub outcome: crate::engine::IntakeOutcome,
    pub offline: Option<Offline>,
    /// Set when the customer picked an offline mechanic or joined the waitlist.
    pub follow_up: Option<String>,
    /// What was submitted: the slots to offer and the booking to make are asked with it.
    pub request: Option<crate::command::IntakeRequest>,
    /// The session as last read once it left the live lists (completed, cancelled): the card
    /// follows its session to the end.
    pub ended: Option<crate::engine::SessionDetail>,
    /// A booking made from the offline card: the session it replaced (withdrawn), whose
    /// reference the customer was told first.
    pub replaced: Option<String>,
}

/// The intake pane's own state: the form, its preview and the result card.
#[derive(Debug, Clone)]
pub struct IntakeState {
    /// One text input per field (choices and flags hold their current value); the cursor
    /// editing lives in tui-input.
    pub(crate) values: Vec<Input>,
    pub focus: usize,
    pub errors: HashMap<String, String>,
    pub preview: Option<crate::engine::BrowseOutcome>,
    pub result: Option<Submitted>,
    /// The preview lists the mechanics left out, with why, instead of the best matches.
    pub show_excluded: bool,
}

impl PaneState for IntakeState {
    const PANE: &'static PaneDef = &PANE;
}


/// The results of what this pane asked: the preview, the submit, and the card's follow-ups.
/// What this pane asks the engine for, handed back with each result: no other file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    /// The form's live keyword and match preview.
    Preview,
    Submit,
    /// A choice on the offline card (preferred mechanic, waitlist); the text is the note shown
    /// on the card and in the status line.
    OfflineChoice(String),
    /// The offline card's slots to schedule for later.
    Slots,
    /// The result card's session, read again once it left the live lists.
    Follow,
    /// A booking made from the offline card; the session it stands in for is cancelled once
    /// the booking is made (not before: a failed booking must leave the customer in line).
    Book { replaces: String },
}

/// This pane's place in the registry.
fn me() -> Pane {
    Pane::of(&PANE)
}

fn own(app: &App) -> &IntakeState {
    app.panes.get()
}

/// The pane's state alone (not all of `App`): the snapshot stays readable beside it.
fn own_mut(app: &mut App) -> &mut IntakeState {
    app.panes.get_mut()
}

fn done(app: &mut App, purpose: Purpose, result: Result<Outcome, DispatchError>) -> Vec<Effect> {
    let Some(ask) = purpose.get::<Ask>().cloned() else {
        return panes::acted(app, purpose, result);
    };
    match ask {
        Ask::Preview => {
            preview_done(app, result);
            Vec::new()
        }
        Ask::Submit => submit_done(app, result),
        Ask::OfflineChoice(text) => {
            if result.is_ok() {
                offline_choice_done(app, &text);
            }
            panes::acted(app, panes::plain(text), result)
        }
        Ask::Slots => {
            slots_done(app, result);
            Vec::new()
        }
        Ask::Follow => {
            follow_done(app, result);
            Vec::new()
        }
        Ask::Book { replaces } => book_done(app, replaces, result),
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
        Op::Up => own_mut(app).focus = own(app).focus.saturating_sub(1),
        Op::Down => own_mut(app).focus = (own(app).focus + 1).min(SUBMIT_ROW),
        Op::Edit if own(app).focus == SUBMIT_ROW => return submit(app),
        Op::Edit => match FIELDS[own_mut(app).focus].kind {
            Kind::Text(_) => app.mode = Mode::Editing,
            _ => return cycle(app, true),
        },
        Op::Toggle => return cycle(app, true),
        Op::Submit => return submit(app),
        Op::NewIntake => {
            if own(app).is_dirty() {
                app.mode = Mode::Confirm(crate::tui::state::Confirm::ClearForm);
            } else {
                clear(app);
            }
        }
        Op::BrowseOffline | Op::JoinWaitlist | Op::ScheduleLater => {
            app.info("These choices appear when every matching mechanic is offline.");
        }
        Op::WhyNot => own_mut(app).show_excluded = !own_mut(app).show_excluded,
        _ => {}
    }
    Vec::new()
}

/// The pane's keys in the footer: while the offline card is up its choices come first (and
/// Enter and Space say what they do in the chosen step); the preview's `e` only with a preview.
pub fn key_state(app: &App, op: Op, state: &mut crate::tui::state::KeyState) {
    let stage = own(app).result.as_ref().and_then(|r| r.offline.as_ref());
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
            state.enabled = own(app).preview.is_some() && own(app).result.is_none()
        }
        _ => {}
    }
}

/// Esc on the intake pane: leave a choice of the offline card, then the result itself.
pub fn back(app: &mut App) {
    if let Some(result) = own_mut(app).result.as_mut() {
        match result.offline {
            Some(Offline::Card) | None => {
                own_mut(app).result = None;
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
    own(app)
        .result
        .as_ref()
        .is_some_and(|r| r.offline.is_some())
}

/// The pane comes into view: the form takes typing at once (a field has the focus), unless
/// the offline card waits for a choice, whose keys are letters.
pub fn enter(app: &mut App) {
    if app.pane == me()
        && !card_awaits_choice(app)
        && own(app).focus < SUBMIT_ROW
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
    let first = (own(app).focus + 1)
        .saturating_sub(inner_height)
        .min(rows.saturating_sub(inner_height));
    let i = first + usize::from(y - 1);
    if usize::from(y) > inner_height || i > SUBMIT_ROW {
        return Vec::new();
    }
    own_mut(app).focus = i;
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
    match &own(app).result {
        Some(result) => render_result(app, result, frame, side),
        None => render_preview(app, frame, side),
    }
}
