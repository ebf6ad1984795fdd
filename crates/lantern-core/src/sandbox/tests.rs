//! Hostile queries against the sandbox, each refused with a clear error or cut off by a limit, and row-rule
//! bypass attempts, each answered with the user's rows only: counts checked against the Parquet files read
//! directly (not through Lantern's engine or the sandbox).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;
use crate::access::RowScope;
use crate::catalog::Catalog;
use crate::config::{CacheConfig, QueryConfig};
use crate::query::QueryEngine;
use crate::semantic::DatasetSpec;
use crate::storage::Storage;

const ROWS: usize = 20_000;

struct Fixture {
    engine: QueryEngine,
    sandbox: Sandbox,
    /// apac_dot rows by country, read from the files.
    countries: BTreeMap<String, i64>,
    _dir: tempfile::TempDir,
}

/// Every Parquet file under `dir`.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(parquet_files(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out
}

/// Rows per `country` of apac_dot version 1, from its files.
fn countries_in_files(data: &Path) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for file in parquet_files(&data.join("datasets/apac_dot/v1")) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let country = batch.column(batch.schema().index_of("country").unwrap());
            let country = datafusion::arrow::compute::cast(country, &DataType::Utf8).unwrap();
            let country = country.as_string::<i32>();
            for i in 0..country.len() {
                *out.entry(country.value(i).to_string()).or_default() += 1;
            }
        }
    }
    out
}

/// The demo data and a sandbox whose queries may run for `timeout` (short where a test waits for it to pass,
/// roomy where a slow debug build shares two cores with other tests and must still finish).
async fn fixture(timeout: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
    for id in crate::demo::DATASETS {
        crate::demo::publish(&catalog, id, ROWS, &|_| {})
            .await
            .unwrap();
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let specs = DatasetSpec::load_dir(&repo.join("datasets")).unwrap();
    let engine = QueryEngine::new(
        catalog,
        specs,
        &QueryConfig::default(),
        &CacheConfig::default(),
    )
    .unwrap();
    let limits = Limits {
        max_rows: 1_000,
        memory_bytes: 64 << 20,
        timeout,
        ..Limits::default()
    };
    Fixture {
        engine,
        sandbox: Sandbox::new(limits, 2).unwrap(),
        countries: countries_in_files(dir.path()),
        _dir: dir,
    }
}

fn only(country: &str) -> RowScope {
    RowScope::Only(vec![BTreeMap::from([(
        "country".to_string(),
        vec![country.to_string()],
    )])])
}

impl Fixture {
    async fn run(&self, rows: &RowScope, sql: &str) -> Result<Answer, SandboxError> {
        let source = self.engine.sandbox_source("apac_dot", rows).await.unwrap();
        self.sandbox.run(source, sql).await
    }

    /// The one integer `sql` answers.
    async fn number(&self, rows: &RowScope, sql: &str) -> i64 {
        let answer = self
            .run(rows, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(answer.rows, 1, "{sql}");
        let column = answer
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .unwrap()
            .column(0);
        let column = datafusion::arrow::compute::cast(column, &DataType::Int64).unwrap();
        column.as_primitive::<Int64Type>().value(0)
    }
}

#[derive(Debug)]
enum Expect {
    Refused(&'static str),
    Invalid(&'static str),
    Limit(&'static str),
}

/// Queries the sandbox must not run, and how each is stopped (with words its message must contain).
const HOSTILE: &[(&str, Expect)] = &[
    // Files and paths.
    (
        "SELECT * FROM read_parquet('/etc/passwd')",
        Expect::Invalid("read_parquet"),
    ),
    (
        "SELECT * FROM read_csv('/etc/passwd')",
        Expect::Invalid("read_csv"),
    ),
    (
        "SELECT * FROM '/etc/passwd'",
        Expect::Invalid("/etc/passwd"),
    ),
    (
        "SELECT * FROM 'datasets/apac_dot/v1/part-00000.parquet'",
        Expect::Invalid("not found"),
    ),
    (
        "SELECT * FROM \"file:///etc/passwd\"",
        Expect::Invalid("not found"),
    ),
    (
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
        Expect::Refused("CREATE EXTERNAL TABLE"),
    ),
    // DDL and DML.
    (
        "CREATE TABLE t AS SELECT * FROM apac_dot",
        Expect::Refused("CREATE TABLE"),
    ),
    (
        "CREATE VIEW v AS SELECT * FROM apac_dot",
        Expect::Refused("CREATE VIEW"),
    ),
    ("DROP TABLE apac_dot", Expect::Refused("DROP TABLE")),
    ("DROP VIEW apac_dot", Expect::Refused("DROP VIEW")),
    (
        "INSERT INTO apac_dot SELECT * FROM apac_dot",
        Expect::Refused("INSERT INTO"),
    ),
    ("DELETE FROM apac_dot", Expect::Refused("DELETE FROM")),
    (
        "UPDATE apac_dot SET country = 'Japan'",
        Expect::Refused("UPDATE"),
    ),
    ("TRUNCATE TABLE apac_dot", Expect::Refused("TRUNCATE")),
    ("SELECT * INTO leaked FROM apac_dot", Expect::Refused("")),
    // Writing files.
    (
        "COPY apac_dot TO '/tmp/lantern-leak.csv'",
        Expect::Refused("COPY"),
    ),
    (
        "COPY (SELECT * FROM apac_dot) TO '/tmp/lantern-leak.parquet' STORED AS PARQUET",
        Expect::Refused("COPY"),
    ),
    // Several statements.
    ("SELECT 1; SELECT 2", Expect::Refused("2 statements")),
    (
        "SELECT count(*) FROM apac_dot; DROP TABLE apac_dot",
        Expect::Refused("2 statements"),
    ),
    // Settings and the engine's own tables.
    (
        "SET datafusion.execution.target_partitions = 1",
        Expect::Refused("SET"),
    ),
    (
        "SET datafusion.execution.enable_recursive_ctes = true",
        Expect::Refused("SET"),
    ),
    (
        "RESET datafusion.execution.batch_size",
        Expect::Refused("RESET"),
    ),
    ("SHOW ALL", Expect::Refused("SHOW")),
    (
        "SELECT * FROM information_schema.tables",
        Expect::Invalid("information_schema"),
    ),
    (
        "SELECT * FROM information_schema.df_settings",
        Expect::Invalid("information_schema"),
    ),
    ("EXPLAIN SELECT * FROM apac_dot", Expect::Refused("EXPLAIN")),
    (
        "EXPLAIN ANALYZE SELECT count(*) FROM apac_dot",
        Expect::Refused("EXPLAIN"),
    ),
    ("PREPARE p AS SELECT 1", Expect::Refused("PREPARE")),
    ("BEGIN TRANSACTION", Expect::Refused("BEGIN")),
    // Other datasets.
    (
        "SELECT * FROM cursor_usage",
        Expect::Invalid("cursor_usage"),
    ),
    (
        "SELECT * FROM datafusion.public.cursor_usage",
        Expect::Invalid("cursor_usage"),
    ),
    (
        "SELECT * FROM apac_dot JOIN cursor_usage ON true",
        Expect::Invalid("cursor_usage"),
    ),
    // Rows out of nothing, and values no input bounds.
    (
        "SELECT * FROM generate_series(1, 1000000000)",
        Expect::Invalid("generate_series"),
    ),
    ("SELECT * FROM range(1000000000)", Expect::Invalid("range")),
    (
        "SELECT unnest(generate_series(1, 1000000000))",
        Expect::Invalid("generate_series"),
    ),
    ("SELECT repeat('x', 2000000000)", Expect::Invalid("repeat")),
    ("SELECT lpad('x', 2000000000, 'y')", Expect::Invalid("lpad")),
    (
        "SELECT array_repeat(1, 1000000000)",
        Expect::Invalid("array_repeat"),
    ),
    // Recursion.
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        Expect::Invalid("ecursive"),
    ),
    // Bombs: time and memory.
    // (`count(*)` of a cross join is answered from statistics: the sum has to be computed.)
    (
        "SELECT sum(a.amount * b.amount - c.amount) FROM apac_dot a, apac_dot b, apac_dot c",
        Expect::Limit("longer than"),
    ),
    (
        "SELECT a.status, array_agg(b.customer_segment) FROM apac_dot a JOIN apac_dot b ON a.status = b.status GROUP BY a.status",
        Expect::Limit(""),
    ),
    (
        "SELECT * FROM apac_dot a JOIN apac_dot b ON a.country = b.country ORDER BY a.amount, b.amount",
        Expect::Limit(""),
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_are_refused_or_cut_off() {
    let f = fixture(Duration::from_secs(2)).await;
    let everyone = RowScope::All;
    let huge = format!("SELECT '{}'", "x".repeat(100_000));
    let deep = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
    let mut cases: Vec<(&str, &Expect)> = HOSTILE.iter().map(|(s, e)| (*s, e)).collect();
    let (huge_expect, deep_expect) = (Expect::Refused("bytes long"), Expect::Invalid("ecursion"));
    cases.push((&huge, &huge_expect));
    cases.push((&deep, &deep_expect));
    assert!(cases.len() >= 40, "{} hostile queries", cases.len());
    for (sql, expect) in cases {
        let got = f.run(&everyone, sql).await;
        let shown: String = sql.chars().take(80).collect();
        let ok = match (&got, expect) {
            (Err(SandboxError::Refused(m)), Expect::Refused(w)) => m.contains(w),
            (Err(SandboxError::Invalid(m)), Expect::Invalid(w)) => m.contains(w),
            (Err(SandboxError::Limit(m)), Expect::Limit(w)) => m.contains(w),
            _ => false,
        };
        assert!(ok, "{shown}: expected {expect:?}, got {got:?}");
    }
    // The bombs stopped when they were cut off (their plans yield everywhere): a query that must scan
    // every row still gets the sandbox's threads, on time.
    let scan = "SELECT count(*) FROM apac_dot WHERE country IS NOT NULL OR country IS NULL";
    assert_eq!(f.number(&everyone, scan).await, ROWS as i64);
    assert!(!std::path::Path::new("/tmp/lantern-leak.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_cut_at_the_row_cap_while_streaming() {
    let f = fixture(Duration::from_secs(60)).await;
    let cap = f.sandbox.limits().max_rows;
    for sql in [
        "SELECT * FROM apac_dot",
        // 400 M rows if collected: the cap stops the stream long before.
        "SELECT a.country, b.country FROM apac_dot a CROSS JOIN apac_dot b",
    ] {
        let answer = f.run(&RowScope::All, sql).await.unwrap();
        assert_eq!(answer.rows, cap, "{sql}");
        assert!(answer.truncated, "{sql}");
        let total: usize = answer.batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(total, cap);
    }
    let small = f
        .run(&RowScope::All, "SELECT DISTINCT status FROM apac_dot")
        .await
        .unwrap();
    assert!(!small.truncated && small.rows > 0 && small.rows < cap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_rules_hold_through_subqueries_ctes_unions_and_joins() {
    let f = fixture(Duration::from_secs(60)).await;
    let japan = f.countries["Japan"];
    let all: i64 = f.countries.values().sum();
    assert!(japan > 0 && japan < all, "{:?}", f.countries);
    let ken = only("Japan");
    for (sql, expected) in [
        ("SELECT count(*) FROM apac_dot", japan),
        (
            "SELECT count(*) FROM (SELECT * FROM apac_dot WHERE country <> 'Japan' OR true) t",
            japan,
        ),
        (
            "WITH every_row AS (SELECT * FROM apac_dot) SELECT count(*) FROM every_row",
            japan,
        ),
        (
            "SELECT count(*) FROM (SELECT country FROM apac_dot UNION ALL SELECT country FROM apac_dot) u",
            2 * japan,
        ),
        (
            "SELECT count(*) FROM apac_dot WHERE country IN (SELECT country FROM apac_dot)",
            japan,
        ),
        ("SELECT count(DISTINCT country) FROM apac_dot", 1),
        (
            "SELECT count(DISTINCT b.country) FROM apac_dot a JOIN apac_dot b ON a.status = b.status",
            1,
        ),
        ("SELECT count(*) FROM apac_dot WHERE country = 'Korea'", 0),
    ] {
        assert_eq!(f.number(&ken, sql).await, expected, "{sql}");
    }
    let names = f
        .run(&ken, "SELECT DISTINCT country FROM apac_dot")
        .await
        .unwrap();
    let country =
        datafusion::arrow::compute::cast(names.batches[0].column(0), &DataType::Utf8).unwrap();
    assert_eq!(country.as_string::<i32>().value(0), "Japan");
    assert_eq!(country.len(), 1);
    // A user whose rules match nothing sees nothing; one without rules sees every row.
    assert_eq!(
        f.number(&RowScope::none(), "SELECT count(*) FROM apac_dot")
            .await,
        0
    );
    assert_eq!(
        f.number(&RowScope::All, "SELECT count(*) FROM apac_dot")
            .await,
        all
    );
    assert_eq!(
        f.number(&only("Korea"), "SELECT count(*) FROM apac_dot")
            .await,
        f.countries["Korea"]
    );
}
