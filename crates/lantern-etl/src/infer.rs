//! Column type inference for text sources (the seed's `type_inferrer`).
//!
//! Every non-null value of a column is classified, and the column takes the narrowest type that holds all of
//! them: a later value that does not fit widens the column (integer → float → string, date → timestamp →
//! string); nothing is ever silently turned into null. Codes with leading zeros (`007`) stay strings.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;

/// A column's type, as inferred or configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Boolean,
    Integer,
    Float,
    Date,
    /// Date and time without an offset.
    Timestamp,
    /// Date and time with an offset or `Z`, stored in UTC.
    TimestampTz,
    String,
}

impl ColumnType {
    /// The name `load.types` spells it with.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Boolean => "boolean",
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::TimestampTz => "timestamp_tz",
            ColumnType::String => "string",
        }
    }
}

/// Options that change how values are read.
#[derive(Debug, Clone)]
pub struct ValueOptions {
    pub null_values: Vec<String>,
    pub zero_one_booleans: bool,
}

impl ValueOptions {
    pub fn is_null(&self, v: &str) -> bool {
        let t = trim(v);
        self.null_values.iter().any(|n| n == t)
    }
}

/// Whether a trimmed value is a configured null spelling, mostly without comparing strings.
pub(crate) struct NullCheck {
    spellings: Vec<String>,
    /// Bit n set when a null spelling is n bytes long (63: longer).
    lengths: u64,
    /// The first bytes of the null spellings: a value starting otherwise (a digit, usually) is not null.
    first_bytes: [bool; 256],
}

impl NullCheck {
    pub(crate) fn new(options: &ValueOptions) -> Self {
        let mut first_bytes = [false; 256];
        for n in &options.null_values {
            if let Some(b) = n.trim().as_bytes().first() {
                first_bytes[*b as usize] = true;
            }
        }
        Self {
            spellings: options.null_values.clone(),
            lengths: options
                .null_values
                .iter()
                .fold(0, |mask, n| mask | 1u64 << n.trim().len().min(63)),
            first_bytes,
        }
    }

    #[inline]
    pub(crate) fn is_null(&self, t: &str) -> bool {
        self.lengths & (1u64 << t.len().min(63)) != 0
            && t.as_bytes()
                .first()
                .is_none_or(|b| self.first_bytes[*b as usize])
            && self.spellings.iter().any(|n| n == t)
    }
}

fn parse_bool(v: &str, zero_one: bool) -> Option<bool> {
    let t = v.trim();
    if t.len() > 5 {
        return None;
    }
    let is = |w: &str| t.eq_ignore_ascii_case(w);
    if is("true") || is("yes") || is("y") {
        Some(true)
    } else if is("false") || is("no") || is("n") {
        Some(false)
    } else if zero_one && t == "1" {
        Some(true)
    } else if zero_one && t == "0" {
        Some(false)
    } else {
        None
    }
}

/// `YYYY-MM-DD` as days since 1970-01-01, without chrono: the common case of every date column, read millions
/// of times.
fn iso_date_days(t: &str) -> Option<i32> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + (d - b'0') as u32)
        })
    };
    let (year, month, day) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=month_days)
        .contains(&day)
        .then(|| days_from_civil(year, month, day))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`: years counted from
/// March, in 400-year eras).
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = ((153 * month_from_march + 2) / 5 + day - 1) as i32;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn parse_int(v: &str) -> Option<i64> {
    let t = trim(v).as_bytes();
    let (negative, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    // Leading zeros mean a code (zip, account), not a number.
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') || digits.len() > 19 {
        return None;
    }
    // One pass: 19 digits always fit in a u64, so only the final conversion can overflow.
    let mut n: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + d as u64;
    }
    if negative {
        0i64.checked_sub_unsigned(n)
    } else {
        i64::try_from(n).ok()
    }
}

/// `str::trim` for the usual case of a value without surrounding white space, without decoding characters.
pub(crate) fn trim(v: &str) -> &str {
    match (v.as_bytes().first(), v.as_bytes().last()) {
        (Some(f), Some(l))
            if !f.is_ascii_whitespace()
                && !l.is_ascii_whitespace()
                && f.is_ascii()
                && l.is_ascii() =>
        {
            v
        }
        _ => v.trim(),
    }
}

fn parse_float(v: &str) -> Option<f64> {
    let t = v.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.") {
        return None;
    }
    if !digits.bytes().any(|b| b.is_ascii_digit())
        || digits
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    // A whole number too long for 64 bits is an identifier: a float would silently round it.
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

const DATE_FORMATS: [&str; 3] = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"];
const TS_FORMATS: [&str; 4] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
];

/// A date, as days since 1970-01-01.
pub(crate) fn parse_date(v: &str) -> Option<i32> {
    let t = trim(v);
    if t.len() < 8 {
        return None;
    }
    if let Some(d) = iso_date_days(t) {
        return Some(d);
    }
    // 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
        .map(|d| chrono::Datelike::num_days_from_ce(&d) - 719_163)
}

pub(crate) fn parse_timestamp(v: &str) -> Option<NaiveDateTime> {
    let t = v.trim();
    TS_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

/// Microseconds since the epoch, UTC.
pub(crate) fn parse_timestamp_tz(v: &str) -> Option<i64> {
    let t = v.trim();
    DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .ok()
        .map(|d| d.timestamp_micros())
}

/// The narrowest type of one non-null value.
pub fn classify(v: &str, options: &ValueOptions) -> ColumnType {
    if parse_bool(v, options.zero_one_booleans).is_some() {
        ColumnType::Boolean
    } else if parse_int(v).is_some() {
        ColumnType::Integer
    } else if parse_float(v).is_some() {
        ColumnType::Float
    } else if parse_date(v).is_some() {
        ColumnType::Date
    } else if parse_timestamp(v).is_some() {
        ColumnType::Timestamp
    } else if parse_timestamp_tz(v).is_some() {
        ColumnType::TimestampTz
    } else {
        ColumnType::String
    }
}

/// Whether a non-null value can be stored as `ty` exactly as [`classify`] would have it (a value that fits a
/// wider type only, like `007` for integers, does not fit).
fn fits(v: &str, ty: ColumnType, options: &ValueOptions) -> bool {
    match ty {
        ColumnType::Integer => parse_int(v).is_some(),
        ColumnType::Float => parse_int(v).is_some() || parse_float(v).is_some(),
        ColumnType::Boolean => parse_bool(v, options.zero_one_booleans).is_some(),
        ColumnType::Date => iso_date_days(v.trim()).is_some(),
        ColumnType::Timestamp | ColumnType::TimestampTz | ColumnType::String => false,
    }
}

/// The narrowest type holding both.
pub fn widen(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Integer, Float) | (Float, Integer) => Float,
        (Date, Timestamp) | (Timestamp, Date) => Timestamp,
        _ => String,
    }
}

/// Running inference for one column.
#[derive(Debug, Clone, Default)]
pub struct Inference {
    /// `None` while only nulls were seen.
    pub ty: Option<ColumnType>,
    /// What the values say about a locale's format, for a column plain reading leaves as text (or a float
    /// column whose points may group thousands).
    pub votes: crate::formats::Votes,
    /// The first value plain reading could not type.
    pub sample: Option<String>,
}

impl Inference {
    /// Inference by plain reading alone, without watching for a locale's formats (sources whose values
    /// `load.formats` never applies to).
    pub fn plain() -> Self {
        Self {
            votes: crate::formats::Votes::off(),
            ..Self::default()
        }
    }

    pub fn observe(&mut self, v: &str, options: &ValueOptions) {
        if !options.is_null(v) {
            self.observe_value(v, options);
        }
    }

    /// [`Self::observe`] for a value known not to be null.
    pub fn observe_value(&mut self, v: &str, options: &ValueOptions) {
        if self.ty == Some(ColumnType::String) {
            // Text so far: only a value that could still settle a locale's format costs more.
            if self.votes.alive() {
                self.votes.observe(v);
            }
            return;
        }
        // Most values fit the type the column already has: check that first, cheaply. Whole numbers read the
        // same in every locale; a float only matters while its point could be a thousands separator (`1.234`).
        if let Some(cur) = self.ty
            && fits(v, cur, options)
        {
            if cur == ColumnType::Float && self.votes.comma_alive() {
                self.votes.observe_float(v);
            }
            return;
        }
        let t = classify(v, options);
        if t == ColumnType::String && self.sample.is_none() {
            self.sample = Some(v.to_string());
        }
        if self.votes.alive() {
            self.votes.observe(v);
        }
        self.ty = Some(match self.ty {
            None => t,
            Some(cur) => widen(cur, t),
        });
    }

    /// The inference over two parts of the same column.
    pub fn merge(self, other: Inference) -> Inference {
        Inference {
            ty: match (self.ty, other.ty) {
                (Some(a), Some(b)) => Some(widen(a, b)),
                (a, b) => a.or(b),
            },
            votes: self.votes.merge(other.votes),
            sample: self.sample.or(other.sample),
        }
    }

    /// The final type; an all-null column is a string column.
    pub fn finish(&self) -> ColumnType {
        self.ty.unwrap_or(ColumnType::String)
    }
}

/// An integer column's value: [`parse_int`], or with leading zeros (`007` in a column configured as integer).
pub(crate) fn integer_value(t: &str) -> Option<i64> {
    parse_int(t).or_else(|| t.trim().parse().ok())
}

pub(crate) fn float_value(t: &str) -> Option<f64> {
    trim(t).parse().ok()
}

pub(crate) fn boolean_value(t: &str, options: &ValueOptions) -> Option<bool> {
    parse_bool(t, options.zero_one_booleans)
}

/// Microseconds since the epoch of a timestamp without offset (a date is its midnight).
pub(crate) fn timestamp_value(t: &str) -> Option<i64> {
    parse_timestamp(t)
        .map(|ts| ts.and_utc().timestamp_micros())
        .or_else(|| parse_date(t).map(|days| days as i64 * 86_400_000_000))
}

/// Why a non-null value is not a `ty`.
pub(crate) fn refusal(v: &str, ty: ColumnType) -> String {
    let what = match ty {
        ColumnType::Boolean => "a boolean",
        ColumnType::Integer => "an integer",
        ColumnType::Float => "a number",
        ColumnType::Date => "a date",
        ColumnType::Timestamp => "a timestamp",
        ColumnType::TimestampTz => "a timestamp with offset",
        ColumnType::String => "text",
    };
    format!("`{v}` is not {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn opts() -> ValueOptions {
        ValueOptions {
            null_values: vec!["".into(), "NA".into()],
            zero_one_booleans: false,
        }
    }

    fn infer(values: &[&str]) -> ColumnType {
        let mut i = Inference::default();
        for v in values {
            i.observe(v, &opts());
        }
        i.finish()
    }

    #[test]
    fn infers_and_widens() {
        assert_eq!(infer(&["1", "2", "NA", "-3"]), ColumnType::Integer);
        assert_eq!(infer(&["1", "2", "2.5"]), ColumnType::Float);
        assert_eq!(infer(&["1", "2.5", "abc"]), ColumnType::String);
        assert_eq!(infer(&["007", "010"]), ColumnType::String);
        assert_eq!(infer(&["0", "10"]), ColumnType::Integer);
        assert_eq!(infer(&["yes", "no", "Y"]), ColumnType::Boolean);
        assert_eq!(
            infer(&["0", "1"]),
            ColumnType::Integer,
            "0/1 are numbers unless configured"
        );
        assert_eq!(infer(&["2025-01-02", "2025-12-31"]), ColumnType::Date);
        assert_eq!(
            infer(&["2025-01-02", "2025-01-03 10:00:00"]),
            ColumnType::Timestamp
        );
        assert_eq!(
            infer(&["2025-01-02T10:00:00Z", "2025-01-02T10:00:00+09:00"]),
            ColumnType::TimestampTz
        );
        assert_eq!(infer(&["NA", ""]), ColumnType::String);
        assert_eq!(infer(&["1e3", "2.5E-2"]), ColumnType::Float);
        assert_eq!(infer(&["12345678901234567890123"]), ColumnType::String);
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("-9223372036854775809"), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-0"), Some(0));
        assert_eq!(parse_int("1/2"), None);
        assert_eq!(parse_int("1:2"), None);
    }

    #[test]
    fn iso_dates_count_days_as_chrono_does() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut day = NaiveDate::from_ymd_opt(1599, 1, 1).unwrap();
        while day.year() < 2501 {
            let text = day.format("%Y-%m-%d").to_string();
            assert_eq!(
                iso_date_days(&text),
                Some((day - epoch).num_days() as i32),
                "{text}"
            );
            day = day.succ_opt().unwrap();
        }
        for bad in [
            "2023-02-29",
            "2100-02-29",
            "2025-04-31",
            "2025-13-01",
            "2025-00-10",
            "2025-01-00",
            "2025-1-011",
            "20250-1-01",
        ] {
            assert_eq!(iso_date_days(bad), None, "{bad}");
        }
        assert_eq!(iso_date_days("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("2025/03/01"), iso_date_days("2025-03-01"));
    }

    #[test]
    fn zero_one_booleans_when_configured() {
        let o = ValueOptions {
            null_values: vec![],
            zero_one_booleans: true,
        };
        assert_eq!(classify("1", &o), ColumnType::Boolean);
    }
}
