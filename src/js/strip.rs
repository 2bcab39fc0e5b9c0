//! TypeScript to JavaScript, keeping every position: types are replaced by
//! spaces (`swc_ts_fast_strip` in strip-only mode, the stripper Node.js
//! uses), so a stack trace's `file:line:column` is the user's own `.ts`
//! source. Syntax that needs more than erasing (an `enum`, a `namespace`,
//! parameter properties) falls back to swc's TypeScript transform, whose
//! positions are then approximate.
//!
//! Convex bundles functions with esbuild, which drops the imports of a `.ts`
//! file that no value uses (they may name types only: `import { Id } from
//! "./_generated/dataModel"`). After stripping, the same is done here by
//! blanking those imports, so positions still hold.
//!
//! One JavaScript difference between QuickJS and V8 (the engine Convex runs
//! functions in) is mended here too: QuickJS's object spread copies nothing
//! from a string (`{..."ab"}` is `{}`), where the language (CopyDataProperties
//! calls ToObject) and V8 give `{0: "a", 1: "b"}`. Every spread in an object
//! literal, in `.ts` and `.js` modules alike, becomes
//! `...__convexSnapshotSpread(x)`, which turns a string into its `String`
//! object and leaves anything else as it is. Each insertion is recorded as a
//! [`Shift`], and the runtime's stack traces subtract them, so columns stay
//! the user's.

use std::sync::{Arc, Mutex};

use swc_common::errors::{DiagnosticBuilder, Emitter, Handler};
use swc_common::sync::Lrc;
use swc_common::{BytePos, SourceMap, Spanned};
use swc_ecma_ast::{ImportDecl, ImportSpecifier, Module, ModuleDecl, ModuleItem};
use swc_ecma_visit::{Visit, VisitWith};

/// A syntax error, with where it is (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// A diagnostic's message and where it starts.
type Diagnostic = (String, Option<BytePos>);

/// Collects swc's diagnostics instead of printing them.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Diagnostic>>>);

impl Emitter for Collect {
    fn emit(&mut self, db: &mut DiagnosticBuilder<'_>) {
        let lo = db.span.primary_span().map(|s| s.lo);
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((db.message(), lo));
    }
}

/// Text the rewrite inserted: on `line` (1-based), at byte `column` (1-based,
/// as QuickJS counts columns, in the rewritten text), `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

/// A module's JavaScript as the engine runs it, and what was inserted.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub code: String,
    pub shifts: Vec<Shift>,
}

/// The helper every object-literal spread goes through (see the module
/// notes); `bootstrap.js` defines it.
const SPREAD: &str = "__convexSnapshotSpread(";

/// Strips a TypeScript module to JavaScript, positions kept (see the module
/// notes); drops the imports no value uses and mends object spreads.
pub fn typescript(source: &str, file: &str) -> Result<Prepared, SyntaxError> {
    let code = strip(source, file, swc_ts_fast_strip::Mode::StripOnly).or_else(|e| {
        // Syntax that only a transform handles: try that before giving up.
        strip(source, file, swc_ts_fast_strip::Mode::Transform).map_err(|_| e)
    })?;
    Ok(rewrite(&code, true))
}

/// A JavaScript module as the engine runs it: object spreads mended.
pub fn javascript(source: &str) -> Prepared {
    rewrite(source, false)
}

fn strip(source: &str, file: &str, mode: swc_ts_fast_strip::Mode) -> Result<String, SyntaxError> {
    let cm: Lrc<SourceMap> = Default::default();
    let collect = Collect::default();
    let handler = Handler::with_emitter(true, false, Box::new(collect.clone()));
    let options = swc_ts_fast_strip::Options {
        module: Some(true),
        filename: Some(file.to_owned()),
        mode,
        ..Default::default()
    };
    let out = swc_common::GLOBALS.set(&Default::default(), || {
        swc_ts_fast_strip::operate(&cm, &handler, source.to_owned(), options)
    });
    let found = collect.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match out {
        Ok(out) if found.is_empty() => Ok(out.code),
        Ok(_) | Err(_) => {
            let (message, at) = found.into_iter().next().unwrap_or_else(|| {
                let m = match &out {
                    Err(e) => e.message.clone(),
                    Ok(_) => "invalid syntax".into(),
                };
                (m, None)
            });
            let (line, column) = at
                .map(|pos| {
                    let loc = cm.lookup_char_pos(pos);
                    (loc.line, loc.col_display + 1)
                })
                .unwrap_or((1, 1));
            Err(SyntaxError {
                line,
                column,
                message,
            })
        }
    }
}

/// Every name used as a value outside import declarations, and the
/// expressions object literals spread.
#[derive(Default)]
struct Uses {
    names: std::collections::HashSet<String>,
    spreads: Vec<swc_common::Span>,
}

impl Visit for Uses {
    fn visit_import_decl(&mut self, _: &ImportDecl) {}

    fn visit_ident(&mut self, ident: &swc_ecma_ast::Ident) {
        self.names.insert(ident.sym.to_string());
    }

    fn visit_object_lit(&mut self, object: &swc_ecma_ast::ObjectLit) {
        for prop in &object.props {
            if let swc_ecma_ast::PropOrSpread::Spread(s) = prop {
                // An object literal is never a string: no need.
                if !matches!(&*s.expr, swc_ecma_ast::Expr::Object(_)) {
                    self.spreads.push(s.expr.span());
                }
            }
        }
        object.visit_children_with(self);
    }
}

/// In JavaScript code: blanks the import specifiers no value uses (and a
/// whole import whose every specifier goes) when `drop_imports`, replacing
/// them with spaces so that nothing else moves; and mends object spreads
/// (see the module notes). Code that does not parse is returned as it is
/// (QuickJS then reports the error).
fn rewrite(code: &str, drop_imports: bool) -> Prepared {
    let unchanged = || Prepared {
        code: code.to_owned(),
        shifts: Vec::new(),
    };
    let cm: Lrc<SourceMap> = Default::default();
    let fm = cm.new_source_file(swc_common::FileName::Anon.into(), code.to_owned());
    let lexer = swc_ecma_parser::lexer::Lexer::new(
        swc_ecma_parser::Syntax::Es(Default::default()),
        swc_ecma_ast::EsVersion::latest(),
        swc_ecma_parser::StringInput::from(&*fm),
        None,
    );
    let mut parser = swc_ecma_parser::Parser::new_from(lexer);
    let Ok(module): Result<Module, _> = parser.parse_module() else {
        return unchanged();
    };
    let mut uses = Uses::default();
    module.visit_with(&mut uses);
    let base = fm.start_pos.0;
    let range = |span: swc_common::Span| (span.lo.0 - base) as usize..(span.hi.0 - base) as usize;
    let mut blank: Vec<std::ops::Range<usize>> = Vec::new();
    for item in module.body.iter().filter(|_| drop_imports) {
        let ModuleItem::ModuleDecl(ModuleDecl::Import(import)) = item else {
            continue;
        };
        if import.type_only || import.specifiers.is_empty() {
            continue;
        }
        let used = |s: &ImportSpecifier| {
            let local = match s {
                ImportSpecifier::Named(n) => &n.local,
                ImportSpecifier::Default(d) => &d.local,
                ImportSpecifier::Namespace(n) => &n.local,
            };
            uses.names.contains(local.sym.as_str())
        };
        if import.specifiers.iter().all(|s| !used(s)) {
            blank.push(range(import.span));
            continue;
        }
        for s in import.specifiers.iter().filter(|s| !used(s)) {
            // The specifier and the comma after it, if any.
            let mut r = range(s.span());
            let rest = &code[r.end..];
            let skip = rest.len() - rest.trim_start().len();
            if rest[skip..].starts_with(',') {
                r.end += skip + 1;
            }
            blank.push(r);
        }
    }
    if blank.is_empty() && uses.spreads.is_empty() {
        return unchanged();
    }
    let mut bytes = code.as_bytes().to_vec();
    for r in blank {
        for b in &mut bytes[r] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Each spread expression gets the helper's name before it and `)` after.
    let mut inserts: Vec<(usize, &str)> = Vec::new();
    for span in &uses.spreads {
        let r = range(*span);
        inserts.push((r.start, SPREAD));
        inserts.push((r.end, ")"));
    }
    inserts.sort_by_key(|(at, _)| *at);
    let mut out = Vec::with_capacity(bytes.len() + inserts.len() * SPREAD.len());
    let mut shifts = Vec::new();
    let (mut line, mut line_start, mut added_on_line, mut copied) = (1u32, 0usize, 0usize, 0usize);
    for (at, text) in inserts {
        for (i, b) in bytes[copied..at].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = copied + i + 1;
                added_on_line = 0;
            }
        }
        out.extend_from_slice(&bytes[copied..at]);
        copied = at;
        shifts.push(Shift {
            line,
            column: (at - line_start + added_on_line + 1) as u32,
            len: text.len() as u32,
        });
        out.extend_from_slice(text.as_bytes());
        added_on_line += text.len();
    }
    out.extend_from_slice(&bytes[copied..]);
    // Only ASCII was replaced or inserted, at token boundaries: the text is
    // still UTF-8.
    match String::from_utf8(out) {
        Ok(code) => Prepared { code, shifts },
        Err(_) => unchanged(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_become_spaces_and_positions_hold() {
        let ts = "import type { Doc } from \"./x\";\nconst a: number = 1;\nexport const f = (d: Doc<\"t\">) => a;\n";
        let js = typescript(ts, "m.ts").unwrap().code;
        assert_eq!(js.len(), ts.len());
        assert_eq!(js.lines().count(), ts.lines().count());
        let at = |s: &str, needle: &str| s.find(needle).unwrap();
        assert_eq!(at(&js, "export const f"), at(ts, "export const f"));
        assert!(!js.contains("number") && !js.contains("Doc"));
    }

    #[test]
    fn unused_imports_go_and_used_ones_stay() {
        let ts = "import { Id, Doc } from \"./_generated/dataModel\";\nimport { internalMutation, query } from \"./_generated/server\";\nimport * as all from \"./helpers\";\nexport const m = internalMutation({ handler: async (ctx, a: { id: Id<\"t\"> }) => a.id });\n";
        let js = typescript(ts, "m.ts").unwrap().code;
        assert_eq!(js.len(), ts.len());
        assert!(!js.contains("dataModel"), "{js}");
        assert!(js.contains("import { internalMutation,"), "{js}");
        assert!(!js.contains("query"), "{js}");
        assert!(!js.contains("helpers"), "{js}");
        let named = "import { a, b } from \"./x\";\nexport const c = b;\n";
        let js = typescript(named, "n.ts").unwrap().code;
        assert!(js.starts_with("import {    b } from \"./x\";"), "{js}");
    }

    #[test]
    fn an_enum_is_transformed_and_a_syntax_error_says_where() {
        let js = typescript(
            "export enum Color { Red, Green }\nexport const g = Color.Green;\n",
            "e.ts",
        )
        .unwrap()
        .code;
        assert!(js.contains("Color"), "{js}");
        let err = typescript("const x = {\n  a: 1,\n  b: ;\n};\n", "bad.ts").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.column > 1, "{err}");
    }

    #[test]
    fn object_spreads_go_through_the_helper_and_shifts_say_where() {
        let js = "const a = { ...x, b: 1 };\nconst c = { ...{ d: 2 }, ...(y || {}) }; const e = [...z];\n";
        let p = javascript(js);
        assert_eq!(
            p.code,
            "const a = { ...__convexSnapshotSpread(x), b: 1 };\nconst c = { ...{ d: 2 }, ...__convexSnapshotSpread((y || {})) }; const e = [...z];\n"
        );
        let n = SPREAD.len() as u32;
        assert_eq!(
            p.shifts,
            vec![
                Shift {
                    line: 1,
                    column: 16,
                    len: n
                },
                Shift {
                    line: 1,
                    column: 17 + n,
                    len: 1
                },
                Shift {
                    line: 2,
                    column: 29,
                    len: n
                },
                Shift {
                    line: 2,
                    column: 38 + n,
                    len: 1
                },
            ]
        );
        // A TypeScript module gets the same, after stripping.
        let ts = typescript("export const f = (v: any) => ({ ...v });\n", "f.ts").unwrap();
        assert!(
            ts.code.contains("...__convexSnapshotSpread(v)"),
            "{}",
            ts.code
        );
        // Code with no spread is untouched; code that does not parse too.
        assert_eq!(javascript("let q = 1;\n").code, "let q = 1;\n");
        assert_eq!(javascript("let = ;").code, "let = ;");
    }
}
