//! The roster: adding mechanics, loading seeds, and clocking in and out.

use super::validate::{self, MAX_NAME, MAX_SHORT_TEXT};
use super::{Ctx, Engine, invalid_state};
use crate::command::AddMechanic;
use crate::engine::outcome::{CountOutcome, MechanicOutcome, MechanicView, MechanicsOutcome};
use crate::error::{DispatchError, DispatchResult};
use crate::model::{AccountStatus, Mechanic};
use crate::store::{self, events::Subject};

impl Engine {
    pub fn add_mechanic(&mut self, req: AddMechanic) -> DispatchResult<MechanicOutcome> {
        self.write(|ctx| {
            let mechanic = add(ctx, req, "")?;
            Ok(MechanicOutcome {
                mechanic: mechanic.into(),
                notified: None,
                offers: None,
                open: None,
                withdrawn: None,
            })
        })
    }

    /// Loads seeds from JSON text (the console embeds the demo roster this way).
    pub fn load_seeds(&mut self, json: &str) -> DispatchResult<CountOutcome> {
        let seeds = parse_seeds(json)?;
        let count = seeds.len();
        self.write(|ctx| add_all(ctx, seeds))?;
        Ok(CountOutcome { count })
    }

    /// Loads seeds only into a database nobody has used yet, deciding and loading in one write
    /// transaction, so two consoles starting together on a new file seed it once. True when it
    /// loaded them.
    pub fn seed_if_unused(&mut self, json: &str) -> DispatchResult<bool> {
        let seeds = parse_seeds(json)?;
        self.write(|ctx| {
            if !store::events::none_yet(ctx.conn())? {
                return Ok(false);
            }
            add_all(ctx, seeds)?;
            Ok(true)
        })
    }

    pub fn mechanics(&mut self) -> DispatchResult<MechanicsOutcome> {
        self.read(|ctx| {
            Ok(MechanicsOutcome {
                mechanics: store::mechanics::all(ctx.conn())?
                    .into_iter()
                    .map(MechanicView::from)
                    .collect(),
            })
        })
    }

    /// Clock in: on shift (with the legacy mirror), every waiting waitlist entry notified, and
    /// a targeted offer on every waiting session that named this mechanic.
    pub fn clock_in(&mut self, id: &str) -> DispatchResult<MechanicOutcome> {
        self.write(|ctx| {
            let mechanic = ctx.mechanic(id)?;
            if !store::mechanics::set_on_shift(ctx.conn(), id, true, ctx.now)? {
                return Err(invalid_state(format!(
                    "{} is already on shift.",
                    crate::text::inert(&mechanic.name)
                )));
            }
            ctx.event(
                "clock_in",
                Subject {
                    mechanic: Some(id),
                    ..Default::default()
                },
            )?;
            store::mechanics::reset_unanswered(ctx.conn(), id)?;
            let mechanic = ctx.mechanic(id)?;
            let (notified, mut offers) = ctx.notify_waitlist(&mechanic)?;
            offers.extend(ctx.offer_preferred_sessions(&mechanic)?);
            let open = ctx.open_broadcast_count(&mechanic)?;
            Ok(MechanicOutcome {
                mechanic: mechanic.into(),
                notified: Some(notified),
                offers: Some(offers),
                open: Some(open),
                withdrawn: None,
            })
        })
    }

    /// Clock out: off shift, and live targeted offers withdrawn (which may open broadcasts).
    pub fn clock_out(&mut self, id: &str) -> DispatchResult<MechanicOutcome> {
        self.write(|ctx| {
            let mechanic = ctx.mechanic(id)?;
            if !store::mechanics::set_on_shift(ctx.conn(), id, false, ctx.now)? {
                return Err(invalid_state(format!(
                    "{} is not on shift.",
                    crate::text::inert(&mechanic.name)
                )));
            }
            ctx.event(
                "clock_out",
                Subject {
                    mechanic: Some(id),
                    ..Default::default()
                },
            )?;
            let (withdrawn, _) = ctx.withdraw_offers(id, "clocked_out")?;
            Ok(MechanicOutcome {
                mechanic: ctx.mechanic(id)?.into(),
                notified: None,
                offers: None,
                open: None,
                withdrawn: Some(withdrawn),
            })
        })
    }
}

/// Exactly one JSON array of mechanics, then the end: anything after it (a second array) is
/// refused rather than silently dropped, and a key twice in a record is refused as in commands.
fn parse_seeds(json: &str) -> DispatchResult<Vec<AddMechanic>> {
    let value = crate::json::from_str(json).map_err(|e| {
        DispatchError::invalid(
            "path",
            format!("The seed file is not one JSON list of mechanics: {e}."),
        )
    })?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        DispatchError::invalid(
            if at == "." { "path".to_string() } else { at },
            format!(
                "The seed file is not a list of mechanics: {} at {}.",
                e.inner(),
                e.path()
            ),
        )
    })
}

fn add_all(ctx: &mut Ctx<'_>, seeds: Vec<AddMechanic>) -> DispatchResult<()> {
    for (i, seed) in seeds.into_iter().enumerate() {
        add(ctx, seed, &format!("[{i}]."))?;
    }
    Ok(())
}

/// Validates and inserts one mechanic; `prefix` locates the record in a seed file.
fn add(ctx: &mut Ctx<'_>, req: AddMechanic, prefix: &str) -> DispatchResult<Mechanic> {
    let f = |name: &str| format!("{prefix}{name}");
    let id = match req.id {
        Some(id) => {
            validate::id(&f("id"), &id)?;
            id
        }
        None => ctx.new_id(),
    };
    if store::mechanics::exists(ctx.conn(), &id)? {
        return Err(validate::id_taken(&f("id"), "A mechanic", &id));
    }
    let text = |field: &str, label: &str, v: Option<String>| {
        validate::optional(&f(field), label, v.as_deref(), MAX_SHORT_TEXT)
    };
    if !(0.0..=5.0).contains(&req.rating) {
        return Err(DispatchError::invalid(
            f("rating"),
            "The rating must be between 0 and 5.",
        ));
    }
    let email = validate::email(&f("email"), req.email.as_deref())?;
    let phone = validate::phone(&f("phone"), req.phone.as_deref())?;
    let notify_via = mechanic_channels(&f("notify_via"), req.notify_via, &email, &phone)?;
    let mechanic = Mechanic {
        name: validate::required(&f("name"), "name", &req.name, MAX_NAME)?.to_string(),
        email,
        phone,
        notify_via,
        city: text("city", "city", req.city)?,
        state_province: text("state_province", "province or state", req.state_province)?,
        country: text("country", "country", req.country)?,
        postal_code: text("postal_code", "postal code", req.postal_code)?,
        years_experience: validate::range(
            &f("years_experience"),
            "years of experience",
            req.years_experience,
            0,
            80,
        )?,
        rating: req.rating,
        completed_sessions: validate::range(
            &f("completed_sessions"),
            "completed sessions",
            req.completed_sessions,
            0,
            10_000_000,
        )?,
        profile_completion_score: validate::range(
            &f("profile_completion_score"),
            "profile completion score",
            req.profile_completion_score,
            0,
            100,
        )?,
        account_status: req.account_status.unwrap_or(AccountStatus::Approved),
        currently_on_shift: req.currently_on_shift,
        is_available: req.currently_on_shift,
        last_clock_in: req.currently_on_shift.then_some(ctx.now),
        certification_type: req.certification_type,
        certification_number: text(
            "certification_number",
            "certification number",
            req.certification_number,
        )?,
        certification_authority: text(
            "certification_authority",
            "certification authority",
            req.certification_authority,
        )?,
        certification_region: text(
            "certification_region",
            "certification region",
            req.certification_region,
        )?,
        certification_expiry: req.certification_expiry,
        red_seal_certified: req.red_seal_certified,
        red_seal_number: text("red_seal_number", "Red Seal number", req.red_seal_number)?,
        red_seal_province: text(
            "red_seal_province",
            "Red Seal province",
            req.red_seal_province,
        )?,
        is_brand_specialist: req.is_brand_specialist,
        brand_specializations: validate::labels(
            &f("brand_specializations"),
            &req.brand_specializations,
        )?,
        service_keywords: validate::labels(&f("service_keywords"), &req.service_keywords)?,
        max_active_sessions: validate::range(
            &f("max_active_sessions"),
            "maximum of active sessions",
            req.max_active_sessions.unwrap_or(1),
            1,
            10_000,
        )?,
        plan: crate::schedule::validate_plan(prefix, req.timezone.as_deref(), &req.shifts)?,
        created_at: ctx.now,
        updated_at: ctx.now,
        id,
    };
    if let (Some(country), Some(code)) = (&mechanic.country, &mechanic.postal_code) {
        validate::postal_code(&f("postal_code"), country, code)?;
    }
    store::mechanics::insert(ctx.conn(), &mechanic)?;
    ctx.event(
        "mechanic_added",
        Subject {
            mechanic: Some(&mechanic.id),
            ..Default::default()
        },
    )?;
    Ok(mechanic)
}

/// Where a mechanic's offers go (SPEC §2): the channels given, each once, each one he can be
/// reached on; by default sms when a phone is known, else email.
fn mechanic_channels(
    field: &str,
    given: Option<Vec<crate::model::Channel>>,
    email: &Option<String>,
    phone: &Option<String>,
) -> DispatchResult<Vec<crate::model::Channel>> {
    use crate::model::Channel;
    let Some(given) = given else {
        return Ok(vec![if phone.is_some() {
            Channel::Sms
        } else {
            Channel::Email
        }]);
    };
    let mut channels: Vec<Channel> = Vec::new();
    for c in given {
        if !channels.contains(&c) {
            channels.push(c);
        }
    }
    if channels.is_empty() {
        return Err(DispatchError::invalid(
            field,
            "Choose at least one way to send this mechanic his offers (sms, email, push).",
        ));
    }
    for c in &channels {
        let reachable = match c {
            Channel::Sms => phone.is_some(),
            Channel::Email => email.is_some(),
            Channel::Push => email.is_some() || phone.is_some(),
        };
        if !reachable {
            return Err(DispatchError::invalid(
                field,
                format!(
                    "Sending offers by {c} needs the mechanic's {}.",
                    if *c == Channel::Sms {
                        "phone number"
                    } else {
                        "email address"
                    }
                ),
            ));
        }
    }
    Ok(channels)
}
