//! MySQL and MariaDB: the query's columns from a prepared statement, then its rows through the binary protocol,
//! decoded row by row into Arrow builders on a task of their own.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use sqlx::{Column, Connection, Executor, Row, Statement};
use tokio::sync::mpsc;

use super::builders::{Builders, ColBuilder};
use super::decimal::parse_decimal;
use super::reader::{Rows, SqlInput};
use super::{SqlConfig, names_and_types, select_list};
use crate::error::{EtlError, Result};

impl SqlConfig {
    pub(super) async fn stage_mysql(
        &self,
        url: &str,
        watermark: Option<&str>,
        label: &str,
    ) -> Result<SqlInput> {
        let db_err = |e: sqlx::Error| EtlError::failed(label, e);
        let mut conn = sqlx::MySqlConnection::connect(url).await.map_err(db_err)?;
        let inner = self.inner_query();
        let statement = conn.prepare(&inner).await.map_err(db_err)?;
        let (columns, types) = names_and_types(statement.columns());
        let kinds: Vec<MyKind> = types.iter().map(|t| MyKind::of(t)).collect();
        let wm = self.watermark_index(&columns, label)?;
        let select = select_list(
            &columns,
            |i, q| {
                if matches!(kinds[i], MyKind::Text | MyKind::Decimal) {
                    format!("CAST(lantern_source.{q} AS CHAR) AS {q}")
                } else {
                    format!("lantern_source.{q}")
                }
            },
            quote_my,
        );
        let mut sql = format!(
            "SELECT {} FROM ({inner}) AS lantern_source",
            select.join(", ")
        );
        if let Some(i) = wm.filter(|_| watermark.is_some()) {
            sql.push_str(&format!(
                " WHERE lantern_source.{} > ?",
                quote_my(&columns[i])
            ));
        }
        let fields: Vec<Field> = columns
            .iter()
            .zip(&kinds)
            .map(|(n, k)| Field::new(n, k.arrow_type(self.decimal_scale), true))
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(4);
        // Set when the task has sent everything: a task that died (a panic) closes the channel without it.
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task_done = done.clone();
        let (task_label, task_schema, scale) =
            (label.to_string(), schema.clone(), self.decimal_scale);
        let watermark = watermark.map(str::to_string);
        let wm_kind = wm.map(|i| kinds[i]);
        tokio::spawn(async move {
            let mut query = sqlx::query(&sql);
            // Bound as the column's own type: MySQL compares a number with a string as a double.
            if let (Some(w), Some(kind)) = (&watermark, wm_kind) {
                query = match kind {
                    MyKind::Int | MyKind::UInt => match w.parse::<i64>() {
                        Ok(n) => query.bind(n),
                        Err(_) => query.bind(w.clone()),
                    },
                    MyKind::DateTime => {
                        match NaiveDateTime::parse_from_str(w, "%Y-%m-%d %H:%M:%S%.f") {
                            Ok(t) => query.bind(t),
                            Err(_) => query.bind(w.clone()),
                        }
                    }
                    MyKind::Timestamp => {
                        match DateTime::parse_from_str(w, "%Y-%m-%d %H:%M:%S%.f%:z") {
                            Ok(t) => query.bind(t.with_timezone(&Utc)),
                            Err(_) => query.bind(w.clone()),
                        }
                    }
                    MyKind::Date => match NaiveDate::parse_from_str(w, "%Y-%m-%d") {
                        Ok(d) => query.bind(d),
                        Err(_) => query.bind(w.clone()),
                    },
                    _ => query.bind(w.clone()),
                };
            }
            let mut rows = query.fetch(&mut conn);
            let mut builders = Builders::new(&task_schema, scale);
            let mut row_no = 0u64;
            while let Some(row) = rows.next().await {
                row_no += 1;
                let appended = row
                    .map_err(|e| EtlError::failed(&task_label, e))
                    .and_then(|row| builders.append_mysql(&row, &kinds, &task_label, row_no));
                if let Err(e) = appended {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                if builders.rows >= crate::pipeline::BATCH_ROWS {
                    let batch = builders.finish(&task_schema);
                    if tx.send(batch).await.is_err() {
                        return;
                    }
                }
            }
            if builders.rows > 0 && tx.send(builders.finish(&task_schema)).await.is_err() {
                return;
            }
            task_done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Ok(SqlInput {
            label: label.to_string(),
            schema,
            watermark: wm,
            decimal_scale: self.decimal_scale,
            rows: Rows::Batches(rx, done),
        })
    }
}

fn quote_my(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// How a MySQL column is decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
enum MyKind {
    Bool,
    Int,
    UInt,
    Float,
    Double,
    Decimal,
    Date,
    DateTime,
    Timestamp,
    /// Text and everything else (json, enum, time…): `CAST(… AS CHAR)` in the query.
    Text,
}

impl MyKind {
    fn of(type_name: &str) -> Self {
        let unsigned = type_name.contains("UNSIGNED");
        match type_name.split_whitespace().next().unwrap_or("") {
            "BOOLEAN" => MyKind::Bool,
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" if unsigned => {
                MyKind::UInt
            }
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => MyKind::Int,
            "FLOAT" => MyKind::Float,
            "DOUBLE" => MyKind::Double,
            "DECIMAL" => MyKind::Decimal,
            "DATE" => MyKind::Date,
            "DATETIME" => MyKind::DateTime,
            "TIMESTAMP" => MyKind::Timestamp,
            _ => MyKind::Text,
        }
    }

    fn arrow_type(self, scale: i8) -> DataType {
        match self {
            MyKind::Bool => DataType::Boolean,
            MyKind::Int | MyKind::UInt => DataType::Int64,
            MyKind::Float | MyKind::Double => DataType::Float64,
            MyKind::Decimal => DataType::Decimal128(38, scale),
            MyKind::Date => DataType::Date32,
            MyKind::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
            MyKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            MyKind::Text => DataType::Utf8,
        }
    }
}

impl Builders {
    fn append_mysql(
        &mut self,
        row: &sqlx::mysql::MySqlRow,
        kinds: &[MyKind],
        label: &str,
        row_no: u64,
    ) -> Result<()> {
        let bad = |i: usize, e: String| EtlError::Source {
            file: label.to_string(),
            row: Some(row_no),
            column: Some(row.columns()[i].name().to_string()),
            message: e,
        };
        for (i, kind) in kinds.iter().enumerate() {
            let col = &mut self.cols[i];
            match (kind, col) {
                (MyKind::Bool, ColBuilder::Bool(b)) => b.append_option(
                    row.try_get::<Option<bool>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?,
                ),
                (MyKind::Int, ColBuilder::Int(b)) => b.append_option(
                    row.try_get::<Option<i64>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?,
                ),
                (MyKind::UInt, ColBuilder::Int(b)) => {
                    let v = row
                        .try_get::<Option<u64>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?;
                    let v = v
                        .map(|v| {
                            i64::try_from(v).map_err(|_| {
                                bad(i, format!("{v} does not fit a 64-bit signed integer"))
                            })
                        })
                        .transpose()?;
                    b.append_option(v)
                }
                (MyKind::Float, ColBuilder::Float(b)) => b.append_option(
                    row.try_get::<Option<f32>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?
                        .map(f64::from),
                ),
                (MyKind::Double, ColBuilder::Float(b)) => b.append_option(
                    row.try_get::<Option<f64>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?,
                ),
                (MyKind::Decimal, ColBuilder::Decimal(b)) => {
                    // The query casts DECIMAL to its exact text.
                    match row
                        .try_get::<Option<String>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?
                    {
                        None => b.append_null(),
                        Some(text) => {
                            let v = parse_decimal(&text, self.scale).ok_or_else(|| {
                                bad(
                                    i,
                                    format!("`{text}` does not fit Decimal128(38, {})", self.scale),
                                )
                            })?;
                            b.append_value(v);
                        }
                    }
                }
                (MyKind::Date, ColBuilder::Date(b)) => b.append_option(
                    row.try_get::<Option<NaiveDate>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?
                        .map(|d| {
                            (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
                                as i32
                        }),
                ),
                (MyKind::DateTime, ColBuilder::Ts(b)) => b.append_option(
                    row.try_get::<Option<NaiveDateTime>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?
                        .map(|d| d.and_utc().timestamp_micros()),
                ),
                (MyKind::Timestamp, ColBuilder::Ts(b)) => b.append_option(
                    row.try_get::<Option<DateTime<Utc>>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?
                        .map(|d| d.timestamp_micros()),
                ),
                (_, ColBuilder::Text(b)) => b.append_option(
                    row.try_get::<Option<String>, _>(i)
                        .map_err(|e| bad(i, e.to_string()))?,
                ),
                (_, c) => {
                    c.append_null();
                    return Err(bad(i, format!("cannot decode a {kind:?} column")));
                }
            }
        }
        self.rows += 1;
        Ok(())
    }
}
