//! `source: {kind: csv, …}`: the configuration, the files it names, and its encoding and delimiter overrides.

use std::path::PathBuf;

use encoding_rs::Encoding;
use serde::Deserialize;

use crate::error::{EtlError, Result};
use crate::sources::{Fault, Input, Source, StageContext, Staged, StagedFile};

/// `source: {kind: csv, …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// A file or a glob (`data/*.csv`).
    pub path: String,
    /// `auto` (default) or an encoding label (`utf-8`, `utf-16le`, `shift_jis`, `euc-kr`, `gbk`, `big5`, …).
    #[serde(default)]
    pub encoding: Option<String>,
    /// `auto` (default) or one character.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Whether the first row names the columns (default true).
    #[serde(default = "yes")]
    pub header: bool,
    /// For `s3://bucket/prefix/*.csv` paths: an S3-compatible endpoint and credentials (default: the usual AWS
    /// environment variables).
    #[serde(default)]
    pub s3: Option<S3Access>,
}

/// Where and how to reach S3 for a CSV path that is an `s3://` URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Access {
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<String>,
}

fn yes() -> bool {
    true
}

impl CsvConfig {
    /// For an object-store URL (`s3://bucket/prefix/*.csv`), the S3 source that fetches it.
    pub fn as_s3(&self) -> Option<crate::sources::s3::S3Config> {
        let rest = self.path.strip_prefix("s3://")?;
        // The last segment names the objects (a glob, or one object's exact name) directly under the folder.
        let (dir, name) = match rest.rsplit_once('/') {
            Some((dir, name)) if name.contains(['*', '?', '[']) => {
                (dir.to_string(), name.to_string())
            }
            Some((dir, name)) => (dir.to_string(), glob::Pattern::escape(name)),
            None => (rest.to_string(), "*".to_string()),
        };
        let access = self.s3.clone().unwrap_or_default();
        Some(crate::sources::s3::S3Config {
            url: format!("s3://{dir}"),
            endpoint: access.endpoint,
            region: access.region,
            path_style: None,
            access_key_id: access.access_key_id,
            secret_access_key: access.secret_access_key,
            format: crate::sources::s3::S3Format::Csv,
            pattern: Some(name),
            direct_children_only: true,
            incremental: false,
            encoding: self.encoding.clone(),
            delimiter: self.delimiter.clone(),
        })
    }

    /// The files the config names, sorted; an error when there are none.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let path = self.path.strip_prefix("file://").unwrap_or(&self.path);
        let matches =
            glob::glob(path).map_err(|e| EtlError::source(&self.path, format!("bad glob: {e}")))?;
        let mut files: Vec<PathBuf> = matches
            .filter_map(|m| m.ok())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(EtlError::source(&self.path, "no file matches this path"));
        }
        Ok(files)
    }

    pub(super) fn encoding_override(&self) -> Result<Option<&'static Encoding>> {
        encoding_named(self.encoding.as_deref()).map_err(|f| self.fault(f))
    }

    pub(super) fn delimiter_override(&self) -> Result<Option<u8>> {
        delimiter_named(self.delimiter.as_deref()).map_err(|f| self.fault(f))
    }

    fn fault(&self, f: Fault) -> EtlError {
        EtlError::source(&self.path, format!("source.{}: {}", f.field, f.message))
    }
}

/// `encoding:` as written: `None` for `auto`.
pub(crate) fn encoding_named(
    label: Option<&str>,
) -> std::result::Result<Option<&'static Encoding>, Fault> {
    match label.map(str::trim) {
        None | Some("auto") | Some("") => Ok(None),
        Some(label) => Encoding::for_label(label.as_bytes())
            .map(Some)
            .ok_or_else(|| Fault::new("encoding", format!("unknown encoding `{label}`"))),
    }
}

/// `delimiter:` as written: `None` for `auto`.
pub(crate) fn delimiter_named(d: Option<&str>) -> std::result::Result<Option<u8>, Fault> {
    match d {
        None | Some("auto") => Ok(None),
        Some("\\t") | Some("tab") => Ok(Some(b'\t')),
        Some(d) if d.len() == 1 => Ok(Some(d.as_bytes()[0])),
        Some(d) => Err(Fault::new(
            "delimiter",
            format!("`{d}` is not one character"),
        )),
    }
}

#[async_trait::async_trait]
impl Source for CsvConfig {
    fn check(&self) -> std::result::Result<(), Fault> {
        encoding_named(self.encoding.as_deref())?;
        delimiter_named(self.delimiter.as_deref())?;
        match self.as_s3() {
            Some(s3) => s3.check(),
            None => glob::Pattern::new(self.path.strip_prefix("file://").unwrap_or(&self.path))
                .map(|_| ())
                .map_err(|e| Fault::new("path", format!("`{}` is not a glob: {e}", self.path))),
        }
    }

    fn describe(&self) -> String {
        format!("csv {}", self.path)
    }

    fn reads_text(&self) -> bool {
        true
    }

    async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        match self.as_s3() {
            Some(s3) => s3.stage(ctx).await,
            None => Ok(Staged::files(Input::Csv {
                files: self.files()?.into_iter().map(StagedFile::local).collect(),
                options: self.clone(),
            })),
        }
    }
}
