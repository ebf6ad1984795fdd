//! Any OpenAI-compatible chat completions endpoint (OpenAI, llama.cpp's server, Ollama, vLLM) by base URL:
//! `POST {base}/v1/chat/completions` with `stream: true`; chunks arrive as SSE `data:` lines until
//! `data: [DONE]`, the text in `choices[0].delta.content`, the token counts in a last chunk's `usage`
//! (asked for with `stream_options.include_usage`). Structured output by `response_format: json_schema`.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use super::{Finish, Prompt, ProviderError, Reply, Role, Usage, retry};

pub struct OpenAi {
    /// Up to and without `/v1`, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    http: reqwest::Client,
}

impl OpenAi {
    pub fn new(base_url: &str, model: &str, api_key: Option<String>, timeout: Duration) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key,
            timeout,
            http: super::http_client(timeout),
        }
    }

    fn body(&self, prompt: &Prompt) -> Value {
        let mut messages = vec![json!({"role": "system", "content": prompt.system})];
        for t in &prompt.turns {
            let role = match t.role {
                Role::User => "user",
                Role::Model => "assistant",
            };
            messages.push(json!({"role": role, "content": t.text}));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": prompt.max_output_tokens,
        });
        if let Some(schema) = &prompt.schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": true},
            });
        }
        body
    }

    pub async fn generate(
        &self,
        prompt: &Prompt,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Reply, ProviderError> {
        let url = format!("{}/v1/chat/completions", self.base_url);
        let body = self.body(prompt);
        let res = retry::send(&url, self.timeout, || {
            let r = self.http.post(&url).json(&body);
            match &self.api_key {
                Some(key) => r.bearer_auth(key),
                None => r,
            }
        })
        .await?;
        let mut reply = Reply::default();
        let mut done = false;
        let mut events = res.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| ProviderError::Malformed(e.to_string()))?;
            if event.data.trim() == "[DONE]" {
                done = true;
                break;
            }
            let chunk: Value = serde_json::from_str(&event.data)
                .map_err(|e| ProviderError::Malformed(format!("{e}: {}", event.data)))?;
            if let Some(message) = chunk["error"]["message"].as_str() {
                return Err(ProviderError::Status {
                    status: 200,
                    message: message.to_string(),
                });
            }
            let choice = &chunk["choices"][0];
            if let Some(text) = choice["delta"]["content"].as_str()
                && !text.is_empty()
            {
                on_text(text);
                reply.text.push_str(text);
            }
            match choice["finish_reason"].as_str() {
                Some("stop") | None => {}
                Some("length") => reply.finish = Finish::MaxTokens,
                Some("content_filter") => {
                    return Err(ProviderError::Blocked {
                        reason: "content_filter".into(),
                    });
                }
                Some(other) => reply.finish = Finish::Other(other.to_string()),
            }
            if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
                reply.usage = Usage {
                    input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
                    output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
                };
            }
        }
        if !done {
            return Err(ProviderError::Malformed(
                "the stream ended without `[DONE]`".into(),
            ));
        }
        Ok(reply)
    }
}
