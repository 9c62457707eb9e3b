//! The console driven through `update` with real keys, on an in-memory database with the manual
//! clock: whole flows, checked on the rendered screen and in the database.

use crate::console;
use pitwall::tui::panes::intake::IntakeState;

use console::Console;
use pitwall::model::SessionStatus;

#[test]
fn intake_to_offers_to_accept() {
    let mut c = Console::demo();
    c.fill_intake(&[
        ("Ava Chen", true),
        ("ava@example.com", true),
        ("416 555 0100", true),
        ("", true),
        ("ON", true),
        ("Toronto", true),
        ("M5V 3L9", true),
        ("2019", true),
        ("Honda", true),
        ("Civic", true),
        ("Check engine light is on", false),
    ]);
    let screen = c.screen(120, 40);
    assert!(screen.contains("Keywords  check engine light"), "{screen}");
    assert!(screen.contains("[HIGH] 230  Daniel Okafor"), "{screen}");
    c.ctrl('s');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("Offered to (2 minutes to accept):"),
        "{screen}"
    );
    assert!(
        screen.contains("Daniel Okafor") && screen.contains("2:00"),
        "{screen}"
    );
    assert!(screen.contains("opens in 2:00"), "{screen}");

    c.pane(2);
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("● waiting") && screen.contains("Ava Chen"),
        "{screen}"
    );
    assert!(screen.contains("› [HIGH]  230 Daniel Okafor"), "{screen}");
    c.advance(30);
    assert!(c.screen(120, 40).contains("1:30"));
    c.key('l'); // into the offers list
    c.key('j'); // the second offer
    c.key('a');
    let screen = c.screen(120, 40);
    assert!(screen.contains("accepted"), "{screen}");
    let session = c.only_session();
    assert_eq!(session.status, SessionStatus::Matched);
    assert_eq!(session.matched_mechanic_id.as_deref(), Some("m-tor-03"));
}

#[test]
fn a_countdown_expires_into_an_open_broadcast_anyone_can_take() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    c.advance(100);
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("0:20 !"),
        "urgent countdown carries a mark: {screen}"
    );
    c.advance(20);
    let screen = c.screen(120, 40);
    assert!(screen.contains("expired (timeout)"), "{screen}");
    assert!(screen.contains("OPEN to all"), "{screen}");
    c.key('l'); // into the offers list
    c.key('j');
    c.key('j');
    c.key('j'); // the broadcast row
    c.key('a');
    assert!(
        c.screen(120, 40).contains("Who takes"),
        "a picker asks who takes the broadcast"
    );
    c.key('j');
    c.enter();
    assert_eq!(c.only_session().status, SessionStatus::Matched);
    assert!(c.screen(120, 40).contains("from the broadcast"));
}

#[test]
fn all_offline_card_waitlist_and_clock_in_notification() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("All mechanics currently offline"),
        "{screen}"
    );
    assert!(screen.contains("[b] Browse offline mechanics"));
    assert!(screen.contains("[w] Join waitlist"));
    assert!(screen.contains("[s] Schedule for later"));

    c.key('s');
    let screen = c.screen(120, 40);
    assert!(screen.contains("Enter books"), "{screen}");
    assert!(screen.contains("Siobhan MacNeil"), "{screen}");
    c.esc();

    c.key('b');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("› ○ off  [HIGH]") && screen.contains("Siobhan MacNeil"),
        "{screen}"
    );
    c.enter();
    assert!(c.screen(120, 40).contains("Preferred mechanic set"));
    assert_eq!(
        c.only_session().preferred_mechanic_id.as_deref(),
        Some("m-hfx-01")
    );

    c.key('w');
    c.key('j');
    c.key(' '); // sms too
    c.enter();
    assert!(c.screen(120, 40).contains("Joined the waitlist"));

    c.pane(3);
    c.key('/');
    c.type_text("siobhan");
    c.enter();
    c.key(' '); // clock in
    let screen = c.screen(120, 40);
    assert!(screen.contains("Siobhan MacNeil clocked in"), "{screen}");
    assert!(
        screen.contains("🔔"),
        "a visible cue for the notification: {screen}"
    );
    assert_eq!(c.bells, 1);

    c.pane(4);
    let screen = c.screen(120, 40);
    assert!(screen.contains("✓ notified"), "{screen}");
    assert!(
        screen.contains("… queued sms")
            && screen.contains("a mechanic is online now: Siobhan MacNeil"),
        "{screen}"
    );
    // Her preferred-mechanic offer is live.
    c.pane(2);
    assert!(c.screen(120, 40).contains("Siobhan MacNeil"));
}

#[test]
fn field_errors_point_at_the_field_and_nothing_is_written() {
    let mut c = Console::demo();
    c.fill_intake(&[("Ava", true), ("not-an-email", false)]);
    c.ctrl('s');
    let screen = c.screen(120, 40);
    assert!(screen.contains("✗ Email"), "{screen}");
    assert!(
        screen.contains("must look like name@example.com"),
        "{screen}"
    );
    assert!(c.sessions().is_empty());
    c.fill_intake(&[]);
}

#[test]
fn destructive_actions_ask_first_and_esc_backs_out() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "brakes");
    c.pane(2);
    c.key('x');
    assert!(c.screen(120, 40).contains("Cancel session"));
    c.key('n');
    assert_eq!(c.only_session().status, SessionStatus::Waiting);
    c.key('x');
    c.key('y');
    assert_eq!(
        c.sessions().len(),
        0,
        "a cancelled session leaves the live list"
    );
    c.key('?');
    assert!(c.screen(120, 40).contains("Help · Esc closes"));
    c.esc();
    assert!(!c.screen(120, 40).contains("Help · Esc closes"));
    assert!(!c.quit_requested());
    c.key('q');
    assert!(c.quit_requested());
}

#[test]
fn completing_a_matched_session_asks_first() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "brakes");
    c.pane(2);
    c.key('a'); // the first offer
    assert_eq!(c.only_session().status, SessionStatus::Matched);
    c.key('c');
    let screen = c.screen(120, 40);
    assert!(screen.contains("Mark session"), "{screen}");
    assert!(screen.contains("cannot be undone"), "{screen}");
    c.esc();
    assert_eq!(c.only_session().status, SessionStatus::Matched);
    assert!(c.screen(120, 40).contains("Nothing changed"));
    c.key('c');
    c.key('y');
    assert_eq!(c.only_session().status, SessionStatus::Completed);
    assert!(c.screen(120, 40).contains("completed"));
}

#[test]
fn completing_a_session_nobody_took_is_refused_without_asking() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "brakes");
    c.pane(2);
    c.key('c');
    let screen = c.screen(120, 40);
    assert!(!screen.contains("Mark session"), "{screen}");
    assert_eq!(c.only_session().status, SessionStatus::Waiting);
}

#[test]
fn customer_text_never_reaches_the_screen_with_control_characters() {
    let mut c = Console::demo();
    c.quick_intake(
        "Toronto",
        "M5V 3L9",
        "brakes \u{1b}[2J\u{1b}]0;pwned\u{7} squeal",
    );
    c.pane(2);
    let screen = c.screen(120, 40);
    assert!(
        !screen.chars().any(|ch| ch.is_control() && ch != '\n'),
        "{screen:?}"
    );
    assert!(screen.contains("brakes �[2J�]0;pwned� squeal"), "{screen}");
}

#[test]
fn below_the_minimum_size_the_console_says_so() {
    let mut c = Console::demo();
    let screen = c.screen(60, 20);
    assert!(screen.contains("Terminal too small"), "{screen}");
    assert!(screen.contains("80×24"));
}

#[test]
fn acting_on_a_session_elsewhere_leaves_the_intake_result_alone() {
    let mut c = Console::demo();
    c.pane(1);
    c.app
        .state_mut::<IntakeState>()
        .set("customer.name", "Held Customer");
    c.app
        .state_mut::<IntakeState>()
        .set("customer.email", "held@example.com");
    c.app
        .state_mut::<IntakeState>()
        .set("location.postal_code", "M5V 3L9");
    c.app.state_mut::<IntakeState>().set("concern", "brakes");
    c.app.state_mut::<IntakeState>().set("waiver_signed", "no");
    c.ctrl('s');
    assert!(
        c.screen(120, 40)
            .contains("Held until the waiver / payment clears")
    );
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "",
        "the form starts over after a submit"
    );
    c.pane(2);
    c.key('w');
    c.pane(1);
    let screen = c.screen(120, 40);
    assert!(
        !screen.contains("Preferred mechanic set")
            && !screen.contains("All mechanics currently offline"),
        "{screen}"
    );
    c.ctrl('s');
    assert_eq!(
        c.sessions().len(),
        1,
        "a second ^S on the empty form files nothing"
    );
}

#[test]
fn losing_typed_work_or_live_offers_asks_first() {
    let mut c = Console::demo();
    c.fill_intake(&[("Half Typed", false)]);
    c.key('n');
    assert!(c.screen(120, 40).contains("Start a new intake?"));
    c.key('n');
    assert_eq!(
        c.app.state::<IntakeState>().get("customer.name"),
        "Half Typed",
        "kept"
    );
    c.key('n');
    c.key('y');
    assert_eq!(c.app.state::<IntakeState>().get("customer.name"), "");

    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(3);
    c.key('/');
    c.type_text("m-tor-01");
    c.enter();
    c.key(' ');
    let screen = c.screen(120, 40);
    assert!(
        screen.contains("Clock out Daniel Okafor?") && screen.contains("1 live offer"),
        "{screen}"
    );
    c.key('y');
    assert!(c.screen(120, 40).contains("Daniel Okafor clocked out"));
}

#[test]
fn a_session_waiting_too_long_is_escalated_pinned_and_announced_once() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    c.advance(599);
    assert!(!c.screen(120, 40).contains("ESC"));
    c.advance(1);
    let screen = c.screen(120, 40);
    assert!(screen.contains("⚠ ESC"), "{screen}");
    assert!(screen.contains("⚠ 1 escalated"), "{screen}");
    assert!(
        screen.contains("1 session waiting too long: escalated"),
        "the status line says so: {screen}"
    );
}

#[test]
fn the_preview_lists_who_was_not_considered_and_why() {
    let mut c = Console::demo();
    c.fill_intake(&[("Ava Chen", true), ("ava@example.com", true)]);
    c.esc();
    let screen = c.screen(120, 40);
    assert!(
        !screen.contains("[GOOD]") && !screen.contains("not considered: 8"),
        "a name alone previews nothing: {screen}"
    );
    c.fill_intake(&[
        ("", true),
        ("", true),
        ("", true),
        ("", true),
        ("", true),
        ("Toronto", false),
    ]);
    let screen = c.screen(120, 40);
    assert!(screen.contains("not considered: 8 (e: why)"), "{screen}");
    c.key('e');
    let screen = c.screen(120, 40);
    assert!(screen.contains("Nathalie Bouchard — suspended"), "{screen}");
    assert!(
        screen.contains("Hannah Goldberg — pending approval"),
        "{screen}"
    );
    c.key('e');
    assert!(!c.screen(120, 40).contains("Not considered ("));
}

#[test]
fn the_picker_opens_only_on_an_open_broadcast() {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    c.key('l'); // into the offers list
    c.key('j');
    c.key('j');
    c.key('j'); // the broadcast row, still held behind the targeted offers
    c.key('a');
    let screen = c.screen(120, 40);
    assert!(!screen.contains("Who takes"), "{screen}");
    assert!(
        screen.contains("until then only the mechanics offered it can accept"),
        "{screen}"
    );
}

/// Schedule for later (SPEC §14): the offline card lists the hours a Volvo specialist is planned
/// on shift, Enter books the first (the immediate request is withdrawn), Queues shows the
/// booking apart with its countdown, and the release makes a targeted offer.
#[test]
fn schedule_for_later_books_a_slot_that_is_released_with_a_targeted_offer() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    c.key('s');
    c.enter();
    let screen = c.screen(120, 40);
    assert!(screen.contains("Booked for"), "{screen}");
    let statuses: Vec<(String, String, Option<i64>)> = {
        let conn = c.engine.connection();
        let mut stmt = conn
            .prepare(pitwall::sql!(
                "SELECT id, status, scheduled_for FROM sessions ORDER BY created_at, status"
            ))
            .unwrap();
        stmt.query_map(pitwall::params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let kinds: Vec<&str> = statuses.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(kinds, ["cancelled", "scheduled"], "{statuses:?}");
    let (booking, _, at) = &statuses[1];
    c.pane(2);
    let screen = c.screen(120, 40);
    assert!(screen.contains("Scheduled (1)"), "{screen}");
    assert!(
        screen.contains("released 10 min before their time"),
        "{screen}"
    );
    let release_in = at.unwrap() / 1000 - 600 - c.engine.now().timestamp();
    assert!(
        screen.contains(&format!("in {}:", release_in / 60)),
        "{screen}"
    );

    c.engine.clock_in("m-hfx-01").unwrap();
    c.advance(release_in);
    let detail = c.engine.session(booking).unwrap().session;
    assert_eq!(detail.session.status, SessionStatus::Waiting);
    assert!(
        detail.assignments.iter().any(
            |a| a.mechanic_id.as_deref() == Some("m-hfx-01") && a.is_live_offer(c.engine.now())
        ),
        "{:?}",
        detail.assignments
    );
    let screen = c.screen(120, 40);
    assert!(!screen.contains("Scheduled (1)"), "{screen}");
}
