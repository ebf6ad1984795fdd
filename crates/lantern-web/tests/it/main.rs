//! Integration tests: the real app on a random loopback port, driven over HTTP (and by a real browser).

mod access;
mod api;
mod audit_log;
mod auth;
mod bad_input;
mod ballista;
mod browser;
mod chat;
mod dashboards;
mod saml;
mod shared_cache;
mod sso;
mod support;
