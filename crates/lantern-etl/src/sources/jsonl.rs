//! JSON lines (one object per line), as staged by the API source or found in S3: nested objects become `a.b`
//! columns, arrays are kept as their JSON text, and every leaf goes through the same type inference as CSV cells
//! (a JSON string `"2025-01-02"` becomes a date, `"007"` stays a string).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::{ReadOptions, RowSink, StagedFile, TableReader};
use crate::batch::{BatchBuilder, OneRow, schema};
use crate::error::{EtlError, Result};
use crate::infer::{ColumnType, Inference, ValueOptions};
use crate::sources::{BadRow, Lines, clean_names};

/// The leaves of one JSON object line as `(a.b, text)` pairs, in the order they appear in the line (`None` is
/// JSON null or an empty object). Walks the text with a visitor, without building a `Value` tree, so that
/// columns come out in the source's order.
pub fn flatten_line(line: &str) -> std::result::Result<Vec<(String, Option<String>)>, String> {
    if !line.trim_start().starts_with('{') {
        return Err("the line is not a JSON object".into());
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(line);
    serde::de::DeserializeSeed::deserialize(
        Leaves {
            prefix: String::new(),
            out: &mut out,
        },
        &mut de,
    )
    .and_then(|_| de.end())
    .map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(out)
}

/// Collects the leaves under `prefix`.
struct Leaves<'a> {
    prefix: String,
    out: &'a mut Vec<(String, Option<String>)>,
}

impl Leaves<'_> {
    fn leaf(self, text: Option<String>) {
        self.out.push((self.prefix, text));
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Leaves<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Leaves<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        let mut any = false;
        while let Some(key) = map.next_key::<String>()? {
            any = true;
            let prefix = if self.prefix.is_empty() {
                key
            } else {
                format!("{}.{key}", self.prefix)
            };
            map.next_value_seed(Leaves {
                prefix,
                out: &mut *self.out,
            })?;
        }
        if !any && !self.prefix.is_empty() {
            self.leaf(None);
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        // A list stays one cell: its JSON text.
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        self.leaf(Some(Value::Array(items).to_string()));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        self.leaf(Some(v.to_string()));
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<(), E> {
        self.leaf(Some(v));
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<(), E> {
        self.leaf(Some(v.to_string()));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<(), E> {
        self.leaf(Some(v.to_string()));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<(), E> {
        self.leaf(Some(v.to_string()));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<(), E> {
        // As serde_json writes it (`20.5`, `1e+300`), not as Rust's `Display` would (300 digits).
        let text = serde_json::Number::from_f64(v).map(|n| n.to_string());
        self.leaf(text);
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.leaf(None);
        Ok(())
    }
    fn visit_none<E>(self) -> std::result::Result<(), E> {
        self.leaf(None);
        Ok(())
    }
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
        .map_err(|e| EtlError::failed(&file.label, e))?;
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
        let parsed = match flatten_line(&line) {
            Ok(leaves) => Line::Record(leaves),
            Err(reason) => Line::Bad(reason),
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
                            inference.push(Inference::plain());
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
            let label: std::sync::Arc<str> = f.label.as_str().into();
            let mut lines: Vec<u64> = Vec::new();
            let emit = |b: RecordBatch, lines: &mut Vec<u64>, sink: &mut RowSink<'_>| {
                let lines = Lines {
                    file: label.clone(),
                    lines: std::mem::take(lines),
                };
                (sink.emit)(0, b, Some(lines))
            };
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
                if let Some(r) = batch.push(&OneRow(&cells)).pop() {
                    return (sink.bad)(refuse(Some(self.names[r.column].clone()), r.reason));
                }
                lines.push(line_no);
                if batch.full()
                    && let Some(b) = batch.take()?
                {
                    emit(b, &mut lines, sink)?;
                }
                Ok(())
            })?;
            // A batch holds one file's rows, so that one label names them all.
            if let Some(b) = batch.take()? {
                emit(b, &mut lines, sink)?;
            }
        }
        Ok(BTreeMap::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_flatten_to_dotted_paths_in_source_order() {
        let out = flatten_line(
            r#"{"id": 7, "customerInfo": {"firstName": "Ana", "tags": ["a", "b"], "address": {"zip": "007"}}, "gone": null, "empty": {}, "big": 1e300, "neg": -2, "ok": true}"#,
        )
        .unwrap();
        let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "id",
                "customerInfo.firstName",
                "customerInfo.tags",
                "customerInfo.address.zip",
                "gone",
                "empty",
                "big",
                "neg",
                "ok"
            ]
        );
        let map: BTreeMap<_, _> = out.into_iter().collect();
        assert_eq!(map["id"].as_deref(), Some("7"));
        assert_eq!(map["customerInfo.firstName"].as_deref(), Some("Ana"));
        assert_eq!(map["customerInfo.tags"].as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(map["customerInfo.address.zip"].as_deref(), Some("007"));
        assert_eq!(map["gone"], None);
        assert_eq!(map["empty"], None);
        assert_eq!(map["big"].as_deref(), Some("1e+300"));
        assert_eq!(map["neg"].as_deref(), Some("-2"));
        assert_eq!(map["ok"].as_deref(), Some("true"));
        assert!(
            flatten_line("[1, 2]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        assert!(
            flatten_line(r#"{"a": 1"#)
                .unwrap_err()
                .contains("invalid JSON")
        );
        assert!(flatten_line(r#"{"a": 1} trailing"#).is_err());
        assert_eq!(
            normalize_path("customerInfo.firstName"),
            "customer_info.first_name"
        );
    }
}
