//! Transforms: applied in order to every batch between the source and the sink.
//!
//! ```yaml
//! transforms:
//!   - trim: [country, status]               # strip surrounding white space (or `trim: all`)
//!   - rename: {customer_segment: segment}
//!   - exclude: {column: status, values: [Cancelled]}
//!   - derive: {name: due_month, expr: "to_char(due_date, '%Y-%m')"}   # any DataFusion SQL expression
//!   - lookup: {path: data/regions.csv, key: country, columns: [region]}   # add columns from a small CSV
//!   - select: [order_id, country, segment, due_date, due_month]
//! ```
//!
//! Each transform is compiled once against the schema it receives (so a bad column or expression fails before
//! any row is read, naming `transforms[i]`), then applied batch by batch.

mod columns;
mod derive;
pub mod exclude;
pub mod lookup;
mod validate;

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use serde::Deserialize;

use crate::config::Spec;
use crate::error::{EtlError, Result};

/// One entry of `transforms:`, written as a one-key map (`- derive: {…}`). A new kind is one module plus one
/// line here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransformConfig {
    Trim(columns::TrimColumns),
    Rename(std::collections::BTreeMap<String, String>),
    Select(Vec<String>),
    Exclude(exclude::ExcludeConfig),
    Derive(derive::DeriveConfig),
    Validate(validate::ValidateConfig),
    Lookup(lookup::LookupConfig),
}

/// Reads `transforms:` with each entry as a one-key map: serde_yaml alone writes an enum as a YAML tag
/// (`- !derive {…}`), which is not what people write.
pub fn deserialize_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<TransformConfig>, D::Error> {
    #[derive(Deserialize)]
    struct Entry(#[serde(with = "serde_yaml::with::singleton_map")] TransformConfig);
    Ok(Vec::<Entry>::deserialize(d)?
        .into_iter()
        .map(|Entry(t)| t)
        .collect())
}

/// A row a transform refused (a validation with `policy: quarantine`).
#[derive(Debug, Clone)]
pub struct Refused {
    /// The row's index in the batch given to [`Transforms::apply`].
    pub row: usize,
    pub column: String,
    pub reason: String,
    pub fields: Vec<String>,
}

/// What a step made of one batch.
struct Applied {
    batch: RecordBatch,
    /// Which of the input's rows remain, when the step dropped some.
    kept: Option<BooleanArray>,
    /// Rows refused, indexed in the step's input.
    refused: Vec<Refused>,
}

impl Applied {
    /// Every row kept, none refused.
    fn all(batch: RecordBatch) -> Self {
        Self {
            batch,
            kept: None,
            refused: vec![],
        }
    }
}

/// A compiled transform.
trait Transform: Send + Sync {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch>;

    /// Like `apply`, also saying which rows it dropped and which it refused (steps that drop rows).
    fn apply_checked(&self, batch: RecordBatch) -> Result<Applied> {
        Ok(Applied::all(self.apply(batch)?))
    }
}

/// The compiled chain.
pub struct Transforms {
    steps: Vec<Box<dyn Transform>>,
    validations: Vec<std::sync::Arc<validate::Validate>>,
    output: SchemaRef,
}

/// Forwards to a shared validation, so the chain can read its warning count after the run.
struct Shared(std::sync::Arc<validate::Validate>);

impl Transform for Shared {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        self.0.apply(batch)
    }
    fn apply_checked(&self, batch: RecordBatch) -> Result<Applied> {
        self.0.apply_checked(batch)
    }
}

/// Where a transform stands in the spec, for its config errors: `transforms[i].field`, on the field's line.
#[derive(Clone, Copy)]
pub(crate) struct Site<'a> {
    spec: Spec<'a>,
    index: usize,
    kind: &'static str,
}

/// A transform's config error at `field` (empty: the whole entry).
pub(crate) fn config_error(site: Site<'_>, field: &str, message: impl Into<String>) -> EtlError {
    let entry = format!("transforms[{}]", site.index);
    if field.is_empty() {
        return site.spec.error(entry, message);
    }
    // The entry is a one-key map (`- derive: {expr: …}`): the field stands under the kind's key.
    let line = site
        .spec
        .lines
        .line(&format!("{entry}.{}.{field}", site.kind));
    EtlError::Config {
        file: site.spec.file.to_path_buf(),
        line,
        field: format!("{entry}.{field}"),
        message: message.into(),
    }
}

impl TransformConfig {
    /// The key the entry is written under.
    fn kind(&self) -> &'static str {
        match self {
            TransformConfig::Trim(_) => "trim",
            TransformConfig::Rename(_) => "rename",
            TransformConfig::Select(_) => "select",
            TransformConfig::Exclude(_) => "exclude",
            TransformConfig::Derive(_) => "derive",
            TransformConfig::Validate(_) => "validate",
            TransformConfig::Lookup(_) => "lookup",
        }
    }
}

impl Transforms {
    /// Compiles `configs` in order against `input`.
    pub fn compile(configs: &[TransformConfig], input: SchemaRef, spec: Spec<'_>) -> Result<Self> {
        let mut steps: Vec<Box<dyn Transform>> = Vec::new();
        let mut validations = Vec::new();
        let mut schema = input;
        for (index, c) in configs.iter().enumerate() {
            let site = Site {
                spec,
                index,
                kind: c.kind(),
            };
            let step: Box<dyn Transform> = match c {
                TransformConfig::Trim(t) => Box::new(columns::Trim::compile(t, &schema, site)?),
                TransformConfig::Rename(map) => {
                    Box::new(columns::Rename::compile(map, &schema, site)?)
                }
                TransformConfig::Select(cols) => {
                    Box::new(columns::Select::compile(cols, &schema, site)?)
                }
                TransformConfig::Exclude(e) => {
                    Box::new(exclude::Exclude::compile(e, &schema, site)?)
                }
                TransformConfig::Derive(d) => Box::new(derive::Derive::compile(d, &schema, site)?),
                TransformConfig::Lookup(l) => Box::new(lookup::Lookup::compile(l, &schema, site)?),
                TransformConfig::Validate(v) => {
                    let v = std::sync::Arc::new(validate::Validate::compile(v, &schema, site)?);
                    validations.push(v.clone());
                    Box::new(Shared(v))
                }
            };
            // The schema after this step: apply it to no rows.
            schema = step.apply(RecordBatch::new_empty(schema.clone()))?.schema();
            steps.push(step);
        }
        Ok(Self {
            steps,
            validations,
            output: schema,
        })
    }

    /// The schema of what [`Transforms::apply`] returns.
    pub fn output_schema(&self) -> SchemaRef {
        self.output.clone()
    }

    /// Runs the chain over one batch; returns what remains and the rows validations refused (by their index in
    /// `batch`, so that the reader's line numbers still find them after earlier steps dropped rows).
    pub fn apply(&self, mut batch: RecordBatch) -> Result<(RecordBatch, Vec<Refused>)> {
        let mut refused = Vec::new();
        // For each remaining row, its index in the input; `None` while no row has been dropped.
        let mut origin: Option<Vec<usize>> = None;
        for step in &self.steps {
            let rows = batch.num_rows();
            let applied = step.apply_checked(batch)?;
            for mut r in applied.refused {
                if let Some(o) = &origin {
                    r.row = o[r.row];
                }
                refused.push(r);
            }
            if let Some(kept) = applied.kept {
                let before = origin.unwrap_or_else(|| (0..rows).collect());
                origin = Some(
                    before
                        .into_iter()
                        .zip(kept.values().iter())
                        .filter_map(|(row, keep)| keep.then_some(row))
                        .collect(),
                );
            }
            batch = applied.batch;
        }
        Ok((batch, refused))
    }

    /// Rows that failed a `policy: warn` validation so far (kept in the data).
    pub fn warnings(&self) -> u64 {
        self.validations.iter().map(|v| v.warnings()).sum()
    }
}

/// The index of `name` in `schema`, or an error listing the columns there are.
pub(crate) fn column_index(
    schema: &SchemaRef,
    name: &str,
    site: Site<'_>,
    field: &str,
) -> Result<usize> {
    schema.index_of(name).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        config_error(
            site,
            field,
            format!("no column `{name}` here; there are: {}", names.join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, Date32Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use lantern_core::yaml_lines::LineIndex;
    use std::path::Path;
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("country", DataType::Utf8, true),
            Field::new("status", DataType::Utf8, true),
            Field::new("due_date", DataType::Date32, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some(" Japan "),
                    Some("Korea"),
                    None,
                ])),
                Arc::new(StringArray::from(vec![
                    Some("Delivered"),
                    Some("Cancelled"),
                    Some("Open"),
                ])),
                Arc::new(Date32Array::from(vec![20089, 20120, 20200])),
            ],
        )
        .unwrap()
    }

    fn compile(yaml: &str) -> Result<Transforms> {
        let configs = deserialize_list(serde_yaml::Deserializer::from_str(yaml)).unwrap();
        // Line numbers as in a spec file where the list stands under `transforms:` on line 1.
        let spec_text: String = std::iter::once("transforms:\n".to_string())
            .chain(yaml.lines().map(|l| format!("  {l}\n")))
            .collect();
        let lines = LineIndex::new(&spec_text);
        let spec = Spec {
            file: Path::new("d.yaml"),
            lines: &lines,
        };
        Transforms::compile(&configs, batch().schema(), spec)
    }

    #[test]
    fn a_chain_trims_renames_excludes_derives_and_selects() {
        let t = compile(
            "- trim: all\n- rename: {country: nation}\n- exclude: {column: status, values: [Cancelled]}\n- derive: {name: due_month, expr: \"to_char(due_date, '%Y-%m')\"}\n- select: [nation, due_month]\n",
        )
        .unwrap();
        let (out, refused) = t.apply(batch()).unwrap();
        assert!(refused.is_empty());
        let schema = out.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["nation", "due_month"]);
        assert_eq!(t.output_schema(), out.schema());
        assert_eq!(out.num_rows(), 2, "the cancelled row is gone");
        let nation = out.column(0).as_string::<i32>();
        assert_eq!(nation.value(0), "Japan");
        assert!(nation.is_null(1));
        let month = out.column(1).as_string::<i32>();
        assert_eq!(month.value(0), "2025-01");
    }

    #[test]
    fn validations_fail_warn_or_quarantine() {
        let t = compile("- validate: {column: status, rule: allowed, values: [Delivered, Open], policy: quarantine}\n").unwrap();
        let (out, refused) = t.apply(batch()).unwrap();
        assert_eq!(out.num_rows(), 2);
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0]
                .reason
                .contains("`Cancelled` is not one of the allowed values"),
            "{:?}",
            refused[0]
        );
        assert_eq!(refused[0].fields[1], "Cancelled");

        let t = compile("- validate: {column: country, rule: not_null, policy: warn}\n").unwrap();
        let (out, _) = t.apply(batch()).unwrap();
        assert_eq!((out.num_rows(), t.warnings()), (3, 1));

        let t = compile("- validate: {column: country, rule: not_null}\n").unwrap();
        let err = t.apply(batch()).unwrap_err().to_string();
        assert!(
            err.contains("column `country`") && err.contains("is null"),
            "{err}"
        );

        let t =
            compile("- validate: {column: status, rule: unique, policy: quarantine}\n").unwrap();
        assert_eq!(t.apply(batch()).unwrap().1.len(), 0);
        assert_eq!(
            t.apply(batch()).unwrap().1.len(),
            3,
            "uniqueness holds across batches"
        );

        let t = compile("- validate: {column: status, rule: regex, pattern: '^[A-Z][a-z]+$', policy: quarantine}\n").unwrap();
        assert_eq!(t.apply(batch()).unwrap().1.len(), 0);
        let err = compile("- validate: {column: status, rule: range, min: 1}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("transforms[0].column") && err.contains("not a number"),
            "{err}"
        );
        let err = compile("- validate: {column: status, rule: regex, pattern: '('}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("transforms[0].pattern"), "{err}");
    }

    #[test]
    fn refused_rows_are_indexed_in_the_input_even_after_rows_were_dropped() {
        let t = compile(
            "- exclude: {column: status, values: [Delivered]}\n- validate: {column: country, rule: not_null, policy: quarantine}\n",
        )
        .unwrap();
        let (out, refused) = t.apply(batch()).unwrap();
        assert_eq!(
            out.num_rows(),
            1,
            "Delivered excluded, the null country refused"
        );
        assert_eq!(refused.len(), 1);
        // The input's third row (the first two: Delivered, then Korea kept).
        assert_eq!(refused[0].row, 2);
        assert_eq!(refused[0].fields[1], "Open");
    }

    #[test]
    fn errors_name_the_line_of_the_bad_field() {
        let err = compile("- trim: all\n- derive:\n    name: x\n    expr: 'due_date +* 1'\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("d.yaml:5: `transforms[1].expr`"), "{err}");
        let err = compile("- trim: all\n- rename: {country: nation}\n- rename: {nope: x}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("d.yaml:4: `transforms[2].rename`"), "{err}");
    }

    #[test]
    fn bad_columns_and_expressions_are_named() {
        let err = compile("- rename: {nope: x}\n").err().unwrap().to_string();
        assert!(
            err.contains("transforms[0]") && err.contains("no column `nope`"),
            "{err}"
        );
        let err = compile("- trim: all\n- derive: {name: x, expr: 'due_date +* 1'}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("transforms[1].expr"), "{err}");
        let err = compile("- exclude: {column: status, values: []}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("transforms[0].values"), "{err}");
        let err = deserialize_list(serde_yaml::Deserializer::from_str("- pivot: {}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown variant `pivot`") && err.contains("`derive`"),
            "{err}"
        );
        let err = compile("- exclude: {column: status, values: [x]}\n")
            .map(|_| ())
            .err();
        assert!(err.is_none());
        let err = compile("- exclude: {column: status, values: []}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("transforms[0].values"), "{err}");
    }
}
