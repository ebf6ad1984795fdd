//! `lantern check`: every dataset and dashboard spec validated against the published data, for the CI of a
//! team's dashboard repository. Unlike a start, it does not stop at the first problem: it lists them all.

use lantern_core::Error as CoreError;
use lantern_core::catalog::Catalog;
use lantern_core::config::Config;
use lantern_core::dashboard::DashboardSpec;
use lantern_core::query::QueryEngine;
use lantern_core::semantic::DatasetSpec;
use lantern_core::storage::Storage;

use crate::board::Board;

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per spec that passed.
    pub passed: Vec<String>,
    /// One message per problem, naming file, line and field where there is one.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the specs in `config`'s folders against the data in its store.
pub async fn check(config: &Config) -> Report {
    let mut report = Report::default();
    let datasets = match DatasetSpec::load_dir(&config.datasets_dir) {
        Ok(d) => d,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    let storage = match Storage::open(&config.storage) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    let specs = match read_dashboards(config) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    let engine = match QueryEngine::new(
        Catalog::new(storage),
        datasets.clone(),
        &config.query,
        &config.cache,
    ) {
        Ok(e) => e,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    for d in &datasets {
        match engine.version(d.id()).await {
            Ok(v) => report.passed.push(format!(
                "{}: dataset `{}` v{} ({} rows, {} measures)",
                d.file.display(),
                d.id(),
                v.manifest.version,
                v.manifest.rows,
                v.model.measures.len() - 1
            )),
            Err(CoreError::NotFound { kind: "dataset", .. }) => report.problems.push(format!(
                "{}: dataset `{}` has no published version: load it (`lantern etl run {}`) before checking its dashboards",
                d.file.display(),
                d.id(),
                d.id()
            )),
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    let mut boards: Vec<Board> = Vec::new();
    for spec in specs {
        match Board::compile(spec, &datasets) {
            Ok(b) => boards.push(b),
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    for page in crate::custom::PAGES {
        match page(&datasets) {
            Ok(Some(b)) => boards.push(b),
            Ok(None) => {}
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    for board in boards {
        let file = board.spec.file.display().to_string();
        let Ok(version) = engine.version(&board.spec.spec.dataset).await else {
            continue; // reported with its dataset
        };
        if let Err(e) = board.check_model(&version.model) {
            report.problems.push(e.to_string());
            continue;
        }
        // Run it as a reader would, unfiltered: a chart that cannot be computed is a problem too.
        match crate::board::run::run(&engine, &board, &[], &lantern_core::access::RowScope::All)
            .await
        {
            Ok(data) => {
                let failed: Vec<String> = data
                    .charts
                    .iter()
                    .filter_map(|c| {
                        Some(format!("{file}: chart `{}`: {}", c.id, c.error.as_ref()?))
                    })
                    .collect();
                if failed.is_empty() {
                    report.passed.push(format!(
                        "{file}: dashboard `{}`: {} KPIs and {} charts over `{}` v{}",
                        board.id(),
                        data.kpis.len(),
                        data.charts.len(),
                        data.dataset,
                        data.version
                    ));
                }
                report.problems.extend(failed);
            }
            Err(e) => report.problems.push(format!("{file}: {}", e.message)),
        }
    }
    report
}

/// Every dashboard spec that parses; a file that does not is a problem of its own (the others are still checked).
fn read_dashboards(config: &Config) -> Result<Vec<DashboardSpec>, CoreError> {
    DashboardSpec::load_dir(&config.dashboards_dir)
}
