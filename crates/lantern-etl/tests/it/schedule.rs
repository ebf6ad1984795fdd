//! `lantern serve`'s schedule: datasets run on their cron expression, one run at a time each, and every outcome
//! (success or failure) is recorded for the `/datasets` page.

use std::time::Duration;

use crate::support::catalog_in;

#[tokio::test]
async fn scheduled_datasets_run_on_time_and_record_their_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "day,visits\n2025-01-01,3\n2025-01-02,4\n").unwrap();
    let good = format!(
        "id: visits\nschedule: \"* * * * * *\"\nsource: {{kind: csv, path: {}}}\n",
        csv.display()
    );
    let bad = "id: broken\nschedule: \"* * * * * *\"\nsource: {kind: csv, path: /nonexistent/lantern/*.csv}\n";
    let unscheduled = format!(
        "id: manual\nsource: {{kind: csv, path: {}}}\n",
        csv.display()
    );
    let configs: Vec<lantern_etl::EtlConfig> = [good.as_str(), bad, unscheduled.as_str()]
        .iter()
        .map(|t| {
            lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), t)
                .unwrap()
                .unwrap()
        })
        .collect();
    let catalog = catalog_in(dir.path());
    let handles = lantern_etl::schedule::spawn_all(configs, catalog.clone());
    assert_eq!(handles.len(), 2, "only datasets with a schedule");

    // Every second: wait (bounded) until both have run twice, so that a repeat run is seen too.
    let mut waited = 0;
    loop {
        let v = catalog
            .current("visits")
            .await
            .unwrap()
            .map(|m| m.version)
            .unwrap_or(0);
        let broken = catalog.last_run("broken").await.unwrap();
        if v >= 2 && broken.is_some() {
            break;
        }
        assert!(
            waited < 100,
            "the schedule did not run within 10 s (visits at v{v})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    for h in &handles {
        h.abort();
    }
    let ok = catalog.last_run("visits").await.unwrap().unwrap();
    assert!(
        ok.ok && ok.trigger == "schedule" && ok.version >= Some(1),
        "{ok:?}"
    );
    assert_eq!(ok.schedule.as_deref(), Some("* * * * * *"));
    assert!(ok.next_run.unwrap() > ok.finished_at);
    let failed = catalog.last_run("broken").await.unwrap().unwrap();
    assert!(!failed.ok && failed.version.is_none(), "{failed:?}");
    assert!(failed.error.unwrap().contains("/nonexistent/lantern/*.csv"));
    assert!(
        catalog.last_run("manual").await.unwrap().is_none(),
        "not scheduled, never run"
    );
}

#[test]
fn a_bad_cron_expression_names_the_field_and_line() {
    let err = lantern_etl::EtlConfig::parse(
        std::path::Path::new("datasets/x.yaml"),
        "id: x\nsource: {kind: csv, path: a.csv}\nschedule: \"every day\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("datasets/x.yaml:3: `schedule`") && err.contains("every day"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dataset_being_loaded_is_not_loaded_twice() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "day,visits\n2025-01-01,3\n").unwrap();
    let text = format!(
        "id: visits\nschedule: \"0 0 1 1 *\"\nsource: {{kind: csv, path: {}}}\n",
        csv.display()
    );
    let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &text)
        .unwrap()
        .unwrap();
    let catalog = catalog_in(dir.path());
    // Another run (here: this test) holds the dataset's lease.
    let lease = catalog.acquire_lease("visits").await.unwrap();
    let err = lantern_etl::run_recorded(&config, &catalog, &|_| {}, lantern_etl::Trigger::Cli)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`visits` is being loaded by another run") && err.contains("pid"),
        "{err}"
    );
    assert!(
        !catalog.last_run("visits").await.unwrap().unwrap().ok,
        "a CLI run records the refusal"
    );
    // A scheduled run steps aside without recording anything over the holder's outcome.
    std::fs::remove_file(dir.path().join("store/datasets/visits/last_run.json")).unwrap();
    assert!(
        lantern_etl::run_recorded(&config, &catalog, &|_| {}, lantern_etl::Trigger::Schedule)
            .await
            .is_err()
    );
    assert!(catalog.last_run("visits").await.unwrap().is_none());
    lease.release().await;
    let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!(summary.rows, 1);
    assert!(
        !dir.path()
            .join("store/datasets/visits/_lease.json")
            .exists(),
        "released after the run"
    );
}
