//! A Convex project's functions folder: where it is (`--functions`, else
//! `convex.json`'s `functions` setting, else `./convex`, as the Convex CLI
//! looks), which files it holds, and how a function's name, as `npx convex
//! run` spells it, names a file and an export.

use std::path::{Path, PathBuf};

/// The functions folder of a project.
#[derive(Debug)]
pub struct Project {
    /// The functions folder (`convex/`).
    pub root: PathBuf,
    /// The folder holding `package.json` and `node_modules` (its parent).
    pub package_dir: PathBuf,
    /// Each module's JavaScript, read and stripped once for the whole run:
    /// every runtime sees the same code even if a file changes meanwhile.
    pub(crate) sources: std::sync::Mutex<
        std::collections::BTreeMap<String, Result<super::strip::Prepared, String>>,
    >,
}

/// A function named as `npx convex run` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    /// The module path without extension, `/`-separated (`migrations`,
    /// `dir/file`).
    pub module: String,
    /// The export (`default` when the name has none).
    pub export: String,
}

impl FunctionName {
    /// Parses `file:export`, `dir/file:export`, `file` (the default
    /// export), `api.file.export`, `internal.dir.file.export`. `None` when
    /// the text is none of these.
    pub fn parse(text: &str) -> Option<FunctionName> {
        let text = text.trim();
        let ident = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if let Some(rest) = text
            .strip_prefix("api.")
            .or_else(|| text.strip_prefix("internal."))
        {
            let parts: Vec<&str> = rest.split('.').collect();
            if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
                return None;
            }
            let (export, module) = parts.split_last().expect("two parts");
            return Some(FunctionName {
                module: module.join("/"),
                export: (*export).to_owned(),
            });
        }
        let (module, export) = match text.split_once(':') {
            Some((m, e)) => (m, e),
            None => (text, "default"),
        };
        let module = module
            .trim_end_matches(".ts")
            .trim_end_matches(".js")
            .trim_start_matches("./")
            .trim_start_matches("convex/");
        let ok = !module.is_empty()
            && module.split('/').all(ident)
            && !export.is_empty()
            && export
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        ok.then(|| FunctionName {
            module: module.to_owned(),
            export: export.to_owned(),
        })
    }

    /// `file:export` (or `file` for a default export), as Convex prints names.
    pub fn canonical(&self) -> String {
        if self.export == "default" {
            self.module.clone()
        } else {
            format!("{}:{}", self.module, self.export)
        }
    }
}

impl std::fmt::Display for FunctionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl Project {
    /// The project of `--functions DIR`, or the one the current folder
    /// has: `convex.json`'s `functions` setting, else `./convex` when it
    /// exists. `None` when there is none.
    pub fn find(given: Option<&Path>) -> Result<Option<Project>, String> {
        if let Some(dir) = given {
            if !dir.is_dir() {
                return Err(format!("--functions {}: no such folder", dir.display()));
            }
            return Ok(Some(Project::at(dir)));
        }
        let cwd = Path::new(".");
        if let Ok(text) = std::fs::read_to_string(cwd.join("convex.json")) {
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("convex.json is not valid JSON: {e}"))?;
            if let Some(dir) = json.get("functions").and_then(|f| f.as_str()) {
                let dir = cwd.join(dir);
                if !dir.is_dir() {
                    return Err(format!(
                        "convex.json names the functions folder {}, which does not exist",
                        dir.display()
                    ));
                }
                return Ok(Some(Project::at(&dir)));
            }
        }
        let dir = cwd.join("convex");
        Ok(dir.is_dir().then(|| Project::at(&dir)))
    }

    /// The project whose functions folder is `dir`.
    pub fn at(dir: &Path) -> Project {
        let root = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        let package_dir = root
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| root.clone());
        Project {
            root,
            package_dir,
            sources: Default::default(),
        }
    }

    /// The module files of the folder that can hold functions, as module
    /// names relative to it (`migrations.ts`, `dir/file.ts`), sorted: `.ts`
    /// and `.js` files, except `_generated/`, declarations, tests, configs
    /// and dot files, as Convex's bundler leaves them out.
    pub fn function_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(items) = std::fs::read_dir(&dir) else {
                continue;
            };
            for item in items.flatten() {
                let path = item.path();
                let name = item.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name == "node_modules" || name == "_generated" {
                    continue;
                }
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let module_file = (name.ends_with(".ts") || name.ends_with(".js"))
                    && !name.ends_with(".d.ts")
                    && !name.contains(".test.")
                    && !name.contains(".spec.")
                    && !name.contains(".config.");
                if module_file && let Ok(rel) = path.strip_prefix(&self.root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out.sort();
        out
    }

    /// The file of a module path without extension (`migrations` →
    /// `migrations.ts`), if the folder has one.
    pub fn module_file(&self, module: &str) -> Option<String> {
        ["ts", "js"]
            .iter()
            .map(|ext| format!("{module}.{ext}"))
            .find(|f| self.root.join(f).is_file())
    }

    /// The schema file, if any.
    pub fn schema_file(&self) -> Option<String> {
        self.module_file("schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_convex_cli_spells_them() {
        let n = |m: &str, e: &str| {
            Some(FunctionName {
                module: m.into(),
                export: e.into(),
            })
        };
        assert_eq!(
            FunctionName::parse("migrations:setDefault"),
            n("migrations", "setDefault")
        );
        assert_eq!(FunctionName::parse("dir/file:fn"), n("dir/file", "fn"));
        assert_eq!(
            FunctionName::parse("api.migrations.setDefault"),
            n("migrations", "setDefault")
        );
        assert_eq!(
            FunctionName::parse("internal.dir.file.fn"),
            n("dir/file", "fn")
        );
        assert_eq!(FunctionName::parse("init"), n("init", "default"));
        assert_eq!(
            FunctionName::parse("convex/migrations.ts:a"),
            n("migrations", "a")
        );
        assert_eq!(FunctionName::parse("api.x"), None);
        assert_eq!(FunctionName::parse(":x"), None);
        assert_eq!(FunctionName::parse("a b:c"), None);
        assert_eq!(n("dir/file", "fn").unwrap().canonical(), "dir/file:fn");
        assert_eq!(n("init", "default").unwrap().canonical(), "init");
    }
}
