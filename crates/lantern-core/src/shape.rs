//! Query shapes: what a dashboard item (a chart, a KPI group, a filter's options) asks of a dataset, in the
//! semantic layer's names. The chart library in the web crate says which shapes each chart kind needs; the
//! [`crate::query::QueryEngine`] answers them through DataFusion (from rollups where the measures allow) and caches
//! each answer by its [`Query::signature`].

use serde::{Deserialize, Serialize};

/// Name of the built-in measure every model has: the number of rows (`count(*)`), used for filter options,
/// histograms and row counts.
pub const ROWS: &str = "__rows";

/// A calendar bucket for grouping a date or timestamp dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Grain {
    /// The name DataFusion's `date_trunc` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }

    /// The next finer grain, for drilling down (`month` → `week` → `day`).
    pub fn finer(self) -> Option<Grain> {
        match self {
            Grain::Year => Some(Grain::Quarter),
            Grain::Quarter => Some(Grain::Month),
            Grain::Month => Some(Grain::Week),
            Grain::Week => Some(Grain::Day),
            Grain::Day => None,
        }
    }

    /// The last day of the bucket that starts on `start`.
    pub fn bucket_end(self, start: chrono::NaiveDate) -> chrono::NaiveDate {
        use chrono::Months;
        let months = |n| {
            start
                .checked_add_months(Months::new(n))
                .and_then(|d| d.pred_opt())
                .unwrap_or(start)
        };
        match self {
            Grain::Day => start,
            Grain::Week => start + chrono::Duration::days(6),
            Grain::Month => months(1),
            Grain::Quarter => months(3),
            Grain::Year => months(12),
        }
    }

    /// A short label for the bucket that starts on `start`: `Mar 2025`, `2025 Q1`, `10 Mar`, `2025-03-10`.
    pub fn label(self, start: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        match self {
            Grain::Day => start.format("%Y-%m-%d").to_string(),
            Grain::Week => format!("Week of {}", start.format("%-d %b %Y")),
            Grain::Month => start.format("%b %Y").to_string(),
            Grain::Quarter => format!("{} Q{}", start.year(), start.month0() / 3 + 1),
            Grain::Year => start.year().to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Grain> {
        Some(match s {
            "day" => Grain::Day,
            "week" => Grain::Week,
            "month" => Grain::Month,
            "quarter" => Grain::Quarter,
            "year" => Grain::Year,
            _ => return None,
        })
    }
}

/// One grouping key; its output column is named after the dimension.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupKey {
    /// The dimension's values.
    Dimension(String),
    /// A date or timestamp dimension truncated to `grain` (the bucket's first day, as a date).
    Time { dimension: String, grain: Grain },
    /// A numeric dimension in about `bins` equal-width bins over its filtered range; the value is the bin's
    /// lower edge, and the result carries the width in a `__bin_width` column.
    Bin { dimension: String, bins: usize },
}

impl GroupKey {
    pub fn dimension(&self) -> &str {
        match self {
            GroupKey::Dimension(d) | GroupKey::Time { dimension: d, .. } => d,
            GroupKey::Bin { dimension, .. } => dimension,
        }
    }

    /// Plain dimension keys, for the common case.
    pub fn dims<S: AsRef<str>>(names: &[S]) -> Vec<GroupKey> {
        names
            .iter()
            .map(|n| GroupKey::Dimension(n.as_ref().to_string()))
            .collect()
    }
}

/// Column name of a histogram's bin width in its result.
pub const BIN_WIDTH: &str = "__bin_width";

/// One sort key over a result's columns (dimension or measure names).
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub column: String,
    pub ascending: bool,
}

impl Sort {
    pub fn asc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            ascending: true,
        }
    }

    pub fn desc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            ascending: false,
        }
    }
}

/// Group rows and compute measures per group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aggregate {
    pub group_by: Vec<GroupKey>,
    pub measures: Vec<String>,
    pub sort: Vec<Sort>,
    pub offset: usize,
    pub limit: Option<usize>,
    /// Keep only groups whose `dimension` contains this text, ignoring case (a filter's option search).
    pub search: Option<(String, String)>,
}

/// What one item asks of the data.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Aggregate(Aggregate),
    /// Count, min, lower quartile, median, upper quartile, max and mean of a numeric dimension, per group, in
    /// columns `count`, `min`, `q1`, `median`, `q3`, `max`, `mean`.
    Quantiles {
        group_by: Vec<GroupKey>,
        value: String,
        sort: Vec<Sort>,
        limit: Option<usize>,
    },
    /// The rows themselves (all columns when `columns` is empty), sorted, one page of them (all from `offset`
    /// without a limit).
    Rows {
        columns: Vec<String>,
        sort: Vec<Sort>,
        offset: usize,
        limit: Option<usize>,
    },
    /// The number of rows (no keys) or of distinct groups, in a column `count`.
    Count {
        group_by: Vec<GroupKey>,
    },
    /// The smallest and largest value of a dimension, in columns `min` and `max`.
    Bounds {
        dimension: String,
    },
}

impl Query {
    /// A stable text form for cache keys: equal queries have equal signatures.
    pub fn signature(&self) -> String {
        format!("{self:?}")
    }

    /// The dimensions the query groups or searches by (their columns must be in any rollup that answers it).
    pub fn dimensions(&self) -> Vec<&str> {
        match self {
            Query::Aggregate(a) => a
                .group_by
                .iter()
                .map(GroupKey::dimension)
                .chain(a.search.as_ref().map(|(d, _)| d.as_str()))
                .collect(),
            Query::Quantiles {
                group_by, value, ..
            } => group_by
                .iter()
                .map(GroupKey::dimension)
                .chain([value.as_str()])
                .collect(),
            Query::Count { group_by } => group_by.iter().map(GroupKey::dimension).collect(),
            Query::Bounds { dimension } => vec![dimension],
            Query::Rows { .. } => vec![],
        }
    }

    /// The measures the query computes.
    pub fn measures(&self) -> &[String] {
        match self {
            Query::Aggregate(a) => &a.measures,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_tell_queries_apart() {
        let a = Query::Aggregate(Aggregate {
            group_by: GroupKey::dims(&["team"]),
            measures: vec!["total".into()],
            ..Default::default()
        });
        let mut b = a.clone();
        if let Query::Aggregate(x) = &mut b {
            x.limit = Some(5);
        }
        assert_ne!(a.signature(), b.signature());
        assert_eq!(a.signature(), a.clone().signature());
        assert_eq!(a.dimensions(), vec!["team"]);
    }

    #[test]
    fn grains_drill_down() {
        assert_eq!(Grain::Month.finer(), Some(Grain::Week));
        assert_eq!(Grain::Week.finer(), Some(Grain::Day));
        assert_eq!(Grain::Day.finer(), None);
        assert_eq!(Grain::parse("week"), Some(Grain::Week));
        assert_eq!(Grain::parse("fortnight"), None);
        let d = |s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(Grain::Month.bucket_end(d("2025-02-01")), d("2025-02-28"));
        assert_eq!(Grain::Week.bucket_end(d("2025-03-10")), d("2025-03-16"));
        assert_eq!(Grain::Quarter.bucket_end(d("2025-10-01")), d("2025-12-31"));
        assert_eq!(Grain::Month.label(d("2025-03-01")), "Mar 2025");
        assert_eq!(Grain::Quarter.label(d("2025-04-01")), "2025 Q2");
    }
}
