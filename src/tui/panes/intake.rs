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
};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Free text, at most this many characters (the engine's own limit for the field).
    Text(usize),
    Choice(Choices),
    Flag,
}

/// A closed vocabulary of the model, cycled through with ←/→ or Space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choices {
    Payment,
    Request,
}

impl Choices {
    fn options(self) -> Vec<&'static str> {
        match self {
            Choices::Payment => PaymentMethod::ALL.iter().map(|p| p.as_str()).collect(),
            Choices::Request => RequestType::ALL.iter().map(|r| r.as_str()).collect(),
        }
    }
}

struct Field {
    /// The engine's name for the field, so its validation errors land here.
    key: &'static str,
    label: &'static str,
    kind: Kind,
}

const fn text(key: &'static str, label: &'static str, max: usize) -> Field {
    Field {
        key,
        label,
        kind: Kind::Text(max),
    }
}

// The limits are the engine's (engine/validate.rs): the form never takes what the engine would
// refuse for length, and never refuses what it would take.
const FIELDS: &[Field] = &[
    text("customer.name", "Customer", validate::MAX_NAME),
    text("customer.email", "Email", validate::MAX_EMAIL),
    text("customer.phone", "Phone", validate::MAX_PHONE),
    text("location.country", "Country", validate::MAX_SHORT_TEXT),
    text("location.province", "Province", validate::MAX_SHORT_TEXT),
    text("location.city", "City", validate::MAX_SHORT_TEXT),
    text(
        "location.postal_code",
        "Postal code",
        validate::MAX_SHORT_TEXT,
    ),
    // A year is four digits; the engine checks the range.
    text("vehicle.year", "Year", 4),
    text("vehicle.make", "Make", validate::MAX_SHORT_TEXT),
    text("vehicle.model", "Model", validate::MAX_SHORT_TEXT),
    text("concern", "Concern", validate::MAX_CONCERN),
    Field {
        key: "payment_method",
        label: "Payment",
        kind: Kind::Choice(Choices::Payment),
    },
    Field {
        key: "urgent",
        label: "Urgent",
        kind: Kind::Flag,
    },
    Field {
        key: "request_type",
        label: "Request",
        kind: Kind::Choice(Choices::Request),
    },
    // Comma-separated: as many entries as the engine takes, each as long as it takes.
    text(
        "brands",
        "Brands",
        validate::MAX_LIST_ITEMS * (validate::MAX_SHORT_TEXT + 2),
    ),
    text("preferred_mechanic", "Preferred", validate::MAX_ID),
    Field {
        key: "waiver_signed",
        label: "Waiver signed",
        kind: Kind::Flag,
    },
    Field {
        key: "payment_confirmed",
        label: "Payment confirmed",
        kind: Kind::Flag,
    },
];

/// Columns of the form at the left of the pane.
const FORM_WIDTH: u16 = 44;

/// The row after the last field: the submit button.
const SUBMIT_ROW: usize = FIELDS.len();

fn index_of(key: &str) -> usize {
    FIELDS
        .iter()
        .position(|f| f.key == key)
        .expect("a known field")
}

impl Default for IntakeState {
    fn default() -> Self {
        let mut state = IntakeState {
            values: vec![Input::default(); FIELDS.len()],
            focus: 0,
            errors: HashMap::new(),
            preview: None,
            result: None,
            show_excluded: false,
        };
        state.set("location.country", "Canada");
        state.set("payment_method", PaymentMethod::Free.as_str());
        state.set("urgent", "no");
        state.set("request_type", RequestType::General.as_str());
        state.set("waiver_signed", "yes");
        state.set("payment_confirmed", "yes");
        state
    }
}

impl IntakeState {
    /// Sets a field by its engine name (used by tests and by the picker of preferred mechanics).
    pub fn set(&mut self, key: &str, value: &str) {
        self.values[index_of(key)] = Input::new(value.to_string());
    }

    pub fn get(&self, key: &str) -> &str {
        self.values[index_of(key)].value()
    }

    /// Where the cursor stands in a field, in characters from its start.
    pub fn cursor(&self, key: &str) -> usize {
        self.values[index_of(key)].cursor()
    }

    /// Whether the form holds anything a dispatcher typed or chose (quitting would lose it).
    pub fn is_dirty(&self) -> bool {
        let blank = IntakeState::default();
        self.values
            .iter()
            .zip(&blank.values)
            .any(|(a, b)| a.value() != b.value())
    }

    /// Whether the field in focus is free text (its keys move a cursor, not a choice).
    pub fn focus_is_text(&self) -> bool {
        matches!(FIELDS.get(self.focus).map(|f| f.kind), Some(Kind::Text(_)))
    }

    fn text(&self, key: &str) -> Option<String> {
        let v = self.get(key).trim();
        (!v.is_empty()).then(|| v.to_string())
    }

    /// The form as the command the engine takes. A year that is not a number is caught here,
    /// with the same kind of message the engine gives.
    fn request(&self) -> Result<IntakeRequest, (String, String)> {
        let year = match self.text("vehicle.year") {
            None => None,
            Some(y) => Some(y.parse::<i64>().map_err(|_| {
                (
                    "vehicle.year".to_string(),
                    "The year must be a number such as 2019.".to_string(),
                )
            })?),
        };
        Ok(IntakeRequest {
            id: None,
            customer: Customer {
                name: self.get("customer.name").to_string(),
                email: self.text("customer.email"),
                phone: self.text("customer.phone"),
            },
            location: Location {
                country: self.text("location.country"),
                province: self.text("location.province"),
                city: self.text("location.city"),
                postal_code: self.text("location.postal_code"),
            },
            vehicle: Vehicle {
                year,
                make: self.text("vehicle.make"),
                model: self.text("vehicle.model"),
                vin: None,
            },
            concern: self.get("concern").to_string(),
            payment_method: PaymentMethod::parse(self.get("payment_method")),
            urgent: self.get("urgent") == "yes",
            request_type: RequestType::parse(self.get("request_type")).unwrap_or_default(),
            brands: self
                .get("brands")
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(String::from)
                .collect(),
            preferred_mechanic: self.text("preferred_mechanic"),
            prefer_local: true,
            waiver_signed: self.get("waiver_signed") == "yes",
            payment_confirmed: self.get("payment_confirmed") == "yes",
            scheduled_for: None,
        })
    }
}

/// The live preview runs once there is something to match on: a concern, a place, a vehicle
/// or brands. A name alone (with the default country) would rank the whole roster on nothing.
fn preview(app: &mut App) -> Vec<Effect> {
    let something = [
        "concern",
        "location.province",
        "location.city",
        "location.postal_code",
        "vehicle.make",
        "brands",
    ]
    .iter()
    .any(|k| !app.intake.get(k).trim().is_empty());
    if !something {
        app.intake.preview = None;
        return Vec::new();
    }
    match app.intake.request() {
        Ok(req) => vec![Effect::Run(Request {
            command: Command::Browse(req),
            purpose: Purpose::Preview,
        })],
        Err(_) => Vec::new(),
    }
}

/// Sessions taken at the console get short ids a dispatcher can read out on the phone
/// (`S-7F3A9C`); should one ever collide, the engine refuses it and the next try draws another.
fn session_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("S-{}", &hex[..6])
}

/// Submits the form, or marks every field the engine would refuse, all at once (SPEC §10): the
/// engine's own rules ([`crate::engine::field_problems`]) run on the form before it is sent.
/// Focus goes to the first of them, and stays visibly there.
fn submit(app: &mut App) -> Vec<Effect> {
    app.mode = Mode::Normal;
    app.intake.errors.clear();
    let problems: Vec<(String, String)> = match app.intake.request() {
        Ok(req) => crate::engine::field_problems(&req, app.now)
            .into_iter()
            .map(|e| (e.field.unwrap_or_default(), e.message))
            .collect(),
        Err(problem) => vec![problem],
    };
    let mut marked: Vec<(usize, String, String)> = Vec::new();
    for (field, message) in problems {
        let key = if field.starts_with("brands") {
            "brands".to_string()
        } else {
            field
        };
        if let Some(i) = FIELDS.iter().position(|f| f.key == key)
            && !app.intake.errors.contains_key(&key)
        {
            app.intake.errors.insert(key.clone(), message.clone());
            marked.push((i, key, message));
        }
    }
    if marked.is_empty() {
        let Ok(mut req) = app.intake.request() else {
            return Vec::new();
        };
        req.id = Some(session_id());
        return vec![Effect::Run(Request {
            command: Command::Intake(req),
            purpose: Purpose::Submit,
        })];
    }
    marked.sort_by_key(|(i, _, _)| *i);
    let (first, _, message) = &marked[0];
    app.intake.focus = *first;
    // Typing goes straight into the field being fixed.
    app.mode = Mode::Editing;
    let n = marked.len();
    app.error(if n == 1 {
        format!("Not submitted: {message}")
    } else {
        format!("Not submitted: {n} fields need fixing (marked ✗). {message}")
    });
    Vec::new()
}

/// Choice and flag fields move through their values.
fn cycle(app: &mut App, forward: bool) -> Vec<Effect> {
    let i = app.intake.focus;
    let Some(field) = FIELDS.get(i) else {
        return Vec::new();
    };
    let value = app.intake.values[i].value().to_string();
    let next = match field.kind {
        Kind::Flag => if value == "yes" { "no" } else { "yes" }.to_string(),
        Kind::Choice(choices) => {
            let options = choices.options();
            let at = options.iter().position(|o| *o == value).unwrap_or(0);
            let next = if forward {
                (at + 1) % options.len()
            } else {
                (at + options.len() - 1) % options.len()
            };
            options[next].to_string()
        }
        Kind::Text(_) => return Vec::new(),
    };
    app.intake.values[i] = Input::new(next);
    app.intake.errors.remove(field.key);
    form_changed(app);
    preview(app)
}

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

/// Keys of the offline card and its three choices; `None` when the card is not showing.
fn offline_op(app: &mut App, op: Op) -> Option<Vec<Effect>> {
    let result = app.intake.result.as_mut()?;
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
                    command: Command::Slots(SlotsRequest {
                        intake,
                        from: None,
                        days: None,
                    }),
                    purpose: Purpose::Slots,
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
                    req.id = Some(session_id());
                    req.scheduled_for = Some(slot.start.clone());
                    vec![Effect::Run(Request {
                        command: Command::Intake(req),
                        purpose: Purpose::Book { replaces: session },
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
                command: Command::SetPreferred(SessionMechanic {
                    session,
                    mechanic: m.mechanic.clone(),
                }),
                purpose: Purpose::OfflineChoice(format!(
                    "Preferred mechanic set: {} gets this session on clock-in",
                    inert(&m.name)
                )),
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
                command: Command::JoinWaitlist(JoinWaitlist {
                    id: None,
                    session: Some(session),
                    customer: None,
                    notify_via: Some(via),
                }),
                purpose: Purpose::OfflineChoice(
                    "Joined the waitlist: notified when a mechanic clocks in".into(),
                ),
            })]
        }
        _ => return None,
    };
    Some(effects)
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

pub fn edit_key(app: &mut App, op: Option<Op>, key: KeyEvent) -> Vec<Effect> {
    let i = app.intake.focus;
    match op {
        Some(Op::StopEditing) => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        Some(Op::Submit) => return submit(app),
        Some(Op::NextField) => {
            app.intake.focus = (i + 1).min(SUBMIT_ROW);
            if app.intake.focus == SUBMIT_ROW {
                app.mode = Mode::Normal;
            }
            return Vec::new();
        }
        Some(Op::PrevField) => {
            app.intake.focus = i.saturating_sub(1);
            return Vec::new();
        }
        Some(Op::Left) => return cycle(app, false),
        Some(Op::Right) => return cycle(app, true),
        Some(Op::ClearField) => {
            if app.intake.focus_is_text() {
                app.intake.values[i] = Input::default();
                app.intake.errors.remove(FIELDS[i].key);
                form_changed(app);
                return preview(app);
            }
            return Vec::new();
        }
        _ => {}
    }
    let Some(field) = FIELDS.get(i) else {
        return Vec::new();
    };
    match field.kind {
        Kind::Text(_) => match to_input_request(&Event::Key(key)) {
            Some(InputRequest::InsertChar(c)) if c.is_control() => Vec::new(),
            Some(request) => edit(app, request),
            None => Vec::new(),
        },
        Kind::Choice(_) | Kind::Flag if key.code == KeyCode::Char(' ') => cycle(app, true),
        _ => Vec::new(),
    }
}

/// One editing step on the focused text field (tui-input does the cursor work), refused when it
/// would take the field past the engine's limit.
fn edit(app: &mut App, request: InputRequest) -> Vec<Effect> {
    let i = app.intake.focus;
    let Some(Field {
        kind: Kind::Text(max),
        label,
        key,
    }) = FIELDS.get(i)
    else {
        return Vec::new();
    };
    let before = app.intake.values[i].clone();
    let changed = app.intake.values[i]
        .handle(request)
        .is_some_and(|c| c.value);
    if app.intake.values[i].value().chars().count() > *max {
        app.intake.values[i] = before;
        app.error(format!("{label} is limited to {max} characters"));
        return Vec::new();
    }
    if !changed {
        return Vec::new();
    }
    app.intake.errors.remove(*key);
    form_changed(app);
    preview(app)
}

/// Typing into the form after a submit starts the next customer: the last result gives way to
/// the live preview, unless its offline card still waits for the customer's choice.
fn form_changed(app: &mut App) {
    if app
        .intake
        .result
        .as_ref()
        .is_some_and(|r| r.offline.is_none() || r.follow_up.is_some())
    {
        app.intake.result = None;
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

/// A printable key the pane has no use for, typed outside the form (after Esc): it goes into
/// the focused text field, as in any form. The offline card waiting for a choice keeps it.
pub fn type_into_form(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let printable = matches!(key.code, KeyCode::Char(c) if !c.is_control())
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if !printable || !app.intake.focus_is_text() {
        return Vec::new();
    }
    if card_awaits_choice(app) {
        app.info("The offline card is open: b, w or s chooses; Esc closes it for the next customer");
        return Vec::new();
    }
    app.mode = Mode::Editing;
    edit_key(app, None, key)
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

/// Pasted text goes into the field being edited at the cursor, as typed text: line breaks and
/// tabs become spaces, other control characters are dropped, and what would pass the field's
/// limit is cut there (and said so).
pub fn paste(app: &mut App, text: &str) -> Vec<Effect> {
    if app.mode != Mode::Editing || !app.intake.focus_is_text() {
        return Vec::new();
    }
    let i = app.intake.focus;
    let Kind::Text(max) = FIELDS[i].kind else {
        return Vec::new();
    };
    let room = max.saturating_sub(app.intake.values[i].value().chars().count());
    let clean: Vec<char> = text
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    for c in clean.iter().take(room) {
        app.intake.values[i].handle(InputRequest::InsertChar(*c));
    }
    if clean.len() > room {
        app.error(format!(
            "{} is limited to {max} characters: the paste was cut",
            FIELDS[i].label
        ));
    }
    app.intake.errors.remove(FIELDS[i].key);
    form_changed(app);
    preview(app)
}

pub fn preview_done(app: &mut App, result: Result<Outcome, DispatchError>) {
    if let Ok(Outcome::Browse(b)) = result {
        app.intake.preview = Some(b);
    }
}

pub fn submit_done(app: &mut App, result: Result<Outcome, DispatchError>) -> Vec<Effect> {
    match result {
        Ok(Outcome::Intake(outcome)) => {
            app.info(format!("Session {} created", inert(&outcome.session.id)));
            app.own_sessions.insert(outcome.session.id.clone());
            // Queues opens on the session just made: its keys act on this customer.
            app.queues.follow = Some(outcome.session.id.clone());
            app.queues.focus = crate::tui::panes::queues::Focus::Sessions;
            // The form starts over (a second ^S must not file the same customer twice); the
            // result card keeps what was submitted.
            let request = app.intake.request().ok();
            let preview = app.intake.preview.take();
            app.intake = IntakeState {
                preview,
                ..IntakeState::default()
            };
            app.intake.result = Some(Submitted {
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
                    app.intake.focus = i;
                    app.intake
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

/// A fresh form and no result.
pub fn clear(app: &mut App) {
    app.intake = IntakeState::default();
    app.info("New intake");
    enter(app);
}

/// A choice made on the offline card is noted on the card, which goes back to its menu.
pub fn offline_choice_done(app: &mut App, note: &str) {
    if let Some(result) = app.intake.result.as_mut() {
        result.follow_up = Some(note.to_string());
        result.offline = Some(Offline::Card);
    }
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

fn render_form(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let editing = app.mode == Mode::Editing;
    let inner_height = area.height.saturating_sub(2) as usize;
    let rows = FIELDS.len() + 1;
    // Keep the focused row visible when the terminal is short.
    let first = (app.intake.focus + 1)
        .saturating_sub(inner_height)
        .min(rows.saturating_sub(inner_height));
    let width = area.width.saturating_sub(2) as usize;
    // The focus mark, the error mark, the label: 21 columns before the value.
    const LABEL: usize = 21;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, field) in FIELDS.iter().enumerate().skip(first) {
        let focused = i == app.intake.focus;
        let input = &app.intake.values[i];
        let value = input.value();
        let room = width.saturating_sub(LABEL);
        let shown: Vec<Span<'static>> = match field.kind {
            Kind::Choice(_) => vec![Span::raw(format!(
                "‹ {} ›",
                fit(value, room.saturating_sub(4))
            ))],
            Kind::Flag => vec![Span::raw(if value == "yes" { "[x] yes" } else { "[ ] no" })],
            Kind::Text(_) if focused && editing => {
                // Text before the cursor (its end kept in view), the cursor cell, and what
                // follows as far as it fits: each part made safe for the screen on its own.
                let at = value
                    .char_indices()
                    .nth(input.cursor())
                    .map_or(value.len(), |(b, _)| b);
                let (before, after) = value.split_at(at);
                let mut rest = after.chars();
                let under = rest.next().map(String::from).unwrap_or_default();
                let before = fit_end(before, room.saturating_sub(2)).into_owned();
                let under = match fit(&under, 2).into_owned() {
                    u if u.is_empty() || u == "…" => " ".to_string(),
                    u => u,
                };
                let used = width_of(&before) + width_of(&under);
                cursor = Some((width_of(&before), lines.len()));
                vec![
                    Span::raw(before),
                    Span::styled(under, t.style(Tone::Selected)),
                    Span::raw(fit(rest.as_str(), room.saturating_sub(used)).into_owned()),
                ]
            }
            Kind::Text(_) => vec![Span::raw(fit(value, room).into_owned())],
        };
        let error = app.intake.errors.contains_key(field.key);
        // Focus and error each have their own mark, so a field with an error still shows
        // that it is the one being fixed.
        let marker = format!(
            "{}{}",
            if focused { "›" } else { " " },
            if error { "✗" } else { " " }
        );
        let label_tone = if error {
            Tone::Error
        } else if focused {
            Tone::Title
        } else {
            Tone::Dim
        };
        let mut spans = vec![Span::styled(
            format!("{marker} {:<17} ", field.label),
            t.style(label_tone),
        )];
        spans.extend(shown);
        let line = Line::from(spans);
        lines.push(if focused && !editing {
            line.style(t.style(Tone::Title))
        } else {
            line
        });
    }
    let submit_focused = app.intake.focus == SUBMIT_ROW;
    lines.push(Line::from(Span::styled(
        format!(
            "{} [ Submit intake  ^S ]",
            if submit_focused { "›" } else { " " }
        ),
        t.style(if submit_focused {
            Tone::Selected
        } else {
            Tone::Key
        }),
    )));
    let title = if editing {
        " Intake · editing "
    } else {
        " Intake "
    };
    let block = panel(t, title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
    // The terminal's own cursor stands on the cursor cell too.
    if let Some((column, row)) = cursor {
        let x = area.x + 1 + (LABEL + column) as u16;
        let y = area.y + 1 + row as u16;
        if x < area.right() && y < area.bottom() {
            frame.set_cursor_position((x, y));
        }
    }
}

fn width_of(s: &str) -> usize {
    crate::text::width(s)
}

/// Every field the last submit found wrong, in form order, the focused one marked.
fn error_lines(app: &App, room: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, field) in FIELDS.iter().enumerate() {
        if let Some(message) = app.intake.errors.get(field.key) {
            let mark = if i == app.intake.focus { "›" } else { " " };
            lines.push(Line::from(Span::styled(
                fit(&format!("{mark}✗ {}: {}", field.label, message), room).into_owned(),
                app.theme.style(Tone::Error),
            )));
        }
    }
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    lines
}

fn render_preview(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut lines = error_lines(app, inner_width(area));
    match &app.intake.preview {
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
            if app.intake.show_excluded {
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
fn match_line(app: &App, m: &MatchView, room: usize) -> Line<'static> {
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

/// The session behind the result card as it is now: its row in the live lists, else its record
/// read once it left them, else what the intake answered (before the first snapshot).
struct Following<'a> {
    status: SessionStatus,
    session: Option<&'a crate::model::Session>,
    assignments: &'a [Assignment],
}

fn following<'a>(app: &'a App, result: &'a Submitted) -> Following<'a> {
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
    let Some(result) = app.intake.result.as_ref() else {
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
        && let Some(result) = app.intake.result.as_mut()
        && result.offline.take().is_some()
        && app.mode == Mode::Normal
    {
        // The card's letters no longer mean anything: the form takes the keys again.
        enter(app);
    }
    if read_again {
        return vec![Effect::Run(Request {
            command: Command::Session(crate::command::IdRef { id }),
            purpose: Purpose::Follow,
        })];
    }
    Vec::new()
}

/// The card's session read again after it left the live lists.
pub fn follow_done(app: &mut App, result: Result<Outcome, DispatchError>) {
    if let Ok(Outcome::Session(found)) = result
        && let Some(card) = app.intake.result.as_mut()
        && card.outcome.session.id == found.session.session.id
    {
        card.ended = Some(found.session);
    }
}

fn render_result(app: &App, result: &Submitted, frame: &mut Frame<'_>, area: Rect) {
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
fn matched_lines(app: &App, now: &Following<'_>, lines: &mut Vec<Line<'static>>) {
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
fn booked_lines(app: &App, result: &Submitted, room: usize, lines: &mut Vec<Line<'static>>) {
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
fn customer_zone(request: Option<&IntakeRequest>) -> Option<chrono_tz::Tz> {
    let l = &request?.location;
    crate::zone::of_place(
        l.country.as_deref(),
        l.province.as_deref(),
        l.city.as_deref(),
    )
}

/// The session's offers as they stand now: countdowns while live, then how each ended.
fn offer_lines(
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
fn profile_lines(app: &App, m: &MatchView, room: usize) -> Vec<Line<'static>> {
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

fn offline_lines(
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
fn schedule_lines(
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
            if let Some(result) = app.intake.result.as_mut()
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
            if let Some(card) = app.intake.result.as_mut() {
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
            app.queues.follow = Some(id.clone());
            enter(app);
            vec![Effect::Run(Request {
                command: Command::Cancel(crate::command::SessionRef {
                    session: replaces.clone(),
                }),
                purpose: Purpose::Act(format!(
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
