//! The behaviour model of a simulated day (SPEC §16) in one place: how mechanics answer offers
//! and how customers wait. Every knob has a default that makes a believable day; a TOML file
//! given to `pitwall simulate --params FILE` changes any of them (unknown keys are refused, a
//! value out of range is an `invalid_input` naming its key).

use serde::{Deserialize, Serialize};

use crate::error::DispatchError;
use crate::model::Tier;

/// The behaviour parameters. Probabilities are 0–1; durations are seconds or minutes as named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Chance that a mechanic who answers an offer takes it, by how well he matches (SPEC §3
    /// tiers): a good match is an easy yes.
    pub accept_probability: AcceptProbability,
    /// Chance that a mechanic never answers a targeted offer (a phone left in a locker): the
    /// offer lapses, and three in a row clock him out (SPEC §5).
    pub no_answer_rate: f64,
    /// Chance that a mechanic who answers declines whatever the match (busy with a car).
    pub decline_rate: f64,
    /// Seconds from a targeted offer to the mechanic's answer (he is pinged directly).
    pub targeted_answer_seconds: Delay,
    /// Seconds from a broadcast opening (or a mechanic coming free) to someone looking at it.
    pub broadcast_answer_seconds: Delay,
    /// How long a matched session takes before it is completed, in minutes.
    pub session_minutes: MinutesRange,
    /// Chance that a customer told "all mechanics offline" joins the waitlist.
    pub waitlist_take_up: f64,
    /// Minutes a customer waits for a mechanic before cancelling (one on the waitlist waits
    /// as long as his entry, 24 h).
    pub patience_minutes: i64,
    /// Minutes after an automatic clock-out before the mechanic (still planned on shift)
    /// notices and clocks in again.
    pub back_after_auto_clock_out_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcceptProbability {
    /// Score ≥ 150.
    pub high_match: f64,
    /// Score 100–149.
    pub good_match: f64,
    /// Below 100.
    pub standard: f64,
}

/// A random delay: exponential with this mean, never shorter than `min`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    pub mean: f64,
    pub min: f64,
}

/// A duration drawn evenly between `min` and `max` minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinutesRange {
    pub min: i64,
    pub max: i64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            accept_probability: AcceptProbability::default(),
            no_answer_rate: 0.05,
            decline_rate: 0.08,
            targeted_answer_seconds: Delay {
                mean: 30.0,
                min: 5.0,
            },
            broadcast_answer_seconds: Delay {
                mean: 90.0,
                min: 15.0,
            },
            session_minutes: MinutesRange { min: 15, max: 45 },
            waitlist_take_up: 0.6,
            patience_minutes: 30,
            back_after_auto_clock_out_minutes: 30,
        }
    }
}

impl Default for AcceptProbability {
    fn default() -> Self {
        AcceptProbability {
            high_match: 0.92,
            good_match: 0.8,
            standard: 0.55,
        }
    }
}

impl AcceptProbability {
    pub fn of(&self, tier: Tier) -> f64 {
        match tier {
            Tier::High => self.high_match,
            Tier::Good => self.good_match,
            Tier::Standard | Tier::Broadcast => self.standard,
        }
    }
}

/// Longest durations accepted, so a typo cannot make a day that never ends.
const MAX_DELAY_SECONDS: f64 = 86_400.0;
const MAX_MINUTES: i64 = 7 * 24 * 60;

/// Largest params file read: it holds a dozen numbers.
const MAX_PARAMS_BYTES: u64 = 64 * 1024;

impl Params {
    /// Reads a params file (with a size bound); what is wrong says the code and the key:
    /// `params FILE: invalid_input (no_answer_rate): …`.
    pub fn load(path: &std::path::Path) -> Result<Params, String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_PARAMS_BYTES + 1).read_to_string(&mut text))
            .map_err(|e| format!("cannot read params {}: {e}", path.display()))?;
        if text.len() as u64 > MAX_PARAMS_BYTES {
            return Err(format!(
                "params {}: invalid_input (params): larger than {MAX_PARAMS_BYTES} bytes",
                path.display()
            ));
        }
        Params::from_toml(&text).map_err(|e| {
            format!(
                "params {}: {} ({}): {}",
                path.display(),
                e.code.as_str(),
                e.field.as_deref().unwrap_or("params"),
                e.message
            )
        })
    }

    /// Reads a params file's text: TOML, every key optional, unknown keys an error.
    pub fn from_toml(text: &str) -> Result<Params, DispatchError> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            DispatchError::invalid(
                "params",
                format!(
                    "The params file is not valid TOML: {}",
                    e.message().lines().next().unwrap_or("")
                ),
            )
        })?;
        let params: Params = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let message = e.inner().message().to_string();
            // An unknown key is reported at its parent: name the key itself.
            let key = match message.strip_prefix("unknown field `") {
                Some(rest) => {
                    let name = rest.split('`').next().unwrap_or("");
                    if key == "." {
                        name.to_string()
                    } else if key == name || key.ends_with(&format!(".{name}")) {
                        key
                    } else {
                        format!("{key}.{name}")
                    }
                }
                None if key == "." => "params".to_string(),
                None => key,
            };
            DispatchError::invalid(key, message)
        })?;
        params.check()?;
        Ok(params)
    }

    /// Every value in its range, or an `invalid_input` naming the key.
    pub fn check(&self) -> Result<(), DispatchError> {
        let p = &self.accept_probability;
        let rates = [
            ("accept_probability.high_match", p.high_match),
            ("accept_probability.good_match", p.good_match),
            ("accept_probability.standard", p.standard),
            ("no_answer_rate", self.no_answer_rate),
            ("decline_rate", self.decline_rate),
            ("waitlist_take_up", self.waitlist_take_up),
        ];
        for (key, value) in rates {
            if !(0.0..=1.0).contains(&value) {
                return Err(out_of_range(key, "a probability between 0 and 1"));
            }
        }
        for (key, delay) in [
            ("targeted_answer_seconds", &self.targeted_answer_seconds),
            ("broadcast_answer_seconds", &self.broadcast_answer_seconds),
        ] {
            if !(0.0..=MAX_DELAY_SECONDS).contains(&delay.mean) {
                return Err(out_of_range(
                    &format!("{key}.mean"),
                    "between 0 and 86400 seconds",
                ));
            }
            if !(0.0..=MAX_DELAY_SECONDS).contains(&delay.min) {
                return Err(out_of_range(
                    &format!("{key}.min"),
                    "between 0 and 86400 seconds",
                ));
            }
        }
        let s = &self.session_minutes;
        if !(1..=MAX_MINUTES).contains(&s.min) {
            return Err(out_of_range("session_minutes.min", "between 1 and 10080"));
        }
        if !(s.min..=MAX_MINUTES).contains(&s.max) {
            return Err(out_of_range(
                "session_minutes.max",
                "between session_minutes.min and 10080",
            ));
        }
        for (key, value) in [
            ("patience_minutes", self.patience_minutes),
            (
                "back_after_auto_clock_out_minutes",
                self.back_after_auto_clock_out_minutes,
            ),
        ] {
            if !(1..=MAX_MINUTES).contains(&value) {
                return Err(out_of_range(key, "between 1 and 10080"));
            }
        }
        Ok(())
    }
}

fn out_of_range(key: &str, range: &str) -> DispatchError {
    DispatchError::invalid(key, format!("{key} must be {range}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_their_own_check_and_an_empty_file_is_the_defaults() {
        Params::default().check().unwrap();
        assert_eq!(Params::from_toml("").unwrap(), Params::default());
    }

    #[test]
    fn a_file_changes_only_the_keys_it_names() {
        let p = Params::from_toml("no_answer_rate = 1.0\n[accept_probability]\nstandard = 0.0\n")
            .unwrap();
        assert_eq!(p.no_answer_rate, 1.0);
        assert_eq!(p.accept_probability.standard, 0.0);
        assert_eq!(p.accept_probability.high_match, 0.92);
    }

    #[test]
    fn bad_files_name_the_key() {
        let field = |t: &str| Params::from_toml(t).unwrap_err().field.unwrap();
        assert_eq!(field("no_answer_rate = 1.5"), "no_answer_rate");
        assert_eq!(field("nope = 1"), "nope");
        assert_eq!(
            field("[accept_probability]\nhigh = 1"),
            "accept_probability.high"
        );
        assert_eq!(field("decline_rate = \"x\""), "decline_rate");
        assert_eq!(
            field("[session_minutes]\nmin = 30\nmax = 10"),
            "session_minutes.max"
        );
        assert_eq!(field("no_answer_rate = "), "params");
    }
}
