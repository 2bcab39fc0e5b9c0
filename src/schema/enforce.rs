//! Schema enforcement as a deployment applies it to writes: with
//! `schemaValidation` on, an insert, patch or replace whose resulting
//! document the table's validator rejects throws inside the function that
//! made it (the backend's `SchemaEnforcementError`), and the write does not
//! happen. `migrate --schema --mode original` runs the built-in migrations
//! under it, so their own `try`/`catch` sees the throw as on the deployment.

use super::{Schema, TableNames};
use crate::value::Map;

/// The target schema, enforced on writes.
#[derive(Debug)]
pub struct Enforcer {
    schema: Schema,
    names: TableNames,
}

impl Enforcer {
    /// `None` when the schema has validation off: the deployment enforces
    /// nothing then.
    pub fn new(schema: Schema, names: TableNames) -> Option<Enforcer> {
        schema.validation.then_some(Enforcer { schema, names })
    }

    /// Why the deployment would refuse to write `doc` (with or without its
    /// system fields) into `table`, if it would. Tables the schema does not
    /// list take anything.
    pub fn rejects(&self, table: &str, doc: &Map) -> Option<String> {
        let t = self.schema.tables.get(table)?;
        if t.document.accepts(doc, &self.names) {
            return None;
        }
        let why = t
            .document
            .explain(doc, &self.names)
            .into_iter()
            .next()
            .map(|m| {
                if m.path.is_empty() {
                    m.message
                } else {
                    format!("{} at {}", m.message, m.path)
                }
            })
            .unwrap_or_default();
        // The backend's wording (`SchemaEnforcementError::Document`).
        Some(format!(
            "Failed to insert or update a document in table \"{table}\" because it does not match the schema: {why}"
        ))
    }
}
