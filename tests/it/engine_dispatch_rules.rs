//! The dispatch rules of SPEC §3–§6 a supervisor relies on: capacity, who may wake a waitlist
//! entry, unanswered offers, escalation, the why-not list and the vehicle-make row — each on
//! the manual clock, and the stateful ones across a restart.

use crate::common;

use common::*;
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::error::ErrorCode;
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x["assignment"].as_str().map(str::to_string))
                .or_else(|| x["mechanic"].as_str().map(str::to_string))
                .unwrap()
        })
        .collect()
}

fn targeted_mechanics(outcome: &Value) -> Vec<String> {
    outcome["targeted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["mechanic"].as_str().unwrap().to_string())
        .collect()
}

fn closed_reason(e: &mut Engine, assignment: &str) -> Value {
    assignment_field(e, assignment, "closed_reason")
}

#[test]
fn a_busy_mechanic_is_ranked_but_offered_nothing_and_cannot_accept() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, intake("S2", json!({})));
    // t1 holds offers of S1 and S2; taking S1 fills his one place and withdraws the other.
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    assert_eq!(status_of(&mut e, "S2.t1"), "expired");
    assert_eq!(closed_reason(&mut e, "S2.t1"), "busy");

    let s3 = ok(&mut e, intake("S3", json!({})));
    assert_eq!(targeted_mechanics(&s3), ["t2", "t3", "t4"]);
    let t1 = s3["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mechanic"] == "t1")
        .unwrap();
    assert_eq!(t1["busy"], true);
    assert_eq!(s3["all_busy"], false);

    let refusal = refused(
        &mut e,
        json!({"cmd": "accept", "session": "S3", "mechanic": "t1"}),
        ErrorCode::AtCapacity,
    );
    assert_eq!(refusal.field.as_deref(), Some("mechanic"));
    // No open broadcast shows for a busy mechanic, even once S3's broadcast opens.
    ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t1"}));
    assert_eq!(q["open"], json!([]));
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S3", "mechanic": "t1"}),
        ErrorCode::AtCapacity,
    );

    // Completing frees the place: the broadcast is his to take again.
    ok(&mut e, json!({"cmd": "complete", "session": "S1"}));
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t1"}));
    assert!(ids(&q["open"]).contains(&"S3.b".to_string()), "{q}");
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S3", "mechanic": "t1"}),
    );
}

#[test]
fn when_every_on_shift_match_is_busy_the_broadcast_says_so() {
    let mut e = engine();
    ok(&mut e, mechanic("solo", true, json!({})));
    ok(&mut e, mechanic("away", false, json!({})));
    ok(&mut e, intake("S1", json!({})));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "solo"}),
    );
    let s2 = ok(&mut e, intake("S2", json!({})));
    assert_eq!(s2["all_busy"], true);
    assert_eq!(s2["all_offline"], false);
    assert_eq!(s2["targeted"], json!([]));
    assert_eq!(s2["broadcast"]["reason"], "all_matches_busy");
    let browse = ok(
        &mut e,
        json!({"cmd": "browse", "location": {"country": "Canada", "postal_code": "M5V 3L9"},
            "concern": "check engine light"}),
    );
    assert_eq!(browse["all_busy"], true);
}

#[test]
fn a_mechanic_with_room_for_two_takes_two() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic("pair", true, json!({"max_active_sessions": 2})),
    );
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, intake("S2", json!({})));
    ok(&mut e, intake("S3", json!({})));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "pair"}),
    );
    // One place left: his other offers stay live.
    assert_eq!(status_of(&mut e, "S2.t1"), "offered");
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "pair"}),
    );
    assert_eq!(closed_reason(&mut e, "S3.t1"), "busy");
    // S3 lost its only targeted offer, so its broadcast opened at once.
    assert_eq!(status_of(&mut e, "S3.b"), "offered");
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S3", "mechanic": "pair"}),
        ErrorCode::AtCapacity,
    );
}

#[test]
fn only_a_mechanic_who_can_serve_an_entry_wakes_it() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic(
            "volvo",
            false,
            json!({"is_brand_specialist": true,
            "brand_specializations": ["Volvo"], "city": "Halifax"}),
        ),
    );
    ok(
        &mut e,
        mechanic(
            "susp",
            false,
            json!({"account_status": "suspended", "city": "Montréal"}),
        ),
    );
    ok(&mut e, mechanic("general", false, json!({})));
    let s = ok(
        &mut e,
        intake(
            "V1",
            json!({"request_type": "brand_specialist", "brands": ["Volvo"]}),
        ),
    );
    assert_eq!(s["all_offline"], true);
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W1", "session": "V1", "notify_via": ["email", "sms"]}),
    );
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W2", "customer": {"name": "Bo", "email": "bo@example.com"}}),
    );

    // Suspended: wakes nobody.
    let c = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "susp"}));
    assert_eq!(c["notified"], json!([]));
    // Not a Volvo specialist: wakes the entry without a session only.
    let c = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "general"}));
    assert_eq!(c["notified"], json!(["W2"]));
    assert_eq!(c["offers"], json!([]));
    let w = ok(&mut e, json!({"cmd": "waitlist"}));
    let w1 = w["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "W1")
        .unwrap()
        .clone();
    assert_eq!(w1["status"], "waiting");

    // The Volvo specialist wakes it and gets a targeted offer on its session.
    let c = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "volvo"}));
    assert_eq!(c["notified"], json!(["W1"]));
    assert_eq!(c["offers"], json!(["V1.t1"]));
    // V1's broadcast opened at intake (nobody was on shift): he may take that too.
    assert_eq!(c["open"], 1);
    let n = ok(&mut e, json!({"cmd": "notifications"}));
    let to_w1: Vec<&Value> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["waitlist_id"] == "W1")
        .collect();
    assert_eq!(to_w1.len(), 2, "one per channel: {n}");
    assert!(to_w1[0]["body"].as_str().unwrap().contains("Halifax"));
}

#[test]
fn a_busy_mechanic_wakes_nobody_and_a_matched_session_closes_its_entries() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic("m1", true, json!({"years_experience": 20})),
    );
    ok(&mut e, mechanic("m2", true, json!({})));
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, intake("S2", json!({})));
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W2", "session": "S2"}),
    );
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "m1"}),
    );
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "m1"}));
    // m1 is busy with S1: clocking in again wakes nothing.
    let c = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "m1"}));
    assert_eq!(c["notified"], json!([]));
    // m2 takes S2: W2 is closed in that same transaction.
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "m2"}),
    );
    let w = ok(&mut e, json!({"cmd": "waitlist"}));
    assert_eq!(w["entries"][0]["id"], "W2");
    assert_eq!(w["entries"][0]["status"], "cancelled");
}

#[test]
fn three_unanswered_offers_clock_a_mechanic_out_and_an_answer_resets_the_count() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic("deaf", true, json!({"years_experience": 20})),
    );
    ok(&mut e, mechanic("ears", true, json!({})));
    for (i, wait) in [(1, 121), (2, 121)] {
        ok(&mut e, intake(&format!("S{i}"), json!({})));
        let t = ok(&mut e, json!({"cmd": "advance", "seconds": wait}));
        assert_eq!(t["auto_clocked_out"], json!([]));
    }
    // A decline in between starts the count again.
    ok(&mut e, intake("S3", json!({})));
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S3", "mechanic": "deaf"}),
    );
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S3", "mechanic": "ears"}),
    );
    for i in 4..=5 {
        ok(&mut e, intake(&format!("S{i}"), json!({})));
        let t = ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
        assert_eq!(t["auto_clocked_out"], json!([]), "S{i}");
    }
    ok(&mut e, intake("S6", json!({})));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    // deaf and ears both let S4–S6 lapse: three in a row each.
    assert_eq!(t["auto_clocked_out"], json!(["deaf", "ears"]));
    let m = ok(&mut e, json!({"cmd": "mechanics"}));
    assert!(
        m["mechanics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["currently_on_shift"] == false)
    );
    // Clocking in starts afresh: one more lapse is not a clock-out.
    ok(&mut e, json!({"cmd": "clock_in", "mechanic": "deaf"}));
    ok(&mut e, intake("S7", json!({})));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    assert_eq!(t["auto_clocked_out"], json!([]));
}

#[test]
fn escalation_comes_once_after_the_delay_a_supervisor_sets() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, intake("S2", json!({})));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "t1"}),
    );
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 599}));
    assert_eq!(t["escalated"], json!([]));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 1}));
    assert_eq!(t["escalated"], json!(["S1"]));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    assert_eq!(t["escalated"], json!([]), "once only");
    let s = ok(&mut e, json!({"cmd": "session", "id": "S1"}));
    assert_eq!(
        s["session"]["metadata"]["escalated_at"],
        "2026-01-05T14:10:00Z"
    );

    let set = ok(
        &mut e,
        json!({"cmd": "set_setting", "name": "escalate_after_seconds", "value": 60}),
    );
    assert_eq!(set["settings"]["escalate_after_seconds"], 60);
    ok(&mut e, intake("S3", json!({})));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 60}));
    assert_eq!(t["escalated"], json!(["S3"]));
    // A held session (pending) is not escalated: its clock has not started.
    ok(&mut e, intake("S4", json!({"waiver_signed": false})));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 3600}));
    assert_eq!(t["escalated"], json!([]));
}

#[test]
fn the_rules_hold_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rules.db");
    let open = || Engine::open(Some(&db), Clock::manual_default()).unwrap();
    {
        let mut e = open();
        ok(&mut e, mechanic("m1", true, json!({})));
        ok(&mut e, mechanic("m2", true, json!({})));
        ok(
            &mut e,
            json!({"cmd": "set_setting", "name": "escalate_after_seconds", "value": 300}),
        );
        ok(&mut e, intake("S1", json!({})));
        ok(
            &mut e,
            json!({"cmd": "accept", "session": "S1", "mechanic": "m1"}),
        );
        ok(&mut e, intake("S2", json!({})));
        ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
        ok(&mut e, intake("S3", json!({})));
        ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    }
    // A new process on the same file: m1 still busy, m2 two lapses into his streak, the delay
    // still five minutes.
    let mut e = open();
    ok(&mut e, json!({"cmd": "advance", "seconds": 242}));
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "m1"}),
        ErrorCode::AtCapacity,
    );
    ok(&mut e, intake("S4", json!({})));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    assert_eq!(t["auto_clocked_out"], json!(["m2"]));
    // S2 and S3 waited 300 s at the advance of 242 s or this one.
    let s2 = ok(&mut e, json!({"cmd": "session", "id": "S2"}));
    assert!(s2["session"]["metadata"]["escalated_at"].is_string());
}

#[test]
fn the_why_not_list_names_who_was_left_out() {
    let mut e = engine();
    ok(&mut e, mechanic("a-ok", true, json!({})));
    ok(
        &mut e,
        mechanic("b-susp", true, json!({"account_status": "suspended"})),
    );
    ok(
        &mut e,
        mechanic("c-pend", true, json!({"account_status": "pending"})),
    );
    ok(
        &mut e,
        mechanic("d-thin", true, json!({"profile_completion_score": 79})),
    );
    let s = ok(&mut e, intake("S1", json!({})));
    assert_eq!(s["excluded_total"], 3);
    let why: Vec<(String, String)> = s["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["mechanic"].as_str().unwrap().to_string(),
                x["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        why,
        [
            ("b-susp".to_string(), "suspended".to_string()),
            ("c-pend".to_string(), "pending_approval".to_string()),
            ("d-thin".to_string(), "profile_incomplete".to_string()),
        ]
    );
    let s = ok(
        &mut e,
        intake(
            "S2",
            json!({"request_type": "brand_specialist", "brands": ["BMW"]}),
        ),
    );
    assert_eq!(s["excluded_total"], 4);
    // Those who can take no session come first, then those this request rules out.
    assert_eq!(s["excluded"][3]["mechanic"], "a-ok");
    assert_eq!(s["excluded"][3]["reason"], "not_brand_specialist");

    // At most twenty are named; the total counts all.
    for i in 0..25 {
        ok(
            &mut e,
            mechanic(
                &format!("z{i:02}"),
                false,
                json!({"account_status": "pending"}),
            ),
        );
    }
    let s = ok(&mut e, intake("S3", json!({})));
    assert_eq!(s["excluded"].as_array().unwrap().len(), 20);
    assert_eq!(s["excluded_total"], 28);
}

#[test]
fn a_general_request_favours_a_mechanic_who_knows_the_make() {
    let mut e = engine();
    ok(&mut e, mechanic("plain", true, json!({})));
    ok(
        &mut e,
        mechanic("honda", true, json!({"brand_specializations": ["honda"]})),
    );
    let s = ok(&mut e, intake("S1", json!({})));
    assert_eq!(s["matches"][0]["mechanic"], "honda");
    let gap =
        s["matches"][0]["score"].as_i64().unwrap() - s["matches"][1]["score"].as_i64().unwrap();
    assert_eq!(gap, 20);
    assert!(
        s["matches"][0]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!({"reason": "Knows honda", "points": 20}))
    );
}

#[test]
fn eligibility_agrees_with_the_accept() {
    let mut e = engine();
    roster(&mut e);
    // Four BMW specialists on shift: the best three get targeted offers, the fourth must wait
    // for the broadcast.
    for (id, years) in [("bmw1", 20), ("bmw2", 15), ("bmw3", 12), ("bmw4", 1)] {
        ok(
            &mut e,
            mechanic(
                id,
                true,
                json!({"is_brand_specialist": true, "brand_specializations": ["BMW"],
                    "years_experience": years}),
            ),
        );
    }
    ok(
        &mut e,
        intake(
            "S1",
            json!({"request_type": "brand_specialist", "brands": ["BMW"]}),
        ),
    );
    ok(&mut e, intake("S2", json!({})));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "t1"}),
    );
    let el = ok(&mut e, json!({"cmd": "eligibility", "session": "S1"}));
    let rows = el["mechanics"].as_array().unwrap().clone();
    let reason_of = |id: &str| rows.iter().find(|r| r["mechanic"] == id).unwrap()["reason"].clone();
    assert_eq!(reason_of("bmw4"), "not_offered");
    assert_eq!(reason_of("t2"), "not_brand_specialist");
    assert_eq!(reason_of("off"), "not_brand_specialist");
    // Everyone it says may not take the session is refused by the accept, with the reason's
    // code; then the first it says may take it does.
    for row in rows.iter().filter(|r| r["may_take"] == false) {
        let mechanic = row["mechanic"].as_str().unwrap();
        let refusal = err(
            &mut e,
            json!({"cmd": "accept", "session": "S1", "mechanic": mechanic}),
        );
        let expected = match row["reason"].as_str().unwrap() {
            "off_shift" => ErrorCode::Offline,
            "at_capacity" => ErrorCode::AtCapacity,
            "not_offered" => ErrorCode::NotOffered,
            _ => ErrorCode::NotEligible,
        };
        assert_eq!(refusal.code, expected, "{row}");
    }
    let first = rows.iter().find(|r| r["may_take"] == true).unwrap();
    assert_eq!(first["mechanic"], "bmw1");
    // t1 is busy with S2: for a general session he is listed at capacity.
    ok(&mut e, intake("S3", json!({})));
    let el = ok(&mut e, json!({"cmd": "eligibility", "session": "S3"}));
    let t1 = el["mechanics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mechanic"] == "t1")
        .unwrap()
        .clone();
    assert_eq!(t1["reason"], "at_capacity");
    // Once the broadcast opens, bmw4 may take S1; a matched session is nobody's to take.
    ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    let el = ok(&mut e, json!({"cmd": "eligibility", "session": "S1"}));
    assert!(
        el["mechanics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["mechanic"] == "bmw4" && r["may_take"] == true)
    );
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "bmw4"}),
    );
    let refusal = err(&mut e, json!({"cmd": "eligibility", "session": "S1"}));
    assert_eq!(refusal.code, ErrorCode::InvalidState);
}

/// The console's snapshot shows at most 500 live sessions, newest first; an escalated session
/// is the oldest waiting one, and must not fall off the end of that list.
#[test]
fn escalated_sessions_stay_pinned_however_many_are_live() {
    let mut e = engine();
    ok(&mut e, mechanic("m1", false, json!({})));
    ok(&mut e, intake("OLD", json!({})));
    ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    for i in 0..pitwall::engine::views::SESSION_LIMIT {
        ok(&mut e, intake(&format!("N{i}"), json!({})));
    }
    let snapshot = e.snapshot(false).unwrap();
    assert_eq!(snapshot.escalated, 1);
    assert_eq!(snapshot.sessions[0].session.id, "OLD");
    assert!(snapshot.sessions[0].escalated());
}

/// A mechanic who finishes a session while on shift is as good as one clocking in: the waitlist
/// entries he can serve are woken, and he is offered their sessions.
#[test]
fn a_mechanic_freed_by_a_completed_session_wakes_the_waitlist() {
    let mut e = engine();
    ok(&mut e, mechanic("solo", true, json!({})));
    ok(&mut e, intake("S1", json!({})));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "solo"}),
    );
    let s2 = ok(&mut e, intake("S2", json!({})));
    assert_eq!(s2["all_busy"], true);
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W2", "session": "S2"}),
    );
    // Busy: clocking out and in again wakes nothing, and no open broadcast is his.
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "solo"}));
    let c = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "solo"}));
    assert_eq!(
        (&c["notified"], &c["offers"], &c["open"]),
        (&json!([]), &json!([]), &json!(0))
    );
    ok(&mut e, json!({"cmd": "complete", "session": "S1"}));
    let w = ok(&mut e, json!({"cmd": "waitlist"}));
    assert_eq!(w["entries"][0]["status"], "notified");
    assert_eq!(w["entries"][0]["notified_mechanic_id"], "solo");
    assert_eq!(status_of(&mut e, "S2.t1"), "offered");
}

/// The streak starts again after an accept, and a held offer withdrawn because its mechanic
/// became busy stays withdrawn when its session is released.
#[test]
fn an_accept_resets_the_streak_and_a_busy_mechanics_held_offer_stays_withdrawn() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic("m1", true, json!({"years_experience": 20})),
    );
    for i in 1..=2 {
        ok(&mut e, intake(&format!("L{i}"), json!({})));
        ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
    }
    ok(&mut e, intake("H1", json!({"waiver_signed": false})));
    ok(&mut e, intake("A1", json!({})));
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "A1", "mechanic": "m1"}),
    );
    assert_eq!(assignment_field(&mut e, "H1.t1", "closed_reason"), "busy");
    ok(&mut e, json!({"cmd": "sign_waiver", "session": "H1"}));
    assert_eq!(status_of(&mut e, "H1.t1"), "expired");
    // Free again: two more lapses are not three in a row, thanks to the accept.
    ok(&mut e, json!({"cmd": "complete", "session": "A1"}));
    for i in 3..=4 {
        ok(&mut e, intake(&format!("L{i}"), json!({})));
        let t = ok(&mut e, json!({"cmd": "advance", "seconds": 121}));
        assert_eq!(t["auto_clocked_out"], json!([]), "L{i}");
    }
}
