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

/// A KPI card: a measure, written as its name or as `{measure, label}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KpiSpec {
    Name(String),
    Full {
        measure: String,
        #[serde(default)]
        label: Option<String>,
    },
}

impl KpiSpec {
    pub fn measure(&self) -> &str {
        match self {
            KpiSpec::Name(m) | KpiSpec::Full { measure: m, .. } => m,
        }
    }

    pub fn label(&self) -> Option<&str> {
        match self {
            KpiSpec::Name(_) => None,
            KpiSpec::Full { label, .. } => label.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Line,
    Area,
    Bar,
    HorizontalBar,
    Pie,
    Table,
}

/// Row order of a chart's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// By the x dimension(s), ascending.
    X,
    XDesc,
    /// By the first measure, ascending.
    Y,
    YDesc,
}

/// One value or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ChartKind,
    #[serde(default)]
    pub title: Option<String>,
    /// Dimension(s) on the x axis (pie: slices; table: leading columns).
    pub x: OneOrMany,
    /// Measure(s) plotted.
    pub y: OneOrMany,
    /// A dimension that splits the measure into series (line, area, bar).
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub sort: Option<SortOrder>,
    /// Keep only the first N rows after sorting (bar, pie, table).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Take the whole row instead of half of it.
    #[serde(default)]
    pub wide: bool,
}

impl ChartSpec {
    pub fn title(&self, model: Option<&SemanticModel>) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        let y = self.y.to_vec();
        let label = |m: &str| {
            model
                .and_then(|mm| mm.measures.get(m).map(|x| x.label.clone()))
                .unwrap_or_else(|| crate::semantic::title_case(m))
        };
        format!("{} by {}", label(&y[0]), self.x.to_vec().join(", "))
    }

    /// Dimensions the chart groups by: x then color.
    pub fn group_by(&self) -> Vec<String> {
        let mut g = self.x.to_vec();
        if let Some(c) = &self.color {
            g.push(c.clone());
        }
        g
    }

    pub fn effective_sort(&self) -> SortOrder {
        self.sort.unwrap_or(match self.kind {
            ChartKind::Line | ChartKind::Area => SortOrder::X,
            _ => SortOrder::YDesc,
        })
    }
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

    pub(crate) fn error(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Spec {
            file: self.file.clone(),
            line: self.lines.line(field),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Checks that need no dataset: ids, icon, per-chart-type rules.
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
            let at = |f: &str| format!("charts[{i}].{f}");
            if !crate::catalog::valid_id(&c.id) || c.id == "kpis" {
                return Err(self.error(
                    &at("id"),
                    "use lowercase letters, digits, `_` and `-` (not `kpis`)",
                ));
            }
            if !ids.insert(&c.id) {
                return Err(self.error(&at("id"), format!("duplicate chart id `{}`", c.id)));
            }
            let xs = c.x.to_vec();
            if xs.is_empty() || c.y.to_vec().is_empty() {
                return Err(self.error(
                    &at(if xs.is_empty() { "x" } else { "y" }),
                    "must name at least one",
                ));
            }
            if c.kind != ChartKind::Table && xs.len() != 1 {
                return Err(self.error(&at("x"), "only tables take several x dimensions"));
            }
            if c.kind == ChartKind::Pie && (c.color.is_some() || c.y.to_vec().len() != 1) {
                return Err(self.error(&at("y"), "a pie takes one measure and no color"));
            }
            if c.limit == Some(0) {
                return Err(self.error(&at("limit"), "must be at least 1"));
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
        let metrics = &dataset.spec.metrics;
        let dim = |name: &str, field: String| -> Result<()> {
            if metrics.dimensions.contains_key(name) {
                Ok(())
            } else {
                let known: Vec<&str> = metrics.dimensions.keys().map(String::as_str).collect();
                Err(self.error(
                    &field,
                    format!(
                        "unknown dimension `{name}`; {} defines: {}",
                        dataset.file.display(),
                        known.join(", ")
                    ),
                ))
            }
        };
        let measure = |name: &str, field: String| -> Result<()> {
            if metrics.measures.contains_key(name) {
                Ok(())
            } else {
                let known: Vec<&str> = metrics.measures.keys().map(String::as_str).collect();
                Err(self.error(
                    &field,
                    format!(
                        "unknown measure `{name}`; {} defines: {}",
                        dataset.file.display(),
                        known.join(", ")
                    ),
                ))
            }
        };
        let mut filtered = HashSet::new();
        for (i, f) in s.filters.iter().enumerate() {
            dim(&f.dimension, format!("filters[{i}].dimension"))?;
            if !filtered.insert(&f.dimension) {
                return Err(self.error(
                    &format!("filters[{i}].dimension"),
                    "this dimension already has a filter",
                ));
            }
        }
        for (i, k) in s.kpis.iter().enumerate() {
            let field = match k {
                KpiSpec::Name(_) => format!("kpis[{i}]"),
                KpiSpec::Full { .. } => format!("kpis[{i}].measure"),
            };
            measure(k.measure(), field)?;
        }
        for (i, c) in s.charts.iter().enumerate() {
            for (j, x) in c.x.to_vec().iter().enumerate() {
                let field = match c.x {
                    OneOrMany::One(_) => format!("charts[{i}].x"),
                    OneOrMany::Many(_) => format!("charts[{i}].x[{j}]"),
                };
                dim(x, field)?;
            }
            for (j, y) in c.y.to_vec().iter().enumerate() {
                let field = match c.y {
                    OneOrMany::One(_) => format!("charts[{i}].y"),
                    OneOrMany::Many(_) => format!("charts[{i}].y[{j}]"),
                };
                measure(y, field)?;
            }
            if let Some(color) = &c.color {
                dim(color, format!("charts[{i}].color"))?;
            }
        }
        Ok(())
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
            "id: d\ntitle: D\ndataset: ds\nfilters:\n  - {dimension: team, type: multi_select}\nkpis:\n  - total\n  - {measure: total, label: All}\ncharts:\n  - {id: by-team, type: bar, x: team, y: total, limit: 5}\n",
        )
        .unwrap();
        let ds = DatasetSpec::parse(Path::new("datasets/ds.yaml"), DATASET).unwrap();
        d.check_names(&ds).unwrap();
        assert_eq!(d.spec.kpis[1].label(), Some("All"));
        assert_eq!(d.spec.charts[0].effective_sort(), SortOrder::YDesc);
    }

    #[test]
    fn unknown_chart_type_names_file_line_and_field() {
        let err = parse("id: d\ntitle: D\ndataset: ds\ncharts:\n  - id: a\n    type: radar\n    x: team\n    y: total\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("dashboards/d.yaml:6: `charts[0].type`"),
            "{err}"
        );
        assert!(err.contains("radar"), "{err}");
    }

    #[test]
    fn unknown_measure_and_dimension_are_named() {
        let ds = DatasetSpec::parse(Path::new("datasets/ds.yaml"), DATASET).unwrap();
        let d = parse("id: d\ntitle: D\ndataset: ds\ncharts:\n  - id: a\n    type: bar\n    x: team\n    y: revenue\n").unwrap();
        let err = d.check_names(&ds).unwrap_err().to_string();
        assert!(
            err.starts_with("dashboards/d.yaml:8: `charts[0].y`"),
            "{err}"
        );
        assert!(err.contains("unknown measure `revenue`"), "{err}");

        let d = parse("id: d\ntitle: D\ndataset: ds\nfilters:\n  - dimension: region\n    type: multi_select\n").unwrap();
        let err = d.check_names(&ds).unwrap_err().to_string();
        assert!(
            err.starts_with("dashboards/d.yaml:5: `filters[0].dimension`"),
            "{err}"
        );
    }

    #[test]
    fn shape_rules() {
        assert!(
            parse("id: d\ntitle: D\ndataset: ds\nicon: rocket\n")
                .unwrap_err()
                .to_string()
                .contains("icon")
        );
        let err = parse(
            "id: d\ntitle: D\ndataset: ds\ncharts:\n  - {id: a, type: line, x: [a, b], y: t}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("charts[0].x"), "{err}");
        let err = parse("id: d\ntitle: D\ndataset: ds\ncharts:\n  - {id: a, type: bar, x: a, y: t}\n  - {id: a, type: bar, x: a, y: t}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate chart id"), "{err}");
    }
}
