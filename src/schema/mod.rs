//! The app's own `schema.ts`: loaded in the JavaScript engine with the
//! `convex/server` and `convex/values` stand-ins, exported as the JSON the
//! Convex CLI pushes to a deployment (`SchemaDefinition.export()`), and
//! compiled here into validators that check documents in Rust.
//!
//! What a deployment accepts, and so what this module enforces, follows the
//! backend's schema code (`crates/common/src/schemas/{json,validator,mod}.rs`
//! of get-convex/convex-backend): the JSON forms of the validators; record
//! keys must be a subtype of `v.string()` and not string literals, record
//! values are never optional; a table's validator is an object, a union of
//! objects, or `v.any()`, and top-level system fields in it are dropped;
//! with `schemaValidation` on, an index may only name fields the table's
//! validator allows. See `check.rs` for how documents are checked.
//!
//! Which documents are checked follows Convex's documentation of
//! `defineSchema`'s options (docs.convex.dev/api/interfaces/server.DefineSchemaOptions,
//! and docs.convex.dev/config/schema.ts): with `schemaValidation` on, every
//! existing document must match when the schema is pushed, and every insert
//! and update after; with it off, nothing is validated; "regardless of the
//! value of `strictTableNameTypes`, your schema will only validate documents
//! in the tables listed in the schema" (that option only shapes TypeScript
//! types, so it is read and changes nothing here).

mod check;
mod enforce;
mod infer;
mod state;

use std::collections::BTreeMap;
use std::fmt::{self, Display, Write as _};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

pub use check::{Mismatch, TableNames};
pub use enforce::Enforcer;
pub use infer::{Inferred, draft_schema, infer_table};
pub use state::{LISTED, StateCheck, StateMismatch, check_db};

/// A validator, as the deployment holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Validator {
    Id(String),
    Null,
    Float64,
    Int64,
    Boolean,
    String,
    Bytes,
    Literal(Literal),
    Array(Box<Validator>),
    Record(Box<Validator>, Box<Validator>),
    Object(ObjectValidator),
    Union(Vec<Validator>),
    Any,
}

/// The value of `v.literal(...)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Float64(f64),
    Int64(i64),
    Boolean(bool),
    String(String),
}

/// `v.object({...})`: fields sorted by name, as the backend keeps them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectValidator(pub BTreeMap<String, Field>);

/// One field of an object validator.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub validator: Validator,
    pub optional: bool,
}

/// What a table's documents must be.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentType {
    Any,
    /// One of these objects (one member for a plain `defineTable({...})`).
    Union(Vec<ObjectValidator>),
}

/// An index of a table: its name and the field paths it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub name: String,
    pub fields: Vec<String>,
    pub kind: &'static str,
}

/// One table of the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub document: DocumentType,
    /// `.staged(...)`: checked by the deployment in the background, not
    /// enforced.
    pub staged: Option<DocumentType>,
    pub indexes: Vec<Index>,
}

/// A loaded schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The file it came from, for messages.
    pub file: String,
    pub tables: BTreeMap<String, TableSchema>,
    /// `defineSchema(..., { schemaValidation })`: when false the deployment
    /// enforces nothing.
    pub validation: bool,
}

/// A schema the deployment would refuse to take, or one that cannot load.
#[derive(Debug)]
pub struct SchemaError(pub String);

impl Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Parsed<T> = std::result::Result<T, String>;

impl Schema {
    /// Loads `schema.ts` (or `.js`) of `path`: a file, or a functions
    /// folder holding one. Its imports resolve as the functions' do.
    pub fn load(path: &Path) -> std::result::Result<Schema, SchemaError> {
        let err = SchemaError;
        let (dir, file) = if path.is_dir() {
            let project = crate::js::Project::at(path);
            let Some(file) = project.schema_file() else {
                return Err(err(format!(
                    "{}: no schema.ts or schema.js in this folder",
                    path.display()
                )));
            };
            (path.to_owned(), file)
        } else if path.is_file() {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (dir.to_owned(), name)
        } else {
            return Err(err(format!("{}: no such file or folder", path.display())));
        };
        let shown = dir.join(&file).display().to_string();
        let project = Arc::new(crate::js::Project::at(&dir));
        // The clock is irrelevant to a schema; any fixed value does.
        let worker = crate::js::Worker::new(project, 1.0, Default::default())
            .map_err(|e| err(format!("{shown}: {}", e.message)))?;
        let json = worker
            .eval_export(
                &file,
                "default",
                "(s) => s === undefined ? '' : (s && typeof s.export === 'function' && s.tables ? s.export() : 'not a schema')",
            )
            .map_err(|e| err(format!("{shown}: {}", e.with_location())))?;
        match json.as_str() {
            // The backend's messages (`missing_schema_export_error`,
            // `invalid_schema_export_error`).
            "" => Err(err(format!(
                "{shown}: Schema file missing default export. To learn more, see the schema documentation at https://docs.convex.dev/database/schemas."
            ))),
            "not a schema" => Err(err(format!(
                "{shown}: Default export from schema file isn't a Convex schema. To learn more, see the schema documentation at https://docs.convex.dev/database/schemas."
            ))),
            text => Schema::from_export(text, &shown).map_err(|m| err(format!("{shown}: {m}"))),
        }
    }

    /// Parses `SchemaDefinition.export()`'s JSON.
    pub fn from_export(text: &str, file: &str) -> Parsed<Schema> {
        let json: Json = serde_json::from_str(text).map_err(|e| format!("internal: {e}"))?;
        let mut tables = BTreeMap::new();
        for t in json
            .get("tables")
            .and_then(Json::as_array)
            .ok_or("the schema has no tables list")?
        {
            let name = t
                .get("tableName")
                .and_then(Json::as_str)
                .ok_or("a table has no name")?
                .to_owned();
            crate::value::check_identifier(&name)
                .map_err(|m| format!("invalid table name: {m}"))?;
            if name.starts_with('_') {
                return Err(format!(
                    "table name {name:?} is reserved: names starting with '_' are for system tables"
                ));
            }
            let in_table = |m: String| format!("In table \"{name}\": {m}");
            let document = match t.get("documentType") {
                None | Some(Json::Null) => DocumentType::Any,
                Some(d) => document_type(d).map_err(in_table)?,
            };
            let staged = match t.get("stagedDocumentType") {
                None | Some(Json::Null) => None,
                Some(d) => Some(document_type(d).map_err(|m| in_table(format!("staged: {m}")))?),
            };
            let mut indexes = Vec::new();
            for (key, kind) in [
                ("indexes", "index"),
                ("stagedDbIndexes", "staged index"),
                ("searchIndexes", "search index"),
                ("stagedSearchIndexes", "staged search index"),
                ("vectorIndexes", "vector index"),
                ("stagedVectorIndexes", "staged vector index"),
            ] {
                for i in t.get(key).and_then(Json::as_array).into_iter().flatten() {
                    let index_name = i
                        .get("indexDescriptor")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let strings = |k: &str| -> Vec<String> {
                        match i.get(k) {
                            Some(Json::String(s)) => vec![s.clone()],
                            Some(Json::Array(a)) => a
                                .iter()
                                .filter_map(|f| f.as_str().map(str::to_owned))
                                .collect(),
                            _ => Vec::new(),
                        }
                    };
                    let mut fields = strings("fields");
                    fields.extend(strings("searchField"));
                    fields.extend(strings("vectorField"));
                    fields.extend(strings("filterFields"));
                    if fields.is_empty() {
                        return Err(in_table(format!(
                            "the {kind} \"{index_name}\" has no fields"
                        )));
                    }
                    if indexes.iter().any(|x: &Index| x.name == index_name) {
                        return Err(in_table(format!(
                            "two indexes are named \"{index_name}\"; index names must be unique"
                        )));
                    }
                    indexes.push(Index {
                        name: index_name,
                        fields,
                        kind,
                    });
                }
            }
            tables.insert(
                name,
                TableSchema {
                    document,
                    staged,
                    indexes,
                },
            );
        }
        // Schemas written before schema validation existed leave it out; the
        // backend reads that as off.
        let validation = json
            .get("schemaValidation")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let schema = Schema {
            file: file.to_owned(),
            tables,
            validation,
        };
        if validation {
            schema.check_index_references()?;
        }
        Ok(schema)
    }

    /// With validation on, the deployment refuses an index naming a field
    /// the table's documents can never have (`check_index_references`).
    fn check_index_references(&self) -> Parsed<()> {
        for (name, t) in &self.tables {
            for i in &t.indexes {
                for f in &i.fields {
                    let parts: Vec<&str> = f.split('.').collect();
                    let system = parts.len() == 1 && parts[0].starts_with('_');
                    if !system && !t.document.can_contain(&parts) {
                        return Err(format!(
                            "In table \"{name}\" the {} \"{}\" is invalid because it references the field {f} that does not exist.",
                            i.kind, i.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl DocumentType {
    fn can_contain(&self, path: &[&str]) -> bool {
        match self {
            DocumentType::Any => true,
            DocumentType::Union(members) => members
                .iter()
                .any(|o| Validator::Object(o.clone()).can_contain(path)),
        }
    }

    /// The validator whole documents are checked with.
    pub fn validator(&self) -> Validator {
        match self {
            DocumentType::Any => Validator::Any,
            DocumentType::Union(members) => {
                Validator::Union(members.iter().cloned().map(Validator::Object).collect())
            }
        }
    }
}

impl Validator {
    fn can_contain(&self, path: &[&str]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return true;
        };
        match self {
            Validator::Any => true,
            Validator::Union(cases) => cases.iter().any(|c| c.can_contain(path)),
            Validator::Object(o) => {
                o.0.get(*first)
                    .is_some_and(|f| f.validator.can_contain(rest))
            }
            _ => false,
        }
    }

    /// `true` when every value this validator takes is a string
    /// (`is_subset(&Validator::String)` in the backend).
    fn is_string_subtype(&self) -> bool {
        match self {
            Validator::String | Validator::Id(_) | Validator::Literal(Literal::String(_)) => true,
            Validator::Union(cases) => cases.iter().all(Validator::is_string_subtype),
            _ => false,
        }
    }

    fn has_string_literal(&self) -> bool {
        match self {
            Validator::Literal(Literal::String(_)) => true,
            Validator::Union(cases) => cases.iter().any(Validator::has_string_literal),
            _ => false,
        }
    }
}

fn document_type(json: &Json) -> Parsed<DocumentType> {
    let top = validator(json)?;
    let object = |v: Validator| match v {
        Validator::Object(mut o) => {
            // The backend drops validators of top-level system fields.
            o.0.retain(|k, _| !k.starts_with('_'));
            Ok(o)
        }
        other => Err(top_level_error(&other)),
    };
    match top {
        Validator::Any => Ok(DocumentType::Any),
        Validator::Union(members) => Ok(DocumentType::Union(
            members.into_iter().map(object).collect::<Parsed<_>>()?,
        )),
        v @ Validator::Object(_) => Ok(DocumentType::Union(vec![object(v)?])),
        other => Err(top_level_error(&other)),
    }
}

fn top_level_error(v: &Validator) -> String {
    format!(
        "The document validator in a schema must be an object, a union of objects, or `v.any()`. Found {v}. To learn more, see the schema documentation at https://docs.convex.dev/database/schemas."
    )
}

/// A validator from its JSON form (`ValidatorJson` in the backend).
pub fn validator(json: &Json) -> Parsed<Validator> {
    let kind = json
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("not a validator: {json}"))?;
    let value = || {
        json.get("value")
            .ok_or_else(|| format!("{kind} validator without a value"))
    };
    Ok(match kind {
        "null" => Validator::Null,
        "number" => Validator::Float64,
        "bigint" => Validator::Int64,
        "boolean" => Validator::Boolean,
        "string" => Validator::String,
        "bytes" => Validator::Bytes,
        // The backend reads the retired map and set validators as any.
        "any" | "map" | "set" => Validator::Any,
        "literal" => Validator::Literal(literal(value()?)?),
        "id" => {
            let t = json
                .get("tableName")
                .and_then(Json::as_str)
                .ok_or("v.id() without a table name")?;
            crate::value::check_identifier(t).map_err(|m| format!("v.id(): {m}"))?;
            Validator::Id(t.to_owned())
        }
        "array" => Validator::Array(Box::new(validator(value()?)?)),
        "record" => {
            let keys = validator(json.get("keys").ok_or("v.record() without keys")?)?;
            let values = json.get("values").ok_or("v.record() without values")?;
            let (values, optional) = field(values)?;
            if !keys.is_string_subtype() {
                return Err(format!(
                    "Records can only have string keys. Your validator contains a record with key typed as `{keys}`, which is not a subtype of `v.string()`"
                ));
            }
            if keys.has_string_literal() {
                return Err("Records cannot have string literal keys".into());
            }
            if optional {
                return Err("Records cannot have optional values".into());
            }
            Validator::Record(Box::new(keys), Box::new(values))
        }
        "object" => {
            let mut fields = BTreeMap::new();
            for (k, f) in value()?.as_object().ok_or("v.object() without fields")? {
                crate::value::check_identifier(k)
                    .map_err(|m| format!("Invalid validator for key `{k}`: {m}"))?;
                let (validator, optional) =
                    field(f).map_err(|m| format!("Invalid validator for key `{k}`: {m}"))?;
                fields.insert(
                    k.clone(),
                    Field {
                        validator,
                        optional,
                    },
                );
            }
            Validator::Object(ObjectValidator(fields))
        }
        "union" => Validator::Union(
            value()?
                .as_array()
                .ok_or("v.union() without members")?
                .iter()
                .map(validator)
                .collect::<Parsed<_>>()?,
        ),
        other => return Err(format!("unknown validator type {other:?}")),
    })
}

fn field(json: &Json) -> Parsed<(Validator, bool)> {
    let v = validator(json.get("fieldType").ok_or("a field without a fieldType")?)?;
    let optional = json
        .get("optional")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    Ok((v, optional))
}

/// A literal in Convex's JSON form: a JSON number is a Float64, `$integer`
/// an Int64, `$float` a Float64 JSON cannot write.
fn literal(json: &Json) -> Parsed<Literal> {
    use base64::Engine as _;
    let eight = |s: &Json| -> Parsed<[u8; 8]> {
        let b = s
            .as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .ok_or("not base64")?;
        b.try_into().map_err(|_| "not 8 bytes".to_owned())
    };
    Ok(match json {
        Json::String(s) => Literal::String(s.clone()),
        Json::Bool(b) => Literal::Boolean(*b),
        Json::Number(n) => Literal::Float64(n.as_f64().ok_or("not a number")?),
        Json::Object(o) if o.len() == 1 && o.contains_key("$integer") => {
            Literal::Int64(i64::from_le_bytes(eight(&o["$integer"])?))
        }
        Json::Object(o) if o.len() == 1 && o.contains_key("$float") => {
            Literal::Float64(f64::from_le_bytes(eight(&o["$float"])?))
        }
        other => return Err(format!("Value {other} is not a valid literal.")),
    })
}

/// A number as JavaScript prints it.
fn js_number(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else if f == 0.0 && f.is_sign_negative() {
        out.push_str("-0");
    } else {
        let _ = write!(out, "{f}");
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Float64(x) => {
                let mut s = String::new();
                js_number(*x, &mut s);
                f.write_str(&s)
            }
            Literal::Int64(i) => write!(f, "{i}n"),
            Literal::Boolean(b) => write!(f, "{b}"),
            Literal::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

impl Display for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::Id(t) => write!(f, "v.id({})", serde_json::Value::String(t.clone())),
            Validator::Null => f.write_str("v.null()"),
            Validator::Float64 => f.write_str("v.float64()"),
            Validator::Int64 => f.write_str("v.int64()"),
            Validator::Boolean => f.write_str("v.boolean()"),
            Validator::String => f.write_str("v.string()"),
            Validator::Bytes => f.write_str("v.bytes()"),
            Validator::Any => f.write_str("v.any()"),
            Validator::Literal(l) => write!(f, "v.literal({l})"),
            Validator::Array(e) => write!(f, "v.array({e})"),
            Validator::Record(k, v) => write!(f, "v.record({k}, {v})"),
            Validator::Object(o) => write!(f, "{o}"),
            Validator::Union(cases) => {
                f.write_str("v.union(")?;
                for (i, c) in cases.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Display for ObjectValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v.object({")?;
        for (i, (k, field)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}: {field}")?;
        }
        f.write_str("})")
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.optional {
            write!(f, "v.optional({})", self.validator)
        } else {
            write!(f, "{}", self.validator)
        }
    }
}

/// Shortens a long text for a one-line message.
pub(crate) fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// A value as JavaScript code would write it (`5n`, `-0`, `"text"`,
/// `{a: 1}`), clipped to about `max` bytes.
pub fn show_value(v: &crate::value::Value, max: usize) -> String {
    fn go(v: &crate::value::Value, out: &mut String, max: usize) {
        use crate::value::Value;
        if out.len() > max {
            return;
        }
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int64(i) => {
                let _ = write!(out, "{i}n");
            }
            Value::Float64(f) => js_number(*f, out),
            Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            Value::Bytes(b) => {
                let _ = write!(out, "ArrayBuffer({} bytes)", b.len());
            }
            Value::Array(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    go(x, out, max);
                    if out.len() > max {
                        return;
                    }
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    go(x, out, max);
                    if out.len() > max {
                        return;
                    }
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    go(v, &mut out, max);
    clip(out, max)
}

#[cfg(test)]
mod tests;
