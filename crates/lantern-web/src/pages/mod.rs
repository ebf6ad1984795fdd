//! Server-rendered pages. Each works as a plain GET with its state in the URL.

pub mod dashboard;
pub mod dataset;
pub mod datasets;
pub mod home;

use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

/// Renders a template into a response, or an error page when rendering fails.
pub(crate) fn html(name: &str, ctx: minijinja::Value) -> Response {
    match crate::templates::render(name, ctx) {
        Ok(body) => Html(body).into_response(),
        Err(e) => AppError::internal_logged(&format!("template {name}: {e:#}"))
            .page()
            .into_response(),
    }
}
