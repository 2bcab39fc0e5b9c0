//! How imports resolve and load. The imports Convex code uses are served by
//! built-in stand-ins (`convex/server`, `convex/values`, `_generated/*` when
//! the folder has no real ones, `@convex-dev/migrations`,
//! `convex-helpers/server/migrations` and `…/relationships`); the user's
//! own files load from the functions folder (with or without an extension;
//! `./x.js` naming `x.ts` finds the TypeScript, as TypeScript resolves it);
//! plain ES modules load from the project's `node_modules`. Anything else is
//! one error naming the import and the importing file.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{Ctx, Error, Module, module::Declared};

use super::project::Project;
use super::strip::Prepared;

/// The built-in modules, by the name code imports them with.
pub const STAND_INS: &[(&str, &str)] = &[
    (
        "convex-snapshot:runtime",
        include_str!("stand_ins/runtime.js"),
    ),
    ("convex/server", include_str!("stand_ins/convex_server.js")),
    ("convex/values", include_str!("stand_ins/convex_values.js")),
    (
        "@convex-dev/migrations",
        include_str!("stand_ins/convex_dev_migrations.js"),
    ),
    (
        "convex-helpers/server/migrations",
        include_str!("stand_ins/convex_helpers_migrations.js"),
    ),
    (
        "convex-helpers/server/relationships",
        include_str!("stand_ins/convex_helpers_relationships.js"),
    ),
    (
        "_generated/server",
        include_str!("stand_ins/generated_server.js"),
    ),
    ("_generated/api", include_str!("stand_ins/generated_api.js")),
    (
        "_generated/dataModel",
        include_str!("stand_ins/generated_data_model.js"),
    ),
];

fn stand_in(name: &str) -> Option<&'static str> {
    STAND_INS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Resolves and loads modules for one project.
#[derive(Clone)]
pub struct Modules {
    pub project: Arc<Project>,
}

/// `a/b/../c` as `a/c` (a relative path may keep leading `..`).
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if out.has_root() {
                    return None;
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

impl Modules {
    fn path_of(&self, name: &str) -> PathBuf {
        self.project.root.join(name)
    }

    /// The module a relative import names, as a name relative to the
    /// functions folder.
    fn relative(&self, base: &str, name: &str) -> Result<String, String> {
        let dir = Path::new(base).parent().unwrap_or(Path::new(""));
        if name.starts_with('/') {
            return Err("an absolute path".into());
        }
        let joined = normalize(&dir.join(name)).ok_or("a path above the file system's root")?;
        let joined = joined.to_string_lossy().replace('\\', "/");
        let inside_project = self
            .path_of(&joined)
            .canonicalize()
            .ok()
            .or_else(|| normalize(&self.path_of(&joined)))
            .is_some_and(|p| p.starts_with(&self.project.package_dir));
        if !inside_project {
            return Err("it is outside the project".into());
        }
        let mut candidates = vec![joined.clone()];
        let has_ext =
            joined.ends_with(".ts") || joined.ends_with(".js") || joined.ends_with(".mjs");
        if let Some(stem) = joined.strip_suffix(".js") {
            candidates.insert(0, format!("{stem}.ts"));
        }
        if !has_ext {
            for ext in ["ts", "js", "mjs"] {
                candidates.push(format!("{joined}.{ext}"));
            }
            for ext in ["ts", "js"] {
                candidates.push(format!("{joined}/index.{ext}"));
            }
        }
        if let Some(found) = candidates.iter().find(|c| self.path_of(c).is_file()) {
            return Ok(found.clone());
        }
        // `_generated/*` the folder does not have: the stand-in.
        let stem = joined.trim_end_matches(".js").trim_end_matches(".ts");
        if stand_in(stem).is_some() && stem.starts_with("_generated/") {
            return Ok(stem.to_owned());
        }
        Err("no such file (tried .ts, .js and /index)".into())
    }

    /// A bare import from `node_modules`: the file a plain ES module
    /// package exports, or why it cannot load.
    fn package(&self, name: &str) -> Result<String, String> {
        let mut parts = name.splitn(if name.starts_with('@') { 3 } else { 2 }, '/');
        let pkg: String = if name.starts_with('@') {
            let scope = parts.next().unwrap_or_default();
            format!("{scope}/{}", parts.next().unwrap_or_default())
        } else {
            parts.next().unwrap_or_default().to_owned()
        };
        let sub = parts
            .next()
            .map(|s| format!("./{s}"))
            .unwrap_or_else(|| ".".into());
        let dir = self.project.package_dir.join("node_modules").join(&pkg);
        let manifest = std::fs::read_to_string(dir.join("package.json")).map_err(|_| {
            format!(
                "the package {pkg} is not in {}",
                self.project.package_dir.join("node_modules").display()
            )
        })?;
        let manifest: serde_json::Value =
            serde_json::from_str(&manifest).map_err(|e| format!("{pkg}/package.json: {e}"))?;
        let is_module = manifest.get("type").and_then(|t| t.as_str()) == Some("module");
        let pick = |v: &serde_json::Value| -> Option<String> {
            // A conditional export: the ES module one.
            let mut v = v;
            loop {
                match v {
                    serde_json::Value::String(s) => return Some(s.clone()),
                    serde_json::Value::Object(m) => {
                        v = ["import", "module", "default", "node"]
                            .iter()
                            .find_map(|k| m.get(*k))?;
                    }
                    _ => return None,
                }
            }
        };
        let file = match manifest.get("exports") {
            Some(serde_json::Value::String(s)) if sub == "." => Some(s.clone()),
            Some(serde_json::Value::Object(m)) if m.keys().all(|k| k.starts_with('.')) => {
                m.get(&sub).and_then(pick)
            }
            Some(other @ serde_json::Value::Object(_)) if sub == "." => pick(other),
            _ if sub == "." => manifest
                .get("module")
                .or_else(|| manifest.get("main"))
                .and_then(|m| m.as_str())
                .map(String::from)
                .or(Some("index.js".into())),
            _ => Some(sub.clone()),
        }
        .ok_or_else(|| format!("{pkg} exports no {sub}"))?;
        let path = normalize(&dir.join(&file)).ok_or("a bad path in package.json")?;
        let esm = file.ends_with(".mjs") || (is_module && file.ends_with(".js"));
        if !esm {
            return Err(format!(
                "{pkg} is not a plain ES module package ({file} is CommonJS); convex-snapshot loads only ES modules from node_modules"
            ));
        }
        let rel = path
            .strip_prefix(&self.project.package_dir)
            .map_err(|_| "outside the project".to_string())?;
        Ok(format!("../{}", rel.to_string_lossy().replace('\\', "/")))
    }

    /// A user or package module's source, prepared once per run.
    pub fn source(&self, name: &str) -> Result<Prepared, String> {
        let mut sources = self
            .project
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        sources
            .entry(name.to_owned())
            .or_insert_with(|| self.read_source(name))
            .clone()
    }

    /// Reads and prepares a user or package module's source.
    fn read_source(&self, name: &str) -> Result<Prepared, String> {
        let path = self.path_of(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if name.ends_with(".ts") {
            super::strip::typescript(&text, name).map_err(|e| format!("{name}:{e}"))
        } else {
            Ok(super::strip::javascript(&text))
        }
    }
}

impl Resolver for Modules {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        if stand_in(name).is_some() && !name.starts_with("_generated/") {
            return Ok(name.to_owned());
        }
        if base.is_empty() {
            // An import from convex-snapshot itself names a module already.
            return Ok(name.to_owned());
        }
        let from_stand_in = stand_in(base).is_some();
        let resolved = if name.starts_with("./") || name.starts_with("../") {
            if from_stand_in {
                Err("a relative import from a built-in module".to_string())
            } else {
                self.relative(base, name)
            }
        } else if name == "convex" || name.starts_with("convex/") {
            Err(format!(
                "{name} is not available to Convex functions offline (convex-snapshot provides convex/server and convex/values)"
            ))
        } else {
            self.package(name)
        };
        resolved.map_err(|why| {
            Error::new_resolving_message(
                base,
                name,
                format!("cannot import {name:?} from {base}: {why}"),
            )
        })
    }
}

impl Loader for Modules {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        let source = match stand_in(name) {
            Some(s) => s.to_owned(),
            None => {
                let prepared = self
                    .source(name)
                    .map_err(|why| Error::new_loading_message(name, why))?;
                if !prepared.shifts.is_empty() {
                    // For the stack traces of bootstrap.js: [line, column,
                    // length] of each insertion.
                    let shifts: Vec<Vec<u32>> = prepared
                        .shifts
                        .iter()
                        .map(|s| vec![s.line, s.column, s.len])
                        .collect();
                    let table: rquickjs::Object = ctx.globals().get("__convexSnapshotShifts")?;
                    table.set(name, shifts)?;
                }
                prepared.code
            }
        };
        Module::declare(ctx.clone(), name, source)
    }
}
