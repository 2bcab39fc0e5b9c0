//! `migrate --schema`: every document of the state a run leaves (what it
//! wrote and what it left in place) checked against the target schema
//! before anything is written. Whether a document passes is the same
//! [`DocumentType::accepts`] `validate --schema` uses.

use std::collections::HashSet;

use serde::Serialize;

use super::{Schema, TableNames};
use crate::engine::Db;
use crate::error::Result;

/// How many mismatches a run lists (all are counted).
pub const LISTED: usize = 1_000;
/// The most mismatches listed or counted for one document, as `validate`.
const PER_DOCUMENT: usize = 10;

/// One mismatch of the checked state.
#[derive(Debug, Clone, Serialize)]
pub struct StateMismatch {
    pub table: String,
    pub id: String,
    /// Where in the document (`.a.b[2]`; empty for the document itself).
    pub path: String,
    pub message: String,
}

/// What the check found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateCheck {
    pub file: String,
    /// `schemaValidation`: when false, the deployment would enforce none of
    /// this.
    pub enforced: bool,
    pub tables_checked: Vec<String>,
    /// Tables of the result the schema does not list (not checked, as on a
    /// deployment).
    pub not_in_schema: Vec<String>,
    pub documents_checked: u64,
    pub documents_failing: u64,
    pub mismatches: u64,
    /// The first [`LISTED`] mismatches, tables in name order, documents in
    /// file order.
    pub listed: Vec<StateMismatch>,
}

/// Checks every root document of `db` against `schema`.
pub fn check_db(db: &Db, schema: &Schema, system: TableNames) -> Result<StateCheck> {
    let mut names = system;
    for (name, number) in db.table_numbers() {
        names.0.insert(number, name);
    }
    let mut out = StateCheck {
        file: schema.file.clone(),
        enforced: schema.validation,
        tables_checked: Vec::new(),
        not_in_schema: Vec::new(),
        documents_checked: 0,
        documents_failing: 0,
        mismatches: 0,
        listed: Vec::new(),
    };
    // First the counts; the failing documents' `_id`s in file order.
    let mut failing: Vec<(String, Vec<String>)> = Vec::new();
    for table in db.table_names() {
        let Some(t) = schema.tables.get(&table) else {
            out.not_in_schema.push(table);
            continue;
        };
        let seen = db.gather(&table, |doc| {
            Some((!t.document.accepts(doc.fields, &names)).then(|| {
                let n = t.document.count_mismatches(doc.fields, &names);
                (doc.id().to_owned(), n.min(PER_DOCUMENT))
            }))
        })?;
        out.documents_checked += seen.len() as u64;
        let mut ids = Vec::new();
        for (id, n) in seen.into_iter().flatten() {
            out.documents_failing += 1;
            out.mismatches += n as u64;
            ids.push(id);
        }
        out.tables_checked.push(table.clone());
        failing.push((table, ids));
    }
    // Then the text of the first ones only, in a second look at those rows.
    let mut room = LISTED;
    for (table, ids) in failing {
        if room == 0 {
            break;
        }
        let wanted: HashSet<&str> = ids.iter().take(room).map(String::as_str).collect();
        if wanted.is_empty() {
            continue;
        }
        let t = &schema.tables[&table];
        let found = db.gather(&table, |doc| {
            wanted.contains(doc.id()).then(|| {
                let mut m = t.document.explain(doc.fields, &names);
                m.truncate(PER_DOCUMENT);
                (doc.id().to_owned(), m)
            })
        })?;
        for (id, mismatches) in found {
            for m in mismatches {
                if room == 0 {
                    break;
                }
                room -= 1;
                out.listed.push(StateMismatch {
                    table: table.clone(),
                    id: id.clone(),
                    path: m.path,
                    message: m.message,
                });
            }
        }
    }
    Ok(out)
}

impl StateCheck {
    /// The lines a run prints: the first `shown` mismatches, then totals.
    pub fn render(&self, shown: usize) -> String {
        let mut s = String::new();
        let kind = if self.enforced { "error" } else { "warning" };
        for m in self.listed.iter().take(shown) {
            let at = if m.path.is_empty() {
                String::new()
            } else {
                format!(" at {}", m.path)
            };
            s.push_str(&format!(
                "  {kind}: {} {}{at}: {}\n",
                m.table, m.id, m.message
            ));
        }
        if self.mismatches as usize > shown.min(self.listed.len()) {
            s.push_str(&format!(
                "  … {} more (--report and --json list the first {LISTED})\n",
                self.mismatches as usize - shown.min(self.listed.len())
            ));
        }
        s.push_str(&format!(
            "schema {}: {} of {} documents the run leaves in {} tables would not pass",
            self.file,
            self.documents_failing,
            self.documents_checked,
            self.tables_checked.len()
        ));
        if !self.enforced {
            s.push_str(" (schemaValidation is false: the deployment would not enforce it)");
        }
        if !self.not_in_schema.is_empty() {
            s.push_str(&format!(
                "; not in the schema, so not checked: {}",
                self.not_in_schema.join(", ")
            ));
        }
        s
    }
}
