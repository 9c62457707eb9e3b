//! Countries as customers and mechanics write them: one folding of common spellings and codes,
//! used by matching (same country, postal prefixes) and by validation (which postal-code rule).

/// Normalised country: common spellings and codes of Canada and the US fold together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Country {
    Canada,
    UnitedStates,
    Other(String),
}

impl Country {
    pub fn parse(raw: &str) -> Option<Country> {
        let key: String = raw
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, '.' | ' '))
            .collect();
        match key.as_str() {
            "" => None,
            "ca" | "can" | "canada" => Some(Country::Canada),
            "us" | "usa" | "unitedstates" | "unitedstatesofamerica" => Some(Country::UnitedStates),
            _ => Some(Country::Other(raw.trim().to_string())),
        }
    }

    pub fn display(&self) -> &str {
        match self {
            Country::Canada => "Canada",
            Country::UnitedStates => "United States",
            Country::Other(name) => name,
        }
    }

    pub fn same_as(&self, other: &Country) -> bool {
        match (self, other) {
            (Country::Other(a), Country::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }
}

/// Canada: the FSA (first three characters); US: the first three digits; elsewhere the first
/// three characters. Spaces ignored, upper-cased.
pub fn postal_prefix(country: &Country, code: &str) -> Option<String> {
    let cleaned = code
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase());
    let prefix: String = match country {
        Country::UnitedStates => cleaned.filter(char::is_ascii_digit).take(3).collect(),
        _ => cleaned.take(3).collect(),
    };
    (!prefix.is_empty()).then_some(prefix)
}
