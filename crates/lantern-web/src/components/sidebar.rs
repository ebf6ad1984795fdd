//! The sidebar: the dashboards the user may open, the active one highlighted.

use serde::Serialize;

use crate::access::Principal;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct SidebarEntry {
    pub id: String,
    pub title: String,
    pub icon: String,
    pub description: Option<String>,
    pub dataset: String,
}

pub fn entries(state: &AppState, me: &Principal) -> Vec<SidebarEntry> {
    state
        .boards()
        .iter()
        .map(|b| &b.spec)
        .filter(|d| me.may_open_dashboard(&d.spec.id, &d.spec.dataset))
        .map(|d| SidebarEntry {
            id: d.spec.id.clone(),
            title: d.spec.title.clone(),
            icon: d.spec.icon.clone().unwrap_or_else(|| "chart".into()),
            description: d.spec.description.clone(),
            dataset: d.spec.dataset.clone(),
        })
        .collect()
}
