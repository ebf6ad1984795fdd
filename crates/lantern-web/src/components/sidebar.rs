//! The sidebar: every dashboard, the active one highlighted.

use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct SidebarEntry {
    pub id: String,
    pub title: String,
    pub icon: String,
    pub description: Option<String>,
    pub dataset: String,
}

pub fn entries(state: &AppState) -> Vec<SidebarEntry> {
    state
        .boards()
        .iter()
        .map(|b| &b.spec)
        .map(|d| SidebarEntry {
            id: d.spec.id.clone(),
            title: d.spec.title.clone(),
            icon: d.spec.icon.clone().unwrap_or_else(|| "chart".into()),
            description: d.spec.description.clone(),
            dataset: d.spec.dataset.clone(),
        })
        .collect()
}
