//! The page: its spec (filters, KPI cards, chart slots in order) and its compiled charts.

use std::path::Path;
use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::dashboard::{ChartSpec, DashboardSpec, DashboardSpecFile, KpiSpec};
use lantern_core::semantic::DatasetSpec;

use super::charts;
use super::constants::{DATASET, DESCRIPTION, ID, TITLE};
use crate::board::{Board, BoardChart};
use crate::charts::Chart;

fn slot(id: &str, title: &str, description: &str, wide: bool) -> ChartSpec {
    ChartSpec {
        id: id.to_string(),
        kind: format!("{ID}/{id}"),
        title: Some(title.to_string()),
        description: Some(description.to_string()),
        wide,
        options: Default::default(),
    }
}

/// The charts in page order, with their slots.
fn charts() -> Vec<(ChartSpec, Box<dyn Chart>)> {
    vec![
        (
            slot(
                "reference-pivot",
                "On-time delivery rate (reference)",
                "Switch the rows and columns; click a cell to filter the page by it.",
                true,
            ),
            Box::new(charts::reference_pivot::ReferencePivot),
        ),
        (
            slot(
                "open-past-due",
                "Open orders past due",
                "Open order lines by how long past their due date, as of the last due date in the data.",
                false,
            ),
            Box::new(charts::open_past_due::OpenPastDue),
        ),
        (
            slot(
                "on-time-trend",
                "On-time trend by sub-region",
                "Click a month to drill into its weeks, then its days.",
                false,
            ),
            Box::new(charts::on_time_trend::trend()),
        ),
    ]
}

/// The page's board, its names checked against the dataset spec.
pub fn board(datasets: &[DatasetSpec]) -> Result<Board, CoreError> {
    let charts = charts();
    let spec = DashboardSpec::from_parts(
        DashboardSpecFile {
            id: ID.to_string(),
            title: TITLE.to_string(),
            description: Some(DESCRIPTION.to_string()),
            icon: Some("truck".to_string()),
            dataset: DATASET.to_string(),
            filters: super::filters::filters(),
            kpis: ["order_lines", "on_time_rate", "open_lines", "open_amount"]
                .iter()
                .map(|m| KpiSpec::Name(m.to_string()))
                .collect(),
            charts: charts.iter().map(|(s, _)| s.clone()).collect(),
        },
        Path::new("crates/lantern-web/src/custom/apac_dot"),
    )?;
    spec.check_against(datasets)?;
    Ok(Board {
        spec: Arc::new(spec),
        charts: charts
            .into_iter()
            .map(|(spec, chart)| BoardChart { spec, chart })
            .collect(),
    })
}
