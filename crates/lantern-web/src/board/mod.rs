//! Dashboards as the web layer runs them: a spec whose charts are compiled by the chart library
//! ([`Board::compile`]), and the request path that answers its KPIs and charts for a filter set ([`run`]).

pub mod run;

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::dashboard::{ChartSpec, DashboardSpec};
use lantern_core::semantic::{DatasetSpec, SemanticModel};

use crate::charts::{self, Chart};

/// One chart of a board: its shared spec fields and the compiled kind.
#[derive(Debug)]
pub struct BoardChart {
    pub spec: ChartSpec,
    pub chart: Box<dyn Chart>,
}

/// A dashboard with its charts compiled.
#[derive(Debug)]
pub struct Board {
    pub spec: Arc<DashboardSpec>,
    pub charts: Vec<BoardChart>,
}

impl Board {
    /// Checks `spec` against its dataset spec and compiles every chart; errors name file, line and field.
    pub fn compile(spec: DashboardSpec, datasets: &[DatasetSpec]) -> Result<Self, CoreError> {
        let dataset = spec.check_against(datasets)?;
        let charts = spec
            .spec
            .charts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(BoardChart {
                    spec: c.clone(),
                    chart: charts::compile(&spec, dataset, i, c)?,
                })
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(Self {
            spec: Arc::new(spec),
            charts,
        })
    }

    pub fn id(&self) -> &str {
        self.spec.id()
    }

    pub fn chart(&self, id: &str) -> Option<&BoardChart> {
        self.charts.iter().find(|c| c.spec.id == id)
    }

    /// Checks filter kinds and every chart against a loaded version's column types.
    pub fn check_model(&self, model: &SemanticModel) -> Result<(), CoreError> {
        self.spec.check_types(model)?;
        for (i, c) in self.charts.iter().enumerate() {
            c.chart.check_model(model).map_err(|(field, message)| {
                self.spec.error(&format!("charts[{i}].{field}"), message)
            })?;
        }
        Ok(())
    }

    /// The title a chart shows: its own, or its kind and id.
    pub fn chart_title(c: &BoardChart) -> String {
        c.spec
            .title
            .clone()
            .unwrap_or_else(|| lantern_core::semantic::title_case(&c.spec.id))
    }
}

/// Compiles every dashboard spec and adds the custom Rust pages whose datasets are configured, stopping at the
/// first error; two dashboards may not share an id.
pub fn compile_all(
    specs: Vec<DashboardSpec>,
    datasets: &[DatasetSpec],
) -> Result<Vec<Arc<Board>>, CoreError> {
    let mut boards: Vec<Arc<Board>> = specs
        .into_iter()
        .map(|s| Board::compile(s, datasets).map(Arc::new))
        .collect::<Result<_, _>>()?;
    for page in crate::custom::PAGES {
        if let Some(b) = page(datasets)? {
            if let Some(other) = boards.iter().find(|o| o.id() == b.id()) {
                return Err(other.spec.error(
                    "id",
                    format!("`{}` is the id of a built-in page; choose another", b.id()),
                ));
            }
            boards.push(Arc::new(b));
        }
    }
    Ok(boards)
}
