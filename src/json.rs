//! Strict JSON (SPEC §7): one value, then only whitespace to the end, and no object with the
//! same key twice. serde_json keeps the last of duplicate keys, so
//! `{"session":"NOPE","session":"S-wait"}` would act on S-wait; a script with such a line has
//! a bug, and pitwall says so instead of guessing which one was meant.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` as exactly one JSON value, refusing duplicate keys at any depth and anything
/// but whitespace after the value.
pub fn from_str(text: &str) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de.deserialize_any(StrictValue)?;
    de.end()?;
    Ok(value)
}

/// Builds a [`Value`] like serde_json does, but fails on a repeated object key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinity, so every parsed float is finite.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key \"{}\" appears twice",
                    crate::text::inert(&key)
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(from_str(r#"{"a":1,"a":2}"#).is_err());
        assert!(from_str(r#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(from_str(r#"[{"x":[{"k":1,"k":2}]}]"#).is_err());
        let e = from_str(r#"{"cmd":"cancel","session":"NOPE","session":"S-wait"}"#).unwrap_err();
        assert!(e.to_string().contains("\"session\" appears twice"), "{e}");
    }

    #[test]
    fn one_value_then_the_end() {
        assert!(from_str("[1] [2]").is_err());
        assert!(from_str("[1] x").is_err());
        assert_eq!(from_str(" [1]\n ").unwrap(), serde_json::json!([1]));
    }

    #[test]
    fn values_match_serde_json() {
        let text = r#"{"a":[1,-2,3.5,1e300,18446744073709551615,true,null,"s\u00e9"],"b":{}}"#;
        assert_eq!(
            from_str(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }
}
