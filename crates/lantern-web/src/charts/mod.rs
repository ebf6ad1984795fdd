//! The chart library: one module per chart kind, registered in [`KINDS`].
//!
//! A kind declares its own options (a serde struct with `deny_unknown_fields`), checks them against the dataset's
//! semantic model, says which query shapes it needs ([`Chart::asks`]), and builds its figure with a pure
//! function of the results ([`Chart::build`]). Adding a kind is one new file plus one line in [`KINDS`].
//!
//! A figure is Plotly JSON (`{"data": [...], "layout": {...}}`, ready for `Plotly.react`, its layout carrying the
//! theme's template) or, for tables and pivots, `{"table": {...}}`, which `assets/app.js` renders as HTML. Either
//! carries a `lantern` block that tells the page what a click filters by.

pub mod area;
pub mod bar;
pub mod big_number;
pub mod boxplot;
pub mod grid;
pub mod heatmap;
pub mod histogram;
pub mod line;
pub mod options;
pub mod pie;
pub mod pivot;
pub mod scatter;
pub mod table;

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::dashboard::{ChartSpec, DashboardSpec};
use lantern_core::query::ResultTable;
use lantern_core::semantic::{DatasetSpec, SemanticModel};
use lantern_core::shape::{Grain, Query};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::format::tickformat;
use crate::theme::Theme;

/// Every chart kind, by the name a dashboard's `type:` gives.
pub const KINDS: &[Kind] = &[
    line::KIND,
    area::KIND,
    bar::KIND,
    bar::HORIZONTAL,
    pie::KIND,
    scatter::KIND,
    histogram::KIND,
    heatmap::KIND,
    boxplot::KIND,
    big_number::KIND,
    table::KIND,
    pivot::KIND,
];

/// A registered chart kind: its name and how to compile a spec of it.
pub struct Kind {
    pub name: &'static str,
    pub compile: fn(&Compiler) -> Result<Box<dyn Chart>, CoreError>,
}

/// The kind named `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// One query a chart needs, and for which period: the filters' own, or the period of equal length before their
/// date range (KPI-style comparisons; answered only when the dashboard has a date range set).
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub query: Query,
    pub previous: bool,
}

impl Ask {
    pub fn now(query: Query) -> Self {
        Self {
            query,
            previous: false,
        }
    }
}

/// A reader's view state for one chart, from `_`-prefixed URL parameters: a time chart's drill level
/// (`_grain.<chart>`), a table's page (`_page.<chart>`) and sort (`_sort.<chart>=-column`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartView {
    pub grain: Option<Grain>,
    pub page: usize,
    pub sort: Option<(String, bool)>,
    /// Any other `_name.<chart>` parameter (a custom page's switches, such as a pivot's breakdown).
    pub params: std::collections::BTreeMap<String, String>,
}

impl ChartView {
    /// The view of chart `id` in the URL `pairs`; unknown or malformed values are ignored (the default view).
    pub fn from_pairs(id: &str, pairs: &[(String, String)]) -> Self {
        let mut view = Self::default();
        for (k, v) in pairs {
            let Some((name, chart)) = k.strip_prefix('_').and_then(|k| k.split_once('.')) else {
                continue;
            };
            if chart != id {
                continue;
            }
            match name {
                "grain" => view.grain = Grain::parse(v),
                "page" => view.page = v.parse::<usize>().unwrap_or(1).saturating_sub(1),
                "sort" if !v.is_empty() => {
                    view.sort = Some(match v.strip_prefix('-') {
                        Some(c) => (c.to_string(), false),
                        None => (v.clone(), true),
                    })
                }
                "sort" => {}
                other => {
                    view.params.insert(other.to_string(), v.clone());
                }
            }
        }
        view
    }
}

/// What a chart's queries and figure depend on besides its options.
pub struct Context<'a> {
    pub model: &'a SemanticModel,
    pub view: &'a ChartView,
    pub theme: &'a Theme,
    /// Values selected per dimension (value-list filters), so charts can highlight them.
    pub selected: &'a (dyn Fn(&str) -> Vec<String> + Sync),
    /// The dashboard's date dimension (its date range filter), for sparklines and comparisons.
    pub date_dimension: Option<&'a str>,
    /// The period before the date filter's range, when a range is set: what `previous` asks are answered for.
    pub previous: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
}

/// A chart of some kind, compiled from its spec.
pub trait Chart: Send + Sync + std::fmt::Debug {
    /// The queries whose results [`Chart::build`] receives, in the same order.
    fn asks(&self, ctx: &Context) -> Vec<Ask>;

    /// Dimensions whose value-list filters this chart does not apply but highlights: its own categories, so a
    /// click on one of them filters the rest of the page and leaves this chart whole.
    fn highlights(&self) -> Vec<String> {
        Vec::new()
    }

    /// Checks that need column types (known once a version is loaded): `(field, message)` on failure, the field
    /// relative to the chart (`x`, `bins`).
    fn check_model(&self, _model: &SemanticModel) -> Result<(), (String, String)> {
        Ok(())
    }

    /// The query whose rows a CSV export of this chart writes: all of them, without the page or limit shown.
    fn export(&self, ctx: &Context) -> Option<Query> {
        self.asks(ctx)
            .into_iter()
            .find(|a| !a.previous)
            .map(|a| unpaged(a.query))
    }

    /// The figure, from the results of [`Chart::asks`] (`None` for a previous period that does not apply).
    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value;
}

/// `query` without offset and limit.
pub fn unpaged(query: Query) -> Query {
    match query {
        Query::Aggregate(mut a) => {
            a.offset = 0;
            a.limit = None;
            Query::Aggregate(a)
        }
        Query::Quantiles {
            group_by,
            value,
            sort,
            ..
        } => Query::Quantiles {
            group_by,
            value,
            sort,
            limit: None,
        },
        other => other,
    }
}

/// Compiles one chart spec of a dashboard: deserializes the kind's options and checks names against the dataset.
pub struct Compiler<'a> {
    pub dashboard: &'a DashboardSpec,
    pub dataset: &'a DatasetSpec,
    pub index: usize,
    pub spec: &'a ChartSpec,
}

impl Compiler<'_> {
    /// The dotted path of `field` in the dashboard file (`charts[2].bins`).
    pub fn field(&self, field: &str) -> String {
        if field.is_empty() {
            format!("charts[{}]", self.index)
        } else {
            format!("charts[{}].{field}", self.index)
        }
    }

    pub fn error(&self, field: &str, message: impl Into<String>) -> CoreError {
        self.dashboard.error(&self.field(field), message)
    }

    /// The kind's options struct, from every key of the chart but the shared ones; errors name file, line and
    /// field (an unknown key names its own line).
    pub fn options<T: DeserializeOwned>(&self) -> Result<T, CoreError> {
        let value = serde_yaml::Value::Mapping(self.spec.options.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let mut path = e.path().to_string();
            if path == "." {
                path.clear();
            }
            let message = e.inner().to_string();
            // serde names an unknown or missing key only in its message; point at that key's line.
            let key = lantern_core::yaml_lines::unknown_field(&message);
            let field = match key {
                Some(k) if path.is_empty() => k.to_string(),
                Some(k) if path != k && !path.ends_with(&format!(".{k}")) => format!("{path}.{k}"),
                _ => path,
            };
            self.error(&field, format!("{} chart: {message}", self.spec.kind))
        })
    }

    pub fn dimension(&self, name: &str, field: &str) -> Result<(), CoreError> {
        self.dataset
            .check_dimension(name, &|m| self.error(field, m))
    }

    pub fn measure(&self, name: &str, field: &str) -> Result<(), CoreError> {
        self.dataset.check_measure(name, &|m| self.error(field, m))
    }

    /// The dashboard's date filter dimension.
    pub fn date_dimension(&self) -> Option<&str> {
        self.dashboard.date_filter().map(|f| f.dimension.as_str())
    }
}

/// Compiles `spec` (chart `index` of `dashboard`) with its kind.
pub fn compile(
    dashboard: &DashboardSpec,
    dataset: &DatasetSpec,
    index: usize,
    spec: &ChartSpec,
) -> Result<Box<dyn Chart>, CoreError> {
    let compiler = Compiler {
        dashboard,
        dataset,
        index,
        spec,
    };
    let Some(kind) = kind(&spec.kind) else {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        return Err(compiler.error(
            "type",
            format!(
                "unknown chart type `{}`; choose one of {}",
                spec.kind,
                names.join(", ")
            ),
        ));
    };
    (kind.compile)(&compiler)
}

/// A `plotly` trace as JSON. (Traces are serialized directly: a `plotly::Plot` copies the embedded Plotly.js
/// source into every instance, which would cost megabytes of copying per figure.)
pub(crate) fn trace_json<T: serde::Serialize + ?Sized>(trace: &T) -> Value {
    serde_json::to_value(trace).unwrap_or(Value::Null)
}

/// A figure with the theme template and `extra` merged into its layout, and `meta` as its `lantern` block.
pub(crate) fn figure(theme: &Theme, data: Value, extra: Value, meta: Value) -> Value {
    let mut layout =
        json!({ "template": crate::theme::plotly_template_for(theme), "autosize": true });
    if let (Some(l), Value::Object(e)) = (layout.as_object_mut(), extra) {
        l.extend(e);
    }
    json!({ "data": data, "layout": layout, "lantern": meta })
}

/// What a click on a point filters: `dimensions` get the point's `customdata` value(s); a time chart also says
/// its grain and the next finer one, so the page can drill down.
pub(crate) fn click_meta(dimensions: &[&str], time: Option<(Grain, Option<Grain>)>) -> Value {
    let mut meta = json!({ "click": dimensions });
    if let Some((grain, next)) = time {
        meta["time"] = json!({
            "dimension": dimensions.first(),
            "grain": grain.as_str(),
            "next": next.map(Grain::as_str),
        });
    }
    meta
}

/// `meta` with the time bucket a click on a date category stands for (its whole bucket becomes the filter).
pub(crate) fn with_grain(mut meta: Value, grain: Option<Grain>) -> Value {
    if let Some(g) = grain {
        meta["grain"] = json!(g.as_str());
    }
    meta
}

/// A view switch for the page to draw in the chart's header: buttons that set `_{name}.{chart}` to one of
/// `options` (`(value, label)`), `current` being pressed.
pub(crate) fn switch(
    chart: &str,
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    current: &str,
) -> Value {
    json!({
        "param": format!("_{name}.{chart}"),
        "label": label,
        "current": current,
        "options": options.iter().map(|(v, l)| json!({"value": v, "label": l})).collect::<Vec<_>>(),
    })
}

/// The value axis layout for a measure.
pub(crate) fn value_axis(model: &SemanticModel, measure: &str) -> Value {
    let format = model
        .measures
        .get(measure)
        .map(|m| m.format)
        .unwrap_or_default();
    json!({ "tickformat": tickformat(format), "rangemode": "tozero" })
}

/// The label of a measure or dimension.
pub(crate) fn label_of(model: &SemanticModel, name: &str) -> String {
    model
        .measures
        .get(name)
        .map(|m| m.label.clone())
        .or_else(|| model.dimensions.get(name).map(|d| d.label.clone()))
        .unwrap_or_else(|| lantern_core::semantic::title_case(name))
}

/// A cell as display text: strings as they are, null as `(none)`.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// One series: its name, x values and y values.
pub(crate) struct Series {
    pub name: String,
    pub x: Vec<Value>,
    pub y: Vec<Value>,
}

/// Splits a result into series: one per measure, or, with a `color` column, one per value of it (first measure).
pub(crate) fn series(
    result: &ResultTable,
    x: &str,
    measures: &[String],
    color: Option<&str>,
    model: &SemanticModel,
) -> Vec<Series> {
    let Some(xi) = result.column_index(x) else {
        return vec![];
    };
    match color.and_then(|c| result.column_index(c)) {
        None => measures
            .iter()
            .filter_map(|m| {
                let yi = result.column_index(m)?;
                Some(Series {
                    name: label_of(model, m),
                    x: result.rows.iter().map(|r| r[xi].clone()).collect(),
                    y: result.rows.iter().map(|r| r[yi].clone()).collect(),
                })
            })
            .collect(),
        Some(ci) => {
            let Some(yi) = measures.first().and_then(|m| result.column_index(m)) else {
                return vec![];
            };
            let mut out: Vec<Series> = Vec::new();
            for row in &result.rows {
                let name = text(&row[ci]);
                let idx = match out.iter().position(|s| s.name == name) {
                    Some(i) => i,
                    None => {
                        out.push(Series {
                            name,
                            x: vec![],
                            y: vec![],
                        });
                        out.len() - 1
                    }
                };
                out[idx].x.push(row[xi].clone());
                out[idx].y.push(row[yi].clone());
            }
            out
        }
    }
}

/// The first result, or an empty table.
pub(crate) fn first(results: &[Option<Arc<ResultTable>>]) -> Arc<ResultTable> {
    results
        .first()
        .cloned()
        .flatten()
        .unwrap_or_else(|| Arc::new(ResultTable::default()))
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;
    use std::sync::Arc;

    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use lantern_core::dashboard::DashboardSpec;
    use lantern_core::query::ResultTable;
    use lantern_core::semantic::{DatasetSpec, SemanticModel};
    use serde_json::{Value, json};

    use super::{Chart, ChartView, Context};

    pub const DATASET: &str = "id: ds\nmetrics:\n  dimensions:\n    team:\n    model:\n    date:\n    n:\n  measures:\n    total: {expr: sum(n), format: integer}\n    rate: {expr: avg(n), format: percent}\n";

    pub fn dataset() -> DatasetSpec {
        DatasetSpec::parse(Path::new("ds.yaml"), DATASET).unwrap()
    }

    pub fn model() -> SemanticModel {
        let schema = Arc::new(Schema::new(vec![
            Field::new("team", DataType::Utf8, false),
            Field::new("model", DataType::Utf8, false),
            Field::new("date", DataType::Date32, false),
            Field::new("n", DataType::Int64, false),
        ]));
        SemanticModel::compile(&dataset(), schema).unwrap()
    }

    pub fn dashboard(chart_yaml: &str) -> DashboardSpec {
        let text = format!(
            "id: d\ntitle: D\ndataset: ds\nfilters:\n  - {{dimension: date, type: date_range}}\ncharts:\n  - {chart_yaml}\n"
        );
        DashboardSpec::parse(Path::new("d.yaml"), &text).unwrap()
    }

    /// Compiles a one-chart dashboard's chart, or its error text.
    pub fn try_chart(yaml: &str) -> Result<Box<dyn Chart>, String> {
        let d = dashboard(yaml);
        super::compile(&d, &dataset(), 0, &d.spec.charts[0]).map_err(|e| e.to_string())
    }

    pub fn chart(yaml: &str) -> Box<dyn Chart> {
        try_chart(yaml).unwrap()
    }

    pub fn no_selection(_: &str) -> Vec<String> {
        Vec::new()
    }

    pub fn ctx<'a>(
        model: &'a SemanticModel,
        view: &'a ChartView,
        selected: &'a (dyn Fn(&str) -> Vec<String> + Sync),
    ) -> Context<'a> {
        Context {
            model,
            view,
            theme: &crate::theme::LIGHT,
            selected,
            date_dimension: Some("date"),
            previous: None,
        }
    }

    /// Builds `chart` from its one query's `result` with the default view and no selection.
    pub fn build(chart: &dyn Chart, result: ResultTable) -> Value {
        let m = model();
        let view = ChartView::default();
        chart.build(&[Some(Arc::new(result))], &ctx(&m, &view, &no_selection))
    }

    pub fn table(columns: &[&str], rows: Vec<Vec<Value>>) -> ResultTable {
        ResultTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    pub fn by_team_and_model() -> ResultTable {
        table(
            &["team", "model", "total"],
            vec![
                vec![json!("Web"), json!("gpt"), json!(5)],
                vec![json!("Web"), json!("o3"), json!(3)],
                vec![json!("ML"), json!("gpt"), json!(2)],
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn unknown_kind_names_file_line_and_field() {
        let err = try_chart("{id: a, type: radar, x: team, y: total}").unwrap_err();
        assert!(err.starts_with("d.yaml:7: `charts[0].type`"), "{err}");
        assert!(err.contains("radar") && err.contains("pivot"), "{err}");
    }

    #[test]
    fn unknown_option_names_its_own_line() {
        let d = lantern_core::dashboard::DashboardSpec::parse(
            std::path::Path::new("d.yaml"),
            "id: d\ntitle: D\ndataset: ds\ncharts:\n  - id: a\n    type: bar\n    x: team\n    y: total\n    colour: model\n",
        )
        .unwrap();
        let err = compile(&d, &dataset(), 0, &d.spec.charts[0])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("d.yaml:9: `charts[0].colour`"), "{err}");
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn unknown_measure_names_the_field() {
        let err = try_chart("{id: a, type: bar, x: team, y: revenue}").unwrap_err();
        assert!(err.starts_with("d.yaml:7: `charts[0].y`"), "{err}");
        assert!(err.contains("unknown measure `revenue`"), "{err}");
    }

    #[test]
    fn views_come_from_underscore_parameters() {
        let pairs: Vec<(String, String)> = [
            ("_grain.daily", "week"),
            ("_page.top", "3"),
            ("_sort.top", "-cost"),
            ("team", "Web"),
            ("_grain.other", "day"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            ChartView::from_pairs("daily", &pairs).grain,
            Some(Grain::Week)
        );
        let top = ChartView::from_pairs("top", &pairs);
        assert_eq!((top.page, top.sort), (2, Some(("cost".into(), false))));
        assert_eq!(ChartView::from_pairs("none", &pairs), ChartView::default());
    }

    #[test]
    fn every_kind_is_registered_once() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
