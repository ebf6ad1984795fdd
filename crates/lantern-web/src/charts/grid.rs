//! The HTML table model that table and pivot charts build and `assets/app.js` renders: header rows with spans,
//! body rows whose cells carry formatted text, a position on a colour scale or a rule's tone, and the filter
//! pairs a click on them applies.

use chrono::NaiveDate;
use lantern_core::shape::Grain;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Default)]
pub struct Grid {
    pub head: Vec<Vec<HeadCell>>,
    pub rows: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<Paging>,
    /// The column the rows are sorted by and whether ascending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<(String, bool)>,
    /// Shown instead of rows when there are none.
    pub empty: &'static str,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct HeadCell {
    pub text: String,
    #[serde(skip_serializing_if = "is_one")]
    pub colspan: usize,
    #[serde(skip_serializing_if = "is_one")]
    pub rowspan: usize,
    /// The column key to sort by when the header is clicked (server-side sort).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    pub num: bool,
}

fn is_one(n: &usize) -> bool {
    *n <= 1
}

impl HeadCell {
    pub fn new(text: impl Into<String>, num: bool) -> Self {
        Self {
            text: text.into(),
            colspan: 1,
            rowspan: 1,
            sort: None,
            num,
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Row {
    pub cells: Vec<Cell>,
    /// `subtotal` or `total` rows are styled apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cls: Option<&'static str>,
    /// What a click on the row filters by.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub f: Vec<(String, String)>,
    /// Whether the row is among the selected values (highlighted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Cell {
    pub text: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub num: bool,
    /// Position on the cell's colour scale, 0 to 1: the page shades it with the theme's accent (so the scale
    /// follows light and dark mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heat: Option<f64>,
    /// `good`, `bad` or `warn` (a conditional rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tone: Option<&'static str>,
    /// What a click on this cell filters by (pivot cells: their row and column values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f: Option<Vec<(String, String)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Paging {
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub size: usize,
}

/// The order of dimension values in a pivot's rows and columns: numbers by value (so 9 comes before 10), text
/// and dates by their text, nulls last.
pub fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => x.to_string().cmp(&y.to_string()),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        // Mixed kinds (never within one column of a result): numbers and booleans before text.
        (x, y) => x
            .is_string()
            .cmp(&y.is_string())
            .then_with(|| x.to_string().cmp(&y.to_string())),
    }
}

/// A dimension value as URL filter text, or `None` for null (which no filter can name).
pub fn filter_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A time bucket as a filter range `from..to`.
pub fn bucket_filter(grain: Grain, v: &Value) -> Option<String> {
    let start = NaiveDate::parse_from_str(v.as_str()?, "%Y-%m-%d").ok()?;
    Some(format!("{start}..{}", grain.bucket_end(start)))
}

/// A colour scale over `values`: each finite value's position between their minimum and maximum.
pub fn scale(values: &[Option<f64>]) -> impl Fn(Option<f64>) -> Option<f64> + use<> {
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    move |v| {
        let v = v?;
        if !v.is_finite() || !lo.is_finite() {
            return None;
        }
        Some(if hi > lo { (v - lo) / (hi - lo) } else { 0.5 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn colours_and_filters() {
        let s = scale(&[Some(1.0), Some(3.0), None]);
        assert_eq!(s(Some(2.0)), Some(0.5));
        assert_eq!(s(None), None);
        assert_eq!(filter_text(&json!("Japan")), Some("Japan".into()));
        assert_eq!(filter_text(&json!(null)), None);
        let mut values = vec![json!(10), json!(null), json!(9), json!(2.5)];
        values.sort_by(compare_values);
        assert_eq!(values, vec![json!(2.5), json!(9), json!(10), json!(null)]);
        let mut text = vec![json!("b"), json!(null), json!("a")];
        text.sort_by(compare_values);
        assert_eq!(text, vec![json!("a"), json!("b"), json!(null)]);
        assert_eq!(
            bucket_filter(Grain::Month, &json!("2025-02-01")),
            Some("2025-02-01..2025-02-28".into())
        );
    }
}
