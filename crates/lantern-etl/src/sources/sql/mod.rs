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
//!
//! One job a file: this one (the `source:` block and staging), [`postgres`] and [`mysql`] (connecting and the
//! query each database runs), [`copy`] (PostgreSQL's binary COPY format), [`builders`] (Arrow columns),
//! [`decimal`] (exact decimals) and [`reader`] (the [`TableReader`](crate::sources::TableReader)).

mod builders;
mod copy;
mod decimal;
mod mysql;
mod postgres;
mod reader;

use std::collections::BTreeMap;

use serde::Deserialize;
use sqlx::{Column, TypeInfo};

use super::http::expand_env;
use super::{Fault, Source, StageContext, Staged};
use crate::error::{EtlError, Result};
pub use decimal::parse_decimal;
pub use reader::{SqlInput, SqlReader};

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

/// The state key holding the largest watermark value loaded.
pub const WATERMARK: &str = "sql_watermark";

/// The databases a `url` can name.
enum Database {
    Postgres,
    Mysql,
}

/// The database `url`'s scheme names.
fn database(url: &str) -> std::result::Result<Database, Fault> {
    match url.split("://").next().unwrap_or("") {
        "postgres" | "postgresql" => Ok(Database::Postgres),
        "mysql" | "mariadb" => Ok(Database::Mysql),
        other => Err(Fault::new(
            "url",
            format!("`{other}://`: use postgres:// or mysql:// (mariadb://)"),
        )),
    }
}

#[async_trait::async_trait]
impl Source for SqlConfig {
    fn check(&self) -> std::result::Result<(), Fault> {
        if !(0..=38).contains(&self.decimal_scale) {
            return Err(Fault::new(
                "decimal_scale",
                format!("{} is not between 0 and 38", self.decimal_scale),
            ));
        }
        if !self.url.contains("${") {
            database(&self.url)?;
        }
        Ok(())
    }

    /// The database kind and host, without credentials.
    fn describe(&self) -> String {
        format!("sql {}", self.location())
    }

    async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        let url = expand_env(&self.url, "source.url")?;
        let database = database(&url)
            .map_err(|f| EtlError::source(format!("source.{}", f.field), f.message))?;
        // Append only to a version an incremental run published (it stored its watermark).
        let previous = ctx
            .previous
            .filter(|m| self.incremental.is_some() && m.source_state.contains_key(WATERMARK));
        let watermark = previous
            .and_then(|m| m.source_state.get(WATERMARK))
            .cloned();
        let label = format!("{} ({})", self.location(), first_line(&self.query));
        let input = match database {
            Database::Postgres => {
                self.stage_postgres(&url, watermark.as_deref(), &label)
                    .await?
            }
            Database::Mysql => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                self.stage_mysql(&url, watermark.as_deref(), &label).await?
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
}

impl SqlConfig {
    /// `scheme://host/database`: the URL without credentials (errors and listings never show the raw text, which
    /// may hold a password).
    pub fn location(&self) -> String {
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
            None => format!("{}://…", self.url.split("://").next().unwrap_or("?")),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_and_hides_credentials_in_listings() {
        let c: SqlConfig = serde_yaml::from_str(
            "url: postgres://u:secret@db.example.com:5432/shop\nquery: SELECT 1\nincremental: {column: id}\n",
        )
        .unwrap();
        assert_eq!(c.location(), "postgres://db.example.com/shop");
        assert!(
            serde_yaml::from_str::<SqlConfig>("url: x\nquery: q\nincrement: {column: id}\n")
                .is_err()
        );
    }

    #[test]
    fn spec_faults_are_found_before_connecting() {
        let check = |yaml: &str| serde_yaml::from_str::<SqlConfig>(yaml).unwrap().check();
        assert_eq!(
            check("url: postgres://h/db\nquery: q\ndecimal_scale: 40\n").unwrap_err(),
            Fault::new("decimal_scale", "40 is not between 0 and 38")
        );
        assert_eq!(
            check("url: oracle://h/db\nquery: q\n").unwrap_err().field,
            "url"
        );
        // A variable is expanded when staging, not before.
        assert!(check("url: ${DB_URL}\nquery: q\n").is_ok());
        assert!(check("url: mariadb://h/db\nquery: q\n").is_ok());
    }
}
