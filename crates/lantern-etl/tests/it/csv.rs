//! CSV → Parquet: every encoding, delimiter and quoting case, type inference and widening, checked in the output.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::record_batch::RecordBatch;
use lantern_core::catalog::Catalog;
use lantern_core::config::StorageConfig;
use lantern_core::storage::Storage;
use lantern_etl::EtlConfig;

pub(crate) struct Loaded {
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) summary: lantern_etl::RunSummary,
}

impl Loaded {
    pub(crate) fn column(&self, name: &str) -> Arc<dyn Array> {
        let b = &self.batches[0];
        b.column(
            b.schema()
                .index_of(name)
                .unwrap_or_else(|_| panic!("no column {name} in {:?}", b.schema())),
        )
        .clone()
    }
    pub(crate) fn data_type(&self, name: &str) -> DataType {
        self.column(name).data_type().clone()
    }
    pub(crate) fn strings(&self, name: &str) -> Vec<Option<String>> {
        let c = self.column(name);
        let a = c.as_string::<i32>();
        (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect()
    }
}

/// The local store the tests publish into.
fn storage_at(dir: &Path) -> Storage {
    Storage::open(&StorageConfig {
        url: dir.join("data").display().to_string(),
        ..Default::default()
    })
    .unwrap()
}

/// Writes `bytes` as the only source file, runs the ETL with `extra` YAML, reads the published Parquet back.
pub(crate) async fn load(dir: &Path, file_name: &str, bytes: &[u8], extra: &str) -> Loaded {
    let src = dir.join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join(file_name), bytes).unwrap();
    let yaml = format!(
        "id: t\nsource:\n  kind: csv\n  path: {}/*\n{extra}",
        src.display()
    );
    let config = EtlConfig::parse(Path::new("t.yaml"), &yaml)
        .unwrap()
        .unwrap();
    let storage = storage_at(dir);
    let catalog = Catalog::new(storage.clone());
    let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    let (_, batch) = crate::support::published(&catalog, "t").await;
    Loaded {
        batches: vec![batch],
        summary,
    }
}

fn utf16(text: &str, le: bool) -> Vec<u8> {
    let mut out = if le {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in text.encode_utf16() {
        out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

fn encode(text: &str, label: &str) -> Vec<u8> {
    let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
    let (bytes, _, unmappable) = enc.encode(text);
    assert!(!unmappable, "{label} cannot hold the test text");
    bytes.into_owned()
}

#[tokio::test]
async fn every_encoding_is_detected_and_decoded() {
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "utf8",
            "Zürich",
            "city,n\nZürich,1\nMünchen,2\n".as_bytes().to_vec(),
        ),
        (
            "utf8-bom",
            "Zürich",
            [
                b"\xEF\xBB\xBF".as_slice(),
                "city,n\nZürich,1\nMünchen,2\n".as_bytes(),
            ]
            .concat(),
        ),
        (
            "utf16le",
            "Zürich",
            utf16("city,n\r\nZürich,1\r\nMünchen,2\r\n", true),
        ),
        (
            "utf16be",
            "Zürich",
            utf16("city,n\nZürich,1\nMünchen,2\n", false),
        ),
        (
            "cp1252",
            "Café €5",
            encode("city,n\nCafé €5,1\nNaïve façade,2\n", "windows-1252"),
        ),
        (
            "shift_jis",
            "東京都千代田区",
            encode(
                "city,n\n東京都千代田区,1\n大阪府大阪市北区,2\n名古屋市中区,3\n",
                "shift_jis",
            ),
        ),
        (
            "euc-kr",
            "서울특별시 강남구",
            encode(
                "city,n\n서울특별시 강남구,1\n부산광역시 해운대구,2\n",
                "euc-kr",
            ),
        ),
        (
            "gbk",
            "北京市朝阳区",
            encode(
                "city,n\n北京市朝阳区,1\n上海市浦东新区,2\n广州市天河区,3\n",
                "gbk",
            ),
        ),
        (
            "big5",
            "臺北市信義區",
            encode(
                "city,n\n臺北市信義區,1\n高雄市前鎮區,2\n臺中市西屯區,3\n",
                "big5",
            ),
        ),
    ];
    for (name, first_city, bytes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path(), &format!("{name}.csv"), &bytes, "").await;
        let cities = loaded.strings("city");
        assert_eq!(cities[0].as_deref(), Some(first_city), "{name}: {cities:?}");
        assert_eq!(loaded.data_type("n"), DataType::Int64, "{name}");
    }
}

#[tokio::test]
async fn an_encoding_override_wins() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = encode("city,n\n東京,1\n", "shift_jis");
    let loaded = load(dir.path(), "a.csv", &bytes, "  encoding: shift_jis\n").await;
    assert_eq!(loaded.strings("city")[0].as_deref(), Some("東京"));
}

#[tokio::test]
async fn delimiters_quotes_newlines_crlf_and_headers() {
    // Excel's sep= line, semicolons, CRLF, a quoted field with the delimiter, a newline and escaped quotes,
    // blank and duplicate headers.
    let text = "sep=;\r\nName;Name;;Note\r\nAnn;1;x;\"a; b\"\r\nBob;2;y;\"two\r\nlines, \"\"quoted\"\"\"\r\n";
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path(), "a.csv", text.as_bytes(), "").await;
    let names: Vec<String> = loaded.batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["name", "name_2", "column_3", "note"]);
    assert_eq!(
        loaded.strings("note"),
        [Some("a; b".into()), Some("two\r\nlines, \"quoted\"".into())]
    );
    assert_eq!(loaded.data_type("name_2"), DataType::Int64);

    for (d, name) in [("\t", "tab"), ("|", "pipe"), (",", "comma")] {
        let text = format!("a{d}b{d}c\n1{d}x{d}2.5\n2{d}\"y{d}z\"{d}3\n");
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path(), "a.csv", text.as_bytes(), "").await;
        assert_eq!(
            loaded.strings("b")[1].as_deref(),
            Some(format!("y{d}z").as_str()),
            "{name}"
        );
        assert_eq!(loaded.data_type("c"), DataType::Float64, "{name}");
    }
}

#[tokio::test]
async fn types_are_inferred_over_the_whole_file_and_widened() {
    // 70,000 rows, so the breaking values come after the first batch and any sample.
    let mut text = String::from("id,code,amount,flag,day,at,at_tz,mixed,empty\n");
    for i in 0..70_000 {
        let amount = if i == 69_990 {
            "12.75".to_string()
        } else {
            i.to_string()
        };
        let mixed = if i == 69_999 {
            "n/a-text".to_string()
        } else {
            (i % 7).to_string()
        };
        let flag = ["yes", "no", "Y", "N", "true", "false"][i % 6];
        let day = format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
        let at = format!("2025-03-{:02} {:02}:15:00", 1 + i % 28, i % 24);
        let at_tz = format!("2025-03-{:02}T{:02}:15:00+09:00", 1 + i % 28, i % 24);
        let empty = if i % 2 == 0 { "NA" } else { "" };
        text.push_str(&format!(
            "{i},{:05},{amount},{flag},{day},{at},{at_tz},{mixed},{empty}\n",
            i % 1000
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(
        dir.path(),
        "big.csv",
        text.as_bytes(),
        "load:\n  null_values: ['', NA]\n",
    )
    .await;
    assert_eq!(loaded.summary.rows, 70_000);
    assert_eq!(loaded.data_type("id"), DataType::Int64);
    assert_eq!(
        loaded.data_type("code"),
        DataType::Utf8,
        "leading zeros stay strings"
    );
    assert_eq!(loaded.strings("code")[7].as_deref(), Some("00007"));
    assert_eq!(
        loaded.data_type("amount"),
        DataType::Float64,
        "widened by a late value"
    );
    let amount = loaded.column("amount");
    let amount = amount.as_primitive::<Float64Type>();
    assert_eq!(amount.value(69_990), 12.75);
    assert_eq!(amount.value(5), 5.0);
    assert_eq!(amount.null_count(), 0, "never silently nulled");
    assert_eq!(loaded.data_type("flag"), DataType::Boolean);
    assert_eq!(loaded.data_type("day"), DataType::Date32);
    let day = loaded.column("day");
    assert_eq!(
        day.as_primitive::<Date32Type>().value(0),
        20089,
        "2025-01-01"
    );
    assert_eq!(
        loaded.data_type("at"),
        DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(
        loaded.data_type("at_tz"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    let at_tz = loaded.column("at_tz");
    // 2025-03-01T00:15:00+09:00 is 2025-02-28T15:15:00Z.
    assert_eq!(
        at_tz.as_primitive::<TimestampMicrosecondType>().value(0),
        1_740_755_700_000_000
    );
    assert_eq!(
        loaded.data_type("mixed"),
        DataType::Utf8,
        "widened to string by the last row"
    );
    assert_eq!(loaded.strings("mixed")[69_999].as_deref(), Some("n/a-text"));
    assert_eq!(loaded.strings("mixed")[3].as_deref(), Some("3"));
    assert_eq!(loaded.column("empty").null_count(), 70_000);
    let ids = loaded.column("id");
    assert_eq!(ids.as_primitive::<Int64Type>().value(69_999), 69_999);
}

#[tokio::test]
async fn type_overrides_and_bad_rows_name_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = "zip,n\n01234,1\n98765,2\n";
    let loaded = load(
        dir.path(),
        "a.csv",
        text.as_bytes(),
        "load:\n  types: {n: float}\n",
    )
    .await;
    assert_eq!(loaded.data_type("n"), DataType::Float64);

    // A row with a missing field is quarantined with its line number and reason; the rest is published.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.csv"), "a,b\n1,2\n3\n4,5\n").unwrap();
    let storage = storage_at(dir.path());
    let catalog = Catalog::new(storage.clone());
    let config = |extra: &str| {
        let yaml = format!(
            "id: t\nsource: {{kind: csv, path: {}/a.csv}}\n{extra}",
            src.display()
        );
        EtlConfig::parse(Path::new("t.yaml"), &yaml)
            .unwrap()
            .unwrap()
    };
    let summary = lantern_etl::run(&config(""), &catalog, &|_| {})
        .await
        .unwrap();
    assert_eq!((summary.rows, summary.quarantined_rows), (2, 1));
    let quarantine = storage
        .get_bytes(&"datasets/t/v1/_quarantine/bad_rows.csv".into())
        .await
        .unwrap();
    let text = String::from_utf8(quarantine.to_vec()).unwrap();
    assert!(
        text.contains(",3,,1 fields where the header has 2,3"),
        "{text}"
    );
    assert_eq!(
        catalog
            .current("t")
            .await
            .unwrap()
            .unwrap()
            .quarantined_rows,
        1
    );

    // Over the limit, the run fails naming the row, and the published version stays as it was.
    let err = lantern_etl::run(&config("load: {max_bad_rows: 0}\n"), &catalog, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a.csv: row 3") && err.contains("1 fields where the header has 2"),
        "{err}"
    );
    assert!(err.contains("more than load.max_bad_rows = 0"), "{err}");
    assert_eq!(catalog.current("t").await.unwrap().unwrap().version, 1);

    // An explicit type that a value breaks names the row and column.
    std::fs::write(src.join("a.csv"), "a,b\n1,2\n3,x\n").unwrap();
    let err = lantern_etl::run(
        &config("load:\n  types: {b: integer}\n  max_bad_rows: 0\n"),
        &catalog,
        &|_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("row 3, column `b`") && err.contains("`x` is not an integer"),
        "{err}"
    );
    assert_eq!(catalog.current("t").await.unwrap().unwrap().version, 1);

    // The next good run publishes, and pruning removes what the failed runs left behind.
    std::fs::write(src.join("a.csv"), "a,b\n1,2\n").unwrap();
    let summary = lantern_etl::run(&config("load: {retention: 1}\n"), &catalog, &|_| {})
        .await
        .unwrap();
    assert!(summary.version >= 2);
    assert_eq!(
        catalog.version_folders("t").await.unwrap(),
        vec![summary.version]
    );
}

#[tokio::test]
async fn partitioned_output_is_hive_style_and_complete() {
    let mut text = String::from("order_id,country,due_date,amount\n");
    for i in 0..1000 {
        let country = ["Japan", "Korea", "Hong Kong"][i % 3];
        text.push_str(&format!(
            "SO-{i:05},{country},2025-{:02}-01,{}.5\n",
            1 + i % 12,
            i
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(
        dir.path(),
        "orders.csv",
        text.as_bytes(),
        "load:\n  partition_by: [country]\n",
    )
    .await;
    assert_eq!(loaded.summary.rows, 1000);
    assert_eq!(loaded.summary.partitions, ["country"]);
    let catalog = Catalog::new(storage_at(dir.path()));
    let manifest = catalog.current("t").await.unwrap().unwrap();
    let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "datasets/t/v1/country=Hong Kong/part-00000.parquet",
            "datasets/t/v1/country=Japan/part-00000.parquet",
            "datasets/t/v1/country=Korea/part-00000.parquet",
        ]
    );
    assert_eq!(manifest.files.iter().map(|f| f.rows).sum::<u64>(), 1000);
    assert_eq!(
        loaded
            .strings("country")
            .iter()
            .filter(|c| c.as_deref() == Some("Japan"))
            .count(),
        334
    );
}

#[tokio::test]
async fn transforms_run_before_partitioning_by_a_derived_column() {
    let mut text = String::from("Order ID,Country,Status,Due Date\n");
    for i in 0..600 {
        let status = ["Delivered", "Cancelled", "Open"][(i / 7) % 3];
        text.push_str(&format!(
            "SO-{i:04}, {} ,{status},2025-{:02}-{:02}\n",
            ["Japan", "Korea"][i % 2],
            1 + i % 3,
            1 + i % 28
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let extra = "transforms:\n  - trim: [country]\n  - exclude: {column: status, values: [Cancelled]}\n  - derive: {name: due_month, expr: \"to_char(due_date, '%Y-%m')\"}\n  - select: [order_id, country, due_date, due_month]\nload:\n  partition_by: [due_month, country]\n";
    let loaded = load(dir.path(), "orders.csv", text.as_bytes(), extra).await;
    let kept = (0..600).filter(|i| (i / 7) % 3 != 1).count() as u64;
    assert_eq!(loaded.summary.rows, kept, "cancelled rows excluded");
    let names: Vec<String> = loaded.batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["order_id", "country", "due_date", "due_month"]);
    let catalog = Catalog::new(storage_at(dir.path()));
    let manifest = catalog.current("t").await.unwrap().unwrap();
    assert_eq!(manifest.partitions, ["due_month", "country"]);
    assert_eq!(manifest.files.len(), 6, "3 months x 2 countries");
    assert!(
        manifest
            .files
            .iter()
            .any(|f| f.path == "datasets/t/v1/due_month=2025-03/country=Japan/part-00000.parquet")
    );
    assert!(
        loaded
            .strings("country")
            .iter()
            .all(|c| matches!(c.as_deref(), Some("Japan" | "Korea"))),
        "trimmed"
    );
}

#[tokio::test]
async fn validations_quarantine_rows_into_the_version() {
    let text = "id,email,amount\n1,a@x.io,10\n2,broken,20\n3,c@x.io,-5\n4,d@x.io,30\n";
    let dir = tempfile::tempdir().unwrap();
    let extra = "transforms:\n  - validate: {column: email, rule: regex, pattern: '^[^@]+@[^@]+$', policy: quarantine}\n  - validate: {column: amount, rule: range, min: 0, policy: quarantine}\n  - validate: {column: id, rule: unique}\n";
    let loaded = load(dir.path(), "a.csv", text.as_bytes(), extra).await;
    assert_eq!(
        (loaded.summary.rows, loaded.summary.quarantined_rows),
        (2, 2)
    );
    let storage = storage_at(dir.path());
    let q = storage
        .get_bytes(&"datasets/t/v1/_quarantine/bad_rows.csv".into())
        .await
        .unwrap();
    let q = String::from_utf8(q.to_vec()).unwrap();
    // Each refused row is named by its file and line, as a row that does not parse is.
    let file = dir.path().join("in/a.csv").display().to_string();
    let email = format!(
        "{file},{},email,regex: `broken` does not match `^[^@]+@[^@]+$`,\"2,broken,20\"",
        line_of(text, "2,broken")
    );
    assert!(q.contains(&email), "{q}");
    let amount = format!(
        "{file},{},amount,\"range: -5 is outside [0, inf]\",\"3,c@x.io,-5\"",
        line_of(text, "3,c@x.io")
    );
    assert!(q.contains(&amount), "{q}");
}

/// The 1-based line of the text where `needle` first appears.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect("in the text")]
        .matches('\n')
        .count()
        + 1
}

#[tokio::test]
async fn refused_rows_keep_their_line_after_multiline_fields_and_excluded_rows() {
    // Quoted fields spanning lines, and rows an earlier transform drops, put lines and row numbers apart.
    let text = "id,status,note,amount\n1,open,\"two\nlines\",5\n2,void,x,-1\n3,open,\"a\nb\nc\",-2\n4,open,y,7\n5,open,z,-3\n";
    let dir = tempfile::tempdir().unwrap();
    let extra = "transforms:\n  - exclude: {column: status, values: [void]}\n  - validate: {column: amount, rule: range, min: 0, policy: quarantine}\n";
    let loaded = load(dir.path(), "b.csv", text.as_bytes(), extra).await;
    assert_eq!(
        (loaded.summary.rows, loaded.summary.quarantined_rows),
        (2, 2)
    );
    let q = storage_at(dir.path())
        .get_bytes(&"datasets/t/v1/_quarantine/bad_rows.csv".into())
        .await
        .unwrap();
    let q = String::from_utf8(q.to_vec()).unwrap();
    let file = dir.path().join("in/b.csv").display().to_string();
    for (id, needle) in [(3, "3,open,"), (5, "5,open,")] {
        let expected = format!("{file},{},amount,", line_of(text, needle));
        assert!(q.contains(&expected), "row {id} at line {expected}: {q}");
    }
}

#[tokio::test]
async fn big_files_are_read_in_two_halves_split_outside_quotes() {
    // ~6 MB: above the size where inference and conversion run on two threads. Quoted fields hold newlines,
    // commas and escaped quotes everywhere, so a split that ignored quotes would tear records apart; the column
    // `late` widens to float only in the last rows (after the sample: the run restarts with full inference),
    // `code` turns into text in the first rows.
    let mut text = String::from("id,note,late,code\n");
    let rows = 60_000;
    for i in 0..rows {
        let late = if i == rows - 3 {
            "2.5".to_string()
        } else {
            i.to_string()
        };
        let code = if i == 2 {
            "X1".to_string()
        } else {
            (i % 1000).to_string()
        };
        // One row in the second half has a field too many: quarantined with its line in the whole file.
        let extra = if i == 50_000 { ",surplus" } else { "" };
        text.push_str(&format!(
            "{i},\"line one, \"\"quoted\"\"\nline two {i} {}\",{late},{code}{extra}\n",
            "x".repeat(40)
        ));
    }
    assert!(text.len() > 5 << 20);
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path(), "big.csv", text.as_bytes(), "").await;
    assert_eq!(
        loaded.summary.version, 1,
        "the abandoned sampled attempt left no version behind"
    );
    assert_eq!(loaded.summary.rows, rows as u64 - 1);
    assert_eq!(loaded.summary.quarantined_rows, 1);
    let quarantine = storage_at(dir.path())
        .get_bytes(&"datasets/t/v1/_quarantine/bad_rows.csv".into())
        .await
        .unwrap();
    let quarantine = String::from_utf8(quarantine.to_vec()).unwrap();
    // Each record spans two lines after the header: record 50,000 starts on line 100,002.
    assert!(
        quarantine.contains(",100002,") && quarantine.contains("surplus"),
        "{quarantine}"
    );
    assert_eq!(loaded.data_type("id"), DataType::Int64);
    assert_eq!(loaded.data_type("late"), DataType::Float64);
    assert_eq!(loaded.data_type("code"), DataType::Utf8);
    // Rows keep their order across the two halves (and the quarantined row is gone).
    let ids = loaded.column("id");
    let ids = ids.as_primitive::<Int64Type>();
    let expected = |r: usize| if r < 50_000 { r as i64 } else { r as i64 + 1 };
    assert!((0..rows - 1).all(|r| ids.value(r) == expected(r)));
    let notes = loaded.strings("note");
    assert_eq!(
        notes[31_234].as_deref(),
        Some(format!("line one, \"quoted\"\nline two 31234 {}", "x".repeat(40)).as_str())
    );
    let late = loaded.column("late");
    assert_eq!(late.as_primitive::<Float64Type>().value(rows - 4), 2.5);
    assert_eq!(
        late.as_primitive::<Float64Type>().value(rows - 2),
        (rows - 1) as f64
    );
}

#[tokio::test]
async fn the_earliest_bad_row_is_reported_whichever_half_finds_one_first() {
    // Two halves of a big file are read at once, split after the middle, each may meet a bad row first (the
    // second half starts later, but has less to read before its bad row): the error names the earlier row,
    // every time.
    let mut text = String::from("id,name,amount\n");
    for i in 0..60_000 {
        let extra = if i == 29_000 || i == 45_000 {
            ",surplus"
        } else {
            ""
        };
        text.push_str(&format!(
            "{i},\"name {i} {}\",{}.5{extra}\n",
            "y".repeat(90),
            i % 97
        ));
    }
    assert!(text.len() > 5 << 20);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("big.csv"), &text).unwrap();
    let yaml = format!(
        "id: t\nsource: {{kind: csv, path: {}/big.csv}}\nload: {{max_bad_rows: 0}}\n",
        src.display()
    );
    let config = EtlConfig::parse(Path::new("t.yaml"), &yaml)
        .unwrap()
        .unwrap();
    let catalog = Catalog::new(storage_at(dir.path()));
    for _ in 0..3 {
        let err = lantern_etl::run(&config, &catalog, &|_| {})
            .await
            .unwrap_err()
            .to_string();
        // Row 29,000 is on line 29,002 (after the header).
        assert!(err.contains("row 29002"), "{err}");
        assert!(err.contains("more than load.max_bad_rows = 0"), "{err}");
    }
    assert!(catalog.current("t").await.unwrap().is_none());
}

#[tokio::test]
async fn a_column_empty_in_the_sample_is_typed_by_its_later_values() {
    // The first 25,000 rows (more than the sample) have no `refund`; later rows have whole numbers.
    let mut text = String::from("id,refund\n");
    for i in 0..30_000 {
        let refund = if i < 25_000 {
            String::new()
        } else {
            (i % 7).to_string()
        };
        text.push_str(&format!("{i},{refund}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path(), "late.csv", text.as_bytes(), "").await;
    assert_eq!(loaded.summary.version, 1);
    assert_eq!(
        loaded.data_type("refund"),
        DataType::Int64,
        "not text just because the sample was empty"
    );
    let refund = loaded.column("refund");
    assert!(refund.is_null(0) && refund.as_primitive::<Int64Type>().value(29_999) == 29_999 % 7);
}
