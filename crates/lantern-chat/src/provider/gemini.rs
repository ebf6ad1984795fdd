//! Gemini, on Vertex AI (`{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}`,
//! a bearer token) or by API key (`https://generativelanguage.googleapis.com/v1beta/models/{model}`,
//! `x-goog-api-key`), streamed with `:streamGenerateContent?alt=sse`: each SSE `data:` line is a whole
//! `GenerateContentResponse`, and no `[DONE]` follows. Structured output by
//! `generationConfig.responseMimeType` and `responseSchema`. A blocked answer shows as a `finishReason`
//! (SAFETY, RECITATION, PROHIBITED_CONTENT, …) or as `promptFeedback.blockReason`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use super::{Finish, Prompt, ProviderError, Reply, Role, Usage, retry};

/// Finish reasons that mean the answer was withheld, not finished.
const BLOCKED: [&str; 6] = [
    "SAFETY",
    "RECITATION",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "IMAGE_SAFETY",
];

/// The OAuth scope Vertex AI's tokens need.
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How requests are signed.
pub enum GeminiAuth {
    /// The Gemini API's key.
    ApiKey(String),
    /// Vertex AI with a fixed OAuth access token.
    Bearer(String),
    /// Vertex AI with tokens from Google credentials (a service-account key, or application-default
    /// credentials), fetched from the token endpoint the credentials name and cached until shortly before
    /// they expire.
    Tokens(Arc<dyn gcp_auth::TokenProvider>),
}

impl GeminiAuth {
    /// A service account's JSON key file.
    pub fn service_account_file(path: &Path) -> Result<Self, ProviderError> {
        let account = gcp_auth::CustomServiceAccount::from_file(path)
            .map_err(|e| ProviderError::Credentials(format!("{}: {e}", path.display())))?;
        Ok(Self::Tokens(Arc::new(account)))
    }

    /// Application-default credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's, or the metadata server).
    pub async fn application_default() -> Result<Self, ProviderError> {
        let provider = gcp_auth::provider()
            .await
            .map_err(|e| ProviderError::Credentials(e.to_string()))?;
        Ok(Self::Tokens(provider))
    }

    /// The header that signs a request.
    async fn header(&self) -> Result<(&'static str, String), ProviderError> {
        Ok(match self {
            Self::ApiKey(key) => ("x-goog-api-key", key.clone()),
            Self::Bearer(token) => ("authorization", format!("Bearer {token}")),
            Self::Tokens(provider) => {
                let token = provider
                    .token(&[CLOUD_PLATFORM])
                    .await
                    .map_err(|e| ProviderError::Credentials(e.to_string()))?;
                ("authorization", format!("Bearer {}", token.as_str()))
            }
        })
    }
}

pub struct Gemini {
    /// The model's URL up to `:streamGenerateContent`.
    pub model_url: String,
    pub auth: GeminiAuth,
    pub timeout: Duration,
    http: reqwest::Client,
}

impl Gemini {
    /// Gemini on Vertex AI; `base` is `https://{location}-aiplatform.googleapis.com` unless given.
    pub fn vertex(
        base: Option<&str>,
        project: &str,
        location: &str,
        model: &str,
        auth: GeminiAuth,
        timeout: Duration,
    ) -> Self {
        let base = base.map_or_else(
            || format!("https://{location}-aiplatform.googleapis.com"),
            |b| b.trim_end_matches('/').to_string(),
        );
        Self {
            model_url: format!(
                "{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}"
            ),
            auth,
            timeout,
            http: super::http_client(timeout),
        }
    }

    /// Gemini by API key; `base` is `https://generativelanguage.googleapis.com` unless given.
    pub fn api_key(base: Option<&str>, model: &str, key: String, timeout: Duration) -> Self {
        let base = base
            .unwrap_or("https://generativelanguage.googleapis.com")
            .trim_end_matches('/');
        Self {
            model_url: format!("{base}/v1beta/models/{model}"),
            auth: GeminiAuth::ApiKey(key),
            timeout,
            http: super::http_client(timeout),
        }
    }

    fn body(prompt: &Prompt) -> Value {
        let contents: Vec<Value> = prompt
            .turns
            .iter()
            .map(|t| {
                let role = match t.role {
                    Role::User => "user",
                    Role::Model => "model",
                };
                json!({"role": role, "parts": [{"text": t.text}]})
            })
            .collect();
        let mut generation = json!({"maxOutputTokens": prompt.max_output_tokens});
        if let Some(schema) = &prompt.schema {
            generation["responseMimeType"] = json!("application/json");
            generation["responseSchema"] = openapi_schema(schema);
        }
        json!({
            "systemInstruction": {"parts": [{"text": prompt.system}]},
            "contents": contents,
            "generationConfig": generation,
        })
    }

    pub async fn generate(
        &self,
        prompt: &Prompt,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Reply, ProviderError> {
        let url = format!("{}:streamGenerateContent?alt=sse", self.model_url);
        let body = Self::body(prompt);
        let (name, value) = self.auth.header().await?;
        let res = retry::send(&url, self.timeout, || {
            self.http.post(&url).header(name, &value).json(&body)
        })
        .await?;
        let mut reply = Reply::default();
        let mut events = res.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| ProviderError::Malformed(e.to_string()))?;
            let part: Value = serde_json::from_str(&event.data)
                .map_err(|e| ProviderError::Malformed(format!("{e}: {}", event.data)))?;
            if let Some(reason) = part["promptFeedback"]["blockReason"].as_str() {
                return Err(ProviderError::Blocked {
                    reason: reason.to_string(),
                });
            }
            let candidate = &part["candidates"][0];
            for p in candidate["content"]["parts"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(text) = p["text"].as_str()
                    && !text.is_empty()
                {
                    on_text(text);
                    reply.text.push_str(text);
                }
            }
            match candidate["finishReason"].as_str() {
                None | Some("STOP") | Some("FINISH_REASON_UNSPECIFIED") => {}
                Some("MAX_TOKENS") => reply.finish = Finish::MaxTokens,
                Some(r) if BLOCKED.contains(&r) => {
                    return Err(ProviderError::Blocked {
                        reason: r.to_string(),
                    });
                }
                Some(other) => reply.finish = Finish::Other(other.to_string()),
            }
            if let Some(u) = part.get("usageMetadata").filter(|u| u.is_object()) {
                reply.usage = Usage {
                    input_tokens: u["promptTokenCount"].as_u64().unwrap_or(0),
                    output_tokens: u["candidatesTokenCount"].as_u64().unwrap_or(0),
                };
            }
        }
        Ok(reply)
    }
}

/// `schema` in the OpenAPI subset Gemini's `responseSchema` takes: it has no `additionalProperties` (Vertex AI
/// refuses the request when it is there), and Gemini orders properties only as `propertyOrdering` says: it is
/// set to their order in `schema`, so the SQL streams first as it does with OpenAI.
fn openapi_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                if k == "additionalProperties" {
                    continue;
                }
                let v = if k == "properties" {
                    match v {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(name, p)| (name.clone(), openapi_schema(p)))
                                .collect(),
                        ),
                        other => other.clone(),
                    }
                } else {
                    openapi_schema(v)
                };
                out.insert(k.clone(), v);
            }
            if let Some(Value::Object(props)) = map.get("properties") {
                out.insert(
                    "propertyOrdering".into(),
                    json!(props.keys().collect::<Vec<_>>()),
                );
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(openapi_schema).collect()),
        other => other.clone(),
    }
}
