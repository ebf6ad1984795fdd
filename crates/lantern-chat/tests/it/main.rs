//! Integration tests: the providers against an HTTP server started here that speaks their wire formats and
//! answers from a script.

mod context;
mod eval;
mod providers;
mod support;
