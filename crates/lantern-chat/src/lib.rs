//! Lantern's AI chat: the language models it asks (this crate grows, issue by issue, into the whole chat:
//! context, providers, the answer's checks).

pub mod context;
pub mod provider;
