//! A draft `schema.ts` from the data (`inspect --schema-ts`), in the spirit
//! of the dashboard's "Generate schema": per table, every field with the
//! union of the types seen, `v.optional` where a field is sometimes absent,
//! `v.id("t")` where every value is an ID of table `t`, `v.int64()` apart
//! from `v.number()`, nested objects and arrays; objects whose keys are not
//! identifiers become `v.record(v.string(), ...)`. The draft accepts every
//! document it was drawn from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::TableNames;
use crate::id::DocumentId;
use crate::value::{Map, Value};

/// What the values seen at one place were.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inferred {
    null: bool,
    boolean: bool,
    int64: bool,
    float64: bool,
    bytes: bool,
    strings: Strings,
    /// The elements of every array seen (`Some` once an array was seen).
    array: Option<Box<Inferred>>,
    object: Option<Fields>,
}

/// The strings seen: none, all IDs of one table number, or any.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum Strings {
    #[default]
    None,
    Ids(u32),
    Any,
}

/// The objects seen: how many, and per field how often it was present and
/// what it held.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fields {
    count: u64,
    fields: BTreeMap<String, (u64, Inferred)>,
}

impl Inferred {
    /// Adds a document, its system fields left out.
    pub fn add_document(&mut self, doc: &Map) {
        self.add_object(doc, true);
    }

    fn add_object(&mut self, m: &Map, top: bool) {
        let f = self.object.get_or_insert_with(Fields::default);
        f.count += 1;
        for (k, v) in m.iter() {
            if top && k.starts_with('_') {
                continue;
            }
            let e = f.fields.entry(k.clone()).or_default();
            e.0 += 1;
            e.1.add(v);
        }
    }

    fn add(&mut self, v: &Value) {
        match v {
            Value::Null => self.null = true,
            Value::Bool(_) => self.boolean = true,
            Value::Int64(_) => self.int64 = true,
            Value::Float64(_) => self.float64 = true,
            Value::Bytes(_) => self.bytes = true,
            Value::String(s) => {
                let id = DocumentId::decode(s).ok().map(|i| i.table_number);
                self.strings = match (self.strings, id) {
                    (Strings::None, Some(n)) => Strings::Ids(n),
                    (Strings::Ids(a), Some(n)) if a == n => Strings::Ids(a),
                    _ => Strings::Any,
                };
            }
            Value::Array(items) => {
                let e = self.array.get_or_insert_with(Default::default);
                for i in items {
                    e.add(i);
                }
            }
            Value::Object(m) => self.add_object(m, false),
        }
    }

    /// Folds in what another part of the table gave.
    pub fn merge(&mut self, other: Inferred) {
        self.null |= other.null;
        self.boolean |= other.boolean;
        self.int64 |= other.int64;
        self.float64 |= other.float64;
        self.bytes |= other.bytes;
        self.strings = match (self.strings, other.strings) {
            (a, Strings::None) => a,
            (Strings::None, b) => b,
            (Strings::Ids(a), Strings::Ids(b)) if a == b => Strings::Ids(a),
            _ => Strings::Any,
        };
        if let Some(b) = other.array {
            match &mut self.array {
                Some(a) => a.merge(*b),
                None => self.array = Some(b),
            }
        }
        if let Some(b) = other.object {
            let a = self.object.get_or_insert_with(Fields::default);
            a.count += b.count;
            for (k, (n, i)) in b.fields {
                let e = a.fields.entry(k).or_default();
                e.0 += n;
                e.1.merge(i);
            }
        }
    }

    /// The validator, as TypeScript at `indent` (the current line's).
    fn write(&self, names: &TableNames, indent: usize, out: &mut String) {
        let mut members: Vec<String> = Vec::new();
        if self.null {
            members.push("v.null()".into());
        }
        if self.boolean {
            members.push("v.boolean()".into());
        }
        if self.int64 {
            members.push("v.int64()".into());
        }
        if self.float64 {
            members.push("v.number()".into());
        }
        match self.strings {
            Strings::None => {}
            Strings::Ids(n) => match names.0.get(&n) {
                Some(t) => members.push(format!("v.id({})", serde_json::Value::String(t.clone()))),
                None => members.push("v.string()".into()),
            },
            Strings::Any => members.push("v.string()".into()),
        }
        if self.bytes {
            members.push("v.bytes()".into());
        }
        if let Some(e) = &self.array {
            let mut s = String::from("v.array(");
            if e.is_empty() {
                // Only empty arrays: nothing says what they hold.
                s.push_str("v.any()");
            } else {
                e.write(names, indent, &mut s);
            }
            s.push(')');
            members.push(s);
        }
        if let Some(f) = &self.object {
            let mut s = String::new();
            f.write(names, indent, &mut s);
            members.push(s);
        }
        match members.len() {
            0 => out.push_str("v.any()"),
            1 => out.push_str(&members[0]),
            _ => {
                let one_line = format!("v.union({})", members.join(", "));
                if !one_line.contains('\n') && indent + one_line.len() <= 72 {
                    out.push_str(&one_line);
                } else {
                    let pad = " ".repeat(indent + 2);
                    out.push_str("v.union(\n");
                    for m in &members {
                        let _ = writeln!(out, "{pad}{},", reindent(m, 2));
                    }
                    let _ = write!(out, "{})", " ".repeat(indent));
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        *self == Inferred::default()
    }
}

/// Indents every line but the first of `s` by `n` more spaces.
fn reindent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.replace('\n', &format!("\n{pad}"))
}

/// A JavaScript property name: as is when it is an identifier, else quoted.
fn key(k: &str) -> String {
    if crate::value::check_identifier(k).is_ok() {
        k.to_owned()
    } else {
        serde_json::Value::String(k.to_owned()).to_string()
    }
}

impl Fields {
    fn write(&self, names: &TableNames, indent: usize, out: &mut String) {
        if self.fields.is_empty() {
            out.push_str("v.object({})");
            return;
        }
        // Keys a validator cannot name (not identifiers): a record.
        if self
            .fields
            .keys()
            .any(|k| crate::value::check_identifier(k).is_err())
        {
            let mut all = Inferred::default();
            for (_, i) in self.fields.values() {
                all.merge(i.clone());
            }
            out.push_str("v.record(v.string(), ");
            all.write(names, indent, out);
            out.push(')');
            return;
        }
        out.push_str("v.object({\n");
        self.body(names, indent + 2, out);
        let _ = write!(out, "{}}})", " ".repeat(indent));
    }

    /// One `name: validator,` line per field.
    fn body(&self, names: &TableNames, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        for (k, (present, i)) in &self.fields {
            let mut v = String::new();
            i.write(names, indent, &mut v);
            if *present < self.count {
                v = format!("v.optional({v})");
            }
            let _ = writeln!(out, "{pad}{}: {v},", key(k));
        }
    }
}

/// The `defineTable(...)` of a table from what its documents held.
pub fn infer_table(name: &str, inferred: &Inferred, names: &TableNames, out: &mut String) {
    let _ = write!(out, "  {}: defineTable(", key(name));
    match &inferred.object {
        Some(f)
            if f.fields
                .keys()
                .any(|k| crate::value::check_identifier(k).is_err()) =>
        {
            out.push_str("v.any()), // a field name no validator can name\n")
        }
        Some(f) if f.count > 0 && !f.fields.is_empty() => {
            out.push_str("{\n");
            f.body(names, 4, out);
            out.push_str("  }),\n");
        }
        Some(f) if f.count > 0 => out.push_str("{}),\n"),
        _ => out.push_str("v.any()), // no documents to draw fields from\n"),
    }
}

/// A whole `schema.ts` from the tables' inferred shapes, in name order.
pub fn draft_schema<'a>(
    source: &str,
    tables: impl IntoIterator<Item = (&'a str, &'a Inferred)>,
    names: &TableNames,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Drafted by convex-snapshot from the documents of {source}.\n// Indexes are not in an export: add yours with .index(...).\nimport {{ defineSchema, defineTable }} from \"convex/server\";\nimport {{ v }} from \"convex/values\";\n\nexport default defineSchema({{"
    );
    for (name, inferred) in tables {
        infer_table(name, inferred, names, &mut out);
    }
    out.push_str("});\n");
    out
}
