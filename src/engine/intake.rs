//! The session factory (SPEC §4): intake → session → offers, in one transaction, and `browse`,
//! the same matching without writing anything.

use serde_json::json;

use super::dispatch::{
    Dispatch, ValidIntake, criteria, excluded, ineligible, match_and_offer, new_session,
    released_status, session_metadata, views,
};
use super::validate::{self, MAX_CONCERN, MAX_NAME, MAX_SHORT_TEXT};
use super::{Ctx, Engine};
use crate::command::IntakeRequest;
use crate::engine::outcome::{BrowseOutcome, IntakeOutcome, SessionBrief};
use crate::error::{DispatchError, DispatchResult};
use crate::matching;
use crate::model::{Intake, RequestType};
use crate::store::{self, events::Subject};

impl Engine {
    /// Creates a session from an intake: validation, matching, targeted offers, the broadcast
    /// and the release gate, all in one transaction.
    pub fn intake(&mut self, req: IntakeRequest) -> DispatchResult<IntakeOutcome> {
        self.write(|ctx| create_session(ctx, req))
    }

    /// Loads the roster prepared for matching (and the statements that read it) ahead of the
    /// first intake, which would otherwise pay for it: 25–50 ms at 1,000 mechanics, a wait
    /// every request queued behind that first one shares. `serve` calls it before it listens.
    pub fn prepare_for_intakes(&mut self) -> DispatchResult<()> {
        self.read(|ctx| {
            let roster = ctx.roster()?;
            ctx.busy_indices(&roster.candidates)?;
            Ok(())
        })
    }

    /// The ranking an intake would get, writing nothing. Lenient, because the console calls it
    /// while the form is half typed: only what matching uses is checked.
    pub fn browse(&mut self, req: &IntakeRequest, limit: usize) -> DispatchResult<BrowseOutcome> {
        validate::optional("concern", "concern", Some(&req.concern), MAX_CONCERN)?;
        let brands = validate::labels("brands", &req.brands)?;
        if req.request_type == RequestType::BrandSpecialist && brands.is_empty() {
            return Err(brands_required());
        }
        let keywords = matching::extract_keywords(&req.concern);
        self.read(|ctx| {
            let criteria = criteria(req, &brands, keywords.clone(), ctx.now);
            let roster = ctx.roster()?;
            let busy = ctx.busy_indices(&roster.candidates)?;
            let ranking = matching::rank(&criteria, &roster.candidates, &busy, limit, 0);
            let (excluded, excluded_total) = excluded(&roster, &ranking);
            Ok(BrowseOutcome {
                keywords,
                matches: views(&criteria, &ranking.top),
                all_offline: ranking.all_offline(),
                all_busy: ranking.all_busy(),
                excluded,
                excluded_total,
                total_matches: ranking.total,
            })
        })
    }
}

pub(super) fn brands_required() -> DispatchError {
    DispatchError::invalid(
        "brands",
        "A brand specialist request needs at least one brand.",
    )
}

/// Every problem of an intake's own fields at once, by the same rules (and sentences) as the
/// session factory, in the order it checks them: a form shows them all after one submit
/// instead of one per try. What needs the database (a taken id, the preferred mechanic) is
/// left to the factory itself.
pub fn field_problems(
    req: &IntakeRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<DispatchError> {
    let mut problems = Vec::new();
    let mut note = |r: DispatchResult<()>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    note(
        validate::required(
            "customer.name",
            "customer's name",
            &req.customer.name,
            MAX_NAME,
        )
        .map(drop),
    );
    let email = validate::email("customer.email", req.customer.email.as_deref());
    let phone = validate::phone("customer.phone", req.customer.phone.as_deref());
    let reachable = matches!(email, Ok(Some(_))) || matches!(phone, Ok(Some(_)));
    let (email_failed, phone_failed) = (email.is_err(), phone.is_err());
    note(email.map(drop));
    note(phone.map(drop));
    if !reachable && !email_failed && !phone_failed {
        note(Err(DispatchError::invalid(
            "customer.email",
            "An email address or a phone number is required to reach the customer.",
        )));
    }
    note(validate::required("concern", "concern", &req.concern, MAX_CONCERN).map(drop));
    let country = validate::required(
        "location.country",
        "country",
        req.location.country.as_deref().unwrap_or(""),
        MAX_SHORT_TEXT,
    );
    let postal = validate::required(
        "location.postal_code",
        "postal code",
        req.location.postal_code.as_deref().unwrap_or(""),
        MAX_SHORT_TEXT,
    );
    if let (Ok(country), Ok(code)) = (&country, &postal) {
        note(validate::postal_code("location.postal_code", country, code));
    }
    note(country.map(drop));
    note(postal.map(drop));
    if req.payment_method.is_none() {
        note(Err(DispatchError::invalid(
            "payment_method",
            "Choose a payment method: free, credit or paid.",
        )));
    }
    match validate::labels("brands", &req.brands) {
        Ok(brands) if req.request_type == RequestType::BrandSpecialist && brands.is_empty() => {
            note(Err(brands_required()))
        }
        Ok(_) => {}
        Err(e) => note(Err(e)),
    }
    if let Some(year) = req.vehicle.year {
        let next_year = i64::from(chrono::Datelike::year(&now)) + 1;
        note(validate::range("vehicle.year", "vehicle year", year, 1900, next_year).map(drop));
    }
    for (field, label, value) in [
        (
            "location.province",
            "province",
            req.location.province.as_deref(),
        ),
        ("location.city", "city", req.location.city.as_deref()),
        ("vehicle.make", "vehicle make", req.vehicle.make.as_deref()),
        (
            "vehicle.model",
            "vehicle model",
            req.vehicle.model.as_deref(),
        ),
    ] {
        note(validate::optional(field, label, value, MAX_SHORT_TEXT).map(drop));
    }
    problems
}

fn validate_intake(ctx: &Ctx<'_>, req: &IntakeRequest) -> DispatchResult<ValidIntake> {
    let id = match &req.id {
        Some(id) => {
            validate::id("id", id)?;
            if store::sessions::exists(ctx.conn(), id)? {
                return Err(validate::id_taken("id", "A session", id));
            }
            id.clone()
        }
        None => ctx.new_id(),
    };
    let name = validate::required(
        "customer.name",
        "customer's name",
        &req.customer.name,
        MAX_NAME,
    )?;
    let email = validate::email("customer.email", req.customer.email.as_deref())?;
    let phone = validate::phone("customer.phone", req.customer.phone.as_deref())?;
    if email.is_none() && phone.is_none() {
        return Err(DispatchError::invalid(
            "customer.email",
            "An email address or a phone number is required to reach the customer.",
        ));
    }
    let concern = validate::required("concern", "concern", &req.concern, MAX_CONCERN)?;
    let country = validate::required(
        "location.country",
        "country",
        req.location.country.as_deref().unwrap_or(""),
        MAX_SHORT_TEXT,
    )?;
    let postal_code = validate::required(
        "location.postal_code",
        "postal code",
        req.location.postal_code.as_deref().unwrap_or(""),
        MAX_SHORT_TEXT,
    )?;
    validate::postal_code("location.postal_code", country, postal_code)?;
    let Some(payment_method) = req.payment_method else {
        return Err(DispatchError::invalid(
            "payment_method",
            "Choose a payment method: free, credit or paid.",
        ));
    };
    let brands = validate::labels("brands", &req.brands)?;
    if req.request_type == RequestType::BrandSpecialist && brands.is_empty() {
        return Err(brands_required());
    }
    if let Some(year) = req.vehicle.year {
        let next_year = i64::from(chrono::Datelike::year(&ctx.now)) + 1;
        validate::range("vehicle.year", "vehicle year", year, 1900, next_year)?;
    }
    if let Some(preferred) = &req.preferred_mechanic {
        // The same rule, code and sentence as `set_preferred`: a mechanic who may not take the
        // session cannot be preferred for it.
        let Some(m) = store::mechanics::get(ctx.conn(), preferred)? else {
            return Err(DispatchError::not_found(
                "preferred_mechanic",
                "mechanic",
                preferred,
            ));
        };
        let criteria = criteria(req, &brands, Vec::new(), ctx.now);
        if !matching::is_eligible(&criteria, &matching::Candidate::new(m.clone())) {
            return Err(ineligible(&m, &brands).with_field("preferred_mechanic"));
        }
    }
    let vin = validate::optional("vehicle.vin", "VIN", req.vehicle.vin.as_deref(), 17)?;
    Ok(ValidIntake {
        intake: Intake {
            id,
            customer_name: name.to_string(),
            customer_email: email,
            customer_phone: phone,
            country: country.to_string(),
            province: validate::optional(
                "location.province",
                "province",
                req.location.province.as_deref(),
                MAX_SHORT_TEXT,
            )?,
            city: validate::optional(
                "location.city",
                "city",
                req.location.city.as_deref(),
                MAX_SHORT_TEXT,
            )?,
            postal_code: postal_code.to_string(),
            vehicle_year: req.vehicle.year,
            vehicle_make: validate::optional(
                "vehicle.make",
                "vehicle make",
                req.vehicle.make.as_deref(),
                MAX_SHORT_TEXT,
            )?,
            vehicle_model: validate::optional(
                "vehicle.model",
                "vehicle model",
                req.vehicle.model.as_deref(),
                MAX_SHORT_TEXT,
            )?,
            vehicle_vin: vin,
            // Stored as given (SPEC §7), only trimmed; it is made inert where it is shown.
            concern: concern.to_string(),
            created_at: ctx.now,
        },
        payment_method,
        brands,
    })
}

fn create_session(ctx: &mut Ctx<'_>, req: IntakeRequest) -> DispatchResult<IntakeOutcome> {
    let valid = validate_intake(ctx, &req)?;
    if let Some(at) = &req.scheduled_for {
        let at = super::scheduling::validate_scheduled_for(at, ctx.now)?;
        return super::scheduling::book(ctx, &req, valid, at);
    }
    let now = ctx.now;
    let intake = valid.intake;
    let keywords = matching::extract_keywords(&intake.concern);
    let criteria = criteria(&req, &valid.brands, keywords.clone(), now);
    let release = crate::model::gate_clear(
        req.waiver_signed,
        valid.payment_method,
        req.payment_confirmed,
    );
    let status = released_status(release);
    let dispatch = Dispatch {
        session_id: &intake.id,
        intake: &intake,
        keywords: &keywords,
        criteria: &criteria,
        preferred: req.preferred_mechanic.as_deref(),
        release,
        shared: None,
    };
    let done = match_and_offer(ctx, &dispatch, |ctx, summary| {
        let metadata = session_metadata(&req, &intake, &keywords, summary, valid.payment_method);
        let session = store::sessions::NewSession {
            released_at: release.then_some(now),
            ..new_session(
                &req,
                &intake.id,
                &valid.brands,
                valid.payment_method,
                &metadata,
                status,
                now,
            )
        };
        store::sessions::insert_intake(ctx.conn(), &intake)?;
        store::sessions::insert(ctx.conn(), &session)?;
        ctx.event_with(
            "session_created",
            Subject {
                session: Some(session.id),
                ..Default::default()
            },
            json!({"status": session.status, "smart_matching": summary.smart}),
        )?;
        Ok(())
    })?;
    Ok(IntakeOutcome {
        session: SessionBrief {
            id: intake.id.clone(),
            status,
        },
        keywords,
        smart_matching: done.smart,
        matches: done.matches,
        targeted: Some(done.targeted),
        broadcast: Some(done.broadcast),
        all_offline: done.all_offline,
        all_busy: done.all_busy,
        excluded: done.excluded,
        excluded_total: done.excluded_total,
        scheduled_for: None,
        planned: None,
    })
}
