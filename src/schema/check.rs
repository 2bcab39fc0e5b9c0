//! Checking documents against a schema, as the deployment checks them
//! (`Validator::check_value_internal` and `DocumentSchema::check_value` of
//! the backend's `crates/common/src/schemas/`):
//!
//! - a document's system fields (`_id`, `_creationTime`) are set aside, and
//!   the rest must match one of the table's object validators;
//! - `v.float64()` takes only a Float64 and `v.int64()` only an Int64;
//! - `v.id("t")` takes a string that decodes as an ID whose table number is
//!   table `t`'s; an ID of another table, or of a system table, or of a
//!   number no table has, fails;
//! - `v.literal(x)` compares as Convex values: an Int64 `5n` is not the
//!   Float64 `5`, and floats compare by their bits (so `-0` is not `0`);
//! - an object needs every required field, and may hold no field its
//!   validator lacks; `v.record(k, v)` checks every key and every value;
//! - a union passes when any member does.
//!
//! Whether a document passes is exactly the backend's answer. Where the
//! backend names only the first problem, this lists each one it finds in the
//! document, so a single pass shows everything to fix.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{DocumentType, Field, Literal, ObjectValidator, Validator, clip, show_value};
use crate::id::DocumentId;
use crate::value::{Map, Value};

/// How the deployment names tables by number: the snapshot's tables, and
/// the system tables IDs can point to.
#[derive(Debug, Clone, Default)]
pub struct TableNames(pub BTreeMap<u32, String>);

impl TableNames {
    fn name(&self, number: u32) -> Option<&str> {
        self.0.get(&number).map(String::as_str)
    }
}

/// One way a document fails its table's validator.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where in the document, as the backend writes it (`.a.b[2]`; empty
    /// for the document itself).
    pub path: String,
    /// What the schema expects and what the document holds.
    pub message: String,
}

/// The longest a validator or value is shown in a message.
const SHOWN: usize = 120;

impl DocumentType {
    /// `true` when the document (with its system fields) passes.
    pub fn accepts(&self, doc: &Map, names: &TableNames) -> bool {
        match self {
            DocumentType::Any => true,
            DocumentType::Union(members) => {
                members.iter().any(|o| object_passes(o, doc, names, true))
            }
        }
    }

    /// Why the document fails (empty when it passes).
    pub fn explain(&self, doc: &Map, names: &TableNames) -> Vec<Mismatch> {
        let mut list = Vec::new();
        self.explain_into(doc, names, &mut Sink::listing(&mut list));
        list
    }

    /// How many mismatches [`DocumentType::explain`] would give, without
    /// writing them.
    pub fn count_mismatches(&self, doc: &Map, names: &TableNames) -> usize {
        let mut sink = Sink::counting();
        self.explain_into(doc, names, &mut sink);
        sink.count
    }

    fn explain_into(&self, doc: &Map, names: &TableNames, out: &mut Sink<'_>) {
        match self {
            DocumentType::Any => {}
            DocumentType::Union(members) if members.len() == 1 => {
                explain_object(&members[0], doc, names, true, &mut String::new(), out);
            }
            DocumentType::Union(members) => {
                if !members.iter().any(|o| object_passes(o, doc, names, true)) {
                    out.push("", || {
                        let nearest = members
                            .iter()
                            .enumerate()
                            .map(|(i, o)| {
                                let mut m = Vec::new();
                                let mut sink = Sink::listing(&mut m);
                                explain_object(o, doc, names, true, &mut String::new(), &mut sink);
                                (i, m)
                            })
                            .min_by_key(|(_, m)| m.len());
                        let mut message = format!(
                            "the document matches none of the table's {} object validators",
                            members.len()
                        );
                        if let Some((i, m)) = nearest
                            && let Some(first) = m.first()
                        {
                            let at = if first.path.is_empty() {
                                String::new()
                            } else {
                                format!(" at {}", first.path)
                            };
                            let _ = write!(
                                message,
                                " (nearest, member {}: {}{at})",
                                i + 1,
                                first.message
                            );
                        }
                        message
                    });
                }
            }
        }
    }
}

impl Validator {
    /// Why `x` fails this validator (empty when it passes): a function's
    /// `args` or `returns`, checked as the backend checks them.
    pub fn explain_value(&self, x: &Value, names: &TableNames) -> Vec<Mismatch> {
        let mut list = Vec::new();
        explain(
            self,
            x,
            names,
            &mut String::new(),
            &mut Sink::listing(&mut list),
        );
        list
    }
}

/// Where explanations go: a list, or only a count (the text of a message is
/// made only when it is listed).
struct Sink<'a> {
    list: Option<&'a mut Vec<Mismatch>>,
    count: usize,
}

impl<'a> Sink<'a> {
    fn listing(list: &'a mut Vec<Mismatch>) -> Sink<'a> {
        Sink {
            list: Some(list),
            count: 0,
        }
    }

    fn counting() -> Sink<'static> {
        Sink {
            list: None,
            count: 0,
        }
    }

    fn push(&mut self, path: &str, message: impl FnOnce() -> String) {
        self.count += 1;
        if let Some(list) = self.list.as_deref_mut() {
            list.push(Mismatch {
                path: path.to_owned(),
                message: message(),
            });
        }
    }

    /// Appends `note()` to every message listed since the count was `before`.
    fn note_since(&mut self, before: usize, note: impl Fn() -> String) {
        if let Some(list) = self.list.as_deref_mut() {
            let start = list.len() - (self.count - before);
            for m in &mut list[start..] {
                m.message.push_str(&note());
            }
        }
    }
}

fn object_passes(o: &ObjectValidator, obj: &Map, names: &TableNames, top: bool) -> bool {
    // Both sides are sorted bytewise by name: one merge walk, no lookups.
    let mut fields = o.0.iter().peekable();
    for (k, x) in obj.iter() {
        if top && k.starts_with('_') {
            continue;
        }
        loop {
            match fields.peek() {
                Some((name, f)) if name.as_str() < k.as_str() => {
                    if !f.optional {
                        return false;
                    }
                    fields.next();
                }
                Some((name, f)) if name.as_str() == k.as_str() => {
                    if !passes(&f.validator, x, names) {
                        return false;
                    }
                    fields.next();
                    break;
                }
                _ => return false,
            }
        }
    }
    fields.all(|(_, f)| f.optional)
}

/// `true` when `x` passes `v`.
pub(super) fn passes(v: &Validator, x: &Value, names: &TableNames) -> bool {
    match (v, x) {
        (Validator::Any, _) => true,
        (Validator::Null, Value::Null)
        | (Validator::Float64, Value::Float64(_))
        | (Validator::Int64, Value::Int64(_))
        | (Validator::Boolean, Value::Bool(_))
        | (Validator::String, Value::String(_))
        | (Validator::Bytes, Value::Bytes(_)) => true,
        (Validator::Id(t), Value::String(s)) => id_table(s, names).is_ok_and(|n| n == t),
        (Validator::Literal(l), x) => literal_matches(l, x),
        (Validator::Array(e), Value::Array(items)) => items.iter().all(|i| passes(e, i, names)),
        (Validator::Record(k, val), Value::Object(m)) => m
            .iter()
            .all(|(key, x)| passes(k, &Value::String(key.clone()), names) && passes(val, x, names)),
        (Validator::Object(o), Value::Object(m)) => object_passes(o, m, names, false),
        (Validator::Union(cases), x) => cases.iter().any(|c| passes(c, x, names)),
        _ => false,
    }
}

/// The table an ID string points to: `Err(None)` when it is no ID,
/// `Err(Some(n))` when no table has its number `n`.
fn id_table<'a>(s: &str, names: &'a TableNames) -> Result<&'a str, Option<u32>> {
    let id = DocumentId::decode(s).map_err(|_| None)?;
    names.name(id.table_number).ok_or(Some(id.table_number))
}

fn literal_matches(l: &Literal, x: &Value) -> bool {
    match (l, x) {
        // Convex compares floats by their total order: -0 is not 0, and a
        // NaN equals a NaN with the same bits.
        (Literal::Float64(a), Value::Float64(b)) => a.total_cmp(b).is_eq(),
        (Literal::Int64(a), Value::Int64(b)) => a == b,
        (Literal::Boolean(a), Value::Bool(b)) => a == b,
        (Literal::String(a), Value::String(b)) => a == b,
        _ => false,
    }
}

fn found(x: &Value) -> String {
    match x {
        Value::Null => "null".into(),
        Value::Bool(_) => format!("the boolean {}", show_value(x, SHOWN)),
        Value::Int64(_) => format!("the Int64 {}", show_value(x, SHOWN)),
        Value::Float64(_) => format!("the Float64 {}", show_value(x, SHOWN)),
        Value::String(_) => format!("the string {}", show_value(x, SHOWN)),
        Value::Bytes(_) => show_value(x, SHOWN),
        Value::Array(_) => format!("the array {}", show_value(x, SHOWN)),
        Value::Object(_) => format!("the object {}", show_value(x, SHOWN)),
    }
}

fn expected(v: &Validator) -> String {
    clip(v.to_string(), SHOWN)
}

fn explain(v: &Validator, x: &Value, names: &TableNames, path: &mut String, out: &mut Sink<'_>) {
    match (v, x) {
        (Validator::Id(t), Value::String(s)) => match id_table(s, names) {
            Ok(n) if n == t => {}
            Ok(n) if n.starts_with('_') => out.push(path, || {
                format!(
                    "expected {}, found an ID of the system table {n} ({})",
                    expected(v),
                    show_value(x, SHOWN)
                )
            }),
            Ok(n) => out.push(path, || {
                format!(
                    "expected {}, found an ID of table {n} ({})",
                    expected(v),
                    show_value(x, SHOWN)
                )
            }),
            Err(Some(number)) => out.push(path, || {
                format!(
                    "expected {}, found an ID of table number {number}, which no table of the snapshot has ({})",
                    expected(v),
                    show_value(x, SHOWN)
                )
            }),
            Err(None) => out.push(path, || {
                format!("expected {}, found {} (not an ID)", expected(v), found(x))
            }),
        },
        (Validator::Array(e), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                explain(e, item, names, path, out);
                path.truncate(len);
            }
        }
        (Validator::Record(k, val), Value::Object(m)) => {
            for (key, item) in m.iter() {
                let len = path.len();
                let key_value = Value::String(key.clone());
                if !passes(k, &key_value, names) {
                    path.push_str(".keys()");
                    let before = out.count;
                    explain(k, &key_value, names, path, out);
                    out.note_since(before, || {
                        format!(" (the record key {})", show_value(&key_value, SHOWN))
                    });
                    path.truncate(len);
                }
                if !passes(val, item, names) {
                    path.push_str(".values()");
                    let before = out.count;
                    explain(val, item, names, path, out);
                    out.note_since(before, || {
                        format!(" (under the record key {})", show_value(&key_value, SHOWN))
                    });
                    path.truncate(len);
                }
            }
        }
        (Validator::Object(o), Value::Object(m)) => explain_object(o, m, names, false, path, out),
        (Validator::Union(cases), x) if cases.len() == 1 => explain(&cases[0], x, names, path, out),
        // Literals, unions and leaves: a plain yes or no.
        (v, x) if passes(v, x, names) => {}
        (v, x) => out.push(path, || format!("expected {}, found {}", expected(v), found(x))),
    }
}

fn explain_object(
    o: &ObjectValidator,
    obj: &Map,
    names: &TableNames,
    top: bool,
    path: &mut String,
    out: &mut Sink<'_>,
) {
    // Both sides are sorted bytewise by name: one merge walk. Mismatches
    // come in the validator's field order, then extra fields in the
    // document's.
    let mut extra: Vec<(&str, &Value)> = Vec::new();
    let mut doc = obj
        .iter()
        .filter(|(k, _)| !(top && k.starts_with('_')))
        .peekable();
    for (
        k,
        Field {
            validator,
            optional,
        },
    ) in &o.0
    {
        while let Some((dk, x)) = doc.next_if(|(dk, _)| dk.as_str() < k.as_str()) {
            extra.push((dk, x));
        }
        match doc.next_if(|(dk, _)| dk.as_str() == k.as_str()) {
            Some((_, x)) => {
                let len = path.len();
                let _ = write!(path, ".{k}");
                explain(validator, x, names, path, out);
                path.truncate(len);
            }
            None if !optional => out.push(path, || {
                format!(
                    "missing the required field `{k}` ({}; wrap it in v.optional(...) if it may be absent)",
                    expected(validator)
                )
            }),
            None => {}
        }
    }
    extra.extend(doc.map(|(k, x)| (k.as_str(), x)));
    for (k, x) in extra {
        out.push(path, || {
            format!(
                "extra field `{k}` that the validator does not have (it holds {})",
                found(x)
            )
        });
    }
}
