//! The AI chat end to end: the real app asks a scripted OpenAI-compatible model on loopback (the plumbing:
//! what a real model answers is the evaluation's business), streams the answer as server-sent events, runs its
//! SQL in the sandbox under the user's row rules, keeps threads, feedback and edits, and audits each question.
//! Expected rows are computed here from the published Parquet files.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use lantern_core::config::{ChatConfig, Config};
use lantern_testkit::model_server::{Answer, Server};
use serde_json::{Value, json};

use crate::access::{configure as configure_roles, signed_in};
use crate::support::{TestApp, Visitor, read_dataset};

pub fn chat_config(base: &str, extra: &str) -> ChatConfig {
    serde_yaml::from_str(&format!(
        "provider: openai\nmodel: scripted\nbase_url: {base}\nprice: {{input_per_million: 1.0, output_per_million: 2.0}}\n{extra}"
    ))
    .unwrap()
}

/// A model reply in the answer schema.
pub fn reply(sql: &str, summary: &str, kind: &str, x: &str, y: &[&str]) -> String {
    json!({"sql": sql, "summary": summary, "visual": {"kind": kind, "x": x, "y": y, "color": ""}})
        .to_string()
}

pub struct Asked {
    pub status: u16,
    pub events: Vec<(String, Value)>,
    pub request_id: String,
}

impl Asked {
    pub fn all(&self, name: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    }

    pub fn last(&self, name: &str) -> &Value {
        self.all(name)
            .last()
            .copied()
            .unwrap_or_else(|| panic!("no `{name}` event in {:?}", self.events))
    }
}

/// Posts a question and reads the whole event stream.
pub async fn ask(me: &Visitor, dataset: &str, body: Value) -> Asked {
    let csrf = me.csrf("/").await;
    let res = me
        .client
        .post(me.url(&format!("/api/chat/{dataset}/ask")))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let text = res.text().await.unwrap();
    let mut events = Vec::new();
    if status == 200 {
        for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            if !data.is_empty() {
                events.push((name, serde_json::from_str(&data).unwrap()));
            }
        }
    } else {
        events.push((
            "http".into(),
            serde_json::from_str(&text).unwrap_or(json!(text)),
        ));
    }
    Asked {
        status,
        events,
        request_id,
    }
}

async fn post_json(me: &Visitor, path: &str, body: Value) -> (u16, Value) {
    let csrf = me.csrf("/").await;
    let res = me
        .client
        .post(me.url(path))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Rows per value of text column `column` in the published dataset, counted from its Parquet files.
async fn count_by(app: &TestApp, dataset: &str, column: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for batch in read_dataset(&app.storage, dataset, 1).await {
        let array = batch.column_by_name(column).unwrap();
        let array =
            datafusion::arrow::compute::cast(array, &datafusion::arrow::datatypes::DataType::Utf8)
                .unwrap();
        let values = array.as_string::<i32>();
        for i in 0..values.len() {
            if values.is_valid(i) {
                *counts.entry(values.value(i).to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn with_chat(base: &str, extra: &str) -> impl FnOnce(&mut Config) {
    let chat = chat_config(base, extra);
    move |c: &mut Config| c.chat = Some(chat)
}

const BY_TEAM: &str =
    "SELECT team, count(*) AS days FROM cursor_usage GROUP BY team ORDER BY days DESC";

#[tokio::test]
async fn an_answer_streams_in_with_its_sql_table_and_chart_and_is_kept_costed_and_audited() {
    let model = Server::start(vec![Answer::openai_text(
        &reply(BY_TEAM, "Days of use per team.", "bar", "team", &["days"]),
        7,
        (1200, 80),
    )])
    .await;
    let app = TestApp::start_configured(with_chat(&model.base, "")).await;
    app.login().await;
    let want = count_by(&app, "cursor_usage", "team").await;

    let asked = ask(
        &app,
        "cursor_usage",
        json!({"question": "How many days of use per team?"}),
    )
    .await;
    assert_eq!(asked.status, 200, "{:?}", asked.events);
    let names: Vec<&str> = asked.events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "thread");
    assert_eq!(names[1], "context");
    assert_eq!(names.last(), Some(&"turn"));
    // The SQL arrives piece by piece, each a beginning of the whole.
    let sqls: Vec<&str> = asked
        .all("sql")
        .iter()
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert!(sqls.len() > 5, "{sqls:?}");
    assert!(sqls.iter().all(|s| BY_TEAM.starts_with(s)), "{sqls:?}");
    let context = asked.last("context");
    assert!(context["tokens"].as_u64().unwrap() > 50);
    assert_eq!(context["budget"], 3000);

    let turn = asked.last("turn");
    assert_eq!(turn["sql"], BY_TEAM);
    assert_eq!(
        turn["context_tokens"], context["tokens"],
        "the budget's use is kept with the turn"
    );
    assert_eq!(turn["error"], Value::Null);
    assert_eq!(turn["row_count"].as_u64().unwrap() as usize, want.len());
    let got: BTreeMap<String, i64> = turn["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(turn["columns"][1]["numeric"], true);
    assert_eq!(turn["figure"]["data"][0]["type"], "bar");
    assert_eq!(
        turn["figure"]["data"][0]["x"].as_array().unwrap().len(),
        want.len()
    );
    assert_eq!(
        (
            turn["input_tokens"].as_u64(),
            turn["output_tokens"].as_u64()
        ),
        (Some(1200), Some(80))
    );
    let cost = (1200.0 * 1.0 + 80.0 * 2.0) / 1e6;
    assert!((turn["cost"].as_f64().unwrap() - cost).abs() < 1e-12);

    // What the model was asked: the schema in the request, the context in the instructions.
    let seen = &model.seen()[0];
    assert_eq!(seen.path_and_query, "/v1/chat/completions");
    assert_eq!(seen.body["response_format"]["type"], "json_schema");
    let system = seen.body["messages"][0]["content"].as_str().unwrap();
    for part in [
        "Table `cursor_usage`",
        "total_requests",
        "Column profiles",
        "Sample rows",
    ] {
        assert!(system.contains(part), "{part} in {system}");
    }

    // The audit line of the question.
    let line = crate::audit_log::with_id(&asked.request_id)
        .into_iter()
        .find(|l| l["event"] == "chat_question")
        .expect("an audit line for the question");
    assert_eq!(line["user"], "admin");
    assert_eq!(line["question"], "How many days of use per team?");
    assert_eq!(line["sql"], BY_TEAM);
    assert_eq!(line["rows"], want.len().to_string());
    assert_eq!(line["input_tokens"], "1200");
    assert_eq!(line["cost"], format!("{cost:.6}"));

    // The thread is kept; a follow-up carries the earlier turn.
    let thread = asked.last("thread")["id"].as_str().unwrap().to_string();
    let (status, listed) = app.get_json("/api/chat/cursor_usage/threads").await;
    assert_eq!(status, 200);
    assert_eq!(listed["threads"][0]["id"], thread.as_str());
    assert_eq!(
        listed["threads"][0]["title"],
        "How many days of use per team?"
    );
    let top3 =
        "SELECT team, count(*) AS days FROM cursor_usage GROUP BY team ORDER BY days DESC LIMIT 3";
    model.push(vec![Answer::openai_text(
        &reply(top3, "The top three.", "horizontal_bar", "team", &["days"]),
        50,
        (1500, 60),
    )]);
    let follow = ask(
        &app,
        "cursor_usage",
        json!({"question": "Only the top 3?", "thread": thread}),
    )
    .await;
    assert_eq!(follow.last("turn")["row_count"], 3);
    let messages = model.seen()[1].body["messages"].as_array().unwrap().clone();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(messages[1]["content"], "How many days of use per team?");
    assert!(messages[2]["content"].as_str().unwrap().contains(BY_TEAM));
    let mut ranked: Vec<i64> = want.values().copied().collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    let top: Vec<i64> = follow.last("turn")["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_i64().unwrap())
        .collect();
    assert_eq!(top, ranked[..3]);

    // Thumbs up, kept with the turn.
    let (status, _) = post_json(
        &app,
        &format!("/api/chat/cursor_usage/threads/{thread}/turns/1/feedback"),
        json!({"feedback": "up"}),
    )
    .await;
    assert_eq!(status, 200);
    // Edit the SQL and run it again (admin has the chat SQL feature).
    let edited = "SELECT team, count(*) AS days FROM cursor_usage WHERE team = 'Web' GROUP BY team";
    let (status, rerun) = post_json(
        &app,
        &format!("/api/chat/cursor_usage/threads/{thread}/turns/0/run"),
        json!({"sql": edited}),
    )
    .await;
    assert_eq!(status, 200, "{rerun}");
    assert_eq!(rerun["edited"], true);
    assert_eq!(rerun["rows"], json!([["Web", want["Web"]]]));
    let (_, shown) = app
        .get_json(&format!("/api/chat/cursor_usage/threads/{thread}"))
        .await;
    assert_eq!(shown["turns"].as_array().unwrap().len(), 2);
    assert_eq!(shown["turns"][0]["sql"], edited);
    assert_eq!(shown["turns"][1]["feedback"], "up");
    // A hostile edit is refused by the sandbox and shown as the turn's error.
    let (status, refused) = post_json(
        &app,
        &format!("/api/chat/cursor_usage/threads/{thread}/turns/0/run"),
        json!({"sql": "DROP TABLE cursor_usage"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        refused["error"].as_str().unwrap().starts_with("refused"),
        "{refused}"
    );

    // CSV export of the follow-up: its SQL run again.
    let res = app
        .client
        .get(app.url(&format!(
            "/api/chat/cursor_usage/threads/{thread}/turns/1/export.csv"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "team,days");
    assert_eq!(lines.len(), 4);
}

#[tokio::test]
async fn an_invalid_query_goes_back_once_with_its_error_and_refusals_are_final() {
    let bad = reply("SELECT nosuch FROM cursor_usage", "", "none", "", &[]);
    let good = reply(
        "SELECT count(*) AS days FROM cursor_usage",
        "All days.",
        "big_number",
        "",
        &["days"],
    );
    let model = Server::start(vec![
        Answer::openai_text(&bad, 40, (100, 10)),
        Answer::openai_text(&good, 40, (120, 12)),
    ])
    .await;
    let app = TestApp::start_configured(with_chat(&model.base, "")).await;
    app.login().await;
    let total: i64 = count_by(&app, "cursor_usage", "team").await.values().sum();

    let asked = ask(&app, "cursor_usage", json!({"question": "How many rows?"})).await;
    assert!(
        asked.last("correcting")["error"]
            .as_str()
            .unwrap()
            .contains("nosuch")
    );
    let turn = asked.last("turn");
    assert_eq!(turn["corrected"], true);
    assert_eq!(turn["rows"], json!([[total]]));
    assert_eq!(turn["input_tokens"], 220, "both rounds are counted");
    assert!(
        turn["figure"].to_string().contains("days"),
        "{}",
        turn["figure"]
    );
    let second = &model.seen()[1].body["messages"];
    let last = second.as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap();
    assert!(last.contains("nosuch"), "{last}");

    // Wrong twice: the user sees the error.
    model.push(vec![
        Answer::openai_text(&bad, 40, (1, 1)),
        Answer::openai_text(&bad, 40, (1, 1)),
    ]);
    let asked = ask(&app, "cursor_usage", json!({"question": "Again?"})).await;
    let error = asked.last("turn")["error"].as_str().unwrap().to_string();
    assert!(
        error.starts_with("invalid query") && error.contains("nosuch"),
        "{error}"
    );

    // A statement the sandbox does not run goes back to no one: one request, refused.
    let before = model.seen().len();
    model.push(vec![Answer::openai_text(
        &reply("DELETE FROM cursor_usage", "", "none", "", &[]),
        40,
        (1, 1),
    )]);
    let asked = ask(
        &app,
        "cursor_usage",
        json!({"question": "Delete everything"}),
    )
    .await;
    assert!(
        asked.last("turn")["error"]
            .as_str()
            .unwrap()
            .starts_with("refused")
    );
    assert_eq!(model.seen().len(), before + 1);

    // A reply that is not the answer JSON is sent back too; a provider refusing the key is final.
    model.push(vec![Answer::status(
        401,
        r#"{"error": {"message": "bad key"}}"#,
    )]);
    let asked = ask(&app, "cursor_usage", json!({"question": "Anything"})).await;
    let error = asked.last("turn")["error"].as_str().unwrap().to_string();
    assert!(error.contains("refused the credentials"), "{error}");
}

#[tokio::test]
async fn row_rules_hold_in_the_chat_and_its_features_are_enforced() {
    let model = Server::start(vec![]).await;
    let by_country = "SELECT country, count(*) AS n FROM apac_dot GROUP BY country";
    let app = TestApp::start_configured(|c| {
        configure_roles(c);
        c.chat = Some(chat_config(&model.base, "questions_per_hour: 2"));
        c.auth.roles.insert(
            "japan_chat".into(),
            serde_yaml::from_str("{dashboards: [apac-dot], datasets: [apac_dot], features: [chat], rows: {apac_dot: [{country: Japan}]}}").unwrap(),
        );
        let mut ken = c.auth.users.iter().find(|u| u.username == "ken").unwrap().clone();
        ken.username = "kenji".into();
        ken.roles = vec!["japan_chat".into()];
        c.auth.users.push(ken);
    })
    .await;
    let japan = count_by(&app, "apac_dot", "country").await["Japan"];

    let kenji = signed_in(&app, "kenji").await;
    model.push(vec![Answer::openai_text(
        &reply(by_country, "", "bar", "country", &["n"]),
        30,
        (1, 1),
    )]);
    let asked = ask(&kenji, "apac_dot", json!({"question": "Rows per country?"})).await;
    assert_eq!(asked.last("turn")["rows"], json!([["Japan", japan]]));
    // Profiles and samples in the context are Japan's only.
    let system = model.seen()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!system.contains("Korea"), "{system}");

    // Without the chat SQL feature, no edits; without the export feature, no CSV.
    let thread = asked.last("thread")["id"].as_str().unwrap().to_string();
    let (status, _) = post_json(
        &kenji,
        &format!("/api/chat/apac_dot/threads/{thread}/turns/0/run"),
        json!({"sql": "SELECT * FROM apac_dot"}),
    )
    .await;
    assert_eq!(status, 403);
    let status = kenji
        .status(&format!(
            "/api/chat/apac_dot/threads/{thread}/turns/0/export.csv"
        ))
        .await;
    assert_eq!(status, 403);
    // Another user's thread is not there for them.
    let admin = signed_in(&app, "admin").await;
    let (status, _) = admin
        .get_json(&format!("/api/chat/apac_dot/threads/{thread}"))
        .await;
    assert_eq!(status, 404);
    // A dataset the role does not open.
    let asked = ask(&kenji, "cursor_usage", json!({"question": "x"})).await;
    assert_eq!(asked.status, 403);

    // The hourly limit: the third question in an hour is refused before the model is asked.
    model.push(vec![Answer::openai_text(
        &reply(by_country, "", "none", "", &[]),
        30,
        (1, 1),
    )]);
    assert_eq!(
        ask(&kenji, "apac_dot", json!({"question": "Again?"}))
            .await
            .status,
        200
    );
    let before = model.seen().len();
    let limited = ask(&kenji, "apac_dot", json!({"question": "And again?"})).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited.events[0].1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in the last hour")
    );
    assert_eq!(model.seen().len(), before);
}

#[tokio::test]
async fn a_dashboards_active_filters_reach_the_model() {
    let model = Server::start(vec![Answer::openai_text(
        &reply(BY_TEAM, "", "none", "", &[]),
        80,
        (1, 1),
    )])
    .await;
    let app = TestApp::start_configured(with_chat(&model.base, "")).await;
    app.login().await;
    let page = app.page("/d/cursor-usage").await;
    assert!(
        page.contains("id=\"chat-open\"") && page.contains("data-chat"),
        "the dashboard offers the chat"
    );
    assert_eq!(page.matches("id=\"chat-drawer\"").count(), 1, "one drawer");
    let title = &page[page.find("<title>").unwrap() + 7..page.find("</title>").unwrap()];
    assert!(!title.contains('<'), "{title}");
    let asked = ask(
        &app,
        "cursor_usage",
        json!({"question": "Per team?", "dashboard": "cursor-usage", "filters": "team=Web&team=Search"}),
    )
    .await;
    assert_eq!(asked.status, 200, "{:?}", asked.events);
    let system = model.seen()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        system.contains("active filters") && system.contains("team in ('Search', 'Web')"),
        "{system}"
    );
    // A bad filter is named.
    let asked = ask(
        &app,
        "cursor_usage",
        json!({"question": "x", "dashboard": "cursor-usage", "filters": "nosuch=1"}),
    )
    .await;
    assert_eq!(asked.status, 400);
}
