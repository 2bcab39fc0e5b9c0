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

/// Strips a TypeScript module to JavaScript, positions kept (see the module
/// notes); drops the imports no value uses.
pub fn typescript(source: &str, file: &str) -> Result<String, SyntaxError> {
    let code = strip(source, file, swc_ts_fast_strip::Mode::StripOnly).or_else(|e| {
        // Syntax that only a transform handles: try that before giving up.
        strip(source, file, swc_ts_fast_strip::Mode::Transform).map_err(|_| e)
    })?;
    Ok(drop_unused_imports(&code))
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

/// Every name used as a value outside import declarations.
#[derive(Default)]
struct Uses(std::collections::HashSet<String>);

impl Visit for Uses {
    fn visit_import_decl(&mut self, _: &ImportDecl) {}

    fn visit_ident(&mut self, ident: &swc_ecma_ast::Ident) {
        self.0.insert(ident.sym.to_string());
    }
}

/// Blanks, in JavaScript code, the import specifiers no value uses (and a
/// whole import whose every specifier goes), replacing them with spaces so
/// that nothing else moves. Code that does not parse is returned as it is
/// (QuickJS then reports the error).
fn drop_unused_imports(code: &str) -> String {
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
        return code.to_owned();
    };
    let mut uses = Uses::default();
    module.visit_with(&mut uses);
    let base = fm.start_pos.0;
    let range = |span: swc_common::Span| (span.lo.0 - base) as usize..(span.hi.0 - base) as usize;
    let mut blank: Vec<std::ops::Range<usize>> = Vec::new();
    for item in &module.body {
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
            uses.0.contains(local.sym.as_str())
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
    if blank.is_empty() {
        return code.to_owned();
    }
    let mut out = code.as_bytes().to_vec();
    for r in blank {
        for b in &mut out[r] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Only ASCII was replaced by ASCII, outside multi-byte characters: the
    // spans are whole tokens.
    String::from_utf8(out).unwrap_or_else(|_| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_become_spaces_and_positions_hold() {
        let ts = "import type { Doc } from \"./x\";\nconst a: number = 1;\nexport const f = (d: Doc<\"t\">) => a;\n";
        let js = typescript(ts, "m.ts").unwrap();
        assert_eq!(js.len(), ts.len());
        assert_eq!(js.lines().count(), ts.lines().count());
        let at = |s: &str, needle: &str| s.find(needle).unwrap();
        assert_eq!(at(&js, "export const f"), at(ts, "export const f"));
        assert!(!js.contains("number") && !js.contains("Doc"));
    }

    #[test]
    fn unused_imports_go_and_used_ones_stay() {
        let ts = "import { Id, Doc } from \"./_generated/dataModel\";\nimport { internalMutation, query } from \"./_generated/server\";\nimport * as all from \"./helpers\";\nexport const m = internalMutation({ handler: async (ctx, a: { id: Id<\"t\"> }) => a.id });\n";
        let js = typescript(ts, "m.ts").unwrap();
        assert_eq!(js.len(), ts.len());
        assert!(!js.contains("dataModel"), "{js}");
        assert!(js.contains("import { internalMutation,"), "{js}");
        assert!(!js.contains("query"), "{js}");
        assert!(!js.contains("helpers"), "{js}");
        let named = "import { a, b } from \"./x\";\nexport const c = b;\n";
        let js = typescript(named, "n.ts").unwrap();
        assert!(js.starts_with("import {    b } from \"./x\";"), "{js}");
    }

    #[test]
    fn an_enum_is_transformed_and_a_syntax_error_says_where() {
        let js = typescript(
            "export enum Color { Red, Green }\nexport const g = Color.Green;\n",
            "e.ts",
        )
        .unwrap();
        assert!(js.contains("Color"), "{js}");
        let err = typescript("const x = {\n  a: 1,\n  b: ;\n};\n", "bad.ts").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.column > 1, "{err}");
    }
}
