//! The models Lantern asks, behind one call: a prompt in, its reply streamed out piece by piece, with the
//! token counts and why the model stopped. Each kind of provider is one file and one line in [`Provider`].
//! Retries (429 and 5xx, honouring `Retry-After`) and the errors users read are shared.

mod gemini;
mod openai;
mod retry;

use std::time::Duration;

use lantern_core::config::{ChatConfig, ChatProvider};

pub use gemini::{Gemini, GeminiAuth};
pub use openai::OpenAi;

/// What the model is asked.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    /// Instructions and context (schema, measures, profiles, sample rows).
    pub system: String,
    /// The conversation so far, ending with the user's question.
    pub turns: Vec<Turn>,
    /// A JSON schema the reply must follow (structured output), if any.
    pub schema: Option<serde_json::Value>,
    pub max_output_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Model,
}

#[derive(Debug, Clone)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// The model's whole reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    pub text: String,
    pub usage: Usage,
    pub finish: Finish,
}

/// Tokens counted by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Why the model stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Finish {
    #[default]
    Stop,
    /// Cut off at `max_output_tokens`.
    MaxTokens,
    /// Anything else the provider says, as it says it.
    Other(String),
}

/// Why a provider gave no reply, in words for the user (and with the details for the log).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the model provider at {url} cannot be reached: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the model provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error(
        "the model provider is busy (still 429 after {attempts} attempts); try again in a minute"
    )]
    RateLimited { attempts: u32 },
    #[error("the model provider's quota is used up: {message}")]
    Quota { message: String },
    #[error("the model provider refused the credentials ({status}): {message}")]
    Auth { status: u16, message: String },
    #[error("the model provider answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the model provider blocked this answer ({reason})")]
    Blocked { reason: String },
    #[error("the Google credentials give no token: {0}")]
    Credentials(String),
    #[error("the model provider's answer could not be read: {0}")]
    Malformed(String),
}

/// A configured model, of any kind.
pub enum Provider {
    OpenAi(OpenAi),
    Gemini(Gemini),
}

impl Provider {
    /// The provider `config` describes (already validated: each kind has what it needs). Vertex AI without
    /// a key file looks for application-default credentials now, so a machine without them fails at start.
    pub async fn from_config(config: &ChatConfig) -> Result<Self, ProviderError> {
        let timeout = Duration::from_secs(config.timeout_secs);
        let base = config.base_url.as_deref();
        Ok(match config.provider {
            ChatProvider::Openai => Self::OpenAi(OpenAi::new(
                base.unwrap_or_default(),
                &config.model,
                config.api_key.clone(),
                timeout,
            )),
            ChatProvider::Gemini => Self::Gemini(Gemini::api_key(
                base,
                &config.model,
                config.api_key.clone().unwrap_or_default(),
                timeout,
            )),
            ChatProvider::Vertex => {
                let auth = match &config.credentials {
                    Some(path) => GeminiAuth::service_account_file(path)?,
                    None => GeminiAuth::application_default().await?,
                };
                Self::Gemini(Gemini::vertex(
                    base,
                    config.project.as_deref().unwrap_or_default(),
                    config.location.as_deref().unwrap_or_default(),
                    &config.model,
                    auth,
                    timeout,
                ))
            }
        })
    }

    /// Asks the model; `on_text` gets each piece of the reply as it streams in.
    pub async fn generate(
        &self,
        prompt: &Prompt,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Reply, ProviderError> {
        match self {
            Self::OpenAi(p) => p.generate(prompt, on_text).await,
            Self::Gemini(p) => p.generate(prompt, on_text).await,
        }
    }
}

/// The HTTP client providers share: a connect timeout and a whole-request limit.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .expect("a TLS backend is built in")
}
