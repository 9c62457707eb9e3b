//! Hostile text on every pane and overlay, at 80×24 and 120×40, checked cell by cell (SPEC §7:
//! text is laid out by display width; format characters, flags and joined emoji never break a row
//! or leave stale cells).
//!
//! A terminal draws each code point at its own width (wcwidth): it knows nothing of emoji ZWJ
//! sequences, flags or skin-tone ligatures, and terminals disagree with each other on exactly
//! those. ratatui lays a cell out by the `unicode-width` of its whole grapheme. Wherever the two
//! differ, everything after the cell on that row lands in the wrong column on a real screen
//! (borders pushed out, `1:52` overwritten, stale cells left behind). So every cell that reaches
//! the buffer must be one both agree on, and each row must add up to exactly the screen width.

use crate::console;
use pitwall::tui::panes::intake::IntakeState;

use console::Console;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

const SOFT_HYPHEN: &str = "Ann\u{AD}Smith";
const FLAGS: &str = "🇨🇦🇺🇸";
const MECHANIC_EMOJI: &str = "👩\u{200D}🔧";
const FAMILY: &str = "👨\u{200D}👩\u{200D}👧";
const BIDI: &str = "\u{200F}Rashid\u{200E} \u{202E}kciR\u{202C} \u{2067}Iso\u{2069}";
const INVISIBLE: &str = "Jo\u{200B}e\u{FEFF} Wo\u{2060}rd\u{180E}";
const MIXED: &str = "界🇦👍🏽❤\u{FE0F}1\u{FE0F}\u{20E3}🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}Z\u{337}\u{322}\u{31B}\u{353}\u{319}\u{300}\u{301}\u{302}a";

fn long_word(unit: &str) -> String {
    unit.repeat(10_000)
}

fn sql(
    c: &mut Console,
    statement: pitwall::store::Sql<'_>,
    params: &[&dyn pitwall::store::db::ToValue],
) {
    let n = c.engine.connection().execute(statement, params).unwrap();
    assert!(n > 0, "{statement:?} changed nothing");
}

fn refresh(c: &mut Console) {
    c.advance(0);
}

/// The demo roster with hostile names, cities and specialties on the mechanics that sort first
/// and on those a Calgary intake is offered to. Written straight into the file, as another
/// program or an older pitwall could have: the engine's own length limits do not apply.
fn hostile_roster(c: &mut Console) {
    let names = [
        (
            "m-cal-01",
            format!("{SOFT_HYPHEN} {FLAGS} {MECHANIC_EMOJI}"),
        ),
        (
            "m-cal-02",
            format!("{FAMILY}{MECHANIC_EMOJI}{FAMILY} Priya"),
        ),
        ("m-cal-03", format!("{BIDI} {INVISIBLE}")),
        ("m-cal-04", long_word("W")),
        ("m-cal-05", MIXED.to_string()),
        ("m-edm-01", long_word(MECHANIC_EMOJI)),
        ("m-edm-02", long_word("界")),
        ("m-edm-03", long_word(FLAGS)),
        ("m-hfx-01", format!("Siobhan {FLAGS}{SOFT_HYPHEN}{FAMILY}")),
    ];
    for (id, name) in &names {
        sql(
            c,
            pitwall::sql!("UPDATE mechanics SET name = ?1 WHERE id = ?2"),
            &[name, id],
        );
    }
    let cities = [
        ("m-cal-03", format!("Calgary{FLAGS}{SOFT_HYPHEN}")),
        ("m-cal-04", long_word("🇨🇦")),
        ("m-cal-05", format!("{FAMILY} {BIDI}")),
        ("m-edm-01", long_word("Edmonton\u{AD}")),
    ];
    for (id, city) in &cities {
        sql(
            c,
            pitwall::sql!("UPDATE mechanics SET city = ?1 WHERE id = ?2"),
            &[city, id],
        );
    }
    let specialties = serde_json::to_string(&[
        format!("BMW {FLAGS}"),
        MECHANIC_EMOJI.to_string(),
        long_word("x"),
    ])
    .unwrap();
    sql(
        c,
        pitwall::sql!("UPDATE mechanics SET brand_specializations = ?1 WHERE id = 'm-cal-02'"),
        &[&specialties],
    );
    refresh(c);
}

/// What the terminal takes a symbol's width to be: the sum of its code points' widths.
fn terminal_width(symbol: &str) -> usize {
    symbol.chars().map(|ch| ch.width().unwrap_or(0)).sum()
}

/// Code points whose width terminals disagree on, or that reorder or hide text: none may reach
/// the screen.
fn forbidden(ch: char) -> bool {
    ch.is_control()
        || matches!(ch,
            '\u{AD}' | '\u{61C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{1F1E6}'..='\u{1F1FF}'   // regional indicators (flags)
            | '\u{1F3FB}'..='\u{1F3FF}'   // skin-tone modifiers
            | '\u{E0000}'..='\u{E007F}') // tags
}

/// Every cell of every row: a symbol both ratatui and a terminal give the same width, 1 or 2,
/// the cells a wide symbol covers left blank, and the row adding up to exactly the screen width.
fn assert_cells(buffer: &Buffer, what: &str) {
    let area = buffer.area;
    for y in 0..area.height {
        let mut x = 0;
        let mut total = 0;
        while x < area.width {
            let symbol = buffer[(x, y)].symbol();
            // Written out only when an assertion fails (the row is the whole line).
            let at = || {
                format!(
                    "{what}: cell ({x},{y}) {symbol:?} in row {:?}",
                    row(buffer, y)
                )
            };
            assert!(
                !symbol.contains(forbidden),
                "{}: forbidden code point",
                at()
            );
            let ratatui = if symbol.len() == 1 { 1 } else { symbol.width() };
            assert_eq!(ratatui, terminal_width(symbol), "{}: widths disagree", at());
            assert!((1..=2).contains(&ratatui), "{}: width {ratatui}", at());
            assert!(
                symbol.chars().count() <= 5,
                "{}: a stack of combining marks spills into the rows around it",
                at()
            );
            for covered in 1..ratatui as u16 {
                assert!(
                    x + covered < area.width,
                    "{}: runs off the right edge",
                    at()
                );
                let hidden = buffer[(x + covered, y)].symbol();
                assert!(
                    hidden == " " || hidden.is_empty(),
                    "{}: hides {hidden:?} under its right half",
                    at()
                );
            }
            total += ratatui;
            x += ratatui as u16;
        }
        assert_eq!(
            total,
            area.width as usize,
            "{what}: row {y} {:?}",
            row(buffer, y)
        );
    }
}

/// Rows 1 to height−3 belong to the pane: each starts and ends with its border.
fn assert_pane_borders(buffer: &Buffer, what: &str) {
    let area = buffer.area;
    for y in 1..area.height - 2 {
        let first = buffer[(0, y)].symbol();
        let last = buffer[(area.width - 1, y)].symbol();
        assert!(
            "│┌└".contains(first) && "│┐┘".contains(last),
            "{what}: row {y} lost its border: {:?}",
            row(buffer, y)
        );
    }
}

/// The box titled `title` is closed: its left and right sides run unbroken from its top corners
/// to its bottom corners.
fn assert_box(buffer: &Buffer, title: &str, what: &str) {
    let area = buffer.area;
    let (left, top) = (0..area.height)
        .find_map(|y| {
            let cells: Vec<&str> = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
            (0..area.width as usize)
                .find(|&x| cells[x] == "┌" && cells[x + 1..].concat().starts_with(title))
                .map(|x| (x as u16, y))
        })
        .unwrap_or_else(|| panic!("{what}: no box titled {title:?}"));
    let right = (left + 1..area.width)
        .find(|&x| buffer[(x, top)].symbol() == "┐")
        .unwrap_or_else(|| panic!("{what}: box {title:?} has no top right corner"));
    let mut y = top + 1;
    while buffer[(left, y)].symbol() == "│" {
        assert_eq!(
            buffer[(right, y)].symbol(),
            "│",
            "{what}: box {title:?} right side broken in row {:?}",
            row(buffer, y)
        );
        y += 1;
    }
    assert_eq!(
        (buffer[(left, y)].symbol(), buffer[(right, y)].symbol()),
        ("└", "┘"),
        "{what}: box {title:?} left side broken in row {:?}",
        row(buffer, y)
    );
}

fn row(buffer: &Buffer, y: u16) -> String {
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol())
        .collect()
}

/// Checks the screen at both sizes; `boxes` are overlay titles whose boxes must be closed.
fn check(c: &mut Console, what: &str, boxes: &[&str]) {
    for (w, h) in SIZES {
        let what = format!("{what} at {w}×{h}");
        let terminal = c.terminal(w, h);
        let buffer = terminal.backend().buffer();
        assert_cells(buffer, &what);
        assert_pane_borders(buffer, &what);
        for title in boxes {
            assert_box(buffer, title, &what);
        }
    }
}

/// The screen as text at both sizes, for a reader to see what a dispatcher sees.
fn snap(c: &mut Console, name: &str) {
    for (w, h) in SIZES {
        let screen = c.screen(w, h);
        insta::with_settings!({
            filters => vec![(r"S-[0-9A-F]{6}", "S-XXXXXX"), (r"S-[0-9A-F]{1,5}\b", "S-XX")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
        });
    }
}

/// At least `expected` lines holding a tier badge show an intact countdown (`m:ss`), at both
/// sizes.
fn assert_countdowns(c: &mut Console, what: &str, expected: usize) {
    for (w, h) in SIZES {
        let screen = c.screen(w, h);
        let offers: Vec<&str> = screen
            .lines()
            .filter(|l| ["[HIGH]", "[GOOD]", "[STD ]"].iter().any(|b| l.contains(b)))
            .collect();
        let with_clock = offers
            .iter()
            .filter(|l| {
                l.split_whitespace().any(|word| {
                    let b = word.as_bytes();
                    b.len() == 4
                        && b[0].is_ascii_digit()
                        && b[1] == b':'
                        && b[2..].iter().all(u8::is_ascii_digit)
                })
            })
            .count();
        assert!(
            with_clock >= expected,
            "{what} at {w}×{h}: {with_clock} of {expected} countdowns intact:\n{screen}"
        );
    }
}

#[test]
fn hostile_roster_and_customer_text_keep_every_row_intact() {
    let mut c = Console::demo();
    hostile_roster(&mut c);

    c.pane(3);
    check(&mut c, "mechanics", &[]);
    snap(&mut c, "hostile_mechanics");
    c.key('/');
    c.type_text(&format!("{FLAGS}{SOFT_HYPHEN}{FAMILY}\u{202E}"));
    check(&mut c, "mechanics filter", &[]);
    c.esc();

    // The dispatcher types hostile text; the form echoes it while editing and after.
    c.pane(1);
    c.leave_form();
    c.key('n');
    c.app
        .state_mut::<IntakeState>()
        .set("customer.email", "ann@example.com");
    c.app
        .state_mut::<IntakeState>()
        .set("location.province", "AB");
    c.app
        .state_mut::<IntakeState>()
        .set("location.city", "Calgary");
    c.app
        .state_mut::<IntakeState>()
        .set("location.postal_code", "T2P 1J9");
    c.app
        .state_mut::<IntakeState>()
        .set("concern", &format!("Brakes grinding {}", "Q".repeat(3000)));
    while c.app.state::<IntakeState>().focus > 0 {
        c.press(KeyCode::Up, KeyModifiers::NONE);
    }
    c.leave_form();
    c.enter();
    c.type_text(&format!("{SOFT_HYPHEN} {FLAGS} {MECHANIC_EMOJI}"));
    check(&mut c, "intake form, typing the name", &[]);
    for _ in 0..10 {
        c.enter();
    }
    c.type_text(&format!(" {FAMILY}{BIDI}{MIXED}"));
    check(&mut c, "intake form, typing the concern", &[]);
    c.esc();
    check(&mut c, "intake form and preview", &[]);
    c.ctrl('s');
    check(&mut c, "intake result", &[]);
    assert_countdowns(&mut c, "intake result", 3);

    // A customer name and concern no form would take, as another program could have stored.
    let session = c.only_session().id;
    let intake = c
        .engine
        .connection()
        .query_row(
            pitwall::sql!("SELECT intake_id FROM sessions WHERE id = ?1"),
            [&session],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    sql(
        &mut c,
        pitwall::sql!(
            "UPDATE intakes SET customer_name = ?1, location_city = ?2, concern = ?3 WHERE id = ?4"
        ),
        &[
            &long_word(MECHANIC_EMOJI),
            &format!("{FLAGS}{SOFT_HYPHEN}"),
            &format!("{}{}", long_word("界"), long_word(FLAGS)),
            &intake,
        ],
    );
    c.advance(8);
    c.pane(2);
    check(&mut c, "queues", &[]);
    assert_countdowns(&mut c, "queues", 3);
    assert!(c.screen(120, 40).contains("1:52"));
    snap(&mut c, "hostile_queues");
    c.enter();
    check(&mut c, "session detail", &[" Session detail"]);
    c.esc();
    c.key('x');
    check(&mut c, "confirm cancel", &[" Confirm "]);
    c.key('n');
    c.advance(120);
    c.key('l'); // into the offers
    for _ in 0..3 {
        c.key('j');
    }
    c.key('a');
    check(&mut c, "broadcast picker", &[" Accept as "]);
    snap(&mut c, "hostile_picker");
    c.esc();

    // A hostile mechanic clocks in: the toast, the waitlist and its notification feed.
    c.brand_intake("Halifax", "B3H 1A1", "Volvo engine misfire", "Volvo");
    c.key('w');
    c.enter();
    let waitlisted = c
        .app
        .state::<IntakeState>()
        .result
        .as_ref()
        .expect("the offline card")
        .outcome
        .session
        .id
        .clone();
    sql(
        &mut c,
        pitwall::sql!("UPDATE customer_waitlist SET customer_name = ?1 WHERE session_id = ?2"),
        &[&format!("{FAMILY} {}", long_word("Ü")), &waitlisted],
    );
    c.pane(3);
    c.key('/');
    c.type_text("m-hfx-01");
    c.enter();
    c.key(' ');
    check(&mut c, "clock-in toast", &[]);
    c.pane(4);
    check(&mut c, "waitlist", &[]);
    snap(&mut c, "hostile_waitlist");
    c.pane(3);
    c.key('/');
    c.esc();
    c.pane(5);
    check(&mut c, "metrics", &[]);
    c.key('?');
    check(&mut c, "help", &[" Help"]);
}

#[test]
fn clock_out_confirm_names_a_hostile_mechanic_in_one_piece() {
    let mut c = Console::demo();
    hostile_roster(&mut c);
    c.quick_intake("Calgary", "T2P 1J9", "Check engine light is on");
    c.pane(3);
    c.key('/');
    c.type_text("m-cal-01");
    c.enter();
    c.key(' ');
    check(&mut c, "clock-out confirm", &[" Confirm "]);
}
