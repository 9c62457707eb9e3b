//! Panes own what they asked for: a command's result goes back to the pane whose request it
//! was, a filter resets only its own pane's selection, and console ids come from the injected
//! generator.

use chrono::TimeZone;
use pitwall::error::DispatchError;
use pitwall::tui::app::{Action, App, Effect, Mode, Pane, Purpose, update};
use pitwall::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn app() -> App {
    let now = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    App::new(now, Theme { color: false })
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

#[test]
fn a_result_goes_to_the_pane_that_asked_and_no_other() {
    let refused = || Err(DispatchError::invalid("concern", "Describe the problem."));

    // The intake pane's submit, answered to another pane: nothing of the form changes.
    let mut other = app();
    let effects = update(
        &mut other,
        Action::Done(Pane::Metrics, Purpose::Submit, refused()),
    );
    assert!(effects.is_empty());
    assert!(other.intake.errors.is_empty());
    assert!(other.toast.is_none());

    // Answered to the intake pane, it marks the field.
    let mut own = app();
    update(
        &mut own,
        Action::Done(Pane::Intake, Purpose::Submit, refused()),
    );
    assert_eq!(
        own.intake.errors.get("concern").map(String::as_str),
        Some("Describe the problem.")
    );

    // A plain action is confirmed by whichever pane asked for it.
    let mut plain = app();
    let effects = update(
        &mut plain,
        Action::Done(Pane::Metrics, Purpose::Act("Done".into()), refused()),
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
    app.queues.selected = 4;
    app.mechanics.selected = 3;
    app.pane = Pane::Mechanics;
    key(&mut app, KeyCode::Char('/'));
    assert_eq!(app.mode, Mode::Filter);
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.mechanics.filter, "x");
    assert_eq!(app.mechanics.selected, 0);
    assert_eq!(
        app.queues.selected, 4,
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
        app.intake.set(field, text);
    }
    app.intake.set("payment_method", "free");
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
