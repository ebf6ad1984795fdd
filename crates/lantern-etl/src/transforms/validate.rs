//! `validate: {column, rule, …, policy}`: checks a column row by row.
//!
//! Rules: `not_null`, `unique` (across the whole run), `range` (`min`/`max`, numbers), `allowed` (`values`, compared as
//! text), `regex` (`pattern`, text). Policies: `fail` (default: the run stops naming the column, rule and value),
//! `warn` (counted and logged, rows kept), `quarantine` (rows moved to the version's quarantine file).

use std::collections::HashSet;
use std::sync::Mutex;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Float64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::Deserialize;

use super::{Applied, Refused, Site, Transform, column_index, config_error};
use crate::error::{EtlError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    NotNull,
    Unique,
    Range,
    Allowed,
    Regex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    #[default]
    Fail,
    Warn,
    Quarantine,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    pub column: String,
    pub rule: Rule,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub policy: Policy,
}

pub(super) struct Validate {
    column: usize,
    name: String,
    config: ValidateConfig,
    allowed: HashSet<String>,
    regex: Option<regex::Regex>,
    seen: Mutex<HashSet<String>>,
    warned: std::sync::atomic::AtomicU64,
}

impl Validate {
    pub(super) fn compile(c: &ValidateConfig, schema: &SchemaRef, site: Site<'_>) -> Result<Self> {
        let column = column_index(schema, &c.column, site, "column")?;
        let data_type = schema.field(column).data_type();
        match c.rule {
            Rule::Range => {
                if c.min.is_none() && c.max.is_none() {
                    return Err(config_error(
                        site,
                        "min",
                        "a range needs `min`, `max` or both",
                    ));
                }
                if !data_type.is_numeric() {
                    return Err(config_error(
                        site,
                        "column",
                        format!("`{}` is {data_type}, not a number", c.column),
                    ));
                }
            }
            Rule::Allowed if c.values.is_empty() => {
                return Err(config_error(site, "values", "list the allowed values"));
            }
            Rule::Regex if c.pattern.is_none() => {
                return Err(config_error(site, "pattern", "give a regular expression"));
            }
            _ => {}
        }
        let regex = match &c.pattern {
            Some(p) => Some(
                regex::Regex::new(p).map_err(|e| config_error(site, "pattern", e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            column,
            name: c.column.clone(),
            config: c.clone(),
            allowed: c.values.iter().cloned().collect(),
            regex,
            seen: Mutex::new(HashSet::new()),
            warned: Default::default(),
        })
    }

    /// Which rows pass (`true`), with the reason for those that do not.
    fn check(&self, batch: &RecordBatch) -> Result<Vec<Option<String>>> {
        let col = batch.column(self.column);
        let options = FormatOptions::default();
        let text = ArrayFormatter::try_new(col.as_ref(), &options)?;
        let n = batch.num_rows();
        let mut out = vec![None; n];
        match self.config.rule {
            Rule::NotNull => {
                for (r, o) in out.iter_mut().enumerate() {
                    if col.is_null(r) {
                        *o = Some("is null".into());
                    }
                }
            }
            Rule::Unique => {
                let mut seen = self.seen.lock().expect("not poisoned");
                for (r, o) in out.iter_mut().enumerate() {
                    if !col.is_null(r) && !seen.insert(text.value(r).to_string()) {
                        *o = Some(format!("`{}` appears more than once", text.value(r)));
                    }
                }
            }
            Rule::Range => {
                let floats = cast(col.as_ref(), &DataType::Float64)?;
                let floats = floats.as_primitive::<Float64Type>();
                for (r, o) in out.iter_mut().enumerate() {
                    if floats.is_null(r) {
                        continue;
                    }
                    let v = floats.value(r);
                    if self.config.min.is_some_and(|m| v < m)
                        || self.config.max.is_some_and(|m| v > m)
                    {
                        *o = Some(format!(
                            "{} is outside [{}, {}]",
                            text.value(r),
                            self.config
                                .min
                                .map(|m| m.to_string())
                                .unwrap_or_else(|| "-inf".into()),
                            self.config
                                .max
                                .map(|m| m.to_string())
                                .unwrap_or_else(|| "inf".into())
                        ));
                    }
                }
            }
            Rule::Allowed => {
                for (r, o) in out.iter_mut().enumerate() {
                    if !col.is_null(r) && !self.allowed.contains(&text.value(r).to_string()) {
                        *o = Some(format!(
                            "`{}` is not one of the allowed values",
                            text.value(r)
                        ));
                    }
                }
            }
            Rule::Regex => {
                let re = self.regex.as_ref().expect("compiled");
                for (r, o) in out.iter_mut().enumerate() {
                    if !col.is_null(r) && !re.is_match(&text.value(r).to_string()) {
                        *o = Some(format!(
                            "`{}` does not match `{}`",
                            text.value(r),
                            re.as_str()
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) fn warnings(&self) -> u64 {
        self.warned.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Transform for Validate {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        Ok(self.apply_checked(batch)?.batch)
    }

    fn apply_checked(&self, batch: RecordBatch) -> Result<Applied> {
        let verdicts = self.check(&batch)?;
        if verdicts.iter().all(Option::is_none) {
            return Ok(Applied::all(batch));
        }
        let rule = format!("{:?}", self.config.rule).to_lowercase();
        match self.config.policy {
            Policy::Fail => {
                let reason = verdicts.into_iter().flatten().next().expect("one failed");
                Err(EtlError::Source {
                    file: format!("validate {rule}"),
                    row: None,
                    column: Some(self.name.clone()),
                    message: reason,
                })
            }
            Policy::Warn => {
                let bad = verdicts.iter().flatten().count() as u64;
                self.warned
                    .fetch_add(bad, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(column = %self.name, rule, rows = bad, "validation failed; rows kept");
                Ok(Applied::all(batch))
            }
            Policy::Quarantine => {
                let keep: BooleanArray = verdicts.iter().map(|v| Some(v.is_none())).collect();
                let options = FormatOptions::default();
                let formatters = batch
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let refused = verdicts
                    .iter()
                    .enumerate()
                    .filter_map(|(r, v)| {
                        v.as_ref().map(|reason| Refused {
                            row: r,
                            column: self.name.clone(),
                            reason: format!("{rule}: {reason}"),
                            fields: formatters.iter().map(|f| f.value(r).to_string()).collect(),
                        })
                    })
                    .collect();
                Ok(Applied {
                    batch: filter_record_batch(&batch, &keep)?,
                    kept: Some(keep),
                    refused,
                })
            }
        }
    }
}
