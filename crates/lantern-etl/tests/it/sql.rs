//! The SQL source against the machine's PostgreSQL and MariaDB (started by `scripts/services.sh`): the shipped
//! examples, every mapped type checked in the Parquet, and incremental loads by watermark.

use lantern_etl::config::SourceConfig;
use sqlx::{Connection, Executor};

use crate::support::{catalog_in, data_type, example, published, texts};

fn url_of(config: &lantern_etl::EtlConfig) -> String {
    let SourceConfig::Sql(sql) = &config.source else {
        panic!("a sql example")
    };
    lantern_etl::sources::http::expand_env(&sql.url, "source.url").unwrap()
}

#[tokio::test]
async fn postgres_types_and_incremental_watermark() {
    let config = example("postgres_orders");
    let mut db = sqlx::PgConnection::connect(&url_of(&config))
        .await
        .expect("PostgreSQL on 127.0.0.1 (scripts/services.sh starts it)");
    db.execute(
        "DROP TABLE IF EXISTS example_orders;
         CREATE TABLE example_orders (
           id bigint PRIMARY KEY, status text, amount numeric(12,2), qty int, small smallint, ratio real,
           price double precision, is_paid bool, order_date date, created_local timestamp,
           updated_at timestamptz NOT NULL, attrs jsonb, tags text[], code varchar(10), uid uuid);
         INSERT INTO example_orders VALUES
           (1, 'open', 12.34, 3, 7, 0.5, 1.25, true, '2025-03-01', '2025-03-01 08:30:00',
            '2025-03-01 10:00:00+09', '{\"k\": [1, 2]}', '{a,b}', '007', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
           (2, 'shipped', -0.05, NULL, NULL, NULL, NULL, false, NULL, NULL,
            '2025-03-02 00:00:00.123456+00', NULL, '{}', NULL, NULL),
           (3, 'ñandú 日本', 99999999.99, -2147483648, -32768, 3.5, -1e300, NULL, '1999-12-31', '1970-01-01 00:00:00',
            '2025-03-02 00:00:00.123457+00', '[]', '{\"x y\"}', 'A', NULL);",
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let first = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!((first.version, first.rows, first.new_rows), (1, 3, 3));
    let (manifest, batch) = published(&catalog, "postgres_orders").await;
    let expect_types = [
        ("id", "Int64"),
        ("status", "Utf8"),
        ("amount", "Decimal128(38, 2)"),
        ("qty", "Int64"),
        ("small", "Int64"),
        ("ratio", "Float64"),
        ("price", "Float64"),
        ("is_paid", "Boolean"),
        ("order_date", "Date32"),
        ("created_local", "Timestamp(µs)"),
        ("updated_at", "Timestamp(µs, \"UTC\")"),
        ("attrs", "Utf8"),
        ("tags", "Utf8"),
        ("code", "Utf8"),
        ("uid", "Utf8"),
    ];
    for (name, ty) in expect_types {
        assert_eq!(data_type(&batch, name), ty, "{name}");
    }
    assert_eq!(texts(&batch, "amount"), ["12.34", "-0.05", "99999999.99"]);
    assert_eq!(texts(&batch, "qty"), ["3", "null", "-2147483648"]);
    assert_eq!(texts(&batch, "small"), ["7", "null", "-32768"]);
    assert_eq!(texts(&batch, "price"), ["1.25", "null", "-1e300"]);
    assert_eq!(texts(&batch, "is_paid"), ["true", "false", "null"]);
    assert_eq!(
        texts(&batch, "order_date"),
        ["2025-03-01", "null", "1999-12-31"]
    );
    assert_eq!(
        texts(&batch, "created_local"),
        ["2025-03-01T08:30:00", "null", "1970-01-01T00:00:00"]
    );
    assert_eq!(texts(&batch, "updated_at")[0], "2025-03-01T01:00:00Z");
    assert_eq!(texts(&batch, "attrs"), ["{\"k\": [1, 2]}", "null", "[]"]);
    assert_eq!(texts(&batch, "tags"), ["{a,b}", "{}", "{\"x y\"}"]);
    assert_eq!(texts(&batch, "status")[2], "ñandú 日本");
    assert_eq!(texts(&batch, "code")[0], "007");
    assert_eq!(
        texts(&batch, "uid")[0],
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(
        manifest
            .source_state
            .get("sql_watermark")
            .map(String::as_str),
        Some("2025-03-02 00:00:00.123457+00:00"),
        "the largest updated_at, to the microsecond"
    );

    // Two newer rows and one that is not newer than the watermark.
    db.execute(
        "INSERT INTO example_orders (id, status, amount, updated_at) VALUES
           (4, 'open', 1, '2025-03-02 00:00:00.123458+00'), (5, 'open', 2, '2025-04-01 00:00:00+00'),
           (6, 'late', 3, '2025-03-01 00:00:00+00');",
    )
    .await
    .unwrap();
    let second = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!(
        (second.version, second.rows, second.new_rows),
        (2, 5, 2),
        "{second:?}"
    );
    let (manifest, batch) = published(&catalog, "postgres_orders").await;
    let mut ids = texts(&batch, "id");
    ids.sort();
    assert_eq!(
        ids,
        ["1", "2", "3", "4", "5"],
        "appended to version 1's rows"
    );
    assert_eq!(
        manifest
            .source_state
            .get("sql_watermark")
            .map(String::as_str),
        Some("2025-04-01 00:00:00.000000+00:00")
    );
    let third = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert!(third.unchanged && third.version == 2, "{third:?}");
}

#[tokio::test]
async fn mariadb_types_and_incremental_watermark() {
    let config = example("mysql_orders");
    let mut db = sqlx::MySqlConnection::connect(&url_of(&config))
        .await
        .expect("MariaDB on 127.0.0.1 (scripts/services.sh starts it)");
    for statement in [
        "DROP TABLE IF EXISTS example_orders",
        "CREATE TABLE example_orders (
           id BIGINT PRIMARY KEY, status VARCHAR(20), amount DECIMAL(12,2), qty INT, big BIGINT UNSIGNED,
           ratio FLOAT, price DOUBLE, is_paid BOOLEAN, order_date DATE, created_local DATETIME(6),
           updated_at TIMESTAMP(6) NOT NULL, attrs JSON, kind ENUM('a','b'))",
        "INSERT INTO example_orders VALUES
           (1, 'open', 12.34, 3, 18446744073709551, 0.5, 1.25, TRUE, '2025-03-01', '2025-03-01 08:30:00.5',
            '2025-03-01 01:00:00', '{\"k\": [1, 2]}', 'a'),
           (2, 'ñandú 日本', -0.05, NULL, NULL, NULL, NULL, FALSE, NULL, NULL, '2025-03-02 00:00:00.123456', NULL, NULL)",
    ] {
        db.execute(statement).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let first = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!((first.rows, first.new_rows), (2, 2));
    let (manifest, batch) = published(&catalog, "mysql_orders").await;
    for (name, ty) in [
        ("id", "Int64"),
        ("amount", "Decimal128(38, 2)"),
        ("qty", "Int64"),
        ("big", "Int64"),
        ("ratio", "Float64"),
        ("price", "Float64"),
        ("is_paid", "Boolean"),
        ("order_date", "Date32"),
        ("created_local", "Timestamp(µs)"),
        ("updated_at", "Timestamp(µs, \"UTC\")"),
        ("attrs", "Utf8"),
        ("kind", "Utf8"),
    ] {
        assert_eq!(data_type(&batch, name), ty, "{name}");
    }
    assert_eq!(texts(&batch, "amount"), ["12.34", "-0.05"]);
    assert_eq!(texts(&batch, "big"), ["18446744073709551", "null"]);
    assert_eq!(texts(&batch, "is_paid"), ["true", "false"]);
    assert_eq!(texts(&batch, "created_local")[0], "2025-03-01T08:30:00.500");
    assert_eq!(
        texts(&batch, "updated_at")[1],
        "2025-03-02T00:00:00.123456Z"
    );
    assert_eq!(texts(&batch, "attrs")[0], "{\"k\": [1, 2]}");
    assert_eq!(texts(&batch, "status")[1], "ñandú 日本");
    assert_eq!(texts(&batch, "kind"), ["a", "null"]);
    assert!(manifest.source_state.contains_key("sql_watermark"));

    db.execute("INSERT INTO example_orders (id, status, amount, updated_at) VALUES (3, 'open', 1, '2025-05-01 00:00:00')")
        .await
        .unwrap();
    let second = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!(
        (second.version, second.rows, second.new_rows),
        (2, 3, 1),
        "{second:?}"
    );
    let third = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert!(third.unchanged, "{third:?}");
}

#[tokio::test]
async fn sql_errors_name_the_source_and_option() {
    let mut config = example("postgres_orders");
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let SourceConfig::Sql(sql) = &mut config.source else {
        panic!()
    };
    sql.query = "SELECT * FROM no_such_table_here".into();
    let err = lantern_etl::run(&config, &catalog, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("postgres://127.0.0.1/lantern_test") && err.contains("no_such_table_here"),
        "{err}"
    );
    assert!(
        !err.contains("lantern:lantern"),
        "no password in errors: {err}"
    );
    let SourceConfig::Sql(sql) = &mut config.source else {
        panic!()
    };
    sql.query = "SELECT 1 AS one".into();
    let err = lantern_etl::run(&config, &catalog, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("source.incremental.column") && err.contains("updated_at"),
        "{err}"
    );
    let SourceConfig::Sql(sql) = &mut config.source else {
        panic!()
    };
    sql.url = "oracle://x/y".into();
    let err = lantern_etl::run(&config, &catalog, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("source.url") && err.contains("oracle"),
        "{err}"
    );
}
