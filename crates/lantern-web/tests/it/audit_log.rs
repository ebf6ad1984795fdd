//! The audit log as a test reads it: every `audit` line any app in this test binary writes is kept here, so a
//! test finds the lines of one request by the `x-request-id` its response carried.

use std::sync::{Mutex, Once};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

static LINES: Mutex<Vec<serde_json::Value>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Keeps each `audit` event's message (one JSON object).
struct Keep;

struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Keep {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "audit" {
            return;
        }
        let mut message = Message(None);
        event.record(&mut message);
        let line = message.0.expect("an audit event has a message");
        let value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("an audit line is not JSON ({e}): {line}"));
        LINES.lock().unwrap().push(value);
    }
}

/// Starts keeping audit lines (once per test binary; apps started before this are not heard).
pub fn capture() {
    INSTALL.call_once(|| {
        tracing_subscriber::registry()
            .with(Keep)
            .try_init()
            .expect("no other global subscriber in the test binary");
    });
}

/// The audit lines written while answering the request whose response had `response`'s `x-request-id`.
pub fn of(response: &reqwest::Response) -> Vec<serde_json::Value> {
    with_id(response.headers()["x-request-id"].to_str().unwrap())
}

/// The audit lines of the request `id` (for a streamed response, read once its body has ended).
pub fn with_id(id: &str) -> Vec<serde_json::Value> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l["request_id"] == id)
        .cloned()
        .collect()
}
