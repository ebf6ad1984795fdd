//! APAC DOT Due Date, the seed's modular page: [`constants`] (dataset, breakdowns, aging buckets), [`filters`],
//! [`layout`] (the page: filters, KPI cards and the charts in order) and one file per chart in [`charts`], each
//! building its figure with a pure function. It runs on the same query layer, cache and filters as YAML pages.

pub mod charts;
pub mod constants;
pub mod filters;
pub mod layout;

use lantern_core::Error as CoreError;
use lantern_core::semantic::DatasetSpec;

use crate::board::Board;

/// The page's board, when the `apac_dot` dataset is configured.
pub fn board(datasets: &[DatasetSpec]) -> Result<Option<Board>, CoreError> {
    if !datasets.iter().any(|d| d.id() == constants::DATASET) {
        return Ok(None);
    }
    layout::board(datasets).map(Some)
}
