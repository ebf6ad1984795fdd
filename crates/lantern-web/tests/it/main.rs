//! Integration tests: the real app on a random loopback port, driven over HTTP (and by a real browser).

mod access;
mod api;
mod auth;
mod bad_input;
mod browser;
mod dashboards;
mod sso;
mod support;
