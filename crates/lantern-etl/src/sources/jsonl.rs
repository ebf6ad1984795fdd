//! JSON lines (one object per line), as staged by the API source or found in S3: nested objects become `a.b`
//! columns, arrays are kept as their JSON text, and every leaf goes through the same type inference as CSV cells
//! (a JSON string `"2025-01-02"` becomes a date, `"007"` stays a string).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};

use datafusion::arrow::datatypes::SchemaRef;
use serde_json::Value;

use super::{ReadOptions, RowSink, StagedFile, TableReader};
use crate::batch::{BatchBuilder, schema};
use crate::error::{EtlError, Result};
use crate::infer::{ColumnType, Inference, ValueOptions};
use crate::sources::csv::{BadRow, clean_names};

/// Appends the leaves of `v` under `prefix` as `(a.b, text)`; `None` is JSON null.
pub fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Option<String>)>) {
    let text = match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, x, out);
            }
            return;
        }
        Value::Object(_) | Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) => Some(v.to_string()),
    };
    out.push((prefix.to_string(), text));
}

/// `customerInfo.firstName` → `customer_info.first_name`: each segment normalized, the dots kept.
fn normalize_path(path: &str) -> String {
    path.split('.')
        .map(|seg| clean_names(&[seg.to_string()], true).remove(0))
        .collect::<Vec<_>>()
        .join(".")
}

enum Line {
    Record(Vec<(String, Option<String>)>),
    Bad(String),
}

fn for_each_line(
    file: &StagedFile,
    mut f: impl FnMut(u64, &str, Line) -> Result<()>,
) -> Result<()> {
    let reader = std::fs::File::open(&file.path)
        .map(|f| BufReader::with_capacity(256 * 1024, f))
        .map_err(|e| EtlError::source(&file.label, e.to_string()))?;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| EtlError::Source {
            file: file.label.clone(),
            row: Some(i as u64 + 1),
            column: None,
            message: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = match serde_json::from_str::<Value>(&line) {
            Ok(v @ Value::Object(_)) => {
                let mut leaves = Vec::new();
                flatten("", &v, &mut leaves);
                Line::Record(leaves)
            }
            Ok(_) => Line::Bad("the line is not a JSON object".into()),
            Err(e) => Line::Bad(format!("invalid JSON: {e}")),
        };
        f(i as u64 + 1, &line, parsed)?;
    }
    Ok(())
}

/// Reads JSON lines files; the columns are every leaf path seen, in order of first appearance.
pub struct JsonLinesReader {
    files: Vec<StagedFile>,
    /// Leaf path as in the data → column index.
    index: HashMap<String, usize>,
    names: Vec<String>,
    types: Vec<ColumnType>,
    schema: SchemaRef,
    options: ValueOptions,
    batch_rows: usize,
}

impl JsonLinesReader {
    pub fn open(files: Vec<StagedFile>, options: &ReadOptions) -> Result<Self> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut raw: Vec<String> = Vec::new();
        let mut inference: Vec<Inference> = Vec::new();
        for f in &files {
            for_each_line(f, |_, _, line| {
                if let Line::Record(leaves) = line {
                    for (path, text) in leaves {
                        let i = *index.entry(path.clone()).or_insert_with(|| {
                            raw.push(path);
                            inference.push(Inference::default());
                            raw.len() - 1
                        });
                        if let Some(t) = text {
                            inference[i].observe(&t, &options.values);
                        }
                    }
                }
                Ok(())
            })?;
        }
        if raw.is_empty() {
            let label = files
                .first()
                .map(|f| f.label.as_str())
                .unwrap_or("(no input)");
            return Err(EtlError::source(label, "no JSON records to load"));
        }
        let names: Vec<String> = if options.normalize_names {
            let normalized: Vec<String> = raw.iter().map(|p| normalize_path(p)).collect();
            clean_names(&normalized, false)
        } else {
            clean_names(&raw, false)
        };
        let types: Vec<ColumnType> = names
            .iter()
            .zip(inference)
            .map(|(n, i)| options.types.get(n).copied().unwrap_or_else(|| i.finish()))
            .collect();
        Ok(Self {
            schema: schema(&names, &types),
            files,
            index,
            names,
            types,
            options: options.values.clone(),
            batch_rows: options.batch_rows,
        })
    }
}

impl TableReader for JsonLinesReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(&mut self, sink: &mut RowSink<'_>) -> Result<BTreeMap<String, String>> {
        let mut batch = BatchBuilder::new(
            self.schema.clone(),
            self.types.clone(),
            self.options.clone(),
            self.batch_rows,
        );
        let width = self.names.len();
        for f in &self.files {
            for_each_line(f, |line_no, line, parsed| {
                let refuse = |column: Option<String>, reason: String| BadRow {
                    file: f.label.clone(),
                    line: line_no,
                    column,
                    reason,
                    fields: vec![line.to_string()],
                };
                let leaves = match parsed {
                    Line::Record(leaves) => leaves,
                    Line::Bad(reason) => return (sink.bad)(refuse(None, reason)),
                };
                let mut cells: Vec<Option<String>> = vec![None; width];
                for (path, text) in leaves {
                    if let Some(&i) = self.index.get(&path) {
                        cells[i] = text;
                    }
                }
                if let Err((i, reason)) = batch.push_with(|i| cells[i].as_deref()) {
                    return (sink.bad)(refuse(Some(self.names[i].clone()), reason));
                }
                if batch.full()
                    && let Some(b) = batch.take()?
                {
                    (sink.emit)(0, b)?;
                }
                Ok(())
            })?;
        }
        if let Some(b) = batch.take()? {
            (sink.emit)(0, b)?;
        }
        Ok(BTreeMap::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_flatten_to_dotted_paths() {
        let v: Value = serde_json::from_str(
            r#"{"id": 7, "customerInfo": {"firstName": "Ana", "tags": ["a", "b"], "address": {"zip": "007"}}, "gone": null, "empty": {}}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let map: BTreeMap<_, _> = out.into_iter().collect();
        assert_eq!(map["id"].as_deref(), Some("7"));
        assert_eq!(map["customerInfo.firstName"].as_deref(), Some("Ana"));
        assert_eq!(map["customerInfo.tags"].as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(map["customerInfo.address.zip"].as_deref(), Some("007"));
        assert_eq!(map["gone"], None);
        assert_eq!(map["empty"], None);
        assert_eq!(
            normalize_path("customerInfo.firstName"),
            "customer_info.first_name"
        );
    }
}
