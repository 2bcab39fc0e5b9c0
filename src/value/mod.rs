//! The typed Convex value, how each table format decodes to it, and how it is
//! encoded back byte for byte as Convex writes it.
//!
//! Three table formats exist (docs/export-format.md, sections 2 and 3): `uniform`
//! (current), `legacy` (a shape string in `generated_schema.jsonl`) and
//! `missing` (no sidecar: every number is a float). Values are decoded from a
//! `serde_json::Value` parsed with `preserve_order` and `float_roundtrip`, the
//! same parser and features the backend's importer uses, so integer/float
//! distinction, `-0` and the exact float bits follow the importer exactly.

mod decode;
mod encode;
mod map;
mod scan;
pub mod shape;
mod splice;

pub use decode::{
    DecodeError, decode_direct, decode_document, decode_fields, decode_fields_of_valid_json,
    decode_line, json_kind, parse_json_line, read_row,
};
pub use encode::{EncodeError, encode_document, encode_into, write_float};
pub use map::Map;
pub(crate) use scan::TopLevel;
pub use scan::{Skimmed, skim_object, top_level_value};
pub use shape::{LegacySchema, Shape};
pub use splice::{Spliced, patch_row, row_of_fields};

/// A Convex value. Object keys are kept sorted bytewise, which is the order
/// Convex stores and exports them in.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int64(i64),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Object(Map),
}

/// The value encoding of one table (section 3).
#[derive(Debug, Clone)]
pub enum TableFormat {
    /// `generated_schema.jsonl` is `"uniform"`.
    Uniform,
    /// A legacy shape string, with its per-document overrides.
    Legacy(Box<LegacySchema>),
    /// No `generated_schema.jsonl`: every number imports as Float64.
    Missing,
}

impl TableFormat {
    /// The short name used in reports: `uniform`, `legacy` or `missing`.
    pub fn name(&self) -> &'static str {
        match self {
            TableFormat::Uniform => "uniform",
            TableFormat::Legacy(_) => "legacy",
            TableFormat::Missing => "missing",
        }
    }
}

/// The most bytes a document may take in Convex's size metric.
pub const MAX_DOCUMENT_SIZE: usize = 1 << 20;
/// The deepest a document may nest; the document itself counts 1.
pub const MAX_DOCUMENT_NESTING: usize = 16;
/// The most fields of any object.
pub const MAX_OBJECT_FIELDS: usize = 1024;
/// The most elements of any array.
pub const MAX_ARRAY_LEN: usize = 8192;
/// The longest field name, in bytes.
pub const MAX_FIELD_NAME_LEN: usize = 1024;

impl Value {
    /// The type names shown in reports, by [`Value::type_index`].
    pub const TYPE_NAMES: [&'static str; 8] = [
        "null", "boolean", "int64", "float64", "string", "bytes", "array", "object",
    ];

    /// The type name shown in reports.
    pub fn type_name(&self) -> &'static str {
        Self::TYPE_NAMES[self.type_index()]
    }

    /// The position of the value's type in [`Value::TYPE_NAMES`].
    pub fn type_index(&self) -> usize {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int64(_) => 2,
            Value::Float64(_) => 3,
            Value::String(_) => 4,
            Value::Bytes(_) => 5,
            Value::Array(_) => 6,
            Value::Object(_) => 7,
        }
    }

    /// Convex's size metric (`value/size.rs`): the figure the 1 MiB limit applies to.
    pub fn size(&self) -> usize {
        match self {
            Value::Null | Value::Bool(_) => 1,
            Value::Int64(_) | Value::Float64(_) => 9,
            Value::String(s) => s.len() + 2,
            Value::Bytes(b) => b.len() + 2,
            Value::Array(items) => 2 + items.iter().map(Value::size).sum::<usize>(),
            Value::Object(fields) => {
                2 + fields
                    .iter()
                    .map(|(k, v)| k.len() + 1 + v.size())
                    .sum::<usize>()
            }
        }
    }

    /// Size, nesting and the largest object and array, in one walk.
    pub fn measure(&self) -> Measure {
        match self {
            Value::Array(items) => {
                let mut m = Measure {
                    size: 2,
                    nesting: 0,
                    max_fields: 0,
                    max_array: items.len(),
                };
                for item in items {
                    m.absorb(item.measure(), 0);
                }
                m.nesting += 1;
                m
            }
            Value::Object(fields) => {
                let mut m = Measure {
                    size: 2,
                    nesting: 0,
                    max_fields: fields.len(),
                    max_array: 0,
                };
                for (k, v) in fields {
                    m.absorb(v.measure(), k.len() + 1);
                }
                m.nesting += 1;
                m
            }
            scalar => Measure {
                size: scalar.size(),
                nesting: 0,
                max_fields: 0,
                max_array: 0,
            },
        }
    }

    /// Nesting depth: each object or array adds one, scalars add none.
    pub fn nesting(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::nesting).max().unwrap_or(0),
            Value::Object(fields) => 1 + fields.values().map(Value::nesting).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// JavaScript truthiness of the value as the app's TypeScript sees it.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int64(i) => *i != 0,
            Value::Float64(f) => *f != 0.0 && !f.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Bytes(_) | Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// The value as uniform-format JSON, for messages.
    pub fn to_json(&self) -> String {
        let bytes = encode_document(self, &TableFormat::Uniform).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The fields, if this is an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
}

/// What [`Value::measure`] finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// Convex's size metric.
    pub size: usize,
    /// Nesting depth, as [`Value::nesting`].
    pub nesting: usize,
    /// Fields of the largest object.
    pub max_fields: usize,
    /// Elements of the largest array.
    pub max_array: usize,
}

impl Measure {
    fn absorb(&mut self, inner: Measure, extra_size: usize) {
        self.size += inner.size + extra_size;
        self.nesting = self.nesting.max(inner.nesting);
        self.max_fields = self.max_fields.max(inner.max_fields);
        self.max_array = self.max_array.max(inner.max_array);
    }

    /// The first limit the value breaks, as a message.
    pub fn limit_error(&self) -> Option<String> {
        if self.nesting > MAX_DOCUMENT_NESTING {
            return Some(format!(
                "document nesting {} is deeper than {MAX_DOCUMENT_NESTING}",
                self.nesting
            ));
        }
        if self.max_fields > MAX_OBJECT_FIELDS {
            return Some(format!(
                "an object has {} fields; the limit is {MAX_OBJECT_FIELDS}",
                self.max_fields
            ));
        }
        if self.max_array > MAX_ARRAY_LEN {
            return Some(format!(
                "an array has {} elements; the limit is {MAX_ARRAY_LEN}",
                self.max_array
            ));
        }
        if self.size > MAX_DOCUMENT_SIZE {
            return Some(format!(
                "document size {} is over the 1 MiB limit ({MAX_DOCUMENT_SIZE})",
                self.size
            ));
        }
        None
    }
}

/// Checks a field name the way the backend does (`check_valid_field_name`):
/// no leading `$`, only printable ASCII, at most 1024 bytes.
pub fn check_field_name(name: &str) -> Result<(), String> {
    if name.starts_with('$') {
        return Err(format!("field name {name:?} starts with '$'"));
    }
    if name.len() > MAX_FIELD_NAME_LEN {
        return Err(format!(
            "field name of {} bytes is longer than {MAX_FIELD_NAME_LEN}",
            name.len()
        ));
    }
    // No early exit: the loop vectorizes, and names are short.
    if name
        .bytes()
        .fold(true, |ok, b| ok & (b.wrapping_sub(b' ') < 95))
    {
        return Ok(());
    }
    if let Some(c) = name.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "field name {name:?} has a character that is not printable ASCII ({c:?})"
        ));
    }
    Ok(())
}

/// Checks a table or component name: `[A-Za-z_][A-Za-z0-9_]*`, at most 64
/// characters, not all underscores.
pub fn check_identifier(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("the name is empty".into());
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(format!("{name:?} must start with a letter or '_'"));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("{name:?} may hold only letters, digits and '_'"));
    }
    if name.len() > 64 {
        return Err(format!("{name:?} is longer than 64 characters"));
    }
    if name.chars().all(|c| c == '_') {
        return Err(format!("{name:?} is only underscores"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
