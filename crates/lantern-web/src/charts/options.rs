//! Option types several chart kinds share.

use lantern_core::Error as CoreError;
use lantern_core::shape::{Grain, GroupKey, Sort};
use serde::Deserialize;

use super::Compiler;

/// One name or a list of them (`y: total` or `y: [total, cost]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
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

    /// Checks every name as a measure; errors name `field` or `field[i]`.
    pub fn check_measures(&self, c: &Compiler, field: &str) -> Result<Vec<String>, CoreError> {
        self.check(c, field, true)
    }

    /// Checks every name as a dimension.
    pub fn check_dimensions(&self, c: &Compiler, field: &str) -> Result<Vec<String>, CoreError> {
        self.check(c, field, false)
    }

    fn check(&self, c: &Compiler, field: &str, measures: bool) -> Result<Vec<String>, CoreError> {
        let names = self.to_vec();
        if names.is_empty() {
            return Err(c.error(field, "must name at least one"));
        }
        for (i, n) in names.iter().enumerate() {
            let f = match self {
                OneOrMany::One(_) => field.to_string(),
                OneOrMany::Many(_) => format!("{field}[{i}]"),
            };
            if measures {
                c.measure(n, &f)?;
            } else {
                c.dimension(n, &f)?;
            }
        }
        Ok(names)
    }
}

/// Row order of a category chart's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// By the category, ascending.
    X,
    XDesc,
    /// By the first measure, ascending.
    Y,
    YDesc,
}

impl SortOrder {
    /// Sort keys over the category `x` and the measure `y`.
    pub fn keys(self, x: &str, y: &str) -> Vec<Sort> {
        match self {
            SortOrder::X => vec![Sort::asc(x)],
            SortOrder::XDesc => vec![Sort::desc(x)],
            SortOrder::Y => vec![Sort::asc(y)],
            SortOrder::YDesc => vec![Sort::desc(y)],
        }
    }
}

/// The grouping key for an x dimension: time buckets of `grain` when the column is a date or timestamp.
pub fn x_key(model: &lantern_core::semantic::SemanticModel, x: &str, grain: Grain) -> GroupKey {
    if is_temporal(model, x) {
        GroupKey::Time {
            dimension: x.to_string(),
            grain,
        }
    } else {
        GroupKey::Dimension(x.to_string())
    }
}

/// Whether dimension `name` is a date or timestamp column.
pub fn is_temporal(model: &lantern_core::semantic::SemanticModel, name: &str) -> bool {
    use datafusion::arrow::datatypes::DataType as T;
    model
        .dimensions
        .get(name)
        .is_some_and(|d| matches!(d.data_type, T::Date32 | T::Date64 | T::Timestamp(..)))
}

/// Whether dimension `name` is numeric.
pub fn is_numeric(model: &lantern_core::semantic::SemanticModel, name: &str) -> bool {
    model
        .dimensions
        .get(name)
        .is_some_and(|d| d.data_type.is_numeric())
}

/// `limit: 0` is a mistake, not "no rows".
pub fn check_limit(c: &Compiler, limit: Option<usize>, field: &str) -> Result<(), CoreError> {
    if limit == Some(0) {
        return Err(c.error(field, "must be at least 1"));
    }
    Ok(())
}
