//! The reference pivot: on-time delivery rate (and delivered lines) with a breakdown switch: rows by country,
//! sub-region, product line or segment; columns by due month or week (`_rows.reference-pivot`,
//! `_cols.reference-pivot` in the URL).

use std::sync::Arc;

use lantern_core::query::ResultTable;
use lantern_core::shape::Query;
use serde_json::Value;

use super::super::constants::{BREAKDOWNS, Breakdown, COLUMNS, DELIVERED, DUE, ON_TIME_RATE};
use crate::charts::pivot::Pivot;
use crate::charts::{Ask, Chart, Context, switch};

const ID: &str = "reference-pivot";

#[derive(Debug)]
pub struct ReferencePivot;

/// The breakdown and column grain the reader chose (unknown values fall back to the defaults).
fn choice(ctx: &Context) -> (&'static Breakdown, usize) {
    let rows = ctx
        .view
        .params
        .get("rows")
        .and_then(|v| BREAKDOWNS.iter().find(|b| b.value == v))
        .unwrap_or(&BREAKDOWNS[0]);
    let cols = ctx
        .view
        .params
        .get("cols")
        .and_then(|v| COLUMNS.iter().position(|(c, _, _)| c == v))
        .unwrap_or(0);
    (rows, cols)
}

/// The pivot for a choice.
pub fn pivot(rows: &Breakdown, cols: usize) -> Pivot {
    Pivot::new(
        rows.rows.iter().map(|r| r.to_string()).collect(),
        vec![DUE.to_string()],
        vec![ON_TIME_RATE.to_string(), DELIVERED.to_string()],
        COLUMNS[cols].1,
    )
}

impl Chart for ReferencePivot {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        let (rows, cols) = choice(ctx);
        pivot(rows, cols).asks(ctx)
    }

    fn export(&self, ctx: &Context) -> Option<Query> {
        let (rows, cols) = choice(ctx);
        pivot(rows, cols).export(ctx)
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let (rows, cols) = choice(ctx);
        let mut figure = pivot(rows, cols).build(results, ctx);
        let breakdowns: Vec<(&str, &str)> = BREAKDOWNS.iter().map(|b| (b.value, b.label)).collect();
        let columns: Vec<(&str, &str)> = COLUMNS.iter().map(|(v, _, l)| (*v, *l)).collect();
        figure["lantern"]["switches"] = serde_json::json!([
            switch(ID, "rows", "Rows", &breakdowns, rows.value),
            switch(ID, "cols", "Columns", &columns, COLUMNS[cols].0),
        ]);
        figure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::ChartView;
    use crate::charts::test_support::no_selection;
    use lantern_core::shape::{Grain, GroupKey};

    #[test]
    fn the_breakdown_switch_picks_rows_and_columns() {
        let m = crate::charts::test_support::model();
        let mut view = ChartView::default();
        view.params.insert("rows".into(), "product_line".into());
        view.params.insert("cols".into(), "week".into());
        let (rows, cols) = choice(&crate::charts::test_support::ctx(&m, &view, &no_selection));
        assert_eq!(rows.rows, &["product_line"]);
        assert_eq!(COLUMNS[cols].1, Grain::Week);
        let p = pivot(rows, cols);
        assert_eq!(p.rows, vec!["product_line"]);
        assert_eq!(p.grain, Grain::Week);
        // Unknown choices fall back to the defaults.
        view.params.insert("rows".into(), "planet".into());
        let (rows, _) = choice(&crate::charts::test_support::ctx(&m, &view, &no_selection));
        assert_eq!(rows.value, "country");
        let _ = GroupKey::Dimension(String::new());
    }
}
