//! The names of the metrics every layer records, in one place, and the helpers that record them.
//!
//! Recording goes through the `metrics` facade: without an installed recorder (the CLI, unit tests) it costs a
//! branch and records nothing; the web server installs a Prometheus recorder and renders it at `/metrics`.
//! Labels are bounded sets (route templates, dataset ids, outcomes), never user input, so the series stay few.

/// Latency of an HTTP request by route template, method and status (seconds).
pub const HTTP_REQUEST_SECONDS: &str = "lantern_http_request_duration_seconds";
/// Result-cache lookups by level (`memory`, `redis`) and outcome (`hit`, `miss`, `error`).
pub const CACHE_LOOKUPS: &str = "lantern_cache_lookups_total";
/// Time to plan and run one dashboard query that missed the cache, by dataset (seconds).
pub const QUERY_SECONDS: &str = "lantern_query_duration_seconds";
/// Rows read by the scans of dashboard queries that missed the cache, by dataset.
pub const QUERY_ROWS_SCANNED: &str = "lantern_query_rows_scanned_total";
/// ETL runs by dataset, trigger (`cli`, `schedule`) and outcome (`ok`, `unchanged`, `failed`, `skipped`).
pub const ETL_RUNS: &str = "lantern_etl_runs_total";
/// Rows an ETL run published (new rows), by dataset.
pub const ETL_ROWS: &str = "lantern_etl_rows_total";
/// Rows an ETL run quarantined, by dataset.
pub const ETL_QUARANTINED_ROWS: &str = "lantern_etl_quarantined_rows_total";
/// Duration of an ETL run, by dataset and outcome (seconds).
pub const ETL_RUN_SECONDS: &str = "lantern_etl_run_duration_seconds";
/// Signed-in sessions that have not expired (shared by replicas when sessions live in Redis).
pub const SESSIONS_ACTIVE: &str = "lantern_sessions_active";
/// Tokens the chat's model read (`input`) and wrote (`output`).
pub const CHAT_TOKENS: &str = "lantern_chat_tokens_total";

/// Every metric with its help text, for the exporter's `# HELP` lines.
pub const DESCRIBED: &[(&str, &str)] = &[
    (
        HTTP_REQUEST_SECONDS,
        "HTTP request latency by route, method and status",
    ),
    (CACHE_LOOKUPS, "Result cache lookups by level and outcome"),
    (QUERY_SECONDS, "Dashboard query time on a cache miss"),
    (
        QUERY_ROWS_SCANNED,
        "Rows scanned by dashboard queries on a cache miss",
    ),
    (ETL_RUNS, "ETL runs by dataset, trigger and outcome"),
    (ETL_ROWS, "Rows published by ETL runs"),
    (ETL_QUARANTINED_ROWS, "Rows quarantined by ETL runs"),
    (ETL_RUN_SECONDS, "ETL run duration"),
    (SESSIONS_ACTIVE, "Signed-in sessions not yet expired"),
    (CHAT_TOKENS, "Tokens read and written by the chat's model"),
];

/// Counts one result-cache lookup.
pub fn cache_lookup(level: &'static str, outcome: &'static str) {
    metrics::counter!(CACHE_LOOKUPS, "level" => level, "outcome" => outcome).increment(1);
}

/// Records one dashboard query that ran: its time and the rows its scans read.
pub fn query_ran(dataset: &str, elapsed: std::time::Duration, rows_scanned: u64) {
    let dataset = dataset.to_string();
    metrics::histogram!(QUERY_SECONDS, "dataset" => dataset.clone()).record(elapsed.as_secs_f64());
    metrics::counter!(QUERY_ROWS_SCANNED, "dataset" => dataset).increment(rows_scanned);
}

/// A new random id (16 hex digits) for a request or a run, to find its log lines.
pub fn fresh_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
