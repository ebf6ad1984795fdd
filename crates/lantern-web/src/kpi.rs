//! KPI cards, for the dashboard's KPI row and the `big_number` chart kind: a compact value that never overflows
//! its card, the change against the previous period of equal length (arrow and colour by the measure's good
//! direction), and a sparkline drawn as an SVG path.

use lantern_core::semantic::{Direction, Measure};
use serde::Serialize;
use serde_json::Value;

use crate::format::{format_change, format_compact, format_value};

/// The change against the previous period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    /// `+12.4%` or `−1.2 pp`.
    pub text: String,
    /// `up`, `down` or `flat`.
    pub direction: &'static str,
    /// `good`, `bad` or `neutral`, by the measure's good direction.
    pub tone: &'static str,
    /// The previous period's value, as text.
    pub previous: String,
    /// `vs previous 28 days`.
    pub period: String,
    /// The previous period's dates, `1 Feb – 28 Feb 2025`, for the tooltip.
    pub range: String,
}

/// A sparkline: an SVG line and the area under it, in a 100 × 28 view box.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sparkline {
    pub line: String,
    pub area: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiCard {
    pub measure: String,
    pub label: String,
    pub value: Value,
    /// Compact text for the card (`$25.0B`).
    pub text: String,
    /// Exact text, for the tooltip (`$24,991,751,330.31`).
    pub full: String,
    pub format: lantern_core::semantic::Format,
    pub description: Option<String>,
    pub change: Option<Change>,
    pub spark: Option<Sparkline>,
}

/// A card for `measure` with `value`, compared with `previous` over the period labelled `period`.
pub fn card(
    measure: &Measure,
    label: Option<&str>,
    value: Value,
    previous: Option<(Value, (chrono::NaiveDate, chrono::NaiveDate))>,
    spark: &[Option<f64>],
) -> KpiCard {
    let change = previous.and_then(|(prev, (from, to))| {
        let (delta, text) = format_change(&value, &prev, measure.format)?;
        let direction = if delta.abs() < 0.05 {
            "flat"
        } else if delta > 0.0 {
            "up"
        } else {
            "down"
        };
        let tone = match (direction, measure.good) {
            ("flat", _) => "neutral",
            ("up", Direction::Up) | ("down", Direction::Down) => "good",
            _ => "bad",
        };
        Some(Change {
            text,
            direction,
            tone,
            previous: format_compact(&prev, measure.format),
            period: format!("vs previous {} days", (to - from).num_days() + 1),
            range: format!(
                "{}: {}",
                period_label(from, to),
                format_compact(&prev, measure.format)
            ),
        })
    });
    KpiCard {
        measure: measure.name.clone(),
        label: label
            .map(str::to_string)
            .unwrap_or_else(|| measure.label.clone()),
        text: format_compact(&value, measure.format),
        full: format_value(&value, measure.format),
        format: measure.format,
        description: measure.description.clone(),
        change,
        spark: sparkline(spark),
        value,
    }
}

/// The SVG paths of `values` (gaps skipped), or `None` for fewer than two points.
pub fn sparkline(values: &[Option<f64>]) -> Option<Sparkline> {
    let points: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let last = (values.len() - 1).max(1) as f64;
    let xy = |(i, v): &(usize, f64)| (*i as f64 / last * 100.0, 26.0 - (v - lo) / span * 24.0);
    let mut line = String::new();
    for (k, p) in points.iter().enumerate() {
        let (x, y) = xy(p);
        line.push_str(&format!("{}{x:.1},{y:.1}", if k == 0 { "M" } else { " L" }));
    }
    let (x0, _) = xy(&points[0]);
    let (x1, _) = xy(points.last().expect("two points"));
    let area = format!("{line} L{x1:.1},28 L{x0:.1},28 Z");
    Some(Sparkline { line, area })
}

/// `1 Feb – 28 Feb 2025` for an inclusive date range.
pub fn period_label(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    if from.year() == to.year() {
        format!("{} – {}", from.format("%-d %b"), to.format("%-d %b %Y"))
    } else {
        format!("{} – {}", from.format("%-d %b %Y"), to.format("%-d %b %Y"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_core::semantic::Format;
    use serde_json::json;

    fn measure(format: Format, good: Direction) -> Measure {
        Measure {
            name: "m".into(),
            label: "M".into(),
            format,
            good,
            description: None,
            sql: "sum(x)".into(),
            expr: datafusion::prelude::lit(1),
        }
    }

    fn day(s: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn change_is_coloured_by_the_good_direction() {
        let up = card(
            &measure(Format::Currency, Direction::Up),
            None,
            json!(24_991_751_330.31f64),
            Some((
                json!(20_000_000_000.0f64),
                (day("2025-01-01"), day("2025-01-31")),
            )),
            &[],
        );
        assert_eq!(up.text, "$25.0B");
        assert_eq!(up.full, "$24,991,751,330.31");
        let c = up.change.unwrap();
        assert_eq!(
            (c.direction, c.tone, c.text.as_str()),
            ("up", "good", "+25.0%")
        );
        assert_eq!(c.period, "vs previous 31 days");
        assert_eq!(c.range, "1 Jan – 31 Jan 2025: $20.0B");

        let cost = card(
            &measure(Format::Currency, Direction::Down),
            None,
            json!(120.0),
            Some((json!(100.0), (day("2025-01-01"), day("2025-01-31")))),
            &[],
        );
        assert_eq!(cost.change.unwrap().tone, "bad");
        let none = card(
            &measure(Format::Integer, Direction::Up),
            None,
            json!(5),
            None,
            &[],
        );
        assert!(none.change.is_none());
    }

    #[test]
    fn sparkline_spans_the_box() {
        let s = sparkline(&[Some(1.0), None, Some(3.0), Some(2.0)]).unwrap();
        assert_eq!(s.line, "M0.0,26.0 L66.7,2.0 L100.0,14.0");
        assert!(s.area.ends_with("L100.0,28 L0.0,28 Z"));
        assert!(sparkline(&[Some(1.0)]).is_none());
    }

    #[test]
    fn periods_read_well() {
        let d = |s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            period_label(d("2025-02-01"), d("2025-02-28")),
            "1 Feb – 28 Feb 2025"
        );
        assert_eq!(
            period_label(d("2024-12-15"), d("2025-01-14")),
            "15 Dec 2024 – 14 Jan 2025"
        );
    }
}
