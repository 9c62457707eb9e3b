//! Scheduling for later (SPEC §14) on the manual clock: weekly plans, bookings, their release
//! by the tick, and the slots a dispatcher books from — including the weeks the clocks change.

use crate::common;

use chrono::{DateTime, Utc};
use common::{err, intake, mechanic, ok, refused};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::error::ErrorCode;
use serde_json::{Value, json};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn engine_at(start: &str) -> Engine {
    Engine::open(None, Clock::Manual(at(start))).expect("in-memory database")
}

fn weekdays(start: &str, end: &str) -> Value {
    let days = ["mon", "tue", "wed", "thu", "fri"];
    Value::Array(
        days.iter()
            .map(|d| json!({"day": d, "start": start, "end": end}))
            .collect(),
    )
}

/// Three mechanics with plans: Toronto 08–16 weekdays (on shift now), Halifax 08–16 weekdays
/// (off shift), Calgary 12–20 weekdays (off shift). Monday 5 January 2026, 14:00Z is the start.
fn planned_roster(engine: &mut Engine) {
    ok(
        engine,
        mechanic(
            "tor",
            true,
            json!({"timezone": "America/Toronto", "shifts": weekdays("08:00", "16:00"),
                   "years_experience": 12, "rating": 4.9}),
        ),
    );
    ok(
        engine,
        mechanic(
            "hfx",
            false,
            json!({"timezone": "America/Halifax", "shifts": weekdays("08:00", "16:00"),
                   "city": "Halifax", "state_province": "NS", "postal_code": "B3H 2Y9"}),
        ),
    );
    ok(
        engine,
        mechanic(
            "cal",
            false,
            json!({"timezone": "America/Edmonton", "shifts": weekdays("12:00", "20:00"),
                   "city": "Calgary", "state_province": "AB", "postal_code": "T2P 1J9"}),
        ),
    );
    // Eligible, but no plan: never planned, never in a slot.
    ok(engine, mechanic("noplan", false, json!({})));
}

fn booking(id: &str, when: &str, extra: Value) -> Value {
    let mut i = intake(id, json!({"scheduled_for": when}));
    common::merge(&mut i, extra);
    i
}

fn session(engine: &mut Engine, id: &str) -> Value {
    ok(engine, json!({"cmd": "session", "id": id}))["session"].clone()
}

#[test]
fn plans_are_validated_naming_the_entry_and_change_nothing_when_refused() {
    let mut e = common::engine();
    let bad = |extra: Value| mechanic("m1", false, extra);
    let cases = [
        (json!({"timezone": "Mars/Base"}), "timezone"),
        (
            json!({"shifts": [{"day": "mon", "start": "08:00", "end": "16:00"},
                              {"day": "tue", "start": "08:00", "end": "16:00"},
                              {"day": "wed", "start": "8:00", "end": "16:00"}]}),
            "shifts[2].start",
        ),
        (
            json!({"shifts": [{"day": "someday", "start": "08:00", "end": "16:00"}]}),
            "shifts[0].day",
        ),
        (
            json!({"shifts": [{"day": "mon", "start": "08:00", "end": "25:00"}]}),
            "shifts[0].end",
        ),
        (
            json!({"shifts": [{"day": "mon", "start": "08:00", "end": "16:00"},
                              {"day": "mon", "start": "12:00", "end": "18:00"}]}),
            "shifts[1].start",
        ),
        (
            json!({"shifts": [{"day": "mon", "start": "08:00", "end": "16:00", "note": 1}]}),
            "shifts[0].note",
        ),
    ];
    for (extra, field) in cases {
        let e2 = refused(&mut e, bad(extra.clone()), ErrorCode::InvalidInput);
        assert_eq!(e2.field.as_deref(), Some(field), "{extra}");
    }
    // Stored and shown as given; the zone defaults to Toronto.
    let m = ok(
        &mut e,
        mechanic("m1", false, json!({"shifts": weekdays("08:00", "16:00")})),
    );
    assert_eq!(m["mechanic"]["timezone"], "America/Toronto");
    assert_eq!(m["mechanic"]["shifts"], weekdays("08:00", "16:00"));
    // set_shifts replaces the plan, keeps the zone unless given, and refuses as add_mechanic.
    let night = json!([{"day": "fri", "start": "22:00", "end": "06:00"}]);
    let m = ok(
        &mut e,
        json!({"cmd": "set_shifts", "mechanic": "m1", "shifts": night}),
    );
    assert_eq!(m["mechanic"]["shifts"], night);
    assert_eq!(m["mechanic"]["timezone"], "America/Toronto");
    let m = ok(
        &mut e,
        json!({"cmd": "set_shifts", "mechanic": "m1", "timezone": "America/Halifax",
               "shifts": []}),
    );
    assert_eq!(m["mechanic"]["timezone"], "America/Halifax");
    let e2 = refused(
        &mut e,
        json!({"cmd": "set_shifts", "mechanic": "m1",
               "shifts": [{"day": "mon", "start": "16:00", "end": "16:00"}]}),
        ErrorCode::InvalidInput,
    );
    assert_eq!(e2.field.as_deref(), Some("shifts[0].end"));
    refused(
        &mut e,
        json!({"cmd": "set_shifts", "mechanic": "ghost", "shifts": []}),
        ErrorCode::NotFound,
    );
}

#[test]
fn a_seed_file_error_names_the_record_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seeds.json");
    let mut first = mechanic("a", false, json!({}));
    let mut second = mechanic(
        "b",
        false,
        json!({"shifts": [{"day": "mon", "start": "09:00", "end": "17:00"},
                          {"day": "tue", "start": "9am", "end": "17:00"}]}),
    );
    for m in [&mut first, &mut second] {
        m.as_object_mut().unwrap().remove("cmd");
    }
    std::fs::write(&path, json!([first, second]).to_string()).unwrap();
    let mut e = common::engine();
    let e2 = refused(
        &mut e,
        json!({"cmd": "load_seeds", "path": path.to_str().unwrap()}),
        ErrorCode::InvalidInput,
    );
    assert_eq!(e2.field.as_deref(), Some("[1].shifts[1].start"));
}

#[test]
fn a_booking_is_stored_scheduled_without_offers_and_names_who_is_planned() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    // Tuesday 6 January, 17:30Z: Toronto 12:30 (tor planned), Halifax 13:30 (hfx planned),
    // Calgary 10:30 (cal not yet).
    let out = ok(&mut e, booking("B1", "2026-01-06T17:30:00Z", json!({})));
    assert_eq!(out["session"]["status"], "scheduled");
    assert_eq!(out["scheduled_for"], "2026-01-06T17:30:00Z");
    assert!(out.get("targeted").is_none() && out.get("broadcast").is_none());
    let planned: Vec<&str> = out["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mechanic"].as_str().unwrap())
        .collect();
    assert_eq!(planned, ["tor", "hfx"], "ranked by §3: tor scores higher");
    assert!(out["planned"][0]["score"].as_i64() > out["planned"][1]["score"].as_i64());
    let s = session(&mut e, "B1");
    assert_eq!(s["status"], "scheduled");
    assert_eq!(s["assignments"], json!([]));
    assert_eq!(s["released_at"], Value::Null);
    // At 19:30Z Calgary is 12:30 too: all three.
    let out = ok(&mut e, booking("B2", "2026-01-06T19:30:00Z", json!({})));
    assert_eq!(out["planned"].as_array().unwrap().len(), 3);
}

#[test]
fn a_booking_time_must_be_rfc3339_between_15_minutes_and_14_days_ahead() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    for bad in [
        "2026-01-05T14:14:59Z",
        "2026-01-05T13:00:00Z",
        "2026-01-19T14:00:01Z",
        "tomorrow",
        "2026-01-06 15:00",
    ] {
        let e2 = refused(
            &mut e,
            booking("B", bad, json!({})),
            ErrorCode::InvalidInput,
        );
        assert_eq!(e2.field.as_deref(), Some("scheduled_for"), "{bad}");
    }
    ok(&mut e, booking("B15", "2026-01-05T14:15:00Z", json!({})));
    ok(&mut e, booking("B14d", "2026-01-19T14:00:00Z", json!({})));
    // An offset is read as the instant it names.
    let out = ok(
        &mut e,
        booking("Boff", "2026-01-06T12:30:00-05:00", json!({})),
    );
    assert_eq!(out["scheduled_for"], "2026-01-06T17:30:00Z");
    // The rest of the intake is validated as any other.
    let e2 = refused(
        &mut e,
        booking("Bx", "2026-01-06T17:30:00Z", json!({"concern": ""})),
        ErrorCode::InvalidInput,
    );
    assert_eq!(e2.field.as_deref(), Some("concern"));
}

#[test]
fn the_tick_releases_ten_minutes_ahead_and_makes_a_targeted_offer_then() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    ok(&mut e, booking("B1", "2026-01-05T15:00:00Z", json!({})));
    // 14:49:59: not yet.
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 2999}));
    assert_eq!(t["released"], json!([]));
    assert_eq!(session(&mut e, "B1")["status"], "scheduled");
    // 14:50:00: released, matched among those on shift now (tor), offers live from now.
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 1}));
    assert_eq!(t["released"], json!(["B1"]));
    let s = session(&mut e, "B1");
    assert_eq!(s["status"], "waiting");
    assert_eq!(s["released_at"], "2026-01-05T14:50:00Z");
    assert_eq!(s["metadata"]["smart_matching"], true);
    assert_eq!(s["metadata"]["release"]["all_offline"], false);
    let a = s["assignments"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0]["mechanic_id"], "tor");
    assert_eq!(a[0]["status"], "offered");
    assert_eq!(a[0]["expires_at"], "2026-01-05T14:52:00Z");
    assert_eq!(a[1]["metadata"]["match_type"], "broadcast");
    assert_eq!(a[1]["active_from"], "2026-01-05T14:52:00Z");
    // The offer is told to the mechanic, as at intake.
    let n = ok(&mut e, json!({"cmd": "notifications"}));
    assert!(
        n["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "offer" && n["recipient"] == "tor@example.ca")
    );
    // Released once only.
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    assert_eq!(t["released"], json!([]));
    // He takes it, within ten minutes of its time: the report counts it.
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "B1", "mechanic": "tor"}),
    );
    let r = ok(&mut e, json!({"cmd": "report"}));
    assert_eq!(
        r["scheduled"],
        json!({"booked": 1, "awaiting_release": 0, "matched_within_10_min": 1})
    );
}

#[test]
fn a_release_honours_the_preferred_mechanic_on_shift_then() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    for id in ["x1", "x2", "x3"] {
        ok(
            &mut e,
            mechanic(id, true, json!({"years_experience": 20, "rating": 5.0})),
        );
    }
    ok(
        &mut e,
        booking(
            "B1",
            "2026-01-05T15:00:00Z",
            json!({"preferred_mechanic": "hfx"}),
        ),
    );
    ok(&mut e, json!({"cmd": "clock_in", "mechanic": "hfx"}));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 3000}));
    assert_eq!(t["released"], json!(["B1"]));
    let s = session(&mut e, "B1");
    let offered: Vec<(&str, &str)> = s["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["metadata"]["match_type"] == "targeted")
        .map(|a| {
            (
                a["mechanic_id"].as_str().unwrap(),
                a["metadata"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(offered.len(), 4, "{offered:?}");
    assert!(
        offered.contains(&("hfx", "preferred_mechanic")),
        "{offered:?}"
    );
}

#[test]
fn a_release_with_nobody_on_shift_falls_back_as_an_intake_would() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "tor"}));
    ok(&mut e, booking("B1", "2026-01-05T15:00:00Z", json!({})));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 3000}));
    assert_eq!(t["released"], json!(["B1"]));
    let s = session(&mut e, "B1");
    assert_eq!(s["status"], "waiting");
    assert_eq!(s["metadata"]["release"]["all_offline"], true);
    let a = s["assignments"].as_array().unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["metadata"]["reason"], "no_online_matches");
    assert_eq!(a[0]["active_from"], "2026-01-05T14:50:00Z", "open at once");
    // The waitlist takes it, and a clock-in wakes it with a targeted offer.
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W1", "session": "B1"}),
    );
    // Unanswered, it escalates ten minutes after its release.
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    assert_eq!(t["escalated"], json!(["B1"]));
    let c = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "hfx"}));
    assert_eq!(c["notified"], json!(["W1"]));
    assert_eq!(c["offers"].as_array().unwrap().len(), 1);
}

#[test]
fn a_held_gate_releases_into_pending_and_a_cleared_one_into_waiting() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    ok(
        &mut e,
        booking(
            "B1",
            "2026-01-05T15:00:00Z",
            json!({"payment_method": "paid", "payment_confirmed": false}),
        ),
    );
    ok(
        &mut e,
        booking(
            "B2",
            "2026-01-05T15:00:00Z",
            json!({"waiver_signed": false}),
        ),
    );
    // A gate cleared before the time: the booking stays scheduled.
    let w = ok(&mut e, json!({"cmd": "sign_waiver", "session": "B2"}));
    assert_eq!(w["session"]["status"], "scheduled");
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 3000}));
    assert_eq!(t["released"], json!(["B1", "B2"]));
    let s = session(&mut e, "B1");
    assert_eq!(s["status"], "pending");
    assert_eq!(s["released_at"], Value::Null);
    assert_eq!(s["assignments"][0]["status"], "queued");
    assert_eq!(s["assignments"][0]["expires_at"], Value::Null);
    let p = ok(&mut e, json!({"cmd": "confirm_payment", "session": "B1"}));
    assert_eq!(p["session"]["status"], "waiting");
    assert_eq!(session(&mut e, "B1")["assignments"][0]["status"], "offered");
    assert_eq!(session(&mut e, "B2")["status"], "waiting");
}

#[test]
fn a_cancelled_booking_is_never_released() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    ok(&mut e, booking("B1", "2026-01-05T15:00:00Z", json!({})));
    let c = ok(&mut e, json!({"cmd": "cancel", "session": "B1"}));
    assert_eq!(c["session"]["status"], "cancelled");
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 3600}));
    assert_eq!(t["released"], json!([]));
    let s = session(&mut e, "B1");
    assert_eq!(s["status"], "cancelled");
    assert_eq!(s["assignments"], json!([]));
    let e2 = err(&mut e, json!({"cmd": "cancel", "session": "B1"}));
    assert_eq!(e2.code, ErrorCode::InvalidState);
    let r = ok(&mut e, json!({"cmd": "report"}));
    assert_eq!(r["scheduled"]["booked"], 1);
    assert_eq!(r["scheduled"]["matched_within_10_min"], 0);
}

#[test]
fn a_booking_cannot_be_accepted_before_its_release() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    ok(&mut e, booking("B1", "2026-01-05T15:00:00Z", json!({})));
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "B1", "mechanic": "tor"}),
        ErrorCode::InvalidState,
    );
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "tor"}));
    assert_eq!(q["open"], json!([]));
}

fn slots(engine: &mut Engine, extra: Value) -> Vec<(String, i64, Vec<String>)> {
    let mut cmd = json!({"cmd": "slots", "concern": "check engine light",
        "location": {"country": "Canada", "postal_code": "M5V 3L9"}});
    common::merge(&mut cmd, extra);
    ok(engine, cmd)["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_string(),
                s["mechanics"].as_i64().unwrap(),
                s["top"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn slots_list_bookable_hours_with_planned_mechanics_best_first_within_each_day() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    let day = slots(&mut e, json!({"from": "2026-01-06T00:00:00Z", "days": 1}));
    // Tuesday: hfx 12–20Z, tor 13–21Z, cal 19Z–03Z (and Monday's until 03Z). Busiest first,
    // then by hour.
    let starts: Vec<(&str, i64)> = day.iter().map(|(s, n, _)| (&s[11..16], *n)).collect();
    assert_eq!(
        starts,
        [
            ("19:00", 3),
            ("13:00", 2),
            ("14:00", 2),
            ("15:00", 2),
            ("16:00", 2),
            ("17:00", 2),
            ("18:00", 2),
            ("20:00", 2),
            ("00:00", 1),
            ("01:00", 1),
            ("02:00", 1),
            ("12:00", 1),
            ("21:00", 1),
            ("22:00", 1),
            ("23:00", 1),
        ]
    );
    assert_eq!(day[0].2, ["Mechanic tor", "Mechanic cal", "Mechanic hfx"]);
    // From now: the first hour is the first one bookable (15 minutes ahead: 15:00Z), and
    // days come in order.
    let week = slots(&mut e, json!({}));
    assert!(
        week.iter()
            .all(|(s, _, _)| s.as_str() >= "2026-01-05T15:00:00Z")
    );
    let days: Vec<&str> = week.iter().map(|(s, _, _)| &s[..10]).collect();
    assert!(days.is_sorted());
    assert!(
        week.iter()
            .all(|(s, _, _)| s.as_str() < "2026-01-12T14:00:00Z")
    );
    // A brand request counts only its specialists: none has a plan.
    assert!(
        slots(
            &mut e,
            json!({"request_type": "brand_specialist", "brands": ["BMW"]})
        )
        .is_empty()
    );
    for (bad, field) in [
        (json!({"days": 0}), "days"),
        (json!({"days": 15}), "days"),
        (json!({"from": "soon"}), "from"),
        (json!({"request_type": "brand_specialist"}), "brands"),
    ] {
        let mut cmd = json!({"cmd": "slots"});
        common::merge(&mut cmd, bad.clone());
        let e2 = err(&mut e, cmd);
        assert_eq!(e2.field.as_deref(), Some(field), "{bad}");
    }
}

/// A plan is wall-clock time: 08:00–16:00 Toronto is 13–21Z in winter and 12–20Z in summer,
/// in slots, in who a booking names as planned, and in who the release finds expected.
#[test]
fn the_march_change_moves_the_utc_hours_of_a_plan_not_its_local_ones() {
    let mut e = engine_at("2026-03-04T12:00:00Z");
    planned_roster(&mut e);
    let friday = slots(&mut e, json!({"from": "2026-03-06T00:00:00Z", "days": 1}));
    let monday = slots(&mut e, json!({"from": "2026-03-09T00:00:00Z", "days": 1}));
    let hours_of = |slots: &[(String, i64, Vec<String>)], who: &str| -> Vec<String> {
        let mut h: Vec<String> = slots
            .iter()
            .filter(|(_, _, top)| top.iter().any(|n| n == who))
            .map(|(s, _, _)| s[11..13].to_string())
            .collect();
        h.sort();
        h
    };
    let winter: Vec<String> = (13..21).map(|h| format!("{h:02}")).collect();
    let summer: Vec<String> = (12..20).map(|h| format!("{h:02}")).collect();
    assert_eq!(hours_of(&friday, "Mechanic tor"), winter);
    assert_eq!(hours_of(&monday, "Mechanic tor"), summer);
    // A booking at 12:30Z: not planned on Friday (07:30 EST), planned on Monday (08:30 EDT).
    let fri = ok(&mut e, booking("F", "2026-03-06T12:30:00Z", json!({})));
    let mon = ok(&mut e, booking("M", "2026-03-09T12:30:00Z", json!({})));
    let names = |o: &Value| -> Vec<String> {
        o["planned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mechanic"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!names(&fri).contains(&"tor".to_string()));
    assert!(names(&mon).contains(&"tor".to_string()));
}

#[test]
fn the_november_change_moves_the_utc_hours_of_a_plan_not_its_local_ones() {
    let mut e = engine_at("2026-10-28T12:00:00Z");
    planned_roster(&mut e);
    let friday = slots(&mut e, json!({"from": "2026-10-30T00:00:00Z", "days": 1}));
    let monday = slots(&mut e, json!({"from": "2026-11-02T00:00:00Z", "days": 1}));
    let first_hour = |slots: &[(String, i64, Vec<String>)], who: &str| -> String {
        slots
            .iter()
            .filter(|(_, _, top)| top.iter().any(|n| n == who))
            .map(|(s, _, _)| s[11..16].to_string())
            // The evening before spills past midnight UTC for Calgary.
            .filter(|h| h.as_str() >= "06:00")
            .min()
            .unwrap()
    };
    // Halifax 08:00: ADT (UTC−3) on Friday 30 October, AST (UTC−4) on Monday 2 November.
    assert_eq!(first_hour(&friday, "Mechanic hfx"), "11:00");
    assert_eq!(first_hour(&monday, "Mechanic hfx"), "12:00");
    // Calgary 12:00: MDT then MST.
    assert_eq!(first_hour(&friday, "Mechanic cal"), "18:00");
    assert_eq!(first_hour(&monday, "Mechanic cal"), "19:00");
}

#[test]
fn a_tick_with_nothing_due_releases_nothing_and_check_passes_throughout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut e = Engine::open(Some(&db), Clock::Manual(at("2026-01-05T14:00:00Z"))).unwrap();
    planned_roster(&mut e);
    ok(&mut e, booking("B1", "2026-01-05T16:00:00Z", json!({})));
    ok(&mut e, booking("B2", "2026-01-05T17:00:00Z", json!({})));
    ok(&mut e, json!({"cmd": "cancel", "session": "B2"}));
    let t = ok(&mut e, json!({"cmd": "tick"}));
    assert_eq!(t["released"], json!([]));
    let check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["check", "--db", db.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    ok(&mut e, json!({"cmd": "advance", "seconds": 6600}));
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A booking that cannot be released (its intake row removed behind the engine's back) is left
/// as it is and the tick goes on: the other booking is released and a lapsed offer expires in
/// the same tick, and nothing of the broken release is written.
#[test]
fn a_booking_that_cannot_be_released_does_not_stop_the_tick() {
    let mut e = engine_at("2026-01-05T14:00:00Z");
    planned_roster(&mut e);
    ok(&mut e, intake("NOW", json!({})));
    ok(&mut e, booking("B1", "2026-01-05T14:30:00Z", json!({})));
    ok(&mut e, booking("B2", "2026-01-05T14:30:00Z", json!({})));
    e.connection()
        .execute_batch(pitwall::sql!(
            "PRAGMA foreign_keys = OFF; DELETE FROM intakes WHERE id = 'B2'; \
             PRAGMA foreign_keys = ON;"
        ))
        .unwrap();
    // 14:20: both due; NOW's targeted offer lapsed at 14:02.
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 1200}));
    assert_eq!(t["released"], json!(["B1"]));
    assert!(!t["expired"].as_array().unwrap().is_empty(), "{t}");
    let (status, offers): (String, i64) = e
        .connection()
        .query_row(
            pitwall::sql!(
                "SELECT status, (SELECT COUNT(*) FROM session_assignments WHERE session_id = 'B2') \
             FROM sessions WHERE id = 'B2'"
            ),
            pitwall::params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), offers), ("scheduled", 0));
    assert_eq!(session(&mut e, "B1")["status"], "waiting");
}
