//! Deterministic synthetic demo datasets, shaped like the seed system's two dashboards and like
//! `../shared/bench/gen_data.py` (same columns; a different random generator), with stories a reader can find:
//!
//! - `cursor_usage`: one row per user per active day of an AI coding assistant. Teams differ in size and habits;
//!   adoption grows through the year with a weekday/weekend rhythm; agent requests overtake chat; `gpt-4.1` loses
//!   share to `claude-sonnet` and to `gpt-5` after its August launch; client 1.5.0 shipped a tab-completion
//!   regression (lower acceptance) that 1.5.1 fixed.
//! - `apac_dot`: APAC order lines with due and delivery dates. Countries and product lines deliver on time at
//!   different rates, South East Asia deteriorates from mid-year, and some orders are open past due.
//!
//! Both are published through the ordinary catalog path, so a demo dataset is a dataset like any other.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Exp, Gamma, LogNormal, Poisson};

use crate::catalog::{Catalog, Manifest};
use crate::error::Result;

/// Rows generated and written per batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Days covered: all of 2025.
const DAYS: usize = 365;

pub const TEAMS: [&str; 12] = [
    "Platform", "Payments", "Search", "Mobile", "Web", "Data", "ML", "Infra", "Security", "Growth",
    "Ads", "Support",
];
/// Relative team sizes, in `TEAMS` order.
const TEAM_SIZES: [f64; 12] = [
    16.0, 8.0, 7.0, 11.0, 14.0, 9.0, 8.0, 7.0, 5.0, 6.0, 5.0, 4.0,
];
/// How heavily each team uses the assistant, and how much more (or less) of its tab completions it accepts.
const TEAM_INTENSITY: [f64; 12] = [1.2, 0.9, 1.0, 1.1, 1.0, 1.3, 1.6, 0.9, 0.7, 0.8, 0.85, 0.5];
const TEAM_ACCEPTANCE: [f64; 12] = [
    0.02, -0.02, 0.0, 0.03, 0.05, -0.01, 0.01, -0.03, -0.06, 0.02, 0.0, -0.04,
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
/// Client versions and the day of the year each was released.
pub const CLIENT_VERSIONS: [(&str, i32); 4] =
    [("1.4.2", 0), ("1.5.0", 95), ("1.5.1", 150), ("1.6.0", 265)];
/// The release whose tab completions were worse.
const REGRESSED_VERSION: &str = "1.5.0";

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
/// Order volume and base on-time rate per country, in `COUNTRIES` order.
const COUNTRY_VOLUME: [f64; 12] = [
    18.0, 12.0, 12.0, 7.0, 6.0, 8.0, 6.0, 6.0, 4.0, 5.0, 2.5, 14.0,
];
const COUNTRY_ON_TIME: [f64; 12] = [
    0.95, 0.92, 0.84, 0.90, 0.88, 0.93, 0.86, 0.84, 0.82, 0.80, 0.78, 0.89,
];
pub const PRODUCT_LINES: [&str; 10] = [
    "PL-A", "PL-B", "PL-C", "PL-D", "PL-E", "PL-F", "PL-G", "PL-H", "PL-I", "PL-J",
];
const LINE_VOLUME: [f64; 10] = [14.0, 12.0, 11.0, 10.0, 10.0, 9.0, 9.0, 9.0, 8.0, 8.0];
const LINE_ON_TIME: [f64; 10] = [0.03, 0.01, -0.07, 0.0, 0.02, -0.01, 0.0, -0.05, 0.01, -0.02];
const LINE_PRICE: [f64; 10] = [
    900.0, 450.0, 2400.0, 300.0, 650.0, 1200.0, 180.0, 3100.0, 520.0, 760.0,
];
pub const SEGMENTS: [&str; 4] = ["Enterprise", "Mid-Market", "SMB", "Public Sector"];
const SEGMENT_VOLUME: [f64; 4] = [35.0, 30.0, 25.0, 10.0];
const SEGMENT_ON_TIME: [f64; 4] = [0.02, 0.0, -0.01, -0.04];
const SEGMENT_SIZE: [f64; 4] = [3.0, 1.4, 0.6, 2.0];

/// The demo datasets, by id.
pub const DATASETS: [&str; 2] = ["cursor_usage", "apac_dot"];

fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

fn start_day() -> i32 {
    epoch_days(NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid"))
}

fn weekday(day: usize) -> chrono::Weekday {
    (NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid") + chrono::Duration::days(day as i64))
        .weekday()
}

fn is_weekend(day: usize) -> bool {
    matches!(weekday(day), chrono::Weekday::Sat | chrono::Weekday::Sun)
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

/// A stable fraction in `[0, 1)` for `u` (so a user's team is a function of the user alone).
fn unit_hash(u: u64, salt: u64) -> f64 {
    let mut x = u.wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Index into `weights` for the fraction `f` in `[0, 1)`.
fn pick(weights: &[f64], f: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if f < acc {
            return i;
        }
    }
    weights.len() - 1
}

fn pick_rng(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let f: f64 = rng.random();
    pick(weights, f)
}

/// Users in the demo for `rows` rows: enough that no day needs more rows than it has users.
pub fn cursor_users(rows: usize) -> usize {
    rows.div_ceil(160).max(60)
}

/// The team of demo user `u`.
pub fn cursor_team(u: usize) -> &'static str {
    TEAMS[pick(&TEAM_SIZES, unit_hash(u as u64, 1))]
}

/// The e-mail address of demo user `u`.
pub fn cursor_email(u: usize) -> String {
    format!("user{u:05}@example.com")
}

/// The day user `u` of `users` starts using the assistant: a third from the start, the rest over the year.
fn adoption_day(u: usize, users: usize) -> usize {
    let f = u as f64 / users as f64;
    if f < 0.35 {
        0
    } else {
        ((f - 0.35) / 0.65).powf(0.9).mul_add(330.0, 0.0) as usize
    }
}

fn model_weights(t: f64) -> [f64; 8] {
    [
        18.0 + 22.0 * t,
        if t < 0.58 { 0.0 } else { (t - 0.58) * 75.0 },
        6.0 + 6.0 * t,
        14.0 - 10.0 * t,
        8.0,
        4.0 + 2.0 * t,
        30.0 - 26.0 * t,
        12.0,
    ]
}

/// The client version a user runs on `day`: the newest release, taken up over about a month.
fn client_version(rng: &mut ChaCha8Rng, day: i32) -> &'static str {
    let newest = CLIENT_VERSIONS
        .iter()
        .rposition(|(_, d)| *d <= day)
        .unwrap_or(0);
    let uptake = ((day - CLIENT_VERSIONS[newest].1) as f64 / 30.0 + 0.1).min(0.97);
    if newest > 0 && rng.random::<f64>() > uptake {
        CLIENT_VERSIONS[newest - 1].0
    } else {
        CLIENT_VERSIONS[newest].0
    }
}

/// A generator that makes its rows a day at a time and hands them out a batch at a time.
trait DayByDay {
    type Row;
    /// The next day to generate.
    fn day(&self) -> usize;
    fn pending(&mut self) -> &mut VecDeque<Self::Row>;
    fn generate_day(&mut self);

    /// The next batch's rows: days are generated until a batch is full or the year ends.
    fn next_rows(&mut self) -> Option<Vec<Self::Row>> {
        while self.pending().len() < BATCH_ROWS && self.day() < DAYS {
            self.generate_day();
        }
        let pending = self.pending();
        if pending.is_empty() {
            return None;
        }
        let n = pending.len().min(BATCH_ROWS);
        Some(pending.drain(..n).collect())
    }
}

/// One row of `cursor_usage`.
struct UsageRow {
    date: i32,
    user: usize,
    active: bool,
    counts: [i64; 7],
    model: &'static str,
    client: &'static str,
    cost: f64,
}

/// The `cursor_usage` generator: day by day, a share of the adopted users, each once.
struct CursorUsage {
    rng: ChaCha8Rng,
    users: usize,
    per_day: Vec<usize>,
    day: usize,
    pending: VecDeque<UsageRow>,
}

impl CursorUsage {
    fn new(rows: usize, seed: u64) -> Self {
        let users = cursor_users(rows);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let pool = |d: usize| (0..users).filter(|u| adoption_day(*u, users) <= d).count();
        let weights: Vec<f64> = (0..DAYS)
            .map(|d| {
                let rhythm = if is_weekend(d) { 0.16 } else { 1.0 };
                pool(d) as f64 * rhythm * rng.random_range(0.92..1.08)
            })
            .collect();
        let per_day = spread(rows, &weights);
        Self {
            rng,
            users,
            per_day,
            day: 0,
            pending: VecDeque::new(),
        }
    }

    /// Generates the rows of the next day into `pending`.
    fn generate(&mut self) {
        let d = self.day;
        self.day += 1;
        let n = self.per_day[d];
        if n == 0 {
            return;
        }
        let pool = (0..self.users)
            .take_while(|u| adoption_day(*u, self.users) <= d)
            .count()
            .max(n);
        let mut picked: Vec<usize> = rand::seq::index::sample(&mut self.rng, pool, n).into_vec();
        picked.sort_unstable();
        let t = d as f64 / (DAYS - 1) as f64;
        let weekend = if is_weekend(d) { 0.6 } else { 1.0 };
        let models = model_weights(t);
        let date = start_day() + d as i32;
        let gamma: Gamma<f64> = Gamma::new(2.0, 0.5).expect("valid");
        for u in picked {
            let team = pick(&TEAM_SIZES, unit_hash(u as u64, 1));
            let habit = 0.6 + 0.8 * unit_hash(u as u64, 2);
            let intensity = TEAM_INTENSITY[team] * habit * weekend;
            let rng = &mut self.rng;
            let active = rng.random::<f64>() < 0.965;
            let model = MODELS[pick_rng(rng, &models)];
            let client = client_version(rng, d as i32);
            let mut counts = [0i64; 7];
            let mut cost = 0.0;
            if active {
                let poisson = |rng: &mut ChaCha8Rng, l: f64| -> i64 {
                    Poisson::new(l.max(0.05))
                        .map(|p| p.sample(rng) as i64)
                        .unwrap_or(0)
                };
                let chat = poisson(rng, 5.0 * intensity * (1.0 - 0.45 * t));
                let composer = poisson(rng, 2.5 * intensity);
                let agent = poisson(rng, 2.5 * intensity * (0.4 + 2.4 * t));
                let shown = poisson(rng, 55.0 * intensity);
                let mut p_tab = 0.27 + TEAM_ACCEPTANCE[team] + 0.06 * t + 0.05 * (habit - 1.0);
                p_tab += match model {
                    "claude-sonnet" | "claude-opus" => 0.03,
                    "cursor-small" => -0.04,
                    _ => 0.0,
                };
                if client == REGRESSED_VERSION {
                    p_tab -= 0.11;
                }
                let binomial = |rng: &mut ChaCha8Rng, n: i64, p: f64| -> i64 {
                    Binomial::new(n.max(0) as u64, p.clamp(0.02, 0.95))
                        .map(|b| b.sample(rng) as i64)
                        .unwrap_or(0)
                };
                let accepted = binomial(rng, shown, p_tab);
                let added = poisson(rng, 80.0 * intensity);
                let lines_accepted = binomial(rng, added, 0.52 + TEAM_ACCEPTANCE[team]);
                counts = [
                    chat,
                    composer,
                    agent,
                    shown,
                    accepted,
                    added,
                    lines_accepted,
                ];
                let price = match model {
                    "claude-opus" => 3.0,
                    "o3" => 1.6,
                    "gpt-5" => 1.2,
                    "cursor-small" | "auto" => 0.5,
                    _ => 1.0,
                };
                let usage_based = agent as f64 * 0.55 * price + chat as f64 * 0.1;
                cost =
                    ((usage_based + gamma.sample(rng) * 0.2) * USAGE_BASED_REQUEST_USD * 10_000.0)
                        .round()
                        / 10_000.0;
            }
            self.pending.push_back(UsageRow {
                date,
                user: u,
                active,
                counts,
                model,
                client,
                cost,
            });
        }
    }
}

impl DayByDay for CursorUsage {
    type Row = UsageRow;

    fn day(&self) -> usize {
        self.day
    }

    fn pending(&mut self) -> &mut VecDeque<UsageRow> {
        &mut self.pending
    }

    fn generate_day(&mut self) {
        self.generate()
    }
}

impl Iterator for CursorUsage {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        let rows = self.next_rows()?;
        let ints = |k: usize| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.counts[k]),
            ))
        };
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.date))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| cursor_email(r.user)),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| cursor_team(r.user)),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.active).collect::<Vec<_>>(),
            )),
            ints(0),
            ints(1),
            ints(2),
            ints(3),
            ints(4),
            ints(5),
            ints(6),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.model))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.client))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.cost))),
        ];
        Some(RecordBatch::try_new(cursor_usage_schema(), cols).expect("columns match the schema"))
    }
}

/// `total` split over days in proportion to `weights`, summing exactly to `total`.
fn spread(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let mut out = Vec::with_capacity(weights.len());
    let mut carry = 0.0;
    let mut given = 0usize;
    for w in weights {
        let exact = total as f64 * w / sum + carry;
        let n = exact.floor();
        carry = exact - n;
        out.push(n as usize);
        given += n as usize;
    }
    if let Some(last) = out.last_mut() {
        *last += total - given.min(total);
    }
    out
}

/// The day the APAC demo's report is run: orders due later are not due yet.
pub fn apac_report_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid")
}

/// The `apac_dot` generator: order lines day by day of due date (business days, volume growing), delivered on
/// time at rates that depend on country, product line, segment and season.
struct ApacDot {
    rng: ChaCha8Rng,
    per_day: Vec<usize>,
    day: usize,
    next_order: usize,
    pending: VecDeque<ApacRow>,
}

struct ApacRow {
    order: usize,
    country: usize,
    line: usize,
    segment: usize,
    due: i32,
    delivered: Option<i32>,
    status: &'static str,
    quantity: i64,
    amount: f64,
}

fn sub_region(country: usize) -> &'static str {
    match country {
        0..=4 => "North Asia",
        5..=10 => "South East Asia",
        _ => "Oceania",
    }
}

impl ApacDot {
    fn new(rows: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let weights: Vec<f64> = (0..DAYS)
            .map(|d| {
                let business = if is_weekend(d) { 0.08 } else { 1.0 };
                business * (1.0 + 0.25 * d as f64 / DAYS as f64) * rng.random_range(0.85..1.15)
            })
            .collect();
        Self {
            per_day: spread(rows, &weights),
            rng,
            day: 0,
            next_order: 0,
            pending: VecDeque::new(),
        }
    }

    /// Generates the rows of the next day into `pending`.
    fn generate(&mut self) {
        let d = self.day;
        self.day += 1;
        let t = d as f64 / (DAYS - 1) as f64;
        let due = start_day() + d as i32;
        let report = epoch_days(apac_report_day());
        let lateness: Exp<f64> = Exp::new(0.25).expect("valid");
        let size = LogNormal::new(0.0, 0.6).expect("valid");
        for _ in 0..self.per_day[d] {
            let rng = &mut self.rng;
            let country = pick_rng(rng, &COUNTRY_VOLUME);
            let line = pick_rng(rng, &LINE_VOLUME);
            let segment = pick_rng(rng, &SEGMENT_VOLUME);
            let mut p = COUNTRY_ON_TIME[country] + LINE_ON_TIME[line] + SEGMENT_ON_TIME[segment];
            // South East Asia deteriorates from mid-year (port congestion); everyone dips before the holidays.
            if sub_region(country) == "South East Asia" && t > 0.45 {
                p -= 0.28 * (t - 0.45);
            }
            if t > 0.87 {
                p -= 0.04;
            }
            let p = p.clamp(0.3, 0.99);
            let roll: f64 = rng.random();
            let days_to_report = report - due;
            // Orders due near the report day are often still open; a few older ones are open past due.
            let p_open = if days_to_report < 0 {
                1.0
            } else if days_to_report < 14 {
                0.45 - days_to_report as f64 * 0.03
            } else if sub_region(country) == "South East Asia" {
                0.045
            } else {
                0.02
            };
            let (status, delivered) = if roll < 0.03 {
                ("Cancelled", None)
            } else if roll < 0.03 + p_open {
                ("Open", None)
            } else if rng.random::<f64>() < p {
                ("Delivered", Some(due - rng.random_range(0..5)))
            } else {
                let late = 1 + lateness.sample(rng).round() as i32;
                ("Delivered", Some(due + late))
            };
            let quantity =
                ((size.sample(rng) * 40.0 * SEGMENT_SIZE[segment]).round() as i64).clamp(1, 5000);
            let amount =
                (quantity as f64 * LINE_PRICE[line] * rng.random_range(0.85..1.15) * 100.0).round()
                    / 100.0;
            let order = self.next_order;
            self.next_order += 1;
            self.pending.push_back(ApacRow {
                order,
                country,
                line,
                segment,
                due,
                delivered,
                status,
                quantity,
                amount,
            });
        }
    }
}

impl DayByDay for ApacDot {
    type Row = ApacRow;

    fn day(&self) -> usize {
        self.day
    }

    fn pending(&mut self) -> &mut VecDeque<ApacRow> {
        &mut self.pending
    }

    fn generate_day(&mut self) {
        self.generate()
    }
}

impl Iterator for ApacDot {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        let rows = self.next_rows()?;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| format!("SO-{:09}", r.order)),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| COUNTRIES[r.country]),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| sub_region(r.country)),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| PRODUCT_LINES[r.line]),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| SEGMENTS[r.segment]),
            )),
            Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.due))),
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.delivered).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.status))),
            Arc::new(BooleanArray::from(
                rows.iter()
                    .map(|r| r.delivered.map(|d| d <= r.due))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.quantity),
            )),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.amount),
            )),
        ];
        Some(RecordBatch::try_new(apac_dot_schema(), cols).expect("columns match the schema"))
    }
}

/// The deterministic batches of demo dataset `id`, `rows` rows in all.
pub fn batches(
    id: &str,
    rows: usize,
) -> Result<(SchemaRef, Box<dyn Iterator<Item = RecordBatch> + Send>)> {
    match id {
        "cursor_usage" => Ok((cursor_usage_schema(), Box::new(CursorUsage::new(rows, 7)))),
        "apac_dot" => Ok((apac_dot_schema(), Box::new(ApacDot::new(rows, 11)))),
        other => Err(crate::Error::NotFound {
            kind: "demo dataset",
            id: other.to_string(),
        }),
    }
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
        for u in 0..cursor_users(rows) {
            text.push_str(&format!("{},{}\n", cursor_email(u), cursor_team(u)));
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
        .map(|e| {
            let digits = e.trim_start_matches("user").split('@').next().unwrap_or("");
            155_700_000 + digits.parse::<i64>().unwrap_or(0)
        })
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
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Date32Type, Int64Type};
    use std::collections::{HashMap, HashSet};

    fn all(id: &str, rows: usize) -> RecordBatch {
        let (schema, b) = batches(id, rows).unwrap();
        datafusion::arrow::compute::concat_batches(&schema, &b.collect::<Vec<_>>()).unwrap()
    }

    fn strings(b: &RecordBatch, name: &str) -> Vec<String> {
        b.column_by_name(name)
            .unwrap()
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn generation_is_deterministic_and_exact() {
        for id in DATASETS {
            let a = all(id, 20_000);
            assert_eq!(a, all(id, 20_000), "{id}");
            assert_eq!(a.num_rows(), 20_000, "{id}");
        }
        let d = all("apac_dot", 5_000);
        // Open and cancelled orders have neither a delivery date nor an on-time flag.
        assert_eq!(d.column(6).null_count(), d.column(8).null_count());
    }

    #[test]
    fn cursor_usage_has_one_row_per_user_and_day_and_a_story() {
        let b = all("cursor_usage", 60_000);
        let dates = b
            .column_by_name("date")
            .unwrap()
            .as_primitive::<Date32Type>()
            .values()
            .to_vec();
        let users = strings(&b, "user_email");
        let pairs: HashSet<(i32, &String)> = dates.iter().copied().zip(&users).collect();
        assert_eq!(pairs.len(), b.num_rows(), "one row per user per day");
        // Team sizes differ.
        let mut team_users: HashMap<String, HashSet<String>> = HashMap::new();
        for (t, u) in strings(&b, "team").into_iter().zip(&users) {
            team_users.entry(t).or_default().insert(u.clone());
        }
        let sizes: Vec<usize> = team_users.values().map(HashSet::len).collect();
        assert!(
            sizes.iter().max().unwrap() > &(2 * sizes.iter().min().unwrap()),
            "{sizes:?}"
        );
        // Adoption grows: December has more rows than January; weekdays far more than weekends.
        let day0 = start_day();
        let in_range = |a: i32, z: i32| {
            dates
                .iter()
                .filter(|d| (day0 + a..day0 + z).contains(*d))
                .count()
        };
        assert!(in_range(334, 365) > in_range(0, 31) * 3 / 2);
        let weekend = dates
            .iter()
            .filter(|d| is_weekend((**d - day0) as usize))
            .count();
        assert!(weekend * 10 < b.num_rows(), "{weekend}");
        // Client 1.5.0 accepts fewer tab completions than 1.5.1.
        let shown = b
            .column_by_name("tabs_shown")
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        let acc = b
            .column_by_name("tabs_accepted")
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        let rate = |v: &str| {
            let (mut a, mut s) = (0i64, 0i64);
            for (i, c) in strings(&b, "client_version").iter().enumerate() {
                if c == v {
                    a += acc[i];
                    s += shown[i];
                }
            }
            a as f64 / s as f64
        };
        assert!(
            rate("1.5.0") + 0.07 < rate("1.5.1"),
            "{} {}",
            rate("1.5.0"),
            rate("1.5.1")
        );
    }

    #[test]
    fn apac_countries_differ_and_south_east_asia_slips() {
        let b = all("apac_dot", 60_000);
        let on_time = b.column_by_name("on_time").unwrap().as_boolean().clone();
        let due = b
            .column_by_name("due_date")
            .unwrap()
            .as_primitive::<Date32Type>()
            .values()
            .to_vec();
        let countries = strings(&b, "country");
        let regions = strings(&b, "sub_region");
        let rate = |keep: &dyn Fn(usize) -> bool| {
            let (mut yes, mut n) = (0, 0);
            for i in 0..b.num_rows() {
                if on_time.is_valid(i) && keep(i) {
                    n += 1;
                    yes += usize::from(on_time.value(i));
                }
            }
            yes as f64 / n as f64
        };
        let japan = rate(&|i| countries[i] == "Japan");
        let philippines = rate(&|i| countries[i] == "Philippines");
        assert!(japan > philippines + 0.1, "{japan} {philippines}");
        let half = start_day() + 182;
        let sea_h1 = rate(&|i| regions[i] == "South East Asia" && due[i] < half);
        let sea_h2 = rate(&|i| regions[i] == "South East Asia" && due[i] >= half);
        assert!(sea_h1 > sea_h2 + 0.04, "{sea_h1} {sea_h2}");
        // Some orders are open past due.
        let status = strings(&b, "status");
        let report = epoch_days(apac_report_day());
        let past_due = (0..b.num_rows())
            .filter(|i| status[*i] == "Open" && due[*i] < report - 30)
            .count();
        assert!(past_due > 100, "{past_due}");
    }
}
