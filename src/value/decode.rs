//! JSON line to `Value`, per table format (sections 2.2, 3.2, 3.3).

use super::Map;
use super::scan::TopLevel;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;

use super::shape::decode_untyped;
use super::{TableFormat, Value, check_field_name};

/// Why a row is not a valid Convex value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Parses one JSONL line as the importer does: one complete JSON value,
/// trailing `\r` and spaces allowed.
pub fn parse_json_line(line: &[u8]) -> Result<Json, DecodeError> {
    serde_json::from_slice(line).map_err(|e| DecodeError(format!("not valid JSON: {e}")))
}

/// Parses and decodes one JSONL line in the table's format. Uniform and
/// sidecar-less rows are decoded straight from the text (no intermediate
/// `serde_json::Value`); anything that path refuses goes through
/// [`parse_json_line`] and [`decode_document`], whose result and message
/// decide, so both paths always agree.
pub fn decode_line(line: &[u8], format: &TableFormat) -> Result<Value, DecodeError> {
    if let Some(v) = decode_direct(line, format) {
        return Ok(v);
    }
    let json = parse_json_line(line)?;
    decode_document(&json, format)
        .map_err(|e| DecodeError(format!("not a valid Convex value: {e}")))
}

/// Reads one line of a `documents.jsonl` as the importer does, with the
/// messages every command gives: a BOM on line 1, a blank line, text that
/// is not JSON, JSON that is not an object, and an object that is not a
/// Convex value in the table's format are all refused. This is what makes
/// a row readable; `validate` lists each refusal, the other commands stop
/// at the first.
pub fn read_row(line: &[u8], line_no: usize, format: &TableFormat) -> Result<Value, DecodeError> {
    if line_no == 1 && line.starts_with(b"\xEF\xBB\xBF") {
        return Err(DecodeError(
            "starts with a UTF-8 byte order mark, which the importer rejects inside a ZIP".into(),
        ));
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError(
            "blank line: the importer fails with \"wasn't valid JSON: EOF while parsing\"".into(),
        ));
    }
    if let Some(v) = decode_direct(line, format) {
        return Ok(v);
    }
    let json = parse_json_line(line)?;
    if !json.is_object() {
        return Err(DecodeError(format!(
            "expected a JSON object, found {}",
            json_kind(&json)
        )));
    }
    decode_document(&json, format)
        .map_err(|e| DecodeError(format!("not a valid Convex value: {e}")))
}

/// The fast path of [`decode_line`]: `None` when the line is not a valid
/// document of a uniform or sidecar-less table (or the table is legacy).
pub fn decode_direct(line: &[u8], format: &TableFormat) -> Option<Value> {
    let v = parse_whole(line, Direct::for_format(format)?)?;
    matches!(v, Value::Object(_)).then_some(v)
}

/// Runs `seed` over the whole line (nothing but whitespace may follow), or
/// `None`. The line's UTF-8 is checked once up front (fast for ASCII), so
/// the parser need not check each string again; a line that is not UTF-8
/// goes through the byte parser, which finds the same answer.
fn parse_whole<'a, S>(line: &'a [u8], seed: S) -> Option<S::Value>
where
    S: serde::de::DeserializeSeed<'a>,
{
    fn run<'a, R: serde_json::de::Read<'a>, S: serde::de::DeserializeSeed<'a>>(
        read: R,
        seed: S,
    ) -> Option<S::Value> {
        let mut de = serde_json::Deserializer::new(read);
        let v = seed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(v)
    }
    match std::str::from_utf8(line) {
        Ok(text) => run(serde_json::de::StrRead::new(text), seed),
        Err(_) => run(serde_json::de::SliceRead::new(line), seed),
    }
}

/// Decodes only the named top-level fields of a row (the others are skipped
/// without building values). Falls back to a full [`decode_line`] when the
/// fast path refuses the row, so the result is always what a full decode
/// would give for those fields.
pub fn decode_fields(
    line: &[u8],
    format: &TableFormat,
    names: &[&str],
) -> Result<Map, DecodeError> {
    if let Some(inner) = Direct::for_format(format)
        && let Some(v) = parse_whole(line, Partial { names, inner })
    {
        return Ok(v);
    }
    match decode_line(line, format)? {
        Value::Object(mut all) => {
            all.retain(|k, _| names.contains(&k.as_str()));
            Ok(all)
        }
        _ => unreachable!("decode_line only returns objects"),
    }
}

/// [`decode_fields`] for a line already known to be valid JSON (the engine
/// reads only rows that passed a full parse, or that it wrote itself): the
/// fields not asked for are skipped by a byte scanner that does not check
/// them again. Same result as [`decode_fields`] on any valid JSON line;
/// anything unusual (an escaped or `$` key, a wanted value the fast decoder
/// refuses, a legacy table) goes to [`decode_fields`].
pub fn decode_fields_of_valid_json(
    line: &[u8],
    format: &TableFormat,
    names: &[&str],
) -> Result<Map, DecodeError> {
    if let Some(inner) = Direct::for_format(format)
        && let Some(v) = scan_fields(line, names, inner)
    {
        return Ok(v);
    }
    decode_fields(line, format, names)
}

/// The scanner of [`decode_fields_of_valid_json`]; `None` means "ask the
/// full parser".
fn scan_fields(line: &[u8], names: &[&str], inner: Direct) -> Option<Map> {
    let mut out = Map::new();
    let mut fields = TopLevel::new(line);
    for (key, span, plain) in &mut fields {
        // An escaped key or a `$` key: the parser decides.
        if key.first() == Some(&b'$') || !plain {
            return None;
        }
        if let Some(name) = names.iter().find(|n| n.as_bytes() == key) {
            out.insert((*name).to_owned(), parse_whole(&line[span], inner)?);
        }
    }
    (!fields.unusual).then_some(out)
}

/// The top-level visitor of [`decode_fields`].
struct Partial<'n> {
    names: &'n [&'n str],
    inner: Direct,
}

impl<'de> serde::de::DeserializeSeed<'de> for Partial<'_> {
    type Value = Map;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Partial<'_> {
    type Value = Map;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeyFilter(self.names))? {
            match key {
                // A special object, or an invalid name: the full decode decides.
                Key::Dollar => return Err(A::Error::custom("special object")),
                Key::Wanted(k) => {
                    let v = map.next_value_seed(self.inner)?;
                    out.insert(k, v);
                }
                Key::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A key of [`Partial`]: wanted (owned), starting with `$`, or other.
enum Key {
    Wanted(String),
    Dollar,
    Other,
}

/// Reads a key without allocating unless it is wanted.
struct KeyFilter<'n>(&'n [&'n str]);

impl<'de> serde::de::DeserializeSeed<'de> for KeyFilter<'_> {
    type Value = Key;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyFilter<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, s: &str) -> Result<Key, E> {
        Ok(if s.starts_with('$') {
            Key::Dollar
        } else if self.0.contains(&s) {
            Key::Wanted(s.to_owned())
        } else {
            Key::Other
        })
    }
}

/// Decodes JSON text straight into a [`Value`]: uniform rules
/// (`from_clean_lossless`) or, for sidecar-less tables, every number a
/// Float64 and no `$`-objects.
#[derive(Clone, Copy)]
struct Direct {
    uniform: bool,
}

impl Direct {
    /// The decoder for a table's format; `None` for legacy tables.
    fn for_format(format: &TableFormat) -> Option<Direct> {
        match format {
            TableFormat::Uniform => Some(Direct { uniform: true }),
            TableFormat::Missing => Some(Direct { uniform: false }),
            TableFormat::Legacy(_) => None,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Direct {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Direct {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Convex value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(if self.uniform {
            Value::Int64(i)
        } else {
            Value::Float64(i as f64)
        })
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(match i64::try_from(u) {
            Ok(i) if self.uniform => Value::Int64(i),
            _ => Value::Float64(u as f64),
        })
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float64(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        use serde::de::Error as _;
        // Convex writes keys sorted, so collect them in a Vec that becomes
        // the map as it is (`Map::from` sorts other input and keeps the last
        // of duplicate keys, like repeated inserts).
        let mut fields: Vec<(String, Value)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<String>()? {
            if fields.is_empty() && self.uniform && key.starts_with('$') {
                // `$bytes`, `$integer`, `$float`: the slow path decides.
                return Err(A::Error::custom("special object"));
            }
            check_field_name(&key).map_err(A::Error::custom)?;
            let v = map.next_value_seed(self)?;
            fields.push((key, v));
        }
        Ok(Value::Object(Map::from(fields)))
    }
}

/// Decodes a parsed row in the table's format. The row must be an object.
pub fn decode_document(json: &Json, format: &TableFormat) -> Result<Value, DecodeError> {
    if !json.is_object() {
        return Err(DecodeError(format!(
            "expected a JSON object, found {}",
            json_kind(json)
        )));
    }
    let value = match format {
        TableFormat::Uniform => decode_uniform(json),
        TableFormat::Legacy(schema) => schema.decode_row(json),
        TableFormat::Missing => decode_untyped(json),
    };
    match value.map_err(DecodeError)? {
        Value::Object(fields) => Ok(Value::Object(fields)),
        // `{"$bytes": …}` and friends decode to a scalar, not a document.
        other => Err(DecodeError(format!(
            "the row is a {} value, not a document",
            other.type_name()
        ))),
    }
}

/// "an array", "a number", …: what a JSON value is, for messages.
pub fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn decode_base64(s: &Json, key: &str) -> Result<Vec<u8>, String> {
    let Json::String(s) = s else {
        return Err(format!("{key} must hold a base64 string"));
    };
    STANDARD
        .decode(s)
        .map_err(|e| format!("{key} is not valid base64: {e}"))
}

fn eight_bytes(bytes: Vec<u8>, key: &str) -> Result<[u8; 8], String> {
    bytes
        .try_into()
        .map_err(|_| format!("{key} must hold exactly 8 bytes"))
}

/// `ConvexValue::from_clean_lossless`.
fn decode_uniform(json: &Json) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => {
            Value::Array(items.iter().map(decode_uniform).collect::<Result<_, _>>()?)
        }
        Json::Object(map) => {
            if let Some((first, inner)) = map.iter().next()
                && first.starts_with('$')
            {
                if map.len() != 1 {
                    return Err(format!(
                        "object starting with {first:?} must have exactly one key"
                    ));
                }
                return match first.as_str() {
                    "$bytes" => Ok(Value::Bytes(decode_base64(inner, first)?)),
                    "$integer" => Ok(Value::Int64(i64::from_le_bytes(eight_bytes(
                        decode_base64(inner, first)?,
                        first,
                    )?))),
                    "$float" => {
                        let f =
                            f64::from_le_bytes(eight_bytes(decode_base64(inner, first)?, first)?);
                        if f.is_normal() || f.is_subnormal() {
                            Err(format!("$float {f} should be encoded as a number"))
                        } else {
                            Ok(Value::Float64(f))
                        }
                    }
                    _ => Err(format!("field name {first:?} starts with '$'")),
                };
            }
            let mut out = Map::new();
            for (k, v) in map {
                check_field_name(k)?;
                out.insert(k.clone(), decode_uniform(v)?);
            }
            Value::Object(out)
        }
    })
}
