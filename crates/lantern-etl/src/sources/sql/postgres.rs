//! PostgreSQL: the query's columns from a prepared statement, then its rows streamed as binary COPY data.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use futures::StreamExt;
use sqlx::{Connection, Executor, Statement};
use tokio::sync::mpsc;

use super::reader::{Rows, SqlInput};
use super::{SqlConfig, names_and_types, select_list};
use crate::error::{EtlError, Result};

/// Bytes of COPY data handed to the decoding thread at a time.
const COPY_BLOCK: usize = 256 * 1024;

impl SqlConfig {
    pub(super) async fn stage_postgres(
        &self,
        url: &str,
        watermark: Option<&str>,
        label: &str,
    ) -> Result<SqlInput> {
        let db_err = |e: sqlx::Error| EtlError::failed(label, e);
        let mut conn = sqlx::PgConnection::connect(url).await.map_err(db_err)?;
        let inner = self.inner_query();
        let statement = conn.prepare(&inner).await.map_err(db_err)?;
        let (columns, types) = names_and_types(statement.columns());
        let kinds: Vec<PgKind> = types.iter().map(|t| PgKind::of(t)).collect();
        let wm = self.watermark_index(&columns, label)?;
        let select = select_list(
            &columns,
            |i, q| {
                if kinds[i].cast_to_text() {
                    format!("lantern_source.{q}::text AS {q}")
                } else {
                    format!("lantern_source.{q}")
                }
            },
            quote_pg,
        );
        let mut sql = format!(
            "SELECT {} FROM ({inner}) AS lantern_source",
            select.join(", ")
        );
        if let (Some(i), Some(w)) = (wm, watermark) {
            // COPY takes no parameters: the watermark (a value this loader stored) goes in as a quoted literal.
            sql = format!(
                "SELECT * FROM ({sql}) AS lantern_source WHERE {} > {}",
                quote_pg(&columns[i]),
                quote_pg_literal(w)
            );
        }
        // The watermark literal relies on standard string quoting ('' only), whatever the server's default.
        conn.execute("SET standard_conforming_strings = on")
            .await
            .map_err(db_err)?;
        let copy = format!("COPY ({sql}) TO STDOUT (FORMAT binary)");
        let (tx, rx) = mpsc::channel::<Result<Bytes>>(8);
        let task_label = label.to_string();
        tokio::spawn(async move {
            let mut stream = match conn.copy_out_raw(&copy).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(EtlError::failed(&task_label, e))).await;
                    return;
                }
            };
            // PostgreSQL sends one message per row: gather them into larger blocks for the decoding thread.
            let mut block = bytes::BytesMut::with_capacity(COPY_BLOCK);
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => {
                        block.extend_from_slice(&c);
                        if block.len() >= COPY_BLOCK
                            && tx.send(Ok(block.split().freeze())).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(EtlError::failed(&task_label, e))).await;
                        return;
                    }
                }
            }
            if !block.is_empty() {
                let _ = tx.send(Ok(block.freeze())).await;
            }
        });
        let fields: Vec<Field> = columns
            .iter()
            .zip(&kinds)
            .map(|(n, k)| Field::new(n, k.arrow_type(self.decimal_scale), true))
            .collect();
        Ok(SqlInput {
            label: label.to_string(),
            schema: Arc::new(Schema::new(fields)),
            watermark: wm,
            decimal_scale: self.decimal_scale,
            rows: Rows::PgCopy { rx, kinds },
        })
    }
}

fn quote_pg(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_pg_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// How a PostgreSQL column travels in binary COPY.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PgKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// Sent as text by the query, stored as Decimal128.
    Numeric,
    Date,
    Timestamp,
    TimestampTz,
    Text,
    /// Anything else (json, arrays, uuid, interval…): cast to text by the query.
    Other,
}

impl PgKind {
    fn of(type_name: &str) -> Self {
        match type_name {
            "BOOL" => PgKind::Bool,
            "INT2" => PgKind::Int2,
            "INT4" => PgKind::Int4,
            "INT8" => PgKind::Int8,
            "FLOAT4" => PgKind::Float4,
            "FLOAT8" => PgKind::Float8,
            "NUMERIC" => PgKind::Numeric,
            "DATE" => PgKind::Date,
            "TIMESTAMP" => PgKind::Timestamp,
            "TIMESTAMPTZ" => PgKind::TimestampTz,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => PgKind::Text,
            _ => PgKind::Other,
        }
    }

    fn cast_to_text(self) -> bool {
        matches!(self, PgKind::Numeric | PgKind::Other)
    }

    fn arrow_type(self, scale: i8) -> DataType {
        match self {
            PgKind::Bool => DataType::Boolean,
            PgKind::Int2 | PgKind::Int4 | PgKind::Int8 => DataType::Int64,
            PgKind::Float4 | PgKind::Float8 => DataType::Float64,
            PgKind::Numeric => DataType::Decimal128(38, scale),
            PgKind::Date => DataType::Date32,
            PgKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            PgKind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            PgKind::Text | PgKind::Other => DataType::Utf8,
        }
    }
}
