//! SQL databases: PostgreSQL and MySQL/MariaDB, by URL and query, streamed in batches.
//!
//! PostgreSQL rows come through `COPY (…) TO STDOUT (FORMAT binary)`, decoded straight into Arrow builders (no
//! text parsing, no per-row allocation); MySQL rows through the binary protocol, row by row. Types follow the
//! database: integers → Int64, floats → Float64, numeric/decimal → Decimal128(38, `decimal_scale`), date → Date32,
//! timestamp → Timestamp(µs), timestamptz → Timestamp(µs, UTC), bool → Boolean, text → Utf8; json, arrays and
//! anything else arrive as their text.
//!
//! With `incremental: {column: updated_at}`, each run loads only rows whose column is greater than the largest
//! value loaded before (the *watermark*, stored with the version) and appends them to the previous version.
//! The column must grow with every new row: an id, or a time precise enough that no row is written later with
//! the value already loaded (a `DATETIME` without fractional seconds can have two rows in one second, one of
//! them loaded before the other was written; that row would be missed). Updated rows are appended again, not
//! replaced.
//!
//! ```yaml
//! source:
//!   kind: sql
//!   url: ${ORDERS_DB_URL}          # postgres://… or mysql://… (mariadb:// works too)
//!   query: SELECT * FROM orders
//!   incremental: {column: updated_at}
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanBuilder, Date32Array, Date32Builder, Decimal128Builder,
    Float64Array, Float64Builder, Int64Array, Int64Builder, StringArray, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use serde::Deserialize;
use sqlx::{Column, Connection, Executor, Row, Statement, TypeInfo};
use tokio::sync::mpsc;

use super::http::expand_env;
use super::{BadRow, ReadOptions, RowSink, StageContext, Staged, TableReader};
use crate::error::{EtlError, Result};

/// `source: {kind: sql, …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://user:pass@host/db` or `mysql://…`; usually `${ENV_VAR}`.
    pub url: String,
    pub query: String,
    #[serde(default)]
    pub incremental: Option<Incremental>,
    /// Digits kept after the point for numeric/decimal columns.
    #[serde(default = "decimal_scale")]
    pub decimal_scale: i8,
}

fn decimal_scale() -> i8 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// An ever-growing column: an id, or an updated-at time.
    pub column: String,
}

/// Bytes of COPY data handed to the decoding thread at a time.
const COPY_BLOCK: usize = 256 * 1024;

/// The state key holding the largest watermark value loaded.
pub const WATERMARK: &str = "sql_watermark";

impl SqlConfig {
    /// The database kind and host, without credentials, for listings.
    pub fn describe(&self) -> String {
        match expand_env(&self.url, "source.url")
            .ok()
            .and_then(|u| reqwest::Url::parse(&u).ok())
        {
            Some(u) => format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.path()
            ),
            // Never the raw text: it may hold a password.
            None => format!("{}://…", self.url.split("://").next().unwrap_or("?")),
        }
    }

    pub async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        if !(0..=38).contains(&self.decimal_scale) {
            return Err(EtlError::source(
                "source.decimal_scale",
                format!("{} is not between 0 and 38", self.decimal_scale),
            ));
        }
        let url = expand_env(&self.url, "source.url")?;
        let scheme = url.split("://").next().unwrap_or("");
        // Append only to a version an incremental run published (it stored its watermark).
        let previous = ctx
            .previous
            .filter(|m| self.incremental.is_some() && m.source_state.contains_key(WATERMARK));
        let watermark = previous
            .and_then(|m| m.source_state.get(WATERMARK))
            .cloned();
        let label = format!("{} ({})", self.describe(), first_line(&self.query));
        let input = match scheme {
            "postgres" | "postgresql" => {
                self.stage_postgres(&url, watermark.as_deref(), &label)
                    .await?
            }
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                self.stage_mysql(&url, watermark.as_deref(), &label).await?
            }
            other => {
                return Err(EtlError::source(
                    "source.url",
                    format!("`{other}://`: use postgres:// or mysql:// (mariadb://)"),
                ));
            }
        };
        let mut state = BTreeMap::new();
        if let Some(w) = watermark {
            state.insert(WATERMARK.to_string(), w);
        }
        Ok(Staged {
            input: super::Input::Sql(input),
            input_files: 0,
            input_bytes: 0,
            state,
            append: previous.is_some(),
        })
    }

    fn watermark_index(&self, columns: &[String], label: &str) -> Result<Option<usize>> {
        let Some(inc) = &self.incremental else {
            return Ok(None);
        };
        columns
            .iter()
            .position(|c| c == &inc.column)
            .map(Some)
            .ok_or_else(|| {
                EtlError::source(
                    label,
                    format!(
                        "source.incremental.column: the query has no column `{}`; it has: {}",
                        inc.column,
                        columns.join(", ")
                    ),
                )
            })
    }

    async fn stage_postgres(
        &self,
        url: &str,
        watermark: Option<&str>,
        label: &str,
    ) -> Result<SqlInput> {
        let db_err = |e: sqlx::Error| EtlError::source(label, e.to_string());
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
                    let _ = tx
                        .send(Err(EtlError::source(&task_label, e.to_string())))
                        .await;
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
                        let _ = tx
                            .send(Err(EtlError::source(&task_label, e.to_string())))
                            .await;
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

    async fn stage_mysql(
        &self,
        url: &str,
        watermark: Option<&str>,
        label: &str,
    ) -> Result<SqlInput> {
        let db_err = |e: sqlx::Error| EtlError::source(label, e.to_string());
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
                    .map_err(|e| EtlError::source(&task_label, e.to_string()))
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

impl SqlConfig {
    /// The user's query as a subquery, so that its columns can be listed, cast and filtered.
    fn inner_query(&self) -> String {
        format!(
            "SELECT * FROM ({}) AS lantern_source",
            self.query.trim().trim_end_matches(';')
        )
    }
}

/// The select list over the wrapped query: each column quoted, then written by `item` (a cast where needed).
fn select_list(
    columns: &[String],
    item: impl Fn(usize, &str) -> String,
    quote: fn(&str) -> String,
) -> Vec<String> {
    columns
        .iter()
        .enumerate()
        .map(|(i, name)| item(i, &quote(name)))
        .collect()
}

/// A prepared statement's column names and database type names.
fn names_and_types<C: Column>(columns: &[C]) -> (Vec<String>, Vec<String>) {
    columns
        .iter()
        .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
        .unzip()
}

fn first_line(query: &str) -> String {
    let one: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}…", one.chars().take(60).collect::<String>())
    } else {
        one
    }
}

fn quote_pg(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_pg_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

fn quote_my(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// How a PostgreSQL column travels in binary COPY.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PgKind {
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

/// `12.345` → 123450000000 at scale 10; more decimals than `scale` are rounded half away from zero.
pub fn parse_decimal(text: &str, scale: i8) -> Option<i128> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for b in int_part.bytes() {
        value = value.checked_mul(10)?.checked_add((b - b'0') as i128)?;
    }
    let frac = frac_part.as_bytes();
    for i in 0..scale {
        let d = frac.get(i).map(|b| (b - b'0') as i128).unwrap_or(0);
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    if frac.get(scale).is_some_and(|b| *b >= b'5') {
        value = value.checked_add(1)?;
    }
    if value >= 10i128.pow(38) {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

enum ColBuilder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Decimal(Decimal128Builder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Text(StringBuilder),
}

impl ColBuilder {
    fn new(t: &DataType, cap: usize) -> Self {
        match t {
            DataType::Boolean => ColBuilder::Bool(BooleanBuilder::with_capacity(cap)),
            DataType::Int64 => ColBuilder::Int(Int64Builder::with_capacity(cap)),
            DataType::Float64 => ColBuilder::Float(Float64Builder::with_capacity(cap)),
            DataType::Decimal128(p, s) => ColBuilder::Decimal(
                Decimal128Builder::with_capacity(cap)
                    .with_precision_and_scale(*p, *s)
                    .expect("valid decimal type"),
            ),
            DataType::Date32 => ColBuilder::Date(Date32Builder::with_capacity(cap)),
            DataType::Timestamp(_, tz) => ColBuilder::Ts(
                TimestampMicrosecondBuilder::with_capacity(cap).with_timezone_opt(tz.clone()),
            ),
            _ => ColBuilder::Text(StringBuilder::with_capacity(cap, cap * 16)),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColBuilder::Bool(b) => b.append_null(),
            ColBuilder::Int(b) => b.append_null(),
            ColBuilder::Float(b) => b.append_null(),
            ColBuilder::Decimal(b) => b.append_null(),
            ColBuilder::Date(b) => b.append_null(),
            ColBuilder::Ts(b) => b.append_null(),
            ColBuilder::Text(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::Int(b) => Arc::new(b.finish()),
            ColBuilder::Float(b) => Arc::new(b.finish()),
            ColBuilder::Decimal(b) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
            ColBuilder::Ts(b) => Arc::new(b.finish()),
            ColBuilder::Text(b) => ArrayBuilder::finish(b),
        }
    }
}

struct Builders {
    cols: Vec<ColBuilder>,
    rows: usize,
    scale: i8,
}

impl Builders {
    fn new(schema: &SchemaRef, scale: i8) -> Self {
        Self {
            cols: schema
                .fields()
                .iter()
                .map(|f| ColBuilder::new(f.data_type(), crate::pipeline::BATCH_ROWS))
                .collect(),
            rows: 0,
            scale,
        }
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        self.rows = 0;
        let cols: Vec<ArrayRef> = self.cols.iter_mut().map(|c| c.finish()).collect();
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }

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

/// Where the rows come from once staged.
enum Rows {
    /// PostgreSQL binary COPY data, in chunks.
    PgCopy {
        rx: mpsc::Receiver<Result<Bytes>>,
        kinds: Vec<PgKind>,
    },
    /// Batches already built (MySQL), and whether the producing task finished.
    Batches(
        mpsc::Receiver<Result<RecordBatch>>,
        Arc<std::sync::atomic::AtomicBool>,
    ),
}

/// A database query, connected and streaming.
pub struct SqlInput {
    label: String,
    schema: SchemaRef,
    watermark: Option<usize>,
    decimal_scale: i8,
    rows: Rows,
}

impl SqlInput {
    pub fn open(self, options: &ReadOptions) -> Result<SqlReader> {
        if let Some(name) = options.types.keys().next() {
            return Err(EtlError::source(
                &self.label,
                format!("load.types.{name}: database columns keep the database's types"),
            ));
        }
        Ok(SqlReader {
            input: Some(self),
            batch_rows: options.batch_rows,
        })
    }
}

pub struct SqlReader {
    input: Option<SqlInput>,
    batch_rows: usize,
}

impl TableReader for SqlReader {
    fn schema(&self) -> SchemaRef {
        self.input.as_ref().expect("not read yet").schema.clone()
    }

    fn read(&mut self, sink: &mut RowSink<'_>) -> Result<BTreeMap<String, String>> {
        let input = self.input.take().expect("read once");
        let mut high: Option<String> = None;
        let mut track = |batch: &RecordBatch| {
            if let Some(i) = input.watermark
                && let Some(v) = max_text(batch.column(i).as_ref())
                && high
                    .as_ref()
                    .is_none_or(|h| greater(batch.column(i).data_type(), &v, h))
            {
                high = Some(v);
            }
        };
        match input.rows {
            Rows::Batches(mut rx, done) => {
                while let Some(batch) = rx.blocking_recv() {
                    let batch = batch?;
                    track(&batch);
                    (sink.emit)(0, batch)?;
                }
                if !done.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(EtlError::source(
                        &input.label,
                        "the database stream ended early",
                    ));
                }
            }
            Rows::PgCopy { mut rx, kinds } => {
                let mut decoder = CopyDecoder::new(&input.schema, kinds, input.decimal_scale);
                let mut pending: Vec<u8> = Vec::new();
                let mut ended = false;
                while let Some(chunk) = rx.blocking_recv() {
                    let chunk = chunk?;
                    let data: &[u8] = if pending.is_empty() {
                        &chunk
                    } else {
                        pending.extend_from_slice(&chunk);
                        &pending
                    };
                    let (used, end) = decoder.decode(data, &input.label, &mut *sink.bad)?;
                    ended |= end;
                    let rest = data[used..].to_vec();
                    pending = rest;
                    if decoder.builders.rows >= self.batch_rows {
                        let b = decoder.builders.finish(&input.schema)?;
                        track(&b);
                        (sink.emit)(0, b)?;
                    }
                }
                if !ended {
                    return Err(EtlError::source(
                        &input.label,
                        "the COPY stream ended early",
                    ));
                }
                if decoder.builders.rows > 0 {
                    let b = decoder.builders.finish(&input.schema)?;
                    track(&b);
                    (sink.emit)(0, b)?;
                }
            }
        }
        let mut state = BTreeMap::new();
        if let Some(h) = high {
            state.insert(WATERMARK.to_string(), h);
        }
        Ok(state)
    }
}

/// The largest value of a watermark column, as text the database compares back (`2025-01-02 03:04:05.000006+00`).
fn max_text(array: &dyn Array) -> Option<String> {
    use datafusion::arrow::compute::{max, max_string};
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return max(a).map(|v| v.to_string());
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return max(a).map(|v| v.to_string());
    }
    if let Some(a) = any.downcast_ref::<Date32Array>() {
        return max(a).and_then(|d| {
            NaiveDate::from_ymd_opt(1970, 1, 1).map(|e| {
                (e + chrono::Duration::days(d as i64))
                    .format("%Y-%m-%d")
                    .to_string()
            })
        });
    }
    if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
        let tz = matches!(a.data_type(), DataType::Timestamp(_, Some(_)));
        return max(a).and_then(DateTime::from_timestamp_micros).map(|d| {
            if tz {
                d.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
            } else {
                d.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string()
            }
        });
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return max_string(a).map(str::to_string);
    }
    None
}

/// Compares two watermark texts of the column's type.
fn greater(t: &DataType, a: &str, b: &str) -> bool {
    match t {
        DataType::Int64 => a.parse::<i64>().ok() > b.parse::<i64>().ok(),
        DataType::Float64 => a.parse::<f64>().ok() > b.parse::<f64>().ok(),
        // Fixed-width date and time texts order like the values.
        _ => a > b,
    }
}

/// Decodes PostgreSQL's binary COPY format into Arrow builders.
struct CopyDecoder {
    names: Vec<String>,
    kinds: Vec<PgKind>,
    builders: Builders,
    header_done: bool,
    row: u64,
}

impl CopyDecoder {
    fn new(schema: &SchemaRef, kinds: Vec<PgKind>, scale: i8) -> Self {
        Self {
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            builders: Builders::new(schema, scale),
            kinds,
            header_done: false,
            row: 0,
        }
    }

    /// Decodes the complete rows at the start of `data`; returns the bytes used and whether the trailer was seen.
    fn decode(
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
    fn decimals_parse_exactly_and_round_past_the_scale() {
        assert_eq!(parse_decimal("12.345", 4), Some(123450));
        assert_eq!(parse_decimal("-0.00005", 4), Some(-1));
        assert_eq!(parse_decimal("7", 2), Some(700));
        assert_eq!(parse_decimal("1.2.3", 2), None);
        assert_eq!(parse_decimal("abc", 2), None);
        assert_eq!(parse_decimal(&"9".repeat(40), 0), None);
    }

    #[test]
    fn config_parses_and_hides_credentials_in_listings() {
        let c: SqlConfig = serde_yaml::from_str(
            "url: postgres://u:secret@db.example.com:5432/shop\nquery: SELECT 1\nincremental: {column: id}\n",
        )
        .unwrap();
        assert_eq!(c.describe(), "postgres://db.example.com/shop");
        assert!(
            serde_yaml::from_str::<SqlConfig>("url: x\nquery: q\nincrement: {column: id}\n")
                .is_err()
        );
    }

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
