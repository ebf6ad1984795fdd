//! Exports as European and US spreadsheets write them (decimal commas, thousands separators, day-first dates,
//! percentages, currency), generated from seeded values and checked against those values in the Parquet output.

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::csv::{Loaded, load};

/// `n` with `sep` between groups of three digits.
fn grouped(n: u64, sep: &str) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// Cents as a locale writes them: `-1.234,56` with `group` = ".", `decimal` = ",".
fn money(cents: i64, group: &str, decimal: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!(
        "{sign}{}{decimal}{:02}",
        grouped(abs / 100, group),
        abs % 100
    )
}

fn random_date(rng: &mut ChaCha8Rng) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(rng.random_range(0..2500))
}

fn days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

fn floats(l: &Loaded, name: &str) -> Vec<f64> {
    let c = l.column(name);
    c.as_primitive::<Float64Type>().values().to_vec()
}

fn integers(l: &Loaded, name: &str) -> Vec<i64> {
    let c = l.column(name);
    c.as_primitive::<Int64Type>().values().to_vec()
}

fn dates(l: &Loaded, name: &str) -> Vec<i32> {
    let c = l.column(name);
    c.as_primitive::<Date32Type>().values().to_vec()
}

const ROWS: usize = 400;

#[tokio::test]
async fn a_german_excel_export_is_typed_from_its_values() {
    let mut rng = ChaCha8Rng::seed_from_u64(49);
    let (mut cents, mut counts, mut dated, mut shares) = (vec![], vec![], vec![], vec![]);
    let mut text = String::from("Kunde;Betrag;Menge;Datum;Anteil\n");
    for i in 0..ROWS {
        let c: i64 = rng.random_range(-100_000..500_000_000);
        let n: u64 = rng.random_range(0..3_000_000);
        // The first rows' dates read either way (day ≤ 12): the column's later values settle it.
        let mut d = random_date(&mut rng);
        if i < 20 {
            d = d.with_day(rng.random_range(1..=12)).unwrap();
        }
        let permille: u32 = rng.random_range(0..=1000);
        text.push_str(&format!(
            "Kunde {i};{};{};{};{},{} %\n",
            money(c, ".", ","),
            grouped(n, "."),
            d.format("%d.%m.%Y"),
            permille / 10,
            permille % 10
        ));
        cents.push(c);
        counts.push(n as i64);
        dated.push(days(d));
        shares.push(permille);
    }
    let l = load(
        tempfile::tempdir().unwrap().path(),
        "export.csv",
        text.as_bytes(),
        "load:\n  formats: {anteil: percent}\n",
    )
    .await;
    assert_eq!(l.summary.hints, vec![], "every column is typed");
    assert_eq!(l.data_type("betrag"), DataType::Float64);
    assert_eq!(
        floats(&l, "betrag"),
        cents.iter().map(|c| *c as f64 / 100.0).collect::<Vec<_>>()
    );
    assert_eq!(
        l.data_type("menge"),
        DataType::Int64,
        "whole numbers with thousands points"
    );
    assert_eq!(integers(&l, "menge"), counts);
    assert_eq!(l.data_type("datum"), DataType::Date32);
    assert_eq!(dates(&l, "datum"), dated);
    // The percent column takes the file's decimal comma: 12,5 % is 0.125.
    assert_eq!(
        floats(&l, "anteil"),
        shares
            .iter()
            .map(|p| *p as f64 / 1000.0)
            .collect::<Vec<_>>()
    );
    assert_eq!(l.data_type("kunde"), DataType::Utf8);
}

#[tokio::test]
async fn a_french_export_with_narrow_spaces_and_slashed_dates() {
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let (mut cents, mut dated) = (vec![], vec![]);
    let mut text = String::from("client;montant;échéance\n");
    for i in 0..ROWS {
        let c: i64 = rng.random_range(0..900_000_000);
        let d = random_date(&mut rng);
        text.push_str(&format!(
            "c{i};{};{}\n",
            money(c, "\u{202f}", ","),
            d.format("%d/%m/%Y")
        ));
        cents.push(c);
        dated.push(days(d));
    }
    let l = load(
        tempfile::tempdir().unwrap().path(),
        "fr.csv",
        text.as_bytes(),
        "",
    )
    .await;
    assert_eq!(l.summary.hints, vec![]);
    assert_eq!(
        floats(&l, "montant"),
        cents.iter().map(|c| *c as f64 / 100.0).collect::<Vec<_>>()
    );
    assert_eq!(dates(&l, "échéance"), dated);
}

#[tokio::test]
async fn us_thousands_separators_percent_and_currency_columns() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut cents, mut prices, mut rates, mut dated) = (vec![], vec![], vec![], vec![]);
    let mut text = String::from("order,amount,price,rate,ordered\n");
    for i in 0..ROWS {
        let c: i64 = rng.random_range(100_000..900_000_000);
        // The first row's price is the one the second load spoils.
        let p: i64 = rng.random_range(if i == 0 { 0 } else { -50_000 }..5_000_000);
        let permille: u32 = rng.random_range(0..=1000);
        let d = random_date(&mut rng);
        let price = if p < 0 {
            format!("-${}", money(-p, ",", "."))
        } else {
            format!("${}", money(p, ",", "."))
        };
        text.push_str(&format!(
            "{i},\"{}\",\"{price}\",{}.{}%,{}\n",
            money(c, ",", "."),
            permille / 10,
            permille % 10,
            d.format("%m/%d/%Y")
        ));
        cents.push(c);
        prices.push(p);
        rates.push(permille);
        dated.push(days(d));
    }
    let dir = tempfile::tempdir().unwrap();
    // Unconfigured: amounts and dates are typed; percentages and prices stay text, each with a hint.
    let l = load(dir.path(), "us.csv", text.as_bytes(), "").await;
    assert_eq!(
        floats(&l, "amount"),
        cents.iter().map(|c| *c as f64 / 100.0).collect::<Vec<_>>()
    );
    assert_eq!(dates(&l, "ordered"), dated);
    assert_eq!(
        (l.data_type("price"), l.data_type("rate")),
        (DataType::Utf8, DataType::Utf8)
    );
    let hinted: Vec<(&str, &str)> = l
        .summary
        .hints
        .iter()
        .map(|h| (h.column.as_str(), h.option.as_str()))
        .collect();
    assert_eq!(hinted.len(), 2, "{:?}", l.summary.hints);
    assert!(
        hinted[0].0 == "price" && hinted[0].1.contains("{price: currency}"),
        "{hinted:?}"
    );
    assert!(
        hinted[1].0 == "rate" && hinted[1].1.contains("{rate: percent}"),
        "{hinted:?}"
    );
    assert_eq!(
        l.summary.hints[1].sample,
        format!("{}.{}%", rates[0] / 10, rates[0] % 10)
    );

    // Configured as the hints say, with one price no format reads: that row is quarantined, naming the format.
    let bad = text.replacen("\"$", "\"$$", 1);
    let l = load(
        dir.path(),
        "us.csv",
        bad.as_bytes(),
        "load:\n  formats: {price: currency, rate: percent}\n",
    )
    .await;
    assert_eq!(l.summary.quarantined_rows, 1);
    assert_eq!(
        floats(&l, "price"),
        prices[1..]
            .iter()
            .map(|p| *p as f64 / 100.0)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        floats(&l, "rate"),
        rates[1..]
            .iter()
            .map(|p| *p as f64 / 1000.0)
            .collect::<Vec<_>>()
    );
    assert_eq!(l.summary.hints, vec![]);
}

#[tokio::test]
async fn an_ambiguous_day_month_column_stays_text_with_a_hint_until_configured() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut dated = vec![];
    let mut text = String::from("invoice,due\n");
    for i in 0..ROWS {
        let d = random_date(&mut rng);
        let d = d.with_day(rng.random_range(1..=12)).unwrap();
        text.push_str(&format!("{i},{}\n", d.format("%d/%m/%Y")));
        dated.push(days(d));
    }
    let dir = tempfile::tempdir().unwrap();
    let l = load(dir.path(), "due.csv", text.as_bytes(), "").await;
    assert_eq!(
        l.data_type("due"),
        DataType::Utf8,
        "no value says which comes first"
    );
    let hint = &l.summary.hints[0];
    assert_eq!(hint.column, "due");
    assert_eq!(
        hint.sample,
        text.lines().nth(1).unwrap().split(',').nth(1).unwrap()
    );
    assert!(hint.option.contains(r#"{due: "%d/%m/%Y"}"#), "{hint}");
    assert!(
        hint.to_string().starts_with("column `due` stays text"),
        "{hint}"
    );

    for configured in [
        "load:\n  formats: {due: \"%d/%m/%Y\"}\n",
        "load:\n  locale: en-GB\n",
    ] {
        let l = load(dir.path(), "due.csv", text.as_bytes(), configured).await;
        assert_eq!(l.data_type("due"), DataType::Date32, "{configured}");
        assert_eq!(dates(&l, "due"), dated, "{configured}");
        assert_eq!(l.summary.hints, vec![]);
    }
    // Read the other way round, the same text is other dates: those exist for every value here.
    let l = load(
        dir.path(),
        "due.csv",
        text.as_bytes(),
        "load:\n  locale: en-US\n",
    )
    .await;
    let swapped: Vec<i32> = text
        .lines()
        .skip(1)
        .map(|line| {
            let v = line.split(',').nth(1).unwrap();
            days(NaiveDate::parse_from_str(v, "%m/%d/%Y").unwrap())
        })
        .collect();
    assert_eq!(dates(&l, "due"), swapped);
}

#[test]
fn bad_locales_and_formats_name_their_field_and_line() {
    let parse = |load: &str| {
        let yaml = format!("id: t\nsource:\n  kind: csv\n  path: a.csv\nload:\n{load}");
        lantern_etl::EtlConfig::parse(std::path::Path::new("t.yaml"), &yaml)
            .unwrap_err()
            .to_string()
    };
    let e = parse("  locale: de_XX_1!\n");
    assert!(
        e.starts_with("t.yaml:6: `load.locale`") && e.contains("not a locale"),
        "{e}"
    );
    let e = parse("  retention: 2\n  formats:\n    amount: decimal_coma\n");
    assert!(
        e.starts_with("t.yaml:8: `load.formats.amount`")
            && e.contains("unknown format `decimal_coma`"),
        "{e}"
    );
    let e = parse("  types: {due: date}\n  formats:\n    due: percent\n");
    assert!(
        e.contains("`load.formats.due`") && e.contains("does not make date values"),
        "{e}"
    );
    let e = lantern_etl::EtlConfig::parse(
        std::path::Path::new("t.yaml"),
        "id: t\nsource:\n  kind: sql\n  url: postgres://x/y\n  query: select 1\nload:\n  locale: de-DE\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`load.locale`") && e.contains("CSV files only"),
        "{e}"
    );
}
