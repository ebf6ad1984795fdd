//! The page's filters: country, product line and segment lists, and the due-date range.

use lantern_core::dashboard::{FilterKind, FilterSpec};

pub fn filters() -> Vec<FilterSpec> {
    let f = |dimension: &str, kind| FilterSpec {
        dimension: dimension.to_string(),
        kind,
        label: None,
    };
    vec![
        f("country", FilterKind::MultiSelect),
        f("product_line", FilterKind::MultiSelect),
        f("segment", FilterKind::MultiSelect),
        f(super::constants::DUE, FilterKind::DateRange),
    ]
}
