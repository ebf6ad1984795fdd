//! One error type for every handler, with one stable JSON shape:
//! `{"error": {"code": "bad_filter", "field": "team", "message": "…"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use lantern_core::Error as CoreError;

/// An error answered to a client, as JSON (API routes) or as a page.
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For internal errors: the reference under which the full error was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a AppError,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            request_id: None,
        }
    }

    /// An internal failure: logged in full under the request's id, answered with the id only, so no path,
    /// query or stack detail reaches a reader.
    pub fn internal_logged(error: &dyn std::fmt::Display) -> Self {
        Self::logged(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
            error,
        )
    }

    /// A failure of ours with its own status and code, logged in full under the request's id (a fresh one
    /// outside a request) and answered with `summary` and the id.
    pub fn logged(
        status: StatusCode,
        code: &'static str,
        summary: &str,
        error: &dyn std::fmt::Display,
    ) -> Self {
        let id = crate::request_id::current().unwrap_or_else(crate::request_id::fresh);
        tracing::error!(request_id = %id, code, error = %error, "request failed");
        Self {
            request_id: Some(id.clone()),
            ..Self::new(
                status,
                code,
                format!("{summary} (reference {id}); the details are in the server log"),
            )
        }
    }

    /// This error, naming the request field it is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The message to show a reader.
    pub fn public_message(&self) -> String {
        self.message.clone()
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} `{id}` not found"),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first: POST /login",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// A short title for error pages.
    pub fn title(&self) -> &'static str {
        match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Invalid request",
            StatusCode::SERVICE_UNAVAILABLE if self.code == "no_data" => "No data yet",
            StatusCode::SERVICE_UNAVAILABLE => "Data unavailable",
            StatusCode::UNAUTHORIZED => "Please sign in",
            StatusCode::FORBIDDEN => "No access",
            _ => "Something went wrong",
        }
    }

    /// This error as an HTML page instead of JSON.
    pub fn page(self) -> PageError {
        PageError(self)
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        Self::from(&e)
    }
}

impl From<&CoreError> for AppError {
    fn from(full: &CoreError) -> Self {
        let e = full.kind();
        match e {
            CoreError::Filter { field, message } => Self {
                status: StatusCode::BAD_REQUEST,
                code: "bad_filter",
                message: message.clone(),
                field: Some(field.clone()),
                request_id: None,
            },
            CoreError::NotFound {
                kind: "dataset",
                id,
            } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_data",
                format!(
                    "dataset `{id}` has no published version yet: load it with `lantern etl run {id}` \
                     (or `lantern demo` for the demo datasets)"
                ),
            ),
            CoreError::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            // The stored data is there but cannot be read (a corrupt file, a manifest that does not parse, the
            // object store down): the service is unavailable, not broken, and the storage paths stay in the log.
            CoreError::DatasetUnreadable { dataset, .. } => Self::logged(
                StatusCode::SERVICE_UNAVAILABLE,
                "dataset_unreadable",
                &format!("dataset `{dataset}` cannot be read right now"),
                e,
            ),
            CoreError::Storage { .. } | CoreError::Json { .. } => Self::logged(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the data store cannot be read right now",
                e,
            ),
            CoreError::Spec { field, .. } => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "invalid_spec",
                message: e.to_string(),
                field: Some(field.clone()),
                request_id: None,
            },
            _ => Self::internal_logged(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(Envelope { error: &self })).into_response()
    }
}

/// An [`AppError`] rendered as an HTML page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        let body = crate::templates::render(
            "error.html",
            minijinja::context! { title => e.title(), message => &e.message },
        );
        match body {
            Ok(html) => (e.status, Html(html)).into_response(),
            Err(_) => (e.status, e.message).into_response(),
        }
    }
}

impl From<CoreError> for PageError {
    fn from(e: CoreError) -> Self {
        PageError(e.into())
    }
}
