//! `exclude: {column, values}`: drop rows whose column holds one of the values (the seed's DOMO exclude filter).

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::Deserialize;

use super::{Applied, Site, Transform, column_index, config_error};
use crate::error::Result;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludeConfig {
    pub column: String,
    /// Values compared as text (`2025-01-01`, `42`, `true`).
    pub values: Vec<String>,
}

pub(super) struct Exclude {
    column: usize,
    values: std::collections::HashSet<String>,
}

impl Exclude {
    pub(super) fn compile(c: &ExcludeConfig, schema: &SchemaRef, site: Site<'_>) -> Result<Self> {
        let column = column_index(schema, &c.column, site, "column")?;
        if c.values.is_empty() {
            return Err(config_error(site, "values", "list at least one value"));
        }
        Ok(Self {
            column,
            values: c.values.iter().cloned().collect(),
        })
    }
}

impl Transform for Exclude {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        Ok(self.apply_checked(batch)?.batch)
    }

    fn apply_checked(&self, batch: RecordBatch) -> Result<Applied> {
        let col = batch.column(self.column);
        let options = FormatOptions::default();
        let f = ArrayFormatter::try_new(col.as_ref(), &options)?;
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|r| Some(col.is_null(r) || !self.values.contains(&f.value(r).to_string())))
            .collect();
        Ok(Applied {
            batch: filter_record_batch(&batch, &keep)?,
            kept: Some(keep),
            refused: vec![],
        })
    }
}
