//! DOMO datasets: an OAuth2 client-credentials token (`GET /oauth/token?grant_type=client_credentials&scope=data`
//! with the client's id and secret), then the dataset exported as CSV with its header
//! (`GET /v1/datasets/{id}/data?includeHeader=true`), staged and read by the CSV reader. The seed's exclude filter
//! (drop rows whose column holds one of some values) becomes an `exclude` transform that runs first.
//!
//! Also read: the seed's `domo_datasets.yaml`, a list of DOMO datasets with target names and exclude filters,
//! each of which becomes one Lantern dataset (see [`DomoListFile`]).

use std::io::Write;

use serde::Deserialize;

use super::http::{RetryConfig, check_http_url, client, expand_env, parse_token, send_ok};
use super::{Fault, Input, Source, StageContext, Staged, StagedFile};
use crate::error::{EtlError, Result};
use crate::sources::csv::CsvConfig;
use crate::transforms::exclude::ExcludeConfig;

pub const DEFAULT_BASE_URL: &str = "https://api.domo.com";

/// `source: {kind: domo, …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomoConfig {
    #[serde(default = "default_base_url")]
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub dataset_id: String,
    /// Rows dropped: where `column` holds one of `values` (compared as text).
    #[serde(default)]
    pub exclude: Vec<ExcludeConfig>,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}
fn timeout_secs() -> u64 {
    600
}

#[async_trait::async_trait]
impl Source for DomoConfig {
    fn check(&self) -> std::result::Result<(), Fault> {
        check_http_url("base_url", &self.base_url)
    }

    fn describe(&self) -> String {
        format!("domo dataset {}", self.dataset_id)
    }

    /// The export is CSV.
    fn reads_text(&self) -> bool {
        true
    }

    async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        let base = expand_env(&self.base_url, "source.base_url")?;
        let base = base.trim_end_matches('/');
        let id = expand_env(&self.client_id, "source.client_id")?;
        let secret = expand_env(&self.client_secret, "source.client_secret")?;
        let http = client(self.timeout_secs)?;
        let token_url = format!("{base}/oauth/token");
        let what = format!("GET {token_url}");
        let r = send_ok(&what, &self.retry, || {
            http.get(&token_url)
                .query(&[("grant_type", "client_credentials"), ("scope", "data")])
                .basic_auth(&id, Some(&secret))
        })
        .await?;
        let token = parse_token(&what, r).await?;

        let data_url = format!("{base}/v1/datasets/{}/data", self.dataset_id);
        let label = format!("DOMO dataset {} ({data_url})", self.dataset_id);
        let mut r = send_ok(&format!("GET {data_url}"), &self.retry, || {
            http.get(&data_url)
                .query(&[("includeHeader", "true")])
                .header(reqwest::header::ACCEPT, "text/csv")
                .bearer_auth(&token)
        })
        .await?;
        let path = ctx.staging.join(format!("domo-{}.csv", self.dataset_id));
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&path).map_err(|e| EtlError::failed(&label, e))?,
        );
        let mut bytes = 0u64;
        while let Some(chunk) = r
            .chunk()
            .await
            .map_err(|e| EtlError::source(&label, format!("download stopped: {e}")))?
        {
            bytes += chunk.len() as u64;
            out.write_all(&chunk)
                .map_err(|e| EtlError::failed(&label, e))?;
        }
        out.flush().map_err(|e| EtlError::failed(&label, e))?;
        tracing::info!(dataset = ctx.dataset, domo_dataset = %self.dataset_id, bytes, "domo export downloaded");
        let mut staged = Staged::files(Input::Csv {
            files: vec![StagedFile {
                path,
                label: label.clone(),
            }],
            options: CsvConfig {
                path: label,
                encoding: None,
                delimiter: Some(",".into()),
                header: true,
                s3: None,
            },
        });
        staged.input_bytes = bytes;
        Ok(staged)
    }
}

/// The seed's `domo_datasets.yaml`: shared credentials and a list of DOMO datasets.
///
/// ```yaml
/// domo:
///   base_url: ${DOMO_BASE_URL:-https://api.domo.com}
///   client_id: ${DOMO_CLIENT_ID}
///   client_secret: ${DOMO_CLIENT_SECRET}
/// datasets:
///   - dataset_id: 9b1c4c1e-…          # the DOMO dataset id
///     name: apac_dot                  # the Lantern dataset it loads
///     exclude_filter: {column: Status, values: [Cancelled, Test]}
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomoListFile {
    pub domo: DomoCredentials,
    pub datasets: Vec<DomoListEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomoCredentials {
    #[serde(default = "default_base_url")]
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomoListEntry {
    #[serde(alias = "domo_id", alias = "id")]
    pub dataset_id: String,
    #[serde(alias = "target_name", alias = "target")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, alias = "exclude", deserialize_with = "one_or_many")]
    pub exclude_filter: Vec<ExcludeConfig>,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub load: Option<crate::config::LoadConfig>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ExcludeConfig>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(ExcludeConfig),
        Many(Vec<ExcludeConfig>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(v) => v,
    })
}

impl DomoListEntry {
    pub fn source(&self, creds: &DomoCredentials) -> DomoConfig {
        DomoConfig {
            base_url: creds.base_url.clone(),
            client_id: creds.client_id.clone(),
            client_secret: creds.client_secret.clone(),
            dataset_id: self.dataset_id.clone(),
            exclude: self.exclude_filter.clone(),
            retry: RetryConfig::default(),
            timeout_secs: timeout_secs(),
        }
    }
}
