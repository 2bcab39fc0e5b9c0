//! Legacy `generated_schema.jsonl` (docs/export-format.md, section 3): the shape
//! grammar, the per-document override contexts, and how they decide what each
//! JSON string of a legacy row means.

use super::Map;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;

use super::{Value, check_field_name};

/// A pretty-printed shape, as `shape_inference/src/pretty.rs` writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Never,
    Null,
    Int64,
    Float64,
    NegInf,
    Inf,
    NegZero,
    NaN,
    NormalFloat64,
    Boolean,
    FieldName,
    String,
    Bytes,
    Unknown,
    StringLiteral(String),
    Id(u32),
    Array(Box<Shape>),
    Record(Box<Shape>, Box<Shape>),
    /// Fields in order: name, optional, shape.
    Object(Vec<(String, bool, Shape)>),
    Union(Vec<Shape>),
}

/// How one string position is read (`ExportContext`).
#[derive(Debug, Clone, PartialEq)]
pub enum Context {
    Infer,
    Int64,
    Float64Inf,
    Bytes,
    NaN(u64),
    Array(Vec<Context>),
    Object(HashMap<String, Context>),
}

/// A parsed legacy sidecar: the table shape and the per-document overrides.
#[derive(Debug, Clone)]
pub struct LegacySchema {
    pub shape: Shape,
    pub overrides: HashMap<String, Context>,
}

const K_INFER: u8 = 1;
const K_INT64: u8 = 2;
const K_INF: u8 = 4;
const K_NAN: u8 = 8;
const K_BYTES: u8 = 16;

/// The deepest a shape may nest (arrays, records, objects). A Convex value
/// nests at most 64 deep, so no real shape comes near; the bound keeps the
/// parser's recursion (and the shape's drop) off the end of the stack.
const MAX_SHAPE_DEPTH: usize = 128;

impl Shape {
    /// Parses a shape string; the error names the unexpected text.
    pub fn parse(text: &str) -> Result<Shape, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        let shape = p.union()?;
        p.ws();
        if p.pos != p.s.len() {
            return Err(p.unexpected());
        }
        Ok(shape)
    }

    fn flatten<'a>(&'a self, out: &mut Vec<&'a Shape>) {
        match self {
            Shape::Union(items) => items.iter().for_each(|s| s.flatten(out)),
            other => out.push(other),
        }
    }

    fn string_kinds(&self) -> u8 {
        match self {
            Shape::Int64 => K_INT64,
            Shape::Inf | Shape::NegInf => K_INF,
            Shape::NaN | Shape::Float64 => K_NAN | K_INF,
            Shape::StringLiteral(_) | Shape::Id(_) | Shape::FieldName | Shape::String => K_INFER,
            Shape::Bytes => K_BYTES,
            Shape::Unknown => K_INFER | K_INT64 | K_INF | K_NAN | K_BYTES,
            _ => 0,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// Containers open at `pos`.
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> String {
        let rest = String::from_utf8_lossy(&self.s[self.pos.min(self.s.len())..]);
        let rest: String = rest.chars().take(40).collect();
        format!("unexpected token at '{rest}'")
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn union(&mut self) -> Result<Shape, String> {
        let mut items = vec![self.primary()?];
        while self.eat(b'|') {
            items.push(self.primary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Shape::Union(items)
        })
    }

    fn string_literal(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    let raw = &self.s[start..self.pos];
                    return serde_json::from_slice(raw).map_err(|_| {
                        self.pos = start;
                        self.unexpected()
                    });
                }
                _ => self.pos += 1,
            }
        }
        self.pos = start;
        Err(self.unexpected())
    }

    fn primary(&mut self) -> Result<Shape, String> {
        self.depth += 1;
        if self.depth > MAX_SHAPE_DEPTH {
            return Err(format!(
                "the shape nests deeper than {MAX_SHAPE_DEPTH} levels, which no Convex value can"
            ));
        }
        let shape = self.primary_inner();
        self.depth -= 1;
        shape
    }

    fn primary_inner(&mut self) -> Result<Shape, String> {
        self.ws();
        match self.s.get(self.pos) {
            Some(b'"') => return Ok(Shape::StringLiteral(self.string_literal()?)),
            Some(b'{') => return self.object(),
            _ => {}
        }
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || matches!(self.s[self.pos], b'_' | b'-'))
        {
            self.pos += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.pos]).expect("ascii");
        let shape = match word {
            "never" => Shape::Never,
            "null" => Shape::Null,
            "int64" => Shape::Int64,
            "float64" => Shape::Float64,
            "-inf" => Shape::NegInf,
            "inf" => Shape::Inf,
            "-0" => Shape::NegZero,
            "NaN" => Shape::NaN,
            "normalfloat64" => Shape::NormalFloat64,
            "boolean" => Shape::Boolean,
            "field_name" => Shape::FieldName,
            "string" => Shape::String,
            "bytes" => Shape::Bytes,
            "unknown" => Shape::Unknown,
            "id" => {
                self.expect(b'<')?;
                self.ws();
                let num_start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                let n = std::str::from_utf8(&self.s[num_start..self.pos])
                    .expect("ascii")
                    .parse::<u32>()
                    .map_err(|_| {
                        self.pos = num_start;
                        self.unexpected()
                    })?;
                self.expect(b'>')?;
                Shape::Id(n)
            }
            "array" => {
                self.expect(b'<')?;
                let inner = self.union()?;
                self.expect(b'>')?;
                Shape::Array(Box::new(inner))
            }
            "record" => {
                self.expect(b'<')?;
                let k = self.union()?;
                self.expect(b',')?;
                let v = self.union()?;
                self.expect(b'>')?;
                Shape::Record(Box::new(k), Box::new(v))
            }
            _ => {
                self.pos = start;
                return Err(self.unexpected());
            }
        };
        Ok(shape)
    }

    fn object(&mut self) -> Result<Shape, String> {
        self.expect(b'{')?;
        let mut fields = Vec::new();
        if self.eat(b'}') {
            return Ok(Shape::Object(fields));
        }
        loop {
            self.ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected());
            }
            let name = self.string_literal()?;
            let optional = self.eat(b'?');
            self.expect(b':')?;
            let shape = self.union()?;
            fields.push((name, optional, shape));
            if self.eat(b'}') {
                return Ok(Shape::Object(fields));
            }
            self.expect(b',')?;
        }
    }
}

impl Context {
    /// Parses an override context (`ExportContext`) from its JSON form.
    pub fn from_json(json: &Json) -> Result<Context, String> {
        match json {
            Json::String(s) => match s.as_str() {
                "infer" => Ok(Context::Infer),
                "int64" => Ok(Context::Int64),
                "float64inf" => Ok(Context::Float64Inf),
                "bytes" => Ok(Context::Bytes),
                other => Err(format!("unknown export context {other:?}")),
            },
            Json::Array(items) => items
                .iter()
                .map(Context::from_json)
                .collect::<Result<_, _>>()
                .map(Context::Array),
            Json::Object(map) => {
                if let Some(Json::String(b64)) = map.get("$float64NaN") {
                    if map.len() != 1 {
                        return Err("$float64NaN object should have one item".into());
                    }
                    let bytes = STANDARD
                        .decode(b64)
                        .map_err(|e| format!("$float64NaN is not base64: {e}"))?;
                    let bytes: [u8; 8] = bytes
                        .try_into()
                        .map_err(|_| "$float64NaN must hold 8 bytes".to_string())?;
                    return Ok(Context::NaN(u64::from_le_bytes(bytes)));
                }
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Context::from_json(v)?)))
                    .collect::<Result<_, String>>()
                    .map(Context::Object)
            }
            other => Err(format!("unexpected export context {other}")),
        }
    }
}

impl LegacySchema {
    /// Parses a whole sidecar whose first line is a shape string. `lines`
    /// holds every line after the first.
    pub fn parse<'a>(
        shape: &str,
        lines: impl Iterator<Item = (usize, &'a [u8])>,
    ) -> Result<LegacySchema, String> {
        let shape = Shape::parse(shape)?;
        let mut overrides = HashMap::new();
        for (line_no, line) in lines {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let json: Json = serde_json::from_slice(line)
                .map_err(|e| format!("line {line_no}: not valid JSON: {e}"))?;
            let Json::Object(map) = json else {
                return Err(format!("line {line_no}: override should be an object"));
            };
            if map.len() != 1 {
                return Err(format!(
                    "line {line_no}: override object should have one item"
                ));
            }
            let (id, ctx) = map.into_iter().next().expect("one item");
            let ctx = Context::from_json(&ctx).map_err(|e| format!("line {line_no}: {e}"))?;
            overrides.insert(id, ctx);
        }
        Ok(LegacySchema { shape, overrides })
    }

    /// Decodes one legacy row (`ExportContext::apply`).
    pub fn decode_row(&self, json: &Json) -> Result<Value, String> {
        let ctx = json
            .get("_id")
            .and_then(Json::as_str)
            .and_then(|id| self.overrides.get(id))
            .unwrap_or(&Context::Infer);
        let mut shapes = Vec::new();
        self.shape.flatten(&mut shapes);
        apply(json, &shapes, ctx)
    }
}

/// Decodes a row of a table without `generated_schema.jsonl`: the shape is
/// `unknown` and every context `infer`, so strings stay strings and numbers
/// become Float64.
pub fn decode_untyped(json: &Json) -> Result<Value, String> {
    apply(json, &[], &Context::Infer)
}

fn apply(json: &Json, shapes: &[&Shape], ctx: &Context) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => {
            let kinds = shapes.iter().fold(0, |acc, s| acc | s.string_kinds());
            let chosen = match kinds {
                K_INT64 => Context::Int64,
                K_INF => Context::Float64Inf,
                K_BYTES => Context::Bytes,
                K_INFER => Context::Infer,
                _ => ctx.clone(),
            };
            apply_string(s, &chosen)?
        }
        Json::Array(items) => {
            let mut inner = Vec::new();
            for s in shapes {
                match s {
                    Shape::Array(t) => t.flatten(&mut inner),
                    Shape::Unknown => inner.push(&Shape::Unknown),
                    _ => {}
                }
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let c = match ctx {
                    Context::Array(cs) => cs.get(i).unwrap_or(&Context::Infer),
                    _ => &Context::Infer,
                };
                out.push(apply(item, &inner, c)?);
            }
            Value::Array(out)
        }
        Json::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                check_field_name(key)?;
                let mut inner = Vec::new();
                for s in shapes {
                    match s {
                        Shape::Object(fields) => {
                            if let Some((_, _, t)) = fields.iter().find(|(n, _, _)| n == key) {
                                t.flatten(&mut inner);
                            }
                        }
                        Shape::Record(_, v) => v.flatten(&mut inner),
                        Shape::Unknown => inner.push(&Shape::Unknown),
                        _ => {}
                    }
                }
                let c = match ctx {
                    Context::Object(cs) => cs.get(key).unwrap_or(&Context::Infer),
                    _ => &Context::Infer,
                };
                out.insert(key.clone(), apply(item, &inner, c)?);
            }
            Value::Object(out)
        }
    })
}

fn apply_string(s: &str, ctx: &Context) -> Result<Value, String> {
    Ok(match ctx {
        Context::Int64 => Value::Int64(
            s.parse::<i64>()
                .map_err(|_| format!("unexpected string for i64: {s:?}"))?,
        ),
        Context::Float64Inf => match s {
            "Infinity" => Value::Float64(f64::INFINITY),
            "-Infinity" => Value::Float64(f64::NEG_INFINITY),
            _ => return Err(format!("unexpected string for an infinite float: {s:?}")),
        },
        Context::NaN(bits) => {
            if s != "NaN" {
                return Err(format!("unexpected string for NaN: {s:?}"));
            }
            Value::Float64(f64::from_bits(*bits))
        }
        Context::Bytes => Value::Bytes(
            STANDARD
                .decode(s)
                .map_err(|e| format!("string is not valid base64 bytes: {e}"))?,
        ),
        Context::Infer | Context::Array(_) | Context::Object(_) => Value::String(s.to_owned()),
    })
}
