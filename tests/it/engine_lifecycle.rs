//! Each rule of the session factory, offer lifecycle and waitlist (SPEC §4–§6), on an
//! in-memory database with the manual clock.

use crate::common;

use common::*;
use pitwall::error::ErrorCode;
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x.as_str()
                .map(String::from)
                .unwrap_or_else(|| x["assignment"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn intake_offers_the_top_three_on_shift_and_holds_the_broadcast() {
    let mut e = engine();
    roster(&mut e);
    let out = ok(&mut e, intake("S1", json!({})));
    assert_eq!(out["session"], json!({"id": "S1", "status": "waiting"}));
    assert_eq!(out["keywords"], json!(["check engine light"]));
    assert_eq!(out["smart_matching"], json!(true));
    let targeted: Vec<(&str, &str)> = out["targeted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["mechanic"].as_str().unwrap(),
                t["expires_at"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targeted,
        [
            ("t1", "2026-01-05T14:02:00Z"),
            ("t2", "2026-01-05T14:02:00Z"),
            ("t3", "2026-01-05T14:02:00Z")
        ]
    );
    assert_eq!(
        out["broadcast"],
        json!({"assignment": "S1.b", "active_from": "2026-01-05T14:02:00Z", "reason": "fallback_if_no_targeted_accepts"})
    );
    assert_eq!(out["all_offline"], json!(false));
    // Matches include the offline mechanic, ranked after an on-shift one with the same score.
    let matches: Vec<(&str, i64)> = out["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mechanic"].as_str().unwrap(),
                m["score"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        matches,
        [
            ("t1", 209),
            ("t2", 204),
            ("t3", 194),
            ("t4", 179),
            ("off", 179)
        ]
    );
    for m in out["matches"].as_array().unwrap() {
        let sum: i64 = m["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["points"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, m["score"].as_i64().unwrap());
    }

    let session = ok(&mut e, json!({"cmd": "session", "id": "S1"}));
    let meta = &session["session"]["metadata"];
    assert_eq!(meta["customer_postal_code"], "M5V 3L9");
    assert_eq!(meta["customer_city"], "Toronto");
    assert_eq!(meta["source"], "intake");
    assert_eq!(meta["matching_results"]["total_matches"], 5);
    assert!(meta["matching_latency_ms"].as_f64().unwrap() >= 0.0);
    let a = &session["session"]["assignments"];
    assert_eq!(a.as_array().unwrap().len(), 4);
    assert_eq!(a[0]["priority"], "high");
    assert_eq!(a[0]["metadata"]["match_type"], "targeted");
    assert_eq!(a[0]["match_score"], 209);
    assert_eq!(a[3]["status"], "queued");
    assert_eq!(a[3]["priority"], "normal");
    assert_eq!(a[3]["mechanic_id"], Value::Null);
}

#[test]
fn accept_has_exactly_one_winner_and_closes_the_rest() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, json!({"cmd": "advance", "seconds": 30}));
    let won = ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t2"}),
    );
    assert_eq!(won["assignment"], "S1.t2");
    assert_eq!(won["session"]["status"], "matched");
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
        ErrorCode::AlreadyTaken,
    );
    let s = ok(&mut e, json!({"cmd": "session", "id": "S1"}));
    assert_eq!(s["session"]["matched_mechanic_id"], "t2");
    assert_eq!(s["session"]["matched_at"], "2026-01-05T14:00:30Z");
    for a in s["session"]["assignments"].as_array().unwrap() {
        if a["id"] == "S1.t2" {
            assert_eq!(a["status"], "accepted");
        } else {
            assert_eq!(
                (a["status"].as_str(), a["closed_reason"].as_str()),
                (Some("cancelled"), Some("taken"))
            );
        }
    }
    // The database itself refuses a second accepted row.
    let conn = e.connection();
    let second = conn.execute(
        pitwall::sql!("UPDATE session_assignments SET status = 'accepted' WHERE id = 'S1.t1'"),
        pitwall::params![],
    );
    assert!(
        second.is_err(),
        "unique partial index must refuse a second winner"
    );
}

#[test]
fn declining_every_targeted_offer_opens_the_broadcast_at_once() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t4"}),
        ErrorCode::NotOffered,
    );
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t1"}),
    );
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t2"}),
    );
    assert_eq!(status_of(&mut e, "S1.b"), "queued");
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t3"}),
    );
    assert_eq!(status_of(&mut e, "S1.b"), "offered");
    assert_eq!(status_of(&mut e, "S1.t1"), "declined");
    refused(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t1"}),
        ErrorCode::NotOffered,
    );
    // Anyone eligible on shift may now take it, even a mechanic who declined.
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t4"}));
    assert_eq!(ids(&q["open"]), ["S1.b"]);
    assert_eq!(q["open"][0]["tier"], "Open to all mechanics");
    let won = ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t4"}),
    );
    assert_eq!(won["assignment"], "S1.b");
    let s = ok(&mut e, json!({"cmd": "session", "id": "S1"}));
    assert_eq!(
        s["session"]["assignments"][3]["mechanic_id"], "t4",
        "the broadcast records its taker"
    );
}

#[test]
fn offers_expire_after_two_minutes_and_the_broadcast_opens() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let early = ok(&mut e, json!({"cmd": "advance", "seconds": 119}));
    assert_eq!(early["expired"], json!([]));
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t4"}),
        ErrorCode::NotOffered,
    );
    let tick = ok(&mut e, json!({"cmd": "advance", "seconds": 1}));
    assert_eq!(tick["now"], "2026-01-05T14:02:00Z");
    assert_eq!(tick["expired"], json!(["S1.t1", "S1.t2", "S1.t3"]));
    assert_eq!(tick["activated"], json!(["S1.b"]));
    refused(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t1"}),
        ErrorCode::Expired,
    );
    // A mechanic whose targeted offer lapsed may take the broadcast.
    let won = ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    assert_eq!(won["assignment"], "S1.b");
    let again = ok(&mut e, json!({"cmd": "tick"}));
    assert_eq!(
        (again["expired"].clone(), again["activated"].clone()),
        (json!([]), json!([]))
    );
}

#[test]
fn an_offer_past_its_deadline_cannot_be_accepted_before_the_tick_runs() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({"preferred_mechanic": "off"})));
    // `off` clocks in a minute later: his offer runs to 14:03, the broadcast opens at 14:02.
    ok(&mut e, json!({"cmd": "advance", "seconds": 60}));
    let clock_in = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "off"}));
    assert_eq!(clock_in["offers"], json!(["S1.t4"]));
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t1"}),
    );
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t2"}),
    );
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t3"}),
    );
    assert_eq!(
        status_of(&mut e, "S1.b"),
        "queued",
        "t4's live offer still holds the broadcast"
    );
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "off"}));
    assert_eq!(q["mine"][0]["seconds_left"], 120);
    let tick = ok(&mut e, json!({"cmd": "advance", "seconds": 60}));
    assert_eq!(tick["activated"], json!(["S1.b"]), "active_from reached");
    let won = ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "off"}),
    );
    assert_eq!(
        won["assignment"], "S1.t4",
        "his own live offer is used first"
    );
}

#[test]
fn clock_out_withdraws_live_offers_and_may_open_the_broadcast() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let out = ok(&mut e, json!({"cmd": "clock_out", "mechanic": "t1"}));
    assert_eq!(out["withdrawn"], json!(["S1.t1"]));
    assert_eq!(out["mechanic"]["currently_on_shift"], false);
    assert_eq!(
        out["mechanic"]["is_available"], false,
        "legacy mirror written too"
    );
    let s = ok(&mut e, json!({"cmd": "session", "id": "S1"}));
    assert_eq!(
        s["session"]["assignments"][0]["closed_reason"],
        "clocked_out"
    );
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
        ErrorCode::Offline,
    );
    refused(
        &mut e,
        json!({"cmd": "clock_out", "mechanic": "t1"}),
        ErrorCode::InvalidState,
    );
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "t2"}));
    assert_eq!(status_of(&mut e, "S1.b"), "queued");
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "t3"}));
    assert_eq!(status_of(&mut e, "S1.b"), "offered");
}

#[test]
fn a_preferred_mechanic_on_shift_always_gets_an_offer() {
    let mut e = engine();
    roster(&mut e);
    let out = ok(&mut e, intake("S1", json!({"preferred_mechanic": "t4"})));
    let mechanics: Vec<&str> = out["targeted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["mechanic"].as_str().unwrap())
        .collect();
    assert_eq!(mechanics, ["t1", "t2", "t3", "t4"]);
    let out = ok(&mut e, intake("S2", json!({"preferred_mechanic": "t2"})));
    assert_eq!(
        out["targeted"].as_array().unwrap().len(),
        3,
        "already one of the three"
    );
}

#[test]
fn a_preferred_mechanic_gets_an_offer_when_he_clocks_in() {
    let mut e = engine();
    ok(&mut e, mechanic("off", false, json!({})));
    let out = ok(&mut e, intake("S1", json!({"preferred_mechanic": "off"})));
    assert_eq!(out["all_offline"], true);
    assert_eq!(out["broadcast"]["reason"], "no_online_matches");
    assert_eq!(out["broadcast"]["active_from"], "2026-01-05T14:00:00Z");
    ok(&mut e, json!({"cmd": "advance", "seconds": 600}));
    let clock_in = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "off"}));
    assert_eq!(clock_in["offers"], json!(["S1.t1"]));
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "off"}));
    assert_eq!(ids(&q["mine"]), ["S1.t1"]);
    assert_eq!(q["mine"][0]["seconds_left"], 120);
    assert_eq!(
        q["open"],
        json!([]),
        "the broadcast of a session already in 'mine' is not repeated"
    );
}

#[test]
fn set_preferred_from_the_offline_list() {
    let mut e = engine();
    ok(&mut e, mechanic("off", false, json!({})));
    ok(
        &mut e,
        mechanic("low", false, json!({"profile_completion_score": 50})),
    );
    ok(&mut e, intake("S1", json!({})));
    refused(
        &mut e,
        json!({"cmd": "set_preferred", "session": "S1", "mechanic": "low"}),
        ErrorCode::NotEligible,
    );
    let out = ok(
        &mut e,
        json!({"cmd": "set_preferred", "session": "S1", "mechanic": "off"}),
    );
    assert_eq!(out["offers"], json!([]));
    let clock_in = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "off"}));
    assert_eq!(clock_in["offers"], json!(["S1.t1"]));
}

#[test]
fn the_release_gate_holds_offers_until_waiver_and_payment() {
    let mut e = engine();
    roster(&mut e);
    let out = ok(
        &mut e,
        intake(
            "P1",
            json!({"payment_method": "paid", "payment_confirmed": false}),
        ),
    );
    assert_eq!(out["session"]["status"], "pending");
    assert_eq!(
        out["targeted"].as_array().unwrap().len(),
        3,
        "matching runs at intake for paid too"
    );
    assert_eq!(out["targeted"][0]["expires_at"], Value::Null);
    assert_eq!(out["broadcast"]["active_from"], Value::Null);
    assert_eq!(status_of(&mut e, "P1.t1"), "queued");
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "P1", "mechanic": "t1"}),
        ErrorCode::InvalidState,
    );
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t1"}));
    assert_eq!(q["mine"], json!([]), "held offers are not visible");
    ok(&mut e, json!({"cmd": "advance", "seconds": 300}));
    assert_eq!(
        status_of(&mut e, "P1.t1"),
        "queued",
        "no clock runs before release"
    );
    let released = ok(&mut e, json!({"cmd": "confirm_payment", "session": "P1"}));
    assert_eq!(released["session"]["status"], "waiting");
    let s = ok(&mut e, json!({"cmd": "session", "id": "P1"}));
    assert_eq!(s["session"]["released_at"], "2026-01-05T14:05:00Z");
    assert_eq!(
        s["session"]["assignments"][0]["expires_at"],
        "2026-01-05T14:07:00Z"
    );
    assert_eq!(
        s["session"]["assignments"][3]["active_from"],
        "2026-01-05T14:07:00Z"
    );
    refused(
        &mut e,
        json!({"cmd": "confirm_payment", "session": "P1"}),
        ErrorCode::InvalidState,
    );

    // Free and credit sessions are gated by the waiver alone.
    for (id, method) in [("F1", "free"), ("C1", "credit")] {
        let out = ok(
            &mut e,
            intake(
                id,
                json!({"payment_method": method, "waiver_signed": false, "payment_confirmed": false}),
            ),
        );
        assert_eq!(out["session"]["status"], "pending");
        let out = ok(&mut e, json!({"cmd": "sign_waiver", "session": id}));
        assert_eq!(out["session"]["status"], "waiting", "{method}");
    }
    // Paid needs both.
    ok(
        &mut e,
        intake(
            "P2",
            json!({"payment_method": "paid", "waiver_signed": false, "payment_confirmed": false}),
        ),
    );
    assert_eq!(
        ok(&mut e, json!({"cmd": "sign_waiver", "session": "P2"}))["session"]["status"],
        "pending"
    );
    assert_eq!(
        ok(&mut e, json!({"cmd": "confirm_payment", "session": "P2"}))["session"]["status"],
        "waiting"
    );
}

#[test]
fn a_held_offer_of_a_mechanic_who_clocked_out_is_withdrawn_before_release() {
    let mut e = engine();
    ok(&mut e, mechanic("a", true, json!({})));
    ok(&mut e, intake("P1", json!({"waiver_signed": false})));
    ok(&mut e, json!({"cmd": "clock_out", "mechanic": "a"}));
    ok(&mut e, json!({"cmd": "sign_waiver", "session": "P1"}));
    assert_eq!(status_of(&mut e, "P1.t1"), "expired");
    let s = ok(&mut e, json!({"cmd": "session", "id": "P1"}));
    assert_eq!(
        s["session"]["assignments"][1]["active_from"], "2026-01-05T14:00:00Z",
        "nothing left to hold the broadcast"
    );
}

#[test]
fn smart_matching_flag_and_rollout() {
    let mut e = engine();
    roster(&mut e);
    let flag = ok(&mut e, json!({"cmd": "set_flag", "enabled": false}));
    assert_eq!(
        flag["flag"],
        json!({"enabled": false, "rollout_percent": 100})
    );
    let out = ok(&mut e, intake("S1", json!({})));
    assert_eq!(out["smart_matching"], false);
    assert_eq!(out["targeted"], json!([]));
    assert_eq!(out["broadcast"]["reason"], "smart_matching_disabled");
    assert_eq!(out["broadcast"]["active_from"], "2026-01-05T14:00:00Z");
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t1"}));
    assert_eq!(
        ids(&q["open"]),
        ["S1.b"],
        "a broadcast due now is open before any tick"
    );

    ok(
        &mut e,
        json!({"cmd": "set_flag", "enabled": true, "rollout_percent": 0}),
    );
    assert_eq!(ok(&mut e, intake("S2", json!({})))["smart_matching"], false);
    ok(&mut e, json!({"cmd": "set_flag", "rollout_percent": 100}));
    assert_eq!(ok(&mut e, intake("S3", json!({})))["smart_matching"], true);

    // The bucket is stable per customer: at 50 % some customers are in, some out, always the same.
    ok(&mut e, json!({"cmd": "set_flag", "rollout_percent": 50}));
    let mut seen = Vec::new();
    for i in 0..20 {
        let who = json!({"customer": {"name": "C", "email": format!("Customer{i}@Example.com")}});
        let first = ok(&mut e, intake(&format!("R{i}a"), who.clone()))["smart_matching"]
            .as_bool()
            .unwrap();
        let who_lower =
            json!({"customer": {"name": "C", "email": format!("customer{i}@example.com")}});
        let second = ok(&mut e, intake(&format!("R{i}b"), who_lower))["smart_matching"]
            .as_bool()
            .unwrap();
        assert_eq!(first, second, "the hash uses the lower-cased email");
        seen.push(first);
    }
    assert!(seen.contains(&true) && seen.contains(&false));
}

#[test]
fn broadcast_reasons_when_no_targeted_offer_is_made() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic(
            "bmw",
            true,
            json!({"is_brand_specialist": true, "brand_specializations": ["BMW"]}),
        ),
    );
    let out = ok(
        &mut e,
        intake(
            "S1",
            json!({"request_type": "brand_specialist", "brands": ["Tesla"]}),
        ),
    );
    assert_eq!(out["broadcast"]["reason"], "no_matches_found");
    assert_eq!(out["all_offline"], false);
    let out = ok(
        &mut e,
        intake(
            "S2",
            json!({"request_type": "brand_specialist", "brands": ["bmw"], "concern": "BMW warning"}),
        ),
    );
    assert_eq!(out["targeted"][0]["mechanic"], "bmw");
    let reasons: Vec<&str> = out["matches"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"BMW specialist"), "{reasons:?}");
    // A general mechanic may not take a brand session's broadcast.
    ok(&mut e, mechanic("gen", true, json!({})));
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S2", "mechanic": "bmw"}),
    );
    refused(
        &mut e,
        json!({"cmd": "accept", "session": "S2", "mechanic": "gen"}),
        ErrorCode::NotEligible,
    );
    assert_eq!(
        ok(&mut e, json!({"cmd": "queue", "mechanic": "gen"}))["open"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn a_matcher_failure_falls_back_to_broadcast_and_is_recorded() {
    let mut e = engine();
    roster(&mut e);
    e.connection()
        .execute(
            pitwall::sql!("UPDATE mechanics SET service_keywords = 'not json' WHERE id = 't1'"),
            pitwall::params![],
        )
        .unwrap();
    let out = ok(&mut e, intake("S1", json!({"preferred_mechanic": "t2"})));
    assert_eq!(out["session"]["status"], "waiting");
    assert_eq!(out["targeted"], json!([]));
    assert_eq!(out["broadcast"]["reason"], "matching_failed");
    let s = ok(&mut e, json!({"cmd": "session", "id": "S1"}));
    assert!(
        s["session"]["metadata"]["matching_error"]
            .as_str()
            .unwrap()
            .len()
            > 3
    );
    let report = ok(&mut e, json!({"cmd": "report"}));
    assert_eq!(report["matching_errors"], 1);
}

#[test]
fn complete_and_cancel() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    refused(
        &mut e,
        json!({"cmd": "complete", "session": "S1"}),
        ErrorCode::InvalidState,
    );
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    let completed = |e: &mut pitwall::engine::Engine| {
        let all = ok(e, json!({"cmd": "mechanics"}));
        let t1 = all["mechanics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "t1")
            .unwrap()
            .clone();
        t1["completed_sessions"].as_i64().unwrap()
    };
    let before = completed(&mut e);
    assert_eq!(
        ok(&mut e, json!({"cmd": "complete", "session": "S1"}))["session"]["status"],
        "completed"
    );
    let after = completed(&mut e);
    assert_eq!(after, before + 1);
    refused(
        &mut e,
        json!({"cmd": "cancel", "session": "S1"}),
        ErrorCode::InvalidState,
    );

    ok(&mut e, intake("S2", json!({})));
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W1", "session": "S2"}),
    );
    assert_eq!(
        ok(&mut e, json!({"cmd": "cancel", "session": "S2"}))["session"]["status"],
        "cancelled"
    );
    let s = ok(&mut e, json!({"cmd": "session", "id": "S2"}));
    for a in s["session"]["assignments"].as_array().unwrap() {
        assert_eq!(
            (a["status"].as_str(), a["closed_reason"].as_str()),
            (Some("cancelled"), Some("session_cancelled"))
        );
    }
    assert_eq!(
        ok(&mut e, json!({"cmd": "waitlist"}))["entries"][0]["status"],
        "cancelled"
    );
    let report = ok(&mut e, json!({"cmd": "report"}));
    assert_eq!(report["sessions_cancelled_unmatched"], 1);
}

#[test]
fn waitlist_join_notify_expire_cancel() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic("m1", false, json!({"name": "Rosa Diaz", "city": "Halifax"})),
    );
    ok(&mut e, mechanic("m2", false, json!({})));
    ok(&mut e, intake("S1", json!({})));
    let joined = ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W1", "session": "S1", "notify_via": ["email", "sms"]}),
    );
    assert_eq!(joined["entry"]["status"], "waiting");
    assert_eq!(joined["entry"]["expires_at"], "2026-01-06T14:00:00Z");
    assert_eq!(
        joined["entry"]["customer_name"], "Ava Chen",
        "customer taken from the session"
    );
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W2", "customer": {"name": "Bo", "email": "bo@example.com"}}),
    );
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W3", "customer": {"name": "Cy", "phone": "902 555 0199"}, "notify_via": ["push"]}),
    );
    ok(&mut e, json!({"cmd": "cancel_waitlist", "id": "W3"}));
    refused(
        &mut e,
        json!({"cmd": "cancel_waitlist", "id": "W3"}),
        ErrorCode::InvalidState,
    );

    let clock_in = ok(&mut e, json!({"cmd": "clock_in", "mechanic": "m1"}));
    assert_eq!(clock_in["notified"], json!(["W1", "W2"]));
    let n = ok(&mut e, json!({"cmd": "notifications"}));
    let to_waitlist: Vec<&Value> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "waitlist_online")
        .collect();
    let sent: Vec<(String, String, String)> = to_waitlist
        .iter()
        .map(|x| {
            (
                x["waitlist_id"].as_str().unwrap().into(),
                x["channel"].as_str().unwrap().into(),
                x["recipient"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("W2".into(), "email".into(), "bo@example.com".into()),
            ("W1".into(), "sms".into(), "+1 416 555 0100".into()),
            ("W1".into(), "email".into(), "ava@example.com".into()),
        ]
    );
    assert_eq!(to_waitlist[0]["subject"], "A mechanic is online now");
    assert!(
        to_waitlist[0]["body"]
            .as_str()
            .unwrap()
            .contains("a mechanic is online now: Rosa Diaz in Halifax"),
        "{}",
        to_waitlist[0]["body"]
    );
    let entries = ok(&mut e, json!({"cmd": "waitlist"}));
    let w1 = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "W1")
        .unwrap()
        .clone();
    assert_eq!(
        (w1["status"].as_str(), w1["notified_mechanic_id"].as_str()),
        (Some("notified"), Some("m1"))
    );

    // A second clock-in notifies nobody twice.
    assert_eq!(
        ok(&mut e, json!({"cmd": "clock_in", "mechanic": "m2"}))["notified"],
        json!([])
    );

    // Expiry after 24 h.
    ok(
        &mut e,
        json!({"cmd": "join_waitlist", "id": "W4", "customer": {"name": "Di", "email": "di@example.com"}}),
    );
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 86_399}));
    assert_eq!(t["waitlist_expired"], json!([]));
    let t = ok(&mut e, json!({"cmd": "advance", "seconds": 1}));
    assert_eq!(t["waitlist_expired"], json!(["W4"]));
    let report = ok(&mut e, json!({"cmd": "report"}));
    assert_eq!(
        report["waitlist"],
        json!({"joined": 4, "notified": 2, "expired": 1})
    );
}

#[test]
fn queues_order_by_priority_then_newest_with_seconds_left() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(&mut e, json!({"cmd": "advance", "seconds": 20}));
    ok(&mut e, intake("S2", json!({})));
    ok(&mut e, json!({"cmd": "set_flag", "enabled": false}));
    ok(&mut e, intake("S3", json!({})));
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t1"}));
    assert_eq!(ids(&q["mine"]), ["S2.t1", "S1.t1"]);
    assert_eq!(q["mine"][0]["seconds_left"], 120);
    assert_eq!(q["mine"][1]["seconds_left"], 100);
    assert_eq!(q["mine"][0]["tier"], "High Match");
    assert_eq!(q["mine"][0]["priority"], "high");
    assert_eq!(ids(&q["open"]), ["S3.b"]);
    assert_eq!(q["open"][0]["seconds_left"], Value::Null);
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    // Busy now (capacity 1): his offer of S2 is withdrawn, and no broadcast is open to him.
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "t1"}));
    assert_eq!(ids(&q["mine"]), ["S1.t1"]);
    assert_eq!(q["mine"][0]["status"], "accepted");
    assert_eq!(ids(&q["open"]), Vec::<String>::new());
    assert_eq!(status_of(&mut e, "S2.t1"), "expired");
    refused(
        &mut e,
        json!({"cmd": "queue", "mechanic": "nobody"}),
        ErrorCode::NotFound,
    );
}

#[test]
fn mechanics_certification_dual_read_and_derived_eligibility() {
    let mut e = engine();
    let legacy = ok(
        &mut e,
        mechanic(
            "legacy",
            true,
            json!({"red_seal_certified": true, "red_seal_number": "RS-1"}),
        ),
    );
    assert_eq!(legacy["mechanic"]["can_accept_sessions"], true);
    let low = ok(
        &mut e,
        mechanic("low", true, json!({"profile_completion_score": 79})),
    );
    assert_eq!(low["mechanic"]["can_accept_sessions"], false);
    let suspended = ok(
        &mut e,
        mechanic("sus", true, json!({"account_status": "suspended"})),
    );
    assert_eq!(suspended["mechanic"]["can_accept_sessions"], false);
    let out = ok(&mut e, intake("S1", json!({})));
    let r: Vec<&str> = out["matches"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(r.contains(&"Professionally Certified"));
    assert_eq!(
        out["matches"].as_array().unwrap().len(),
        1,
        "ineligible mechanics are filtered out"
    );
    refused(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "low"}),
        ErrorCode::NotOffered,
    );
}

#[test]
fn every_state_change_is_in_the_audit_log() {
    let mut e = engine();
    roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    ok(
        &mut e,
        json!({"cmd": "decline", "session": "S1", "mechanic": "t3"}),
    );
    ok(
        &mut e,
        json!({"cmd": "accept", "session": "S1", "mechanic": "t1"}),
    );
    ok(&mut e, json!({"cmd": "complete", "session": "S1"}));
    let kinds: Vec<String> = pitwall::store::events::all(e.connection())
        .unwrap()
        .into_iter()
        .filter(|(_, s, _, _)| s.as_deref() == Some("S1"))
        .map(|(k, ..)| k)
        .collect();
    assert_eq!(
        kinds,
        [
            "session_created",
            "offer_created",
            "offer_created",
            "offer_created",
            "broadcast_created",
            "session_released",
            "offer_declined",
            "offer_accepted",
            "session_completed"
        ]
    );
}

#[test]
fn generated_ids_are_uuids_and_returned() {
    let mut e = engine();
    let m = ok(
        &mut e,
        json!({"cmd": "add_mechanic", "name": "No Id", "profile_completion_score": 90, "currently_on_shift": true}),
    );
    let id = m["mechanic"]["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let mut i = intake("x", json!({}));
    i.as_object_mut().unwrap().remove("id");
    let out = ok(&mut e, i);
    assert!(uuid::Uuid::parse_str(out["session"]["id"].as_str().unwrap()).is_ok());
}

#[test]
fn a_preferred_mechanic_who_clocked_in_while_the_session_was_held_is_offered_at_release() {
    let mut e = engine();
    ok(&mut e, mechanic("b", false, json!({})));
    ok(&mut e, mechanic("a", true, json!({})));
    ok(
        &mut e,
        intake(
            "P1",
            json!({"payment_method": "paid", "payment_confirmed": false, "preferred_mechanic": "b"}),
        ),
    );
    assert_eq!(
        ok(&mut e, json!({"cmd": "clock_in", "mechanic": "b"}))["offers"],
        json!([]),
        "held: nothing to offer yet"
    );
    ok(&mut e, json!({"cmd": "confirm_payment", "session": "P1"}));
    let q = ok(&mut e, json!({"cmd": "queue", "mechanic": "b"}));
    assert_eq!(ids(&q["mine"]), ["P1.t2"]);
    assert_eq!(q["mine"][0]["seconds_left"], 120);
    let s = ok(&mut e, json!({"cmd": "session", "id": "P1"}));
    assert_eq!(
        s["session"]["assignments"][2]["metadata"]["reason"],
        "preferred_mechanic"
    );
}

#[test]
fn an_expired_certification_falls_back_to_the_legacy_red_seal() {
    let mut e = engine();
    ok(
        &mut e,
        mechanic(
            "d",
            true,
            json!({"certification_type": "ase", "certification_expiry": "2020-01-01", "red_seal_certified": true}),
        ),
    );
    ok(
        &mut e,
        mechanic(
            "x",
            true,
            json!({"certification_type": "ase", "certification_expiry": "2020-01-01"}),
        ),
    );
    let out = ok(&mut e, intake("S1", json!({})));
    let certified = |id: &str| {
        out["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mechanic"] == id)
            .unwrap()["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "Professionally Certified")
    };
    assert!(certified("d"));
    assert!(!certified("x"));
}

#[test]
fn records_without_an_id_take_theirs_from_the_engines_id_source() {
    let mut e = engine();
    e.set_ids(pitwall::ids::Ids::counter("rec"));
    let mut m = mechanic("x", true, json!({}));
    m.as_object_mut().unwrap().remove("id");
    assert_eq!(ok(&mut e, m)["mechanic"]["id"], "rec-1");
    let mut i = intake("unused", json!({}));
    i.as_object_mut().unwrap().remove("id");
    let out = ok(&mut e, i);
    assert_eq!(out["session"]["id"], "rec-2", "{out}");
}

/// A tick that expires more offers than one INSERT holds logs each expiry and each opened
/// broadcast as its own row, in order, naming only its session and offer (the rows alike are
/// written together, their moment and kind bound once), and each clock-out with its mechanic and
/// detail.
#[test]
fn a_tick_logs_every_expiry_and_opening_row_for_row() {
    let mut e = engine();
    roster(&mut e);
    let sessions: Vec<String> = (1..=14).map(|n| format!("S{n:02}")).collect();
    for id in &sessions {
        ok(&mut e, intake(id, json!({})));
    }
    let before = pitwall::store::events::latest_id(e.connection()).unwrap();
    let tick = ok(&mut e, json!({"cmd": "advance", "seconds": 120}));
    let expired = ids(&tick["expired"]);
    assert!(expired.len() > 32, "{tick}");
    let logged = pitwall::store::events::after(e.connection(), before, 1000).unwrap();
    let ids_in_order: Vec<i64> = logged.iter().map(|x| x.id).collect();
    assert_eq!(
        ids_in_order,
        (before + 1..=before + logged.len() as i64).collect::<Vec<_>>()
    );
    assert!(logged.iter().all(|x| x.at == tick["now"]));
    let (expiries, rest) = logged.split_at(expired.len());
    for (row, offer) in expiries.iter().zip(&expired) {
        assert_eq!(row.kind, "offer_expired");
        assert_eq!(row.assignment.as_deref(), Some(offer.as_str()));
        assert_eq!(row.session.as_deref(), offer.split('.').next());
        assert_eq!(
            (&row.mechanic, &row.waitlist, &row.detail),
            (&None, &None, &None)
        );
    }
    let clock_outs: Vec<_> = rest.iter().filter(|x| x.kind == "auto_clock_out").collect();
    assert_eq!(
        clock_outs.len(),
        tick["auto_clocked_out"].as_array().unwrap().len()
    );
    assert!(!clock_outs.is_empty());
    for row in &clock_outs {
        assert!(row.mechanic.is_some() && row.detail.is_some(), "{row:?}");
        assert_eq!((&row.session, &row.assignment), (&None, &None));
    }
    let mut opened: Vec<String> = rest
        .iter()
        .filter(|x| x.kind == "broadcast_activated")
        .map(|x| {
            assert_eq!((&x.mechanic, &x.waitlist, &x.detail), (&None, &None, &None));
            assert_eq!(
                x.session.as_deref(),
                x.assignment.as_deref().unwrap().split('.').next()
            );
            x.assignment.clone().unwrap()
        })
        .collect();
    opened.sort();
    assert_eq!(opened, ids(&tick["activated"]));
    assert_eq!(opened.len(), sessions.len());
}
