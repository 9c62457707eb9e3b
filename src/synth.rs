//! Synthetic rosters and intakes for benchmarks and load tests: deterministic (the crate's generator
//! from a fixed seed), realistic in shape (Canadian cities with real postal prefixes, canonical service
//! keywords, a share of brand specialists, on and off shift).

use serde_json::{Value, json};

use crate::command::{Customer, IntakeRequest, Location, Vehicle};
use crate::matching::canonical_keywords;
use crate::model::{PaymentMethod, RequestType};

/// City, province, postal prefixes.
const CITIES: &[(&str, &str, &[&str])] = &[
    ("Toronto", "ON", &["M5V", "M4C", "M6J", "M5A"]),
    ("Ottawa", "ON", &["K1P", "K2G", "K1N"]),
    ("Montréal", "QC", &["H2X", "H3B", "H4A"]),
    ("Québec City", "QC", &["G1R", "G1K"]),
    ("Vancouver", "BC", &["V6B", "V5K", "V6H"]),
    ("Calgary", "AB", &["T2P", "T3A"]),
    ("Edmonton", "AB", &["T5J", "T6E"]),
    ("Winnipeg", "MB", &["R3C", "R2M"]),
    ("Halifax", "NS", &["B3H", "B3K"]),
];

const BRANDS: &[&str] = &[
    "BMW",
    "Tesla",
    "Mercedes-Benz",
    "Audi",
    "Porsche",
    "Toyota",
    "Honda",
    "Ford",
    "Volvo",
];

const CONCERNS: &[&str] = &[
    "My check engine light is on",
    "Brakes grinding when I stop, and the ABS light came on",
    "Need an oil change and tire rotation",
    "A/C blows warm air since last week",
    "Car won't start in the cold, battery maybe",
    "Transmission slipping between second and third gear",
    "Engine overheating on the highway",
    "Install a remote starter and a dashcam",
    "Steering wheel shakes, maybe alignment or a tie rod",
    "Loud exhaust and a rattle under the car",
    "Timing belt due at 160k, also spark plugs",
    "Airbag light stays on after a fender bender",
    "Electrical problem: dash lights flicker",
    "Fuel pump whines and the car stalls",
    "Want a backup camera and new stereo",
];

/// A deterministic generator: the same seed, the same roster and intakes.
pub struct Rng(crate::random::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(crate::random::seeded(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        rand::RngCore::next_u64(&mut self.0)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn postal(rng: &mut Rng, prefix: &str) -> String {
    let letter = (b'A' + rng.below(26) as u8) as char;
    format!("{prefix} {}{letter}{}", rng.below(10), rng.below(10))
}

/// `n` mechanics in the seeds format (add_mechanic objects), ids `g000001`…
pub fn roster(n: usize, seed: u64) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    let keywords: Vec<&str> = canonical_keywords().collect();
    (0..n)
        .map(|i| {
            let (city, province, prefixes) = *rng.pick(CITIES);
            let prefix = *rng.pick(prefixes);
            let specialist = rng.chance(12);
            let brands: Vec<&str> = if specialist { vec![*rng.pick(BRANDS)] } else { vec![] };
            let own: Vec<&str> = (0..2 + rng.below(4)).map(|_| *rng.pick(&keywords)).collect();
            json!({
                "id": format!("g{i:06}"),
                "name": format!("Mechanic {i}"),
                "email": format!("mechanic{i}@example.ca"),
                "city": city,
                "state_province": province,
                "country": "Canada",
                "postal_code": postal(&mut rng, prefix),
                "years_experience": rng.below(30),
                "rating": (30 + rng.below(21)) as f64 / 10.0,
                "completed_sessions": rng.below(400),
                "profile_completion_score": 60 + rng.below(41),
                "account_status": if rng.chance(95) { "approved" } else { "suspended" },
                "currently_on_shift": rng.chance(40),
                "certification_type": if rng.chance(50) { Value::from("red_seal") } else { Value::Null },
                "red_seal_certified": rng.chance(10),
                "is_brand_specialist": specialist,
                "brand_specializations": brands,
                "service_keywords": own,
                "timezone": zone_of(province),
                "shifts": plan_of(i),
            })
        })
        .collect()
}

/// The IANA zone of a province of the synthetic roster.
fn zone_of(province: &str) -> &'static str {
    match province {
        "NS" => "America/Halifax",
        "AB" => "America/Edmonton",
        "BC" => "America/Vancouver",
        "MB" => "America/Winnipeg",
        _ => "America/Toronto",
    }
}

/// A weekly plan (SPEC §14) picked by index, not drawn from the generator, so every other field
/// of a roster stays what it was before plans existed: day shifts, late shifts, weekends,
/// four long days, nights.
fn plan_of(i: usize) -> Value {
    const PLANS: &[(&[&str], &str, &str)] = &[
        (&["mon", "tue", "wed", "thu", "fri"], "08:00", "16:00"),
        (&["mon", "tue", "wed", "thu", "fri"], "12:00", "20:00"),
        (&["tue", "wed", "thu", "fri", "sat"], "09:00", "17:00"),
        (&["mon", "tue", "wed", "thu"], "07:00", "17:00"),
        (&["fri", "sat", "sun"], "10:00", "18:00"),
        (&["sun", "mon", "tue", "wed"], "22:00", "06:00"),
    ];
    let (days, start, end) = PLANS[i % PLANS.len()];
    Value::Array(
        days.iter()
            .map(|d| json!({"day": d, "start": start, "end": end}))
            .collect(),
    )
}

/// A stream of varied intakes (concerns, cities, a share of brand requests and paid sessions).
pub fn intakes(n: usize, seed: u64) -> Vec<IntakeRequest> {
    IntakeStream::new(seed).take(n).collect()
}

/// The intakes of [`intakes`] one at a time, without end (the simulation draws as many as its
/// arrivals need): the first `n` are exactly `intakes(n, seed)`.
pub struct IntakeStream {
    rng: Rng,
    next: usize,
}

impl IntakeStream {
    pub fn new(seed: u64) -> IntakeStream {
        IntakeStream {
            rng: Rng::new(seed),
            next: 0,
        }
    }
}

impl Iterator for IntakeStream {
    type Item = IntakeRequest;

    fn next(&mut self) -> Option<IntakeRequest> {
        let (i, rng) = (self.next, &mut self.rng);
        self.next += 1;
        let (city, province, prefixes) = *rng.pick(CITIES);
        let prefix = *rng.pick(prefixes);
        let brand_request = rng.chance(15);
        Some(IntakeRequest {
            customer: Customer {
                name: format!("Customer {i}"),
                email: Some(format!("customer{i}@example.com")),
                phone: None,
            },
            location: Location {
                country: Some("Canada".into()),
                province: Some(province.into()),
                city: Some(city.into()),
                postal_code: Some(postal(rng, prefix)),
            },
            vehicle: Vehicle {
                year: Some(2010 + rng.below(16) as i64),
                ..Vehicle::default()
            },
            concern: rng.pick(CONCERNS).to_string(),
            payment_method: Some(*rng.pick(&[
                PaymentMethod::Free,
                PaymentMethod::Credit,
                PaymentMethod::Paid,
            ])),
            request_type: if brand_request {
                RequestType::BrandSpecialist
            } else {
                RequestType::General
            },
            brands: if brand_request {
                vec![rng.pick(BRANDS).to_string()]
            } else {
                vec![]
            },
            ..IntakeRequest::default()
        })
    }
}
