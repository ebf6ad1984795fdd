//! What the APAC DOT page is built from: its dataset and dimension names, the breakdowns a reader can switch the
//! reference pivot to, and the aging buckets of open orders.

use lantern_core::shape::Grain;

pub const DATASET: &str = "apac_dot";
pub const ID: &str = "apac-dot";
pub const TITLE: &str = "APAC DOT Due Date";
pub const DESCRIPTION: &str = "Delivery on time across APAC: the reference pivot by any breakdown, open orders past due, the trend.";

pub const DUE: &str = "due_date";
pub const ON_TIME_RATE: &str = "on_time_rate";
pub const DELIVERED: &str = "delivered_lines";
pub const OPEN_LINES: &str = "open_lines";
pub const OPEN_AMOUNT: &str = "open_amount";

/// A breakdown of the reference pivot's rows: its URL value, its row dimensions and its label.
pub struct Breakdown {
    pub value: &'static str,
    pub rows: &'static [&'static str],
    pub label: &'static str,
}

/// The reference pivot's row breakdowns; the first is the default.
pub const BREAKDOWNS: &[Breakdown] = &[
    Breakdown {
        value: "country",
        rows: &["sub_region", "country"],
        label: "Country",
    },
    Breakdown {
        value: "sub_region",
        rows: &["sub_region"],
        label: "Sub-region",
    },
    Breakdown {
        value: "product_line",
        rows: &["product_line"],
        label: "Product line",
    },
    Breakdown {
        value: "segment",
        rows: &["segment"],
        label: "Segment",
    },
];

/// The reference pivot's column grains; the first is the default.
pub const COLUMNS: &[(&str, Grain, &str)] = &[
    ("month", Grain::Month, "Due month"),
    ("week", Grain::Week, "Due week"),
];

/// Aging buckets of open orders past due, in days past the due date: (first day, last day, label).
pub const AGING: &[(i64, Option<i64>, &str)] = &[
    (1, Some(30), "1–30 days"),
    (31, Some(60), "31–60 days"),
    (61, Some(90), "61–90 days"),
    (91, None, "Over 90 days"),
];
