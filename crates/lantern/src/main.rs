//! `lantern`: the one binary. Serves the portal, writes demo data and hashes passwords.

mod allocator;
mod exit;
mod healthcheck;
mod users_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lantern_core::catalog::Catalog;
use lantern_core::config::{Config, LogFormat};
use lantern_core::storage::Storage;
use lantern_web::AppState;
use lantern_web::auth::Users;

#[derive(Parser)]
#[command(
    name = "lantern",
    version,
    about = "Self-hosted analytics dashboards as code"
)]
struct Cli {
    /// Configuration file (default: ./lantern.yaml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// On failure, print the backtrace after the message (captured when RUST_BACKTRACE=1 is set).
    #[arg(long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web portal.
    Serve {
        /// Port to listen on (overrides server.port / LANTERN_PORT).
        #[arg(long)]
        port: Option<u16>,
        /// Address to listen on (overrides server.host / LANTERN_HOST).
        #[arg(long)]
        host: Option<String>,
        /// Write the demo datasets first if they are missing.
        #[arg(long)]
        demo: bool,
        /// Rows per demo dataset (with --demo).
        #[arg(long, default_value_t = 1_000_000)]
        demo_rows: usize,
        /// Reload dataset and dashboard specs when their files change (an invalid edit shows its error on the
        /// affected pages while the last good version keeps serving).
        #[arg(long)]
        watch: bool,
    },
    /// Write the demo datasets (cursor_usage, apac_dot) as new versions, or as CSV files with --csv.
    Demo {
        /// Rows per dataset.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Write CSV files into --dir instead of publishing (then load them with `lantern etl run --all`).
        #[arg(long)]
        csv: bool,
        /// Folder for --csv.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
    },
    /// Manage the users file: add, passwd, disable, enable, list (and hash a password).
    Users {
        #[command(subcommand)]
        command: users_cmd::UsersCommand,
    },
    /// Load datasets from their sources (the `source:` block of datasets/*.yaml).
    Etl {
        #[command(subcommand)]
        command: EtlCommand,
    },
    /// Check every dataset and dashboard spec against the published data; exits 1 on any problem (for CI).
    Check,
    /// Inspect or clear published datasets.
    Dataset {
        #[command(subcommand)]
        command: DatasetCommand,
    },
    /// Exit 0 if the server this configuration describes answers `/healthz` (a container's HEALTHCHECK).
    Healthcheck {
        /// Base URL to probe instead of the configured listen address, e.g. `http://127.0.0.1:8050`.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum EtlCommand {
    /// List the datasets that have a source.
    List,
    /// Load one dataset, or every dataset with --all, as a new published version.
    Run {
        /// The dataset id.
        id: Option<String>,
        /// Run every dataset that has a source.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Print a machine-readable summary instead of progress bars.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DatasetCommand {
    /// Schema, versions and row counts of a published dataset.
    Inspect {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete every version of a dataset.
    Clear {
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder
            .json()
            // Every enclosing span, not only the innermost: a query's line keeps its request's id even when a
            // library's own span (tower-sessions' `call`) is the nearest.
            .with_current_span(true)
            .with_span_list(true)
            .init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// Demo datasets need rows: an empty version would have no files to read.
fn demo_rows(rows: usize) -> Result<usize> {
    anyhow::ensure!(rows > 0, "--rows must be at least 1");
    Ok(rows)
}

fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>14} [{bar:30}] {human_pos}/{human_len} rows  {per_sec}  {elapsed}",
    )
    .expect("valid template")
    .progress_chars("=> ")
}

async fn write_demo(catalog: &Catalog, rows: usize, only_missing: bool) -> Result<()> {
    let bars = MultiProgress::new();
    for id in lantern_core::demo::DATASETS {
        if only_missing && catalog.current(id).await?.is_some() {
            continue;
        }
        let bar = bars.add(ProgressBar::new(rows as u64));
        bar.set_style(progress_style());
        bar.set_prefix(id);
        bar.enable_steady_tick(Duration::from_millis(200));
        let manifest = lantern_core::demo::publish(catalog, id, rows, &|n| bar.inc(n))
            .await
            .with_context(|| format!("writing demo dataset {id}"))?;
        bar.finish();
        eprintln!(
            "{id}: version {} with {} rows, {:.1} MB in {}",
            manifest.version,
            manifest.rows,
            manifest.total_bytes() as f64 / 1e6,
            catalog.storage().description()
        );
    }
    Ok(())
}

async fn serve(
    mut config: Config,
    port: Option<u16>,
    host: Option<String>,
    demo: Option<usize>,
    watch: bool,
) -> Result<()> {
    if let Some(p) = port {
        config.server.port = p;
    }
    if let Some(h) = host {
        config.server.host = h;
    }
    let storage = Storage::open(&config.storage)?;
    if let Some(rows) = demo {
        write_demo(&Catalog::new(storage.clone()), rows, true).await?;
    }
    let (users, generated) = Users::from_config(&config.auth).map_err(anyhow::Error::msg)?;
    if let Some(password) = generated {
        eprintln!("\n  No users configured: sign in as `admin` with password  {password}");
        eprintln!(
            "  (set LANTERN_ADMIN_PASSWORD to choose, or add users with `lantern users add`)\n"
        );
    }
    let addr = format!("{}:{}", config.server.host, config.server.port);
    // Datasets with a `schedule:` are loaded on it while the server runs.
    let etl_configs = lantern_etl::EtlConfig::load_dir(&config.datasets_dir)?;
    let scheduled: Vec<String> = etl_configs
        .iter()
        .filter_map(|c| Some(format!("{} ({})", c.id, c.schedule.as_ref()?.expr)))
        .collect();
    let schedules = lantern_etl::schedule::spawn_all(etl_configs, Catalog::new(storage.clone()));
    if !scheduled.is_empty() {
        tracing::info!(datasets = %scheduled.join(", "), "ETL schedules running");
    }
    let state = AppState::build_with_storage(config, users, storage).await?;
    let watcher = watch.then(|| {
        tracing::info!("watching the spec folders");
        state.spawn_watch(Duration::from_millis(500))
    });
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(address = %format!("http://{}", listener.local_addr()?), "Lantern is serving");
    lantern_web::serve(listener, state, async {
        let signal = stop_signal().await;
        tracing::info!(signal, "shutting down");
    })
    .await?;
    for s in schedules {
        s.abort();
    }
    if let Some(w) = watcher {
        w.abort();
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what container runtimes and systemd send to stop a service).
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// Exit status 0 on success; on failure the message and its causes, and the status [`exit`] gives its kind.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose;
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => exit::report(&e, verbose),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    if let Command::Users { command } = cli.command {
        return users_cmd::run(&config, command);
    }
    // Quiet: a probe every few seconds must not fill the container's log.
    if let Command::Healthcheck { url } = &cli.command {
        return healthcheck::run(&config, url.as_deref()).await;
    }
    init_logging(&config);
    match cli.command {
        Command::Serve {
            port,
            host,
            demo,
            demo_rows,
            watch,
        } => {
            let rows = if demo {
                Some(self::demo_rows(demo_rows)?)
            } else {
                None
            };
            serve(config, port, host, rows, watch).await
        }
        Command::Demo {
            rows,
            csv: true,
            dir,
        } => {
            let rows = demo_rows(rows)?;
            for id in lantern_core::demo::DATASETS {
                let path = dir.join(format!("{id}.csv"));
                let bar = ProgressBar::new(rows as u64);
                bar.set_style(progress_style());
                bar.set_prefix(id);
                let bytes = lantern_core::demo::write_csv(id, rows, &path, &|n| bar.inc(n))?;
                bar.finish_and_clear();
                eprintln!(
                    "{id}: {rows} rows, {:.1} MB in {}",
                    bytes as f64 / 1e6,
                    path.display()
                );
            }
            Ok(())
        }
        Command::Demo { rows, .. } => {
            let rows = demo_rows(rows)?;
            let catalog = Catalog::new(Storage::open(&config.storage)?);
            write_demo(&catalog, rows, false).await
        }
        Command::Users { .. } | Command::Healthcheck { .. } => unreachable!("handled above"),
        Command::Etl { command } => etl(&config, command).await,
        Command::Dataset { command } => dataset(&config, command).await,
        Command::Check => check(&config).await,
    }
}

async fn check(config: &Config) -> Result<()> {
    let mut report = lantern_web::check::check(config).await;
    // The load specs (`source:`, `transforms:`) are checked too, so a typo fails CI before a scheduled run.
    if let Err(e) = lantern_etl::EtlConfig::load_dir(&config.datasets_dir) {
        report.problems.push(e.to_string());
    }
    for line in &report.passed {
        println!("ok     {line}");
    }
    for problem in &report.problems {
        println!("error  {problem}");
    }
    if !report.ok() {
        let n = report.problems.len();
        eprintln!("{n} problem{} found", if n == 1 { "" } else { "s" });
        // A failed check is an answer, not a crash: no backtrace, exit status 1.
        std::process::exit(1);
    }
    println!("all specs check out");
    Ok(())
}

async fn etl(config: &Config, command: EtlCommand) -> Result<()> {
    let configs = lantern_etl::EtlConfig::load_dir(&config.datasets_dir)?;
    match command {
        EtlCommand::List => {
            if configs.is_empty() {
                eprintln!(
                    "no dataset in {} has a `source:`",
                    config.datasets_dir.display()
                );
            }
            for c in &configs {
                println!("{:<24} {}", c.id, c.describe());
            }
            Ok(())
        }
        EtlCommand::Run { id, all, json } => {
            let chosen: Vec<&lantern_etl::EtlConfig> = match (&id, all) {
                (_, true) => configs.iter().collect(),
                (Some(id), false) => {
                    let c = configs.iter().find(|c| &c.id == id).with_context(|| {
                        let known: Vec<&str> = configs.iter().map(|c| c.id.as_str()).collect();
                        format!(
                            "no dataset `{id}` with a source; known: {}",
                            known.join(", ")
                        )
                    })?;
                    vec![c]
                }
                (None, false) => anyhow::bail!("name a dataset or pass --all"),
            };
            let catalog = Catalog::new(Storage::open(&config.storage)?);
            let mut summaries = Vec::new();
            let mut failed = 0;
            let mut first_failure: Option<(String, lantern_etl::EtlError)> = None;
            for c in chosen {
                let bar = if json {
                    ProgressBar::hidden()
                } else {
                    ProgressBar::new_spinner()
                };
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>14} {spinner} {human_pos} rows  {per_sec}  {msg}  {elapsed}",
                    )
                    .expect("valid template"),
                );
                bar.set_prefix(c.id.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                match lantern_etl::run_recorded(
                    c,
                    &catalog,
                    &|p| match p {
                        lantern_etl::Progress::Rows(n) => bar.inc(n),
                        lantern_etl::Progress::Input { files, bytes } => bar.set_message(format!(
                            "{:.1} MB in {files} file(s)",
                            bytes as f64 / 1e6
                        )),
                        lantern_etl::Progress::Restart => bar.set_position(0),
                    },
                    lantern_etl::Trigger::Cli,
                )
                .await
                {
                    Ok(s) => {
                        bar.finish_and_clear();
                        if !json && s.unchanged {
                            eprintln!(
                                "{}: nothing new since version {} ({} rows); nothing published",
                                s.dataset, s.version, s.rows
                            );
                        } else if !json {
                            eprintln!(
                                "{}: version {} with {} rows ({} quarantined) from {} file(s), {:.1} MB in, {:.1} MB out, {:.0} rows/s",
                                s.dataset,
                                s.version,
                                s.rows,
                                s.quarantined_rows,
                                s.input_files,
                                s.input_bytes as f64 / 1e6,
                                s.output_bytes as f64 / 1e6,
                                s.rows_per_sec
                            );
                        }
                        if !json {
                            for h in &s.hints {
                                eprintln!("{}: hint: {h}", s.dataset);
                            }
                        }
                        summaries.push(serde_json::json!({"ok": true, "summary": s}));
                    }
                    Err(e) => {
                        bar.finish_and_clear();
                        failed += 1;
                        summaries.push(serde_json::json!({"ok": false, "dataset": c.id, "error": e.to_string()}));
                        if first_failure.is_none() {
                            first_failure = Some((c.id.clone(), e));
                        } else {
                            eprintln!("{}: failed: {e}", c.id);
                        }
                    }
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&summaries)?);
            }
            // The first failure is the command's error, so its kind sets the exit status.
            if let Some((id, e)) = first_failure {
                let more = match failed {
                    1 => String::new(),
                    n => format!(" (and {} more, above)", n - 1),
                };
                return Err(anyhow::Error::new(e).context(format!("dataset `{id}` failed{more}")));
            }
            Ok(())
        }
    }
}

async fn dataset(config: &Config, command: DatasetCommand) -> Result<()> {
    let catalog = Catalog::new(Storage::open(&config.storage)?);
    match command {
        DatasetCommand::Inspect { id, json } => {
            let manifest = catalog.current(&id).await?.with_context(|| {
                format!(
                    "dataset `{id}` has no published version in {}",
                    catalog.storage().description()
                )
            })?;
            let versions = catalog.version_folders(&id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"current": manifest, "version_folders": versions})
                    )?
                );
                return Ok(());
            }
            println!("dataset   {id}");
            println!(
                "version   {} (published {})",
                manifest.version,
                manifest.created_at.to_rfc3339()
            );
            println!("rows      {}", manifest.rows);
            println!(
                "files     {} ({:.1} MB)",
                manifest.files.len(),
                manifest.total_bytes() as f64 / 1e6
            );
            println!("versions  {versions:?}");
            println!("columns");
            for c in &manifest.schema {
                println!(
                    "  {:<28} {}{}",
                    c.name,
                    c.data_type,
                    if c.nullable { "" } else { " not null" }
                );
            }
            Ok(())
        }
        DatasetCommand::Clear { id, yes } => {
            if catalog.current(&id).await?.is_none()
                && catalog.version_folders(&id).await?.is_empty()
            {
                anyhow::bail!(
                    "dataset `{id}` does not exist in {}",
                    catalog.storage().description()
                );
            }
            if !yes {
                anyhow::ensure!(
                    std::io::stdin().is_terminal(),
                    "refusing to clear `{id}` without confirmation: pass --yes"
                );
                eprint!("Delete every version of `{id}`? Type the dataset id to confirm: ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                anyhow::ensure!(answer.trim() == id, "not confirmed; nothing deleted");
            }
            let n = lantern_core::catalog::delete_dataset(&catalog, &id).await?;
            eprintln!("deleted {n} objects of `{id}`");
            Ok(())
        }
    }
}
