//! Every pane and overlay at 80×24 and 120×40, as text snapshots (generated session ids
//! masked), plus cell-colour checks where colour carries meaning.
//! Review changes with `cargo insta review` or `INSTA_UPDATE=always cargo test`.

use crate::console;
use pitwall::tui::panes::intake::IntakeState;

use console::Console;
use pitwall::tui::theme::Theme;
use ratatui::style::Color;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snap(c: &mut Console, name: &str) {
    for (w, h) in SIZES {
        let screen = c.screen(w, h);
        insta::with_settings!({
            filters => vec![
                (r"S-[0-9A-F]{6}", "S-XXXXXX"),
                // An id half hidden behind a popup.
                (r"S-[0-9A-F]{1,5}\b", "S-XX"),
                // Measured, so different on every run.
                (r"\d+\.\d{3} / \d+\.\d{3} / \d+\.\d{3}", "<measured>"),
            ],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
        });
    }
}

/// A console with some history: a matched session, a waiting one, a pending one, an offline
/// waitlist entry notified by a clock-in.
fn busy() -> Console {
    let mut c = Console::demo();
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    c.key('a');
    c.advance(30);
    c.quick_intake(
        "Vancouver",
        "V6B 2W2",
        "Brakes grinding and the ABS light came on",
    );
    c.pane(1);
    c.leave_form();
    c.key('n');
    c.app
        .state_mut::<IntakeState>()
        .set("customer.name", "Zoe Paid");
    c.app
        .state_mut::<IntakeState>()
        .set("customer.email", "zoe@example.com");
    c.app
        .state_mut::<IntakeState>()
        .set("location.city", "Ottawa");
    c.app
        .state_mut::<IntakeState>()
        .set("location.postal_code", "K1P 5J9");
    c.app
        .state_mut::<IntakeState>()
        .set("concern", "Oil change and tire rotation");
    c.app
        .state_mut::<IntakeState>()
        .set("payment_method", "paid");
    c.app
        .state_mut::<IntakeState>()
        .set("payment_confirmed", "no");
    c.ctrl('s');
    c.advance(15);
    c
}

#[test]
fn intake_pane() {
    let mut c = Console::demo();
    snap(&mut c, "intake_empty");
    c.fill_intake(&[
        ("Ava Chen", true),
        ("ava@example.com", true),
        ("", true),
        ("", true),
        ("ON", true),
        ("Toronto", true),
        ("M5V 3L9", true),
        ("", true),
        ("", true),
        ("", true),
        ("My BMW check engine light is on", false),
    ]);
    snap(&mut c, "intake_preview");
    c.ctrl('s');
    snap(&mut c, "intake_result");
}

#[test]
fn offline_card() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    snap(&mut c, "offline_card");
    c.key('b');
    snap(&mut c, "offline_browse");
    c.key('w');
    snap(&mut c, "offline_waitlist");
}

#[test]
fn queues_pane_and_overlays() {
    let mut c = busy();
    c.pane(2);
    c.key('j');
    snap(&mut c, "queues");
    c.enter();
    snap(&mut c, "queues_detail");
    c.esc();
    c.key('x');
    snap(&mut c, "queues_confirm_cancel");
    c.key('n');
    c.advance(120);
    c.key('l'); // into the offers
    c.key('j');
    c.key('j');
    c.key('j');
    c.key('a');
    snap(&mut c, "queues_picker");
    c.esc();
    c.key('?');
    snap(&mut c, "help_queues");
}

#[test]
fn mechanics_pane() {
    let mut c = busy();
    c.pane(3);
    snap(&mut c, "mechanics");
    c.key('o');
    c.key('/');
    c.type_text("toronto");
    snap(&mut c, "mechanics_filtered");
}

#[test]
fn waitlist_pane() {
    let mut c = Console::demo();
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    c.key('w');
    c.enter();
    c.pane(4);
    snap(&mut c, "waitlist_waiting");
    c.pane(3);
    c.key('/');
    c.type_text("m-hfx-01");
    c.enter();
    c.key(' ');
    c.pane(4);
    snap(&mut c, "waitlist_notified");
}

#[test]
fn metrics_pane() {
    let mut c = busy();
    c.pane(5);
    snap(&mut c, "metrics");
}

#[test]
fn help_overlay_lists_the_footer_keys() {
    let mut c = Console::demo();
    // In the form `?` is text: Esc leaves it first.
    c.esc();
    c.key('?');
    snap(&mut c, "help_intake");
}

#[test]
fn too_small() {
    let mut c = Console::demo();
    insta::assert_snapshot!("too_small_60x20", c.screen(60, 20));
}

fn fg_of(c: &mut Console, text: &str) -> Option<Color> {
    let terminal = c.terminal(120, 40);
    let buffer = terminal.backend().buffer();
    for y in 0..buffer.area.height {
        let row: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        if let Some(at) = row.find(text) {
            let x = row[..at].chars().count() as u16;
            return buffer[(x, y)].fg.into();
        }
    }
    panic!("{text:?} not on screen");
}

#[test]
fn colours_carry_tiers_and_urgency_and_no_color_drops_them() {
    let mut c = Console::with_theme(Theme { color: true });
    c.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    c.pane(2);
    assert_eq!(fg_of(&mut c, "[HIGH]"), Some(Color::Green));
    assert_eq!(fg_of(&mut c, "[ALL ]"), Some(Color::Magenta));
    assert_eq!(fg_of(&mut c, "2:00"), Some(Color::Green));
    c.advance(112);
    assert_eq!(fg_of(&mut c, "0:08 !!"), Some(Color::Red));

    let mut mono = Console::with_theme(Theme { color: false });
    mono.quick_intake("Toronto", "M5V 3L9", "Check engine light is on");
    mono.pane(2);
    mono.advance(112);
    let terminal = mono.terminal(120, 40);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer.content().iter().all(|cell| cell.fg == Color::Reset),
        "NO_COLOR: no foreground colours"
    );
    assert!(
        mono.screen(120, 40).contains("0:08 !!"),
        "urgency still marked in text"
    );
}

#[test]
fn history_pane() {
    let mut c = busy();
    c.pane(6);
    snap(&mut c, "history");
    c.key('j');
    c.enter();
    snap(&mut c, "history_timeline");
}
