//! `lantern demo --csv` writes Cursor's admin usage export; the shipped `datasets/cursor_usage.yaml` maps it back
//! onto the dashboard's columns. Checked against the demo rows it was written from.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use lantern_etl::config::SourceConfig;
use lantern_etl::transforms::TransformConfig;

use crate::support::{catalog_in, published, repo_root};

#[tokio::test]
async fn the_shipped_cursor_usage_mapping_recovers_the_dashboard_columns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("data/cursor_usage.csv");
    let rows = 3_000;
    lantern_core::demo::write_csv("cursor_usage", rows, &csv, &|_| {}).unwrap();
    let header = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        header.lines().next().unwrap(),
        lantern_core::demo::CURSOR_EXPORT_HEADER.join(","),
        "the export's header, verbatim"
    );

    let path = repo_root().join("datasets/cursor_usage.yaml");
    let mut config = lantern_etl::EtlConfig::parse(&path, &std::fs::read_to_string(&path).unwrap())
        .unwrap()
        .unwrap();
    let SourceConfig::Csv(source) = &mut config.source else {
        panic!("a CSV source")
    };
    source.path = csv.display().to_string();
    for t in &mut config.transforms {
        if let TransformConfig::Lookup(l) = t {
            l.path = dir
                .path()
                .join("data/cursor_teams.csv")
                .display()
                .to_string();
        }
    }
    let catalog = catalog_in(dir.path());
    lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    let (_, loaded) = published(&catalog, "cursor_usage").await;

    let (schema, demo) = lantern_core::demo::batches("cursor_usage", rows).unwrap();
    let demo = concat_batches(&schema, &demo.collect::<Vec<_>>()).unwrap();
    assert_eq!(loaded.num_rows(), demo.num_rows());
    let col = |b: &datafusion::arrow::record_batch::RecordBatch, n: &str| {
        b.column(b.schema().index_of(n).unwrap()).clone()
    };
    for name in [
        "chat_requests",
        "composer_requests",
        "agent_requests",
        "tabs_shown",
        "tabs_accepted",
        "lines_added",
        "lines_accepted",
    ] {
        assert_eq!(
            col(&loaded, name).as_primitive::<Int64Type>().values(),
            col(&demo, name).as_primitive::<Int64Type>().values(),
            "{name}"
        );
    }
    assert_eq!(
        col(&loaded, "date").as_primitive::<Date32Type>().values(),
        col(&demo, "date").as_primitive::<Date32Type>().values()
    );
    for name in ["user_email", "team", "most_used_model", "client_version"] {
        let (a, b) = (col(&loaded, name), col(&demo, name));
        let (a, b) = (a.as_string::<i32>(), b.as_string::<i32>());
        assert!(a.iter().zip(b.iter()).all(|(x, y)| x == y), "{name}");
    }
    assert_eq!(
        col(&loaded, "is_active").as_boolean(),
        col(&demo, "is_active").as_boolean()
    );
    // Cost comes back through `Usage Based Reqs` × $0.04: within half a request of the demo's.
    let (a, b) = (col(&loaded, "cost_usd"), col(&demo, "cost_usd"));
    let worst = a
        .as_primitive::<Float64Type>()
        .values()
        .iter()
        .zip(b.as_primitive::<Float64Type>().values())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 0.02 + 1e-9, "largest cost difference {worst}");
}

#[tokio::test]
async fn lookup_errors_name_the_transform_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "email,n\na@x,1\nb@x,2\nc@x,3\n").unwrap();
    std::fs::write(dir.path().join("teams.csv"), "Email,Team\na@x,Web\nb@x,\n").unwrap();
    std::fs::write(
        dir.path().join("dupes.csv"),
        "Email,Team\na@x,Web\na@x,ML\n",
    )
    .unwrap();
    let catalog = catalog_in(dir.path());
    let run = |lookup: String| {
        let d = dir.path().display().to_string();
        let catalog = catalog.clone();
        async move {
            let yaml = format!(
                "id: t\nsource: {{kind: csv, path: {d}/in.csv}}\ntransforms:\n  - lookup: {lookup}\n"
            );
            let config = lantern_etl::EtlConfig::parse(std::path::Path::new("t.yaml"), &yaml)
                .unwrap()
                .unwrap();
            lantern_etl::run(&config, &catalog, &|_| {}).await
        }
    };
    let d = dir.path().display();
    run(format!(
        "{{path: {d}/teams.csv, key: email, columns: [team]}}"
    ))
    .await
    .unwrap();
    let (_, batch) = published(&catalog, "t").await;
    assert_eq!(
        crate::support::texts(&batch, "team"),
        ["Web", "null", "null"],
        "blank and missing keys are null"
    );
    let err = run(format!(
        "{{path: {d}/teams.csv, key: email, columns: [region]}}"
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("transforms[0].columns")
            && err.contains("region")
            && err.contains("email, team"),
        "{err}"
    );
    let err = run(format!(
        "{{path: {d}/dupes.csv, key: email, columns: [team]}}"
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("dupes.csv: row 3") && err.contains("a@x"),
        "{err}"
    );
    let err = run(format!(
        "{{path: {d}/nope.csv, key: email, columns: [team]}}"
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("transforms[0].path") && err.contains("nope.csv"),
        "{err}"
    );
}
