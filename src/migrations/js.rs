//! The JavaScript semantics the app's TypeScript relies on, applied to Convex
//! values as Convex's JS runtime hands them over (Int64 a `bigint`, Float64
//! a `number`, Bytes an `ArrayBuffer`): `parseInt`, `String(x)`, `x +
//! string`, `x.includes(s)`, object spread, `a || b` and the membership of
//! a `Set`.

use crate::value::Map;

use crate::value::Value;

/// JS `parseInt(x)` with no radix, where `x` is what a Convex document holds
/// (`None` is `undefined`). Returns NaN where JS does.
pub fn parse_int(x: Option<&Value>) -> f64 {
    match x {
        None => f64::NAN,
        Some(v) => parse_int_str(&to_js_string(v)),
    }
}

/// `String(v)`, which `parseInt(v)` and `"text" + v` apply: a `bigint` in
/// decimal, a number as `Number.prototype.toString` spells it, an array
/// joined with `,` (its `null`s empty), `[object ArrayBuffer]` and
/// `[object Object]`.
pub fn to_js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Float64(f) => number_to_string(*f),
        Value::String(s) => s.clone(),
        Value::Bytes(_) => "[object ArrayBuffer]".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => to_js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// `Number.prototype.toString()`: integers below 1e21 in full, exponent
/// form (`1e+21`, `5e-7`) outside [1e-6, 1e21).
pub fn number_to_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return "0".into();
    }
    let a = f.abs();
    if (1e-6..1e21).contains(&a) {
        // Rust prints the shortest round-trip digits without an exponent.
        let s = format!("{f}");
        return s;
    }
    // Shortest digits in exponent form, then JS's spelling of the exponent.
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    format!(
        "{mantissa}e{}{}",
        if exp >= 0 { "+" } else { "-" },
        exp.abs()
    )
}

/// JS `StrWhiteSpaceChar`: WhiteSpace and LineTerminator.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{B}' | '\u{C}' | '\u{D}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JS `parseInt(s)` with no radix.
pub fn parse_int_str(s: &str) -> f64 {
    let s = s.trim_start_matches(is_js_space);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, s) = if s.starts_with("0x") || s.starts_with("0X") {
        (16, &s[2..])
    } else {
        (10, s)
    };
    let digits: &str = {
        let end = s.find(|c: char| !c.is_digit(radix)).unwrap_or(s.len());
        &s[..end]
    };
    if digits.is_empty() {
        return f64::NAN;
    }
    let magnitude = if radix == 10 {
        // Correctly rounded, as V8 does for decimal digit runs.
        digits.parse::<f64>().expect("digits parse")
    } else {
        digits.chars().fold(0.0, |acc, c| {
            acc * 16.0 + f64::from(c.to_digit(16).expect("hex"))
        })
    };
    if negative { -magnitude } else { magnitude }
}

/// The own enumerable properties `{...x}` copies: an object's fields, a
/// string's characters (`"0"`, `"1"`, …) or an array's elements; nothing for
/// other values. Fails for a string with characters outside the Basic
/// Multilingual Plane, which JS would split into lone surrogates that a
/// Convex string cannot hold.
pub fn spread(x: Option<&Value>) -> Result<Map, String> {
    Ok(match x {
        Some(Value::Object(fields)) => fields.clone(),
        Some(Value::String(s)) => {
            let mut out = Map::new();
            for (i, c) in s.chars().enumerate() {
                if c.len_utf16() != 1 {
                    return Err(
                        "spreading this string would split a character into lone surrogates".into(),
                    );
                }
                out.insert(i.to_string(), Value::String(c.to_string()));
            }
            out
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect(),
        _ => Map::new(),
    })
}

/// `x.includes(needle)` for a string needle: a substring test on a string,
/// an element test (SameValueZero, so only an equal string) on an array.
/// Every other value has no `includes` and the call throws a TypeError.
pub fn includes(x: Option<&Value>, needle: &str, what: &str) -> Result<bool, String> {
    match x {
        Some(Value::String(s)) => Ok(s.contains(needle)),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .any(|i| matches!(i, Value::String(s) if s == needle))),
        Some(other) => Err(format!(
            "{what} is {}, which has no .includes (the original throws a TypeError)",
            other.type_name()
        )),
        None => Err(format!(
            "{what} is missing (the original throws a TypeError at .includes)"
        )),
    }
}

/// A value as a JS `Set` or `Map` tells members apart (SameValueZero): a
/// `bigint` and a `number` differ, `-0` is `0`, every NaN is one member,
/// strings by their text. `None` for an object, an array or an
/// `ArrayBuffer`: each read of a document makes new ones, so such a value
/// equals no member of a set built from other reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SameValueZero {
    Undefined,
    Null,
    Bool(bool),
    BigInt(i64),
    /// The bits, with `-0` made `0` and every NaN one NaN.
    Number(u64),
    String(String),
}

pub fn same_value_zero(x: Option<&Value>) -> Option<SameValueZero> {
    Some(match x {
        None => SameValueZero::Undefined,
        Some(Value::Null) => SameValueZero::Null,
        Some(Value::Bool(b)) => SameValueZero::Bool(*b),
        Some(Value::Int64(i)) => SameValueZero::BigInt(*i),
        Some(Value::Float64(f)) => SameValueZero::Number(if f.is_nan() {
            f64::NAN.to_bits()
        } else if *f == 0.0 {
            0
        } else {
            f.to_bits()
        }),
        Some(Value::String(s)) => SameValueZero::String(s.clone()),
        Some(Value::Bytes(_) | Value::Array(_) | Value::Object(_)) => return None,
    })
}

/// `a || b`: `a` when it is truthy, else `b`.
pub fn or(a: Option<&Value>, b: &str) -> Value {
    match a {
        Some(v) if v.is_truthy() => v.clone(),
        _ => Value::String(b.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> f64 {
        parse_int_str(x)
    }

    #[test]
    fn parse_int_matches_the_spec_examples() {
        assert_eq!(s("8"), 8.0);
        assert_eq!(s(" 8s"), 8.0);
        assert_eq!(s("5.9"), 5.0);
        assert_eq!(s("-3"), -3.0);
        assert_eq!(s("0x10"), 16.0);
        assert_eq!(s("1e3"), 1.0);
        assert!(s("").is_nan());
        assert!(s("abc").is_nan());
        assert!(s("-").is_nan());
        assert!(s("0x").is_nan());
        assert_eq!(s("\u{a0}\u{2028}\u{feff}\t+12"), 12.0);
        assert!(s("\u{85}12").is_nan(), "NEL is not JS whitespace");
        assert_eq!(s("-0").to_bits(), (-0.0f64).to_bits());
        assert_eq!(s("007"), 7.0);
        assert_eq!(s("123456789012345678901234567890"), 1.2345678901234568e29);
        assert_eq!(s("0XfF"), 255.0);
    }

    #[test]
    fn parse_int_of_non_strings() {
        assert_eq!(parse_int(Some(&Value::Float64(8.0))), 8.0);
        assert_eq!(parse_int(Some(&Value::Float64(5.9))), 5.0);
        assert_eq!(parse_int(Some(&Value::Float64(1.5e21))), 1.0);
        assert_eq!(parse_int(Some(&Value::Float64(5e-7))), 5.0);
        assert_eq!(parse_int(Some(&Value::Int64(42))), 42.0);
        assert!(parse_int(None).is_nan());
        assert!(parse_int(Some(&Value::Null)).is_nan());
        assert!(parse_int(Some(&Value::Bool(true))).is_nan());
        assert!(parse_int(Some(&Value::Float64(f64::INFINITY))).is_nan());
        let arr = Value::Array(vec![Value::Float64(6.0), Value::Float64(7.0)]);
        assert_eq!(parse_int(Some(&arr)), 6.0);
    }

    #[test]
    fn number_to_string_follows_js() {
        assert_eq!(number_to_string(5.0), "5");
        assert_eq!(number_to_string(-0.0), "0");
        assert_eq!(number_to_string(1e21), "1e+21");
        assert_eq!(number_to_string(1.5e-7), "1.5e-7");
        assert_eq!(number_to_string(0.000001), "0.000001");
        assert_eq!(number_to_string(123.25), "123.25");
    }

    #[test]
    fn includes_follows_js() {
        let s = |t: &str| Value::String(t.into());
        assert_eq!(
            includes(Some(&s("google/veo-3")), "google/veo", "m"),
            Ok(true)
        );
        assert_eq!(
            includes(Some(&s("Google/Veo-3")), "google/veo", "m"),
            Ok(false)
        );
        let arr = Value::Array(vec![Value::Float64(1.0), s("google/veo")]);
        assert_eq!(includes(Some(&arr), "google/veo", "m"), Ok(true));
        let arr = Value::Array(vec![s("google/veo-3")]);
        assert_eq!(includes(Some(&arr), "google/veo", "m"), Ok(false));
        for v in [
            Value::Null,
            Value::Int64(1),
            Value::Bytes(vec![1]),
            Value::Object(Map::new()),
        ] {
            assert!(includes(Some(&v), "x", "m").is_err());
        }
        assert!(includes(None, "x", "m").is_err());
    }

    #[test]
    fn set_membership_follows_same_value_zero() {
        let k = |v: Value| same_value_zero(Some(&v));
        assert_eq!(k(Value::Float64(-0.0)), k(Value::Float64(0.0)));
        assert_eq!(k(Value::Float64(f64::NAN)), k(Value::Float64(-f64::NAN)));
        assert_ne!(k(Value::Float64(1.0)), k(Value::Int64(1)));
        assert_ne!(k(Value::String("1".into())), k(Value::Float64(1.0)));
        assert_eq!(k(Value::Object(Map::new())), None);
        assert_eq!(same_value_zero(None), Some(SameValueZero::Undefined));
    }

    #[test]
    fn spread_follows_js() {
        let s = spread(Some(&Value::String("ab".into()))).unwrap();
        assert_eq!(s.get("1"), Some(&Value::String("b".into())));
        assert!(spread(Some(&Value::Null)).unwrap().is_empty());
        assert!(spread(Some(&Value::Float64(3.0))).unwrap().is_empty());
        assert!(spread(None).unwrap().is_empty());
        assert!(spread(Some(&Value::String("😀".into()))).is_err());
    }
}
