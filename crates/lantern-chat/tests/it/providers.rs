//! Each provider against the scripted server: streaming in its documented wire format, the request it sends
//! (auth, structured output), retries after 429 (with `Retry-After`) and 500, and the errors users read when
//! the provider keeps failing, blocks an answer, has no quota left or cannot be reached.

use std::time::Duration;

use lantern_chat::provider::{
    Finish, Gemini, GeminiAuth, OpenAi, Prompt, Provider, ProviderError, Reply, Role, Turn, Usage,
};
use serde_json::json;

use lantern_testkit::model_server::{Answer, Server};

const TIMEOUT: Duration = Duration::from_secs(10);

fn prompt() -> Prompt {
    Prompt {
        system: "You answer questions about the dataset apac_dot.".into(),
        turns: vec![
            Turn {
                role: Role::User,
                text: "How many order lines?".into(),
            },
            Turn {
                role: Role::Model,
                text: "20000".into(),
            },
            Turn {
                role: Role::User,
                text: "And in Japan?".into(),
            },
        ],
        schema: Some(json!({"type": "object", "properties": {"sql": {"type": "string"}}})),
        max_output_tokens: 512,
    }
}

/// The reply, and the pieces it streamed in.
async fn ask(provider: &Provider) -> (Result<Reply, ProviderError>, Vec<String>) {
    let mut pieces = Vec::new();
    let reply = provider
        .generate(&prompt(), &mut |t| pieces.push(t.to_string()))
        .await;
    (reply, pieces)
}

fn openai_chunk(text: &str) -> String {
    json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
        .to_string()
}

fn openai_stream(pieces: &[&str]) -> Answer {
    let mut data: Vec<String> = pieces.iter().map(|p| openai_chunk(p)).collect();
    data.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string());
    data.push(
        json!({"choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}})
            .to_string(),
    );
    data.push("[DONE]".into());
    Answer::events(&data)
}

fn openai(server: &Server) -> Provider {
    Provider::OpenAi(OpenAi::new(
        &server.base,
        "gemma-3-270m",
        Some("sk-test".into()),
        TIMEOUT,
    ))
}

#[tokio::test]
async fn openai_streams_the_reply_and_asks_for_the_schema() {
    let pieces = ["{\"sql\": ", "\"SELECT count(*) ", "FROM apac_dot\"}"];
    let server = Server::start(vec![openai_stream(&pieces)]).await;
    let (reply, streamed) = ask(&openai(&server)).await;
    let reply = reply.unwrap();
    assert_eq!(streamed, pieces, "each piece as it arrived");
    assert_eq!(reply.text, pieces.concat());
    assert_eq!(
        reply.usage,
        Usage {
            input_tokens: 321,
            output_tokens: 12
        }
    );
    assert_eq!(reply.finish, Finish::Stop);

    let seen = &server.seen()[0];
    assert_eq!(seen.path_and_query, "/v1/chat/completions");
    assert_eq!(seen.headers["authorization"], "Bearer sk-test");
    let body = &seen.body;
    assert_eq!(body["model"], "gemma-3-270m");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        prompt().schema.unwrap()
    );
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(body["messages"][3]["content"], "And in Japan?");
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_and_a_500_after_a_backoff() {
    let server = Server::start(vec![
        Answer::status(429, r#"{"error": {"message": "rate limited"}}"#)
            .with_header("retry-after", "1"),
        Answer::status(500, r#"{"error": {"message": "overloaded"}}"#),
        openai_stream(&["42"]),
    ])
    .await;
    let (reply, _) = ask(&openai(&server)).await;
    assert_eq!(reply.unwrap().text, "42");
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "the second attempt came {waited:?} after the 429 that said to wait 1 s"
    );
}

#[tokio::test]
async fn a_provider_that_keeps_failing_says_so_clearly() {
    // 500 on every attempt: three attempts, then the provider's own message.
    let server = Server::start(
        (0..3)
            .map(|_| Answer::status(500, r#"{"error": {"message": "backend exploded"}}"#))
            .collect(),
    )
    .await;
    let (reply, _) = ask(&openai(&server)).await;
    let e = reply.unwrap_err();
    assert!(
        matches!(e, ProviderError::Status { status: 500, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("backend exploded"), "{e}");
    assert_eq!(server.seen().len(), 3);

    // 429 on every attempt: busy, try later.
    let server = Server::start(
        (0..3)
            .map(|_| Answer::status(429, "{}").with_header("retry-after", "0"))
            .collect(),
    )
    .await;
    let e = ask(&openai(&server)).await.0.unwrap_err();
    assert!(
        matches!(e, ProviderError::RateLimited { attempts: 3 }),
        "{e}"
    );

    // No quota left: no retry, and the provider's words.
    let server = Server::start(vec![Answer::status(
        429,
        r#"{"error": {"message": "You exceeded your current quota", "type": "insufficient_quota"}}"#,
    )])
    .await;
    let e = ask(&openai(&server)).await.0.unwrap_err();
    assert!(matches!(e, ProviderError::Quota { .. }), "{e}");
    assert!(e.to_string().contains("exceeded your current quota"));
    assert_eq!(server.seen().len(), 1, "a used-up quota is not retried");

    // A key the provider refuses.
    let server = Server::start(vec![Answer::status(
        401,
        r#"{"error": {"message": "invalid api key"}}"#,
    )])
    .await;
    let e = ask(&openai(&server)).await.0.unwrap_err();
    assert!(matches!(e, ProviderError::Auth { status: 401, .. }), "{e}");

    // Nobody there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = Provider::OpenAi(OpenAi::new(&format!("http://{closed}"), "m", None, TIMEOUT));
    let e = ask(&nobody).await.0.unwrap_err();
    assert!(matches!(e, ProviderError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains(&closed.to_string()), "{e}");

    // A stream cut off before `[DONE]`.
    let server = Server::start(vec![Answer::events(&[openai_chunk("partial")])]).await;
    let e = ask(&openai(&server)).await.0.unwrap_err();
    assert!(e.to_string().contains("[DONE]"), "{e}");
}

fn gemini_part(text: &str) -> String {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]}).to_string()
}

fn gemini_last(text: &str, finish: &str) -> String {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish}],
        "usageMetadata": {"promptTokenCount": 210, "candidatesTokenCount": 9, "totalTokenCount": 219},
    })
    .to_string()
}

#[tokio::test]
async fn gemini_on_vertex_streams_whole_responses_without_done() {
    let server = Server::start(vec![Answer::events(&[
        gemini_part("{\"sql\": \"SELECT "),
        gemini_part("count(*) FROM apac_dot"),
        gemini_last("\"}", "STOP"),
    ])])
    .await;
    let provider = Provider::Gemini(Gemini::vertex(
        Some(&server.base),
        "lantern-test",
        "europe-west4",
        "gemini-2.5-flash",
        GeminiAuth::Bearer("ya29.token".into()),
        TIMEOUT,
    ));
    let (reply, streamed) = ask(&provider).await;
    let reply = reply.unwrap();
    assert_eq!(streamed.len(), 3);
    assert_eq!(reply.text, r#"{"sql": "SELECT count(*) FROM apac_dot"}"#);
    assert_eq!(
        reply.usage,
        Usage {
            input_tokens: 210,
            output_tokens: 9
        }
    );
    let seen = &server.seen()[0];
    assert_eq!(
        seen.path_and_query,
        "/v1/projects/lantern-test/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(seen.headers["authorization"], "Bearer ya29.token");
    let body = &seen.body;
    assert_eq!(
        body["systemInstruction"]["parts"][0]["text"],
        prompt().system
    );
    let roles: Vec<&str> = body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    // The schema in Gemini's OpenAPI subset: the same properties, their order stated, no
    // `additionalProperties` (which Vertex AI refuses).
    let mut want = prompt().schema.unwrap();
    want["propertyOrdering"] = json!(["sql"]);
    want.as_object_mut().unwrap().remove("additionalProperties");
    assert_eq!(body["generationConfig"]["responseSchema"], want);
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 512);
}

#[tokio::test]
async fn gemini_blocked_or_cut_off_answers_are_told_apart() {
    let server = Server::start(vec![
        Answer::events(&[gemini_part("Here is"), gemini_last("", "SAFETY")]),
        Answer::events(&[json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}).to_string()]),
        Answer::events(&[gemini_last("{\"sql\": \"SELECT", "MAX_TOKENS")]),
        Answer::status(
            429,
            r#"{"error": {"code": 429, "message": "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute", "status": "RESOURCE_EXHAUSTED"}}"#,
        ),
    ])
    .await;
    let provider = Provider::Gemini(Gemini::api_key(
        Some(&server.base),
        "gemini-2.5-flash",
        "AIza-test".into(),
        TIMEOUT,
    ));
    let e = ask(&provider).await.0.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Blocked { reason } if reason == "SAFETY"),
        "{e}"
    );
    let e = ask(&provider).await.0.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Blocked { reason } if reason == "PROHIBITED_CONTENT"),
        "{e}"
    );
    let reply = ask(&provider).await.0.unwrap();
    assert_eq!(reply.finish, Finish::MaxTokens);
    let e = ask(&provider).await.0.unwrap_err();
    assert!(matches!(e, ProviderError::Quota { .. }), "{e}");

    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!(
        seen[0].path_and_query,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(seen[0].headers["x-goog-api-key"], "AIza-test");
    assert!(!seen[0].headers.contains_key("authorization"));
}

/// A service-account key whose token endpoint is `token_uri`, with a fresh RSA key.
fn service_account_key(dir: &std::path::Path, token_uri: &str) -> std::path::PathBuf {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = json!({
        "type": "service_account",
        "project_id": "lantern-test",
        "private_key_id": "test-key",
        "private_key": String::from_utf8(out.stdout).unwrap(),
        "client_email": "lantern@lantern-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    });
    let path = dir.join("service-account.json");
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

/// Vertex AI with a service account: tokens come from the key's token endpoint, are reused while valid and
/// fetched again once they are about to expire.
#[tokio::test]
async fn vertex_tokens_come_from_the_service_account_and_are_refreshed() {
    let tokens = Server::start(vec![
        // gcp_auth counts a token as expired 20 s early: this one is good for about a second.
        Answer::status(
            200,
            r#"{"access_token": "ya29.first", "expires_in": 21, "token_type": "Bearer"}"#,
        ),
        Answer::status(
            200,
            r#"{"access_token": "ya29.second", "expires_in": 3600, "token_type": "Bearer"}"#,
        ),
    ])
    .await;
    let model = Server::start(
        (0..3)
            .map(|i| Answer::events(&[gemini_last(&format!("answer {i}"), "STOP")]))
            .collect(),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = service_account_key(dir, &format!("{}/token", tokens.base));
    let provider = Provider::Gemini(Gemini::vertex(
        Some(&model.base),
        "lantern-test",
        "europe-west4",
        "gemini-2.5-flash",
        GeminiAuth::service_account_file(&key).unwrap(),
        TIMEOUT,
    ));
    assert_eq!(ask(&provider).await.0.unwrap().text, "answer 0");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ask(&provider).await.0.unwrap().text, "answer 1");
    assert_eq!(ask(&provider).await.0.unwrap().text, "answer 2");
    let used: Vec<String> = model
        .seen()
        .iter()
        .map(|s| s.headers["authorization"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        used,
        [
            "Bearer ya29.first",
            "Bearer ya29.second",
            "Bearer ya29.second"
        ]
    );
    let fetched = tokens.seen();
    assert_eq!(fetched.len(), 2, "the second token is reused while valid");
    assert_eq!(fetched[0].path_and_query, "/token");

    // A key file that is not one names the file.
    std::fs::write(dir.join("broken.json"), "{}").unwrap();
    let Err(e) = GeminiAuth::service_account_file(&dir.join("broken.json")) else {
        panic!("a broken key file");
    };
    assert!(e.to_string().contains("broken.json"), "{e}");
}

/// Against a real endpoint, when one is configured: `LANTERN_TEST_CHAT_PROVIDER` (`openai`, `gemini` or
/// `vertex`), `LANTERN_TEST_CHAT_MODEL`, and what that provider needs (`LANTERN_TEST_CHAT_BASE_URL`,
/// `LANTERN_TEST_CHAT_API_KEY`, `LANTERN_TEST_CHAT_PROJECT`, `LANTERN_TEST_CHAT_LOCATION`,
/// `LANTERN_TEST_CHAT_CREDENTIALS`). Without them it says so and checks nothing: these machines reach no
/// model provider.
#[tokio::test]
async fn a_real_endpoint_answers_in_the_answer_schema_when_one_is_configured() {
    let var = |name: &str| std::env::var(format!("LANTERN_TEST_CHAT_{name}")).ok();
    let Some(provider) = var("PROVIDER") else {
        eprintln!(
            "skipped: set LANTERN_TEST_CHAT_PROVIDER, LANTERN_TEST_CHAT_MODEL and the provider's settings to test a real endpoint"
        );
        return;
    };
    let mut yaml = format!(
        "provider: {provider}\nmodel: {}\n",
        var("MODEL").expect("LANTERN_TEST_CHAT_MODEL")
    );
    for (key, name) in [
        ("base_url", "BASE_URL"),
        ("api_key", "API_KEY"),
        ("project", "PROJECT"),
        ("location", "LOCATION"),
        ("credentials", "CREDENTIALS"),
    ] {
        if let Some(v) = var(name) {
            yaml.push_str(&format!("{key}: {v:?}\n"));
        }
    }
    let config: lantern_core::config::ChatConfig = serde_yaml::from_str(&yaml).unwrap();
    config.validate().unwrap();
    let provider = Provider::from_config(&config).await.unwrap();
    let prompt = Prompt {
        system: lantern_chat::prompt::build(
            "orders",
            Some("country"),
            "Table `orders` (the only table), columns:\n- country (Utf8)\n- amount (Float64)\n",
            &[],
            0,
            "",
            None,
        )
        .system,
        turns: vec![Turn {
            role: Role::User,
            text: "Total amount per country".into(),
        }],
        schema: Some(lantern_chat::answer::schema()),
        max_output_tokens: 512,
    };
    let mut pieces = 0;
    let reply = provider
        .generate(&prompt, &mut |_| pieces += 1)
        .await
        .unwrap();
    let answer = lantern_chat::answer::parse(&reply.text).unwrap();
    assert!(
        answer.sql.to_lowercase().contains("orders"),
        "{}",
        answer.sql
    );
    assert!(pieces >= 1 && reply.usage.input_tokens > 0, "{reply:?}");
}
