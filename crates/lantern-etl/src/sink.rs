//! What the pipeline hands to the catalog's version writer: Hive-style partitions and the quarantine file.

use std::collections::BTreeMap;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::take;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::Result;
use crate::sources::BadRow;

/// Hive's name for a null partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Escapes a partition value for a path segment the way Hive does (`/`, `=`, `%`, … as `%XX`).
pub fn escape_partition_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        if ch.is_control() || "/\\=%:#?*\"'[]^{".contains(ch) {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Splits a batch by the values of `columns`: `(col=value/col2=value2, rows)` in key order.
pub fn split_by_partition(
    batch: &RecordBatch,
    columns: &[usize],
) -> Result<Vec<(String, RecordBatch)>> {
    let options = FormatOptions::default();
    let schema = batch.schema();
    let formatters = columns
        .iter()
        .map(|&c| ArrayFormatter::try_new(batch.column(c).as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let key = columns
            .iter()
            .zip(&formatters)
            .map(|(&c, f)| {
                let value = if batch.column(c).is_null(row) {
                    NULL_PARTITION.to_string()
                } else {
                    escape_partition_value(&f.value(row).to_string())
                };
                format!("{}={value}", schema.field(c).name())
            })
            .collect::<Vec<_>>()
            .join("/");
        groups.entry(key).or_default().push(row as u32);
    }
    groups
        .into_iter()
        .map(|(key, rows)| {
            let idx = UInt32Array::from(rows);
            let cols = batch
                .columns()
                .iter()
                .map(|c| take(c.as_ref(), &idx, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok((key, RecordBatch::try_new(schema.clone(), cols)?))
        })
        .collect()
}

/// The quarantine file: one line per refused row with where and why.
pub fn bad_rows_csv(rows: &[BadRow]) -> bytes::Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["file", "row", "column", "reason", "fields"]);
    for r in rows {
        // The row as one CSV line of its own, so it can be pasted back into the source.
        let fields = {
            let mut inner = csv::Writer::from_writer(Vec::new());
            let _ = inner.write_record(&r.fields);
            String::from_utf8(inner.into_inner().unwrap_or_default())
                .unwrap_or_default()
                .trim_end()
                .to_string()
        };
        let line = r.line.to_string();
        let _ = w.write_record([
            r.file.as_str(),
            line.as_str(),
            r.column.as_deref().unwrap_or(""),
            r.reason.as_str(),
            fields.as_str(),
        ]);
    }
    bytes::Bytes::from(w.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn splits_rows_by_partition_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("country", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("Japan"),
                    None,
                    Some("a/b"),
                    Some("Japan"),
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            ],
        )
        .unwrap();
        let parts = split_by_partition(&batch, &[0]).unwrap();
        let keys: Vec<&str> = parts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "country=Japan",
                "country=__HIVE_DEFAULT_PARTITION__",
                "country=a%2Fb"
            ]
        );
        assert_eq!(parts[0].1.num_rows(), 2);
    }
}
