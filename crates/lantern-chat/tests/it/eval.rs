//! The evaluation's plumbing: each demo question goes through the whole chat to a scripted model that answers
//! with the case's reference query, and is scored against the answer computed from the data. (How well a real
//! model does is `scripts/chat-eval.sh`'s business.)

use lantern_chat::eval::{self, Case};
use lantern_chat::{
    Chat,
    provider::{OpenAi, Provider},
};
use lantern_core::config::ChatConfig;
use lantern_core::storage::Storage;
use lantern_testkit::model_server::{Answer, Server};
use serde_json::json;

const ROWS: usize = 5_000;

fn answer(sql: &str) -> Answer {
    let text = json!({"sql": sql, "summary": "", "visual": {"kind": "none", "x": "", "y": [], "color": ""}}).to_string();
    Answer::openai_text(&text, 64, (300, 40))
}

async fn chat_with(storage: &Storage, server: &Server) -> Chat {
    let config: ChatConfig = serde_yaml::from_str(&format!(
        "provider: openai\nmodel: scripted\nbase_url: {}\nquestions_per_hour: 1000",
        server.base
    ))
    .unwrap();
    let provider = Provider::OpenAi(OpenAi::new(
        &server.base,
        "scripted",
        None,
        std::time::Duration::from_secs(10),
    ));
    Chat::with_provider(config, storage.clone(), provider).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_question_is_scored_against_the_answer_computed_from_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, engine) =
        crate::support::demo_engine(dir.path(), &["cursor_usage", "apac_dot"], ROWS).await;
    let cases: Vec<Case> = eval::demo::cases(ROWS);
    assert!(cases.len() >= 20);

    // Reference queries: every answer is right.
    let server = Server::start(cases.iter().map(|c| answer(c.reference_sql)).collect()).await;
    let chat = chat_with(&storage, &server).await;
    let report = eval::run(&chat, &engine, "evaluator", &cases).await;
    assert_eq!(report.correct(), cases.len(), "{}", report.markdown());
    assert_eq!(server.seen().len(), cases.len());
    assert_eq!(report.outcomes[0].input_tokens, 300);

    // An off-by-one count, a query that does not run (twice, so the correction fails too) and a total
    // without its grouping are scored wrong; the rest stay right.
    let mut script: Vec<Answer> = cases.iter().map(|c| answer(c.reference_sql)).collect();
    script[0] = answer("SELECT count(*) - 1 AS n FROM cursor_usage");
    script[1] = answer("SELECT nosuch FROM cursor_usage");
    script.insert(2, answer("SELECT nosuch FROM cursor_usage"));
    // Case 7 (total requests per team), one place later for the inserted correction round.
    script[8] = answer(
        "SELECT sum(chat_requests + composer_requests + agent_requests) AS n FROM cursor_usage",
    );
    let server = Server::start(script).await;
    let chat = chat_with(&storage, &server).await;
    let report = eval::run(&chat, &engine, "evaluator", &cases).await;
    assert_eq!(report.correct(), cases.len() - 3, "{}", report.markdown());
    assert!(!report.outcomes[0].correct && report.outcomes[0].error.is_none());
    assert!(
        report.outcomes[1]
            .error
            .as_deref()
            .unwrap()
            .contains("nosuch")
    );
    assert!(!report.outcomes[7].correct);
    assert_eq!(report.ran(), cases.len() - 1);
    let md = report.markdown();
    assert!(
        md.contains(&format!("**{} of {} correct", cases.len() - 3, cases.len())),
        "{md}"
    );
}
