//! Filters from the URL, typed and checked against a dashboard's filters and the dataset schema, then turned into
//! DataFusion [`Expr`]s (never SQL strings).
//!
//! Grammar (shareable URLs): `col=value` repeated for a multi-select; `col=a..b` for a date or numeric range, either
//! side may be empty. A plain HTML form may also send a range as `col.from=a&col.to=b`.
//!
//! ```
//! # use lantern_core::filters::{Condition, FilterValue};
//! let c = Condition::Range { lo: Some(FilterValue::Int(1)), hi: None };
//! assert_eq!(c.canonical(), "1..");
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::scalar::ScalarValue;

use std::sync::Arc;

use crate::access::RowScope;
use crate::dashboard::{DashboardSpec, FilterKind};
use crate::error::{Error, Result};
use crate::semantic::SemanticModel;

/// A typed filter value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum FilterValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
}

impl FilterValue {
    fn parse(raw: &str, data_type: &DataType) -> std::result::Result<Self, String> {
        let raw = raw.trim();
        match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Ok(FilterValue::Str(raw.to_string()))
            }
            DataType::Boolean => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(FilterValue::Bool(true)),
                "false" | "0" | "no" => Ok(FilterValue::Bool(false)),
                _ => Err(format!("`{raw}` is not true or false")),
            },
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .ok()
                    // Years outside 1000..=9999 are typos, and would overflow date arithmetic.
                    .filter(|d| (1000..=9999).contains(&chrono::Datelike::year(d)))
                    .map(FilterValue::Date)
                    .ok_or_else(|| format!("`{raw}` is not a date (YYYY-MM-DD)"))
            }
            t if t.is_integer() => raw
                .parse::<i64>()
                .map(FilterValue::Int)
                .map_err(|_| format!("`{raw}` is not a whole number")),
            t if t.is_floating()
                || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
            {
                raw.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(FilterValue::Float)
                    .ok_or_else(|| format!("`{raw}` is not a number"))
            }
            other => Err(format!("columns of type {other} cannot be filtered")),
        }
    }

    /// The DataFusion literal for this value, typed like the column it is compared with.
    fn to_literal(&self, data_type: &DataType) -> Expr {
        match (self, data_type) {
            (FilterValue::Date(d), DataType::Timestamp(unit, tz)) => {
                let micros = d
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp_micros();
                let v = ScalarValue::TimestampMicrosecond(Some(micros), tz.clone());
                let e = lit(v);
                if *unit == TimeUnit::Microsecond {
                    e
                } else {
                    datafusion::logical_expr::cast(e, data_type.clone())
                }
            }
            (FilterValue::Date(d), _) => {
                let days =
                    (*d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32;
                lit(ScalarValue::Date32(Some(days)))
            }
            (FilterValue::Str(s), _) => lit(s.clone()),
            (FilterValue::Int(i), _) => lit(*i),
            (FilterValue::Float(f), _) => lit(*f),
            (FilterValue::Bool(b), _) => lit(*b),
        }
    }

    /// The value as it appears in URLs.
    pub fn canonical(&self) -> String {
        match self {
            FilterValue::Str(s) => s.clone(),
            FilterValue::Int(i) => i.to_string(),
            FilterValue::Float(f) => f.to_string(),
            FilterValue::Bool(b) => b.to_string(),
            FilterValue::Date(d) => d.to_string(),
        }
    }
}

fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    )
}

/// The period of equal length that ends the day before `from..=to` starts (both inclusive).
pub fn previous_period(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let days = (to - from).num_days() + 1;
    let prev_to = from - chrono::Duration::days(1);
    (prev_to - chrono::Duration::days(days - 1), prev_to)
}

/// A filter's raw URL values: repeated `name=` values, then `name.from` and `name.to`.
type RawParams<'a> = (Vec<&'a str>, Option<&'a str>, Option<&'a str>);

/// One dimension's condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Any of these values (sorted, without duplicates).
    In(Vec<FilterValue>),
    /// Inclusive bounds; `None` is open.
    Range {
        lo: Option<FilterValue>,
        hi: Option<FilterValue>,
    },
}

impl Condition {
    /// A stable text form, used in cache keys and URLs.
    pub fn canonical(&self) -> String {
        match self {
            Condition::In(vs) => vs
                .iter()
                .map(FilterValue::canonical)
                .collect::<Vec<_>>()
                .join("\u{1f}"),
            Condition::Range { lo, hi } => format!(
                "{}..{}",
                lo.as_ref().map(FilterValue::canonical).unwrap_or_default(),
                hi.as_ref().map(FilterValue::canonical).unwrap_or_default()
            ),
        }
    }
}

/// The filters of one request: dimension name → condition, for dimensions with a condition only, and the user's
/// row rules, which every variant of the set (without a filter, another period) keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterSet {
    conditions: BTreeMap<String, (String, DataType, Condition)>,
    restriction: Option<Arc<Restriction>>,
}

/// A user's row rules compiled against a dataset's model: a row must match one alternative (every condition of
/// it); with no alternative, no row does.
#[derive(Debug, Clone, PartialEq)]
pub struct Restriction {
    alternatives: Vec<Vec<(String, DataType, Vec<FilterValue>)>>,
    dimensions: Vec<String>,
    canonical: String,
}

impl Restriction {
    /// `None` for every row; values are typed as their dimension's column, and one that does not parse is an
    /// error (never a rule silently dropped, which could widen or narrow what the user sees).
    pub fn compile(scope: &RowScope, model: &SemanticModel) -> Result<Option<Arc<Self>>> {
        let RowScope::Only(rules) = scope else {
            return Ok(None);
        };
        let mut alternatives = Vec::new();
        let mut dimensions: Vec<String> = Vec::new();
        for rule in rules {
            let mut all = Vec::new();
            for (name, raw) in rule {
                let dim = model.dimensions.get(name).ok_or_else(|| {
                    Error::config(
                        "auth.roles (row rules)",
                        format!("`{name}` is not a dimension of the dataset"),
                    )
                })?;
                let mut values = raw
                    .iter()
                    .map(|v| FilterValue::parse(v, &dim.data_type))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|m| {
                        Error::config("auth.roles (row rules)", format!("dimension `{name}`: {m}"))
                    })?;
                values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                values.dedup();
                all.push((dim.column.clone(), dim.data_type.clone(), values));
                if !dimensions.contains(name) {
                    dimensions.push(name.clone());
                }
            }
            alternatives.push(all);
        }
        Ok(Some(Arc::new(Self {
            alternatives,
            dimensions,
            canonical: scope.canonical(),
        })))
    }

    pub(crate) fn to_expr(&self) -> Expr {
        self.alternatives
            .iter()
            .map(|all| {
                all.iter()
                    .map(|(column, data_type, values)| {
                        col(datafusion::common::Column::new_unqualified(column)).in_list(
                            values.iter().map(|v| v.to_literal(data_type)).collect(),
                            false,
                        )
                    })
                    .reduce(Expr::and)
                    .unwrap_or(lit(true))
            })
            .reduce(Expr::or)
            .unwrap_or(lit(false))
    }
}

impl FilterSet {
    /// Parses URL query pairs against the dashboard's filters and the dataset model.
    ///
    /// Every parameter must name one of the dashboard's filters; values must parse as the column's type.
    pub fn parse(
        pairs: &[(String, String)],
        dashboard: &DashboardSpec,
        model: &SemanticModel,
    ) -> Result<Self> {
        let mut raw: BTreeMap<&str, RawParams> = BTreeMap::new();
        for (key, value) in pairs {
            // `_name` parameters are view state (a chart's drill level, a table's page), not filters.
            if key.starts_with('_') {
                continue;
            }
            let (name, part) = match key.rsplit_once('.') {
                Some((n, p @ ("from" | "to"))) => (n, Some(p)),
                _ => (key.as_str(), None),
            };
            if !model.dimensions.contains_key(name) || name.starts_with("__") {
                let mut known: Vec<&str> = dashboard
                    .spec
                    .filters
                    .iter()
                    .map(|f| f.dimension.as_str())
                    .collect();
                for d in model.dimensions.keys() {
                    if !known.contains(&d.as_str()) {
                        known.push(d);
                    }
                }
                return Err(Error::filter(
                    key.clone(),
                    format!(
                        "`{name}` is not a dimension of dataset `{}`; filter by one of: {}",
                        model.dataset,
                        known.join(", ")
                    ),
                ));
            }
            let entry = raw.entry(name).or_default();
            match part {
                Some("from") => entry.1 = Some(value),
                Some(_) => entry.2 = Some(value),
                None => entry.0.push(value),
            }
        }

        let mut conditions = BTreeMap::new();
        for (name, (values, from, to)) in raw {
            let dim = &model.dimensions[name];
            // A dimension without a declared filter (a cross-filter from a chart click) is a list of values, or a
            // range when it is a date or number given as `from..to`.
            let kind = match dashboard.spec.filters.iter().find(|f| f.dimension == name) {
                Some(spec) => spec.kind,
                None => {
                    let ranged = from.is_some()
                        || to.is_some()
                        || (values.len() == 1 && values[0].contains(".."));
                    match &dim.data_type {
                        t if ranged && is_temporal(t) => FilterKind::DateRange,
                        t if ranged && t.is_numeric() => FilterKind::NumericRange,
                        _ => FilterKind::MultiSelect,
                    }
                }
            };
            let parse =
                |v: &str| FilterValue::parse(v, &dim.data_type).map_err(|m| Error::filter(name, m));
            let condition = match kind {
                FilterKind::MultiSelect => {
                    if from.is_some() || to.is_some() {
                        return Err(Error::filter(
                            name,
                            "a multi-select filter takes `name=value`, not a range",
                        ));
                    }
                    let mut vs = values
                        .iter()
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| parse(v))
                        .collect::<Result<Vec<_>>>()?;
                    vs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                    vs.dedup();
                    if vs.is_empty() {
                        continue;
                    }
                    Condition::In(vs)
                }
                FilterKind::DateRange | FilterKind::NumericRange => {
                    if values.len() > 1 {
                        return Err(Error::filter(
                            name,
                            "a range filter takes one `from..to` value",
                        ));
                    }
                    let (lo, hi) = match values.first() {
                        Some(v) => v.split_once("..").ok_or_else(|| {
                            Error::filter(name, format!("`{v}` is not a range; write `from..to` (either side may be empty)"))
                        })?,
                        None => (from.unwrap_or(""), to.unwrap_or("")),
                    };
                    let bound = |s: &str| {
                        if s.trim().is_empty() {
                            Ok(None)
                        } else {
                            parse(s).map(Some)
                        }
                    };
                    let (lo, hi) = (bound(lo)?, bound(hi)?);
                    if let (Some(l), Some(h)) = (&lo, &hi)
                        && l > h
                    {
                        return Err(Error::filter(name, "the range starts after it ends"));
                    }
                    if lo.is_none() && hi.is_none() {
                        continue;
                    }
                    Condition::Range { lo, hi }
                }
            };
            conditions.insert(
                name.to_string(),
                (dim.column.clone(), dim.data_type.clone(), condition),
            );
        }
        Ok(Self {
            conditions,
            restriction: None,
        })
    }

    /// Whether the set has no filter (row rules aside).
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// This set under `restriction` (replacing any it had).
    pub fn restricted(mut self, restriction: Option<Arc<Restriction>>) -> Self {
        self.restriction = restriction;
        self
    }

    /// Whether row rules apply.
    pub fn is_restricted(&self) -> bool {
        self.restriction.is_some()
    }

    /// This filter set without the value-list conditions on `dimensions`: what a chart grouped by them is
    /// computed with, so that it highlights the selection instead of filtering itself down to it.
    pub fn without_lists_on(&self, dimensions: &[&str]) -> FilterSet {
        let mut out = self.clone();
        out.conditions.retain(|k, (_, _, c)| {
            !(matches!(c, Condition::In(_)) && dimensions.contains(&k.as_str()))
        });
        out
    }

    /// This filter set without any condition on `dimension` (a filter's own options are narrowed by the others).
    pub fn without(&self, dimension: &str) -> FilterSet {
        let mut out = self.clone();
        out.conditions.remove(dimension);
        out
    }

    /// The values selected on `dimension`, as URL text (empty when it has no value-list condition).
    pub fn selected(&self, dimension: &str) -> Vec<String> {
        match self.get(dimension) {
            Some(Condition::In(vs)) => vs.iter().map(FilterValue::canonical).collect(),
            _ => Vec::new(),
        }
    }

    /// The date range on `dimension` with its open sides closed by `bounds` (the data's first and last day).
    pub fn date_range(
        &self,
        dimension: &str,
        bounds: (NaiveDate, NaiveDate),
    ) -> Option<(NaiveDate, NaiveDate)> {
        match self.get(dimension)? {
            Condition::Range { lo, hi } => {
                let day = |v: &Option<FilterValue>, default: NaiveDate| match v {
                    Some(FilterValue::Date(d)) => *d,
                    _ => default,
                };
                Some((day(lo, bounds.0), day(hi, bounds.1)))
            }
            Condition::In(_) => None,
        }
    }

    /// The same filters with the date range on `dimension` replaced by `from..=to`.
    pub fn with_date_range(&self, dimension: &str, from: NaiveDate, to: NaiveDate) -> FilterSet {
        let mut out = self.clone();
        if let Some((_, _, c)) = out.conditions.get_mut(dimension) {
            *c = Condition::Range {
                lo: Some(FilterValue::Date(from)),
                hi: Some(FilterValue::Date(to)),
            };
        }
        out
    }

    /// The condition on `dimension`, if any.
    pub fn get(&self, dimension: &str) -> Option<&Condition> {
        self.conditions.get(dimension).map(|(_, _, c)| c)
    }

    /// The column and condition of every dimension that carries one.
    pub fn column_conditions(&self) -> impl Iterator<Item = (&str, &Condition)> {
        self.conditions
            .values()
            .map(|(c, _, cond)| (c.as_str(), cond))
    }

    /// Dimension names that carry a condition, then those the row rules name (a rollup must keep both).
    pub fn dimensions(&self) -> impl Iterator<Item = &str> {
        let ruled = self.restriction.iter().flat_map(|r| {
            r.dimensions
                .iter()
                .map(String::as_str)
                .filter(|d| !self.conditions.contains_key(*d))
        });
        self.conditions.keys().map(String::as_str).chain(ruled)
    }

    /// A stable key: the same filters in any URL order give the same key, and different filters never do
    /// (values are URL-encoded, so a value containing `&` or `=` cannot pass for two conditions).
    pub fn canonical(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.to_pairs() {
            out.append_pair(&k, &v);
        }
        // No filter name starts with a control character, so this pair cannot be forged from a URL.
        if let Some(r) = &self.restriction {
            out.append_pair("\u{1}rows", &r.canonical);
        }
        out.finish()
    }

    /// Query pairs that reproduce this filter set (for links and the form's state).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, (_, _, c)) in &self.conditions {
            match c {
                Condition::In(vs) => out.extend(vs.iter().map(|v| (k.clone(), v.canonical()))),
                Condition::Range { .. } => out.push((k.clone(), c.canonical())),
            }
        }
        out
    }

    /// The conjunction of all conditions and the row rules as one DataFusion predicate, or `None` when there
    /// are none.
    pub fn to_expr(&self) -> Option<Expr> {
        let rows = self.restriction.as_ref().map(|r| r.to_expr());
        self.conditions
            .values()
            .map(|(column, data_type, c)| {
                let column = col(datafusion::common::Column::new_unqualified(column));
                match c {
                    Condition::In(vs) => {
                        column.in_list(vs.iter().map(|v| v.to_literal(data_type)).collect(), false)
                    }
                    Condition::Range { lo, hi } => {
                        let lo = lo
                            .as_ref()
                            .map(|v| column.clone().gt_eq(v.to_literal(data_type)));
                        let hi = hi.as_ref().map(|v| match (v, data_type) {
                            // A date bound on a timestamp column covers the whole day.
                            (FilterValue::Date(d), DataType::Timestamp(..)) => {
                                let next = FilterValue::Date(d.succ_opt().unwrap_or(*d));
                                column.clone().lt(next.to_literal(data_type))
                            }
                            _ => column.clone().lt_eq(v.to_literal(data_type)),
                        });
                        match (lo, hi) {
                            (Some(l), Some(h)) => l.and(h),
                            (Some(e), None) | (None, Some(e)) => e,
                            (None, None) => lit(true),
                        }
                    }
                }
            })
            .chain(rows)
            .reduce(Expr::and)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::DatasetSpec;
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::path::Path;
    use std::sync::Arc;

    fn fixture() -> (DashboardSpec, SemanticModel) {
        let ds = DatasetSpec::parse(
            Path::new("ds.yaml"),
            "id: ds\nmetrics:\n  dimensions:\n    team:\n    date:\n    cost:\n  measures:\n    n: {expr: count(*)}\n",
        )
        .unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("team", DataType::Utf8, false),
            Field::new("date", DataType::Date32, false),
            Field::new("cost", DataType::Float64, false),
        ]));
        let model = SemanticModel::compile(&ds, schema).unwrap();
        let d = DashboardSpec::parse(
            Path::new("d.yaml"),
            "id: d\ntitle: D\ndataset: ds\nfilters:\n  - {dimension: team, type: multi_select}\n  - {dimension: date, type: date_range}\n  - {dimension: cost, type: numeric_range}\n",
        )
        .unwrap();
        (d, model)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_and_normalizes() {
        let (d, m) = fixture();
        let a = FilterSet::parse(
            &pairs(&[
                ("team", "Web"),
                ("date", "2025-01-01..2025-03-31"),
                ("team", "ML"),
            ]),
            &d,
            &m,
        )
        .unwrap();
        let b = FilterSet::parse(
            &pairs(&[
                ("team", "ML"),
                ("team", "Web"),
                ("team", "ML"),
                ("date.from", "2025-01-01"),
                ("date.to", "2025-03-31"),
            ]),
            &d,
            &m,
        )
        .unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(
            a.get("team"),
            Some(&Condition::In(vec![
                FilterValue::Str("ML".into()),
                FilterValue::Str("Web".into())
            ]))
        );
        let e = a.to_expr().unwrap().to_string();
        assert!(e.contains("team IN"), "{e}");
        assert!(e.contains(">="), "{e}");
        // Empty values and open ranges add nothing.
        let empty = FilterSet::parse(
            &pairs(&[("team", ""), ("date", ".."), ("cost", "1.5..")]),
            &d,
            &m,
        )
        .unwrap();
        assert_eq!(empty.canonical(), "cost=1.5..");
        // A value holding `&` or `=` keeps its own key: no two filter sets share one.
        let sneaky =
            FilterSet::parse(&pairs(&[("team", "Web&date=2025-01-01..")]), &d, &m).unwrap();
        let real =
            FilterSet::parse(&pairs(&[("team", "Web"), ("date", "2025-01-01..")]), &d, &m).unwrap();
        assert_ne!(sneaky.canonical(), real.canonical());
        let one = FilterSet::parse(&pairs(&[("team", "a\u{1f}b")]), &d, &m).unwrap();
        let two = FilterSet::parse(&pairs(&[("team", "a"), ("team", "b")]), &d, &m).unwrap();
        assert_ne!(one.canonical(), two.canonical());
    }

    #[test]
    fn bad_input_names_the_field() {
        let (d, m) = fixture();
        let cases = [
            (("region", "x"), "region"),
            (("date", "2025-13-01..2025-12-01"), "date"),
            (("date", "yesterday"), "date"),
            (("cost", "cheap..5"), "cost"),
            (("cost", "9..1"), "cost"),
            (("date", "-262144-01-01.."), "date"),
        ];
        for ((k, v), field) in cases {
            match FilterSet::parse(&pairs(&[(k, v)]), &d, &m) {
                Err(Error::Filter { field: f, message }) => {
                    assert_eq!(f, field, "{k}={v}: {message}");
                    assert!(!message.is_empty());
                }
                other => panic!("{k}={v} gave {other:?}"),
            }
        }
    }

    #[test]
    fn any_dimension_can_be_cross_filtered() {
        let (mut d, m) = fixture();
        d.spec.filters.clear();
        let f = FilterSet::parse(
            &pairs(&[("team", "Web"), ("cost", "1..2"), ("_grain.daily", "week")]),
            &d,
            &m,
        )
        .unwrap();
        assert_eq!(f.canonical(), "cost=1..2&team=Web");
        assert_eq!(f.selected("team"), vec!["Web".to_string()]);
        assert_eq!(f.without_lists_on(&["team"]).canonical(), "cost=1..2");
        assert_eq!(f.without("cost").canonical(), "team=Web");
    }

    #[test]
    fn previous_period_has_equal_length() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            previous_period(day("2025-03-01"), day("2025-03-31")),
            (day("2025-01-29"), day("2025-02-28"))
        );
        assert_eq!(
            previous_period(day("2025-01-10"), day("2025-01-10")),
            (day("2025-01-09"), day("2025-01-09"))
        );
        let (d, m) = fixture();
        let f = FilterSet::parse(&pairs(&[("date", "2025-02-01..")]), &d, &m).unwrap();
        let bounds = (day("2025-01-01"), day("2025-12-31"));
        assert_eq!(
            f.date_range("date", bounds),
            Some((day("2025-02-01"), day("2025-12-31")))
        );
        let g = f.with_date_range("date", day("2024-01-01"), day("2024-01-31"));
        assert_eq!(g.canonical(), "date=2024-01-01..2024-01-31");
    }
}
