//! The console's text fields, submit errors, list selection and quitting, as a dispatcher meets
//! them (SPEC §10 "What a dispatcher expects"): driven through `update` with real keys.

use crate::console;
use pitwall::tui::panes::intake::IntakeState;
use pitwall::tui::panes::mechanics::MechanicsState;
use pitwall::tui::panes::queues::QueuesState;

use console::Console;
use pitwall::tui::app::{Action, Confirm, Effect, Mode, update};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn press(c: &mut Console, code: KeyCode) {
    c.press(code, KeyModifiers::NONE);
}

/// Starts editing the Customer field of a fresh form (the form takes typing as the pane
/// shows; after Esc, Enter edits the focused field).
fn edit_name(c: &mut Console) {
    c.pane(1);
    while c.app.state::<IntakeState>().focus > 0 {
        press(c, KeyCode::Up);
    }
    if c.app.mode != Mode::Editing {
        c.enter();
    }
}

#[test]
fn a_text_field_edits_at_its_cursor() {
    let mut c = Console::demo();
    edit_name(&mut c);
    c.type_text("Jonh Smith");
    // Home, two to the right, Delete: the stray n goes; one more right, and n lands after h.
    press(&mut c, KeyCode::Home);
    press(&mut c, KeyCode::Right);
    press(&mut c, KeyCode::Right);
    press(&mut c, KeyCode::Delete);
    press(&mut c, KeyCode::Right);
    c.key('n');
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "John Smith"
    );
    assert_eq!(c.app.state::<IntakeState>().cursor("customer.name"), 4);
    // End, a word back (Ctrl-←), Backspace at the cursor takes the space.
    press(&mut c, KeyCode::End);
    c.press(KeyCode::Left, KeyModifiers::CONTROL);
    assert_eq!(c.app.state::<IntakeState>().cursor("customer.name"), 5);
    press(&mut c, KeyCode::Backspace);
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "JohnSmith"
    );
    c.key(' ');
    press(&mut c, KeyCode::Left);
    press(&mut c, KeyCode::Left);
    c.press(KeyCode::Right, KeyModifiers::CONTROL);
    assert_eq!(
        c.app.state::<IntakeState>().cursor("customer.name"),
        5,
        "the start of the next word"
    );
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "John Smith"
    );
}

#[test]
fn the_cursor_is_visible_and_the_footer_shows_the_editing_keys() {
    let mut c = Console::demo();
    edit_name(&mut c);
    c.type_text("Ava Chen");
    press(&mut c, KeyCode::Home);
    // Border, 21 columns of marks and label: the value starts at column 22, row 2.
    c.terminal(120, 40)
        .backend_mut()
        .assert_cursor_position((22, 2));
    press(&mut c, KeyCode::End);
    c.terminal(120, 40)
        .backend_mut()
        .assert_cursor_position((30, 2));
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = c.screen(w, h);
        let footer = screen.lines().nth(usize::from(h) - 1).unwrap();
        // The way out of the form and to the other panes comes first; the cursor keys
        // where there is room (`?` lists them all).
        assert!(footer.contains("Esc leave form"), "{footer}");
        assert!(footer.contains("Alt-1…6 pane"), "{footer}");
        assert!(w < 120 || footer.contains("←/→ move"), "{footer}");
        assert!(!footer.contains("previous choice"), "{footer}");
        assert!(screen.contains("Intake · editing"), "{screen}");
    }
    // On a choice field the same keys choose.
    for _ in 0..11 {
        c.enter();
    }
    assert!(c.screen(120, 40).contains("← previous choice"));
    press(&mut c, KeyCode::Right);
    assert_eq!(c.app.state::<IntakeState>().get("payment_method"), "credit");
}

#[test]
fn paste_lands_at_the_cursor_as_one_line() {
    let mut c = Console::demo();
    edit_name(&mut c);
    c.type_text("Chen");
    press(&mut c, KeyCode::Home);
    c.send(Action::Paste("Ava\n\u{1b}[31m ".into()));
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "Ava [31m Chen"
    );
    // A paste past the field's limit is cut there, and says so.
    c.ctrl('u');
    c.send(Action::Paste("x".repeat(500)));
    assert_eq!(
        c.app
            .state::<IntakeState>()
            .get("customer.name")
            .chars()
            .count(),
        200
    );
    assert!(c.screen(120, 40).contains("limited to 200"));
}

#[test]
fn a_failed_submit_marks_every_invalid_field_at_once_and_keeps_focus_visible() {
    let mut c = Console::demo();
    c.fill_intake(&[
        ("Ava", true),
        ("ava@", true),
        ("", true),
        ("", true),
        ("", true),
        ("", true),
        ("123", false),
    ]);
    c.ctrl('s');
    assert!(c.sessions().is_empty());
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = c.screen(w, h);
        // The focus mark stands beside the error mark on the first field to fix.
        assert!(screen.contains("›✗ Email"), "{screen}");
        assert!(screen.contains(" ✗ Postal code"), "{screen}");
        assert!(screen.contains(" ✗ Concern"), "{screen}");
        assert!(screen.contains("3 fields need fixing"), "{screen}");
    }
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("›✗ Email: The email address must look like"),
        "{screen}"
    );
    assert!(
        screen.contains(" ✗ Concern: The concern is required."),
        "{screen}"
    );
    // Fixing one leaves the others marked: typing goes straight into the field to fix.
    assert_eq!(c.app.mode, Mode::Editing);
    c.ctrl('u');
    c.type_text("ava@example.com");
    let screen = c.screen(120, 40);
    assert!(!screen.contains("✗ Email"), "{screen}");
    assert!(screen.contains("✗ Postal code"), "{screen}");
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.email"),
        "ava@example.com"
    );
}

#[test]
fn queues_offers_are_chosen_with_up_and_down_and_the_selection_is_marked_in_text() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    let screen = c.screen(80, 24);
    assert!(screen.contains("› ● waiting"), "{screen}");
    assert!(screen.contains("▶ Sessions"), "{screen}");
    c.key('l');
    assert!(c.screen(80, 24).contains("▶ Offers"));
    press(&mut c, KeyCode::Down);
    assert_eq!(c.app.state::<QueuesState>().offer, 1);
    assert_eq!(
        c.app.state::<QueuesState>().selected,
        0,
        "↓ stays in the offers"
    );
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("› [HIGH]  205 Tomasz Kowalczyk"),
        "{screen}"
    );
    c.key('k');
    assert_eq!(c.app.state::<QueuesState>().offer, 0);
    press(&mut c, KeyCode::Left);
    assert!(c.screen(80, 24).contains("▶ Sessions"));
}

#[test]
fn a_session_just_created_is_the_one_selected_in_queues() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "brakes");
    c.quick_intake("Vancouver", "V6B 1A1", "Check engine light is on");
    // A held one (payment not confirmed), made last: sorted elsewhere, selected all the same.
    c.pane(1);
    c.key('n');
    let form = c.app.state_mut::<IntakeState>();
    form.set("customer.name", "Zoe Paid");
    form.set("customer.email", "zoe@example.com");
    form.set("location.city", "Ottawa");
    form.set("location.postal_code", "K1P 1J1");
    form.set("concern", "brakes squeal");
    form.set("payment_method", "paid");
    form.set("payment_confirmed", "no");
    c.ctrl('s');
    let held = c
        .app
        .state::<IntakeState>()
        .result
        .as_ref()
        .unwrap()
        .outcome
        .session
        .id
        .clone();
    c.pane(2);
    let screen = c.screen(120, 40);
    assert!(screen.contains("› ◌ pending"), "{screen}");
    c.key('p');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains(&format!("Payment confirmed for {held}")),
        "{screen}"
    );
    // The selection stays on that session while the list changes around it.
    c.advance(1);
    assert_eq!(
        pitwall::tui::panes::queues::selected(&c.app).map(|r| r.session.id.clone()),
        Some(held)
    );
}

#[test]
fn ctrl_c_and_q_ask_before_discarding_a_typed_form() {
    let mut c = Console::demo();
    edit_name(&mut c);
    c.type_text("Ava");
    c.ctrl('c');
    assert!(!c.quit_requested());
    let screen = c.screen(80, 24);
    assert!(screen.contains("Quit pitwall?"), "{screen}");
    c.key('n');
    assert_eq!(c.app.state::<IntakeState>().get("customer.name"), "Ava");
    // In the form q is a letter; outside it, q asks too.
    c.esc();
    c.key('q');
    assert!(!c.quit_requested());
    assert!(c.screen(80, 24).contains("Quit pitwall?"));
    c.key('y');
    assert!(c.quit_requested());

    // Twice Ctrl-C quits; an untouched form quits at once.
    let mut c = Console::demo();
    edit_name(&mut c);
    c.type_text("Ava");
    c.ctrl('c');
    c.ctrl('c');
    assert!(c.quit_requested());
    let mut c = Console::demo();
    c.ctrl('c');
    assert!(c.quit_requested());
}

/// `update` is pure: keys in, state and effects out, no engine needed.
#[test]
fn update_returns_the_effects_it_wants_run() {
    let c = Console::demo();
    let mut app = c.app;
    let key = |code, modifiers| Action::Key(KeyEvent::new(code, modifiers));
    // The console opens with the form taking typing.
    assert_eq!(app.mode, Mode::Editing);
    // A name alone asks the engine for nothing (no preview on a name).
    assert!(update(&mut app, key(KeyCode::Char('A'), KeyModifiers::SHIFT)).is_empty());
    assert!(
        update(&mut app, key(KeyCode::Char('c'), KeyModifiers::CONTROL)).is_empty(),
        "a typed form is not thrown away at once"
    );
    assert_eq!(app.mode, Mode::Confirm(Confirm::Quit));
    assert_eq!(
        update(&mut app, key(KeyCode::Char('y'), KeyModifiers::NONE)),
        vec![Effect::Quit]
    );
    // A submit with errors runs nothing; a good one runs exactly one intake command.
    app.mode = Mode::Normal;
    assert!(update(&mut app, key(KeyCode::Char('s'), KeyModifiers::CONTROL)).is_empty());
    let form = app.state_mut::<IntakeState>();
    form.set("customer.email", "a@example.com");
    form.set("location.postal_code", "M5V 3L9");
    form.set("concern", "brakes");
    let effects = update(&mut app, key(KeyCode::Char('s'), KeyModifiers::CONTROL));
    assert!(
        matches!(effects.as_slice(), [Effect::Run(r)] if r.command.name() == "intake"),
        "{effects:?}"
    );
}

#[test]
fn a_read_only_database_is_said_once_in_the_status_line_and_not_logged_every_second() {
    let mut c = Console::on_sqlite();
    c.quick_intake("Toronto", "M5V 3L9", "brakes");
    c.engine
        .connection()
        .execute_batch(pitwall::sql!("PRAGMA query_only = ON"))
        .unwrap();
    let mut health = pitwall::tui::TickHealth::default();
    for _ in 0..120 {
        let _ = c.engine.advance(1);
        pitwall::tui::engine_tick(&mut c.app, &mut c.engine, &mut health, &mut || {});
    }
    let screen = c.screen(120, 40);
    assert!(screen.contains("The database is read-only"), "{screen}");
    assert_eq!(
        health.logged, 1,
        "one line for two minutes of failing ticks"
    );
    // An action says the same, in words, not 'internal' alone.
    c.pane(2);
    c.key('x');
    c.key('y');
    assert!(c.screen(120, 40).contains("read-only"));
    c.engine
        .connection()
        .execute_batch(pitwall::sql!("PRAGMA query_only = OFF"))
        .unwrap();
    for _ in 0..40 {
        pitwall::tui::engine_tick(&mut c.app, &mut c.engine, &mut health, &mut || {});
    }
    assert!(c.screen(120, 40).contains("Database available again"));
    assert_eq!(health.logged, 2);
}

#[test]
fn mechanics_title_keeps_its_filter_and_enter_shows_every_specialty() {
    let mut c = Console::demo();
    c.pane(3);
    c.key('o');
    c.key('/');
    c.type_text("calgary");
    c.enter();
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = c.screen(w, h);
        let title = screen.lines().nth(1).unwrap();
        assert!(
            title.contains("on shift of 44 · online only · filter: calgary"),
            "{title}"
        );
        assert!(
            screen.contains("Enter"),
            "the legend says Enter opens details: {screen}"
        );
    }
    assert!(c.screen(120, 40).contains("* legacy Red Seal"));
    c.enter();
    let screen = c.screen(80, 24);
    assert!(screen.contains("Connor Whitfield ·"), "{screen}");
    // How his offers reach him (SPEC §12 notify_via; he has a phone: sms).
    assert!(screen.contains("Offers by"), "{screen}");
    assert!(screen.contains("sms"), "{screen}");
    let m = c
        .app
        .data
        .roster
        .iter()
        .find(|r| r.mechanic.name == "Connor Whitfield")
        .unwrap()
        .mechanic
        .clone();
    let screen = c.screen(120, 40);
    for s in m.brand_specializations.iter().chain(&m.service_keywords) {
        assert!(screen.contains(s.as_str()), "{s}: {screen}");
    }
    c.esc();
    assert!(!c.screen(120, 40).contains("Esc closes"));
}

/// The footer row as text and whether the cell under each character is dimmed.
fn footer(c: &mut Console, w: u16, h: u16) -> (String, Vec<bool>) {
    let terminal = c.terminal(w, h);
    let buffer = terminal.backend().buffer();
    let y = h - 1;
    let mut text = String::new();
    let mut dim = Vec::new();
    for x in 0..w {
        let cell = &buffer[(x, y)];
        text.push_str(cell.symbol());
        dim.push(cell.modifier.contains(ratatui::style::Modifier::DIM));
    }
    (text, dim)
}

#[test]
fn the_footer_says_more_keys_exist_dims_what_cannot_act_and_shows_the_offline_card_keys() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    let (text, _) = footer(&mut c, 80, 24);
    assert!(
        text.contains(" … ") && text.contains("? all keys"),
        "{text}"
    );
    let (text, dim) = footer(&mut c, 120, 40);
    let at = text.find(" c complete").unwrap() + 1;
    let col = text[..at].chars().count();
    assert!(dim[col], "complete is dimmed for a waiting session: {text}");
    let at = text.find(" a accept").unwrap() + 1;
    assert!(!dim[text[..at].chars().count()], "{text}");
    c.key('a');
    let (text, dim) = footer(&mut c, 120, 40);
    let at = text.find(" c complete").unwrap() + 1;
    assert!(
        !dim[text[..at].chars().count()],
        "a matched session completes: {text}"
    );

    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    let (text, _) = footer(&mut c, 80, 24);
    assert!(
        text.contains("b browse offline")
            && text.contains("w waitlist")
            && text.contains("s schedule"),
        "{text}"
    );
    c.key('w');
    let (text, _) = footer(&mut c, 80, 24);
    assert!(
        text.contains("Enter join") && text.contains("Space channel on/off"),
        "{text}"
    );
}

fn click(c: &mut Console, column: u16, row: u16) {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    c.send(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }));
}

fn wheel(c: &mut Console, down: bool) {
    use ratatui::crossterm::event::{MouseEvent, MouseEventKind};
    c.send(Action::Mouse(MouseEvent {
        kind: if down {
            MouseEventKind::ScrollDown
        } else {
            MouseEventKind::ScrollUp
        },
        column: 10,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
}

#[test]
fn the_mouse_clicks_tabs_rows_and_fields_and_the_wheel_scrolls() {
    let mut c = Console::demo();
    c.screen(120, 40);
    // The header's tabs: " pitwall " then " 1 Intake ", " 2 Queues ", " 3 Mechanics ".
    let tab = |c: &Console, pane| {
        c.app
            .tab_spans()
            .into_iter()
            .find(|(_, _, p)| *p == pane)
            .unwrap()
            .0
    };
    let x = tab(&c, pitwall::tui::app::Pane::Mechanics);
    click(&mut c, x, 0);
    assert_eq!(c.app.pane, pitwall::tui::app::Pane::Mechanics);
    // Rows: the table's first row is on screen row 3 (header, border, column titles).
    click(&mut c, 10, 5);
    assert_eq!(c.app.state::<MechanicsState>().selected, 2);
    wheel(&mut c, true);
    wheel(&mut c, true);
    assert_eq!(c.app.state::<MechanicsState>().selected, 4);
    wheel(&mut c, false);
    assert_eq!(c.app.state::<MechanicsState>().selected, 3);
    // A form field: the Email row (screen row 3) starts editing it.
    let x = tab(&c, pitwall::tui::app::Pane::Intake);
    click(&mut c, x, 0);
    assert_eq!(c.app.pane, pitwall::tui::app::Pane::Intake);
    click(&mut c, 10, 3);
    assert_eq!(c.app.state::<IntakeState>().focus, 1);
    assert_eq!(c.app.mode, Mode::Editing);
    c.type_text("a@b.ca");
    assert_eq!(c.app.state::<IntakeState>().get("customer.email"), "a@b.ca");
    // Queues: a click on a session selects it; on an offer, that offer.
    c.esc();
    c.key('n');
    c.key('y'); // the typed form goes, asked first
    c.quick_intake("Toronto", "M5V 3L9", "brakes");
    c.quick_intake("Vancouver", "V6B 1A1", "brakes");
    c.pane(2);
    let other = 1 - c.app.state::<QueuesState>().selected;
    click(&mut c, 10, 3 + other as u16);
    assert_eq!(c.app.state::<QueuesState>().selected, other);
    // The offers box starts at body row 19 at 40 rows: border, session line, then offers.
    click(&mut c, 10, 1 + 19 + 3);
    assert_eq!(c.app.state::<QueuesState>().offer, 1);
    assert_eq!(
        c.app.state::<QueuesState>().focus,
        pitwall::tui::panes::queues::Focus::Offers
    );
}

/// Every registered pane is reached by its number key and its tab, and `?` lists its keys:
/// all from the one registry (a new pane is its file and its line there).
#[test]
fn every_registered_pane_has_its_number_key_tab_and_help() {
    use pitwall::tui::app::Pane;
    let mut c = Console::demo();
    for pane in Pane::all() {
        let digit = char::from_digit(pane.0 as u32 + 1, 10).unwrap();
        // Number keys switch outside the form (in it they are text).
        if c.app.mode == Mode::Editing {
            c.esc();
        }
        c.key(digit);
        assert_eq!(c.app.pane, pane);
        if c.app.mode == Mode::Editing {
            c.esc();
        }
        let screen = c.screen(120, 40);
        assert!(
            screen.lines().next().unwrap().contains(&pane.tab_label()),
            "{screen}"
        );
        c.key('?');
        let help = c.screen(120, 40);
        if !pane.def().keys.is_empty() {
            assert!(help.contains(&format!("{} pane", pane.title())), "{help}");
        }
        for b in pane.def().keys.iter().filter(|b| !b.keys.is_empty()) {
            assert!(
                help.contains(b.help),
                "{}: {} missing from {help}",
                pane.title(),
                b.help
            );
        }
        c.esc();
    }
    assert!(c.app.panes.at::<u8>(Pane::Intake).is_none());
    assert!(c.app.panes.at::<IntakeState>(Pane::Intake).is_some());
}

#[test]
fn the_waitlist_footer_dims_cancel_unless_the_entry_waits() {
    let mut c = Console::demo();
    c.pane(4);
    let (text, dim) = footer(&mut c, 120, 40);
    let at = text.find(" x cancel entry").unwrap() + 1;
    assert!(dim[text[..at].chars().count()], "no entry: {text}");
    c.engine
        .join_waitlist(pitwall::command::JoinWaitlist {
            id: Some("W1".into()),
            customer: Some(pitwall::command::Customer {
                name: "Bo".into(),
                email: Some("bo@example.com".into()),
                phone: None,
            }),
            ..Default::default()
        })
        .unwrap();
    c.advance(0);
    let (text, dim) = footer(&mut c, 120, 40);
    let at = text.find(" x cancel entry").unwrap() + 1;
    assert!(!dim[text[..at].chars().count()], "a waiting entry: {text}");
}

#[test]
fn waitlist_enter_opens_the_entry_whole() {
    let mut c = Console::demo();
    c.pane(4);
    let (text, dim) = footer(&mut c, 120, 40);
    let at = text.find(" Enter details").unwrap() + 1;
    assert!(dim[text[..at].chars().count()], "no entry: {text}");
    c.enter();
    assert_eq!(c.app.mode, Mode::Normal, "nothing to open");
    c.engine
        .join_waitlist(pitwall::command::JoinWaitlist {
            id: Some("W1".into()),
            customer: Some(pitwall::command::Customer {
                name: "Bo\u{1b}[31m Red".into(),
                email: Some("bo@example.com".into()),
                phone: Some("+1 902 555 0100".into()),
            }),
            notify_via: Some(vec![
                pitwall::model::Channel::Email,
                pitwall::model::Channel::Sms,
            ]),
            ..Default::default()
        })
        .unwrap();
    c.advance(0);
    let (text, dim) = footer(&mut c, 120, 40);
    let at = text.find(" Enter details").unwrap() + 1;
    assert!(!dim[text[..at].chars().count()], "an entry: {text}");
    c.enter();
    let screen = c.screen(120, 40);
    for want in [
        "W1",
        "⏳ waiting",
        "bo@example.com",
        "+1 902 555 0100",
        "email, sms",
        "Created",
        "Expires",
        "No notifications for this entry yet.",
        "Esc closes",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    assert!(
        !screen.contains('\u{1b}'),
        "control text is inert: {screen}"
    );

    // A mechanic clocks in: the entry is notified, by whom, and how each message fares.
    c.esc();
    assert_eq!(c.app.mode, Mode::Normal);
    c.engine.clock_in("m-hfx-01").unwrap();
    c.advance(0);
    c.enter();
    let screen = c.screen(120, 40);
    for want in [
        "✓ notified",
        "Siobhan MacNeil (m-hfx-01)",
        "Notifications (2)",
        "… queued",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    // Scrolls with ↓ and the wheel, closes with Esc.
    press(&mut c, KeyCode::Down);
    assert!(matches!(c.app.mode, Mode::Entry { scroll: 1, .. }));
    c.send(Action::Mouse(ratatui::crossterm::event::MouseEvent {
        kind: ratatui::crossterm::event::MouseEventKind::ScrollDown,
        column: 10,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    assert!(matches!(c.app.mode, Mode::Entry { scroll: 4, .. }));
    c.esc();
    assert_eq!(c.app.mode, Mode::Normal);
}
