//! `Value` to the bytes Convex writes: keys sorted bytewise, serde_json string
//! escaping, floats always with a `.` or an exponent, `$bytes`/`$float` in the
//! uniform format and strings for Int64, Bytes and non-finite floats in the
//! legacy one.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{TableFormat, Value};

/// A value the table's format cannot hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

/// Encodes a document as one JSONL line, without the trailing newline.
pub fn encode_document(value: &Value, format: &TableFormat) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(256);
    encode_into(value, format, &mut out)?;
    Ok(out)
}

/// Writes a finite float as serde_json does (`1.0`, `-0.0`, `1e+16`).
pub fn write_float(f: f64, out: &mut Vec<u8>) {
    debug_assert!(f.is_finite());
    serde_json::to_writer(&mut *out, &f).expect("writing to a Vec cannot fail");
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// [`encode_document`] appending to `out`.
pub fn encode_into(
    value: &Value,
    format: &TableFormat,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let uniform = matches!(format, TableFormat::Uniform);
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int64(i) => match format {
            TableFormat::Uniform => write!(out, "{i}").expect("vec write"),
            TableFormat::Legacy(_) => write!(out, "\"{i}\"").expect("vec write"),
            TableFormat::Missing => {
                return Err(EncodeError(format!(
                    "Int64 {i} cannot be written to a table without generated_schema.jsonl"
                )));
            }
        },
        Value::Float64(f) if f.is_finite() => write_float(*f, out),
        Value::Float64(f) => match format {
            TableFormat::Uniform => {
                out.extend_from_slice(b"{\"$float\":\"");
                out.extend_from_slice(STANDARD.encode(f.to_le_bytes()).as_bytes());
                out.extend_from_slice(b"\"}");
            }
            TableFormat::Legacy(_) => out.extend_from_slice(if f.is_nan() {
                b"\"NaN\""
            } else if *f > 0.0 {
                b"\"Infinity\""
            } else {
                b"\"-Infinity\""
            }),
            TableFormat::Missing => {
                return Err(EncodeError(format!(
                    "{f} cannot be written to a table without generated_schema.jsonl"
                )));
            }
        },
        Value::String(s) => write_str(s, out),
        Value::Bytes(b) => match format {
            TableFormat::Missing => {
                return Err(EncodeError(
                    "Bytes cannot be written to a table without generated_schema.jsonl".into(),
                ));
            }
            _ => {
                if uniform {
                    out.extend_from_slice(b"{\"$bytes\":");
                }
                out.push(b'"');
                out.extend_from_slice(STANDARD.encode(b).as_bytes());
                out.push(b'"');
                if uniform {
                    out.push(b'}');
                }
            }
        },
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_into(item, format, out)?;
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                encode_into(v, format, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}
