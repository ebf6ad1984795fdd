//! Lantern's web layer: the axum server, login and sessions, pages, components, Plotly charts and the theme.
//!
//! Requests flow one way: filters from the URL → `lantern_core::query` (cached) → pure chart builders in
//! [`charts`] → JSON for the API or server-rendered HTML pages.

pub mod access;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod board;
pub mod charts;
pub mod chat;
pub mod check;
pub mod components;
pub mod csrf;
pub mod custom;
pub mod directory;
pub mod error;
pub mod format;
pub mod kpi;
pub mod pages;
pub mod proxy;
pub mod request_id;
pub mod security_headers;
pub mod server;
pub mod session_store;
pub mod sso;
pub mod state;
pub mod telemetry;
pub mod templates;
pub mod theme;
pub mod throttle;
pub mod watch;

pub use error::AppError;
pub use server::{router, serve};
pub use state::{AppState, StartError};
