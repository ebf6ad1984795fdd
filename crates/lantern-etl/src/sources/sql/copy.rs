//! PostgreSQL's binary COPY format, decoded straight into Arrow builders (no text parsing, no per-row allocation).

use bytes::Buf;
use datafusion::arrow::datatypes::SchemaRef;

use super::builders::{Builders, ColBuilder};
use super::decimal::parse_decimal;
use super::postgres::PgKind;
use crate::error::{EtlError, Result};
use crate::sources::BadRow;

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Decodes PostgreSQL's binary COPY format into Arrow builders.
pub(super) struct CopyDecoder {
    names: Vec<String>,
    kinds: Vec<PgKind>,
    pub builders: Builders,
    header_done: bool,
    row: u64,
}

impl CopyDecoder {
    pub fn new(schema: &SchemaRef, kinds: Vec<PgKind>, scale: i8) -> Self {
        Self {
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            builders: Builders::new(schema, scale),
            kinds,
            header_done: false,
            row: 0,
        }
    }

    /// Decodes the complete rows at the start of `data`; returns the bytes used and whether the trailer was seen.
    pub fn decode(
        &mut self,
        data: &[u8],
        label: &str,
        bad: &mut dyn FnMut(BadRow) -> Result<()>,
    ) -> Result<(usize, bool)> {
        let mut pos = 0;
        if !self.header_done {
            const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
            if data.len() < 19 {
                return Ok((0, false));
            }
            if &data[..11] != SIGNATURE {
                return Err(EtlError::source(label, "not a binary COPY stream"));
            }
            let ext = u32::from_be_bytes(data[15..19].try_into().expect("4 bytes")) as usize;
            if data.len() < 19 + ext {
                return Ok((0, false));
            }
            pos = 19 + ext;
            self.header_done = true;
        }
        loop {
            let Some(row_len) = complete_row(&data[pos..], self.kinds.len()) else {
                return Ok((pos, false));
            };
            let mut buf = &data[pos..pos + row_len];
            pos += row_len;
            let fields = buf.get_i16();
            if fields == -1 {
                return Ok((pos, true));
            }
            if fields as usize != self.kinds.len() {
                return Err(EtlError::source(
                    label,
                    format!(
                        "a COPY row has {fields} fields where the query has {}",
                        self.kinds.len()
                    ),
                ));
            }
            self.row += 1;
            let mut refused: Option<(usize, String)> = None;
            for i in 0..self.kinds.len() {
                let len = buf.get_i32();
                if len < 0 {
                    self.builders.cols[i].append_null();
                    continue;
                }
                let (value, rest) = buf.split_at(len as usize);
                buf = rest;
                if let Err(reason) = append_pg(
                    &mut self.builders.cols[i],
                    self.kinds[i],
                    value,
                    self.builders.scale,
                ) {
                    self.builders.cols[i].append_null();
                    refused.get_or_insert((i, reason));
                }
            }
            if let Some((i, reason)) = refused {
                // The row's other columns were appended: drop it by rebuilding is costly, so keep it with a
                // null in the refused column and report it; the quarantine file names the row and column.
                bad(BadRow {
                    file: label.to_string(),
                    line: self.row,
                    column: Some(self.names[i].clone()),
                    reason: format!("{reason} (stored as null)"),
                    fields: vec![],
                })?;
            }
            self.builders.rows += 1;
        }
    }
}

/// The length of the complete row (or trailer) at the start of `data`, if it is all there.
fn complete_row(data: &[u8], _columns: usize) -> Option<usize> {
    if data.len() < 2 {
        return None;
    }
    let fields = i16::from_be_bytes([data[0], data[1]]);
    if fields == -1 {
        return Some(2);
    }
    let mut pos = 2;
    for _ in 0..fields.max(0) {
        let len = i32::from_be_bytes(data.get(pos..pos + 4)?.try_into().ok()?);
        pos += 4;
        if len > 0 {
            pos += len as usize;
        }
        if pos > data.len() {
            return None;
        }
    }
    Some(pos)
}

fn append_pg(
    col: &mut ColBuilder,
    kind: PgKind,
    v: &[u8],
    scale: i8,
) -> std::result::Result<(), String> {
    let be = |n: usize| -> std::result::Result<&[u8], String> {
        if v.len() == n {
            Ok(v)
        } else {
            Err(format!("{kind:?} value of {} bytes", v.len()))
        }
    };
    match (kind, col) {
        (PgKind::Bool, ColBuilder::Bool(b)) => b.append_value(be(1)?[0] != 0),
        (PgKind::Int2, ColBuilder::Int(b)) => {
            b.append_value(i16::from_be_bytes(be(2)?.try_into().expect("2")) as i64)
        }
        (PgKind::Int4, ColBuilder::Int(b)) => {
            b.append_value(i32::from_be_bytes(be(4)?.try_into().expect("4")) as i64)
        }
        (PgKind::Int8, ColBuilder::Int(b)) => {
            b.append_value(i64::from_be_bytes(be(8)?.try_into().expect("8")))
        }
        (PgKind::Float4, ColBuilder::Float(b)) => {
            b.append_value(f32::from_be_bytes(be(4)?.try_into().expect("4")) as f64)
        }
        (PgKind::Float8, ColBuilder::Float(b)) => {
            b.append_value(f64::from_be_bytes(be(8)?.try_into().expect("8")))
        }
        (PgKind::Date, ColBuilder::Date(b)) => {
            let d = i32::from_be_bytes(be(4)?.try_into().expect("4"));
            if d == i32::MAX || d == i32::MIN {
                return Err("infinite date".into());
            }
            b.append_value(d + PG_EPOCH_DAYS)
        }
        (PgKind::Timestamp | PgKind::TimestampTz, ColBuilder::Ts(b)) => {
            let us = i64::from_be_bytes(be(8)?.try_into().expect("8"));
            if us == i64::MAX || us == i64::MIN {
                return Err("infinite timestamp".into());
            }
            b.append_value(
                us.checked_add(PG_EPOCH_MICROS)
                    .ok_or("timestamp out of range")?,
            )
        }
        (PgKind::Numeric, ColBuilder::Decimal(b)) => {
            let text = std::str::from_utf8(v).map_err(|e| e.to_string())?;
            if text == "NaN" {
                return Err("NaN is not a decimal".into());
            }
            let d = parse_decimal(text, scale)
                .ok_or_else(|| format!("`{text}` does not fit Decimal128(38, {scale})"))?;
            b.append_value(d)
        }
        (_, ColBuilder::Text(b)) => {
            b.append_value(std::str::from_utf8(v).map_err(|e| format!("not UTF-8: {e}"))?)
        }
        (k, _) => return Err(format!("cannot decode {k:?}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_are_found_only_when_complete() {
        let mut row = vec![0u8, 2];
        row.extend(4i32.to_be_bytes());
        row.extend(7i32.to_be_bytes());
        row.extend((-1i32).to_be_bytes());
        assert_eq!(complete_row(&row, 2), Some(row.len()));
        assert_eq!(complete_row(&row[..row.len() - 1], 2), None);
        assert_eq!(complete_row(&[0xff, 0xff], 2), Some(2));
    }
}
