//! Bad input gets a clear error naming what was wrong, and the server keeps serving.

use object_store::path::Path as ObjectPath;

use crate::support::TestApp;

#[tokio::test]
async fn malformed_filters_answer_400_naming_the_field() {
    let app = TestApp::start().await;
    app.login().await;
    let cases = [
        ("region=APAC", "region"),
        ("date=2025-02-30..2025-03-01", "date"),
        ("date=last-week", "date"),
        ("date=2025-05-01..2025-01-01", "date"),
        ("team=Web&team.from=A", "team"),
    ];
    for (q, field) in cases {
        let (status, body) = app
            .get_json(&format!("/api/dashboards/cursor-usage/data?{q}"))
            .await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["error"]["code"], "bad_filter", "{q}");
        assert_eq!(body["error"]["field"], field, "{q}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // The page answers 400 too, with the message on the page.
    let res = app
        .client
        .get(app.url("/d/cursor-usage?date=last-week"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Filter &#96;date&#96;") || html.contains("Filter `date`"),
        "{html}"
    );
    assert!(html.contains("is not a range"), "{html}");
}

#[tokio::test]
async fn unknown_dashboards_answer_404() {
    let app = TestApp::start().await;
    app.login().await;
    let (status, body) = app.get_json("/api/dashboards/nope/data").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let res = app.client.get(app.url("/d/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("dashboard `nope` not found")
    );
    assert_eq!(
        app.client
            .get(app.url("/no/such/page"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_corrupt_parquet_file_fails_its_dashboard_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("data").display().to_string();
    let config = crate::support::base_config(&url);
    let storage = lantern_core::storage::Storage::open(&config.storage).unwrap();
    crate::support::publish_demo(&storage).await;
    // Damage the published file of one dataset.
    let file = ObjectPath::from("datasets/apac_dot/v1/part-00000.parquet");
    let bytes = storage.get_bytes(&file).await.unwrap();
    let mut broken = bytes.to_vec();
    let mid = broken.len() / 2;
    broken.truncate(mid);
    storage.put_bytes(&file, broken.into()).await.unwrap();

    let app = TestApp::start_with(config, storage, Some(dir)).await;
    app.login().await;
    let res = app
        .client
        .get(app.url("/api/dashboards/apac-dot/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "dataset_unreadable");
    // The reader learns which dataset and the reference to the log; the storage path stays in the log.
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("dataset `apac_dot` cannot be read")
            && message.contains(&format!("reference {request_id}"))
            && !message.contains("part-00000"),
        "{message}"
    );
    assert_eq!(body["error"]["request_id"], request_id.as_str());

    let page = app.client.get(app.url("/d/apac-dot")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Data unavailable") && html.contains("class=\"sidebar\""),
        "{html}"
    );

    // The other dashboard is unaffected.
    let (status, body) = app
        .get_json("/api/dashboards/cursor-usage/data?team=Web")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["kpis"][0]["value"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_dashboard_naming_an_unknown_measure_stops_the_start_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let dashboards = dir.path().join("dashboards");
    std::fs::create_dir_all(&dashboards).unwrap();
    std::fs::write(
        dashboards.join("broken.yaml"),
        "id: broken\ntitle: Broken\ndataset: cursor_usage\nkpis:\n  - active_users\n  - revenue\n",
    )
    .unwrap();
    let mut config = crate::support::base_config(&dir.path().join("data").display().to_string());
    config.dashboards_dir = dashboards.clone();
    let err = crate::support::start_error(config, false).await;
    let file = dashboards.join("broken.yaml").display().to_string();
    assert!(err.starts_with(&format!("{file}:6: `kpis[1]`")), "{err}");
    assert!(err.contains("unknown measure `revenue`"), "{err}");
}

#[tokio::test]
async fn a_dataset_without_data_says_how_to_load_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::base_config(&dir.path().join("data").display().to_string());
    let storage = lantern_core::storage::Storage::open(&config.storage).unwrap();
    let app = TestApp::start_with(config, storage, Some(dir)).await;
    app.login().await;
    let (status, body) = app.get_json("/api/dashboards/cursor-usage/data").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_data");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lantern etl run cursor_usage")
    );
    let page = app
        .client
        .get(app.url("/d/cursor-usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("No data yet"));
    // Home still lists the dashboard, without data.
    let home = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("no data yet"), "{home}");
}

#[tokio::test]
async fn an_unreadable_manifest_is_a_503_with_the_request_id_and_other_dashboards_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("data").display().to_string();
    let config = crate::support::base_config(&url);
    let storage = lantern_core::storage::Storage::open(&config.storage).unwrap();
    crate::support::publish_demo(&storage).await;
    let app = TestApp::start_with(config, storage.clone(), Some(dir)).await;
    app.login().await;

    // The manifest pointer of one dataset is damaged after the start (a half-written file on a shared store).
    let current = ObjectPath::from("datasets/apac_dot/current.json");
    storage
        .put_bytes(
            &current,
            bytes::Bytes::from_static(b"{\"version\": 1, \"data"),
        )
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url("/api/dashboards/apac-dot/data"))
        .header("x-request-id", "proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()["x-request-id"],
        "proxy-42",
        "a proxy's id is kept"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    assert_eq!(body["error"]["request_id"], "proxy-42");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("reference proxy-42") && !message.contains("current.json"),
        "{message}"
    );

    let (status, body) = app.get_json("/api/dashboards/cursor-usage/data").await;
    assert_eq!(status, 200, "{body}");
}
