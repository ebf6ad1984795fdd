//! Read-only SQL over one dataset, for questions a model turns into SQL: the boundary is the query plan, not
//! the SQL text. One statement, and only a query; planned with DDL, DML and other statements off; in a
//! session of its own where the only table is the user's dataset as a view that already applies their row
//! rules (so no subquery, CTE, union or join gets around them), without table functions, URL tables,
//! `information_schema` or recursive CTEs, and without the functions whose output size no input bounds.
//! Execution has a memory pool with a limit and no spilling, a row cap applied while streaming, and a time
//! limit; it runs on a runtime of its own, so that a runaway query cannot starve the dashboards.

mod execute;
mod session;
mod source;
mod statement;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::Expr;

pub use execute::Sandbox;

/// How far one sandboxed query may go.
#[derive(Debug, Clone)]
pub struct Limits {
    /// SQL longer than this (bytes) is refused before parsing.
    pub max_sql_bytes: usize,
    /// Rows returned at most; the rest is cut off (and said so).
    pub max_rows: usize,
    /// Memory the query's operators may reserve (joins, sorts, aggregates).
    pub memory_bytes: usize,
    /// Wall time from planning to the last row.
    pub timeout: Duration,
    /// Nesting depth the parser accepts.
    pub parser_recursion: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sql_bytes: 16 * 1024,
            max_rows: 10_000,
            memory_bytes: 256 << 20,
            timeout: Duration::from_secs(10),
            parser_recursion: 64,
        }
    }
}

/// The one table a sandboxed query sees: a dataset's version, under the user's row rules.
#[derive(Clone)]
pub struct Source {
    /// The name the query uses for it (the dataset id).
    pub name: String,
    pub table: Arc<dyn TableProvider>,
    /// The user's row rules as a filter; `None` when they see every row.
    pub rows: Option<Expr>,
}

/// A query's answer.
#[derive(Debug)]
pub struct Answer {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    /// More rows were there than [`Limits::max_rows`].
    pub truncated: bool,
    pub elapsed: Duration,
}

/// Why a query did not run to its end. `Invalid` is worth sending back to the model with its message; the
/// others are final.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Not something the sandbox runs at all (a second statement, DDL, DML, `COPY`, `SET`, `EXPLAIN`, …).
    #[error("refused: {0}")]
    Refused(String),
    /// A query that does not plan: a syntax error, an unknown table, column or function.
    #[error("invalid query: {0}")]
    Invalid(String),
    /// Cut off by a limit.
    #[error("stopped: {0}")]
    Limit(String),
    /// The engine failed while running the query.
    #[error("query failed: {0}")]
    Failed(String),
}
