//! A scripted model provider on loopback: an HTTP server that answers each request with the next response of a script (status, headers,
//! a body sent in chunks with a pause between them, as a streaming provider does) and keeps every request
//! it saw for the test to check.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// One scripted answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// Sent one after the other, with [`PAUSE`] between.
    pub chunks: Vec<String>,
}

const PAUSE: Duration = Duration::from_millis(20);

impl Answer {
    /// A `text/event-stream` of `data:` events.
    pub fn events(data: &[String]) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type", "text/event-stream".into())],
            chunks: data.iter().map(|d| format!("data: {d}\n\n")).collect(),
        }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            chunks: vec![body.to_string()],
        }
    }

    /// An OpenAI-compatible streamed completion whose content is `text`, sent in pieces of about `piece`
    /// characters, with token counts and the closing `[DONE]`.
    pub fn openai_text(text: &str, piece: usize, usage: (u64, u64)) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mut data: Vec<String> = chars
            .chunks(piece.max(1))
            .map(|c| {
                let content: String = c.iter().collect();
                serde_json::json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
                    .to_string()
            })
            .collect();
        data.push(
            serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                .to_string(),
        );
        data.push(
            serde_json::json!({"choices": [], "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1}})
                .to_string(),
        );
        data.push("[DONE]".into());
        Self::events(&data)
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub at: std::time::Instant,
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// The running server; it stops when dropped.
pub struct Server {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    pub async fn start(script: Vec<Answer>) -> Self {
        let shared = Shared {
            script: Arc::new(Mutex::new(script.into())),
            seen: Arc::default(),
        };
        let seen = shared.seen.clone();
        let script_handle = shared.script.clone();
        let app = axum::Router::new().fallback(answer).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            base,
            seen,
            script: script_handle,
            _stop: stop,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Adds answers to the end of the script.
    pub fn push(&self, answers: Vec<Answer>) {
        self.script.lock().unwrap().extend(answers);
    }
}

async fn answer(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    shared.seen.lock().unwrap().push(Seen {
        path_and_query: parts.uri.path_and_query().unwrap().to_string(),
        headers: parts.headers,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        at: std::time::Instant::now(),
    });
    let Some(next) = shared.script.lock().unwrap().pop_front() else {
        return Response::builder()
            .status(StatusCode::GONE)
            .body(Body::from("the script has no more answers"))
            .unwrap();
    };
    let chunks = futures::stream::unfold(next.chunks.into_iter(), |mut rest| async move {
        let chunk = rest.next()?;
        tokio::time::sleep(PAUSE).await;
        Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), rest))
    });
    let mut response = Response::builder().status(next.status);
    for (name, value) in next.headers {
        response = response.header(name, value);
    }
    response.body(Body::from_stream(chunks)).unwrap()
}
