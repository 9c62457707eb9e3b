//! The dispatch core (SPEC §4 steps 3–5), shared by every command that puts a session before
//! mechanics: an intake creating one, the tick releasing a booked one, offers re-targeting one.
//! It depends on no command module, so intake, scheduling and offers all call down into it.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Ctx, OFFER_WINDOW, PreparedRoster, TARGETED_OFFERS, TOP_MATCHES};
use crate::clock::{later, rfc3339};
use crate::command::IntakeRequest;
use crate::engine::outcome::{BroadcastView, ExcludedView, MatchView, TargetedView};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::matching::{self, Criteria, CriteriaInput, Match, Ranking};
use crate::model::{
    AccountBar, Assignment, AssignmentStatus, Intake, MatchType, Mechanic, PaymentMethod, Priority,
    SessionStatus, Tier,
};
use crate::store::{self, events::Subject};
use crate::text::inert;

/// An intake that passed validation, trimmed and normalised.
pub(super) struct ValidIntake {
    pub intake: Intake,
    pub payment_method: PaymentMethod,
    pub brands: Vec<String>,
}

/// Why a session has no targeted offers, or that it has them (SPEC §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BroadcastReason {
    Fallback,
    NoMatches,
    NoOnlineMatches,
    AllMatchesBusy,
    SmartMatchingDisabled,
    MatchingFailed,
}

impl BroadcastReason {
    fn as_str(self) -> &'static str {
        match self {
            BroadcastReason::Fallback => "fallback_if_no_targeted_accepts",
            BroadcastReason::NoMatches => "no_matches_found",
            BroadcastReason::NoOnlineMatches => "no_online_matches",
            BroadcastReason::AllMatchesBusy => "all_matches_busy",
            BroadcastReason::SmartMatchingDisabled => "smart_matching_disabled",
            BroadcastReason::MatchingFailed => "matching_failed",
        }
    }
}

pub(super) fn criteria(
    req: &IntakeRequest,
    brands: &[String],
    keywords: Vec<&'static str>,
    now: DateTime<Utc>,
) -> Criteria {
    Criteria::new(CriteriaInput {
        keywords,
        request_type: Some(req.request_type),
        brands,
        vehicle_make: req.vehicle.make.as_deref(),
        country: req.location.country.as_deref(),
        postal_code: req.location.postal_code.as_deref(),
        city: req.location.city.as_deref(),
        prefer_local: req.prefer_local,
        today: now.date_naive(),
    })
}

pub(super) fn views(criteria: &Criteria, matches: &[Match<'_>]) -> Vec<MatchView> {
    matches.iter().map(|m| view(criteria, m)).collect()
}

fn view(criteria: &Criteria, m: &Match<'_>) -> MatchView {
    MatchView {
        mechanic: m.mechanic().id.clone(),
        name: m.mechanic().name.clone(),
        score: m.score,
        tier: Tier::of_score(m.score),
        on_shift: m.candidate.on_shift(),
        busy: m.busy,
        reasons: m.explain(criteria),
    }
}

/// Who was left out and why: those who can take no session at all (by id), then those this
/// request rules out (by id); the first [`matching::EXCLUDED_LISTED`], and how many in all.
pub(super) fn excluded(
    roster: &PreparedRoster,
    ranking: &Ranking<'_>,
) -> (Vec<ExcludedView>, usize) {
    let listed = roster
        .unavailable
        .iter()
        .cloned()
        .chain(ranking.excluded.iter().map(|(c, why)| ExcludedView {
            mechanic: c.mechanic().id.clone(),
            name: c.mechanic().name.clone(),
            reason: *why,
        }))
        .take(matching::EXCLUDED_LISTED)
        .collect();
    (listed, roster.unavailable.len() + ranking.excluded_total)
}

/// Whether a customer falls in the smart-matching rollout: a stable hash (FNV-1a, fixed across
/// builds, unlike std's hasher) of the lower-cased email, or phone, modulo 100.
pub(crate) fn in_rollout(intake: &Intake, percent: u8) -> bool {
    let key = intake
        .customer_email
        .as_deref()
        .or(intake.customer_phone.as_deref())
        .unwrap_or("")
        .to_lowercase();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % 100 < u64::from(percent)
}

/// The matcher's result for one intake, or why it did not run.
pub(super) enum MatcherRun {
    Skipped,
    Failed(String),
    Ran { latency_ms: f64 },
}

/// A session whose gate is clear waits for a mechanic; one held by its gate is pending (§4.7).
pub(super) fn released_status(gate_clear: bool) -> SessionStatus {
    if gate_clear {
        SessionStatus::Waiting
    } else {
        SessionStatus::Pending
    }
}

/// What SPEC §4 steps 3–5 need of a session, whether it is being created by an intake or
/// released by the tick after waiting as `scheduled` (§14).
pub(super) struct Dispatch<'a> {
    pub session_id: &'a str,
    pub intake: &'a Intake,
    pub keywords: &'a [&'static str],
    pub criteria: &'a Criteria,
    pub preferred: Option<&'a str>,
    /// The release gate is clear: offers go live now (else they are held, §4.7).
    pub release: bool,
    /// The flag, roster and busy list, when the caller read them already for many sessions at
    /// once (the tick releasing bookings, during which nobody accepts): read here otherwise.
    pub shared: Option<&'a SharedInputs>,
}

/// What matching reads that is the same for every session of one tick.
pub(super) struct SharedInputs {
    pub flag: store::settings::SmartMatching,
    pub roster: std::sync::Arc<PreparedRoster>,
    pub busy: Vec<u32>,
}

impl SharedInputs {
    pub(super) fn read(ctx: &mut Ctx<'_>) -> DispatchResult<SharedInputs> {
        let flag = store::settings::smart_matching(ctx.conn())?;
        let roster = ctx.roster()?;
        let busy = ctx.busy_indices(&roster.candidates)?;
        Ok(SharedInputs { flag, roster, busy })
    }
}

/// The matcher's result as the session's row records it.
pub(super) struct MatchSummary<'a> {
    pub smart: bool,
    run: &'a MatcherRun,
    total: usize,
    matches: &'a [MatchView],
    /// Eligible mechanics exist and none is on shift (§4.6): the offline card's cue.
    pub all_offline: bool,
    pub all_busy: bool,
}

/// What steps 3–5 did.
pub(super) struct Dispatched {
    pub smart: bool,
    pub matches: Vec<MatchView>,
    pub targeted: Vec<TargetedView>,
    pub broadcast: BroadcastView,
    pub all_offline: bool,
    pub all_busy: bool,
    pub excluded: Vec<ExcludedView>,
    pub excluded_total: usize,
}

/// SPEC §4 steps 3–5 at this moment: the rollout decision, the matcher, targeted offers to the
/// best on shift and free (and the preferred mechanic), and the one broadcast. `store_session`
/// writes the session row between the matching and the offers that refer to it: an intake
/// inserts it, a scheduled release updates it.
pub(super) fn match_and_offer(
    ctx: &mut Ctx<'_>,
    d: &Dispatch<'_>,
    store_session: impl FnOnce(&mut Ctx<'_>, &MatchSummary<'_>) -> DispatchResult<()>,
) -> DispatchResult<Dispatched> {
    let now = ctx.now;
    let (criteria, release, session_id) = (d.criteria, d.release, d.session_id);
    let flag = match d.shared {
        Some(shared) => shared.flag,
        None => store::settings::smart_matching(ctx.conn())?,
    };
    let smart = flag.enabled && in_rollout(d.intake, flag.rollout_percent);

    // The roster is needed for matching and for a preferred mechanic; a roster that cannot be
    // read (a corrupt row) is a matcher failure, never an intake failure. A failure of the
    // database itself is the command's: on PostgreSQL it has ended the transaction (a lost
    // race is run again), and nothing after it could be written.
    let roster: Result<(std::sync::Arc<PreparedRoster>, Vec<u32>), String> = match d.shared {
        Some(shared) => Ok((std::sync::Arc::clone(&shared.roster), shared.busy.clone())),
        None => match ctx
            .roster()
            .and_then(|roster| Ok((ctx.busy_indices(&roster.candidates)?, roster)))
        {
            Ok((busy, roster)) => Ok((roster, busy)),
            Err(e) if e.is_unreadable_row() => Err(e.to_string()),
            Err(e) => return Err(e.into()),
        },
    };
    let started = Instant::now();
    let (run, ranking) = match (&roster, smart) {
        (_, false) => (MatcherRun::Skipped, None),
        (Err(e), true) => (MatcherRun::Failed(e.clone()), None),
        (Ok((roster, busy)), true) => {
            let ranked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                matching::rank(
                    criteria,
                    &roster.candidates,
                    busy,
                    TOP_MATCHES,
                    TARGETED_OFFERS,
                )
            }));
            match ranked {
                Ok(r) => (
                    MatcherRun::Ran {
                        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
                    },
                    Some(r),
                ),
                Err(_) => (MatcherRun::Failed("the matcher panicked".into()), None),
            }
        }
    };
    if let MatcherRun::Failed(reason) = &run {
        tracing::error!(session = %session_id, %reason, "matching failed; falling back to broadcast");
    }

    let (excluded, excluded_total) = match (&roster, &ranking) {
        (Ok((roster, _)), Some(ranking)) => excluded(roster, ranking),
        _ => (Vec::new(), 0),
    };
    let matches = ranking
        .as_ref()
        .map(|r| views(criteria, &r.top))
        .unwrap_or_default();
    store_session(
        ctx,
        &MatchSummary {
            smart,
            run: &run,
            total: ranking.as_ref().map_or(0, |r| r.total),
            matches: &matches,
            all_offline: ranking.as_ref().is_some_and(Ranking::all_offline),
            all_busy: ranking.as_ref().is_some_and(Ranking::all_busy),
        },
    )?;

    // Targeted offers: the best three on shift and not busy, plus a preferred mechanic who is
    // on shift, eligible and not busy. Nothing targeted when matching failed: the session falls
    // back to broadcast.
    let mut added_preferred: Option<usize> = None;
    let mut chosen: Vec<Match<'_>> = ranking
        .as_ref()
        .map(|r| r.top_on_shift.clone())
        .unwrap_or_default();
    if let (Some(preferred), Ok((roster, busy))) = (d.preferred, &roster) {
        let failed = matches!(run, MatcherRun::Failed(_));
        if !failed
            && !chosen.iter().any(|m| m.mechanic().id == preferred)
            && let Ok(i) = roster
                .candidates
                .binary_search_by(|c| c.mechanic().id.as_str().cmp(preferred))
            && roster.candidates[i].on_shift()
            && busy.binary_search(&(i as u32)).is_err()
            && matching::is_eligible(criteria, &roster.candidates[i])
        {
            let c = &roster.candidates[i];
            added_preferred = Some(chosen.len());
            chosen.push(matching::score(criteria, c));
        }
    }
    let mut targeted = Vec::with_capacity(chosen.len());
    for (i, m) in chosen.iter().enumerate() {
        let mut assignment = targeted_offer(session_id, i + 1, criteria, m, release, now);
        if added_preferred == Some(i) {
            // Not among the best three on shift: there because the customer asked for him.
            assignment.metadata["reason"] = json!("preferred_mechanic");
        }
        store::assignments::insert(ctx.conn(), &assignment)?;
        ctx.event(
            "offer_created",
            Subject {
                session: Some(session_id),
                mechanic: assignment.mechanic_id.as_deref(),
                assignment: Some(&assignment.id),
                ..Default::default()
            },
        )?;
        if release && let Some(expires_at) = assignment.expires_at {
            ctx.notify_new_offer(
                session_id,
                super::notify::LiveOffer {
                    assignment: &assignment.id,
                    expires_at,
                },
                &super::notify::describe(d.keywords),
                &super::notify::in_city(d.intake.city.as_deref()),
                m.mechanic(),
            )?;
        }
        targeted.push(TargetedView {
            assignment: assignment.id,
            mechanic: m.mechanic().id.clone(),
            score: m.score,
            expires_at: assignment.expires_at.map(rfc3339),
        });
    }

    let reason = match (&run, &ranking) {
        _ if !targeted.is_empty() => BroadcastReason::Fallback,
        (MatcherRun::Skipped, _) => BroadcastReason::SmartMatchingDisabled,
        (MatcherRun::Failed(_), _) => BroadcastReason::MatchingFailed,
        (MatcherRun::Ran { .. }, Some(r)) if r.total == 0 => BroadcastReason::NoMatches,
        (MatcherRun::Ran { .. }, Some(r)) if r.all_busy() => BroadcastReason::AllMatchesBusy,
        (MatcherRun::Ran { .. }, _) => BroadcastReason::NoOnlineMatches,
    };
    let broadcast = broadcast_offer(session_id, reason, !targeted.is_empty(), release, now);
    store::assignments::insert(ctx.conn(), &broadcast)?;
    ctx.event_with(
        "broadcast_created",
        Subject {
            session: Some(session_id),
            assignment: Some(&broadcast.id),
            ..Default::default()
        },
        json!({"reason": reason.as_str()}),
    )?;
    if release {
        ctx.event(
            "session_released",
            Subject {
                session: Some(session_id),
                ..Default::default()
            },
        )?;
    }

    Ok(Dispatched {
        smart,
        matches,
        targeted,
        broadcast: BroadcastView {
            assignment: broadcast.id,
            active_from: broadcast.active_from.map(rfc3339),
            reason: reason.as_str().to_string(),
        },
        all_offline: ranking.as_ref().is_some_and(Ranking::all_offline),
        all_busy: ranking.as_ref().is_some_and(Ranking::all_busy),
        excluded,
        excluded_total,
    })
}

/// A session's metadata (SPEC §4.2–4.3), serialised as it stands.
#[derive(serde::Serialize)]
struct SessionMetadata<'a> {
    source: &'static str,
    payment_method: PaymentMethod,
    urgent: bool,
    customer_country: &'a str,
    customer_province: Option<&'a str>,
    customer_city: Option<&'a str>,
    customer_postal_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vehicle_make: Option<&'a str>,
    prefer_local: bool,
    extracted_keywords: &'a [&'static str],
    #[serde(flatten)]
    matching: MatchingMetadata<'a>,
}

/// The part of a session's metadata the matcher writes (SPEC §4.3): at intake, or at the
/// release of a scheduled session.
#[derive(serde::Serialize)]
pub(super) struct MatchingMetadata<'a> {
    smart_matching: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    matching_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matching_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matching_results: Option<MatchingResults<'a>>,
}

#[derive(serde::Serialize)]
struct MatchingResults<'a> {
    total_matches: usize,
    top: Vec<TopMatch<'a>>,
}

#[derive(serde::Serialize)]
struct TopMatch<'a> {
    mechanic_id: &'a str,
    score: i64,
    on_shift: bool,
    reasons: &'a [matching::ScoredReason],
}

impl<'a> MatchingMetadata<'a> {
    pub(super) fn of(summary: &MatchSummary<'a>) -> MatchingMetadata<'a> {
        let (matching_error, matching_latency_ms, matching_results) = match summary.run {
            MatcherRun::Skipped => (None, None, None),
            MatcherRun::Failed(reason) => (Some(reason.as_str()), None, None),
            MatcherRun::Ran { latency_ms } => (
                None,
                Some((latency_ms * 1000.0).round() / 1000.0),
                Some(MatchingResults {
                    total_matches: summary.total,
                    top: summary
                        .matches
                        .iter()
                        .map(|m| TopMatch {
                            mechanic_id: &m.mechanic,
                            score: m.score,
                            on_shift: m.on_shift,
                            reasons: &m.reasons,
                        })
                        .collect(),
                }),
            ),
        };
        MatchingMetadata {
            smart_matching: summary.smart,
            matching_error,
            matching_latency_ms,
            matching_results,
        }
    }
}

/// The metadata of a session booked for later: no matching has run yet (it runs at release).
pub(super) fn booked_metadata(
    req: &IntakeRequest,
    intake: &Intake,
    keywords: &[&'static str],
    payment_method: PaymentMethod,
) -> String {
    let summary = MatchSummary {
        smart: false,
        run: &MatcherRun::Skipped,
        total: 0,
        matches: &[],
        all_offline: false,
        all_busy: false,
    };
    session_metadata(req, intake, keywords, &summary, payment_method)
}

pub(super) fn session_metadata(
    req: &IntakeRequest,
    intake: &Intake,
    keywords: &[&'static str],
    summary: &MatchSummary<'_>,
    payment_method: PaymentMethod,
) -> String {
    let meta = SessionMetadata {
        source: "intake",
        payment_method,
        urgent: req.urgent,
        customer_country: &intake.country,
        customer_province: intake.province.as_deref(),
        customer_city: intake.city.as_deref(),
        customer_postal_code: &intake.postal_code,
        vehicle_make: intake.vehicle_make.as_deref(),
        prefer_local: req.prefer_local,
        extracted_keywords: keywords,
        matching: MatchingMetadata::of(summary),
    };
    serde_json::to_string(&meta).expect("plain data always serialises")
}

/// Assignment ids are derived from the session's: `S.t1`, `S.t2`, … for targeted offers and
/// `S.b` for the broadcast, so scripts and dispatchers can read them at a glance.
pub(crate) fn targeted_id(session: &str, n: usize) -> String {
    format!("{session}.t{n}")
}

pub(crate) fn targeted_offer(
    session: &str,
    n: usize,
    criteria: &Criteria,
    m: &Match<'_>,
    live: bool,
    now: DateTime<Utc>,
) -> Assignment {
    let candidate = m.candidate;
    Assignment {
        id: targeted_id(session, n),
        session_id: session.to_string(),
        mechanic_id: Some(candidate.mechanic().id.clone()),
        status: if live {
            AssignmentStatus::Offered
        } else {
            AssignmentStatus::Queued
        },
        priority: Priority::High,
        match_score: Some(m.score),
        match_reasons: m
            .explain(criteria)
            .into_iter()
            .map(|r| r.reason.into_owned())
            .collect(),
        offered_at: live.then_some(now),
        expires_at: live.then_some(later(now, OFFER_WINDOW)),
        active_from: None,
        accepted_at: None,
        closed_at: None,
        closed_reason: None,
        metadata: json!({
            "match_type": "targeted",
            "is_brand_specialist": candidate.mechanic().is_brand_specialist,
            "is_local_match": m.reasons.as_slice().iter().any(|r| matches!(r, matching::Reason::Local | matching::Reason::SameArea)),
            "reason": "top_match",
        }),
        created_at: now,
        match_type: MatchType::Targeted,
    }
}

fn broadcast_offer(
    session: &str,
    reason: BroadcastReason,
    held: bool,
    released: bool,
    now: DateTime<Utc>,
) -> Assignment {
    Assignment {
        id: format!("{session}.b"),
        session_id: session.to_string(),
        mechanic_id: None,
        status: AssignmentStatus::Queued,
        priority: Priority::Normal,
        match_score: None,
        match_reasons: Vec::new(),
        offered_at: None,
        expires_at: None,
        active_from: released.then(|| if held { later(now, OFFER_WINDOW) } else { now }),
        accepted_at: None,
        closed_at: None,
        closed_reason: None,
        metadata: json!({
            "match_type": "broadcast",
            "is_brand_specialist": false,
            "is_local_match": false,
            "reason": reason.as_str(),
        }),
        created_at: now,
        match_type: MatchType::Broadcast,
    }
}

/// The session row an intake request makes, as of `now`, in `status`: neither released nor
/// booked for later (the caller sets what applies). One place for the fields both an intake and
/// a booking copy from the request.
pub(super) fn new_session<'a>(
    req: &'a IntakeRequest,
    id: &'a str,
    brands: &'a [String],
    payment_method: crate::model::PaymentMethod,
    metadata: &'a str,
    status: SessionStatus,
    now: DateTime<Utc>,
) -> store::sessions::NewSession<'a> {
    store::sessions::NewSession {
        id,
        status,
        payment_method,
        urgent: req.urgent,
        request_type: req.request_type,
        requested_brands: brands,
        preferred_mechanic_id: req.preferred_mechanic.as_deref(),
        waiver_signed: req.waiver_signed,
        payment_confirmed: req.payment_confirmed,
        metadata,
        created_at: now,
        released_at: None,
        scheduled_for: None,
    }
}

/// Why a mechanic may not take a session asking for `brands` (one sentence for every command
/// that names him: `set_preferred`, `intake`'s preferred mechanic, accept).
pub(super) fn ineligible(m: &Mechanic, brands: &[String]) -> DispatchError {
    let why = match m.account_exclusion() {
        Some(AccountBar::Suspended) => "is suspended".to_string(),
        Some(AccountBar::PendingApproval) => "is not approved yet".to_string(),
        Some(AccountBar::ProfileIncomplete) => "has a profile under 80 % complete".to_string(),
        None => format!("does not specialise in {}", inert(&brands.join("/"))),
    };
    DispatchError::new(ErrorCode::NotEligible, format!("{} {why}.", inert(&m.name)))
}
