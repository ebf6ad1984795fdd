//! The SQL text as far as the sandbox reads it: parsed with a depth limit, and accepted only as one query.
//! This is the first of two gates; the plan is checked again (`SQLOptions`), since a query can still hold
//! `SELECT … INTO` or, in some dialects, DML in its body.

use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

use super::{Limits, SandboxError};

/// The one query in `sql`.
pub(super) fn parse(sql: &str, limits: &Limits) -> Result<Statement, SandboxError> {
    if sql.len() > limits.max_sql_bytes {
        return Err(SandboxError::Refused(format!(
            "the query is {} bytes long; at most {} are read",
            sql.len(),
            limits.max_sql_bytes
        )));
    }
    let mut statements = DFParserBuilder::new(sql)
        .with_recursion_limit(limits.parser_recursion)
        .build()
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| SandboxError::Invalid(e.to_string()))?;
    if statements.len() > 1 {
        return Err(SandboxError::Refused(format!(
            "{} statements: one query only",
            statements.len()
        )));
    }
    let statement = statements
        .pop_front()
        .ok_or_else(|| SandboxError::Invalid("no query".into()))?;
    let what = match &statement {
        Statement::Statement(s) if matches!(**s, SqlStatement::Query(_)) => return Ok(statement),
        Statement::Statement(s) => first_words(&s.to_string()),
        Statement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE".into(),
        Statement::CopyTo(_) => "COPY".into(),
        Statement::Explain(_) => "EXPLAIN".into(),
        Statement::Reset(_) => "RESET".into(),
    };
    Err(SandboxError::Refused(format!(
        "only a query (SELECT …, WITH … SELECT …) runs here, not {what}"
    )))
}

/// The statement's kind as its first two words say it (`DELETE FROM`, `CREATE TABLE`, `SET x`).
fn first_words(sql: &str) -> String {
    sql.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_passes_and_everything_else_is_named() {
        let limits = Limits::default();
        assert!(parse("SELECT 1", &limits).is_ok());
        assert!(parse("WITH a AS (SELECT 1 AS x) SELECT x FROM a", &limits).is_ok());
        for (sql, named) in [
            ("DELETE FROM t", "DELETE FROM"),
            ("DROP TABLE t", "DROP TABLE"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("COPY t TO '/tmp/x.csv'", "COPY"),
            ("EXPLAIN SELECT 1", "EXPLAIN"),
            ("SELECT 1; SELECT 2", "2 statements"),
        ] {
            let e = parse(sql, &limits).unwrap_err();
            assert!(matches!(e, SandboxError::Refused(_)), "{sql}: {e}");
            assert!(e.to_string().contains(named), "{sql}: {e}");
        }
        let deep = format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200));
        assert!(matches!(
            parse(&deep, &limits),
            Err(SandboxError::Invalid(_))
        ));
        let long = format!("SELECT '{}'", "x".repeat(20_000));
        assert!(matches!(
            parse(&long, &limits),
            Err(SandboxError::Refused(_))
        ));
    }
}
