//! The AI chat in the portal: a page per dataset (`/chat/{id}`) and a panel on every dashboard, both drawn by
//! `assets/chat.js` over the routes in [`api`]. Questions and answers come from `lantern-chat`; this layer
//! adds who may ask (the chat feature, on a dataset they may open), the dashboard's filters, the chart drawn
//! from the model's proposal ([`chart`]), and the audit line of each question.

pub mod api;
pub mod chart;
pub mod page;
pub mod view;

use lantern_core::access::Feature;

use crate::access::Access;
use crate::server::Route;

/// The chat's routes, each with its rule.
pub fn routes() -> Vec<Route> {
    use Access::Chat;
    vec![
        Route::get("/chat/{id}", Chat(&[]), page::page),
        Route::post("/api/chat/{id}/ask", Chat(&[]), api::ask),
        Route::get("/api/chat/{id}/threads", Chat(&[]), api::list),
        Route::get("/api/chat/{id}/threads/{thread}", Chat(&[]), api::show),
        Route::post(
            "/api/chat/{id}/threads/{thread}/turns/{turn}/run",
            Chat(&[Feature::ChatSql]),
            api::run,
        ),
        Route::post(
            "/api/chat/{id}/threads/{thread}/turns/{turn}/feedback",
            Chat(&[]),
            api::feedback,
        ),
        Route::get(
            "/api/chat/{id}/threads/{thread}/turns/{turn}/export.csv",
            Chat(&[Feature::Export]),
            api::export,
        ),
    ]
}
