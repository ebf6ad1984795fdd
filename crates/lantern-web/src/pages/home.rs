//! `/`: a card per dashboard.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::auth::SignedIn;
use crate::components::sidebar;
use crate::state::AppState;

#[derive(Serialize)]
struct Tile {
    #[serde(flatten)]
    entry: sidebar::SidebarEntry,
    rows: Option<String>,
    version: Option<u64>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(SignedIn(user)): Extension<SignedIn>,
) -> Response {
    let entries = sidebar::entries(&state);
    let mut tiles = Vec::new();
    let datasets: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.dataset.as_str()).collect();
    for entry in entries.iter().cloned() {
        let manifest = state.engine().manifest(&entry.dataset).await.ok();
        tiles.push(Tile {
            rows: manifest.as_ref().map(|m| {
                crate::format::format_value(&m.rows.into(), lantern_core::semantic::Format::Integer)
            }),
            version: manifest.as_ref().map(|m| m.version),
            entry,
        });
    }
    super::html(
        "home.html",
        minijinja::context! {
            nav => Value::from(Serde(&entries)),
            dashboards => Value::from(Serde(&tiles)),
            datasets => datasets.len(),
            active => "",
            user,
        },
    )
}
