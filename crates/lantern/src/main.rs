//! `lantern`: the one binary. Serves the portal, writes demo data and hashes passwords.

use std::io::{IsTerminal, Read};
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
    },
    /// Write the demo datasets (cursor_usage, apac_dot) as new versions.
    Demo {
        /// Rows per dataset.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Print an argon2 hash for `auth.users[].password_hash`; reads the password from stdin.
    Hash {
        /// The password (prefer stdin: command lines end up in shell history).
        #[arg(long)]
        password: Option<String>,
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
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
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
        eprintln!("  (set LANTERN_ADMIN_PASSWORD, or auth.users in lantern.yaml, to choose)\n");
    }
    let addr = format!("{}:{}", config.server.host, config.server.port);
    let state = AppState::build_with_storage(config, users, storage).await?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(address = %format!("http://{}", listener.local_addr()?), "Lantern is serving");
    lantern_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}

fn hash(password: Option<String>) -> Result<()> {
    let password = match password {
        Some(p) => p,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("Password: ");
            }
            let mut line = String::new();
            std::io::stdin().read_to_string(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    println!(
        "{}",
        lantern_web::auth::hash_password(&password).map_err(anyhow::Error::msg)?
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::Users {
        command: UsersCommand::Hash { password },
    } = cli.command
    {
        return hash(password);
    }
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config);
    match cli.command {
        Command::Serve {
            port,
            host,
            demo,
            demo_rows,
        } => serve(config, port, host, demo.then_some(demo_rows)).await,
        Command::Demo { rows } => {
            let catalog = Catalog::new(Storage::open(&config.storage)?);
            write_demo(&catalog, rows, false).await
        }
        Command::Users { .. } => unreachable!("handled above"),
    }
}
