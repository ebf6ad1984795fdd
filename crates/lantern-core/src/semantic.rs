//! The semantic layer: each dataset's dimensions and measures, defined once in `datasets/<id>.yaml` and referred
//! to by name from dashboards (and later the AI chat).
//!
//! ```yaml
//! id: cursor_usage
//! title: Cursor Usage
//! metrics:
//!   dimensions:
//!     team: {label: Team}
//!     model: {column: most_used_model, label: Model}
//!   measures:
//!     tab_acceptance_rate:
//!       expr: sum(tabs_accepted) / sum(tabs_shown)
//!       format: percent
//! ```
//!
//! Measure expressions are SQL aggregate expressions parsed with DataFusion's own parser into [`Expr`]s; `/`
//! always divides as floating point (like most BI tools) and yields null on a zero denominator.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::MemTable;
use datafusion::functions::expr_fn::nullif;
use datafusion::logical_expr::utils::find_aggregate_exprs;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, cast};
use datafusion::prelude::{SessionContext, lit};
use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::yaml_lines::LineIndex;

/// How a measure's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Whole number with thousands separators.
    Integer,
    /// Number with up to two decimals.
    #[default]
    Number,
    /// Ratio shown as a percentage.
    Percent,
    /// Amount in US dollars.
    Currency,
}

/// A dimension: a column to group and filter by.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DimensionSpec {
    /// The column; defaults to the dimension's name.
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

/// A measure: a named aggregate expression.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSpec {
    pub expr: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub description: Option<String>,
    /// Which way is good news, for the colour of a KPI's change: `up` (default) or `down` (costs, delays).
    #[serde(default)]
    pub good: Direction,
}

/// Which direction of change is good for a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Up,
    Down,
}

/// The `metrics:` block of a dataset spec.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    #[serde(default)]
    pub dimensions: IndexMap<String, Option<DimensionSpec>>,
    #[serde(default)]
    pub measures: IndexMap<String, MeasureSpec>,
}

/// The parsed (not yet schema-checked) content of `datasets/<id>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpecFile {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Cache TTL for this dataset's query results; defaults to `cache.ttl_secs`.
    #[serde(default)]
    pub cache_ttl_secs: Option<u64>,
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// How the dataset is loaded: read by `lantern-etl` (its own typed, checked config), opaque here.
    #[serde(default)]
    pub source: Option<serde_yaml::Value>,
    #[serde(default)]
    pub load: Option<serde_yaml::Value>,
    #[serde(default)]
    pub transforms: Option<serde_yaml::Value>,
    #[serde(default)]
    pub schedule: Option<serde_yaml::Value>,
}

/// A dataset spec with the file it came from, for error messages.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub spec: DatasetSpecFile,
    pub file: PathBuf,
    lines: LineIndex,
}

impl DatasetSpec {
    /// Parses a dataset spec; errors name the file, line and field.
    pub fn parse(file: &Path, text: &str) -> Result<Self> {
        let (spec, lines): (DatasetSpecFile, LineIndex) =
            crate::yaml_lines::parse_spec(file, text)?;
        let this = Self {
            spec,
            file: file.to_path_buf(),
            lines,
        };
        if !crate::catalog::valid_id(&this.spec.id) {
            return Err(this.error("id", "use lowercase letters, digits, `_` and `-`"));
        }
        if let Some(0) = this.spec.cache_ttl_secs {
            return Err(this.error("cache_ttl_secs", "must be at least 1"));
        }
        Ok(this)
    }

    /// Reads every `*.yaml` in `dir` (sorted by file name). A missing folder is an empty list.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        crate::dashboard::read_yaml_dir(dir)?
            .into_iter()
            // A seed-style `domo_datasets.yaml` lists how several datasets are loaded: the ETL's, not a spec.
            .filter(|(path, _)| {
                !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.ends_with("domo_datasets.yaml") || n.ends_with("domo_datasets.yml")
                })
            })
            .map(|(path, text)| Self::parse(&path, &text))
            .collect()
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn title(&self) -> &str {
        self.spec.title.as_deref().unwrap_or(&self.spec.id)
    }

    pub(crate) fn error(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Spec {
            file: self.file.clone(),
            line: self.lines.line(field),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl DatasetSpec {
    /// Checks that the spec defines dimension `name`; `error` turns a message into an error that names the field
    /// that referred to it.
    pub fn check_dimension(&self, name: &str, error: &dyn Fn(String) -> Error) -> Result<()> {
        if self.spec.metrics.dimensions.contains_key(name) {
            return Ok(());
        }
        let known: Vec<&str> = self
            .spec
            .metrics
            .dimensions
            .keys()
            .map(String::as_str)
            .collect();
        Err(error(format!(
            "unknown dimension `{name}`; {} defines: {}",
            self.file.display(),
            known.join(", ")
        )))
    }

    /// Checks that the spec defines measure `name` (or it is the built-in row count).
    pub fn check_measure(&self, name: &str, error: &dyn Fn(String) -> Error) -> Result<()> {
        if name == crate::shape::ROWS || self.spec.metrics.measures.contains_key(name) {
            return Ok(());
        }
        let known: Vec<&str> = self
            .spec
            .metrics
            .measures
            .keys()
            .map(String::as_str)
            .collect();
        Err(error(format!(
            "unknown measure `{name}`; {} defines: {}",
            self.file.display(),
            known.join(", ")
        )))
    }
}

/// A dimension checked against the dataset schema.
#[derive(Debug, Clone)]
pub struct Dimension {
    pub name: String,
    pub column: String,
    pub label: String,
    pub data_type: DataType,
}

/// A measure compiled to a DataFusion aggregate expression.
#[derive(Debug, Clone)]
pub struct Measure {
    pub name: String,
    pub label: String,
    pub format: Format,
    pub good: Direction,
    pub description: Option<String>,
    pub sql: String,
    pub expr: Expr,
}

/// A dataset's dimensions and measures, checked against one version's schema.
#[derive(Debug, Clone)]
pub struct SemanticModel {
    pub dataset: String,
    pub schema: SchemaRef,
    pub dimensions: IndexMap<String, Dimension>,
    pub measures: IndexMap<String, Measure>,
}

/// Names starting with `__` are the query layer's own output columns (row counts, bin widths, aggregate calls):
/// a dimension or measure so named would collide with them.
fn reserved(spec: &DatasetSpec, field: &str, name: &str) -> Result<()> {
    if name.starts_with("__") {
        return Err(spec.error(
            field,
            format!("`{name}`: names starting with `__` are reserved for Lantern's own columns"),
        ));
    }
    Ok(())
}

impl SemanticModel {
    /// Checks every dimension column and parses every measure against `schema`.
    pub fn compile(spec: &DatasetSpec, schema: SchemaRef) -> Result<Self> {
        let ctx = SessionContext::new();
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let empty = Arc::new(MemTable::try_new(schema.clone(), vec![vec![]])?);
        let probe = ctx.read_table(empty)?;

        let mut dimensions = IndexMap::new();
        for (name, dim) in &spec.spec.metrics.dimensions {
            let dim = dim.clone().unwrap_or_default();
            let column = dim.column.clone().unwrap_or_else(|| name.clone());
            let field = format!("metrics.dimensions.{name}");
            reserved(spec, &field, name)?;
            let data_type = schema
                .field_with_name(&column)
                .map_err(|_| spec.error(&field, unknown_column(&column, &schema)))?
                .data_type()
                .clone();
            dimensions.insert(
                name.clone(),
                Dimension {
                    name: name.clone(),
                    label: dim.label.clone().unwrap_or_else(|| title_case(name)),
                    column,
                    data_type,
                },
            );
        }

        let mut measures = IndexMap::new();
        for (name, m) in &spec.spec.metrics.measures {
            reserved(spec, &format!("metrics.measures.{name}"), name)?;
            let field = format!("metrics.measures.{name}.expr");
            let parsed = ctx.parse_sql_expr(&m.expr, &df_schema).map_err(|e| {
                spec.error(&field, format!("`{}`: {}", m.expr, e.strip_backtrace()))
            })?;
            if find_aggregate_exprs([&parsed]).is_empty() {
                return Err(spec.error(
                    &field,
                    format!(
                        "`{}` is not an aggregate (use sum, count, avg, min, max, …)",
                        m.expr
                    ),
                ));
            }
            if let Some(bare) = columns_outside_aggregates(&parsed)? {
                return Err(spec.error(
                    &field,
                    format!("`{}` uses column `{bare}` outside an aggregate; wrap it in sum(), min(), …", m.expr),
                ));
            }
            let expr = float_division(parsed)?;
            // Planning an aggregate over an empty table catches bare columns and type errors now, not per request.
            probe
                .clone()
                .aggregate(vec![], vec![expr.clone().alias(name)])
                .map_err(|e| {
                    spec.error(&field, format!("`{}`: {}", m.expr, e.strip_backtrace()))
                })?;
            measures.insert(
                name.clone(),
                Measure {
                    name: name.clone(),
                    label: m.label.clone().unwrap_or_else(|| title_case(name)),
                    format: m.format,
                    good: m.good,
                    description: m.description.clone(),
                    sql: m.expr.clone(),
                    expr,
                },
            );
        }
        // The built-in row count (filter options, histograms); a name no spec can define.
        measures.insert(
            crate::shape::ROWS.to_string(),
            Measure {
                name: crate::shape::ROWS.to_string(),
                label: "Rows".to_string(),
                format: Format::Integer,
                good: Direction::Up,
                description: None,
                sql: "count(*)".to_string(),
                expr: datafusion::functions_aggregate::expr_fn::count(lit(1i64)),
            },
        );
        Ok(Self {
            dataset: spec.spec.id.clone(),
            schema,
            dimensions,
            measures,
        })
    }
}

/// Rewrites every `a / b` into `CAST(a AS DOUBLE) / NULLIF(CAST(b AS DOUBLE), 0)`.
fn float_division(expr: Expr) -> Result<Expr> {
    let rewritten = expr.transform_up(|e| match e {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Divide,
            right,
        }) => {
            let l = cast(*left, DataType::Float64);
            let r = nullif(cast(*right, DataType::Float64), lit(0.0f64));
            Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(l),
                Operator::Divide,
                Box::new(r),
            ))))
        }
        other => Ok(Transformed::no(other)),
    })?;
    Ok(rewritten.data)
}

/// The first column referenced outside any aggregate function, if any.
fn columns_outside_aggregates(expr: &Expr) -> Result<Option<String>> {
    let stripped = expr
        .clone()
        .transform_down(|e| match e {
            Expr::AggregateFunction(_) => {
                Ok(Transformed::new(lit(0i64), true, TreeNodeRecursion::Jump))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data;
    Ok(stripped
        .column_refs()
        .into_iter()
        .next()
        .map(|c| c.name.clone()))
}

fn unknown_column(column: &str, schema: &SchemaRef) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    format!(
        "unknown column `{column}`; the dataset has: {}",
        names.join(", ")
    )
}

/// `tab_acceptance_rate` → `Tab acceptance rate`.
pub fn title_case(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("team", DataType::Utf8, false),
            Field::new("user_email", DataType::Utf8, false),
            Field::new("is_active", DataType::Boolean, false),
            Field::new("tabs_shown", DataType::Int64, false),
            Field::new("tabs_accepted", DataType::Int64, false),
        ]))
    }

    fn spec(text: &str) -> Result<DatasetSpec> {
        DatasetSpec::parse(Path::new("datasets/x.yaml"), text)
    }

    /// The error that compiling the spec `text` gives, as shown.
    fn compile_error(text: &str) -> String {
        SemanticModel::compile(&spec(text).unwrap(), schema())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn compiles_measures_and_dimensions() {
        let s = spec(
            "id: x\nmetrics:\n  dimensions:\n    team:\n    who: {column: user_email, label: User}\n  measures:\n    rate:\n      expr: sum(tabs_accepted) / sum(tabs_shown)\n      format: percent\n    active:\n      expr: count(distinct user_email) filter (where is_active)\n",
        )
        .unwrap();
        let m = SemanticModel::compile(&s, schema()).unwrap();
        assert_eq!(m.dimensions["team"].label, "Team");
        assert_eq!(m.dimensions["who"].column, "user_email");
        assert_eq!(m.measures["rate"].format, Format::Percent);
        let shown = m.measures["rate"].expr.to_string();
        assert!(shown.contains("nullif"), "{shown}");
    }

    #[test]
    fn unknown_column_names_file_line_and_field() {
        let err = compile_error("id: x\nmetrics:\n  dimensions:\n    team:\n    region: {}\n");
        assert!(
            err.starts_with("datasets/x.yaml:5: `metrics.dimensions.region`"),
            "{err}"
        );
        assert!(err.contains("unknown column `region`"), "{err}");
    }

    #[test]
    fn reserved_names_are_rejected() {
        let err = compile_error("id: x\nmetrics:\n  dimensions:\n    __agg0: {column: team}\n");
        assert!(
            err.contains("x.yaml:4: `metrics.dimensions.__agg0`"),
            "{err}"
        );
        assert!(err.contains("reserved"), "{err}");
        let err =
            compile_error("id: x\nmetrics:\n  measures:\n    __rows:\n      expr: count(*)\n");
        assert!(err.contains("`metrics.measures.__rows`"), "{err}");
    }

    #[test]
    fn bad_measures_are_rejected() {
        let err = compile_error("id: x\nmetrics:\n  measures:\n    m:\n      expr: sum(nope)\n");
        assert!(err.contains("x.yaml:5: `metrics.measures.m.expr`"), "{err}");

        let err =
            compile_error("id: x\nmetrics:\n  measures:\n    m:\n      expr: tabs_shown + 1\n");
        assert!(err.contains("not an aggregate"), "{err}");

        let s = spec(
            "id: x\nmetrics:\n  measures:\n    m:\n      expr: sum(tabs_shown) + tabs_shown\n",
        )
        .unwrap();
        assert!(SemanticModel::compile(&s, schema()).is_err());
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = spec("id: x\nmetrics:\n  measures:\n    m:\n      exp: sum(a)\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.yaml:5"), "{err}");
        assert!(err.contains("unknown field `exp`"), "{err}");
    }
}
