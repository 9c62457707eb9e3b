//! [`Value`] across the PostgreSQL wire: encoded by the type the server inferred for each
//! parameter, decoded from whatever type a column has. Flexible the way SQLite is, so the same
//! store code binds an `Integer` whether the column is BIGINT or an INT4 aggregate, and reads a
//! `Text` back from TEXT, VARCHAR or JSONB alike.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use crate::store::value::Value;

type BoxError = Box<dyn Error + Sync + Send>;

/// The version byte that starts JSONB's binary form (the only one PostgreSQL has).
const JSONB_VERSION: u8 = 1;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => integer_to_sql(*i, ty, out),
            Value::Real(r) => real_to_sql(*r, ty, out),
            Value::Text(s) => text_to_sql(s, ty, out),
            Value::Blob(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out),
            Value::Blob(_) => Err(mismatch("a blob", ty)),
        }
    }

    /// Every type: which ones a value fits is decided per value in [`ToSql::to_sql`], since a
    /// `Value` is only known at run time.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn integer_to_sql(i: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let narrow = |what: &str| format!("{i} does not fit a parameter of type {what}");
    match *ty {
        Type::INT8 => i.to_sql(ty, out),
        Type::INT4 => i32::try_from(i)
            .map_err(|_| narrow("integer"))?
            .to_sql(ty, out),
        Type::INT2 => i16::try_from(i)
            .map_err(|_| narrow("smallint"))?
            .to_sql(ty, out),
        // Exactly as SQLite turns an integer into a REAL column's value.
        Type::FLOAT8 => (i as f64).to_sql(ty, out),
        Type::FLOAT4 => (i as f32).to_sql(ty, out),
        Type::BOOL => match i {
            0 | 1 => (i == 1).to_sql(ty, out),
            _ => Err(narrow("boolean").into()),
        },
        Type::NUMERIC => {
            numeric_from_i64(i, out);
            Ok(IsNull::No)
        }
        _ if is_text(ty) => text_to_sql(&i.to_string(), ty, out),
        _ => Err(mismatch("an integer", ty)),
    }
}

fn real_to_sql(r: f64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::FLOAT8 => r.to_sql(ty, out),
        Type::FLOAT4 => (r as f32).to_sql(ty, out),
        _ if is_text(ty) => text_to_sql(&r.to_string(), ty, out),
        _ => Err(mismatch("a real", ty)),
    }
}

fn text_to_sql(s: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::JSONB => {
            out.put_u8(JSONB_VERSION);
            out.put_slice(s.as_bytes());
        }
        // A parameter whose type the server could not infer (`SELECT $1`) is sent as text too.
        _ if is_text(ty) || *ty == Type::JSON || *ty == Type::UNKNOWN => {
            out.put_slice(s.as_bytes())
        }
        _ => return Err(mismatch("text", ty)),
    }
    Ok(IsNull::No)
}

/// Types whose binary form is the UTF-8 text itself (a domain over TEXT included).
fn is_text(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Domain(inner) => is_text(inner),
        _ => matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME),
    }
}

fn mismatch(what: &str, ty: &Type) -> BoxError {
    format!("cannot store {what} in a parameter of type {ty}").into()
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::NUMERIC => numeric_to_value(raw)?,
            Type::JSONB => match raw.split_first() {
                Some((&JSONB_VERSION, json)) => Value::Text(std::str::from_utf8(json)?.to_owned()),
                _ => return Err("unsupported JSONB version".into()),
            },
            _ if is_text(ty) || *ty == Type::JSON || *ty == Type::UNKNOWN => {
                Value::Text(std::str::from_utf8(raw)?.to_owned())
            }
            _ => {
                return Err(format!(
                    "pitwall cannot read a column of type {ty} (cast it to BIGINT, DOUBLE \
                     PRECISION, TEXT or BYTEA)"
                )
                .into());
            }
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    /// Every type, so a row is read whole; an unsupported one is a clear error per column.
    fn accepts(_: &Type) -> bool {
        true
    }
}

// NUMERIC's binary form: ndigits, weight, sign, dscale (each i16/u16), then ndigits base-10000
// digits, most significant first; the value is Σ digit[k] · 10000^(weight − k).
const NUMERIC_POSITIVE: u16 = 0x0000;
const NUMERIC_NEGATIVE: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// An integer as NUMERIC (scale 0).
fn numeric_from_i64(i: i64, out: &mut BytesMut) {
    let mut magnitude = i.unsigned_abs();
    let mut digits = Vec::new();
    while magnitude > 0 {
        digits.push((magnitude % 10_000) as i16);
        magnitude /= 10_000;
    }
    digits.reverse();
    // Trailing zero digits are implied by the weight.
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let weight = (i.unsigned_abs().checked_ilog(10_000).unwrap_or(0)) as i16;
    out.put_i16(digits.len() as i16);
    out.put_i16(weight);
    out.put_u16(if i < 0 {
        NUMERIC_NEGATIVE
    } else {
        NUMERIC_POSITIVE
    });
    out.put_i16(0);
    for digit in digits {
        out.put_i16(digit);
    }
}

/// A NUMERIC as SQLite would hold the same result: one without decimals that fits is an
/// `Integer` (SUM over BIGINT), anything else a `Real` (AVG).
fn numeric_to_value(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |k: usize| -> Result<i16, BoxError> {
        raw.get(2 * k..2 * k + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC".into())
    };
    let ndigits = usize::try_from(word(0)?).map_err(|_| "bad NUMERIC digit count")?;
    let weight = i32::from(word(1)?);
    let sign = word(2)? as u16;
    if sign == NUMERIC_NAN || (sign != NUMERIC_POSITIVE && sign != NUMERIC_NEGATIVE) {
        return Ok(Value::Real(f64::NAN));
    }
    let negative = sign == NUMERIC_NEGATIVE;
    let scale = word(3)?;
    let digits = (0..ndigits)
        .map(|k| word(4 + k))
        .collect::<Result<Vec<_>, _>>()?;
    // An integer when declared without decimals (SUM over integers), as SQLite's sum() is; a
    // value with decimals is a real even when they are zeros (AVG of 1 and 1 is 1.0 there too).
    let integral = scale == 0 && digits.len() as i32 <= weight + 1;
    if integral {
        let mut total: i128 = 0;
        for exponent in (0..=weight).rev() {
            let k = (weight - exponent) as usize;
            let digit = i128::from(digits.get(k).copied().unwrap_or(0));
            total = total * 10_000 + digit;
            if total > i128::from(i64::MAX) + 1 {
                break;
            }
        }
        let total = if negative { -total } else { total };
        if let Ok(i) = i64::try_from(total) {
            return Ok(Value::Integer(i));
        }
    }
    let magnitude: f64 = digits
        .iter()
        .enumerate()
        .map(|(k, &d)| f64::from(d) * 10_000f64.powi(weight - k as i32))
        .sum();
    Ok(Value::Real(if negative { -magnitude } else { magnitude }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(i: i64) -> Value {
        let mut out = BytesMut::new();
        numeric_from_i64(i, &mut out);
        numeric_to_value(&out).unwrap()
    }

    #[test]
    fn numeric_integers_round_trip() {
        for i in [
            0,
            1,
            -1,
            9_999,
            10_000,
            10_001,
            123_456_789,
            -20_000,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(round_trip(i), Value::Integer(i), "{i}");
        }
    }

    #[test]
    fn numeric_with_decimals_is_real_even_when_whole() {
        // 2.0: weight 0, digits [2], dscale 1.
        let raw = [0, 1, 0, 0, 0, 0, 0, 1, 0, 2];
        assert_eq!(numeric_to_value(&raw).unwrap(), Value::Real(2.0));
    }

    #[test]
    fn numeric_fraction_is_real() {
        // 1.5: weight 0, digits [1, 5000], dscale 1.
        let raw = [0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88];
        assert_eq!(numeric_to_value(&raw).unwrap(), Value::Real(1.5));
    }
}
