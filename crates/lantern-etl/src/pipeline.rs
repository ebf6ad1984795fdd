//! One ETL run: source → typed Arrow batches → Parquet through the catalog → publish → prune old versions.

use std::collections::BTreeMap;
use std::time::Instant;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use lantern_core::catalog::{Catalog, Manifest};
use serde::Serialize;

use crate::config::EtlConfig;
use crate::error::{EtlError, Result};
use crate::sources::{self, BadRow, Input, Lines, ReadOptions, RowSink, StageContext};

/// Rows per batch handed from a source to the sink: bounds the memory a run needs. Small enough that little
/// work is still queued for the Parquet encoders when the readers finish (they would finish alone), large
/// enough that per-batch costs do not show.
pub const BATCH_ROWS: usize = 16 * 1024;

/// What a run did, for the CLI (`--json`) and the datasets page.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub dataset: String,
    pub version: u64,
    /// Rows in the published version.
    pub rows: u64,
    /// Rows this run loaded (fewer than `rows` when an incremental load appended to the previous version).
    pub new_rows: u64,
    /// An incremental source had nothing new: no version was published.
    pub unchanged: bool,
    pub input_files: usize,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub elapsed_secs: f64,
    pub rows_per_sec: f64,
    pub columns: Vec<(String, String)>,
    /// Rows refused and written to the version's `_quarantine/bad_rows.csv`.
    pub quarantined_rows: u64,
    /// Rows that failed a `policy: warn` validation (kept).
    pub warned_rows: u64,
    /// Columns left as text that an option would type.
    pub hints: Vec<crate::formats::Hint>,
    pub partitions: Vec<String>,
    pub pruned_versions: Vec<u64>,
}

/// What a run tells its caller as it goes (the CLI's progress bar).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    /// The source is staged: how many files (or pages) and bytes it holds.
    Input { files: usize, bytes: u64 },
    /// More rows were read and written.
    Rows(u64),
    /// The run starts its rows over (a type broke after the sample): counts so far no longer hold.
    Restart,
}

/// Rows per file that text sources infer types from before converting; the conversion confirms them.
pub const SAMPLE_ROWS: usize = 20_000;

/// Runs `config` into `catalog`; `progress` is told the staged input's size, then the rows as batches are written.
///
/// Text sources take their column types from the first [`SAMPLE_ROWS`] rows of each file and convert in a single
/// pass; a later value that breaks an inferred type makes the run start again, over the same staged files, with
/// types inferred over every row (the abandoned attempt's version folder is removed first), so no value is ever
/// nulled or refused for it. The dataset's lease is held throughout: one run per dataset at a time.
pub async fn run(
    config: &EtlConfig,
    catalog: &Catalog,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RunSummary> {
    // One run per dataset at a time, whoever starts it (CLI, this server's schedule, another replica's).
    let lease = catalog.acquire_lease(&config.id).await?;
    let result = run_sampled_then_full(config, catalog, progress).await;
    lease.release().await;
    result
}

async fn run_sampled_then_full(
    config: &EtlConfig,
    catalog: &Catalog,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RunSummary> {
    let started = Instant::now();
    let previous = catalog.current(&config.id).await?;
    // Fetched once: a restart reads the same staged files (no second download, the same data in both passes).
    let staging = tempfile::Builder::new()
        .prefix(&format!("lantern-etl-{}-", config.id))
        .tempdir()
        .map_err(|e| {
            EtlError::source(&config.id, format!("cannot create a staging folder: {e}"))
        })?;
    // A config built or changed in code has not been through the spec's load-time checks.
    if let Err(fault) = config.source.source().check() {
        return Err(config
            .spec()
            .error(format!("source.{}", fault.field), fault.message));
    }
    let staged = config
        .source
        .source()
        .stage(&StageContext {
            dataset: &config.id,
            config_file: &config.file,
            previous: previous.as_ref(),
            staging: staging.path(),
        })
        .await?;
    progress(Progress::Input {
        files: staged.input_files,
        bytes: staged.input_bytes,
    });
    let again = staged.try_clone();
    let first = run_pass(
        config,
        catalog,
        progress,
        Some(SAMPLE_ROWS),
        staged,
        &previous,
        started,
    )
    .await;
    match (first, again) {
        (
            Err(EtlError::TypeChanged {
                file,
                row,
                column,
                message,
            }),
            Some(staged),
        ) => {
            tracing::info!(dataset = %config.id, %file, row, %column, %message, "a value breaks the sampled type; inferring over every row");
            progress(Progress::Restart);
            run_pass(config, catalog, progress, None, staged, &previous, started).await
        }
        (other, _) => other,
    }
}

async fn run_pass(
    config: &EtlConfig,
    catalog: &Catalog,
    progress: &(dyn Fn(Progress) + Sync),
    sample_rows: Option<usize>,
    staged: sources::Staged,
    previous: &Option<Manifest>,
    started: Instant,
) -> Result<RunSummary> {
    let (input_files, input_bytes, append) =
        (staged.input_files, staged.input_bytes, staged.append);
    // An incremental source with nothing new: the published version stays as it is.
    let unchanged =
        |prev: &Manifest| RunSummary::unchanged(config, prev, started, input_files, input_bytes);
    if let (true, Some(prev), false) = (append, &previous, staged.input.has_rows_to_read()) {
        return Ok(unchanged(prev));
    }
    let mut options = ReadOptions::new(&config.load, BATCH_ROWS);
    options.sample_rows = sample_rows;
    let text_input = matches!(staged.input, Input::Csv { .. } | Input::JsonLines(_));
    if !matches!(staged.input, Input::Csv { .. })
        && (config.load.locale.is_some() || !config.load.formats.is_empty())
    {
        let field = if config.load.locale.is_some() {
            "load.locale"
        } else {
            "load.formats"
        };
        return Err(config.spec().error(
            field,
            "applies to CSV files only; these files are JSON lines or Parquet, whose values keep their own \
             types",
        ));
    }
    if append
        && text_input
        && let Some(prev) = &previous
    {
        // New rows must fit the published columns: their types are fixed, not inferred again.
        for c in &prev.schema {
            if let Ok(t) = c.data_type.parse::<DataType>()
                && let Some(ct) = crate::batch::column_type_of(&t)
            {
                options.types.entry(c.name.clone()).or_insert(ct);
            }
        }
    }
    let requested_types: Vec<(String, &str)> =
        (config.load.types.keys().map(|k| (k.clone(), "types")))
            .chain(config.load.formats.keys().map(|k| (k.clone(), "formats")))
            .collect();
    let staged_state = staged.state;

    // Inspect and infer types (a first pass over text input), off the async workers.
    let mut reader = tokio::task::spawn_blocking(move || sources::open(staged.input, &options))
        .await
        .map_err(|e| EtlError::failed(&config.id, e))??;
    let schema: SchemaRef = reader.schema();
    let hints = reader.hints();
    for (name, block) in requested_types {
        if schema.index_of(&name).is_err() {
            return Err(config.spec().error(
                format!("load.{block}.{name}"),
                format!(
                    "the source has no column `{name}`; it has: {}",
                    column_list(&schema)
                ),
            ));
        }
    }
    let transforms =
        crate::transforms::Transforms::compile(&config.transforms, schema.clone(), config.spec())?;
    let output: SchemaRef = transforms.output_schema();
    for (i, name) in config.load.partition_by.iter().enumerate() {
        if output.index_of(name).is_err() {
            return Err(config.spec().error(
                format!("load.partition_by[{i}]"),
                format!(
                    "no column `{name}` after the source and transforms; there are: {}",
                    column_list(&output)
                ),
            ));
        }
    }

    // Convert in a blocking thread, write from here; the bounded channel keeps at most a few batches in memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<(usize, RecordBatch, Option<Lines>)>>(4);
    let max_bad = config.load.max_bad_rows;
    let reading =
        tokio::task::spawn_blocking(move || -> (Vec<BadRow>, BTreeMap<String, String>) {
            let mut bad_rows: Vec<BadRow> = Vec::new();
            let mut emit = |stream: usize, b: RecordBatch, lines: Option<Lines>| {
                tx.blocking_send(Ok((stream, b, lines)))
                    .map_err(|_| EtlError::source("(pipeline)", "writer stopped"))
            };
            let mut bad = |row: BadRow| {
                if bad_rows.len() as u64 >= max_bad {
                    let count = bad_rows.len() + 1;
                    let mut e = row.into_error();
                    if let EtlError::Source { message, .. } = &mut e {
                        *message = format!(
                            "{message} ({count} bad rows: more than load.max_bad_rows = {max_bad})"
                        );
                    }
                    return Err(e);
                }
                bad_rows.push(row);
                Ok(())
            };
            let result = reader.read(&mut RowSink {
                emit: &mut emit,
                bad: &mut bad,
            });
            let state = match result {
                Ok(state) => state,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    BTreeMap::new()
                }
            };
            (bad_rows, state)
        });
    let mut writer = catalog.begin(&config.id, output.clone()).await?;
    writer.set_partitions(config.load.partition_by.clone());
    let partition_columns: Vec<usize> = config
        .load
        .partition_by
        .iter()
        .map(|c| output.index_of(c).expect("checked above"))
        .collect();
    let mut transform_refused: Vec<BadRow> = Vec::new();
    // Rows read so far: a refused row of a source without lines (Parquet, a database) is named by its position.
    let mut rows_before: u64 = 0;
    while let Some(batch) = rx.recv().await {
        let (stream, read, lines) = match batch {
            Ok(b) => b,
            Err(e) => {
                // This attempt's files go now: a restart reuses the version number, and nothing else is touched
                // (another run of the dataset may be writing its own folder).
                let version = writer.version();
                writer.abandon().await;
                if let Err(cleanup) = catalog
                    .remove_unpublished_version(&config.id, version)
                    .await
                {
                    tracing::warn!(dataset = %config.id, version, error = %cleanup, "could not remove an abandoned version folder");
                }
                return Err(e);
            }
        };
        if read.num_rows() == 0 {
            // A reader's stream has ended: close its files.
            writer.finish_stream(stream).await?;
            continue;
        }
        let rows_read = read.num_rows() as u64;
        let (batch, refused) = transforms.apply(read)?;
        for r in refused {
            if transform_refused.len() as u64 >= max_bad {
                return Err(EtlError::Source {
                    file: format!("transforms ({})", config.file.display()),
                    row: None,
                    column: Some(r.column),
                    message: format!(
                        "{} (more than load.max_bad_rows = {max_bad} refused)",
                        r.reason
                    ),
                });
            }
            let (file, line) = match &lines {
                Some(l) => (l.file.to_string(), l.lines[r.row]),
                None => (config.describe(), rows_before + r.row as u64 + 1),
            };
            transform_refused.push(BadRow {
                file,
                line,
                column: Some(r.column),
                reason: r.reason,
                fields: r.fields,
            });
        }
        if partition_columns.is_empty() {
            writer.write_stream(stream, "", &batch).await?;
        } else {
            for (partition, part) in crate::sink::split_by_partition(&batch, &partition_columns)? {
                writer.write_stream(stream, &partition, &part).await?;
            }
        }
        rows_before += rows_read;
        progress(Progress::Rows(rows_read));
    }
    let (mut bad_rows, read_state) = reading.await.map_err(|e| EtlError::failed(&config.id, e))?;
    let new_rows = writer.rows();
    bad_rows.append(&mut transform_refused);
    if bad_rows.len() as u64 > max_bad {
        return Err(EtlError::source(
            &config.id,
            format!(
                "{} rows refused: more than load.max_bad_rows = {max_bad}",
                bad_rows.len()
            ),
        ));
    }
    let warned_rows = transforms.warnings();
    if !bad_rows.is_empty() {
        writer.quarantine(
            "bad_rows.csv",
            bad_rows.len() as u64,
            crate::sink::bad_rows_csv(&bad_rows),
        );
    }
    let mut state = staged_state;
    state.extend(read_state);
    if append && let Some(prev) = &previous {
        if new_rows == 0 && bad_rows.is_empty() {
            return Ok(unchanged(prev));
        }
        writer.carry_over(prev).await?;
    }
    writer.set_source_state(state);
    let manifest = writer.publish().await?;
    let pruned_versions = catalog.prune(&config.id, config.load.retention).await?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(RunSummary {
        dataset: config.id.clone(),
        version: manifest.version,
        rows: manifest.rows,
        new_rows,
        unchanged: false,
        input_files,
        input_bytes,
        output_bytes: manifest.total_bytes(),
        elapsed_secs: elapsed,
        rows_per_sec: new_rows as f64 / elapsed.max(1e-9),
        columns: columns_of(&manifest),
        quarantined_rows: manifest.quarantined_rows,
        warned_rows,
        hints,
        partitions: manifest.partitions.clone(),
        pruned_versions,
    })
}

impl RunSummary {
    fn unchanged(
        config: &EtlConfig,
        prev: &Manifest,
        started: Instant,
        input_files: usize,
        input_bytes: u64,
    ) -> Self {
        RunSummary {
            dataset: config.id.clone(),
            version: prev.version,
            rows: prev.rows,
            new_rows: 0,
            unchanged: true,
            input_files,
            input_bytes,
            output_bytes: prev.total_bytes(),
            elapsed_secs: started.elapsed().as_secs_f64(),
            rows_per_sec: 0.0,
            columns: columns_of(prev),
            quarantined_rows: 0,
            warned_rows: 0,
            hints: Vec::new(),
            partitions: prev.partitions.clone(),
            pruned_versions: vec![],
        }
    }
}

fn column_list(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn columns_of(m: &Manifest) -> Vec<(String, String)> {
    m.schema
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect()
}

/// Who started a run, as recorded with its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Cli,
    Schedule,
}

/// [`run`], then stores the outcome as the dataset's last run (`datasets/<id>/last_run.json`) for the
/// `/datasets` page. A failure to store the record is logged, never hides the run's own result.
pub async fn run_recorded(
    config: &EtlConfig,
    catalog: &Catalog,
    progress: &(dyn Fn(Progress) + Sync),
    trigger: Trigger,
) -> Result<RunSummary> {
    use tracing::Instrument;
    let trigger_name = match trigger {
        Trigger::Cli => "cli",
        Trigger::Schedule => "schedule",
    };
    // Every line the run logs names it, as a request's lines name their request.
    let span = tracing::info_span!(
        "etl_run",
        dataset = %config.id,
        run_id = %lantern_core::telemetry::fresh_id(),
        trigger = trigger_name
    );
    async move {
        let started_at = chrono::Utc::now();
        let clock = Instant::now();
        let result = run(config, catalog, progress).await;
        let outcome = match &result {
            Ok(s) if s.unchanged => "unchanged",
            Ok(_) => "ok",
            Err(EtlError::Core(lantern_core::Error::Busy { .. })) => "skipped",
            Err(_) => "failed",
        };
        record_metrics(&config.id, trigger_name, outcome, clock.elapsed(), &result);
        match &result {
            Ok(s) => tracing::info!(
                version = s.version,
                new_rows = s.new_rows,
                quarantined_rows = s.quarantined_rows,
                outcome,
                "ETL run finished"
            ),
            // A command prints its own failure; a log line would say it twice.
            Err(e) if trigger == Trigger::Cli => {
                tracing::debug!(error = %e, outcome, "ETL run failed")
            }
            Err(e) => tracing::warn!(error = %e, outcome, "ETL run failed"),
        }
        if trigger == Trigger::Schedule
            && let Err(EtlError::Core(lantern_core::Error::Busy { holder, .. })) = &result
        {
            // Another replica (or a CLI run) has it: its own outcome will be recorded.
            tracing::info!(%holder, "scheduled run skipped: the dataset is being loaded");
            return result;
        }
        record_run(config, catalog, trigger_name, started_at, &result).await;
        result
    }
    .instrument(span)
    .await
}

fn record_metrics(
    dataset: &str,
    trigger: &'static str,
    outcome: &'static str,
    elapsed: std::time::Duration,
    result: &Result<RunSummary>,
) {
    use lantern_core::telemetry as t;
    let dataset = dataset.to_string();
    metrics::counter!(t::ETL_RUNS, "dataset" => dataset.clone(), "trigger" => trigger, "outcome" => outcome)
        .increment(1);
    metrics::histogram!(t::ETL_RUN_SECONDS, "dataset" => dataset.clone(), "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    if let Ok(s) = result {
        metrics::counter!(t::ETL_ROWS, "dataset" => dataset.clone()).increment(s.new_rows);
        metrics::counter!(t::ETL_QUARANTINED_ROWS, "dataset" => dataset)
            .increment(s.quarantined_rows);
    }
}

/// Keeps the run's outcome in the catalog's run history (the datasets page shows it).
async fn record_run(
    config: &EtlConfig,
    catalog: &Catalog,
    trigger: &str,
    started_at: chrono::DateTime<chrono::Utc>,
    result: &Result<RunSummary>,
) {
    let finished_at = chrono::Utc::now();
    let record = lantern_core::catalog::RunRecord {
        dataset: config.id.clone(),
        trigger: trigger.into(),
        started_at,
        finished_at,
        ok: result.is_ok(),
        version: result.as_ref().ok().map(|s| s.version),
        new_rows: result.as_ref().ok().map(|s| s.new_rows),
        error: result.as_ref().err().map(|e| e.to_string()),
        hints: result
            .as_ref()
            .map(|s| s.hints.iter().map(|h| h.to_string()).collect())
            .unwrap_or_default(),
        schedule: config.schedule.as_ref().map(|s| s.expr.clone()),
        next_run: config
            .schedule
            .as_ref()
            .and_then(|s| s.next_after(finished_at)),
    };
    if let Err(e) = catalog.record_run(&record).await {
        tracing::warn!(dataset = %config.id, error = %e, "could not record the run");
    }
}
