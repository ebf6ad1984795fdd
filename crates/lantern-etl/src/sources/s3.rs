//! Objects under an S3 prefix (AWS or any S3-compatible server): CSV, JSON lines or Parquet. With
//! `incremental: true`, a run loads only objects modified since the last published run and appends their rows
//! to the previous version; the newest last-modified time loaded is stored with the version. Objects are taken
//! as immutable drops: one rewritten later is loaded again (appended), and one whose upload finishes after a
//! newer object was already loaded, with an older last-modified time, is missed — write drops whole (one PUT)
//! or under a new name.
//!
//! ```yaml
//! source:
//!   kind: s3
//!   url: s3://exports/orders/          # bucket and prefix
//!   endpoint: ${S3_ENDPOINT:-}          # empty: AWS
//!   format: csv                         # csv | jsonl | parquet | auto (by extension)
//!   pattern: "*.csv"                   # optional, matched against the object's name
//!   incremental: true
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use lantern_core::config::StorageConfig;
use lantern_core::storage::Storage;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use serde::Deserialize;

use super::http::expand_env;
use super::{Fault, Input, Source, StageContext, Staged, StagedFile};
use crate::error::{EtlError, Result};
use crate::sources::csv::CsvConfig;

/// `source: {kind: s3, …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// `s3://bucket/prefix`.
    pub url: String,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// Path-style requests (MinIO and most S3-compatible servers); default true when `endpoint` is set.
    #[serde(default)]
    pub path_style: Option<bool>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<String>,
    #[serde(default)]
    pub format: S3Format,
    /// A glob matched against each object's file name (`*.csv`).
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub incremental: bool,
    /// Only objects directly under the prefix, not in sub-folders (a CSV source's `s3://…/*.csv` path).
    #[serde(skip)]
    pub direct_children_only: bool,
    /// For CSV objects: `auto` or an encoding label.
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub delimiter: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum S3Format {
    /// By extension: `.csv`/`.tsv`/`.txt`, `.jsonl`/`.ndjson`/`.json`, `.parquet`.
    #[default]
    Auto,
    Csv,
    Jsonl,
    Parquet,
}

fn format_of(key: &str) -> Option<S3Format> {
    let lower = key.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    Some(match ext {
        "csv" | "tsv" | "txt" => S3Format::Csv,
        "jsonl" | "ndjson" | "json" => S3Format::Jsonl,
        "parquet" | "pq" => S3Format::Parquet,
        _ => return None,
    })
}

/// Keys of the state stored with each version.
const LAST_MODIFIED: &str = "s3_last_modified";
const KEYS_AT_LAST_MODIFIED: &str = "s3_keys_at_last_modified";

#[async_trait::async_trait]
impl Source for S3Config {
    fn check(&self) -> std::result::Result<(), Fault> {
        if !self.url.contains("${") && !self.url.starts_with("s3://") {
            return Err(Fault::new(
                "url",
                format!("`{}` is not s3://bucket/prefix", self.url),
            ));
        }
        if let Some(p) = &self.pattern {
            glob::Pattern::new(p)
                .map_err(|e| Fault::new("pattern", format!("`{p}` is not a glob: {e}")))?;
        }
        crate::sources::csv::encoding_named(self.encoding.as_deref())?;
        crate::sources::csv::delimiter_named(self.delimiter.as_deref())?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("s3 {}", self.url)
    }

    /// CSV objects are text; with `auto`, the format is known only once the objects are listed (checked again
    /// then).
    fn reads_text(&self) -> bool {
        matches!(self.format, S3Format::Csv | S3Format::Auto)
    }

    async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        self.fetch(ctx).await
    }
}

impl S3Config {
    fn open(&self) -> Result<(Storage, String)> {
        let url = expand_env(&self.url, "source.url")?;
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            EtlError::source("source.url", format!("`{url}` is not s3://bucket/prefix"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let endpoint = self
            .endpoint
            .as_deref()
            .map(|e| expand_env(e, "source.endpoint"))
            .transpose()?
            .filter(|e| !e.is_empty());
        let opt = |v: &Option<String>, field: &str| {
            v.as_deref().map(|x| expand_env(x, field)).transpose()
        };
        let storage = Storage::open(&StorageConfig {
            url: format!("s3://{bucket}"),
            path_style: self.path_style.unwrap_or(endpoint.is_some()),
            allow_http: None,
            endpoint,
            region: opt(&self.region, "source.region")?,
            access_key_id: opt(&self.access_key_id, "source.access_key_id")?,
            secret_access_key: opt(&self.secret_access_key, "source.secret_access_key")?,
            session_token: None,
        })
        .map_err(|e| EtlError::failed("source.url", e))?;
        Ok((
            storage,
            format!("s3://{bucket}/{}", prefix.trim_start_matches('/')),
        ))
    }

    async fn fetch(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        let (storage, url) = self.open()?;
        let bucket_url = url.split('/').take(3).collect::<Vec<_>>().join("/");
        let prefix = url[bucket_url.len()..].trim_matches('/').to_string();
        let pattern = self
            .pattern
            .as_deref()
            .map(glob::Pattern::new)
            .transpose()
            .map_err(|e| EtlError::failed("source.pattern", e))?;
        let store = storage.store().clone();
        let list_prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
        let mut objects: Vec<object_store::ObjectMeta> = store
            .list(list_prefix.as_ref())
            .try_collect()
            .await
            .map_err(|e| EtlError::source(&url, format!("cannot list: {e}")))?;
        let depth = list_prefix.as_ref().map(|p| p.parts().count()).unwrap_or(0) + 1;
        objects.retain(|o| {
            if self.direct_children_only && o.location.parts().count() != depth {
                return false;
            }
            let name = o.location.filename().unwrap_or("");
            !name.starts_with('.')
                && !name.starts_with('_')
                && pattern.as_ref().is_none_or(|p| p.matches(name))
        });

        // Which objects are new since the last run.
        // Append only to a version an incremental run published (it knows where it stopped).
        let previous = ctx
            .previous
            .filter(|m| self.incremental && m.source_state.contains_key(LAST_MODIFIED));
        let since: Option<DateTime<Utc>> = previous
            .and_then(|m| m.source_state.get(LAST_MODIFIED))
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        let seen_at_since: BTreeSet<String> = previous
            .and_then(|m| m.source_state.get(KEYS_AT_LAST_MODIFIED))
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        if let Some(since) = since {
            objects.retain(|o| {
                o.last_modified > since
                    || (o.last_modified == since && !seen_at_since.contains(o.location.as_ref()))
            });
        }
        objects.sort_by(|a, b| a.location.cmp(&b.location));

        let format = match self.format {
            S3Format::Auto => {
                let mut formats = objects
                    .iter()
                    .map(|o| (format_of(o.location.as_ref()), &o.location));
                match formats.next() {
                    None => S3Format::Csv,
                    Some((None, key)) => {
                        return Err(EtlError::source(
                            format!("{bucket_url}/{key}"),
                            "unknown file type: set source.format (csv, jsonl, parquet) or source.pattern",
                        ));
                    }
                    Some((Some(f), _)) => {
                        if let Some((_, key)) = formats.find(|(g, _)| *g != Some(f)) {
                            return Err(EtlError::source(
                                format!("{bucket_url}/{key}"),
                                "objects of different types under one prefix: set source.pattern",
                            ));
                        }
                        f
                    }
                }
            }
            f => f,
        };

        let mut files = Vec::new();
        let mut bytes = 0u64;
        for (i, o) in objects.iter().enumerate() {
            let label = format!("{bucket_url}/{}", o.location);
            let local = ctx.staging.join(format!("s3-{i:06}"));
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&local).map_err(|e| EtlError::failed(&label, e))?,
            );
            let mut stream = store
                .get(&o.location)
                .await
                .map_err(|e| EtlError::failed(&label, e))?
                .into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk
                    .map_err(|e| EtlError::source(&label, format!("download stopped: {e}")))?;
                bytes += chunk.len() as u64;
                out.write_all(&chunk)
                    .map_err(|e| EtlError::failed(&label, e))?;
            }
            out.flush().map_err(|e| EtlError::failed(&label, e))?;
            files.push(StagedFile { path: local, label });
        }

        let mut state = BTreeMap::new();
        if self.incremental {
            let newest = objects.iter().map(|o| o.last_modified).max();
            match newest {
                Some(newest) => {
                    let mut at_newest: BTreeSet<String> = objects
                        .iter()
                        .filter(|o| o.last_modified == newest)
                        .map(|o| o.location.to_string())
                        .collect();
                    if Some(newest) == since {
                        at_newest.extend(seen_at_since);
                    }
                    state.insert(LAST_MODIFIED.into(), newest.to_rfc3339());
                    state.insert(
                        KEYS_AT_LAST_MODIFIED.into(),
                        serde_json::to_string(&at_newest).expect("strings serialize"),
                    );
                }
                None => {
                    if let Some(m) = previous {
                        state = m.source_state.clone();
                    }
                }
            }
        }
        if files.is_empty() && previous.is_none() {
            return Err(EtlError::source(
                &url,
                "no objects to load under this prefix",
            ));
        }
        let input = match format {
            S3Format::Auto | S3Format::Csv => Input::Csv {
                files,
                options: CsvConfig {
                    path: url.clone(),
                    encoding: self.encoding.clone(),
                    delimiter: self.delimiter.clone(),
                    header: true,
                    s3: None,
                },
            },
            S3Format::Jsonl => Input::JsonLines(files),
            S3Format::Parquet => Input::Parquet(files),
        };
        let mut staged = Staged::files(input);
        staged.input_bytes = bytes;
        staged.state = state;
        staged.append = self.incremental && previous.is_some();
        Ok(staged)
    }
}
