//! What each entry path means to the importer (docs/export-format.md, section
//! 1): tables, `_tables`, generated schemas, `_storage` metadata and blobs,
//! component prefixes, and the entries the importer ignores.

use std::fmt;

/// A component path: empty for the root, `["a", "b"]` for `_components/a/_components/b/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentPath(pub Vec<String>);

impl ComponentPath {
    /// True for the root component.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ComponentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(root)")
        } else {
            f.write_str(&self.0.join("/"))
        }
    }
}

/// The meaning of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// `README.md` at the top level; ignored on import.
    Readme,
    /// `<prefix>_tables/documents.jsonl`.
    Tables(ComponentPath),
    /// `<prefix><table>/documents.jsonl` of a user table.
    Documents(ComponentPath, String),
    /// `<prefix><table>/generated_schema.jsonl`.
    GeneratedSchema(ComponentPath, String),
    /// `<prefix>_storage/documents.jsonl`.
    StorageMetadata(ComponentPath),
    /// `<prefix>_storage/<id><.ext>`; the string is the name up to the first `.`.
    StorageBlob(ComponentPath, String),
    /// `documents.jsonl` of a system table other than `_tables`/`_storage`:
    /// skipped by the importer.
    SystemTable(ComponentPath, String),
    /// A component folder whose name is not an identifier: fails the import.
    BadComponent(String),
    /// A directory entry; ignored.
    Directory,
    /// Anything else; ignored by the importer.
    Other,
}

/// Splits the folder part before a table folder into its component path,
/// applying `^(.*/)?_components/([^/]+)/$` repeatedly; leading folders that
/// are not `_components/<name>` pairs are ignored, as the importer does.
fn components(prefix: &[&str]) -> Result<ComponentPath, String> {
    let mut rest = prefix;
    let mut names = Vec::new();
    while rest.len() >= 2 && rest[rest.len() - 2] == "_components" {
        let name = rest[rest.len() - 1];
        crate::value::check_identifier(name).map_err(|e| format!("component name {e}"))?;
        names.push(name.to_owned());
        rest = &rest[..rest.len() - 2];
    }
    names.reverse();
    Ok(ComponentPath(names))
}

/// Classifies an entry name.
pub fn classify(name: &str, is_dir: bool) -> EntryKind {
    if is_dir || name.ends_with('/') {
        return EntryKind::Directory;
    }
    if name == "README.md" {
        return EntryKind::Readme;
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() < 2 {
        return EntryKind::Other;
    }
    let base = parts[parts.len() - 1];
    let folder = parts[parts.len() - 2];
    let prefix = &parts[..parts.len() - 2];
    let component = match components(prefix) {
        Ok(c) => c,
        Err(e) => return EntryKind::BadComponent(e),
    };
    if folder == "_storage" {
        if base == "documents.jsonl" {
            return EntryKind::StorageMetadata(component);
        }
        if !base.is_empty() && !base.starts_with('.') {
            let id = base.split('.').next().unwrap_or(base);
            return EntryKind::StorageBlob(component, id.to_owned());
        }
        return EntryKind::Other;
    }
    match base {
        "documents.jsonl" if folder == "_tables" => EntryKind::Tables(component),
        "documents.jsonl" if folder.starts_with('_') => {
            EntryKind::SystemTable(component, folder.to_owned())
        }
        "documents.jsonl" => EntryKind::Documents(component, folder.to_owned()),
        "generated_schema.jsonl" => EntryKind::GeneratedSchema(component, folder.to_owned()),
        _ => EntryKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(names: &[&str]) -> ComponentPath {
        ComponentPath(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn classifies_export_entries() {
        assert_eq!(classify("README.md", false), EntryKind::Readme);
        assert_eq!(
            classify("_tables/documents.jsonl", false),
            EntryKind::Tables(cp(&[]))
        );
        assert_eq!(
            classify("users/documents.jsonl", false),
            EntryKind::Documents(cp(&[]), "users".into())
        );
        assert_eq!(
            classify("users/generated_schema.jsonl", false),
            EntryKind::GeneratedSchema(cp(&[]), "users".into())
        );
        assert_eq!(
            classify("_components/a/_components/b/t/documents.jsonl", false),
            EntryKind::Documents(cp(&["a", "b"]), "t".into())
        );
        assert_eq!(
            classify("_storage/kg2ah8mk1xtg35g7zyexyc96e96yr74f.mp4", false),
            EntryKind::StorageBlob(cp(&[]), "kg2ah8mk1xtg35g7zyexyc96e96yr74f".into())
        );
        assert_eq!(
            classify("_storage/documents.jsonl", false),
            EntryKind::StorageMetadata(cp(&[]))
        );
        assert_eq!(
            classify("_scheduled_functions/documents.jsonl", false),
            EntryKind::SystemTable(cp(&[]), "_scheduled_functions".into())
        );
        assert_eq!(classify("__MACOSX/x", false), EntryKind::Other);
        assert_eq!(classify("users/", true), EntryKind::Directory);
    }

    #[test]
    fn leading_folders_are_ignored() {
        assert_eq!(
            classify("snapshot/users/documents.jsonl", false),
            EntryKind::Documents(cp(&[]), "users".into())
        );
        assert_eq!(
            classify("some/dir/_components/waitlist/tbl/documents.jsonl", false),
            EntryKind::Documents(cp(&["waitlist"]), "tbl".into())
        );
        assert!(matches!(
            classify("_components/bad-name/t/documents.jsonl", false),
            EntryKind::BadComponent(_)
        ));
    }
}
