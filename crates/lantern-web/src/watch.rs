//! `lantern serve --watch`: dashboards as code, live. The spec folders are polled; when a file changes, every
//! dataset and dashboard spec is loaded and checked again (against the loaded versions' columns too), and only
//! a set that checks out replaces the one being served. An invalid edit is kept as the reload status, which the
//! affected pages show (file, line, field) while the last good version keeps serving.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lantern_core::Error as CoreError;
use lantern_core::dashboard::DashboardSpec;
use lantern_core::semantic::{DatasetSpec, SemanticModel};
use serde::Serialize;

use crate::state::AppState;

/// Why the last reload did not take effect.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReloadError {
    /// The file at fault, when the error names one.
    pub file: Option<PathBuf>,
    pub message: String,
}

/// The reload state pages poll (`GET /api/specs`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Status {
    /// Whether the spec folders are watched.
    pub watching: bool,
    /// Reloads that took effect since the start.
    pub generation: u64,
    pub error: Option<ReloadError>,
}

impl Status {
    /// Whether the reload error concerns the dashboard in `dashboard_file` over the dataset in `dataset_file`
    /// (an error that names no file concerns every page).
    pub fn affects(
        &self,
        dashboard_file: &Path,
        dataset_file: Option<&Path>,
    ) -> Option<&ReloadError> {
        let e = self.error.as_ref()?;
        match &e.file {
            None => Some(e),
            Some(f) if f == dashboard_file || Some(f.as_path()) == dataset_file => Some(e),
            Some(_) => None,
        }
    }
}

/// Each spec file's path, modification time and size: what changes when a file is saved, added or removed.
fn fingerprint(dirs: &[&Path]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if !matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml")
            ) {
                continue;
            }
            let meta = e.metadata().ok();
            out.push((
                path,
                meta.as_ref().and_then(|m| m.modified().ok()),
                meta.map(|m| m.len()).unwrap_or(0),
            ));
        }
    }
    out.sort();
    out
}

/// Loads and checks every spec; on success the new set is served.
pub async fn reload(state: &AppState) -> Result<(), CoreError> {
    let config = state.config();
    let datasets = DatasetSpec::load_dir(&config.datasets_dir)?;
    let boards =
        crate::board::compile_all(DashboardSpec::load_dir(&config.dashboards_dir)?, &datasets)?;
    // Check against the columns of the versions being served, before anything is swapped.
    let engine = state.engine();
    for ds in &datasets {
        let Ok(version) = engine.version(ds.id()).await else {
            continue;
        };
        let model = SemanticModel::compile(ds, version.model.schema.clone())?;
        for b in boards.iter().filter(|b| b.spec.spec.dataset == ds.id()) {
            b.check_model(&model)?;
        }
    }
    engine.set_specs(datasets);
    state.set_boards(boards);
    Ok(())
}

impl AppState {
    /// Polls the spec folders every `every` and reloads on a change, for as long as the server runs.
    pub fn spawn_watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        state.set_reload_status(|s| s.watching = true);
        tokio::spawn(async move {
            let config = state.config();
            let dirs = [
                config.datasets_dir.as_path(),
                config.dashboards_dir.as_path(),
            ];
            let mut seen = fingerprint(&dirs);
            loop {
                tokio::time::sleep(every).await;
                let now = fingerprint(&dirs);
                if now == seen {
                    continue;
                }
                seen = now;
                match reload(&state).await {
                    Ok(()) => {
                        tracing::info!("specs reloaded");
                        state.set_reload_status(|s| {
                            s.generation += 1;
                            s.error = None;
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "specs not reloaded; the last good ones keep serving");
                        let file = match &e {
                            CoreError::Spec { file, .. } => Some(file.clone()),
                            CoreError::Io { path, .. } => Some(path.clone()),
                            _ => None,
                        };
                        let error = ReloadError {
                            file,
                            message: e.to_string(),
                        };
                        state.set_reload_status(|s| s.error = Some(error));
                    }
                }
            }
        })
    }
}
