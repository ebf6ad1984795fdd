//! The dataset a sandboxed query reads, taken from the query engine: its current version's rows and the
//! user's row rules compiled against it (the same rules every dashboard answer applies).

use crate::access::RowScope;
use crate::error::Result;
use crate::filters::Restriction;
use crate::query::QueryEngine;

use super::Source;

impl QueryEngine {
    /// The current version of `dataset` as a sandbox shows it to a user whose rows are `rows`.
    pub async fn sandbox_source(&self, dataset: &str, rows: &RowScope) -> Result<Source> {
        let version = self.version(dataset).await?;
        let restriction = Restriction::compile(rows, &version.model)?;
        Ok(Source {
            name: dataset.to_string(),
            table: version.table.clone(),
            rows: restriction.map(|r| r.to_expr()),
        })
    }
}
