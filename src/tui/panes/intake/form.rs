//! The intake form: its fields, typing into them, and submitting (SPEC §10).

#[allow(unused_imports)]
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Free text, at most this many characters (the engine's own limit for the field).
    Text(usize),
    Choice(Choices),
    Flag,
}

/// A closed vocabulary of the model, cycled through with ←/→ or Space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choices {
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

pub(super) struct Field {
    /// The engine's name for the field, so its validation errors land here.
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    pub(super) kind: Kind,
}

pub(super) const fn text(key: &'static str, label: &'static str, max: usize) -> Field {
    Field {
        key,
        label,
        kind: Kind::Text(max),
    }
}

// The limits are the engine's (engine/validate.rs): the form never takes what the engine would
// refuse for length, and never refuses what it would take.
pub(super) const FIELDS: &[Field] = &[
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
pub(super) const FORM_WIDTH: u16 = 44;

/// The row after the last field: the submit button.
pub(super) const SUBMIT_ROW: usize = FIELDS.len();

pub(super) fn index_of(key: &str) -> usize {
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
    pub(super) fn request(&self) -> Result<IntakeRequest, (String, String)> {
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

/// Submits the form, or marks every field the engine would refuse, all at once (SPEC §10): the
/// engine's own rules ([`crate::engine::field_problems`]) run on the form before it is sent.
/// Focus goes to the first of them, and stays visibly there.
pub(super) fn submit(app: &mut App) -> Vec<Effect> {
    app.mode = Mode::Normal;
    own_mut(app).errors.clear();
    let problems: Vec<(String, String)> = match own(app).request() {
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
            && !own(app).errors.contains_key(&key)
        {
            own_mut(app).errors.insert(key.clone(), message.clone());
            marked.push((i, key, message));
        }
    }
    if marked.is_empty() {
        let Ok(mut req) = own(app).request() else {
            return Vec::new();
        };
        req.id = Some(app.ids.next_id());
        return vec![Effect::Run(Request {
            from: me(),
            command: Command::Intake(req),
            purpose: Purpose::new(Ask::Submit),
        })];
    }
    marked.sort_by_key(|(i, _, _)| *i);
    let (first, _, message) = &marked[0];
    own_mut(app).focus = *first;
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
pub(super) fn cycle(app: &mut App, forward: bool) -> Vec<Effect> {
    let i = own(app).focus;
    let Some(field) = FIELDS.get(i) else {
        return Vec::new();
    };
    let value = own(app).values[i].value().to_string();
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
    own_mut(app).values[i] = Input::new(next);
    own_mut(app).errors.remove(field.key);
    form_changed(app);
    preview(app)
}

pub fn edit_key(app: &mut App, op: Option<Op>, key: KeyEvent) -> Vec<Effect> {
    let i = own(app).focus;
    match op {
        Some(Op::StopEditing) => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
        Some(Op::Submit) => return submit(app),
        Some(Op::NextField) => {
            own_mut(app).focus = (i + 1).min(SUBMIT_ROW);
            if own(app).focus == SUBMIT_ROW {
                app.mode = Mode::Normal;
            }
            return Vec::new();
        }
        Some(Op::PrevField) => {
            own_mut(app).focus = i.saturating_sub(1);
            return Vec::new();
        }
        Some(Op::Left) => return cycle(app, false),
        Some(Op::Right) => return cycle(app, true),
        Some(Op::ClearField) => {
            if own(app).focus_is_text() {
                own_mut(app).values[i] = Input::default();
                own_mut(app).errors.remove(FIELDS[i].key);
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
pub(super) fn edit(app: &mut App, request: InputRequest) -> Vec<Effect> {
    let i = own(app).focus;
    let Some(Field {
        kind: Kind::Text(max),
        label,
        key,
    }) = FIELDS.get(i)
    else {
        return Vec::new();
    };
    let before = own(app).values[i].clone();
    let changed = own_mut(app).values[i]
        .handle(request)
        .is_some_and(|c| c.value);
    if own(app).values[i].value().chars().count() > *max {
        own_mut(app).values[i] = before;
        app.error(format!("{label} is limited to {max} characters"));
        return Vec::new();
    }
    if !changed {
        return Vec::new();
    }
    own_mut(app).errors.remove(*key);
    form_changed(app);
    preview(app)
}

/// Typing into the form after a submit starts the next customer: the last result gives way to
/// the live preview, unless its offline card still waits for the customer's choice.
pub(super) fn form_changed(app: &mut App) {
    if own_mut(app)
        .result
        .as_ref()
        .is_some_and(|r| r.offline.is_none() || r.follow_up.is_some())
    {
        own_mut(app).result = None;
    }
}

/// A printable key the pane has no use for, typed outside the form (after Esc): it goes into
/// the focused text field, as in any form. The offline card waiting for a choice keeps it.
pub fn type_into_form(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let printable = matches!(key.code, KeyCode::Char(c) if !c.is_control())
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if !printable || !own(app).focus_is_text() {
        return Vec::new();
    }
    if card_awaits_choice(app) {
        app.info("The offline card is open: b, w or s chooses; Esc closes it for the next customer");
        return Vec::new();
    }
    app.mode = Mode::Editing;
    edit_key(app, None, key)
}

/// Pasted text goes into the field being edited at the cursor, as typed text: line breaks and
/// tabs become spaces, other control characters are dropped, and what would pass the field's
/// limit is cut there (and said so).
pub fn paste(app: &mut App, text: &str) -> Vec<Effect> {
    if app.mode != Mode::Editing || !own(app).focus_is_text() {
        return Vec::new();
    }
    let i = own(app).focus;
    let Kind::Text(max) = FIELDS[i].kind else {
        return Vec::new();
    };
    let room = max.saturating_sub(own(app).values[i].value().chars().count());
    let clean: Vec<char> = text
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    for c in clean.iter().take(room) {
        own_mut(app).values[i].handle(InputRequest::InsertChar(*c));
    }
    if clean.len() > room {
        app.error(format!(
            "{} is limited to {max} characters: the paste was cut",
            FIELDS[i].label
        ));
    }
    own_mut(app).errors.remove(FIELDS[i].key);
    form_changed(app);
    preview(app)
}
/// A fresh form and no result.
pub fn clear(app: &mut App) {
    *own_mut(app) = IntakeState::default();
    app.info("New intake");
    enter(app);
}


pub(super) fn render_form(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let editing = app.mode == Mode::Editing;
    let inner_height = area.height.saturating_sub(2) as usize;
    let rows = FIELDS.len() + 1;
    // Keep the focused row visible when the terminal is short.
    let first = (own(app).focus + 1)
        .saturating_sub(inner_height)
        .min(rows.saturating_sub(inner_height));
    let width = area.width.saturating_sub(2) as usize;
    // The focus mark, the error mark, the label: 21 columns before the value.
    const LABEL: usize = 21;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, field) in FIELDS.iter().enumerate().skip(first) {
        let focused = i == own(app).focus;
        let input = &own(app).values[i];
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
        let error = own(app).errors.contains_key(field.key);
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
    let submit_focused = own(app).focus == SUBMIT_ROW;
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

pub(super) fn width_of(s: &str) -> usize {
    crate::text::width(s)
}

/// Every field the last submit found wrong, in form order, the focused one marked.
pub(super) fn error_lines(app: &App, room: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, field) in FIELDS.iter().enumerate() {
        if let Some(message) = own(app).errors.get(field.key) {
            let mark = if i == own(app).focus { "›" } else { " " };
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
