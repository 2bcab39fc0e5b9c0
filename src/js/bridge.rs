//! Convex values across the JavaScript boundary, as JSON text (parsed and
//! printed by QuickJS's own C code, which is faster than building objects
//! one property at a time from Rust). Plain JSON numbers are Float64; the
//! other types are tagged (see `runtime.js`): `{"$integer":"<decimal>"}`,
//! `{"$float":"<16 hex digits of the bits>"}` for NaN, ±Infinity and -0,
//! `{"$bytes":"<hex>"}`, and `{"$undefined":null}` for a field a patch
//! removes. Text going to JavaScript starts with `P` when it holds no tag
//! (then `JSON.parse` alone gives the exact value) and `T` otherwise.

use serde_json::Value as Json;

use crate::value::{Map, TableFormat, Value};

/// A value as bridge text, `P` or `T` first.
pub fn encode(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push('P');
    let tagged = write(v, &mut out);
    if tagged {
        out.replace_range(0..1, "T");
    }
    out
}

/// A stored row's own text, when it can go to `JSON.parse` as it is: it
/// holds only strings, floats, booleans and nulls written as uniform JSON
/// (no integer literal, no `$` object).
pub fn plain_row<'a>(line: &'a [u8], format: &TableFormat) -> Option<&'a str> {
    if !matches!(format, TableFormat::Uniform) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    plain(text.as_bytes()).then(|| text.trim_end())
}

/// True when `s` (valid JSON) has no number without `.` or exponent and no
/// `"$` anywhere: `JSON.parse` then reads every value as Convex does.
fn plain(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => {
                if s.get(i + 1) == Some(&b'$') {
                    return false;
                }
                // Jump over the string: most of a row's bytes are in strings.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &s[i..]) {
                        None => return true,
                        Some(j) if s[i + j] == b'\\' => i += j + 2,
                        Some(j) => {
                            i += j + 1;
                            break;
                        }
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < s.len() && matches!(s[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                if !s[start..i].iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                    return false;
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// Writes `v` as bridge JSON; true when a tag was written.
fn write(v: &Value, out: &mut String) -> bool {
    use std::fmt::Write as _;
    match v {
        Value::Null => {
            out.push_str("null");
            false
        }
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            false
        }
        Value::Int64(i) => {
            let _ = write!(out, "{{\"$integer\":\"{i}\"}}");
            true
        }
        Value::Float64(f) => {
            if f.is_finite() && !(*f == 0.0 && f.is_sign_negative()) {
                out.push_str(&serde_json::to_string(f).expect("finite floats serialize"));
                false
            } else {
                let _ = write!(out, "{{\"$float\":\"{:016x}\"}}", f.to_bits());
                true
            }
        }
        Value::String(s) => {
            out.push_str(&serde_json::to_string(s).expect("strings serialize"));
            false
        }
        Value::Bytes(b) => {
            out.push_str("{\"$bytes\":\"");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
            out.push_str("\"}");
            true
        }
        Value::Array(items) => {
            out.push('[');
            let mut tagged = false;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                tagged |= write(item, out);
            }
            out.push(']');
            tagged
        }
        Value::Object(fields) => {
            out.push('{');
            let mut tagged = false;
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("strings serialize"));
                out.push(':');
                tagged |= write(v, out);
            }
            out.push('}');
            tagged
        }
    }
}

/// The bridge's JSON text. `JSON.stringify` escapes a lone UTF-16
/// surrogate (`"\\ud83d"`, half of an emoji, as slicing or spreading a
/// string can leave), which no Convex string can hold: that is the user's
/// value, so it gets its own message.
fn parse(text: &str) -> Result<Json, String> {
    serde_json::from_str(text).map_err(|e| {
        let m = e.to_string();
        if m.contains("surrogate") || m.contains("hex escape") {
            "a string holding a lone UTF-16 surrogate (half of a character such as an emoji) is not a valid Convex value".to_owned()
        } else {
            format!("internal: bad bridge JSON: {m}")
        }
    })
}

/// Bridge JSON text (from `toBridge`) to a value. `None` is the removal
/// marker of a patch (`{"$undefined":null}`), allowed only where `undefined`
/// is.
pub fn decode(text: &str) -> Result<Value, String> {
    let json = parse(text)?;
    match from_json(&json)? {
        Some(v) => Ok(v),
        None => Err("undefined is not a valid Convex value".into()),
    }
}

/// A patch: each top-level field set (`Some`) or removed (`None`).
pub fn decode_patch(text: &str) -> Result<Vec<(String, Option<Value>)>, String> {
    let json = parse(text)?;
    let Json::Object(map) = json else {
        return Err("a patch must be an object".into());
    };
    map.iter()
        .map(|(k, v)| Ok((k.clone(), from_json(v)?)))
        .collect()
}

/// One bridge JSON value; `None` for `{"$undefined":null}`.
pub fn from_json(json: &Json) -> Result<Option<Value>, String> {
    Ok(Some(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            Value::Float64(n.as_f64().ok_or("internal: a number that is not a float")?)
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| {
                    from_json(i)?.ok_or_else(|| {
                        "undefined is not a valid Convex value in an array".to_string()
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => {
            if map.len() == 1 {
                let (k, v) = map.iter().next().expect("one entry");
                match (k.as_str(), v) {
                    ("$undefined", _) => return Ok(None),
                    ("$integer", Json::String(s)) => {
                        return Ok(Some(Value::Int64(
                            s.parse()
                                .map_err(|_| format!("internal: bad $integer {s}"))?,
                        )));
                    }
                    ("$float", Json::String(s)) => {
                        let bits = u64::from_str_radix(s, 16)
                            .map_err(|_| format!("internal: bad $float {s}"))?;
                        return Ok(Some(Value::Float64(f64::from_bits(bits))));
                    }
                    ("$bytes", Json::String(s)) => {
                        let bytes = (0..s.len() / 2)
                            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16))
                            .collect::<Result<Vec<u8>, _>>()
                            .map_err(|_| "internal: bad $bytes".to_string())?;
                        return Ok(Some(Value::Bytes(bytes)));
                    }
                    _ => {}
                }
            }
            let mut out = Map::new();
            for (k, v) in map {
                // Field names were checked on the JavaScript side.
                if let Some(v) = from_json(v)? {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_surrogate_is_the_users_error() {
        let e = decode(r#"{"x":"a\ud83d"}"#).unwrap_err();
        assert!(e.contains("lone UTF-16 surrogate"), "{e}");
        assert_eq!(decode(r#""\ud83d\ude00""#), Ok(Value::String("😀".into())));
    }

    #[test]
    fn values_survive_the_text_and_plain_rows_go_as_they_are() {
        let v = Value::Object(Map::from(vec![
            ("a".to_owned(), Value::Int64(-5)),
            ("b".to_owned(), Value::Float64(-0.0)),
            (
                "c".to_owned(),
                Value::Float64(f64::from_bits(0x7ff8_0000_0000_0001)),
            ),
            ("d".to_owned(), Value::Bytes(vec![0, 255, 16])),
            (
                "e".to_owned(),
                Value::Array(vec![Value::Float64(1.5), Value::Null, Value::Bool(true)]),
            ),
            ("f".to_owned(), Value::String("é\"\n".into())),
            ("g".to_owned(), Value::Float64(1e300)),
        ]));
        let text = encode(&v);
        assert!(text.starts_with('T'));
        let back = decode(&text[1..]).unwrap();
        assert!(crate::engine::db::same_value(&v, &back), "{back:?}");
        let plain_doc =
            br#"{"_creationTime":1754240000000.5,"_id":"j97x","n":5.0,"s":"5 and \"$x\""}"#;
        let t = plain_row(plain_doc, &TableFormat::Uniform).unwrap();
        assert_eq!(t, std::str::from_utf8(plain_doc).unwrap());
        assert_eq!(plain_row(plain_doc, &TableFormat::Missing), None);
        let escapes = br#"{"s":"a\\","t":"\"5\\\"6","n":-0.0,"e":1e5}"#;
        assert!(plain_row(escapes, &TableFormat::Uniform).is_some());
        for tagged in [
            &br#"{"n":5}"#[..],
            br#"{"n":[1.5,-2]}"#,
            br#"{"b":{"$bytes":"AA=="}}"#,
            br#"{"s":"a\\","n":5}"#,
            br#"{"s":"\"","t":"x\\\"y","n":-0}"#,
        ] {
            assert_eq!(
                plain_row(tagged, &TableFormat::Uniform),
                None,
                "{}",
                String::from_utf8_lossy(tagged)
            );
        }
        let patch = decode_patch(r#"{"a":{"$undefined":null},"b":1.0}"#).unwrap();
        assert_eq!(
            patch,
            vec![("a".into(), None), ("b".into(), Some(Value::Float64(1.0)))]
        );
    }
}
