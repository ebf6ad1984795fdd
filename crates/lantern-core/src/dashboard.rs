//! Dashboards as code: `dashboards/*.yaml` files that lay out filters, KPI cards and charts over one dataset's
//! dimensions and measures (see [`crate::semantic`]).
//!
//! ```yaml
//! id: cursor-usage
//! title: Cursor Usage
//! dataset: cursor_usage
//! filters:
//!   - {dimension: team, type: multi_select}
//!   - {dimension: date, type: date_range}
//! kpis: [active_users, total_requests]
//! charts:
//!   - {id: daily, type: line, x: date, y: total_requests}
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::semantic::{DatasetSpec, SemanticModel};
use crate::yaml_lines::LineIndex;

/// The kind of control a filter renders as, and the URL grammar it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// `col=a&col=b`: keep rows whose value is any of those given.
    MultiSelect,
    /// `col=2025-01-01..2025-03-31`: inclusive; either side may be empty.
    DateRange,
    /// `col=10..99.5`: inclusive; either side may be empty.
    NumericRange,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub dimension: String,
    #[serde(rename = "type")]
    pub kind: FilterKind,
    #[serde(default)]
    pub label: Option<String>,
}

/// A KPI card: a measure, written as its name or as `{measure, label, sparkline}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KpiSpec {
    Name(String),
    Full(KpiOptions),
}

/// A KPI card's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiOptions {
    pub measure: String,
    #[serde(default)]
    pub label: Option<String>,
    /// A small trend line under the value, over the dashboard's date filter dimension; on by default when the
    /// dashboard has a date filter.
    #[serde(default)]
    pub sparkline: Option<bool>,
}

impl KpiSpec {
    pub fn measure(&self) -> &str {
        match self {
            KpiSpec::Name(m) => m,
            KpiSpec::Full(o) => &o.measure,
        }
    }

    pub fn label(&self) -> Option<&str> {
        match self {
            KpiSpec::Name(_) => None,
            KpiSpec::Full(o) => o.label.as_deref(),
        }
    }

    pub fn sparkline(&self) -> Option<bool> {
        match self {
            KpiSpec::Name(_) => None,
            KpiSpec::Full(o) => o.sparkline,
        }
    }
}

/// One chart of a dashboard: the fields every kind shares, plus the kind's own options, which the chart library
/// (the web crate's `charts` registry) deserializes into that kind's options struct and checks.
#[derive(Debug, Clone, Deserialize)]
pub struct ChartSpec {
    pub id: String,
    /// The chart kind's registered name (`bar`, `pivot`, …).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub title: Option<String>,
    /// A line under the title.
    #[serde(default)]
    pub description: Option<String>,
    /// Take the whole row instead of half of it.
    #[serde(default)]
    pub wide: bool,
    /// Everything else: the kind's own options.
    #[serde(flatten)]
    pub options: serde_yaml::Mapping,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSpecFile {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// One of the built-in icon names (see the web crate's icon set); defaults to `chart`.
    #[serde(default)]
    pub icon: Option<String>,
    pub dataset: String,
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
    #[serde(default)]
    pub kpis: Vec<KpiSpec>,
    #[serde(default)]
    pub charts: Vec<ChartSpec>,
}

/// A dashboard spec with the file it came from.
#[derive(Debug, Clone)]
pub struct DashboardSpec {
    pub spec: DashboardSpecFile,
    pub file: PathBuf,
    lines: LineIndex,
}

/// Icons the web layer can draw; a spec naming another is rejected at start.
pub const ICONS: &[&str] = &[
    "chart", "cursor", "globe", "truck", "users", "table", "clock", "money",
];

impl DashboardSpec {
    /// Parses a dashboard spec; errors name the file, line and field.
    pub fn parse(file: &Path, text: &str) -> Result<Self> {
        let (spec, lines): (DashboardSpecFile, LineIndex) =
            crate::yaml_lines::parse_spec(file, text)?;
        let this = Self {
            spec,
            file: file.to_path_buf(),
            lines,
        };
        this.check_shape()?;
        Ok(this)
    }

    /// A spec built in code (a custom Rust page): checked like a parsed one; errors name `origin` (its module).
    pub fn from_parts(spec: DashboardSpecFile, origin: &Path) -> Result<Self> {
        let this = Self {
            spec,
            file: origin.to_path_buf(),
            lines: LineIndex::default(),
        };
        this.check_shape()?;
        Ok(this)
    }

    /// Reads every `*.yaml` in `dir`. A missing folder is an empty list.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        let specs: Vec<Self> = read_yaml_dir(dir)?
            .into_iter()
            .map(|(path, text)| Self::parse(&path, &text))
            .collect::<Result<_>>()?;
        let mut seen = HashSet::new();
        for d in &specs {
            if !seen.insert(d.spec.id.clone()) {
                return Err(d.error(
                    "id",
                    format!("another dashboard already has id `{}`", d.spec.id),
                ));
            }
        }
        Ok(specs)
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// An error about `field` (a dotted path such as `charts[2].bins`) naming this file and the field's line.
    pub fn error(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Spec {
            file: self.file.clone(),
            line: self.lines.line(field),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The dashboard's date range filter, if it has one: the dimension KPI comparisons and sparklines use.
    pub fn date_filter(&self) -> Option<&FilterSpec> {
        self.spec
            .filters
            .iter()
            .find(|f| f.kind == FilterKind::DateRange)
    }

    /// Checks that need no dataset: ids and icon. (Each chart kind checks its own options.)
    fn check_shape(&self) -> Result<()> {
        let s = &self.spec;
        if !crate::catalog::valid_id(&s.id) {
            return Err(self.error("id", "use lowercase letters, digits, `_` and `-`"));
        }
        if let Some(icon) = &s.icon
            && !ICONS.contains(&icon.as_str())
        {
            return Err(self.error(
                "icon",
                format!("unknown icon `{icon}`; choose one of {}", ICONS.join(", ")),
            ));
        }
        let mut ids = HashSet::new();
        for (i, c) in s.charts.iter().enumerate() {
            if !crate::catalog::valid_id(&c.id) || c.id == "kpis" {
                return Err(self.error(
                    &format!("charts[{i}].id"),
                    "use lowercase letters, digits, `_` and `-` (not `kpis`)",
                ));
            }
            if !ids.insert(&c.id) {
                return Err(self.error(
                    &format!("charts[{i}].id"),
                    format!("duplicate chart id `{}`", c.id),
                ));
            }
        }
        Ok(())
    }

    /// Finds the dashboard's dataset among `datasets` and checks every name against it.
    pub fn check_against<'a>(&self, datasets: &'a [DatasetSpec]) -> Result<&'a DatasetSpec> {
        let Some(ds) = datasets.iter().find(|d| d.id() == self.spec.dataset) else {
            let known: Vec<&str> = datasets.iter().map(|d| d.id()).collect();
            return Err(self.error(
                "dataset",
                format!(
                    "no dataset spec with id `{}` (known: {}); add one to the datasets folder",
                    self.spec.dataset,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        self.check_names(ds)?;
        Ok(ds)
    }

    /// Checks every dimension and measure name against the dataset's spec.
    pub fn check_names(&self, dataset: &DatasetSpec) -> Result<()> {
        let s = &self.spec;
        if s.dataset != dataset.id() {
            return Err(self.error("dataset", format!("expected dataset `{}`", dataset.id())));
        }
        let mut filtered = HashSet::new();
        for (i, f) in s.filters.iter().enumerate() {
            dataset.check_dimension(
                &f.dimension,
                &self.error_fn(format!("filters[{i}].dimension")),
            )?;
            if !filtered.insert(&f.dimension) {
                return Err(self.error(
                    &format!("filters[{i}].dimension"),
                    "this dimension already has a filter",
                ));
            }
        }
        let mut kpis = HashSet::new();
        for (i, k) in s.kpis.iter().enumerate() {
            let field = match k {
                KpiSpec::Name(_) => format!("kpis[{i}]"),
                KpiSpec::Full(_) => format!("kpis[{i}].measure"),
            };
            dataset.check_measure(k.measure(), &self.error_fn(field.clone()))?;
            if !kpis.insert(k.measure()) {
                return Err(self.error(
                    &field,
                    format!("measure `{}` already has a KPI card", k.measure()),
                ));
            }
        }
        Ok(())
    }

    /// A closure that makes an error about `field` of this file.
    pub fn error_fn(&self, field: String) -> impl Fn(String) -> Error + '_ {
        move |message| self.error(&field, message)
    }

    /// Checks filter kinds against column types once the dataset's schema is known.
    pub fn check_types(&self, model: &SemanticModel) -> Result<()> {
        use datafusion::arrow::datatypes::DataType as T;
        for (i, f) in self.spec.filters.iter().enumerate() {
            let Some(d) = model.dimensions.get(&f.dimension) else {
                continue;
            };
            let ok = match f.kind {
                FilterKind::MultiSelect => true,
                FilterKind::DateRange => {
                    matches!(d.data_type, T::Date32 | T::Date64 | T::Timestamp(..))
                }
                FilterKind::NumericRange => d.data_type.is_numeric(),
            };
            if !ok {
                return Err(self.error(
                    &format!("filters[{i}].type"),
                    format!(
                        "column `{}` is {}, which a {:?} filter cannot use",
                        d.column, d.data_type, f.kind
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `(path, text)` of every `*.yaml`/`*.yml` file in `dir`, sorted by name.
pub(crate) fn read_yaml_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.clone(), t))
                .map_err(|source| Error::Io { path: p, source })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATASET: &str = "id: ds\nmetrics:\n  dimensions:\n    team:\n    date:\n  measures:\n    total: {expr: sum(n)}\n";

    fn parse(text: &str) -> Result<DashboardSpec> {
        DashboardSpec::parse(Path::new("dashboards/d.yaml"), text)
    }

    #[test]
    fn parses_a_full_dashboard() {
        let d = parse(
            "id: d\ntitle: D\ndataset: ds\nfilters:\n  - {dimension: team, type: multi_select}\n  - {dimension: date, type: date_range}\nkpis:\n  - total\n  - {measure: __rows, label: All, sparkline: false}\ncharts:\n  - {id: by-team, type: bar, x: team, y: total, limit: 5}\n",
        )
        .unwrap();
        let ds = DatasetSpec::parse(Path::new("datasets/ds.yaml"), DATASET).unwrap();
        d.check_names(&ds).unwrap();
        assert_eq!(d.spec.kpis[1].label(), Some("All"));
        assert_eq!(d.spec.kpis[1].sparkline(), Some(false));
        assert_eq!(d.date_filter().map(|f| f.dimension.as_str()), Some("date"));
        let c = &d.spec.charts[0];
        assert_eq!(c.kind, "bar");
        assert_eq!(
            c.options.len(),
            3,
            "the kind's own options are kept for the chart library"
        );
        assert!(!c.options.contains_key("id"));
    }

    #[test]
    fn unknown_names_are_named_with_file_and_line() {
        let ds = DatasetSpec::parse(Path::new("datasets/ds.yaml"), DATASET).unwrap();
        let d = parse("id: d\ntitle: D\ndataset: ds\nkpis:\n  - total\n  - revenue\n").unwrap();
        let err = d.check_names(&ds).unwrap_err().to_string();
        assert!(err.starts_with("dashboards/d.yaml:6: `kpis[1]`"), "{err}");
        assert!(err.contains("unknown measure `revenue`"), "{err}");

        let d = parse("id: d\ntitle: D\ndataset: ds\nfilters:\n  - dimension: region\n    type: multi_select\n").unwrap();
        let err = d.check_names(&ds).unwrap_err().to_string();
        assert!(
            err.starts_with("dashboards/d.yaml:5: `filters[0].dimension`"),
            "{err}"
        );
        assert!(err.contains("unknown dimension `region`"), "{err}");
    }

    #[test]
    fn duplicate_kpis_are_rejected() {
        let ds = DatasetSpec::parse(Path::new("datasets/ds.yaml"), DATASET).unwrap();
        let d = parse(
            "id: d\ntitle: D\ndataset: ds\nkpis:\n  - total\n  - {measure: total, label: Again}\n",
        )
        .unwrap();
        let err = d.check_names(&ds).unwrap_err().to_string();
        assert!(
            err.starts_with("dashboards/d.yaml:6: `kpis[1].measure`"),
            "{err}"
        );
        assert!(err.contains("already has a KPI card"), "{err}");
    }

    #[test]
    fn shape_rules() {
        assert!(
            parse("id: d\ntitle: D\ndataset: ds\nicon: rocket\n")
                .unwrap_err()
                .to_string()
                .contains("icon")
        );
        let err = parse("id: d\ntitle: D\ndataset: ds\ncharts:\n  - {id: a, type: bar, x: a, y: t}\n  - {id: a, type: bar, x: a, y: t}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate chart id"), "{err}");
        assert!(
            err.starts_with("dashboards/d.yaml:6: `charts[1].id`"),
            "{err}"
        );
        let err = parse("id: d\ntitle: D\ndataset: ds\nkpis:\n  - {measure: total, colour: red}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dashboards/d.yaml:5"), "{err}");
    }
}
