//! A dispatcher's first day (issue "A first day that works"): the form takes typing like a
//! form, the result card follows its session, each session has its own offer cursor, a
//! success is not overwritten by a transport warning, the header keeps its counts and date, a
//! clock-out with live offers asks first, the history finds any session and its timeline, and
//! the console says "queued" for notifications no transport took.

use crate::console;
use pitwall::tui::panes::intake::IntakeState;
use pitwall::tui::panes::mechanics::MechanicsState;
use pitwall::tui::panes::queues::QueuesState;

use console::Console;
use pitwall::model::SessionStatus;
use pitwall::tui::app::{Mode, Pane};
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

#[test]
fn typing_goes_into_the_focused_field_without_enter_and_tab_moves_between_fields() {
    let mut c = Console::demo();
    // The console opens on the form: typing fills the first field at once, `n` included.
    c.type_text("Ava Chen");
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "Ava Chen"
    );
    assert_eq!(c.app.mode, Mode::Editing);
    c.tab();
    c.type_text("ava@example.com");
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.email"),
        "ava@example.com"
    );
    c.back_tab();
    assert_eq!(c.app.state::<IntakeState>().focus, 0);
    c.type_text(" Jr");
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "Ava Chen Jr"
    );
    // Digits are text in the form; Alt-number switches panes from inside it.
    for _ in 0..7 {
        c.tab();
    }
    c.type_text("2019");
    assert_eq!(c.app.state::<IntakeState>().get("vehicle.year"), "2019");
    assert_eq!(c.app.pane, Pane::Intake);
    let screen = c.screen(120, 40);
    let footer = screen.lines().last().unwrap();
    assert!(
        footer.contains("Tab next field") && footer.contains("Alt-1…6 pane"),
        "the footer says how to move and leave: {footer}"
    );
    c.pane(2);
    assert_eq!(c.app.pane, Pane::Queues);
    assert_eq!(c.app.mode, Mode::Normal);
    // Back on the intake pane the form takes typing again, where it was left.
    c.pane(1);
    assert_eq!(c.app.mode, Mode::Editing);
    c.tab();
    c.type_text("Honda");
    assert_eq!(c.app.state::<IntakeState>().get("vehicle.make"), "Honda");
}

#[test]
fn after_esc_a_letter_the_pane_does_not_use_is_typed_into_the_field() {
    let mut c = Console::demo();
    c.esc();
    assert_eq!(c.app.mode, Mode::Normal);
    c.type_text("Zoe");
    assert_eq!(c.app.state::<IntakeState>().get("customer.name"), "Zoe");
    assert_eq!(c.app.mode, Mode::Editing);
    let help = {
        c.esc();
        c.key('?');
        c.screen(120, 40)
    };
    assert!(help.contains("Typing into the form"), "{help}");
    assert!(help.contains("Alt-1…6"), "{help}");
}

#[test]
fn the_result_card_follows_an_accept_made_elsewhere() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    let id = c.only_session().id;
    assert!(
        c.screen(120, 40)
            .contains("Offered to (2 minutes to accept):")
    );
    // Another console, or the mechanic's phone, takes it.
    c.engine.accept(&id, "m-tor-03").unwrap();
    c.advance(1);
    let screen = c.screen(120, 40);
    assert!(screen.contains("matched"), "{screen}");
    assert!(
        screen.contains("✓ Matched with") && screen.contains("at 14:00 UTC"),
        "{screen}"
    );
    assert!(!screen.contains("Offered to (2 minutes"), "{screen}");
    assert!(!screen.contains("opens in"), "{screen}");
    // Completed elsewhere: the card says so (the session left the live lists).
    c.engine.complete(&id).unwrap();
    c.advance(1);
    let screen = c.screen(120, 40);
    assert!(screen.contains("completed"), "{screen}");
}

#[test]
fn a_booking_replaces_the_offline_card_and_says_the_new_reference() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    let first = c.only_session().id;
    c.key('s');
    let screen = c.screen(120, 40);
    // Halifax customers read their own hours beside UTC.
    assert!(
        screen.contains("UTC · ") && screen.contains("AST"),
        "{screen}"
    );
    c.enter();
    let screen = c.screen(120, 40);
    assert!(!screen.contains("[w] Join waitlist"), "{screen}");
    assert!(
        !screen.contains("All mechanics currently offline"),
        "{screen}"
    );
    assert!(screen.contains("New reference S-"), "{screen}");
    assert!(
        screen.contains(&format!("{first} is withdrawn")),
        "{screen}"
    );
    assert!(screen.contains("◷ Booked for") && screen.contains("AST for the customer"));
    // The form is ready for the next customer; `w` there is text, not a waitlist join.
    assert_eq!(c.app.mode, Mode::Editing);
}

#[test]
fn the_offline_card_gives_way_when_the_mechanic_clocks_in_and_takes_it() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    let id = c.only_session().id;
    c.key('b');
    c.enter(); // Siobhan MacNeil preferred
    assert!(
        c.screen(120, 40)
            .contains("All mechanics currently offline")
    );
    c.engine.clock_in("m-hfx-01").unwrap();
    c.advance(1);
    let screen = c.screen(120, 40);
    assert!(
        !screen.contains("All mechanics currently offline"),
        "an offer is live: {screen}"
    );
    assert!(
        screen.contains("Siobhan MacNeil") && screen.contains("1:59"),
        "{screen}"
    );
    c.engine.accept(&id, "m-hfx-01").unwrap();
    c.advance(1);
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("✓ Matched with Siobhan MacNeil"),
        "{screen}"
    );
}

#[test]
fn typing_the_next_customer_brings_the_live_preview_back_without_n() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    assert!(c.screen(120, 40).contains(" Result "));
    assert_eq!(c.app.mode, Mode::Editing, "ready for the next customer");
    c.type_text("Ben Ng");
    for _ in 0..5 {
        c.tab();
    }
    c.type_text("Toronto");
    let screen = c.screen(120, 40);
    assert!(screen.contains(" Live preview "), "{screen}");
    assert!(!screen.contains(" Result "), "{screen}");
    assert_eq!(c.sessions().len(), 1, "nothing submitted");
}

#[test]
fn each_session_starts_at_its_top_offer_and_answers_name_the_mechanic() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    let first = c.only_session().id;
    c.pane(2);
    c.key('l');
    c.key('j');
    c.key('j'); // the third offer
    let third = c.engine.session(&first).unwrap().session.assignments[2]
        .mechanic_id
        .clone()
        .unwrap();
    c.key('a');
    let screen = c.screen(120, 40);
    let name = c.app.mechanic_name(&third).to_string();
    assert!(
        screen.contains(&format!("✓ {name} accepted {first}")),
        "{screen}"
    );

    c.quick_intake("Toronto", "M5V 3L9", "Brakes squeal");
    c.pane(2);
    let second = c.app.state::<QueuesState>().follow.clone();
    let selected = pitwall::tui::panes::queues::selected(&c.app)
        .unwrap()
        .session
        .clone();
    assert_ne!(selected.id, first, "{second:?}");
    assert_eq!(
        c.app.state::<QueuesState>().offer,
        0,
        "a new session starts at its top offer"
    );
    let top = c.engine.session(&selected.id).unwrap().session.assignments[0]
        .mechanic_id
        .clone()
        .unwrap();
    c.key('l');
    c.key('d');
    let detail = c.engine.session(&selected.id).unwrap().session;
    let declined: Vec<_> = detail
        .assignments
        .iter()
        .filter(|a| a.status == pitwall::model::AssignmentStatus::Declined)
        .map(|a| a.mechanic_id.clone().unwrap())
        .collect();
    assert_eq!(declined, vec![top.clone()], "the top offer, not the third");
    let screen = c.screen(120, 40);
    let name = c.app.mechanic_name(&top).to_string();
    assert!(screen.contains(&format!("{name} declined")), "{screen}");
}

#[test]
fn a_transport_warning_leaves_the_success_readable_with_one_mark() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    c.key('a');
    c.app
        .warn("⚠ email notifications are waiting: no email transport in the config");
    let screen = c.screen(120, 40);
    let status = screen.lines().nth(38).unwrap();
    assert!(status.contains("✓ Daniel Okafor accepted"), "{status}");
    assert!(
        status.contains("⚠ email notifications are waiting"),
        "{status}"
    );
    assert!(
        !status.contains("✗ ⚠") && !status.contains("⚠ ⚠"),
        "{status}"
    );
    // Esc dismisses both.
    c.esc();
    let screen = c.screen(120, 40);
    assert!(!screen.lines().nth(38).unwrap().contains("⚠"), "{screen}");
}

#[test]
fn the_header_keeps_counts_and_date_at_120_and_80_columns() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = c.screen(w, h);
        let header = screen.lines().next().unwrap();
        assert!(header.contains("1 Intake"), "{w}: {header}");
        assert!(header.contains("05 Jan"), "the date, {w}: {header}");
        assert!(header.contains("14:00"), "{w}: {header}");
        assert!(
            header.contains("wait") && header.contains(" 1 ·"),
            "waiting count, {w}: {header}"
        );
        assert!(
            header.contains("matched 0") || header.contains("match 0"),
            "{w}: {header}"
        );
        assert!(
            header.contains("on shift") || header.contains("on "),
            "{header}"
        );
    }
    for (w, h) in [(120, 40), (80, 24)] {
        let header = c.screen(w, h).lines().next().unwrap().to_string();
        assert!(
            header.contains("waiting 1 · matched 0 · on shift 20 · "),
            "readable labels at {w}: {header}"
        );
    }
    assert!(c.screen(120, 40).contains("5 Metrics"), "tab names at 120");
    // Escalated sessions and bookings push the tab names out before any count goes.
    c.advance(600);
    for (w, h) in [(120, 40), (80, 24)] {
        let header = c.screen(w, h).lines().next().unwrap().to_string();
        assert!(
            header.contains("⚠ 1 escalated · waiting 1 · matched 0 · on shift")
                || header.contains("⚠1 esc · wait 1 · matched 0 · on shift"),
            "{w}: {header}"
        );
        assert!(header.contains("05 Jan 14:10"), "{w}: {header}");
    }
    // A click on a tab still lands on its pane with the narrower tabs.
    let spans = c.app.tab_spans();
    let (x, _, pane) = spans.iter().find(|(_, _, p)| *p == Pane::Waitlist).unwrap();
    c.send(pitwall::tui::app::Action::Mouse(
        ratatui::crossterm::event::MouseEvent {
            kind: ratatui::crossterm::event::MouseEventKind::Down(
                ratatui::crossterm::event::MouseButton::Left,
            ),
            column: *x,
            row: 0,
            modifiers: KeyModifiers::NONE,
        },
    ));
    assert_eq!(c.app.pane, *pane);
}

#[test]
fn space_asks_before_clocking_out_a_mechanic_whose_offer_arrived_after_the_last_refresh() {
    let mut c = Console::demo();
    c.pane(3);
    c.key('/');
    c.type_text("m-tor-01");
    c.enter();
    // An offer made by another program a moment ago: the console has not refreshed yet.
    let intake: pitwall::command::IntakeRequest = serde_json::from_value(serde_json::json!({
        "customer": {"name": "Elsewhere", "email": "e@example.com"},
        "location": {"country": "Canada", "postal_code": "M5V 3L9", "city": "Toronto"},
        "concern": "Check engine light is on",
        "payment_method": "free"
    }))
    .unwrap();
    c.engine.intake(intake).unwrap();
    c.key(' ');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("Clock out Daniel Okafor?") && screen.contains("1 live offer"),
        "{screen}"
    );
    c.key('n');
    assert!(
        c.engine
            .mechanics()
            .unwrap()
            .mechanics
            .iter()
            .any(|m| m.mechanic.id == "m-tor-01" && m.mechanic.currently_on_shift)
    );
}

#[test]
fn history_finds_past_sessions_by_customer_reference_or_mechanic_with_their_timeline() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    let id = c.only_session().id;
    c.pane(2);
    c.key('a');
    c.key('c');
    c.key('y');
    assert_eq!(
        c.engine.session(&id).unwrap().session.session.status,
        SessionStatus::Completed
    );
    let queues = c.screen(120, 40);
    assert!(
        queues.contains("Sessions (0)"),
        "gone from the live list: {queues}"
    );
    c.pane(6);
    let screen = c.screen(120, 40);
    assert!(screen.contains("History"), "{screen}");
    assert!(
        screen.contains(&id) && screen.contains("✓ completed") && screen.contains("Daniel Okafor"),
        "who took it: {screen}"
    );
    for needle in ["okafor", "test cust", &id[2..6]] {
        c.key('/');
        c.type_text(needle);
        c.enter();
        let screen = c.screen(120, 40);
        assert!(screen.contains(&id), "{needle}: {screen}");
        c.key('/');
        c.esc(); // clears the search
    }
    c.key('/');
    c.type_text("nobody-like-this");
    c.enter();
    assert!(c.screen(120, 40).contains("No session matches"));
    c.key('/');
    c.esc();
    c.enter();
    let screen = c.screen(120, 40);
    assert!(screen.contains(&format!("Timeline of {id}")), "{screen}");
    for step in [
        "created",
        "offered to Daniel Okafor",
        "✓ matched: Daniel Okafor accepted",
        "✓ completed",
    ] {
        assert!(screen.contains(step), "{step}: {screen}");
    }
    c.esc();
    assert!(!c.screen(120, 40).contains("Timeline of"));
}

#[test]
fn queues_name_who_took_a_matched_session() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    c.key('a');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("✓ matched") && screen.contains("→ Daniel Okafor"),
        "{screen}"
    );
    c.key('h');
    c.enter();
    let detail = c.screen(120, 40);
    assert!(
        detail.contains("Taken by  Daniel Okafor at 05 Jan 14:00 UTC"),
        "{detail}"
    );
}

#[test]
fn waitlist_notifications_no_transport_took_are_queued_not_sent() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    c.key('w');
    c.enter();
    c.pane(3);
    c.key('/');
    c.type_text("siobhan");
    c.enter();
    c.key(' ');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("1 waitlist notification queued"),
        "{screen}"
    );
    assert!(!screen.contains("notification sent"), "{screen}");
    c.pane(4);
    let screen = c.screen(120, 40);
    assert!(screen.contains("… queued email"), "{screen}");
}

#[test]
fn the_slot_list_uses_the_rows_it_has() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    c.key('s');
    let screen = c.screen(120, 40);
    let slots = screen.lines().filter(|l| l.contains(" planned ")).count();
    assert!(slots > 20, "{slots} slots shown: {screen}");
    let screen = c.screen(80, 24);
    let slots = screen.lines().filter(|l| l.contains(" AST ·")).count();
    assert!(slots >= 4, "{slots} slots shown, each whole: {screen}");
    let _ = KeyCode::Enter;
}

#[test]
fn the_plan_editor_names_the_entry_the_dispatcher_wrote() {
    let mut c = Console::demo();
    c.pane(3);
    c.key('e');
    c.app
        .state_mut::<MechanicsState>()
        .editor
        .as_mut()
        .unwrap()
        .input = tui_input::Input::default();
    c.type_text("America/Toronto mon-fri 08:00-16:00, fri 10:00-12:00");
    c.enter();
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("entry 2 (\"fri 10:00-12:00\")") && screen.contains("entry 1"),
        "{screen}"
    );
    assert!(!screen.contains("shifts["), "{screen}");
}

#[test]
fn queues_show_a_booking_in_the_customers_hours_beside_utc() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    c.key('s');
    c.enter();
    c.pane(2);
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("Mon 05 Jan 15:00 UTC (11:00 AST for the customer)"),
        "{screen}"
    );
    assert!(screen.contains("05 Jan 15:00 · 11:00 AST"), "{screen}");
}
