//! A customer's time zone from the place they gave at intake (country, province or state,
//! city): so a booking reads in the customer's own hours beside UTC. One zone per province or
//! state, the one most of its people live in; a few cities of split provinces and states are
//! named. Unknown places have no zone, and times stay in UTC alone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::country::Country;

/// The zone of a place, when the place says enough to know it.
pub fn of_place(country: Option<&str>, province: Option<&str>, city: Option<&str>) -> Option<Tz> {
    let country = Country::parse(country?)?;
    let region = key(province.unwrap_or_default());
    let city = key(city.unwrap_or_default());
    match country {
        Country::Canada => canada(&region, &city),
        Country::UnitedStates => united_states(&region, &city),
        Country::Other(_) => None,
    }
}

/// Lower-case letters only: "N.S.", "Nova Scotia" and "nova-scotia" compare alike.
fn key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

fn canada(region: &str, city: &str) -> Option<Tz> {
    use chrono_tz::America::*;
    // Cities first where a province spans two zones, or where the province was not given.
    let by_city = match city {
        "thunderbay" | "toronto" | "ottawa" | "mississauga" | "hamilton" | "london"
        | "kitchener" | "windsor" | "sudbury" => Some(Toronto),
        "kenora" | "winnipeg" | "brandon" => Some(Winnipeg),
        // Quebec keeps Eastern time, as Toronto does.
        "montreal" | "quebec" | "quebeccity" | "laval" | "gatineau" | "sherbrooke" => Some(Toronto),
        "lloydminster" | "edmonton" | "calgary" | "reddeer" => Some(Edmonton),
        "vancouver" | "victoria" | "kelowna" | "surrey" | "burnaby" => Some(Vancouver),
        "halifax" | "dartmouth" | "sydney" | "moncton" | "fredericton" | "saintjohn"
        | "charlottetown" => Some(Halifax),
        "stjohns" => Some(St_Johns),
        "regina" | "saskatoon" => Some(Regina),
        "whitehorse" => Some(Whitehorse),
        "yellowknife" => Some(Yellowknife),
        "iqaluit" => Some(Iqaluit),
        _ => None,
    };
    let by_region = match region {
        "on" | "ontario" | "qc" | "pq" | "quebec" => Some(Toronto),
        "mb" | "manitoba" => Some(Winnipeg),
        "sk" | "saskatchewan" => Some(Regina),
        "ab" | "alberta" => Some(Edmonton),
        "bc" | "britishcolumbia" => Some(Vancouver),
        "ns" | "novascotia" | "nb" | "newbrunswick" | "pe" | "pei" | "princeedwardisland" => {
            Some(Halifax)
        }
        "nl" | "nf" | "newfoundland" | "newfoundlandandlabrador" => Some(St_Johns),
        "yt" | "yukon" => Some(Whitehorse),
        "nt" | "northwestterritories" => Some(Yellowknife),
        "nu" | "nunavut" => Some(Iqaluit),
        _ => None,
    };
    // A city known to lie in another zone than most of its province wins (Kenora, Ontario).
    if city_overrides(city) {
        return by_city;
    }
    by_region.or(by_city)
}

/// Cities whose zone differs from their province's usual one.
fn city_overrides(city: &str) -> bool {
    matches!(city, "kenora" | "lloydminster")
}

fn united_states(region: &str, city: &str) -> Option<Tz> {
    use chrono_tz::America::*;
    use chrono_tz::Pacific::Honolulu;
    let eastern = [
        "ct",
        "connecticut",
        "de",
        "delaware",
        "dc",
        "districtofcolumbia",
        "fl",
        "florida",
        "ga",
        "georgia",
        "in",
        "indiana",
        "me",
        "maine",
        "md",
        "maryland",
        "ma",
        "massachusetts",
        "mi",
        "michigan",
        "nh",
        "newhampshire",
        "nj",
        "newjersey",
        "ny",
        "newyork",
        "nc",
        "northcarolina",
        "oh",
        "ohio",
        "pa",
        "pennsylvania",
        "ri",
        "rhodeisland",
        "sc",
        "southcarolina",
        "vt",
        "vermont",
        "va",
        "virginia",
        "wv",
        "westvirginia",
        "ky",
        "kentucky",
    ];
    let central = [
        "al",
        "alabama",
        "ar",
        "arkansas",
        "il",
        "illinois",
        "ia",
        "iowa",
        "ks",
        "kansas",
        "la",
        "louisiana",
        "mn",
        "minnesota",
        "ms",
        "mississippi",
        "mo",
        "missouri",
        "ne",
        "nebraska",
        "nd",
        "northdakota",
        "ok",
        "oklahoma",
        "sd",
        "southdakota",
        "tn",
        "tennessee",
        "tx",
        "texas",
        "wi",
        "wisconsin",
    ];
    let mountain = [
        "co",
        "colorado",
        "id",
        "idaho",
        "mt",
        "montana",
        "nm",
        "newmexico",
        "ut",
        "utah",
        "wy",
        "wyoming",
    ];
    let pacific = [
        "ca",
        "california",
        "nv",
        "nevada",
        "or",
        "oregon",
        "wa",
        "washington",
    ];
    if eastern.contains(&region) {
        Some(New_York)
    } else if central.contains(&region) {
        Some(Chicago)
    } else if mountain.contains(&region) {
        Some(Denver)
    } else if pacific.contains(&region) {
        Some(Los_Angeles)
    } else if matches!(region, "az" | "arizona") {
        Some(Phoenix)
    } else if matches!(region, "ak" | "alaska") {
        Some(Anchorage)
    } else if matches!(region, "hi" | "hawaii") {
        Some(Honolulu)
    } else {
        match city {
            "newyork" | "boston" | "miami" | "atlanta" | "detroit" => Some(New_York),
            "chicago" | "houston" | "dallas" => Some(Chicago),
            "denver" => Some(Denver),
            "losangeles" | "sanfrancisco" | "seattle" | "portland" => Some(Los_Angeles),
            _ => None,
        }
    }
}

/// `at` as the customer's clock reads it ("10:00 AST"), or nothing without a zone.
pub fn local_clock(at: DateTime<Utc>, zone: Option<Tz>) -> Option<String> {
    let local = at.with_timezone(&zone?);
    Some(local.format("%H:%M %Z").to_string())
}

/// `at` as the customer's calendar and clock read it ("Mon 07 Dec 10:00 AST").
pub fn local_when(at: DateTime<Utc>, zone: Option<Tz>) -> Option<String> {
    let local = at.with_timezone(&zone?);
    Some(local.format("%a %d %b %H:%M %Z").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn provinces_states_and_cities_have_their_zones() {
        let tz = |c: &str, p: &str, city: &str| of_place(Some(c), Some(p), Some(city));
        assert_eq!(
            tz("Canada", "NS", "Halifax"),
            Some(chrono_tz::America::Halifax)
        );
        assert_eq!(tz("CA", "", "Halifax"), Some(chrono_tz::America::Halifax));
        assert_eq!(
            tz("Canada", "Ontario", "Kenora"),
            Some(chrono_tz::America::Winnipeg)
        );
        assert_eq!(
            tz("Canada", "ON", "Toronto"),
            Some(chrono_tz::America::Toronto)
        );
        assert_eq!(
            tz("Canada", "B.C.", ""),
            Some(chrono_tz::America::Vancouver)
        );
        assert_eq!(tz("USA", "CA", ""), Some(chrono_tz::America::Los_Angeles));
        assert_eq!(
            tz("US", "Texas", "Austin"),
            Some(chrono_tz::America::Chicago)
        );
        assert_eq!(tz("Canada", "", "Nowhere"), None);
        assert_eq!(tz("France", "", "Paris"), None);
        assert_eq!(of_place(None, Some("NS"), None), None);
    }

    #[test]
    fn a_booking_reads_in_the_customers_hours() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 14, 0, 0).unwrap();
        let halifax = Some(chrono_tz::America::Halifax);
        assert_eq!(local_clock(at, halifax).as_deref(), Some("10:00 AST"));
        assert_eq!(
            local_when(at, halifax).as_deref(),
            Some("Mon 07 Dec 10:00 AST")
        );
        assert_eq!(local_clock(at, None), None);
    }
}
