//! JSON line to `Value`, per table format (sections 2.2, 3.2, 3.3).

use std::collections::BTreeMap;

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

/// Parses and decodes one JSONL line in the table's format.
pub fn decode_line(line: &[u8], format: &TableFormat) -> Result<Value, DecodeError> {
    let json = parse_json_line(line)?;
    decode_document(&json, format)
        .map_err(|e| DecodeError(format!("not a valid Convex value: {e}")))
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
    value.map_err(DecodeError)
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
            let mut out = BTreeMap::new();
            for (k, v) in map {
                check_field_name(k)?;
                out.insert(k.clone(), decode_uniform(v)?);
            }
            Value::Object(out)
        }
    })
}
