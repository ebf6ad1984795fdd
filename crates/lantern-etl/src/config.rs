//! The ETL part of `datasets/<id>.yaml`: the `source:` and `load:` blocks.
//!
//! ```yaml
//! id: cursor_usage
//! source:
//!   kind: csv
//!   path: data/cursor_usage*.csv     # a file or a glob, relative to the working folder
//!   encoding: auto                   # or a WHATWG label: utf-8, utf-16le, shift_jis, euc-kr, gbk, big5, windows-1252…
//!   delimiter: auto                  # or one character
//! load:
//!   types: {zip_code: string}        # per-column overrides: integer, float, boolean, date, timestamp, string
//!   null_values: ["", NA, N/A, null, NULL, "-"]
//!   retention: 5                     # versions kept
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lantern_core::yaml_lines::LineIndex;
use serde::Deserialize;

use crate::error::{EtlError, Result};
use crate::infer::ColumnType;

pub use crate::sources::SourceConfig;

/// How rows are loaded: types, nulls, names, versions kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadConfig {
    /// Column types that inference must not choose by itself.
    pub types: BTreeMap<String, ColumnType>,
    /// Cell values read as null.
    pub null_values: Vec<String>,
    /// Read `0`/`1` columns as booleans (off by default: they are usually counts or flags kept as numbers).
    pub zero_one_booleans: bool,
    /// How the input's numbers and ambiguous dates are written (`de-DE`: `1.234,56`, `31.12.2025`): settles
    /// columns whose values read two ways, and the separators of columns given a type in `types`.
    pub locale: Option<crate::formats::Locale>,
    /// Per column, how its values are written: `decimal_comma`, `decimal_point`, `percent`, `currency`,
    /// `day_first`, `month_first` (combined with spaces), or a date pattern such as `%d.%m.%Y`.
    pub formats: BTreeMap<String, crate::formats::FormatSpec>,
    /// Rewrite column names as trimmed, unique snake_case.
    pub normalize_names: bool,
    /// Published versions to keep; older ones are deleted after a successful run.
    pub retention: usize,
    /// Hive-style partition columns: files go to `col=value/…/part-*.parquet`.
    pub partition_by: Vec<String>,
    /// Rows that cannot be loaded (wrong field count, a value that breaks a configured type) are written to the
    /// version's `_quarantine/bad_rows.csv`; more than this many fail the run.
    pub max_bad_rows: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            types: BTreeMap::new(),
            null_values: ["", "NA", "N/A", "null", "NULL", "-"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            zero_one_booleans: false,
            locale: None,
            formats: BTreeMap::new(),
            normalize_names: true,
            retention: 5,
            partition_by: Vec::new(),
            max_bad_rows: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct EtlFile {
    id: String,
    #[serde(default)]
    source: Option<SourceConfig>,
    #[serde(default)]
    load: LoadConfig,
    #[serde(default, deserialize_with = "crate::transforms::deserialize_list")]
    transforms: Vec<crate::transforms::TransformConfig>,
    /// Cron expression for `lantern serve` (`0 */6 * * *`: every six hours).
    #[serde(default)]
    schedule: Option<String>,
}

/// One dataset's ETL configuration.
#[derive(Debug, Clone)]
pub struct EtlConfig {
    pub id: String,
    pub source: SourceConfig,
    pub load: LoadConfig,
    pub transforms: Vec<crate::transforms::TransformConfig>,
    /// Cron expression: `lantern serve` runs the dataset on it.
    pub schedule: Option<crate::schedule::Schedule>,
    pub file: PathBuf,
    /// Where each field of the spec stands, for errors found after parsing.
    pub lines: LineIndex,
}

/// A spec file and the line of each of its fields: errors found after parsing (an unknown column in a
/// transform) name the line they stand on.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub file: &'a Path,
    pub lines: &'a LineIndex,
}

impl Spec<'_> {
    /// A configuration error at `field` (a dotted path such as `transforms[2].expr`).
    pub fn error(&self, field: impl Into<String>, message: impl Into<String>) -> EtlError {
        let field = field.into();
        EtlError::Config {
            file: self.file.to_path_buf(),
            line: self.lines.line(&field),
            field,
            message: message.into(),
        }
    }
}

/// Parses a spec file as core does, so both report a bad field the same way.
fn parse_spec<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<(T, LineIndex)> {
    lantern_core::yaml_lines::parse_spec(file, text).map_err(|e| match e {
        lantern_core::Error::Spec {
            file,
            line,
            field,
            message,
        } => EtlError::Config {
            file,
            line,
            field,
            message,
        },
        other => EtlError::Core(other),
    })
}

impl EtlConfig {
    /// Parses the ETL blocks of a dataset spec; `Ok(None)` when it has no `source:` (not loaded by the ETL).
    pub fn parse(file: &Path, text: &str) -> Result<Option<Self>> {
        let (parsed, lines): (EtlFile, LineIndex) = parse_spec(file, text)?;
        let spec = Spec {
            file,
            lines: &lines,
        };
        let Some(source) = parsed.source else {
            return Ok(None);
        };
        if let Err(fault) = source.source().check() {
            return Err(spec.error(format!("source.{}", fault.field), fault.message));
        }
        if parsed.load.retention == 0 {
            return Err(spec.error("load.retention", "must keep at least 1 version"));
        }
        for (column, format) in &parsed.load.formats {
            if let Some(ty) = parsed.load.types.get(column)
                && !format.resolve(None).suits(*ty)
            {
                return Err(spec.error(
                    format!("load.formats.{column}"),
                    format!(
                        "`{}` does not make {} values (load.types.{column}); a number format goes with \
                         integer or float, a date format with date or timestamp",
                        format.written,
                        ty.name()
                    ),
                ));
            }
        }
        // S3 files found by extension are checked again once staged (`pipeline`).
        if !source.source().reads_text() {
            let field = if parsed.load.locale.is_some() {
                Some("load.locale")
            } else if !parsed.load.formats.is_empty() {
                Some("load.formats")
            } else {
                None
            };
            if let Some(field) = field {
                return Err(spec.error(
                    field,
                    "applies to CSV files only: this source's values keep their own types",
                ));
            }
        }
        let schedule = parsed
            .schedule
            .as_deref()
            .map(|s| {
                crate::schedule::Schedule::parse(s)
                    .map_err(|message| spec.error("schedule", message))
            })
            .transpose()?;
        Ok(Some(Self::assemble(
            parsed.id,
            source,
            parsed.load,
            parsed.transforms,
            schedule,
            file,
            lines,
        )))
    }

    fn assemble(
        id: String,
        source: SourceConfig,
        load: LoadConfig,
        mut transforms: Vec<crate::transforms::TransformConfig>,
        schedule: Option<crate::schedule::Schedule>,
        file: &Path,
        lines: LineIndex,
    ) -> Self {
        if let SourceConfig::Domo(d) = &source {
            // The seed's exclude filter names DOMO's columns; it runs first, on the names as loaded.
            let excludes = d.exclude.iter().map(|e| {
                let mut e = e.clone();
                if load.normalize_names {
                    e.column = crate::sources::clean_names(&[e.column.clone()], true).remove(0);
                }
                crate::transforms::TransformConfig::Exclude(e)
            });
            transforms.splice(0..0, excludes);
        }
        Self {
            id,
            source,
            load,
            transforms,
            schedule,
            file: file.to_path_buf(),
            lines,
        }
    }

    /// This spec, for errors that name a field's line.
    pub fn spec(&self) -> Spec<'_> {
        Spec {
            file: &self.file,
            lines: &self.lines,
        }
    }

    /// The datasets of a seed-style `domo_datasets.yaml` (see [`crate::sources::domo::DomoListFile`]).
    pub fn parse_domo_list(file: &Path, text: &str) -> Result<Vec<Self>> {
        let (list, lines): (crate::sources::domo::DomoListFile, LineIndex) =
            parse_spec(file, text)?;
        let spec = Spec {
            file,
            lines: &lines,
        };
        let mut out = Vec::new();
        for (i, entry) in list.datasets.iter().enumerate() {
            let bad = |field: &str, message: String| {
                spec.error(format!("datasets[{i}].{field}"), message)
            };
            if !lantern_core::catalog::valid_id(&entry.name) {
                return Err(bad(
                    "name",
                    format!(
                        "`{}`: use lowercase letters, digits, `_` and `-`",
                        entry.name
                    ),
                ));
            }
            let schedule = entry
                .schedule
                .as_deref()
                .map(|s| crate::schedule::Schedule::parse(s).map_err(|m| bad("schedule", m)))
                .transpose()?;
            out.push(Self::assemble(
                entry.name.clone(),
                SourceConfig::Domo(entry.source(&list.domo)),
                entry.load.clone().unwrap_or_default(),
                Vec::new(),
                schedule,
                file,
                lines.clone(),
            ));
        }
        Ok(out)
    }

    /// Whether `path` is a seed-style DOMO list rather than one dataset's spec.
    pub fn is_domo_list(path: &Path) -> bool {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("domo_datasets.yaml") || n.ends_with("domo_datasets.yml"))
    }

    /// Every dataset in `dir` that has a `source:`, sorted by id.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(EtlError::failed(dir.display().to_string(), e)),
        };
        paths.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")));
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| EtlError::failed(p.display().to_string(), e))?;
            if Self::is_domo_list(&p) {
                out.extend(Self::parse_domo_list(&p, &text)?);
            } else if let Some(c) = Self::parse(&p, &text)? {
                out.push(c);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in out.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(pair[1].spec().error(
                    "id",
                    format!(
                        "dataset `{}` is loaded by {} too: give it one source",
                        pair[1].id,
                        pair[0].file.display()
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// A one-line description of the source, for listings.
    pub fn describe(&self) -> String {
        self.source.source().describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_source_and_load_and_ignores_metrics() {
        let text = "id: x\nmetrics:\n  measures: {}\nsource:\n  kind: csv\n  path: a/*.csv\n  delimiter: ';'\nload:\n  types: {zip: string}\n  retention: 2\n";
        let c = EtlConfig::parse(Path::new("x.yaml"), text)
            .unwrap()
            .unwrap();
        assert_eq!(c.load.retention, 2);
        assert_eq!(c.load.types["zip"], ColumnType::String);
        assert_eq!(c.describe(), "csv a/*.csv");
        assert!(
            EtlConfig::parse(Path::new("x.yaml"), "id: x\n")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn bad_options_are_named() {
        let err = EtlConfig::parse(
            Path::new("x.yaml"),
            "id: x\nsource:\n  kind: csv\n  path: a.csv\n  delimter: ';'\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x.yaml:") && err.contains("delimter"), "{err}");
        let err = EtlConfig::parse(Path::new("x.yaml"), "id: x\nsource:\n  kind: ftp\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("source") && err.contains("ftp"), "{err}");
        let err = EtlConfig::parse(
            Path::new("x.yaml"),
            "id: x\nsource: {kind: csv, path: a.csv}\nload:\n  types: {a: money}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("load.types.a") && err.contains("money"),
            "{err}"
        );
    }

    #[test]
    fn source_faults_are_found_when_the_spec_loads_with_their_line() {
        let err = |text: &str| {
            EtlConfig::parse(Path::new("x.yaml"), text)
                .unwrap_err()
                .to_string()
        };
        let e = err(
            "id: x\nsource:\n  kind: sql\n  url: postgres://h/db\n  query: q\n  decimal_scale: 40\n",
        );
        assert!(e.starts_with("x.yaml:6: `source.decimal_scale`: 40"), "{e}");
        let e = err("id: x\nsource:\n  kind: sql\n  url: oracle://h/db\n  query: q\n");
        assert!(e.starts_with("x.yaml:4: `source.url`"), "{e}");
        let e = err("id: x\nsource:\n  kind: s3\n  url: https://bucket/x\n");
        assert!(e.starts_with("x.yaml:4: `source.url`"), "{e}");
        let e = err("id: x\nsource:\n  kind: api\n  base_url: ftp://h\n");
        assert!(
            e.starts_with("x.yaml:4: `source.base_url`") && e.contains("ftp://"),
            "{e}"
        );
        let e = err("id: x\nsource:\n  kind: csv\n  path: a.csv\n  delimiter: ';;'\n");
        assert!(e.starts_with("x.yaml:5: `source.delimiter`"), "{e}");
        let e = err("id: x\nsource: {kind: csv, path: a.csv}\nload:\n  retention: 0\n");
        assert!(e.starts_with("x.yaml:4: `load.retention`"), "{e}");
        // `${VAR}` is expanded when the run starts, not before.
        assert!(
            EtlConfig::parse(
                Path::new("x.yaml"),
                "id: x\nsource: {kind: sql, url: '${DB_URL}', query: q}\n"
            )
            .is_ok()
        );
    }
}
