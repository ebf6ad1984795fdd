//! Lantern's AI chat: a question about a dataset becomes one read-only SQL query, written by a language model
//! from the dataset's context and run in the sandbox under the asker's row rules; the answer comes back as a
//! table, a chart proposal the web layer checks and draws, and a short summary, kept in the user's thread.
//!
//! Data flows one way: [`context`] (what the model is told) → [`prompt`] → [`provider`] (the model) →
//! [`answer`] (its reply, read and checked) → the sandbox → [`threads`] and [`usage`]; [`ask`] runs the whole.

pub mod answer;
pub mod ask;
pub mod context;
pub mod eval;
pub mod prompt;
pub mod provider;
pub mod threads;
pub mod usage;

pub use ask::{Admitted, Chat, ChatError, Edit, Event, OpenError, Question};
