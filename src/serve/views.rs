//! What each role sees of an answer (SPEC §13 "Each role sees what its job needs"). A
//! dispatcher sees what headless prints; an intake token (a public booking form) and a
//! mechanic's phone see the views made here from it. Views are made from the answer's JSON, so
//! the same code shapes a fresh answer and one kept for an `Idempotency-Key` (made inside the
//! command's transaction), and they are typed, so the OpenAPI document describes them. The one
//! exception is the busiest: a booking form's intake is also shaped from the engine's outcome
//! itself ([`intake_for_form`]), through the same function as its JSON.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::outcome::IntakeOutcome;
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::model::{Channel, Intake, SessionStatus, Tier, WaitlistStatus};
use crate::store::{self, Db};
use crate::tokens::Role;

/// A mechanic as a booking form sees him where he is offered: never his id, score, reasons,
/// account status, email or phone.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OfferedMechanic {
    pub first_name: String,
    pub city: Option<String>,
    pub tier: Tier,
}

/// The session as a booking form sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormSession {
    /// The server-assigned reference.
    pub id: String,
    pub status: SessionStatus,
    /// The best offer's tier.
    pub tier: Tier,
}

/// `intake`, for an intake token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormIntake {
    pub session: FormSession,
    /// Who it was offered to (for a booking, who is planned for that time).
    pub offered: Vec<OfferedMechanic>,
    pub all_offline: bool,
    pub all_busy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
    /// The customer's status page for this session (`{public_url}/s/{code}`): give it to the
    /// customer. Only in the first answer, never in a replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
}

/// A mechanic as `browse` lists him to a booking form.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListedMechanic {
    pub name: String,
    pub city: Option<String>,
    /// His brands, then the services he names.
    pub specialties: Vec<String>,
    pub rating: f64,
}

/// `browse`, for an intake token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormBrowse {
    pub matches: Vec<ListedMechanic>,
    pub all_offline: bool,
    pub all_busy: bool,
    pub total_matches: i64,
}

/// One hour of `slots`, for an intake token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormSlot {
    pub start: String,
    pub mechanics: i64,
    /// First names of the best of them.
    pub top: Vec<String>,
}

/// `slots`, for an intake token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormSlots {
    pub slots: Vec<FormSlot>,
}

/// A waitlist entry as a booking form sees it: no contact details.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormEntry {
    pub id: String,
    pub session: Option<String>,
    pub status: WaitlistStatus,
    pub notify_via: Vec<Channel>,
    pub expires_at: String,
}

/// `join_waitlist`, for an intake token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormJoined {
    pub entry: FormEntry,
}

/// The mechanic a session is matched to, as its booking form sees him.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatchedMechanic {
    pub first_name: String,
    pub city: Option<String>,
}

/// A session the token created, as its booking form reads it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormSessionDetail {
    pub id: String,
    pub status: SessionStatus,
    pub tier: Tier,
    pub created_at: String,
    pub offered: Vec<OfferedMechanic>,
    pub matched: Option<MatchedMechanic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
}

/// `session`, for an intake token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormSessionAnswer {
    pub session: FormSessionDetail,
}

/// The vehicle as a mechanic needs it to decide: no VIN.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VehicleView {
    pub year: Option<i64>,
    pub make: Option<String>,
    pub model: Option<String>,
}

/// The customer, shown to the mechanic the session is matched to and nobody else.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CustomerView {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The job, as a mechanic's phone shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct JobView {
    /// The customer's words, control characters made harmless.
    pub concern: String,
    pub vehicle: VehicleView,
    pub city: Option<String>,
    /// Present once the session is matched to him.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerView>,
}

/// One row of a mechanic's queue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PhoneQueueRow {
    pub assignment: String,
    pub session: String,
    pub status: crate::model::AssignmentStatus,
    pub priority: crate::model::Priority,
    pub tier: Tier,
    /// His own score (none for a broadcast).
    pub score: Option<i64>,
    pub reasons: Vec<String>,
    pub seconds_left: Option<i64>,
    pub expires_at: Option<String>,
    pub job: Option<JobView>,
}

/// `queue`, for a mechanic token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PhoneQueue {
    pub mine: Vec<PhoneQueueRow>,
    pub open: Vec<PhoneQueueRow>,
}

/// A session as a mechanic's phone reads it: his offer and the job, or only that another
/// mechanic took it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PhoneSession {
    Open {
        id: String,
        status: SessionStatus,
        /// False: still his to take, or his.
        taken: bool,
        tier: Tier,
        /// His own score.
        score: Option<i64>,
        /// His offer's state.
        offer: Option<crate::model::AssignmentStatus>,
        expires_at: Option<String>,
        job: Box<Option<JobView>>,
    },
    /// Taken by another mechanic: nothing more.
    Taken { id: String, taken: bool },
}

/// `session`, for a mechanic token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PhoneSessionAnswer {
    pub session: PhoneSession,
}

/// The answer's fields (without `ok`/`cmd`) as `role` may see them.
pub fn view(conn: &Db, role: &Role, cmd: &str, answer: Value) -> DispatchResult<Value> {
    match role {
        Role::Dispatcher => Ok(answer),
        Role::Intake => for_intake(conn, cmd, &answer),
        Role::Mechanic(me) => for_mechanic(conn, me, cmd, answer),
    }
}

/// An intake's answer as a booking form sees it, made from the engine's outcome itself: the
/// same view [`view`] makes from its JSON, without writing out the ten ranked matches with their
/// reasons and the excluded mechanics that the form never sees (an eighth of an intake's time on
/// the engine thread). The one for the hottest answer the API gives.
pub fn intake_for_form(conn: &Db, answer: &IntakeOutcome) -> DispatchResult<Value> {
    let targeted = answer.targeted.iter().flatten();
    let planned = answer.planned.iter().flatten().take(3);
    form_intake(
        conn,
        IntakeFacts {
            session: answer.session.id.clone(),
            status: answer.session.status,
            best_score: answer.matches.first().map(|m| m.score),
            offered: targeted
                .map(|t| (t.mechanic.as_str(), Some(t.score)))
                .chain(planned.map(|m| (m.mechanic.as_str(), Some(m.score))))
                .collect(),
            all_offline: answer.all_offline,
            all_busy: answer.all_busy,
            scheduled_for: answer.scheduled_for.clone(),
        },
    )
}

/// What a booking form's view of an intake is made from, read from the outcome or its JSON.
struct IntakeFacts<'a> {
    session: String,
    status: SessionStatus,
    /// The best match's score (none: no match, so a broadcast).
    best_score: Option<i64>,
    /// Who it was offered to (or, booked for later, the first three planned), with their scores.
    offered: Vec<(&'a str, Option<i64>)>,
    all_offline: bool,
    all_busy: bool,
    scheduled_for: Option<String>,
}

fn form_intake(conn: &Db, facts: IntakeFacts<'_>) -> DispatchResult<Value> {
    let mut offered = Vec::new();
    for (id, score) in facts.offered {
        let tier = score.map_or(Tier::Broadcast, Tier::of_score);
        offered.extend(offered_mechanic(conn, id, tier)?);
    }
    to_json(&FormIntake {
        session: FormSession {
            id: facts.session,
            status: facts.status,
            tier: facts.best_score.map_or(Tier::Broadcast, Tier::of_score),
        },
        offered,
        all_offline: facts.all_offline,
        all_busy: facts.all_busy,
        scheduled_for: facts.scheduled_for,
        status_url: None,
    })
}

fn for_intake(conn: &Db, cmd: &str, answer: &Value) -> DispatchResult<Value> {
    match cmd {
        "intake" => {
            let offered = array(&answer["targeted"])
                .iter()
                .chain(array(&answer["planned"]).iter().take(3))
                .filter_map(|t| Some((t["mechanic"].as_str()?, t["score"].as_i64())))
                .collect();
            form_intake(
                conn,
                IntakeFacts {
                    session: text(&answer["session"]["id"]),
                    status: parse(&answer["session"]["status"])?,
                    best_score: array(&answer["matches"])
                        .first()
                        .and_then(|m| m["score"].as_i64()),
                    offered,
                    all_offline: flag(&answer["all_offline"]),
                    all_busy: flag(&answer["all_busy"]),
                    scheduled_for: answer["scheduled_for"].as_str().map(str::to_string),
                },
            )
        }
        "browse" => {
            let mut matches = Vec::new();
            for m in array(&answer["matches"]) {
                if let Some(id) = m["mechanic"].as_str()
                    && let Some(mechanic) = store::mechanics::get(conn, id)?
                {
                    let mut specialties = mechanic.brand_specializations.clone();
                    specialties.extend(mechanic.service_keywords.iter().cloned());
                    matches.push(ListedMechanic {
                        name: mechanic.name,
                        city: mechanic.city,
                        specialties,
                        rating: mechanic.rating,
                    });
                }
            }
            to_json(&FormBrowse {
                matches,
                all_offline: flag(&answer["all_offline"]),
                all_busy: flag(&answer["all_busy"]),
                total_matches: answer["total_matches"].as_i64().unwrap_or(0),
            })
        }
        "slots" => to_json(&FormSlots {
            slots: array(&answer["slots"])
                .iter()
                .map(|s| FormSlot {
                    start: text(&s["start"]),
                    mechanics: s["mechanics"].as_i64().unwrap_or(0),
                    top: array(&s["top"])
                        .iter()
                        .filter_map(Value::as_str)
                        .map(first_name)
                        .collect(),
                })
                .collect(),
        }),
        "join_waitlist" => {
            let e = &answer["entry"];
            to_json(&FormJoined {
                entry: FormEntry {
                    id: text(&e["id"]),
                    session: e["session_id"].as_str().map(str::to_string),
                    status: parse(&e["status"])?,
                    notify_via: parse(&e["notify_via"])?,
                    expires_at: text(&e["expires_at"]),
                },
            })
        }
        "session" => {
            let s = &answer["session"];
            let mut offered = Vec::new();
            let mut best: Option<i64> = None;
            for a in array(&s["assignments"]) {
                best = best.max(a["match_score"].as_i64());
                if let Some(id) = a["mechanic_id"].as_str() {
                    offered.extend(offered_mechanic(conn, id, tier_of(&a["match_score"]))?);
                }
            }
            let matched = match s["matched_mechanic_id"].as_str() {
                Some(id) => {
                    store::mechanics::name_and_city(conn, id)?.map(|(name, city)| MatchedMechanic {
                        first_name: first_name(&name),
                        city,
                    })
                }
                None => None,
            };
            to_json(&FormSessionAnswer {
                session: FormSessionDetail {
                    id: text(&s["id"]),
                    status: parse(&s["status"])?,
                    tier: best.map_or(Tier::Broadcast, Tier::of_score),
                    created_at: text(&s["created_at"]),
                    offered,
                    matched,
                    scheduled_for: s["scheduled_for"].as_str().map(str::to_string),
                },
            })
        }
        // The table lets an intake token run nothing else; should it ever, it sees nothing of
        // the answer rather than everything.
        _ => Ok(Value::Object(Default::default())),
    }
}

fn for_mechanic(conn: &Db, me: &str, cmd: &str, answer: Value) -> DispatchResult<Value> {
    match cmd {
        "queue" => {
            let rows = |list: &Value| -> DispatchResult<Vec<PhoneQueueRow>> {
                array(list).iter().map(|r| phone_row(conn, me, r)).collect()
            };
            to_json(&PhoneQueue {
                mine: rows(&answer["mine"])?,
                open: rows(&answer["open"])?,
            })
        }
        "session" => {
            let s = &answer["session"];
            let id = text(&s["id"]);
            let matched = s["matched_mechanic_id"].as_str();
            if matched.is_some_and(|m| m != me) {
                // Lost to another mechanic: that it was taken, and nothing about by whom.
                return to_json(&PhoneSessionAnswer {
                    session: PhoneSession::Taken { id, taken: true },
                });
            }
            let offer = array(&s["assignments"])
                .iter()
                .filter(|a| a["mechanic_id"].as_str() == Some(me))
                .max_by_key(|a| text(&a["created_at"]))
                .cloned()
                .unwrap_or(Value::Null);
            let job =
                session_and_intake(conn, &id)?.map(|(_, intake)| job(&intake, matched == Some(me)));
            to_json(&PhoneSessionAnswer {
                session: PhoneSession::Open {
                    status: parse(&s["status"])?,
                    id,
                    taken: false,
                    tier: tier_of(&offer["match_score"]),
                    score: offer["match_score"].as_i64(),
                    offer: parse(&offer["status"]).ok(),
                    expires_at: offer["expires_at"].as_str().map(str::to_string),
                    job: Box::new(job),
                },
            })
        }
        // His own record, his own offers' ids and the session's status: his already.
        _ => Ok(answer),
    }
}

fn phone_row(conn: &Db, me: &str, row: &Value) -> DispatchResult<PhoneQueueRow> {
    let session = text(&row["session"]);
    let assignment = text(&row["assignment"]);
    let (job, expires_at) = match session_and_intake(conn, &session)? {
        Some((s, intake)) => {
            let expires_at = store::assignments::for_session(conn, &session)?
                .into_iter()
                .find(|a| a.id == assignment)
                .and_then(|a| a.expires_at)
                .map(crate::clock::rfc3339);
            let mine = s.matched_mechanic_id.as_deref() == Some(me);
            (Some(job(&intake, mine)), expires_at)
        }
        None => (None, None),
    };
    Ok(PhoneQueueRow {
        status: parse(&row["status"])?,
        priority: parse(&row["priority"])?,
        tier: tier_of(&row["score"]),
        score: row["score"].as_i64(),
        reasons: parse(&row["reasons"])?,
        seconds_left: row["seconds_left"].as_i64(),
        expires_at,
        job,
        assignment,
        session,
    })
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
    Ok(
        store::mechanics::name_and_city(conn, id)?.map(|(name, city)| OfferedMechanic {
            first_name: first_name(&name),
            city,
            tier,
        }),
    )
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

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn flag(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

/// A field of the answer read back as its type; failing means the engine's answer and the view
/// disagree (a bug), answered `internal`.
fn parse<T: DeserializeOwned>(v: &Value) -> DispatchResult<T> {
    serde_json::from_value(v.clone()).map_err(|e| {
        DispatchError::new(
            ErrorCode::Internal,
            format!("An answer could not be shaped for this token: {e}."),
        )
    })
}

fn to_json<T: Serialize>(view: &T) -> DispatchResult<Value> {
    serde_json::to_value(view).map_err(|e| {
        DispatchError::new(
            ErrorCode::Internal,
            format!("An answer could not be written out: {e}."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::engine::Engine;

    /// The typed view of an intake is the view of its JSON, for live intakes (offered to
    /// mechanics on shift, or left to a broadcast) and bookings for later (planned mechanics).
    #[test]
    fn an_intake_seen_by_a_booking_form_is_the_same_from_its_outcome_and_its_json() {
        let mut engine = Engine::open(None, Clock::manual_default()).unwrap();
        let roster = serde_json::to_string(&crate::synth::roster(60, 7)).unwrap();
        engine.load_seeds(&roster).unwrap();
        let (mut planned, mut offered) = (0, 0);
        for (i, mut req) in crate::synth::intakes(40, 9).into_iter().enumerate() {
            if i % 4 == 0 {
                // Tomorrow at 15:00 UTC: planned mechanics instead of offers.
                req.scheduled_for = Some("2026-01-06T15:00:00Z".into());
            }
            let outcome = engine.intake(req).unwrap();
            planned += usize::from(outcome.planned.as_ref().is_some_and(|p| !p.is_empty()));
            let conn = engine.connection();
            let typed = intake_for_form(conn, &outcome).unwrap();
            let json = serde_json::to_value(&outcome).unwrap();
            assert_eq!(
                typed,
                view(conn, &Role::Intake, "intake", json).unwrap(),
                "{i}"
            );
            assert!(typed["session"]["id"].is_string());
            offered += usize::from(!typed["offered"].as_array().unwrap().is_empty());
        }
        assert!(planned > 0, "some bookings had planned mechanics");
        assert!(
            offered > 10,
            "most intakes were offered to someone: {offered}"
        );
    }
}
