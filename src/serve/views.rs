//! What each role sees of an answer (SPEC §13 "Each role sees what its job needs"). A
//! dispatcher sees what headless prints; an intake token (a public booking form) and a
//! mechanic's phone see views made from it here. Views work on the answer's JSON, so the same
//! code shapes a fresh answer, one kept for an `Idempotency-Key` (made inside the command's
//! transaction) and an event on a stream.

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::DispatchResult;
use crate::model::{Intake, Tier};
use crate::store::{self, Db};
use crate::tokens::Role;

/// A mechanic as a booking form sees him where he is offered: never his id, score, reasons,
/// account status, email or phone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OfferedMechanic {
    pub first_name: String,
    pub city: Option<String>,
    pub tier: Tier,
}

/// A mechanic as `browse` lists him to a booking form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListedMechanic {
    pub name: String,
    pub city: Option<String>,
    /// His brands, then the services he names.
    pub specialties: Vec<String>,
    pub rating: f64,
}

/// The vehicle as a mechanic needs it to decide: no VIN.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VehicleView {
    pub year: Option<i64>,
    pub make: Option<String>,
    pub model: Option<String>,
}

/// The customer, shown to the mechanic the session is matched to and nobody else.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomerView {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The job, as a mechanic's phone shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobView {
    /// The customer's words with control characters made harmless.
    pub concern: String,
    pub vehicle: VehicleView,
    pub city: Option<String>,
    /// Present once the session is matched to him.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerView>,
}

/// The answer's fields (without `ok`/`cmd`) as `role` may see them.
pub fn view(conn: &Db, role: &Role, cmd: &str, answer: Value) -> DispatchResult<Value> {
    Ok(match role {
        Role::Dispatcher => answer,
        Role::Intake => for_intake(conn, cmd, answer)?,
        Role::Mechanic(me) => for_mechanic(conn, me, cmd, answer)?,
    })
}

fn for_intake(conn: &Db, cmd: &str, answer: Value) -> DispatchResult<Value> {
    Ok(match cmd {
        "intake" => {
            let mut offered = Vec::new();
            for t in array(&answer["targeted"]) {
                if let Some(id) = t["mechanic"].as_str() {
                    offered.extend(offered_mechanic(conn, id, tier_of(&t["score"]))?);
                }
            }
            for p in array(&answer["planned"]).iter().take(3) {
                if let Some(id) = p["mechanic"].as_str() {
                    offered.extend(offered_mechanic(conn, id, tier_of(&p["score"]))?);
                }
            }
            let best = array(&answer["matches"])
                .first()
                .map_or(Tier::Broadcast, |m| tier_of(&m["score"]));
            let mut out = json!({
                "session": {
                    "id": answer["session"]["id"],
                    "status": answer["session"]["status"],
                    "tier": best,
                },
                "offered": offered,
                "all_offline": answer["all_offline"],
                "all_busy": answer["all_busy"],
            });
            if let Some(at) = answer.get("scheduled_for") {
                out["scheduled_for"] = at.clone();
            }
            out
        }
        "browse" => {
            let mut listed = Vec::new();
            for m in array(&answer["matches"]) {
                if let Some(id) = m["mechanic"].as_str()
                    && let Some(mechanic) = store::mechanics::get(conn, id)?
                {
                    let mut specialties = mechanic.brand_specializations.clone();
                    specialties.extend(mechanic.service_keywords.iter().cloned());
                    listed.push(ListedMechanic {
                        name: mechanic.name,
                        city: mechanic.city,
                        specialties,
                        rating: mechanic.rating,
                    });
                }
            }
            json!({
                "matches": listed,
                "all_offline": answer["all_offline"],
                "all_busy": answer["all_busy"],
                "total_matches": answer["total_matches"],
            })
        }
        "slots" => {
            let slots: Vec<Value> = array(&answer["slots"])
                .iter()
                .map(|s| {
                    let top: Vec<Value> = array(&s["top"])
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|name| Value::String(first_name(name)))
                        .collect();
                    json!({"start": s["start"], "mechanics": s["mechanics"], "top": top})
                })
                .collect();
            json!({ "slots": slots })
        }
        "join_waitlist" => {
            let e = &answer["entry"];
            json!({"entry": {
                "id": e["id"],
                "session": e["session_id"],
                "status": e["status"],
                "notify_via": e["notify_via"],
                "expires_at": e["expires_at"],
            }})
        }
        "session" => {
            let s = &answer["session"];
            let mut offered = Vec::new();
            let mut best: Option<i64> = None;
            for a in array(&s["assignments"]) {
                let score = a["match_score"].as_i64();
                best = best.max(score);
                if let Some(id) = a["mechanic_id"].as_str() {
                    offered.extend(offered_mechanic(conn, id, tier_of(&a["match_score"]))?);
                }
            }
            let matched = match s["matched_mechanic_id"].as_str() {
                Some(id) => store::mechanics::get(conn, id)?
                    .map(|m| json!({"first_name": first_name(&m.name), "city": m.city})),
                None => None,
            };
            let mut out = json!({"session": {
                "id": s["id"],
                "status": s["status"],
                "tier": best.map_or(Tier::Broadcast, Tier::of_score),
                "created_at": s["created_at"],
                "offered": offered,
                "matched": matched,
            }});
            if let Some(at) = s.get("scheduled_for") {
                out["session"]["scheduled_for"] = at.clone();
            }
            out
        }
        // The table lets an intake token run nothing else; should it ever, it sees nothing of
        // the answer rather than everything.
        _ => json!({}),
    })
}

fn for_mechanic(conn: &Db, me: &str, cmd: &str, mut answer: Value) -> DispatchResult<Value> {
    match cmd {
        "queue" => {
            for list in ["mine", "open"] {
                if let Some(rows) = answer[list].as_array_mut() {
                    for row in rows {
                        let Some(id) = row["session"].as_str().map(str::to_string) else {
                            continue;
                        };
                        if let Some((session, intake)) = session_and_intake(conn, &id)? {
                            let mine = session.matched_mechanic_id.as_deref() == Some(me);
                            row["job"] =
                                serde_json::to_value(job(&intake, mine)).unwrap_or(Value::Null);
                        }
                        let assignment = row["assignment"].as_str().unwrap_or_default();
                        let expires_at = store::assignments::for_session(conn, &id)?
                            .into_iter()
                            .find(|a| a.id == assignment)
                            .and_then(|a| a.expires_at);
                        row["expires_at"] = json!(expires_at.map(crate::clock::rfc3339));
                    }
                }
            }
            Ok(answer)
        }
        "session" => {
            let s = &answer["session"];
            let id = s["id"].as_str().unwrap_or_default().to_string();
            let matched = s["matched_mechanic_id"].as_str();
            if matched.is_some_and(|m| m != me) {
                // Lost to another mechanic: that it was taken, and nothing about by whom.
                return Ok(json!({"session": {"id": id, "taken": true}}));
            }
            let mine = matched == Some(me);
            let offer = array(&s["assignments"])
                .iter()
                .filter(|a| a["mechanic_id"].as_str() == Some(me))
                .max_by_key(|a| a["created_at"].as_str().map(str::to_string))
                .cloned()
                .unwrap_or(Value::Null);
            let job = match session_and_intake(conn, &id)? {
                Some((_, intake)) => serde_json::to_value(job(&intake, mine)).unwrap_or_default(),
                None => Value::Null,
            };
            Ok(json!({"session": {
                "id": id,
                "status": s["status"],
                "taken": false,
                "tier": tier_of(&offer["match_score"]),
                "score": offer["match_score"],
                "offer": offer["status"],
                "expires_at": offer["expires_at"],
                "job": job,
            }}))
        }
        // His own record, his own offers' ids and the session's status: his already.
        _ => Ok(answer),
    }
}

/// The job's facts for a mechanic; the customer's name and contact only once it is his.
pub fn job(intake: &Intake, matched_to_him: bool) -> JobView {
    JobView {
        concern: crate::text::inert(&intake.concern).into_owned(),
        vehicle: VehicleView {
            year: intake.vehicle_year,
            make: intake.vehicle_make.clone(),
            model: intake.vehicle_model.clone(),
        },
        city: intake.city.clone(),
        customer: matched_to_him.then(|| CustomerView {
            name: intake.customer_name.clone(),
            email: intake.customer_email.clone(),
            phone: intake.customer_phone.clone(),
        }),
    }
}

fn session_and_intake(
    conn: &Db,
    id: &str,
) -> DispatchResult<Option<(crate::model::Session, Intake)>> {
    let Some(session) = store::sessions::get(conn, id)? else {
        return Ok(None);
    };
    Ok(store::sessions::get_intake(conn, &session.intake_id)?.map(|i| (session, i)))
}

fn offered_mechanic(conn: &Db, id: &str, tier: Tier) -> DispatchResult<Option<OfferedMechanic>> {
    Ok(store::mechanics::get(conn, id)?.map(|m| OfferedMechanic {
        first_name: first_name(&m.name),
        city: m.city,
        tier,
    }))
}

/// The first word of a name (a customer calls a mechanic by it; his surname is his).
pub fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn tier_of(score: &Value) -> Tier {
    score.as_i64().map_or(Tier::Broadcast, Tier::of_score)
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}
