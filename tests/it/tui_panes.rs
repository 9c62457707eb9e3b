//! Panes own what they asked for: a command's result goes back to the pane whose request it
//! was, a filter resets only its own pane's selection, and console ids come from the injected
//! generator.

use chrono::TimeZone;
use pitwall::error::DispatchError;
use pitwall::tui::app::{Action, App, Effect, Mode, Pane, Request, update};
use pitwall::tui::panes;
use pitwall::tui::panes::intake::IntakeState;
use pitwall::tui::panes::mechanics::MechanicsState;
use pitwall::tui::panes::queues::QueuesState;
use pitwall::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn app() -> App {
    let now = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    App::new(now, Theme { color: false })
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// The request the intake pane makes for a complete form submitted with Ctrl-S.
fn submit_request(app: &mut App) -> Request {
    for (field, text) in [
        ("customer.name", "Ada Lovelace"),
        ("customer.email", "ada@example.com"),
        ("concern", "Brakes grinding"),
        ("location.postal_code", "M5V 2T6"),
    ] {
        app.state_mut::<IntakeState>().set(field, text);
    }
    let effects = update(
        app,
        Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
    );
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Run(r) => Some(r),
            _ => None,
        })
        .expect("a complete form is submitted")
}

#[test]
fn a_result_goes_to_the_pane_that_asked_and_no_other() {
    let refused = || Err(DispatchError::invalid("concern", "Describe the problem."));

    // The intake pane's submit, answered to another pane: nothing of the form changes.
    let mut other = app();
    let submit = submit_request(&mut other);
    assert_eq!(submit.from, Pane::Intake);
    let effects = update(
        &mut other,
        Action::Done(Pane::Metrics, submit.purpose.clone(), refused()),
    );
    assert!(effects.is_empty());
    assert!(other.state::<IntakeState>().errors.is_empty());
    assert!(other.toast.is_none());

    // Answered to the intake pane, it marks the field.
    let mut own = app();
    update(
        &mut own,
        Action::Done(Pane::Intake, submit.purpose, refused()),
    );
    assert_eq!(
        own.state::<IntakeState>()
            .errors
            .get("concern")
            .map(String::as_str),
        Some("Describe the problem.")
    );

    // A plain action is confirmed by whichever pane asked for it.
    let mut plain = app();
    let effects = update(
        &mut plain,
        Action::Done(Pane::Metrics, panes::plain("Done"), refused()),
    );
    assert_eq!(effects, vec![Effect::Refresh]);
    assert!(
        plain
            .toast
            .is_some_and(|t| t.text.contains("Describe the problem."))
    );
}

#[test]
fn a_filter_resets_only_its_own_panes_selection() {
    let mut app = app();
    app.mode = Mode::Normal;
    app.state_mut::<QueuesState>().selected = 4;
    app.state_mut::<MechanicsState>().selected = 3;
    app.pane = Pane::Mechanics;
    key(&mut app, KeyCode::Char('/'));
    assert_eq!(app.mode, Mode::Filter);
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.state::<MechanicsState>().filter, "x");
    assert_eq!(app.state::<MechanicsState>().selected, 0);
    assert_eq!(
        app.state::<QueuesState>().selected,
        4,
        "another pane's selection is left alone"
    );
}

#[test]
fn console_session_ids_come_from_the_injected_generator() {
    let mut app = app();
    app.ids = pitwall::ids::Ids::counter("S");
    // A complete form, submitted.
    for (field, text) in [
        ("customer.name", "Ada Lovelace"),
        ("customer.email", "ada@example.com"),
        ("concern", "Brakes grinding"),
        ("location.postal_code", "M5V 2T6"),
    ] {
        app.state_mut::<IntakeState>().set(field, text);
    }
    app.state_mut::<IntakeState>().set("payment_method", "free");
    let effects = update(
        &mut app,
        Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
    );
    let ids: Vec<String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Run(r) => match &r.command {
                pitwall::command::Command::Intake(req) => req.id.clone(),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["S-1"], "{effects:?}");
}
