//! Column-shaping transforms: trim, rename, select.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use serde::Deserialize;

use super::{Site, Transform, column_index, config_error};
use crate::error::Result;

/// `trim: all` or `trim: [a, b]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TrimColumns {
    All(String),
    Some(Vec<String>),
}

pub(super) struct Trim {
    columns: Vec<usize>,
}

impl Trim {
    pub(super) fn compile(c: &TrimColumns, schema: &SchemaRef, site: Site<'_>) -> Result<Self> {
        let is_text = |t: &DataType| matches!(t, DataType::Utf8);
        let columns = match c {
            TrimColumns::All(all) if all == "all" => schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| is_text(f.data_type()))
                .map(|(i, _)| i)
                .collect(),
            TrimColumns::All(other) => {
                return Err(config_error(
                    site,
                    "trim",
                    format!("`{other}`: write `all` or a list of columns"),
                ));
            }
            TrimColumns::Some(names) => names
                .iter()
                .map(|n| {
                    let idx = column_index(schema, n, site, "trim")?;
                    if !is_text(schema.field(idx).data_type()) {
                        return Err(config_error(
                            site,
                            "trim",
                            format!("column `{n}` is not text"),
                        ));
                    }
                    Ok(idx)
                })
                .collect::<Result<_>>()?,
        };
        Ok(Self { columns })
    }
}

impl Transform for Trim {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        for &c in &self.columns {
            let s = cols[c].as_string::<i32>();
            let trimmed: StringArray = s.iter().map(|v| v.map(str::trim)).collect();
            cols[c] = Arc::new(trimmed);
        }
        Ok(RecordBatch::try_new(batch.schema(), cols)?)
    }
}

pub(super) struct Rename {
    schema: SchemaRef,
}

impl Rename {
    pub(super) fn compile(
        map: &BTreeMap<String, String>,
        schema: &SchemaRef,
        site: Site<'_>,
    ) -> Result<Self> {
        for old in map.keys() {
            column_index(schema, old, site, "rename")?;
        }
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref().clone().with_name(
                    map.get(f.name())
                        .cloned()
                        .unwrap_or_else(|| f.name().clone()),
                )
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for f in &fields {
            if !seen.insert(f.name().clone()) {
                return Err(config_error(
                    site,
                    "rename",
                    format!("two columns would be named `{}`", f.name()),
                ));
            }
        }
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
        })
    }
}

impl Transform for Rename {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new(
            self.schema.clone(),
            batch.columns().to_vec(),
        )?)
    }
}

pub(super) struct Select {
    indices: Vec<usize>,
}

impl Select {
    pub(super) fn compile(names: &[String], schema: &SchemaRef, site: Site<'_>) -> Result<Self> {
        if names.is_empty() {
            return Err(config_error(site, "select", "name at least one column"));
        }
        let indices = names
            .iter()
            .map(|n| column_index(schema, n, site, "select"))
            .collect::<Result<_>>()?;
        Ok(Self { indices })
    }
}

impl Transform for Select {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        Ok(batch.project(&self.indices)?)
    }
}
