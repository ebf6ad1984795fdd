//! Twenty-two questions over the demo datasets (`cursor_usage`, `apac_dot`), each answer computed here from
//! the demo's own deterministic batches by plain iteration, apart from any SQL.

use std::collections::{BTreeMap, HashSet};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Float64Type, Int64Type};

use super::{Case, Expected};

/// A demo dataset's columns, read whole.
struct Table(Vec<RecordBatch>);

impl Table {
    fn load(id: &str, rows: usize) -> Self {
        let (_, batches) = lantern_core::demo::batches(id, rows).expect("a demo dataset");
        Self(batches.collect())
    }

    /// Column `name` of every batch, each read by `read`.
    fn column<T>(&self, name: &str, read: impl Fn(&dyn Array) -> Vec<T>) -> Vec<T> {
        self.0
            .iter()
            .flat_map(|b| read(b.column_by_name(name).expect("a demo column").as_ref()))
            .collect()
    }

    fn strs(&self, name: &str) -> Vec<String> {
        self.column(name, |a| {
            let a = a.as_string::<i32>();
            (0..a.len()).map(|i| a.value(i).to_string()).collect()
        })
    }

    fn ints(&self, name: &str) -> Vec<f64> {
        self.column(name, |a| {
            let a = a.as_primitive::<Int64Type>();
            a.values().iter().map(|v| *v as f64).collect()
        })
    }

    fn floats(&self, name: &str) -> Vec<f64> {
        self.column(name, |a| a.as_primitive::<Float64Type>().values().to_vec())
    }

    fn bools(&self, name: &str) -> Vec<Option<bool>> {
        self.column(name, |a| {
            let a = a.as_boolean();
            (0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i)))
                .collect()
        })
    }

    /// A date column as `YYYY-MM`.
    fn months(&self, name: &str) -> Vec<String> {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
        self.column(name, |a| {
            a.as_primitive::<Date32Type>()
                .values()
                .iter()
                .map(|d| {
                    (epoch + chrono::Duration::days(*d as i64))
                        .format("%Y-%m")
                        .to_string()
                })
                .collect()
        })
    }
}

/// Sums of `values` per key, where `keep` holds.
fn sum_by(keys: &[String], values: &[f64], keep: &dyn Fn(usize) -> bool) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for i in (0..keys.len()).filter(|i| keep(*i)) {
        *out.entry(keys[i].clone()).or_insert(0.0) += values[i];
    }
    out
}

fn all(_: usize) -> bool {
    true
}

fn by_key(map: BTreeMap<String, f64>, tolerance: f64) -> Expected {
    Expected::ByKey {
        values: map.into_iter().collect(),
        tolerance,
        ordered: false,
    }
}

/// The `n` largest of `map`, largest first.
fn top(map: BTreeMap<String, f64>, n: usize, tolerance: f64) -> Expected {
    let mut v: Vec<(String, f64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(n);
    Expected::ByKey {
        values: v,
        tolerance,
        ordered: true,
    }
}

fn number(value: f64, tolerance: f64) -> Expected {
    Expected::Number { value, tolerance }
}

/// Ratios are asked rounded to four decimals.
const RATE: f64 = 1e-4;
/// Money is compared to the cent.
const CENT: f64 = 0.01;

/// The cases over demo datasets of `rows` rows each (as `lantern demo --rows` publishes them).
pub fn cases(rows: usize) -> Vec<Case> {
    let c = Table::load("cursor_usage", rows);
    let team = c.strs("team");
    let user = c.strs("user_email");
    let (chat, composer, agent) = (
        c.ints("chat_requests"),
        c.ints("composer_requests"),
        c.ints("agent_requests"),
    );
    let requests: Vec<f64> = (0..team.len())
        .map(|i| chat[i] + composer[i] + agent[i])
        .collect();
    let cost = c.floats("cost_usd");
    let ones = vec![1.0; team.len()];
    let active = c.bools("is_active");
    let model = c.strs("most_used_model");
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let web: Vec<usize> = (0..team.len()).filter(|i| team[*i] == "Web").collect();

    let a = Table::load("apac_dot", rows);
    let country = a.strs("country");
    let status = a.strs("status");
    let on_time = a.bools("on_time");
    let amount = a.floats("amount");
    let a_ones = vec![1.0; country.len()];
    let on_time_ones: Vec<f64> = on_time
        .iter()
        .map(|o| if *o == Some(true) { 1.0 } else { 0.0 })
        .collect();
    let delivered: Vec<f64> = on_time
        .iter()
        .map(|o| if o.is_some() { 1.0 } else { 0.0 })
        .collect();
    let product = a.strs("product_line");
    let segment = a.strs("customer_segment");
    let quantity = a.ints("quantity");
    let open = |i: usize| status[i] == "Open";

    let on_time_by_product = {
        let hits = sum_by(&product, &on_time_ones, &all);
        let counted = sum_by(&product, &delivered, &all);
        hits.into_iter()
            .map(|(k, h)| (k.clone(), h / counted[&k]))
            .collect()
    };
    let avg_quantity = {
        let total = sum_by(&segment, &quantity, &all);
        let n = sum_by(&segment, &a_ones, &all);
        total
            .into_iter()
            .map(|(k, t)| (k.clone(), t / n[&k]))
            .collect()
    };

    vec![
        Case {
            dataset: "cursor_usage",
            question: "How many rows (user-days) does the data have?",
            expected: number(team.len() as f64, 0.0),
            reference_sql: "SELECT count(*) AS user_days FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "How many different users are there?",
            expected: number(user.iter().collect::<HashSet<_>>().len() as f64, 0.0),
            reference_sql: "SELECT count(DISTINCT user_email) AS users FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "What is the total number of requests?",
            expected: number(sum(&requests), 0.0),
            reference_sql: "SELECT sum(chat_requests + composer_requests + agent_requests) AS total_requests FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "What is the total cost in US dollars?",
            expected: number(sum(&cost), CENT),
            reference_sql: "SELECT sum(cost_usd) AS cost FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "What is the tab acceptance rate overall?",
            expected: number(
                sum(&c.ints("tabs_accepted")) / sum(&c.ints("tabs_shown")),
                RATE,
            ),
            reference_sql: "SELECT round(sum(tabs_accepted) / CAST(sum(tabs_shown) AS DOUBLE), 4) AS tab_acceptance_rate FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "What share of all requests are agent requests?",
            expected: number(sum(&agent) / sum(&requests), RATE),
            reference_sql: "SELECT round(sum(agent_requests) / CAST(sum(chat_requests + composer_requests + agent_requests) AS DOUBLE), 4) AS agent_share FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "How many user-days does each team have?",
            expected: by_key(sum_by(&team, &ones, &all), 0.0),
            reference_sql: "SELECT team, count(*) AS user_days FROM cursor_usage GROUP BY team",
        },
        Case {
            dataset: "cursor_usage",
            question: "Total requests per team",
            expected: by_key(sum_by(&team, &requests, &all), 0.0),
            reference_sql: "SELECT team, sum(chat_requests + composer_requests + agent_requests) AS total_requests FROM cursor_usage GROUP BY team",
        },
        Case {
            dataset: "cursor_usage",
            question: "Which 3 teams made the most agent requests?",
            expected: top(sum_by(&team, &agent, &all), 3, 0.0),
            reference_sql: "SELECT team, sum(agent_requests) AS agent_requests FROM cursor_usage GROUP BY team ORDER BY agent_requests DESC LIMIT 3",
        },
        Case {
            dataset: "cursor_usage",
            question: "What is the total cost for each most used model?",
            expected: by_key(sum_by(&model, &cost, &all), CENT),
            reference_sql: "SELECT most_used_model, sum(cost_usd) AS cost FROM cursor_usage GROUP BY most_used_model",
        },
        Case {
            dataset: "cursor_usage",
            question: "How many active users are there?",
            expected: number(
                (0..user.len())
                    .filter(|i| active[*i] == Some(true))
                    .map(|i| &user[i])
                    .collect::<HashSet<_>>()
                    .len() as f64,
                0.0,
            ),
            reference_sql: "SELECT count(DISTINCT user_email) FILTER (WHERE is_active) AS active_users FROM cursor_usage",
        },
        Case {
            dataset: "cursor_usage",
            question: "How many lines were accepted per team?",
            expected: by_key(sum_by(&team, &c.ints("lines_accepted"), &all), 0.0),
            reference_sql: "SELECT team, sum(lines_accepted) AS lines_accepted FROM cursor_usage GROUP BY team",
        },
        Case {
            dataset: "cursor_usage",
            question: "Total requests per month",
            expected: by_key(sum_by(&c.months("date"), &requests, &all), 0.0),
            reference_sql: "SELECT date_trunc('month', date) AS month, sum(chat_requests + composer_requests + agent_requests) AS total_requests FROM cursor_usage GROUP BY 1 ORDER BY 1",
        },
        Case {
            dataset: "cursor_usage",
            question: "On the Web team, what is the average number of agent requests per user-day?",
            expected: number(
                web.iter().map(|i| agent[*i]).sum::<f64>() / web.len() as f64,
                RATE,
            ),
            reference_sql: "SELECT avg(agent_requests) AS avg_agent_requests FROM cursor_usage WHERE team = 'Web'",
        },
        Case {
            dataset: "apac_dot",
            question: "How many order lines are there?",
            expected: number(country.len() as f64, 0.0),
            reference_sql: "SELECT count(*) AS order_lines FROM apac_dot",
        },
        Case {
            dataset: "apac_dot",
            question: "What is the on-time rate?",
            expected: number(sum(&on_time_ones) / sum(&delivered), RATE),
            reference_sql: "SELECT round(count(*) FILTER (WHERE on_time) / CAST(count(on_time) AS DOUBLE), 4) AS on_time_rate FROM apac_dot",
        },
        Case {
            dataset: "apac_dot",
            question: "How many order lines per country?",
            expected: by_key(sum_by(&country, &a_ones, &all), 0.0),
            reference_sql: "SELECT country, count(*) AS order_lines FROM apac_dot GROUP BY country",
        },
        Case {
            dataset: "apac_dot",
            question: "Total amount per sub-region",
            expected: by_key(sum_by(&a.strs("sub_region"), &amount, &all), CENT),
            reference_sql: "SELECT sub_region, sum(amount) AS amount FROM apac_dot GROUP BY sub_region",
        },
        Case {
            dataset: "apac_dot",
            question: "How many open lines are there?",
            expected: number((0..status.len()).filter(|i| open(*i)).count() as f64, 0.0),
            reference_sql: "SELECT count(*) AS open_lines FROM apac_dot WHERE status = 'Open'",
        },
        Case {
            dataset: "apac_dot",
            question: "What is the on-time rate of each product line?",
            expected: by_key(on_time_by_product, RATE),
            reference_sql: "SELECT product_line, round(count(*) FILTER (WHERE on_time) / CAST(count(on_time) AS DOUBLE), 4) AS on_time_rate FROM apac_dot GROUP BY product_line",
        },
        Case {
            dataset: "apac_dot",
            question: "Which 5 countries have the highest open amount?",
            expected: top(sum_by(&country, &amount, &open), 5, CENT),
            reference_sql: "SELECT country, sum(amount) AS open_amount FROM apac_dot WHERE status = 'Open' GROUP BY country ORDER BY open_amount DESC LIMIT 5",
        },
        Case {
            dataset: "apac_dot",
            question: "What is the average quantity per customer segment?",
            expected: by_key(avg_quantity, RATE),
            reference_sql: "SELECT customer_segment, avg(quantity) AS avg_quantity FROM apac_dot GROUP BY customer_segment",
        },
    ]
}
