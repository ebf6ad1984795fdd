//! Runs the demo evaluation (`lantern_chat::eval::demo`) against a real OpenAI-compatible model:
//!
//! `cargo run -p lantern-chat --example eval -- --base-url http://127.0.0.1:8181 --model gemma-3-270m
//!  [--rows 20000] [--budgets 0,3000] [--out report.md]`
//!
//! Each context budget is one run over every question (budget 0 sends only the schema and the definitions);
//! the reports are printed and, with `--out`, written as Markdown. `scripts/chat-eval.sh` starts a local model
//! and runs this.

use std::path::PathBuf;

use lantern_chat::{Chat, eval};
use lantern_core::catalog::Catalog;
use lantern_core::config::{CacheConfig, ChatConfig, QueryConfig, StorageConfig};
use lantern_core::query::QueryEngine;
use lantern_core::semantic::DatasetSpec;
use lantern_core::storage::Storage;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let base = arg(&args, "--base-url").ok_or("--base-url is required")?;
    let model = arg(&args, "--model").unwrap_or_else(|| "local".into());
    let rows: usize = arg(&args, "--rows").map_or(Ok(20_000), |r| r.parse())?;
    let budgets: Vec<usize> = arg(&args, "--budgets")
        .unwrap_or_else(|| "0,3000".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;

    let dir = tempfile::tempdir()?;
    let storage = Storage::open(&StorageConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })?;
    let catalog = Catalog::new(storage.clone());
    for id in ["cursor_usage", "apac_dot"] {
        lantern_core::demo::publish(&catalog, id, rows, &|_| {}).await?;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let engine = QueryEngine::new(
        catalog,
        DatasetSpec::load_dir(&repo.join("datasets"))?,
        &QueryConfig::default(),
        &CacheConfig::default(),
    )?;
    let cases = eval::demo::cases(rows);
    let mut out = String::new();
    for budget in budgets {
        let config: ChatConfig = serde_yaml::from_str(&format!(
            "provider: openai\nmodel: {model}\nbase_url: {base}\ntimeout_secs: 300\nquestions_per_hour: 100000\ncontext_tokens: {budget}\nmax_output_tokens: 300"
        ))?;
        let chat = Chat::open(config, storage.clone()).await?;
        let report = eval::run(&chat, &engine, "evaluator", &cases).await;
        let md = report.markdown();
        println!("{md}");
        out.push_str(&md);
        out.push('\n');
    }
    if let Some(path) = arg(&args, "--out") {
        std::fs::write(path, out)?;
    }
    Ok(())
}
