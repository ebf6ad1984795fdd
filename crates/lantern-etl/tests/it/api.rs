//! The API and DOMO sources against an HTTP server started here on 127.0.0.1: paginated JSON behind every kind of
//! auth, a 429 with `Retry-After` and a 503 on the way, and DOMO's token and CSV export routes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lantern_etl::config::SourceConfig;
use lantern_etl::sources::api::Auth;
use serde_json::{Value, json};

use crate::support::{catalog_in, data_type, example, published, texts};

#[derive(Default)]
struct Server {
    /// Requests seen, by path and query.
    hits: Mutex<HashMap<String, u32>>,
}

type Shared = Arc<Server>;

impl Server {
    fn hit(&self, key: String) -> u32 {
        let mut h = self.hits.lock().unwrap();
        let n = h.entry(key).or_insert(0);
        *n += 1;
        *n
    }
    fn hits(&self, key: &str) -> u32 {
        self.hits.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

/// Order `i` (1-based): nested objects, a list, a date-time with offset, a code with a leading zero, a null.
fn order(i: u64) -> Value {
    json!({
        "id": i,
        "status": if i.is_multiple_of(2) { "open" } else { "shipped" },
        "amount": i as f64 * 10.25,
        "created_at": format!("2025-01-0{i}T10:00:00+09:00"),
        "customer": {"name": format!("Customer {i}"), "address": {"city": if i < 3 { "Tokyo" } else { "Seoul" }}},
        "tags": ["a", format!("t{i}")],
        "zip": format!("0{i}123"),
        "note": if i == 4 { Value::Null } else { Value::from("ok") },
    })
}

const ORDERS: u64 = 5;

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let (u, p) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "who are you?").into_response()
}

async fn oauth_token(headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if basic(&headers) != Some(("orders-client".into(), "orders-secret".into()))
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        return unauthorized();
    }
    axum::Json(json!({"access_token": "tok-1", "token_type": "bearer", "expires_in": 3600}))
        .into_response()
}

async fn domo_token(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if basic(&headers) != Some(("domo-id".into(), "domo-secret".into()))
        || q.get("grant_type").map(String::as_str) != Some("client_credentials")
        || q.get("scope").map(String::as_str) != Some("data")
    {
        return unauthorized();
    }
    axum::Json(json!({"access_token": "domo-tok", "token_type": "bearer", "expires_in": 3599}))
        .into_response()
}

async fn paged_orders(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if bearer(&headers) != Some("tok-1") {
        return unauthorized();
    }
    let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per: u64 = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(2);
    let n = s.hit(format!("orders?page={page}"));
    if page == 2 && n == 1 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response();
    }
    if page == 3 && n == 1 {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    let items: Vec<Value> = ((page - 1) * per + 1..=(page * per).min(ORDERS))
        .map(order)
        .collect();
    axum::Json(json!({"data": {"items": items}, "page": page})).into_response()
}

async fn offset_orders(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("key").map(String::as_str) != Some("k1") {
        return unauthorized();
    }
    let offset: u64 = q["offset"].parse().unwrap();
    let limit: u64 = q["limit"].parse().unwrap();
    let items: Vec<Value> = (offset + 1..=(offset + limit).min(ORDERS))
        .map(order)
        .collect();
    axum::Json(json!(items)).into_response()
}

async fn cursor_orders(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some("k1") {
        return unauthorized();
    }
    let start: u64 = q
        .get("cursor")
        .map(|c| c.trim_start_matches('c').parse().unwrap())
        .unwrap_or(1);
    let end = (start + 1).min(ORDERS);
    let next = if end < ORDERS {
        Value::from(format!("c{}", end + 1))
    } else {
        Value::Null
    };
    axum::Json(json!({"results": (start..=end).map(order).collect::<Vec<_>>(), "meta": {"next_cursor": next}}))
        .into_response()
}

async fn link_orders(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if basic(&headers) != Some(("ana".into(), "pw".into())) {
        return unauthorized();
    }
    let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let items: Vec<Value> = ((page - 1) * 3 + 1..=(page * 3).min(ORDERS))
        .map(order)
        .collect();
    let mut r = axum::Json(json!(items)).into_response();
    if page * 3 < ORDERS {
        let link = format!(
            "</v1/link?page={}>; rel=\"next\", </v1/link?page=2>; rel=\"last\"",
            page + 1
        );
        r.headers_mut().insert(header::LINK, link.parse().unwrap());
    }
    r
}

async fn search_orders(headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/json")
        || body["status"] != "open"
    {
        return (StatusCode::BAD_REQUEST, "send {\"status\": \"open\"}").into_response();
    }
    let items: Vec<Value> = (1..=ORDERS).filter(|i| i % 2 == 0).map(order).collect();
    axum::Json(json!({"hits": items})).into_response()
}

/// DOMO's export: APAC order lines as CSV with DOMO's column names, including rows the exclude filter drops.
async fn domo_export(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if bearer(&headers) != Some("domo-tok") {
        return unauthorized();
    }
    s.hit(format!("export {id}"));
    if id == "big" {
        // 25,000 rows whose `amount` is whole until the last ten: the type from the sample breaks.
        let mut csv = String::from("id,amount\n");
        for i in 0..25_000u64 {
            let amount = if i >= 24_990 {
                format!("{i}.5")
            } else {
                i.to_string()
            };
            csv.push_str(&format!("{i},{amount}\n"));
        }
        return ([(header::CONTENT_TYPE, "text/csv")], csv).into_response();
    }
    if id != "3f6c1b9e-4d1a-4c52-9a43-2b7f0f1c8d11"
        || q.get("includeHeader").map(String::as_str) != Some("true")
    {
        return (StatusCode::NOT_FOUND, "no such dataset").into_response();
    }
    let mut csv = String::from(
        "Order Line ID,Country,Sub Region,Due Date,Delivered Date,Status,On Time,Amount\n",
    );
    let countries = ["Japan", "Korea", "Australia"];
    let statuses = ["Delivered", "Open", "Cancelled", "Test"];
    for i in 0..40 {
        csv.push_str(&format!(
            "L{i:04},{},\"North, East\",2025-03-{:02},{},{},{},{}.50\n",
            countries[i % 3],
            i % 28 + 1,
            if i % 4 == 1 {
                String::new()
            } else {
                format!("2025-03-{:02}", i % 28 + 1)
            },
            statuses[i % 4],
            if i % 5 == 0 { "false" } else { "true" },
            100 + i,
        ));
    }
    ([(header::CONTENT_TYPE, "text/csv")], csv).into_response()
}

async fn start() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/oauth/token", post(oauth_token).get(domo_token))
        .route("/v1/orders", get(paged_orders))
        .route("/v1/offset", get(offset_orders))
        .route("/v1/cursor", get(cursor_orders))
        .route("/v1/link", get(link_orders))
        .route("/v1/search", post(search_orders))
        .route("/v1/datasets/{id}/data", get(domo_export))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn api_config(base: &str, yaml: &str) -> lantern_etl::EtlConfig {
    let indented: String = yaml.lines().map(|l| format!("  {l}\n")).collect();
    let text = format!("id: t\nsource:\n  kind: api\n  base_url: {base}\n{indented}");
    lantern_etl::EtlConfig::parse(std::path::Path::new("t.yaml"), &text)
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_api_example_loads_every_page_through_oauth2_retries_and_backoff() {
    let (base, server) = start().await;
    let mut config = example("api_orders");
    let SourceConfig::Api(api) = &mut config.source else {
        panic!("api example")
    };
    api.base_url = base.clone();
    api.pagination =
        serde_yaml::from_str("{type: page, param: page, start: 1, size_param: per_page, size: 2}")
            .unwrap();
    api.retry.initial_backoff_ms = 20;
    let Some(Auth::Oauth2 {
        token_url,
        client_id,
        client_secret,
        ..
    }) = &mut api.auth
    else {
        panic!("oauth2 example")
    };
    *token_url = format!("{base}/oauth/token");
    *client_id = "orders-client".into();
    *client_secret = "orders-secret".into();

    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!((summary.rows, summary.input_files), (5, 3), "{summary:?}");
    // The 429 (Retry-After: 1) and the 503 were each retried once.
    assert_eq!(
        (server.hits("orders?page=2"), server.hits("orders?page=3")),
        (2, 2)
    );

    let (_, batch) = published(&catalog, "api_orders").await;
    assert_eq!(texts(&batch, "id"), ["1", "2", "3", "4", "5"]);
    assert_eq!(data_type(&batch, "id"), "Int64");
    assert_eq!(data_type(&batch, "amount"), "Float64");
    assert_eq!(texts(&batch, "amount")[1], "20.5");
    assert_eq!(data_type(&batch, "created_at"), "Timestamp(µs, \"UTC\")");
    assert_eq!(
        texts(&batch, "created_at")[0],
        "2025-01-01T01:00:00Z",
        "+09:00 stored in UTC"
    );
    assert_eq!(texts(&batch, "customer.name")[2], "Customer 3");
    assert_eq!(
        texts(&batch, "customer.address.city"),
        ["Tokyo", "Tokyo", "Seoul", "Seoul", "Seoul"]
    );
    assert_eq!(texts(&batch, "tags")[0], r#"["a","t1"]"#);
    assert_eq!(
        (
            data_type(&batch, "zip").as_str(),
            texts(&batch, "zip")[0].as_str()
        ),
        ("Utf8", "01123")
    );
    assert_eq!(texts(&batch, "note")[3], "null");
}

#[tokio::test]
async fn offset_cursor_link_and_post_pagination_with_each_auth() {
    let (base, _server) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let cases = [
        (
            "path: /v1/offset\nauth: {type: api_key, name: key, value: k1, in: query}\npagination: {type: offset, limit: 2}\n",
            5,
        ),
        (
            "path: /v1/cursor\nauth: {type: api_key, name: X-Api-Key, value: k1}\nrecords: $.results\npagination: {type: cursor, cursor_path: $.meta.next_cursor}\n",
            5,
        ),
        (
            "path: /v1/link\nauth: {type: basic, username: ana, password: pw}\npagination: {type: link}\n",
            5,
        ),
        (
            "path: /v1/search\nmethod: POST\nbody: {status: open}\nrecords: hits\n",
            2,
        ),
    ];
    for (yaml, rows) in cases {
        let config = api_config(&base, yaml);
        let summary = lantern_etl::run(&config, &catalog, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(summary.rows, rows, "{yaml}");
        let (_, batch) = published(&catalog, "t").await;
        let ids = texts(&batch, "id");
        let expected: Vec<String> = if rows == 5 {
            (1..=5).map(|i| i.to_string()).collect()
        } else {
            vec!["2".into(), "4".into()]
        };
        assert_eq!(ids, expected, "{yaml}: every page once, in order");
    }
}

#[tokio::test]
async fn a_restart_after_a_broken_sample_type_reads_the_staged_export_again() {
    let (base, server) = start().await;
    let yaml = format!(
        "id: big\nsource: {{kind: domo, base_url: '{base}', client_id: domo-id, client_secret: domo-secret, dataset_id: big}}\n"
    );
    let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &yaml)
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let events = std::sync::Mutex::new(Vec::new());
    let summary = lantern_etl::run(&config, &catalog, &|p| events.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!((summary.version, summary.rows), (1, 25_000));
    assert_eq!(server.hits("export big"), 1, "downloaded once, read twice");
    // What the CLI's progress bar is told: the input's size, rows, a restart, then every row again.
    let events = events.into_inner().unwrap();
    assert!(
        matches!(events[0], lantern_etl::Progress::Input { files: 1, bytes } if bytes > 200_000),
        "{:?}",
        events[0]
    );
    let restart = events
        .iter()
        .position(|e| *e == lantern_etl::Progress::Restart)
        .expect("a restart");
    let rows_after: u64 = events[restart..]
        .iter()
        .map(|e| match e {
            lantern_etl::Progress::Rows(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(rows_after, 25_000);
    let (_, batch) = published(&catalog, "big").await;
    assert_eq!(
        data_type(&batch, "amount"),
        "Float64",
        "widened by the second, full-inference pass"
    );
    assert_eq!(texts(&batch, "amount")[24_999], "24999.5");
}

#[tokio::test]
async fn api_failures_name_the_request_and_the_option() {
    let (base, _server) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let run = |yaml: &'static str| {
        let config = api_config(&base, yaml);
        let catalog = catalog.clone();
        async move {
            lantern_etl::run(&config, &catalog, &|_| {})
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let err =
        run("path: /v1/offset\nauth: {type: api_key, name: key, value: wrong, in: query}\n").await;
    assert!(err.contains("/v1/offset") && err.contains("401"), "{err}");
    let err = run(
        "path: /v1/cursor\nauth: {type: api_key, name: X-Api-Key, value: k1}\nrecords: $.items\n",
    )
    .await;
    assert!(
        err.contains("$.items") && err.contains("source.records"),
        "{err}"
    );
    let err =
        run("path: /v1/orders\nauth: {type: bearer, token: \"${LANTERN_TEST_UNSET_TOKEN}\"}\n")
            .await;
    assert!(
        err.contains("source.auth.token") && err.contains("LANTERN_TEST_UNSET_TOKEN"),
        "{err}"
    );
    let err = run("path: /v1/link\nauth: {type: basic, username: ana, password: pw}\npagination: {type: link}\nmax_pages: 1\n").await;
    assert!(err.contains("max_pages"), "{err}");
    assert!(
        catalog.current("t").await.unwrap().is_none(),
        "nothing published"
    );
}

#[tokio::test]
async fn the_domo_example_exports_csv_drops_excluded_rows_and_partitions() {
    let (base, _server) = start().await;
    let mut config = example("domo_apac_dot");
    let SourceConfig::Domo(domo) = &mut config.source else {
        panic!("domo example")
    };
    domo.base_url = base;
    domo.client_id = "domo-id".into();
    domo.client_secret = "domo-secret".into();
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    // 40 lines, every 4th Cancelled and every 4th Test: 20 kept.
    assert_eq!(summary.rows, 20, "{summary:?}");
    assert_eq!(summary.partitions, ["country"]);
    let (manifest, batch) = published(&catalog, "domo_apac_dot").await;
    assert!(
        manifest.files.iter().all(|f| f.path.contains("/country=")),
        "{:?}",
        manifest.files
    );
    let statuses = texts(&batch, "status");
    assert!(
        statuses.iter().all(|s| s == "Delivered" || s == "Open"),
        "{statuses:?}"
    );
    assert_eq!(data_type(&batch, "due_date"), "Date32");
    assert_eq!(data_type(&batch, "on_time"), "Boolean");
    assert_eq!(data_type(&batch, "amount"), "Float64");
    assert!(
        texts(&batch, "sub_region")
            .iter()
            .all(|s| s == "North, East")
    );
    // Open lines have no delivery date: null, and the column is still a date.
    assert_eq!(data_type(&batch, "delivered_date"), "Date32");
    assert_eq!(
        texts(&batch, "delivered_date")
            .iter()
            .filter(|s| *s == "null")
            .count(),
        10
    );
}

#[test]
fn the_domo_list_file_is_read_in_the_seed_shape() {
    let config = example("domo_apac_dot");
    let SourceConfig::Domo(domo) = &config.source else {
        panic!()
    };
    assert_eq!(domo.dataset_id, "3f6c1b9e-4d1a-4c52-9a43-2b7f0f1c8d11");
    assert_eq!(config.load.partition_by, ["country"]);
    assert_eq!(config.schedule.as_ref().unwrap().expr, "0 6 * * *");
    let err = lantern_etl::EtlConfig::parse_domo_list(
        std::path::Path::new("domo_datasets.yaml"),
        "domo: {client_id: a, client_secret: b}\ndatasets:\n  - dataset_id: x\n    name: Bad Name\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("domo_datasets.yaml:4") && err.contains("datasets[0].name"),
        "{err}"
    );
}

#[test]
fn every_source_kind_has_an_example() {
    let configs =
        lantern_etl::EtlConfig::load_dir(&crate::support::repo_root().join("examples/datasets"))
            .unwrap();
    let kinds: std::collections::BTreeSet<&str> = configs
        .iter()
        .map(|c| match &c.source {
            SourceConfig::Csv(_) => "csv",
            SourceConfig::Api(_) => "api",
            SourceConfig::S3(_) => "s3",
            SourceConfig::Sql(s) if s.url.contains("PG") => "postgres",
            SourceConfig::Sql(_) => "mysql",
            SourceConfig::Domo(_) => "domo",
        })
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["api", "csv", "domo", "mysql", "postgres", "s3"]
    );
}
