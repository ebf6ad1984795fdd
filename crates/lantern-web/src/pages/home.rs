//! `/`: a card per dashboard.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::access::Principal;
use crate::components::sidebar;
use crate::state::AppState;

#[derive(Serialize)]
struct Tile {
    #[serde(flatten)]
    entry: sidebar::SidebarEntry,
    rows: Option<String>,
    version: Option<u64>,
    /// Row rules narrow the user's view: the version's row count is not theirs and is not shown.
    restricted: bool,
}

pub async fn page(State(state): State<AppState>, Extension(me): Extension<Principal>) -> Response {
    let entries = sidebar::entries(&state, &me);
    let mut tiles = Vec::new();
    let datasets: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.dataset.as_str()).collect();
    for entry in entries.iter().cloned() {
        // Under row rules the version's row count is not the user's: it is left out rather than leaked.
        let manifest = state.engine().manifest(&entry.dataset).await.ok();
        let whole = me.rows(&entry.dataset).is_all();
        tiles.push(Tile {
            rows: manifest.as_ref().filter(|_| whole).map(|m| {
                crate::format::format_value(&m.rows.into(), lantern_core::semantic::Format::Integer)
            }),
            version: manifest.as_ref().map(|m| m.version),
            restricted: !whole,
            entry,
        });
    }
    super::html(
        "home.html",
        minijinja::context! {
            nav => Value::from(Serde(&entries)),
            dashboards => Value::from(Serde(&tiles)),
            datasets => datasets.len(),
            total => state.boards().len(),
            active => "",
            user => Value::from(Serde(me.view())),
        },
    )
}
