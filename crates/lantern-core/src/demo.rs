//! Deterministic synthetic demo datasets, shaped like the seed system's two dashboards and like
//! `../shared/bench/gen_data.py` (same columns, same distributions; a different random generator):
//!
//! - `cursor_usage`: one row per user per day of an AI coding assistant.
//! - `apac_dot`: APAC order lines with due and delivery dates.
//!
//! Both are published through the ordinary catalog path, so a demo dataset is a dataset like any other.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Normal, Poisson};

use crate::catalog::{Catalog, Manifest};
use crate::error::Result;

/// Rows generated and written per batch.
const BATCH_ROWS: usize = 64 * 1024;

pub const TEAMS: [&str; 12] = [
    "Platform", "Payments", "Search", "Mobile", "Web", "Data", "ML", "Infra", "Security", "Growth",
    "Ads", "Support",
];
pub const MODELS: [&str; 8] = [
    "claude-sonnet",
    "gpt-5",
    "gemini-2.5-pro",
    "cursor-small",
    "o3",
    "claude-opus",
    "gpt-4.1",
    "auto",
];
const CLIENT_VERSIONS: [&str; 4] = ["1.4.2", "1.5.0", "1.5.1", "1.6.0"];
pub const COUNTRIES: [&str; 12] = [
    "Japan",
    "Korea",
    "China",
    "Taiwan",
    "Hong Kong",
    "Singapore",
    "Malaysia",
    "Thailand",
    "Vietnam",
    "Indonesia",
    "Philippines",
    "Australia",
];
const SEGMENTS: [&str; 4] = ["Enterprise", "Mid-Market", "SMB", "Public Sector"];
const USERS: usize = 500;

/// The demo datasets, by id.
pub const DATASETS: [&str; 2] = ["cursor_usage", "apac_dot"];

fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

fn start_day() -> i32 {
    epoch_days(NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid"))
}

pub fn cursor_usage_schema() -> SchemaRef {
    let int = |n: &str| Field::new(n, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("user_email", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, false),
        Field::new("is_active", DataType::Boolean, false),
        int("chat_requests"),
        int("composer_requests"),
        int("agent_requests"),
        int("tabs_shown"),
        int("tabs_accepted"),
        int("lines_added"),
        int("lines_accepted"),
        Field::new("most_used_model", DataType::Utf8, false),
        Field::new("client_version", DataType::Utf8, false),
        Field::new("cost_usd", DataType::Float64, false),
    ]))
}

pub fn apac_dot_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("sub_region", DataType::Utf8, false),
        Field::new("product_line", DataType::Utf8, false),
        Field::new("customer_segment", DataType::Utf8, false),
        Field::new("due_date", DataType::Date32, false),
        Field::new("delivered_date", DataType::Date32, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("on_time", DataType::Boolean, true),
        Field::new("quantity", DataType::Int64, false),
        Field::new("amount", DataType::Float64, false),
    ]))
}

fn poisson(rng: &mut ChaCha8Rng, d: &Poisson<f64>) -> i64 {
    d.sample(rng) as i64
}

/// One batch of `cursor_usage` rows.
fn cursor_usage_batch(rng: &mut ChaCha8Rng, n: usize) -> RecordBatch {
    let (p6, p3, p9) = (
        Poisson::new(6.0).unwrap(),
        Poisson::new(3.0).unwrap(),
        Poisson::new(9.0).unwrap(),
    );
    let (p80, p120) = (Poisson::new(80.0).unwrap(), Poisson::new(120.0).unwrap());
    let gamma: Gamma<f64> = Gamma::new(2.0, 1.5).unwrap();
    let start = start_day();
    let mut date = Vec::with_capacity(n);
    let mut email = Vec::with_capacity(n);
    let mut team = Vec::with_capacity(n);
    let mut active = Vec::with_capacity(n);
    let (mut chat, mut comp, mut agent) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut shown, mut acc, mut added, mut lacc) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut model, mut client, mut cost) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for _ in 0..n {
        let u = rng.random_range(0..USERS);
        date.push(start + rng.random_range(0..365));
        email.push(format!("user{u:04}@example.com"));
        team.push(TEAMS[u % TEAMS.len()]);
        active.push(rng.random::<f64>() < 0.85);
        chat.push(poisson(rng, &p6));
        comp.push(poisson(rng, &p3));
        agent.push(poisson(rng, &p9));
        let s = poisson(rng, &p80);
        shown.push(s);
        acc.push((s as f64 * rng.random_range(0.1..0.6)) as i64);
        let a = poisson(rng, &p120);
        added.push(a);
        lacc.push((a as f64 * rng.random_range(0.2..0.9)) as i64);
        model.push(MODELS[rng.random_range(0..MODELS.len())]);
        client.push(CLIENT_VERSIONS[rng.random_range(0..CLIENT_VERSIONS.len())]);
        cost.push((gamma.sample(rng) * 10_000.0).round() / 10_000.0);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(date)),
        Arc::new(StringArray::from(email)),
        Arc::new(StringArray::from(team)),
        Arc::new(BooleanArray::from(active)),
        Arc::new(Int64Array::from(chat)),
        Arc::new(Int64Array::from(comp)),
        Arc::new(Int64Array::from(agent)),
        Arc::new(Int64Array::from(shown)),
        Arc::new(Int64Array::from(acc)),
        Arc::new(Int64Array::from(added)),
        Arc::new(Int64Array::from(lacc)),
        Arc::new(StringArray::from(model)),
        Arc::new(StringArray::from(client)),
        Arc::new(Float64Array::from(cost)),
    ];
    RecordBatch::try_new(cursor_usage_schema(), cols).expect("columns match the schema")
}

/// One batch of `apac_dot` rows, numbering orders from `first_order`.
fn apac_dot_batch(rng: &mut ChaCha8Rng, first_order: usize, n: usize) -> RecordBatch {
    let delay: Normal<f64> = Normal::new(-1.0, 4.0).unwrap();
    let start = start_day();
    let mut order = Vec::with_capacity(n);
    let (mut country, mut region, mut line, mut seg) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut due, mut delivered, mut status, mut on_time) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut qty, mut amount) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        order.push(format!("SO-{:09}", first_order + i));
        let c = rng.random_range(0..COUNTRIES.len());
        country.push(COUNTRIES[c]);
        region.push(match c {
            0..=4 => "North Asia",
            5..=10 => "South East Asia",
            _ => "Oceania",
        });
        line.push(
            [
                "PL-A", "PL-B", "PL-C", "PL-D", "PL-E", "PL-F", "PL-G", "PL-H", "PL-I", "PL-J",
            ][rng.random_range(0..10)],
        );
        seg.push(SEGMENTS[rng.random_range(0..SEGMENTS.len())]);
        let d = start + rng.random_range(0..365);
        due.push(d);
        let roll: f64 = rng.random();
        let late = delay.sample(rng).round() as i32;
        if roll < 0.80 {
            status.push("Delivered");
            delivered.push(Some(d + late));
            on_time.push(Some(late <= 0));
        } else {
            status.push(if roll < 0.95 { "Open" } else { "Cancelled" });
            delivered.push(None);
            on_time.push(None);
        }
        qty.push(rng.random_range(1..500i64));
        amount.push((rng.random_range(10.0..50_000.0f64) * 100.0).round() / 100.0);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(order)),
        Arc::new(StringArray::from(country)),
        Arc::new(StringArray::from(region)),
        Arc::new(StringArray::from(line)),
        Arc::new(StringArray::from(seg)),
        Arc::new(Date32Array::from(due)),
        Arc::new(Date32Array::from(delivered)),
        Arc::new(StringArray::from(status)),
        Arc::new(BooleanArray::from(on_time)),
        Arc::new(Int64Array::from(qty)),
        Arc::new(Float64Array::from(amount)),
    ];
    RecordBatch::try_new(apac_dot_schema(), cols).expect("columns match the schema")
}

/// The deterministic batches of demo dataset `id`, `rows` rows in all.
pub fn batches(id: &str, rows: usize) -> Result<(SchemaRef, impl Iterator<Item = RecordBatch>)> {
    let (schema, seed, cursor) = match id {
        "cursor_usage" => (cursor_usage_schema(), 7, true),
        "apac_dot" => (apac_dot_schema(), 11, false),
        other => {
            return Err(crate::Error::NotFound {
                kind: "demo dataset",
                id: other.to_string(),
            });
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let iter = (0..rows).step_by(BATCH_ROWS).map(move |done| {
        let n = BATCH_ROWS.min(rows - done);
        if cursor {
            cursor_usage_batch(&mut rng, n)
        } else {
            apac_dot_batch(&mut rng, done, n)
        }
    });
    Ok((schema, iter))
}

/// Writes `rows` rows of demo dataset `id` as a new published version. `progress` is told each batch's rows.
pub async fn publish(
    catalog: &Catalog,
    id: &str,
    rows: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Manifest> {
    let (schema, batches) = batches(id, rows)?;
    let mut writer = catalog.begin(id, schema).await?;
    for batch in batches {
        writer.write(&batch).await?;
        progress(batch.num_rows() as u64);
    }
    writer.publish().await
}

/// The header of the CSV that Cursor's team admins download from the dashboard (Usage → Export CSV), in order.
pub const CURSOR_EXPORT_HEADER: [&str; 25] = [
    "Date",
    "User ID",
    "Email",
    "Is Active",
    "Chat Suggested Lines Added",
    "Chat Suggested Lines Deleted",
    "Chat Accepted Lines Added",
    "Chat Accepted Lines Deleted",
    "Chat Total Applies",
    "Chat Total Accepts",
    "Chat Total Rejects",
    "Chat Tabs Shown",
    "Tabs Accepted",
    "Edit Requests",
    "Ask Requests",
    "Agent Requests",
    "Cmd+K Usages",
    "Subscription Included Reqs",
    "API Key Reqs",
    "Usage Based Reqs",
    "Bugbot Usages",
    "Most Used Model",
    "Most Used Apply Extension",
    "Most Used Tab Extension",
    "Client Version",
];

/// What one usage-based request costs in the demo: `Usage Based Reqs` × this ≈ the demo's `cost_usd`.
pub const USAGE_BASED_REQUEST_USD: f64 = 0.04;

/// Writes a demo dataset as CSV for the ETL to load: `apac_dot` in its own columns; `cursor_usage` in the columns of
/// Cursor's admin usage export ([`CURSOR_EXPORT_HEADER`]), plus `cursor_teams.csv` (Email, Team) beside it, the team
/// directory that `datasets/cursor_usage.yaml` joins in. Returns the bytes written.
pub fn write_csv(
    id: &str,
    rows: usize,
    path: &std::path::Path,
    progress: &dyn Fn(u64),
) -> Result<u64> {
    let io = |e: std::io::Error| crate::Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let (_, batches) = batches(id, rows)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut writer = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(file);
    for batch in batches {
        let batch = if id == "cursor_usage" {
            cursor_export(&batch)?
        } else {
            batch
        };
        writer
            .write(&batch)
            .map_err(|e| crate::Error::Query(e.into()))?;
        progress(batch.num_rows() as u64);
    }
    drop(writer);
    if id == "cursor_usage" {
        let teams = path.with_file_name("cursor_teams.csv");
        let mut text = String::from("Email,Team\n");
        for u in 0..USERS {
            text.push_str(&format!(
                "user{u:04}@example.com,{}\n",
                TEAMS[u % TEAMS.len()]
            ));
        }
        std::fs::write(&teams, text).map_err(|e| crate::Error::Io {
            path: teams.clone(),
            source: e,
        })?;
    }
    Ok(std::fs::metadata(path).map_err(io)?.len())
}

/// Demo `cursor_usage` rows in the export's columns; the counts the export has and the demo lacks are derived
/// from the demo's own (deletions from additions, applies from edit and agent requests…), so the file is
/// deterministic and the shipped mapping recovers every dashboard column.
fn cursor_export(batch: &RecordBatch) -> Result<RecordBatch> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
    let int = |name: &str| -> Vec<i64> {
        let c = batch.column(batch.schema().index_of(name).expect("demo column"));
        c.as_primitive::<Int64Type>().values().to_vec()
    };
    let text = |name: &str| -> Vec<String> {
        let c = batch.column(batch.schema().index_of(name).expect("demo column"));
        c.as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect()
    };
    let schema = batch.schema();
    let dates = batch
        .column(schema.index_of("date").expect("date"))
        .as_primitive::<Date32Type>();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let date: Vec<String> = dates
        .values()
        .iter()
        .map(|d| {
            format!(
                "{}T00:00:00.000Z",
                epoch + chrono::Duration::days(*d as i64)
            )
        })
        .collect();
    let email = text("user_email");
    let user_id: Vec<i64> = email
        .iter()
        .map(|e| 155_700_000 + e[4..8].parse::<i64>().unwrap_or(0))
        .collect();
    let active = batch
        .column(schema.index_of("is_active").expect("is_active"))
        .clone();
    let (added, accepted) = (int("lines_added"), int("lines_accepted"));
    let (chat, composer, agent) = (
        int("chat_requests"),
        int("composer_requests"),
        int("agent_requests"),
    );
    let cost = batch
        .column(schema.index_of("cost_usd").expect("cost"))
        .as_primitive::<Float64Type>();
    let usage_based: Vec<i64> = cost
        .values()
        .iter()
        .map(|c| (c / USAGE_BASED_REQUEST_USD).round() as i64)
        .collect();
    let applies: Vec<i64> = composer.iter().zip(&agent).map(|(c, a)| c + a).collect();
    let accepts: Vec<i64> = applies.iter().map(|a| a * 3 / 4).collect();
    let extensions = ["ts", "py", "rs", "go", "tsx"];
    let ext: Vec<&str> = user_id
        .iter()
        .map(|u| extensions[*u as usize % 5])
        .collect();
    let ints = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let strs = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
    let total: Vec<i64> = (0..batch.num_rows())
        .map(|i| chat[i] + composer[i] + agent[i])
        .collect();
    let columns: Vec<ArrayRef> = vec![
        strs(date),
        ints(user_id),
        strs(email),
        active,
        ints(added.clone()),
        ints(added.iter().map(|a| a / 4).collect()),
        ints(accepted.clone()),
        ints(accepted.iter().map(|a| a / 5).collect()),
        ints(applies.clone()),
        ints(accepts.clone()),
        ints(applies.iter().zip(&accepts).map(|(a, b)| a - b).collect()),
        ints(int("tabs_shown")),
        ints(int("tabs_accepted")),
        ints(composer),
        ints(chat.clone()),
        ints(agent),
        ints(chat.iter().map(|c| c / 2).collect()),
        ints(
            total
                .iter()
                .zip(&usage_based)
                .map(|(t, u)| (t - u).max(0))
                .collect(),
        ),
        ints(vec![0; batch.num_rows()]),
        ints(usage_based),
        ints(vec![0; batch.num_rows()]),
        strs(text("most_used_model")),
        Arc::new(StringArray::from(ext.clone())),
        Arc::new(StringArray::from(ext)),
        strs(text("client_version")),
    ];
    let fields: Vec<Field> = CURSOR_EXPORT_HEADER
        .iter()
        .zip(&columns)
        .map(|(n, c)| Field::new(*n, c.data_type().clone(), false))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| crate::Error::Query(e.into()))
}

/// Publishes every demo dataset that has no published version yet; returns the manifests written.
pub async fn ensure(
    catalog: &Catalog,
    rows: usize,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Vec<Manifest>> {
    let mut written = Vec::new();
    for id in DATASETS {
        if catalog.current(id).await?.is_none() {
            written.push(publish(catalog, id, rows, &|n| progress(id, n)).await?);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_shaped() {
        let a = cursor_usage_batch(&mut ChaCha8Rng::seed_from_u64(7), 1000);
        let b = cursor_usage_batch(&mut ChaCha8Rng::seed_from_u64(7), 1000);
        assert_eq!(a, b);
        assert_eq!(a.num_columns(), 14);
        let d = apac_dot_batch(&mut ChaCha8Rng::seed_from_u64(11), 0, 1000);
        let delivered = d.column(6).null_count();
        let on_time = d.column(8).null_count();
        // Open and cancelled orders (about a fifth) have neither a delivery date nor an on-time flag.
        assert_eq!(delivered, on_time);
        assert!((100..300).contains(&delivered), "{delivered}");
    }
}
