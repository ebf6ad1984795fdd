//! The `chat:` block: which model answers questions about datasets, what it may spend, and the sandbox its SQL
//! runs in. Chat is off when the block is absent.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The AI chat.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    pub provider: ChatProvider,
    /// The model's name (`gemini-2.5-flash`, `llama3.1`, …).
    pub model: String,
    /// The provider's base URL: required for `openai` (`http://127.0.0.1:8080`, Ollama's, vLLM's); for the
    /// Google providers, only to reach them elsewhere than at Google (a proxy, a test server).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The API key (`openai`, `gemini`); also `LANTERN_CHAT_API_KEY`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Vertex AI: the Google Cloud project.
    #[serde(default)]
    pub project: Option<String>,
    /// Vertex AI: the region (`us-central1`, `europe-west4`).
    #[serde(default)]
    pub location: Option<String>,
    /// Vertex AI: a service account's JSON key; application-default credentials when absent.
    #[serde(default)]
    pub credentials: Option<PathBuf>,
    /// A whole model answer must arrive within this.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_output_tokens")]
    pub max_output_tokens: u32,
    /// Tokens the dataset's description may take in each prompt (schema and definitions always go in).
    #[serde(default = "default_context_tokens")]
    pub context_tokens: usize,
    /// Earlier turns of a thread a follow-up question carries.
    #[serde(default = "default_history")]
    pub history_turns: usize,
    /// Questions one user may ask per hour.
    #[serde(default = "default_questions_per_hour")]
    pub questions_per_hour: u32,
    /// Tokens (prompt and answer) one user may spend per calendar month (UTC); unlimited when absent.
    #[serde(default)]
    pub monthly_tokens_per_user: Option<u64>,
    #[serde(default)]
    pub price: ChatPrice,
    #[serde(default)]
    pub sandbox: SandboxConfig,
}

/// Which kind of provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatProvider {
    /// Any OpenAI-compatible `/v1/chat/completions` (OpenAI, llama.cpp, Ollama, vLLM).
    Openai,
    /// The Gemini API with an API key.
    Gemini,
    /// Gemini on Vertex AI with Google credentials.
    Vertex,
}

/// What a million tokens cost, in US dollars, for the usage report.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatPrice {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

/// How far one chat query may go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Rows an answer returns at most (the rest is cut off, and said so).
    pub max_rows: usize,
    pub timeout_secs: u64,
    pub memory_mb: usize,
    /// Threads of the sandbox's own runtime, apart from the dashboards'.
    pub threads: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            max_rows: 5_000,
            timeout_secs: 10,
            memory_mb: 256,
            threads: 1,
        }
    }
}

fn default_timeout() -> u64 {
    60
}

fn default_output_tokens() -> u32 {
    1024
}

fn default_context_tokens() -> usize {
    3000
}

fn default_history() -> usize {
    6
}

fn default_questions_per_hour() -> u32 {
    60
}

impl ChatConfig {
    /// Checks what serde cannot: what each provider needs, and sane limits. Errors name the field.
    pub fn validate(&self) -> Result<()> {
        let need = |field: &str, value: &Option<String>, why: &str| -> Result<()> {
            match value.as_deref().map(str::trim) {
                Some(v) if !v.is_empty() => Ok(()),
                _ => Err(Error::config(format!("chat.{field}"), why.to_string())),
            }
        };
        if self.model.trim().is_empty() {
            return Err(Error::config("chat.model", "must name the model"));
        }
        match self.provider {
            ChatProvider::Openai => need(
                "base_url",
                &self.base_url,
                "is required for `provider: openai` (e.g. http://127.0.0.1:8080 for llama.cpp)",
            )?,
            ChatProvider::Gemini => need(
                "api_key",
                &self.api_key,
                "is required for `provider: gemini` (or set LANTERN_CHAT_API_KEY)",
            )?,
            ChatProvider::Vertex => {
                need(
                    "project",
                    &self.project,
                    "is required for `provider: vertex`",
                )?;
                need(
                    "location",
                    &self.location,
                    "is required for `provider: vertex` (e.g. us-central1)",
                )?;
            }
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::config(
                "chat.base_url",
                format!("`{url}` is not an http(s):// URL"),
            ));
        }
        let ranges: [(&str, u64, u64, u64); 7] = [
            ("timeout_secs", self.timeout_secs, 1, 600),
            (
                "max_output_tokens",
                self.max_output_tokens.into(),
                64,
                65_536,
            ),
            ("context_tokens", self.context_tokens as u64, 200, 1_000_000),
            (
                "questions_per_hour",
                self.questions_per_hour.into(),
                1,
                100_000,
            ),
            (
                "sandbox.max_rows",
                self.sandbox.max_rows as u64,
                1,
                1_000_000,
            ),
            ("sandbox.timeout_secs", self.sandbox.timeout_secs, 1, 600),
            (
                "sandbox.memory_mb",
                self.sandbox.memory_mb as u64,
                16,
                65_536,
            ),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(Error::config(
                    format!("chat.{field}"),
                    format!("{value} is out of range: give {min} to {max}"),
                ));
            }
        }
        if !(1..=16).contains(&self.sandbox.threads) {
            return Err(Error::config(
                "chat.sandbox.threads",
                "must be between 1 and 16",
            ));
        }
        for (field, price) in [
            ("price.input_per_million", self.price.input_per_million),
            ("price.output_per_million", self.price.output_per_million),
        ] {
            if !(price.is_finite() && price >= 0.0) {
                return Err(Error::config(
                    format!("chat.{field}"),
                    "must be a price of zero or more",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ChatConfig> {
        let c: ChatConfig =
            serde_yaml::from_str(yaml).map_err(|e| Error::config("chat", e.to_string()))?;
        c.validate().map(|_| c)
    }

    #[test]
    fn each_provider_names_what_it_lacks() {
        let e = parse("provider: openai\nmodel: m\n").unwrap_err();
        assert!(e.to_string().contains("chat.base_url"), "{e}");
        let e = parse("provider: gemini\nmodel: m\n").unwrap_err();
        assert!(e.to_string().contains("chat.api_key"), "{e}");
        let e = parse("provider: vertex\nmodel: m\nproject: p\n").unwrap_err();
        assert!(e.to_string().contains("chat.location"), "{e}");
        let ok = parse("provider: vertex\nmodel: m\nproject: p\nlocation: us-central1\n").unwrap();
        assert_eq!(ok.sandbox.max_rows, 5_000);
    }

    #[test]
    fn limits_out_of_range_are_named() {
        let e = parse(
            "provider: openai\nmodel: m\nbase_url: http://127.0.0.1:1\nsandbox: {timeout_secs: 0}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("chat.sandbox.timeout_secs"), "{e}");
        let e = parse("provider: openai\nmodel: m\nbase_url: ftp://x\n").unwrap_err();
        assert!(e.to_string().contains("not an http(s)"), "{e}");
        let e = parse(
            "provider: openai\nmodel: m\nbase_url: http://x\nprice: {input_per_million: -1}\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("chat.price.input_per_million"),
            "{e}"
        );
    }
}
