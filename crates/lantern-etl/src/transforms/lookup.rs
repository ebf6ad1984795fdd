//! `lookup: {path, key, columns}`: adds columns from a small CSV keyed by one column — a team directory, a price
//! list — the way a spreadsheet VLOOKUP would. Keys match as text; a row whose key is not in the file gets nulls.
//!
//! ```yaml
//! - lookup: {path: data/cursor_teams.csv, key: user_email, columns: [team]}
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::Deserialize;

use super::{Site, Transform, column_index, config_error};
use crate::error::Result;
use crate::sources::clean_names;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// A UTF-8 CSV with a header; its column names are normalized like a source's.
    pub path: String,
    /// The data's column to match; the file must have a column of the same name (or `file_key`).
    pub key: String,
    #[serde(default)]
    pub file_key: Option<String>,
    /// The file's columns to add (as text).
    pub columns: Vec<String>,
}

pub(super) struct Lookup {
    key: usize,
    /// Key → the added columns' values.
    table: HashMap<String, Vec<String>>,
    output: SchemaRef,
}

impl Lookup {
    pub(super) fn compile(c: &LookupConfig, schema: &SchemaRef, site: Site<'_>) -> Result<Self> {
        let key = column_index(schema, &c.key, site, "key")?;
        let bad = |field: &str, m: String| config_error(site, field, m);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(&c.path)
            .map_err(|e| bad("path", format!("{}: {e}", c.path)))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| bad("path", format!("{}: {e}", c.path)))?
            .iter()
            .map(str::to_string)
            .collect();
        let names = clean_names(&header, true);
        let find = |name: &str, field: &str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                bad(
                    field,
                    format!(
                        "{} has no column `{name}`; it has: {}",
                        c.path,
                        names.join(", ")
                    ),
                )
            })
        };
        let file_key = find(c.file_key.as_deref().unwrap_or(&c.key), "file_key")?;
        if c.columns.is_empty() {
            return Err(bad("columns", "name at least one column to add".into()));
        }
        let wanted: Vec<usize> = c
            .columns
            .iter()
            .map(|name| {
                if schema.index_of(name).is_ok() {
                    return Err(bad(
                        "columns",
                        format!("the data already has a column `{name}`"),
                    ));
                }
                find(name, "columns")
            })
            .collect::<Result<_>>()?;
        let mut table = HashMap::new();
        for (row, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| bad("path", format!("{}: row {}: {e}", c.path, row + 2)))?;
            let k = record.get(file_key).unwrap_or("").trim().to_string();
            let values = wanted
                .iter()
                .map(|&w| record.get(w).unwrap_or("").to_string())
                .collect();
            if table.insert(k.clone(), values).is_some() {
                return Err(bad(
                    "path",
                    format!("{}: row {}: key `{k}` appears twice", c.path, row + 2),
                ));
            }
        }
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(
            c.columns
                .iter()
                .map(|n| Field::new(n, DataType::Utf8, true)),
        );
        Ok(Self {
            key,
            table,
            output: Arc::new(Schema::new(fields)),
        })
    }
}

impl Transform for Lookup {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let keys = batch.column(self.key);
        let options = FormatOptions::default();
        let f = ArrayFormatter::try_new(keys.as_ref(), &options)?;
        let added = self.output.fields().len() - batch.num_columns();
        let mut builders: Vec<StringBuilder> = (0..added)
            .map(|_| StringBuilder::with_capacity(batch.num_rows(), batch.num_rows() * 8))
            .collect();
        let mut text = String::new();
        for r in 0..batch.num_rows() {
            let found = if keys.is_null(r) {
                None
            } else {
                text.clear();
                use std::fmt::Write;
                let _ = write!(text, "{}", f.value(r));
                self.table.get(text.trim())
            };
            for (j, b) in builders.iter_mut().enumerate() {
                match found {
                    Some(values) if !values[j].is_empty() => b.append_value(&values[j]),
                    _ => b.append_null(),
                }
            }
        }
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.extend(
            builders
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        Ok(RecordBatch::try_new(self.output.clone(), columns)?)
    }
}
