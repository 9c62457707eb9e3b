//! Scoring and ranking (SPEC §3). Pure: no I/O, no clock (today's date is part of the criteria).
//!
//! Scoring allocates nothing: a match carries compact [`Reason`] codes, and their sentences are
//! written only for the few matches someone will read ([`Match::explain`]).

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::NaiveDate;

use crate::country::{Country, postal_prefix};
use crate::model::{Mechanic, RequestType, WhyNot};

/// Mechanics named in an intake's why-not list at most (SPEC §3); the total is counted anyway.
pub const EXCLUDED_LISTED: usize = 20;

/// What an intake asks for, prepared once per intake so scoring each mechanic is cheap.
#[derive(Debug, Clone)]
pub struct Criteria {
    keywords: Vec<&'static str>,
    /// The keywords as bits in canonical order (see [`Candidate::knows`]).
    keyword_mask: u64,
    request_type: RequestType,
    brands_lower: Vec<String>,
    /// The vehicle's make, lower-cased, for the "Knows Honda" row of a general request, and
    /// its bit in [`Hot::brand_bits`].
    make_lower: Option<String>,
    make_bit: u64,
    country: Option<Country>,
    country_display: Option<String>,
    postal_prefix: Option<String>,
    city_lower: Option<String>,
    prefer_local: bool,
    today: NaiveDate,
    /// The location as [`Keys`], compared against each mechanic's in the ranking pass.
    keys: Keys,
}

/// The inputs of [`Criteria::new`].
#[derive(Debug, Clone, Default)]
pub struct CriteriaInput<'a> {
    pub keywords: Vec<&'static str>,
    pub request_type: Option<RequestType>,
    pub brands: &'a [String],
    pub vehicle_make: Option<&'a str>,
    pub country: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub city: Option<&'a str>,
    pub prefer_local: bool,
    pub today: NaiveDate,
}

impl Criteria {
    pub fn new(input: CriteriaInput<'_>) -> Criteria {
        let country = input.country.and_then(Country::parse);
        let postal_prefix = match (&country, input.postal_code) {
            (Some(c), Some(code)) => postal_prefix(c, code),
            _ => None,
        };
        let city_lower = nonempty_lower(input.city);
        let make_lower = nonempty_lower(input.vehicle_make);
        Criteria {
            make_bit: make_lower.as_deref().map_or(0, brand_bit),
            make_lower,
            keys: Keys::new(
                country.as_ref(),
                postal_prefix.as_deref(),
                city_lower.as_deref(),
            ),
            keyword_mask: input
                .keywords
                .iter()
                .filter_map(|k| super::canonical_index(k))
                .fold(0, |mask, i| mask | (1 << i)),
            keywords: input.keywords,
            request_type: input.request_type.unwrap_or(RequestType::General),
            brands_lower: input
                .brands
                .iter()
                .map(|b| b.trim().to_lowercase())
                .collect(),
            country_display: country.as_ref().map(|c| c.display().to_string()),
            country,
            postal_prefix,
            city_lower,
            prefer_local: input.prefer_local,
            today: input.today,
        }
    }

    pub fn keywords(&self) -> &[&'static str] {
        &self.keywords
    }
}

/// A mechanic prepared for scoring: lower-cased and normalised once per roster load.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Everything the ranking pass reads, packed together (see [`Hot`]).
    hot: Hot,
    mechanic: Mechanic,
    brands_lower: Vec<String>,
    country: Option<Country>,
    postal_prefix: Option<String>,
    city_lower: Option<String>,
}

impl Candidate {
    pub fn new(mechanic: Mechanic) -> Candidate {
        let country = mechanic.country.as_deref().and_then(Country::parse);
        let postal_prefix = match (&country, mechanic.postal_code.as_deref()) {
            (Some(c), Some(code)) => postal_prefix(c, code),
            _ => None,
        };
        let city_lower = nonempty_lower(mechanic.city.as_deref());
        let brands_lower: Vec<String> = mechanic
            .brand_specializations
            .iter()
            .map(|b| b.trim().to_lowercase())
            .collect();
        Candidate {
            hot: Hot {
                knows: knows(&mechanic.service_keywords),
                fixed_points: fixed_points(&mechanic),
                certified_until: mechanic.certified_until(),
                keys: Keys::new(
                    country.as_ref(),
                    postal_prefix.as_deref(),
                    city_lower.as_deref(),
                ),
                on_shift: mechanic.currently_on_shift,
                can_accept: mechanic.can_accept_sessions(),
                brand_specialist: mechanic.is_brand_specialist,
                brand_bits: brands_lower.iter().fold(0, |bits, b| bits | brand_bit(b)),
            },
            brands_lower,
            city_lower,
            country,
            postal_prefix,
            mechanic,
        }
    }

    /// Read-only: [`Hot`] copies some of its fields, so a candidate is never changed in place.
    pub fn mechanic(&self) -> &Mechanic {
        &self.mechanic
    }

    pub fn on_shift(&self) -> bool {
        self.hot.on_shift
    }
}

/// What the ranking pass needs of a mechanic, in one small value inside the candidate: scoring
/// 100,000 mechanics then walks a cache line or two per mechanic instead of chasing the
/// strings of a whole `Mechanic`. [`score_value`] reads only this; [`score`] (reasons and all)
/// runs for the winners alone, and a test holds the two to the same number for every mechanic.
#[derive(Debug, Clone, Copy)]
struct Hot {
    /// Bit i: the mechanic's service keywords cover canonical keyword i (one contains the
    /// other, any case). Worked out once per roster load, so scoring is a single AND.
    knows: u64,
    /// Points of the rows that depend on the mechanic alone: years, rating, profile, sessions.
    fixed_points: i64,
    /// The last day the certification row applies (`NaiveDate::MIN`: never).
    certified_until: NaiveDate,
    keys: Keys,
    on_shift: bool,
    can_accept: bool,
    brand_specialist: bool,
    /// One bit per brand the mechanic knows ([`brand_bit`]): a vehicle's make is compared as
    /// strings only when its bit is here, so the make row costs the ranking pass one AND.
    brand_bits: u64,
}

/// A brand's bit among 64, from a hash of its lower-cased name.
fn brand_bit(brand_lower: &str) -> u64 {
    1 << (fnv1a(brand_lower.bytes()) % 64)
}

/// A location as numbers that are equal whenever the strings are: a country code (or a hash of
/// a country's name), the postal prefix packed exactly (three characters of 21 bits), a hash of
/// the lower-cased city. Unequal numbers mean unequal strings; equal hashes are confirmed on
/// the strings themselves, so a collision can cost time, never a wrong score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Keys {
    /// 0: none; 1: Canada; 2: United States; otherwise a hash of the name, top bit set.
    country: u64,
    /// 0: none; else each character + 1 in 21 bits, first character highest.
    postal: u64,
    /// 0: none; else a hash of the lower-cased city, top bit set.
    city: u64,
}

const HASHED: u64 = 1 << 63;

impl Keys {
    fn new(country: Option<&Country>, postal: Option<&str>, city: Option<&str>) -> Keys {
        Keys {
            country: match country {
                None => 0,
                Some(Country::Canada) => 1,
                Some(Country::UnitedStates) => 2,
                // `same_as` ignores ASCII case, so the hash does too.
                Some(Country::Other(name)) => {
                    fnv1a(name.bytes().map(|b| b.to_ascii_lowercase())) | HASHED
                }
            },
            postal: postal.map_or(0, |p| {
                debug_assert!(!p.is_empty(), "postal_prefix never yields an empty prefix");
                let (key, len) = p.chars().take(3).fold((0, 0), |(key, len), c| {
                    ((key << 21) | (u64::from(c) + 1), len + 1)
                });
                key << (21 * (3 - len))
            }),
            city: city.map_or(0, |c| fnv1a(c.bytes()) | HASHED),
        }
    }

    /// The first character of the postal prefix (0: none).
    fn region(self) -> u64 {
        self.postal >> 42
    }
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The points of the rows that depend on the mechanic alone, as [`score`] would add them.
fn fixed_points(m: &Mechanic) -> i64 {
    [
        tier(&YEARS, m.years_experience).map(Reason::Years),
        tier(&RATINGS, m.rating).map(Reason::Rating),
        tier(&PROFILE, m.profile_completion_score).map(Reason::Profile),
        tier(&SESSIONS, m.completed_sessions).map(Reason::Sessions),
    ]
    .into_iter()
    .flatten()
    .map(Reason::points)
    .sum()
}

/// The first row of a tiered table (best first) whose minimum `value` reaches.
fn tier<T: PartialOrd>(table: &[(T, i64, &str)], value: T) -> Option<u8> {
    table
        .iter()
        .position(|(min, _, _)| value >= *min)
        .map(|i| i as u8)
}

/// Which canonical keywords a mechanic's own keywords cover (SPEC §3: one contains the other,
/// case-insensitively; blank keywords cover nothing).
fn knows(own: &[String]) -> u64 {
    let own: Vec<String> = own
        .iter()
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    super::canonical_keywords()
        .enumerate()
        .fold(0, |mask, (i, canonical)| {
            let canonical = canonical.to_lowercase();
            let covered = own
                .iter()
                .any(|k| k.contains(canonical.as_str()) || canonical.contains(k.as_str()));
            if covered { mask | (1 << i) } else { mask }
        })
}

fn nonempty_lower(s: Option<&str>) -> Option<String> {
    s.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty())
}

/// One row of the scoring table, as a compact code. Points and sentence derive from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    OnShift,
    OffShift,
    /// Bit i set: canonical keyword i was asked for and the mechanic covers it.
    Expert(u64),
    /// Bit i set: the mechanic's brand i was requested.
    Brand(u64),
    /// A general request whose vehicle make is the mechanic's brand i.
    KnowsMake(u8),
    Years(u8),
    Rating(u8),
    Certified,
    Profile(u8),
    Sessions(u8),
    Country,
    SameArea,
    SameRegion,
    Local,
    Outside,
}

const YEARS: [(i64, i64, &str); 3] = [
    (10, 20, "10+ years experience"),
    (5, 10, "5+ years experience"),
    (2, 5, "2+ years experience"),
];
const RATINGS: [(f64, i64, &str); 3] = [
    (4.5, 15, "Highly rated (4.5+)"),
    (4.0, 10, "Well rated (4.0+)"),
    (3.5, 5, "Rated 3.5+"),
];
const PROFILE: [(i64, i64, &str); 2] = [
    (95, 8, "Complete profile"),
    (90, 5, "Profile 90%+ complete"),
];
const SESSIONS: [(i64, i64, &str); 3] = [
    (50, 12, "50+ sessions completed"),
    (20, 8, "20+ sessions completed"),
    (5, 4, "5+ sessions completed"),
];

impl Reason {
    pub fn points(self) -> i64 {
        match self {
            Reason::OnShift => 50,
            Reason::OffShift => 20,
            Reason::Expert(mask) => 15 * i64::from(mask.count_ones()),
            Reason::Brand(_) => 30,
            Reason::KnowsMake(_) => 20,
            Reason::Years(i) => YEARS[usize::from(i)].1,
            Reason::Rating(i) => RATINGS[usize::from(i)].1,
            Reason::Certified => 10,
            Reason::Profile(i) => PROFILE[usize::from(i)].1,
            Reason::Sessions(i) => SESSIONS[usize::from(i)].1,
            Reason::Country => 25,
            Reason::SameArea => 40,
            Reason::SameRegion => 15,
            Reason::Local => 35,
            Reason::Outside => -20,
        }
    }

    /// The reason as a dispatcher reads it; most sentences are fixed and borrowed, only those
    /// naming a keyword, brand, place or code are written out, each in one allocation of its
    /// exact size (an intake explains about a hundred reasons; `format!` grew each piece by
    /// piece).
    fn sentence(self, criteria: &Criteria, candidate: &Candidate) -> Cow<'static, str> {
        let m = &candidate.mechanic;
        let fixed = match self {
            Reason::OnShift => "Available now",
            Reason::OffShift => "Available soon",
            Reason::Years(i) => YEARS[usize::from(i)].2,
            Reason::Rating(i) => RATINGS[usize::from(i)].2,
            Reason::Certified => "Professionally Certified",
            Reason::Profile(i) => PROFILE[usize::from(i)].2,
            Reason::Sessions(i) => SESSIONS[usize::from(i)].2,
            Reason::Expert(mask) => {
                let canonical: Vec<&str> = super::canonical_keywords().collect();
                return ["Expert in: ", &pick(&canonical, mask).join(", ")]
                    .concat()
                    .into();
            }
            Reason::Brand(mask) => {
                let brands: Vec<&str> = pick(&m.brand_specializations, mask)
                    .into_iter()
                    .map(|b| b.trim())
                    .collect();
                return [&brands.join("/"), " specialist"].concat().into();
            }
            Reason::KnowsMake(i) => {
                let make = m.brand_specializations.get(usize::from(i));
                return ["Knows ", make.map_or("", |b| b.trim())].concat().into();
            }
            Reason::Country => {
                let country = m.country.as_deref().unwrap_or("").trim();
                return ["Located in ", country].concat().into();
            }
            Reason::SameArea => {
                let prefix = criteria.postal_prefix.as_deref().unwrap_or("");
                return ["Same area (", prefix, ")"].concat().into();
            }
            Reason::SameRegion => {
                let prefix = criteria.postal_prefix.as_deref().unwrap_or("");
                let first = prefix.get(..prefix.chars().next().map_or(0, char::len_utf8));
                return [
                    "Same region (",
                    first.filter(|f| !f.is_empty()).unwrap_or("?"),
                    ")",
                ]
                .concat()
                .into();
            }
            Reason::Local => {
                let city = m.city.as_deref().unwrap_or("").trim();
                return ["Local to ", city].concat().into();
            }
            Reason::Outside => {
                let country = criteria.country_display.as_deref().unwrap_or("");
                return ["Outside ", country].concat().into();
            }
        };
        Cow::Borrowed(fixed)
    }
}

fn pick<T: AsRef<str>>(items: &[T], mask: u64) -> Vec<&str> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && mask & (1 << i) != 0)
        .map(|(_, s)| s.as_ref())
        .collect()
}

/// At most one reason per table row, and the two shift rows (and the local/outside rows) exclude
/// each other.
const MAX_REASONS: usize = 12;

/// The reasons of one match, inline (no allocation), in table order.
#[derive(Debug, Clone, Copy)]
pub struct Reasons {
    items: [Reason; MAX_REASONS],
    len: usize,
}

impl Reasons {
    fn new() -> Reasons {
        Reasons {
            items: [Reason::OnShift; MAX_REASONS],
            len: 0,
        }
    }

    fn push(&mut self, reason: Reason) {
        self.items[self.len] = reason;
        self.len += 1;
    }

    pub fn as_slice(&self) -> &[Reason] {
        &self.items[..self.len]
    }
}

/// A reason as a dispatcher reads it, with the points it added.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ScoredReason {
    pub reason: Cow<'static, str>,
    pub points: i64,
}

/// One mechanic's score against one intake.
#[derive(Debug, Clone, Copy)]
pub struct Match<'m> {
    pub candidate: &'m Candidate,
    pub score: i64,
    pub reasons: Reasons,
    /// At capacity: ranked, but offered nothing (SPEC §3). Set by [`rank`]; [`score`] alone
    /// knows nothing of sessions and leaves it false.
    pub busy: bool,
}

impl Match<'_> {
    pub fn mechanic(&self) -> &Mechanic {
        &self.candidate.mechanic
    }

    /// The reasons as sentences with their points; the points sum to the score.
    pub fn explain(&self, criteria: &Criteria) -> Vec<ScoredReason> {
        self.reasons
            .as_slice()
            .iter()
            .map(|r| ScoredReason {
                reason: r.sentence(criteria, self.candidate),
                points: r.points(),
            })
            .collect()
    }
}

/// Whether a mechanic may take this intake at all (filter before scoring): can accept sessions,
/// and for a brand-specialist request, specialises in a requested brand.
pub fn is_eligible(criteria: &Criteria, candidate: &Candidate) -> bool {
    candidate.hot.can_accept && brand_rule_holds(criteria, candidate)
}

/// Why a mechanic is left out of this intake before scoring; `None` when he is eligible.
pub fn exclusion(criteria: &Criteria, candidate: &Candidate) -> Option<WhyNot> {
    if let Some(why) = candidate.mechanic.account_exclusion() {
        return Some(why.into());
    }
    (!brand_rule_holds(criteria, candidate)).then_some(WhyNot::NotBrandSpecialist)
}

/// SPEC §3's brand rule: a brand-specialist request only for a specialist in a requested brand.
fn brand_rule_holds(criteria: &Criteria, candidate: &Candidate) -> bool {
    match criteria.request_type {
        RequestType::General => true,
        RequestType::BrandSpecialist => {
            candidate.hot.brand_specialist && brand_mask(criteria, candidate) != 0
        }
    }
}

/// The index of the mechanic's brand that is the vehicle's make, on a general request.
fn known_make(criteria: &Criteria, candidate: &Candidate) -> Option<u8> {
    if criteria.request_type != RequestType::General
        || criteria.make_bit & candidate.hot.brand_bits == 0
    {
        return None;
    }
    let make = criteria.make_lower.as_deref()?;
    candidate
        .brands_lower
        .iter()
        .take(usize::from(u8::MAX))
        .position(|b| b == make)
        .map(|i| i as u8)
}

fn brand_mask(criteria: &Criteria, candidate: &Candidate) -> u64 {
    let mut mask = 0;
    for (i, brand) in candidate.brands_lower.iter().enumerate().take(64) {
        if criteria.brands_lower.iter().any(|b| b == brand) {
            mask |= 1 << i;
        }
    }
    mask
}

/// Scores one mechanic by every row of the table that applies, in table order.
pub fn score<'m>(criteria: &Criteria, candidate: &'m Candidate) -> Match<'m> {
    let m = &candidate.mechanic;
    let mut reasons = Reasons::new();

    reasons.push(if m.currently_on_shift {
        Reason::OnShift
    } else {
        Reason::OffShift
    });

    let expert = criteria.keyword_mask & candidate.hot.knows;
    if expert != 0 {
        reasons.push(Reason::Expert(expert));
    }

    if criteria.request_type == RequestType::BrandSpecialist && m.is_brand_specialist {
        let brands = brand_mask(criteria, candidate);
        if brands != 0 {
            reasons.push(Reason::Brand(brands));
        }
    }
    if let Some(i) = known_make(criteria, candidate) {
        reasons.push(Reason::KnowsMake(i));
    }

    if let Some(i) = tier(&YEARS, m.years_experience) {
        reasons.push(Reason::Years(i));
    }
    if let Some(i) = tier(&RATINGS, m.rating) {
        reasons.push(Reason::Rating(i));
    }
    if m.is_certified(criteria.today) {
        reasons.push(Reason::Certified);
    }
    if let Some(i) = tier(&PROFILE, m.profile_completion_score) {
        reasons.push(Reason::Profile(i));
    }
    if let Some(i) = tier(&SESSIONS, m.completed_sessions) {
        reasons.push(Reason::Sessions(i));
    }

    if let (Some(theirs), Some(ours)) = (&criteria.country, &candidate.country) {
        if theirs.same_as(ours) {
            reasons.push(Reason::Country);
            if let (Some(a), Some(b)) = (&criteria.postal_prefix, &candidate.postal_prefix) {
                if a == b {
                    reasons.push(Reason::SameArea);
                } else if a.chars().next() == b.chars().next() {
                    reasons.push(Reason::SameRegion);
                }
            }
            if criteria.prefer_local
                && criteria.city_lower.is_some()
                && criteria.city_lower == candidate.city_lower
            {
                reasons.push(Reason::Local);
            }
        } else if criteria.prefer_local {
            reasons.push(Reason::Outside);
        }
    }

    let score = reasons.as_slice().iter().map(|r| r.points()).sum();
    Match {
        candidate,
        score,
        reasons,
        busy: false,
    }
}

/// The number [`score`] gives, from [`Hot`] alone and without the reasons: the ranking pass
/// runs this for every mechanic, and [`score`] only for the winners.
pub(super) fn score_value(criteria: &Criteria, candidate: &Candidate) -> i64 {
    let hot = &candidate.hot;
    let mut points = hot.fixed_points + if hot.on_shift { 50 } else { 20 };
    points += 15 * i64::from((criteria.keyword_mask & hot.knows).count_ones());
    if criteria.request_type == RequestType::BrandSpecialist
        && hot.brand_specialist
        && brand_mask(criteria, candidate) != 0
    {
        points += 30;
    }
    if known_make(criteria, candidate).is_some() {
        points += 20;
    }
    if hot.certified_until >= criteria.today {
        points += 10;
    }
    let (theirs, ours) = (criteria.keys, hot.keys);
    if theirs.country != 0 && ours.country != 0 {
        if same_country(criteria, candidate) {
            points += 25;
            if theirs.postal != 0 && ours.postal != 0 {
                if theirs.postal == ours.postal {
                    points += 40;
                } else if theirs.region() == ours.region() {
                    points += 15;
                }
            }
            if criteria.prefer_local
                && theirs.city != 0
                && theirs.city == ours.city
                && criteria.city_lower == candidate.city_lower
            {
                points += 35;
            }
        } else if criteria.prefer_local {
            points -= 20;
        }
    }
    points
}

/// Both countries known and the same: by code, or by name when a hash matched.
fn same_country(criteria: &Criteria, candidate: &Candidate) -> bool {
    let key = criteria.keys.country;
    if key != candidate.hot.keys.country {
        return false;
    }
    key & HASHED == 0
        || matches!((&criteria.country, &candidate.country), (Some(a), Some(b)) if a.same_as(b))
}

/// SPEC §3 order: score descending, on shift first, rating descending, id ascending.
pub fn compare(a: &Match<'_>, b: &Match<'_>) -> Ordering {
    order((a.score, a.candidate), (b.score, b.candidate))
}

fn order(a: (i64, &Candidate), b: (i64, &Candidate)) -> Ordering {
    let (ma, mb) = (&a.1.mechanic, &b.1.mechanic);
    b.0.cmp(&a.0)
        .then_with(|| mb.currently_on_shift.cmp(&ma.currently_on_shift))
        .then_with(|| mb.rating.total_cmp(&ma.rating))
        .then_with(|| ma.id.cmp(&mb.id))
}

/// Every eligible mechanic's roster index and score, in SPEC §3 order: what `slots` walks to
/// name the best planned mechanics of each hour without scoring anyone twice.
pub fn eligible_in_order(criteria: &Criteria, roster: &[Candidate]) -> Vec<(i64, u32)> {
    let mut keys: Vec<(i64, u32)> = roster
        .iter()
        .enumerate()
        .filter(|(_, c)| is_eligible(criteria, c))
        .map(|(i, c)| (score_value(criteria, c), i as u32))
        .collect();
    keys.sort_unstable_by(|a, b| order((a.0, &roster[a.1 as usize]), (b.0, &roster[b.1 as usize])));
    keys
}

/// The ranking of a roster against one intake.
#[derive(Debug, Clone)]
pub struct Ranking<'m> {
    /// Eligible mechanics.
    pub total: usize,
    /// Eligible mechanics on shift, busy or not.
    pub on_shift: usize,
    /// Eligible mechanics on shift with room for another session.
    pub on_shift_free: usize,
    /// The best `limit` eligible mechanics, in order, busy ones flagged.
    pub top: Vec<Match<'m>>,
    /// The best `on_shift_limit` eligible mechanics that are on shift and not busy, in order:
    /// who gets a targeted offer.
    pub top_on_shift: Vec<Match<'m>>,
    /// The first [`EXCLUDED_LISTED`] mechanics left out before scoring, in roster order, and why.
    pub excluded: Vec<(&'m Candidate, WhyNot)>,
    /// Every mechanic left out before scoring.
    pub excluded_total: usize,
}

impl Ranking<'_> {
    /// Eligible mechanics exist and none of them is on shift.
    pub fn all_offline(&self) -> bool {
        self.total > 0 && self.on_shift == 0
    }

    /// Eligible mechanics are on shift and every one of them is busy.
    pub fn all_busy(&self) -> bool {
        self.on_shift > 0 && self.on_shift_free == 0
    }
}

/// Scores every eligible mechanic and keeps the best `limit` overall and the best
/// `on_shift_limit` on shift and not busy. `busy` holds the roster indices of busy mechanics,
/// sorted; it is consulted only for eligible mechanics on shift. Only scores are kept for the
/// whole roster; the winners are re-scored for their reasons, so memory stays flat however
/// large the roster.
pub fn rank<'m>(
    criteria: &Criteria,
    roster: &'m [Candidate],
    busy: &[u32],
    limit: usize,
    on_shift_limit: usize,
) -> Ranking<'m> {
    debug_assert!(busy.is_sorted(), "busy indices are sorted");
    let is_busy = |i: u32| !busy.is_empty() && busy.binary_search(&i).is_ok();
    let mut all: Vec<(i64, u32)> = Vec::with_capacity(roster.len());
    let mut on_shift_free: Vec<(i64, u32)> = Vec::new();
    let mut on_shift = 0;
    let mut excluded = Vec::new();
    let mut excluded_total = 0;
    for (i, candidate) in roster.iter().enumerate() {
        if !is_eligible(criteria, candidate) {
            excluded_total += 1;
            if excluded.len() < EXCLUDED_LISTED
                && let Some(why) = exclusion(criteria, candidate)
            {
                excluded.push((candidate, why));
            }
            continue;
        }
        let key = (score_value(criteria, candidate), i as u32);
        all.push(key);
        if candidate.hot.on_shift {
            on_shift += 1;
            if !is_busy(key.1) {
                on_shift_free.push(key);
            }
        }
    }
    let best = |mut keys: Vec<(i64, u32)>, n: usize| -> Vec<Match<'m>> {
        let cmp = |a: &(i64, u32), b: &(i64, u32)| {
            order((a.0, &roster[a.1 as usize]), (b.0, &roster[b.1 as usize]))
        };
        if n == 0 {
            return Vec::new();
        }
        if keys.len() > n {
            // The best n all score at least the n-th highest score: find that score comparing
            // plain integers, keep whoever reaches it (n and those tied with the last), and
            // order only those by the full rule, whose ties read the mechanics' rows.
            let (_, &mut (threshold, _), _) =
                keys.select_nth_unstable_by(n - 1, |a, b| b.0.cmp(&a.0));
            keys.retain(|&(value, _)| value >= threshold);
        }
        keys.sort_unstable_by(cmp);
        keys.truncate(n);
        keys.iter()
            .map(|&(value, i)| {
                let mut winner = score(criteria, &roster[i as usize]);
                debug_assert_eq!(winner.score, value, "score_value disagrees with score");
                winner.busy = is_busy(i);
                winner
            })
            .collect()
    };
    let (total, free) = (all.len(), on_shift_free.len());
    Ranking {
        total,
        on_shift,
        on_shift_free: free,
        top: best(all, limit),
        top_on_shift: best(on_shift_free, on_shift_limit),
        excluded,
        excluded_total,
    }
}
