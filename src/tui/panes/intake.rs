//! The intake pane: the form, the live preview (keywords and top matches while typing), the
//! submit result with countdowns, and the "All mechanics currently offline" card (SPEC §6).

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::command::{
    Command, Customer, IntakeRequest, JoinWaitlist, Location, SessionMechanic, Vehicle,
};
use crate::engine::{BrowseOutcome, IntakeOutcome, MatchView, Outcome};
use crate::error::DispatchError;
use crate::model::{Channel, PaymentMethod, RequestType, Tier};
use crate::text::{fit, fit_end, for_screen, inert, pad};
use crate::tui::app::{App, Effect, Mode, Purpose, Request};
use crate::tui::keymap::Op;
use crate::tui::theme::Tone;
use crate::tui::widgets::{countdown, inner_width, panel, tier_badge};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text(usize),
    Choice(&'static [&'static str]),
    Flag,
}

struct Field {
    /// The engine's name for the field, so its validation errors land here.
    key: &'static str,
    label: &'static str,
    kind: Kind,
}

const FIELDS: &[Field] = &[
    Field {
        key: "customer.name",
        label: "Customer",
        kind: Kind::Text(200),
    },
    Field {
        key: "customer.email",
        label: "Email",
        kind: Kind::Text(254),
    },
    Field {
        key: "customer.phone",
        label: "Phone",
        kind: Kind::Text(32),
    },
    Field {
        key: "location.country",
        label: "Country",
        kind: Kind::Text(60),
    },
    Field {
        key: "location.province",
        label: "Province",
        kind: Kind::Text(60),
    },
    Field {
        key: "location.city",
        label: "City",
        kind: Kind::Text(80),
    },
    Field {
        key: "location.postal_code",
        label: "Postal code",
        kind: Kind::Text(10),
    },
    Field {
        key: "vehicle.year",
        label: "Year",
        kind: Kind::Text(4),
    },
    Field {
        key: "vehicle.make",
        label: "Make",
        kind: Kind::Text(60),
    },
    Field {
        key: "vehicle.model",
        label: "Model",
        kind: Kind::Text(60),
    },
    Field {
        key: "concern",
        label: "Concern",
        kind: Kind::Text(4000),
    },
    Field {
        key: "payment_method",
        label: "Payment",
        kind: Kind::Choice(&["free", "credit", "paid"]),
    },
    Field {
        key: "urgent",
        label: "Urgent",
        kind: Kind::Flag,
    },
    Field {
        key: "request_type",
        label: "Request",
        kind: Kind::Choice(&["general", "brand_specialist"]),
    },
    Field {
        key: "brands",
        label: "Brands",
        kind: Kind::Text(200),
    },
    Field {
        key: "preferred_mechanic",
        label: "Preferred",
        kind: Kind::Text(64),
    },
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

/// The row after the last field: the submit button.
const SUBMIT_ROW: usize = FIELDS.len();

fn index_of(key: &str) -> usize {
    FIELDS
        .iter()
        .position(|f| f.key == key)
        .expect("a known field")
}

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
    Scheduled,
}

#[derive(Debug, Clone)]
pub struct Submitted {
    pub outcome: IntakeOutcome,
    pub offline: Option<Offline>,
    /// Set when the customer picked an offline mechanic or joined the waitlist.
    pub follow_up: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IntakeState {
    values: Vec<String>,
    pub focus: usize,
    pub errors: HashMap<String, String>,
    pub preview: Option<BrowseOutcome>,
    pub result: Option<Submitted>,
    /// The preview lists the mechanics left out, with why, instead of the best matches.
    pub show_excluded: bool,
}

impl Default for IntakeState {
    fn default() -> Self {
        let mut values = vec![String::new(); FIELDS.len()];
        values[index_of("location.country")] = "Canada".into();
        values[index_of("payment_method")] = "free".into();
        values[index_of("urgent")] = "no".into();
        values[index_of("request_type")] = "general".into();
        values[index_of("waiver_signed")] = "yes".into();
        values[index_of("payment_confirmed")] = "yes".into();
        IntakeState {
            values,
            focus: 0,
            errors: HashMap::new(),
            preview: None,
            result: None,
            show_excluded: false,
        }
    }
}

impl IntakeState {
    /// Sets a field by its engine name (used by tests and by the picker of preferred mechanics).
    pub fn set(&mut self, key: &str, value: &str) {
        self.values[index_of(key)] = value.to_string();
    }

    pub fn get(&self, key: &str) -> &str {
        &self.values[index_of(key)]
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
        })
    }
}

fn preview(app: &App) -> Vec<Effect> {
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

fn submit(app: &mut App) -> Vec<Effect> {
    app.mode = Mode::Normal;
    app.intake.errors.clear();
    match app.intake.request() {
        Ok(mut req) => {
            req.id = Some(session_id());
            vec![Effect::Run(Request {
                command: Command::Intake(req),
                purpose: Purpose::Submit,
            })]
        }
        Err((field, message)) => {
            app.intake.focus = index_of(&field);
            app.error(message.clone());
            app.intake.errors.insert(field, message);
            Vec::new()
        }
    }
}

/// Choice and flag fields move through their values.
fn cycle(app: &mut App, forward: bool) -> Vec<Effect> {
    let i = app.intake.focus;
    let Some(field) = FIELDS.get(i) else {
        return Vec::new();
    };
    let value = &mut app.intake.values[i];
    match field.kind {
        Kind::Flag => {
            *value = if value == "yes" {
                "no".into()
            } else {
                "yes".into()
            }
        }
        Kind::Choice(options) => {
            let at = options.iter().position(|o| o == value).unwrap_or(0);
            let next = if forward {
                (at + 1) % options.len()
            } else {
                (at + options.len() - 1) % options.len()
            };
            *value = options[next].to_string();
        }
        Kind::Text(_) => return Vec::new(),
    }
    app.intake.errors.remove(field.key);
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
            if app.intake.values != IntakeState::default().values {
                app.mode = Mode::Confirm(crate::tui::app::Confirm::ClearForm);
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
            result.offline = Some(Offline::Scheduled);
            Vec::new()
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
        (Offline::Browse { .. } | Offline::Card | Offline::Scheduled, Op::Toggle) => Vec::new(),
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

/// Esc on the intake pane: leave a choice of the offline card, then the result itself.
pub fn back(app: &mut App) {
    if let Some(result) = app.intake.result.as_mut() {
        match result.offline {
            Some(Offline::Card) | None => app.intake.result = None,
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
            if matches!(FIELDS.get(i).map(|f| f.kind), Some(Kind::Text(_))) {
                app.intake.values[i].clear();
                return preview(app);
            }
            return Vec::new();
        }
        _ => {}
    }
    let Some(field) = FIELDS.get(i) else {
        return Vec::new();
    };
    let value = &mut app.intake.values[i];
    match (field.kind, key.code) {
        (Kind::Text(_), KeyCode::Backspace) => {
            value.pop();
        }
        (Kind::Text(max), KeyCode::Char(c)) if !c.is_control() => {
            if value.chars().count() >= max {
                app.error(format!("{} is limited to {max} characters", field.label));
                return Vec::new();
            }
            value.push(c);
        }
        (Kind::Choice(_) | Kind::Flag, KeyCode::Char(' ')) => return cycle(app, true),
        _ => return Vec::new(),
    }
    app.intake.errors.remove(field.key);
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
            // The form starts over (a second ^S must not file the same customer twice); the
            // result card keeps what was submitted.
            let preview = app.intake.preview.take();
            app.intake = IntakeState {
                preview,
                ..IntakeState::default()
            };
            app.intake.result = Some(Submitted {
                offline: outcome.all_offline.then_some(Offline::Card),
                outcome: *outcome,
                follow_up: None,
            });
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
        Layout::horizontal([Constraint::Length(44), Constraint::Min(30)]).areas(area);
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
    let mut lines = Vec::new();
    for (i, field) in FIELDS.iter().enumerate().skip(first) {
        let focused = i == app.intake.focus;
        let value = &app.intake.values[i];
        let shown = match field.kind {
            Kind::Choice(_) => format!("‹ {} ›", fit(value, width.saturating_sub(24))),
            Kind::Flag => {
                if value.as_str() == "yes" {
                    "[x] yes".into()
                } else {
                    "[ ] no".into()
                }
            }
            Kind::Text(_) => {
                // The label takes 20 columns, the cursor one.
                let room = width.saturating_sub(21);
                // While typing, show the end of a long value; otherwise its start.
                if focused && editing {
                    format!("{}▏", fit_end(value, room))
                } else {
                    fit(value, room).into_owned()
                }
            }
        };
        let error = app.intake.errors.contains_key(field.key);
        let marker = if error {
            "✗"
        } else if focused {
            "›"
        } else {
            " "
        };
        let label_tone = if error {
            Tone::Error
        } else if focused {
            Tone::Title
        } else {
            Tone::Dim
        };
        let value_tone = if focused && editing {
            Tone::Selected
        } else {
            Tone::Normal
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{marker} {:<17} ", field.label),
                t.style(label_tone),
            ),
            Span::styled(shown, t.style(value_tone)),
        ]));
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
}

fn field_error(app: &App) -> Option<Line<'static>> {
    let field = FIELDS.get(app.intake.focus)?;
    let message = app.intake.errors.get(field.key)?;
    Some(Line::from(Span::styled(
        format!("✗ {}: {}", field.label, for_screen(message)),
        app.theme.style(Tone::Error),
    )))
}

fn render_preview(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(error) = field_error(app) {
        lines.push(error);
        lines.push(Line::default());
    }
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
                    format!("{} eligible mechanics{state}", p.total_matches),
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

fn render_result(app: &App, result: &Submitted, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let o = &result.outcome;
    let mut lines = vec![Line::from(vec![
        Span::styled("Session ", t.style(Tone::Dim)),
        Span::styled(fit(&o.session.id, 24).into_owned(), t.style(Tone::Title)),
        Span::styled(format!("  {}", o.session.status), t.style(Tone::Info)),
    ])];
    if let Some(note) = &result.follow_up {
        lines.push(Line::from(Span::styled(
            format!("✓ {}", fit(note, inner_width(area).saturating_sub(2))),
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
    match &result.offline {
        Some(stage) => offline_lines(app, o, stage, inner_width(area), &mut lines),
        None => {
            if o.targeted.is_empty() {
                lines.push(Line::from(Span::styled(
                    "No targeted offers.",
                    t.style(Tone::Warn),
                )));
            } else if o.session.status == crate::model::SessionStatus::Pending {
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
            for offer in &o.targeted {
                let name = o
                    .matches
                    .iter()
                    .find(|m| m.mechanic == offer.mechanic)
                    .map_or(offer.mechanic.clone(), |m| m.name.clone());
                let room = (area.width as usize)
                    .saturating_sub(2 + 6 + 6 + 9)
                    .clamp(8, 24);
                let mut spans = vec![
                    tier_badge(t, Tier::of_score(offer.score)),
                    Span::raw(format!(" {:>3}  {} ", offer.score, pad(&name, room))),
                ];
                match offer
                    .expires_at
                    .as_deref()
                    .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                {
                    Some(expires) => {
                        spans.push(countdown(t, expires.with_timezone(&chrono::Utc), app.now))
                    }
                    None => spans.push(Span::styled(
                        "held until the waiver/payment clears",
                        t.style(Tone::Dim),
                    )),
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::default());
            let b = &o.broadcast;
            lines.push(Line::from(vec![
                tier_badge(t, Tier::Broadcast),
                Span::raw(format!(" broadcast ({})", b.reason.replace('_', " "))),
            ]));
            if let Some(from) = b
                .active_from
                .as_deref()
                .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            {
                let from = from.with_timezone(&chrono::Utc);
                if from > app.now {
                    lines.push(Line::from(vec![
                        Span::raw("  opens in "),
                        countdown(t, from, app.now),
                    ]));
                } else {
                    lines.push(Line::from(Span::styled(
                        "  open to every mechanic on shift",
                        t.style(Tone::Good),
                    )));
                }
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                "Follow it in Queues (2) · n for a new intake",
                t.style(Tone::Dim),
            )));
        }
    }
    let block = panel(t, " Result ");
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
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
    room: usize,
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
        *stage == Offline::Scheduled,
    ));
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
        Offline::Scheduled => {
            lines.push(Line::from(Span::styled(
                "Scheduling is not available yet. Join the waitlist or pick a mechanic instead.",
                t.style(Tone::Warn),
            )));
        }
    }
}
