//! Every row of the SPEC §3 scoring table, the eligibility filter and the ranking order.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::model::{AccountStatus, CertificationType, Mechanic, RequestType};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
}

/// A mechanic who earns nothing but the shift row: no experience, rating, profile bonus,
/// sessions, certification, keywords or location.
fn bare(id: &str) -> Mechanic {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Mechanic {
        id: id.into(),
        name: format!("Mechanic {id}"),
        email: None,
        phone: None,
        city: None,
        state_province: None,
        country: None,
        postal_code: None,
        years_experience: 0,
        rating: 0.0,
        completed_sessions: 0,
        profile_completion_score: 80,
        account_status: AccountStatus::Approved,
        currently_on_shift: true,
        is_available: true,
        last_clock_in: None,
        certification_type: None,
        certification_number: None,
        certification_authority: None,
        certification_region: None,
        certification_expiry: None,
        red_seal_certified: false,
        red_seal_number: None,
        red_seal_province: None,
        is_brand_specialist: false,
        brand_specializations: vec![],
        service_keywords: vec![],
        max_active_sessions: 1,
        notify_via: vec![crate::model::Channel::Email],
        plan: crate::schedule::WeeklyPlan::default(),
        created_at: t,
        updated_at: t,
    }
}

fn general(concern: &str) -> Criteria {
    Criteria::new(CriteriaInput {
        keywords: extract_keywords(concern),
        prefer_local: true,
        today: today(),
        ..CriteriaInput::default()
    })
}

fn located(country: &str, postal: &str, city: &str, prefer_local: bool) -> Criteria {
    Criteria::new(CriteriaInput {
        keywords: vec![],
        country: Some(country),
        postal_code: Some(postal),
        city: Some(city),
        prefer_local,
        today: today(),
        ..CriteriaInput::default()
    })
}

/// (reason, points) pairs beyond the shift row.
fn extras(criteria: &Criteria, m: Mechanic) -> Vec<(String, i64)> {
    let c = Candidate::new(m);
    let scored = score(criteria, &c);
    let explained = scored.explain(criteria);
    assert_eq!(
        explained.iter().map(|r| r.points).sum::<i64>(),
        scored.score,
        "points must sum to the score"
    );
    explained
        .into_iter()
        .skip(1)
        .map(|r| (r.reason.into_owned(), r.points))
        .collect()
}

fn pair(reason: &str, points: i64) -> Vec<(String, i64)> {
    vec![(reason.to_string(), points)]
}

#[test]
fn shift_rows() {
    let c = general("");
    let on = Candidate::new(bare("a"));
    let s = score(&c, &on);
    assert_eq!(
        (s.score, s.explain(&c)[0].reason.as_ref()),
        (50, "Available now")
    );
    let mut m = bare("b");
    m.currently_on_shift = false;
    let off = Candidate::new(m);
    let s = score(&c, &off);
    assert_eq!(
        (s.score, s.explain(&c)[0].reason.as_ref()),
        (20, "Available soon")
    );
}

#[test]
fn keyword_row_counts_each_keyword_on_one_line() {
    let c = general("check engine light and brake pads");
    let mut m = bare("a");
    // "brake" is contained in two extracted keywords; "check engine light" matches exactly.
    m.service_keywords = vec!["Check Engine Light".into(), "brake".into()];
    assert_eq!(
        extras(&c, m),
        pair(
            "Expert in: check engine light, brake repair, brake pad replacement",
            45
        )
    );
    let mut m = bare("b");
    // The mechanic's keyword contains the extracted one.
    m.service_keywords = vec!["advanced check engine light diagnosis".into()];
    assert_eq!(extras(&c, m), pair("Expert in: check engine light", 15));
    let mut m = bare("c");
    m.service_keywords = vec!["tire rotation".into(), "".into()];
    assert_eq!(extras(&c, m), vec![], "empty keywords never match");
}

#[test]
fn brand_row_only_for_brand_requests() {
    let brands = vec!["bmw".to_string(), "Audi".to_string()];
    let c = Criteria::new(CriteriaInput {
        request_type: Some(RequestType::BrandSpecialist),
        brands: &brands,
        today: today(),
        ..CriteriaInput::default()
    });
    let mut m = bare("a");
    m.is_brand_specialist = true;
    m.brand_specializations = vec!["BMW".into(), "Mini".into(), "Audi".into()];
    assert_eq!(extras(&c, m.clone()), pair("BMW/Audi specialist", 30));
    assert_eq!(
        extras(&general(""), m),
        vec![],
        "a general request gives no brand points"
    );
}

#[test]
fn experience_rows() {
    for (years, expected) in [
        (25, pair("10+ years experience", 20)),
        (10, pair("10+ years experience", 20)),
        (9, pair("5+ years experience", 10)),
        (5, pair("5+ years experience", 10)),
        (2, pair("2+ years experience", 5)),
        (1, vec![]),
    ] {
        let mut m = bare("a");
        m.years_experience = years;
        assert_eq!(extras(&general(""), m), expected, "{years} years");
    }
}

#[test]
fn rating_rows() {
    for (rating, expected) in [
        (5.0, pair("Highly rated (4.5+)", 15)),
        (4.5, pair("Highly rated (4.5+)", 15)),
        (4.49, pair("Well rated (4.0+)", 10)),
        (4.0, pair("Well rated (4.0+)", 10)),
        (3.5, pair("Rated 3.5+", 5)),
        (3.49, vec![]),
    ] {
        let mut m = bare("a");
        m.rating = rating;
        assert_eq!(extras(&general(""), m), expected, "rating {rating}");
    }
}

#[test]
fn certification_row_reads_current_then_legacy_fields() {
    let certified = pair("Professionally Certified", 10);
    let mut m = bare("a");
    m.certification_type = Some(CertificationType::Provincial);
    assert_eq!(extras(&general(""), m.clone()), certified, "no expiry");
    m.certification_expiry = NaiveDate::from_ymd_opt(2026, 1, 5);
    assert_eq!(extras(&general(""), m.clone()), certified, "expires today");
    m.certification_expiry = NaiveDate::from_ymd_opt(2026, 1, 4);
    assert_eq!(extras(&general(""), m.clone()), vec![], "expired");
    let mut legacy = bare("b");
    legacy.red_seal_certified = true;
    assert_eq!(extras(&general(""), legacy), certified, "legacy Red Seal");
}

#[test]
fn profile_rows() {
    for (completion, expected) in [
        (100, pair("Complete profile", 8)),
        (95, pair("Complete profile", 8)),
        (94, pair("Profile 90%+ complete", 5)),
        (90, pair("Profile 90%+ complete", 5)),
        (89, vec![]),
    ] {
        let mut m = bare("a");
        m.profile_completion_score = completion;
        assert_eq!(extras(&general(""), m), expected, "{completion} %");
    }
}

#[test]
fn session_count_rows() {
    for (n, expected) in [
        (400, pair("50+ sessions completed", 12)),
        (50, pair("50+ sessions completed", 12)),
        (49, pair("20+ sessions completed", 8)),
        (20, pair("20+ sessions completed", 8)),
        (5, pair("5+ sessions completed", 4)),
        (4, vec![]),
    ] {
        let mut m = bare("a");
        m.completed_sessions = n;
        assert_eq!(extras(&general(""), m), expected, "{n} sessions");
    }
}

fn at(country: &str, postal: &str, city: &str) -> Mechanic {
    let mut m = bare("a");
    m.country = Some(country.into());
    m.postal_code = Some(postal.into());
    m.city = Some(city.into());
    m
}

#[test]
fn location_rows_canada() {
    let toronto = located("canada", "m5v 3l9", "toronto", true);
    assert_eq!(
        extras(&toronto, at("CA", "M5V2T6", "Toronto")),
        vec![
            ("Located in CA".to_string(), 25),
            ("Same area (M5V)".to_string(), 40),
            ("Local to Toronto".to_string(), 35)
        ]
    );
    assert_eq!(
        extras(&toronto, at("Canada", "M4C 1A1", "Toronto")),
        vec![
            ("Located in Canada".to_string(), 25),
            ("Same region (M)".to_string(), 15),
            ("Local to Toronto".to_string(), 35)
        ]
    );
    assert_eq!(
        extras(&toronto, at("CAN", "H2X 1Y4", "Montréal")),
        pair("Located in CAN", 25)
    );
    let not_local = located("Canada", "M5V 3L9", "Toronto", false);
    assert_eq!(
        extras(&not_local, at("Canada", "M5V 2T6", "Toronto")),
        vec![
            ("Located in Canada".to_string(), 25),
            ("Same area (M5V)".to_string(), 40)
        ],
        "no local bonus when the customer does not prefer local"
    );
}

#[test]
fn location_rows_us_and_outside() {
    let sf = located("USA", "94103-1234", "San Francisco", true);
    assert_eq!(
        extras(&sf, at("United States of America", "94107", "Oakland")),
        vec![
            ("Located in United States of America".to_string(), 25),
            ("Same area (941)".to_string(), 40)
        ]
    );
    assert_eq!(
        extras(&sf, at("Canada", "M5V 3L9", "Toronto")),
        pair("Outside United States", -20)
    );
    let sf_any = located("US", "94103", "San Francisco", false);
    assert_eq!(extras(&sf_any, at("Canada", "M5V 3L9", "Toronto")), vec![]);
    let unknown = general("");
    assert_eq!(
        extras(&unknown, at("Canada", "M5V 3L9", "Toronto")),
        vec![],
        "customer country unknown"
    );
}

#[test]
fn reasons_follow_table_order_and_sum_to_the_score() {
    let brands = vec!["BMW".to_string()];
    let c = Criteria::new(CriteriaInput {
        keywords: extract_keywords("BMW check engine light"),
        request_type: Some(RequestType::BrandSpecialist),
        brands: &brands,
        vehicle_make: None,
        country: Some("Canada"),
        postal_code: Some("M5V 3L9"),
        city: Some("Toronto"),
        prefer_local: true,
        today: today(),
    });
    let mut m = at("Canada", "M5V 1A1", "Toronto");
    m.service_keywords = vec!["check engine light".into(), "BMW diagnostics".into()];
    m.is_brand_specialist = true;
    m.brand_specializations = vec!["BMW".into()];
    m.years_experience = 12;
    m.rating = 4.8;
    m.certification_type = Some(CertificationType::RedSeal);
    m.profile_completion_score = 96;
    m.completed_sessions = 60;
    let candidate = Candidate::new(m);
    let s = score(&c, &candidate);
    let reasons: Vec<String> = s
        .explain(&c)
        .into_iter()
        .map(|r| r.reason.into_owned())
        .collect();
    assert_eq!(
        reasons,
        [
            "Available now",
            "Expert in: check engine light, BMW diagnostics",
            "BMW specialist",
            "10+ years experience",
            "Highly rated (4.5+)",
            "Professionally Certified",
            "Complete profile",
            "50+ sessions completed",
            "Located in Canada",
            "Same area (M5V)",
            "Local to Toronto",
        ]
    );
    assert_eq!(s.score, 50 + 30 + 30 + 20 + 15 + 10 + 8 + 12 + 25 + 40 + 35);
}

#[test]
fn eligibility_filters_before_scoring() {
    let c = general("");
    let mut suspended = bare("a");
    suspended.account_status = AccountStatus::Suspended;
    let mut pending = bare("b");
    pending.account_status = AccountStatus::Pending;
    let mut incomplete = bare("c");
    incomplete.profile_completion_score = 79;
    let ok = bare("d");
    for m in [&suspended, &pending, &incomplete] {
        assert!(!is_eligible(&c, &Candidate::new(m.clone())), "{}", m.id);
    }
    assert!(is_eligible(&c, &Candidate::new(ok.clone())));

    let brands = vec!["Tesla".to_string()];
    let tesla = Criteria::new(CriteriaInput {
        request_type: Some(RequestType::BrandSpecialist),
        brands: &brands,
        today: today(),
        ..CriteriaInput::default()
    });
    assert!(
        !is_eligible(&tesla, &Candidate::new(ok.clone())),
        "not a specialist"
    );
    let mut bmw = ok.clone();
    bmw.is_brand_specialist = true;
    bmw.brand_specializations = vec!["BMW".into()];
    assert!(!is_eligible(&tesla, &Candidate::new(bmw)), "wrong brand");
    let mut t = ok;
    t.is_brand_specialist = true;
    t.brand_specializations = vec!["TESLA".into()];
    assert!(
        is_eligible(&tesla, &Candidate::new(t)),
        "brands compare case-insensitively"
    );
}

#[test]
fn ranking_order_is_score_shift_rating_id() {
    let c = general("");
    // All score 50 (on shift) or 20+30 = 50 off shift with a brand? Build ties explicitly.
    let mut a = bare("a"); // 50
    a.rating = 3.0;
    let mut b = bare("b"); // 50, better rating → before a
    b.rating = 3.4;
    let mut z = bare("z"); // 50, same rating as a, later id → after a
    z.rating = 3.0;
    let mut off = bare("o"); // 20 + 20 (years) + 10 (years? no) = 40... make it 50 off shift
    off.currently_on_shift = false;
    off.years_experience = 10; // 20 + 20 = 40
    off.completed_sessions = 20; // + 8 = 48
    off.profile_completion_score = 90; // + 5 = 53 → highest
    let mut tie_off = bare("t"); // off shift, exactly 50: 20 + 20 + 10 (rating 4.0)
    tie_off.currently_on_shift = false;
    tie_off.years_experience = 10;
    tie_off.rating = 3.0;
    tie_off.completed_sessions = 5; // 44
    tie_off.profile_completion_score = 90; // 49... adjust with sessions 20 → 20+20+8 = 48 + 5 = 53
    tie_off.completed_sessions = 0;
    tie_off.years_experience = 5; // 20 + 10 = 30
    tie_off.rating = 4.0; // + 10 = 40
    tie_off.profile_completion_score = 90; // + 5 = 45
    tie_off.completed_sessions = 5; // + 4 = 49
    let mut ineligible = bare("x");
    ineligible.profile_completion_score = 10;
    let roster: Vec<Candidate> = [a, b, z, off, tie_off, ineligible]
        .into_iter()
        .map(Candidate::new)
        .collect();
    let ranking = rank(&c, &roster, &[], 10, 3);
    let order: Vec<(&str, i64)> = ranking
        .top
        .iter()
        .map(|m| (m.mechanic().id.as_str(), m.score))
        .collect();
    assert_eq!(
        order,
        [("o", 53), ("b", 50), ("a", 50), ("z", 50), ("t", 49)]
    );
    let on_shift: Vec<&str> = ranking
        .top_on_shift
        .iter()
        .map(|m| m.mechanic().id.as_str())
        .collect();
    assert_eq!(on_shift, ["b", "a", "z"]);
    assert_eq!((ranking.total, ranking.on_shift), (5, 3));
    assert!(!ranking.all_offline());

    let limited = rank(&c, &roster, &[], 2, 1);
    let ids: Vec<&str> = limited
        .top
        .iter()
        .map(|m| m.mechanic().id.as_str())
        .collect();
    assert_eq!(ids, ["o", "b"], "a limit keeps the best, in order");
}

#[test]
fn ties_on_score_put_on_shift_first() {
    let c = general("");
    let on = bare("b"); // 50
    let mut off = bare("a"); // 20 + 30: years 10 (20) + rating 4.0 (10)
    off.currently_on_shift = false;
    off.years_experience = 10;
    off.rating = 4.0;
    let roster = vec![Candidate::new(off), Candidate::new(on)];
    let ranking = rank(&c, &roster, &[], 10, 3);
    let ids: Vec<&str> = ranking
        .top
        .iter()
        .map(|m| m.mechanic().id.as_str())
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert_eq!(ranking.top[0].score, ranking.top[1].score);
}

#[test]
fn all_offline_means_eligible_exist_and_none_on_shift() {
    let c = general("");
    let mut off = bare("a");
    off.currently_on_shift = false;
    let roster = vec![Candidate::new(off)];
    assert!(rank(&c, &roster, &[], 10, 3).all_offline());
    assert!(
        !rank(&c, &[], &[], 10, 3).all_offline(),
        "nobody eligible is not 'all offline'"
    );
}

mod ranking_pass {
    //! The ranking pass scores every mechanic with `score_value`, from packed keys and hashes;
    //! the reasons come from `score`. They must give the same number for every mechanic and
    //! every intake, including the spellings that fold together and the near misses that must
    //! not (case, accents, short postal codes, unknown countries).

    use super::*;
    use crate::matching::score::score_value;
    use proptest::prelude::*;

    const COUNTRIES: &[&str] = &[
        "",
        "Canada",
        "canada",
        "CA",
        "US",
        "usa",
        "France",
        "FRANCE",
        "france ",
        "Fr",
        "Ελλάδα",
        "ελλάδα",
    ];
    const POSTAL: &[&str] = &[
        "", "M5V 3L9", "m5v", "M5", "M", "M5W 1E6", "K1A 0B1", "90210", "9021", "90", "ÉÉÉ1", "ÉÉ",
        "75008",
    ];
    const CITIES: &[&str] = &[
        "",
        "Toronto",
        "toronto ",
        " TORONTO",
        "Ottawa",
        "Montréal",
        "MONTRÉAL",
        "Paris",
    ];
    const BRANDS: &[&str] = &["BMW", "bmw ", "Tesla", "Audi"];
    const CONCERNS: &[&str] = &[
        "",
        "check engine light and brake pads",
        "A/C blows warm, oil change due",
        "BMW transmission diagnostic",
        "remote starter installation",
    ];

    fn pick<'a>(pool: &[&'a str], i: usize) -> Option<&'a str> {
        Some(pool[i % pool.len()]).filter(|s| !s.is_empty())
    }

    prop_compose! {
        fn mechanic()(
            place in (0..COUNTRIES.len(), 0..POSTAL.len(), 0..CITIES.len()),
            years in 0i64..25, rating in 0u8..=50, profile in 60i64..=100, sessions in 0i64..80,
            cert in (0u8..3, 0i64..4, any::<bool>()),
            shift in any::<bool>(), suspended in any::<bool>(),
            brands in (any::<bool>(), proptest::collection::vec(0..BRANDS.len(), 0..3)),
            keywords in proptest::collection::vec(0usize..40, 0..5),
        ) -> Mechanic {
            let canonical: Vec<&str> = crate::matching::canonical_keywords().collect();
            let mut m = bare("m");
            m.country = pick(COUNTRIES, place.0).map(str::to_string);
            m.postal_code = pick(POSTAL, place.1).map(str::to_string);
            m.city = pick(CITIES, place.2).map(str::to_string);
            m.years_experience = years;
            m.rating = f64::from(rating) / 10.0;
            m.profile_completion_score = profile;
            m.completed_sessions = sessions;
            m.certification_type = (cert.0 > 0).then_some(CertificationType::Ase);
            m.certification_expiry = match cert.1 {
                0 => None,
                days => today().checked_add_signed(chrono::Duration::days(days - 2)),
            };
            m.red_seal_certified = cert.2;
            m.currently_on_shift = shift;
            if suspended {
                m.account_status = AccountStatus::Suspended;
            }
            m.is_brand_specialist = brands.0;
            m.brand_specializations = brands.1.iter().map(|&i| BRANDS[i].to_string()).collect();
            m.service_keywords = keywords
                .iter()
                .map(|&i| canonical.get(i).map_or("junk", |k| k).to_string())
                .collect();
            m
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn score_value_is_the_score_of_the_full_scoring(
            m in mechanic(),
            place in (0..COUNTRIES.len(), 0..POSTAL.len(), 0..CITIES.len()),
            concern in 0..CONCERNS.len(),
            brand_request in proptest::option::of(proptest::collection::vec(0..BRANDS.len(), 1..3)),
            make in proptest::option::of(0..BRANDS.len()),
            prefer_local in any::<bool>(),
        ) {
            let brands: Vec<String> = brand_request
                .iter()
                .flatten()
                .map(|&i| BRANDS[i].to_string())
                .collect();
            let criteria = Criteria::new(CriteriaInput {
                keywords: extract_keywords(CONCERNS[concern]),
                request_type: Some(if brand_request.is_some() {
                    RequestType::BrandSpecialist
                } else {
                    RequestType::General
                }),
                brands: &brands,
                vehicle_make: make.map(|i| BRANDS[i]),
                country: pick(COUNTRIES, place.0),
                postal_code: pick(POSTAL, place.1),
                city: pick(CITIES, place.2),
                prefer_local,
                today: today(),
            });
            let candidate = Candidate::new(m);
            prop_assert_eq!(
                score_value(&criteria, &candidate),
                score(&criteria, &candidate).score
            );
        }
    }
}

/// `rank` keeps only the mechanics scoring at least the n-th best score before ordering them:
/// its winners are the first n of the whole eligible roster in the full order, ties and all.
#[test]
fn ranking_keeps_the_first_of_the_full_order_on_synthetic_rosters() {
    for seed in 1..=4 {
        // Ratings rounded to halves and few cities: many ties in score and rating, so the id
        // decides often.
        let mut rng = crate::synth::Rng::new(seed);
        let (cities, postals) = (
            ["Toronto", "Vancouver", "Montreal"],
            ["M5V 3L9", "V6H 1X5", "H2X 1Y4"],
        );
        let roster: Vec<Candidate> = (0..400)
            .map(|i| {
                let mut m = bare(&format!("m{i:03}"));
                m.rating = rng.below(11) as f64 / 2.0;
                m.years_experience = rng.below(12) as i64;
                m.completed_sessions = rng.below(80) as i64;
                m.profile_completion_score = 80 + rng.below(21) as i64;
                m.currently_on_shift = rng.below(2) == 0;
                let place = rng.below(3);
                m.country = Some("Canada".into());
                m.city = Some(cities[place].into());
                m.postal_code = Some(postals[place].into());
                Candidate::new(m)
            })
            .collect();
        for (i, req) in crate::synth::intakes(25, seed).iter().enumerate() {
            let c = Criteria::new(CriteriaInput {
                keywords: extract_keywords(&req.concern),
                request_type: Some(req.request_type),
                brands: &req.brands,
                vehicle_make: req.vehicle.make.as_deref(),
                country: req.location.country.as_deref(),
                postal_code: req.location.postal_code.as_deref(),
                city: req.location.city.as_deref(),
                prefer_local: req.prefer_local,
                today: today(),
            });
            let mut all: Vec<Match<'_>> = roster
                .iter()
                .filter(|m| is_eligible(&c, m))
                .map(|m| score(&c, m))
                .collect();
            all.sort_by(compare);
            let on_shift: Vec<&str> = all
                .iter()
                .filter(|m| m.candidate.on_shift())
                .map(|m| m.mechanic().id.as_str())
                .collect();
            let ids = |ms: &[Match<'_>]| -> Vec<String> {
                ms.iter().map(|m| m.mechanic().id.clone()).collect()
            };
            for n in [1, 3, 10] {
                let ranking = rank(&c, &roster, &[], n, n);
                let want: Vec<String> = all
                    .iter()
                    .take(n)
                    .map(|m| m.mechanic().id.clone())
                    .collect();
                assert_eq!(ids(&ranking.top), want, "seed {seed}, intake {i}, top {n}");
                let want: Vec<&str> = on_shift.iter().take(n).copied().collect();
                assert_eq!(
                    ids(&ranking.top_on_shift),
                    want,
                    "seed {seed}, intake {i}, on shift {n}"
                );
            }
        }
    }
}
