//! `derive: {name, expr}`: a new (or replaced) column computed by a DataFusion SQL expression over the row.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use serde::Deserialize;

use super::{Site, Transform, config_error};
use crate::error::{EtlError, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveConfig {
    pub name: String,
    pub expr: String,
}

pub(super) struct Derive {
    expr: Arc<dyn PhysicalExpr>,
    /// Where the column goes: replaces an existing one, or is appended.
    position: Option<usize>,
    output: SchemaRef,
    sql: String,
}

impl Derive {
    pub(super) fn compile(c: &DeriveConfig, schema: &SchemaRef, site: Site<'_>) -> Result<Self> {
        if c.name.trim().is_empty() {
            return Err(config_error(site, "name", "must not be empty"));
        }
        let df_schema = DFSchema::try_from(schema.as_ref().clone())
            .map_err(|e| config_error(site, "expr", e.to_string()))?;
        let bad = |e: datafusion::error::DataFusionError| {
            config_error(
                site,
                "expr",
                format!("`{}`: {}", c.expr, e.strip_backtrace()),
            )
        };
        let ctx = SessionContext::new();
        let logical = ctx.parse_sql_expr(&c.expr, &df_schema).map_err(bad)?;
        let expr = ctx.create_physical_expr(logical, &df_schema).map_err(bad)?;
        let data_type = expr.data_type(schema).map_err(bad)?;
        let field = Field::new(&c.name, data_type, true);
        let position = schema.index_of(&c.name).ok();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        match position {
            Some(p) => fields[p] = field,
            None => fields.push(field),
        }
        Ok(Self {
            expr,
            position,
            output: Arc::new(Schema::new(fields)),
            sql: c.expr.clone(),
        })
    }
}

impl Transform for Derive {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let value = self
            .expr
            .evaluate(&batch)
            .and_then(|v| v.into_array(batch.num_rows()))
            .map_err(|e| {
                EtlError::source("derive", format!("`{}`: {}", self.sql, e.strip_backtrace()))
            })?;
        let mut cols = batch.columns().to_vec();
        match self.position {
            Some(p) => cols[p] = value,
            None => cols.push(value),
        }
        Ok(RecordBatch::try_new(self.output.clone(), cols)?)
    }
}
