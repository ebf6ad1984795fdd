//! Numbers and dates as locales write them: `1.234,56`, `1,234.56`, `1 234,56`, `12,5 %`, `$1,200`,
//! `31.12.2025`, `12/31/2025 14:30`.
//!
//! Plain inference ([`crate::infer`]) reads the forms every locale shares (`1234.56`, `2025-12-31`). A column it
//! leaves as text was also watched by [`Votes`]: when every value reads one way only (`1.234,56` is a decimal
//! comma, `31/12/2025` day-first), the column takes that format; when the values allow two readings (`1,234`;
//! `01/02/2025` throughout), the dataset's `load.locale` or another column of the same file decides, and without
//! either the column stays text with a [`Hint`] naming the option that would type it. Values that disagree
//! leave the column text: nothing is ever guessed row by row.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::infer::ColumnType;

/// The decimal separator of a column's numbers; the other separators group thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimal {
    /// `1,234.56`, `1 234.56`, `1'234.56`.
    Point,
    /// `1.234,56`, `1 234,56`.
    Comma,
}

/// The order of day and month in a date written with `.`, `/` or `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// `31.12.2025`, `31/12/2025`.
    DayFirst,
    /// `12/31/2025`.
    MonthFirst,
    /// `2025/12/31`: read by plain inference already.
    YearFirst,
}

/// A dataset's `load.locale` (`de-DE`, `fr`, `en_US`): how its numbers and ambiguous dates are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    pub tag: String,
    pub decimal: Decimal,
    pub dates: DateOrder,
}

/// Languages that write a decimal comma (CLDR), before the regional exceptions in [`Locale::parse`].
const COMMA_LANGUAGES: &[&str] = &[
    "af", "az", "be", "bg", "bs", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fo", "fr",
    "gl", "hr", "hu", "hy", "id", "is", "it", "ka", "kk", "ky", "lt", "lv", "mk", "mn", "nb", "nl",
    "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tr", "uk", "uz", "vi",
];

/// Regions whose ambiguous dates are month-first (`en` alone is too), and languages whose are year-first.
const MONTH_FIRST: &[&str] = &["en-us", "en-ph", "es-us"];
const YEAR_FIRST: &[&str] = &["ja", "ko", "zh", "hu", "lt", "mn"];

/// Languages that write a decimal point (the rest of those Lantern knows about).
const POINT_LANGUAGES: &[&str] = &[
    "am", "ar", "bn", "en", "fa", "fil", "ga", "gu", "he", "hi", "ja", "kn", "ko", "ml", "mr",
    "ms", "my", "ne", "pa", "si", "sw", "ta", "te", "th", "tl", "ur", "zh", "zu",
];

impl Locale {
    /// `language` or `language-REGION` (`_` also separates them); an unknown language is an error that lists
    /// the form expected.
    pub fn parse(tag: &str) -> Result<Self, String> {
        let norm = tag.trim().replace('_', "-").to_ascii_lowercase();
        let (language, region) = match norm.split_once('-') {
            Some((l, r)) => (l, Some(r)),
            None => (norm.as_str(), None),
        };
        if language.is_empty()
            || !language.bytes().all(|b| b.is_ascii_lowercase())
            || region.is_some_and(|r| r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(format!(
                "`{tag}` is not a locale; write a language and region such as `de-DE`, `fr-FR` or `en-US`"
            ));
        }
        let comma = COMMA_LANGUAGES.contains(&language);
        if !comma && !POINT_LANGUAGES.contains(&language) {
            return Err(format!(
                "`{tag}`: the language `{language}` is not known; use e.g. `de-DE`, `fr-FR`, `en-US`, or set the \
                 columns' `load.formats` instead"
            ));
        }
        // Regions whose numbers differ from their language's: Swiss German and Italian, Mexican and US
        // Spanish write a point; South African English a comma.
        let decimal = match (language, region) {
            ("de" | "it", Some("ch" | "li")) | ("es", Some("mx" | "us" | "pr")) => Decimal::Point,
            ("en", Some("za")) => Decimal::Comma,
            _ if comma => Decimal::Comma,
            _ => Decimal::Point,
        };
        let pair = match region {
            Some(r) => format!("{language}-{r}"),
            None => language.to_string(),
        };
        let dates =
            if MONTH_FIRST.contains(&pair.as_str()) || (language == "en" && region.is_none()) {
                DateOrder::MonthFirst
            } else if YEAR_FIRST.contains(&language) || pair == "en-ca" || language == "sv" {
                DateOrder::YearFirst
            } else {
                DateOrder::DayFirst
            };
        Ok(Self {
            tag: tag.trim().to_string(),
            decimal,
            dates,
        })
    }
}

/// How a number column is written: its decimal separator, and whether values carry `%` (read as fractions) or a
/// currency sign or code (dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    pub decimal: Decimal,
    pub percent: bool,
    pub currency: bool,
}

/// How one column's values are written: configured in `load.formats` or detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFormat {
    Number(NumberFormat),
    /// Day and month in this order, separated by `.`, `/` or `-`, with a four-digit year and an optional time
    /// (`31.12.2025 14:30:05`); ISO dates are read too.
    Dates(DateOrder),
    /// A chrono pattern (`%d.%m.%Y`, `%d/%m/%Y %H:%M`); `time` when it has a time of day.
    Pattern {
        pattern: String,
        time: bool,
    },
}

impl ValueFormat {
    /// How a refusal names the format the value broke: "`12.5` is not a number" + this.
    pub fn describe(&self) -> String {
        match self {
            ValueFormat::Number(n) => {
                let mut d = match n.decimal {
                    Decimal::Point => "with a decimal point".to_string(),
                    Decimal::Comma => "with a decimal comma".to_string(),
                };
                if n.percent {
                    d.push_str(" and a % sign");
                }
                if n.currency {
                    d.push_str(" (currency)");
                }
                d
            }
            ValueFormat::Dates(DateOrder::DayFirst) => "written day first (31.12.2025)".into(),
            ValueFormat::Dates(DateOrder::MonthFirst) => "written month first (12/31/2025)".into(),
            ValueFormat::Dates(DateOrder::YearFirst) => "written year first (2025-12-31)".into(),
            ValueFormat::Pattern { pattern, .. } => format!("written as `{pattern}`"),
        }
    }

    /// Whether values of this format can be stored as `ty`.
    pub fn suits(&self, ty: ColumnType) -> bool {
        match self {
            ValueFormat::Number(n) => {
                ty == ColumnType::Float || (ty == ColumnType::Integer && !n.percent)
            }
            ValueFormat::Dates(_) | ValueFormat::Pattern { .. } => {
                matches!(ty, ColumnType::Date | ColumnType::Timestamp)
            }
        }
    }
}

/// A `load.formats` entry as written: `decimal_comma`, `decimal_point`, `percent`, `currency`, `day_first`,
/// `month_first` (words may be combined: `percent decimal_comma`), or a chrono pattern such as `%d.%m.%Y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSpec {
    pub written: String,
    /// The number's decimal separator when the entry names one; else the locale's (or a point).
    decimal: Option<Decimal>,
    kind: SpecKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SpecKind {
    Number { percent: bool, currency: bool },
    Dates(DateOrder),
    Pattern { pattern: String, time: bool },
}

const FORMAT_WORDS: &str = "decimal_comma, decimal_point, percent, currency, day_first, month_first, or a date \
                            pattern such as `%d.%m.%Y`";

impl FormatSpec {
    pub fn parse(written: &str) -> Result<Self, String> {
        let w = written.trim();
        if w.contains('%') {
            use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
            let items: Vec<Item<'_>> = StrftimeItems::new(w).collect();
            if items.iter().any(|i| matches!(i, Item::Error)) {
                return Err(format!(
                    "`{w}` is not a date pattern (chrono's `%d.%m.%Y` notation)"
                ));
            }
            let has = |n: Numeric| {
                items
                    .iter()
                    .any(|i| matches!(i, Item::Numeric(x, _) if *x == n))
            };
            let named_month = items
                .iter()
                .any(|i| matches!(i, Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName)));
            if !(has(Numeric::Year) || has(Numeric::YearMod100))
                || !(has(Numeric::Month) || named_month)
                || !has(Numeric::Day)
            {
                return Err(format!(
                    "`{w}` needs a year, a month and a day (e.g. `%d.%m.%Y`)"
                ));
            }
            let time = has(Numeric::Hour) || has(Numeric::Hour12);
            return Ok(Self {
                written: w.into(),
                decimal: None,
                kind: SpecKind::Pattern {
                    pattern: w.into(),
                    time,
                },
            });
        }
        let (mut decimal, mut percent, mut currency, mut order) = (None, false, false, None);
        for word in w.split([' ', ',', '+']).filter(|s| !s.is_empty()) {
            match word {
                "decimal_comma" => decimal = Some(Decimal::Comma),
                "decimal_point" => decimal = Some(Decimal::Point),
                "percent" => percent = true,
                "currency" => currency = true,
                "day_first" => order = Some(DateOrder::DayFirst),
                "month_first" => order = Some(DateOrder::MonthFirst),
                other => return Err(format!("unknown format `{other}`; use {FORMAT_WORDS}")),
            }
        }
        let kind = match order {
            Some(_) if decimal.is_some() || percent || currency => {
                return Err(format!("`{w}` mixes a date order with a number format"));
            }
            Some(o) => SpecKind::Dates(o),
            None if decimal.is_none() && !percent && !currency => {
                return Err(format!("no format given; use {FORMAT_WORDS}"));
            }
            None => SpecKind::Number { percent, currency },
        };
        Ok(Self {
            written: w.into(),
            decimal,
            kind,
        })
    }

    /// The format, with `decimal` (the locale's, or what the values show) where the entry names no separator.
    pub fn resolve(&self, decimal: Option<Decimal>) -> ValueFormat {
        match &self.kind {
            SpecKind::Number { percent, currency } => ValueFormat::Number(NumberFormat {
                decimal: self.decimal.or(decimal).unwrap_or(Decimal::Point),
                percent: *percent,
                currency: *currency,
            }),
            SpecKind::Dates(o) => ValueFormat::Dates(*o),
            SpecKind::Pattern { pattern, time } => ValueFormat::Pattern {
                pattern: pattern.clone(),
                time: *time,
            },
        }
    }

    /// The column type values of this format take unless `load.types` says otherwise.
    pub fn column_type(&self) -> ColumnType {
        match &self.kind {
            SpecKind::Number { .. } => ColumnType::Float,
            SpecKind::Pattern { time: true, .. } => ColumnType::Timestamp,
            // Day-first values with a time are timestamps: configure `load.types` to keep them.
            SpecKind::Dates(_) | SpecKind::Pattern { .. } => ColumnType::Date,
        }
    }
}

impl<'de> serde::Deserialize<'de> for FormatSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        FormatSpec::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl<'de> serde::Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Locale::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A number's text without its separators, signs or symbols: what `str::parse` reads.
struct Digits {
    buf: [u8; 48],
    len: usize,
    /// No decimal part.
    whole: bool,
}

impl Digits {
    /// Appends one byte; `None` when the number is too long to be one.
    fn push(&mut self, b: u8) -> Option<()> {
        *self.buf.get_mut(self.len)? = b;
        self.len += 1;
        Some(())
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("ASCII")
    }
}

const CURRENCY_SIGNS: &[char] = &[
    '$', '€', '£', '¥', '₹', '₩', '₽', '₺', '₪', '₫', '฿', '₱', '₴', '₦', '¢',
];

/// ISO 4217 codes written before or after amounts in exports (`EUR 1.200`, `1,200 USD`).
const CURRENCY_CODES: &[&str] = &[
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "IDR", "ILS",
    "INR", "JPY", "KRW", "MXN", "NOK", "NZD", "PHP", "PLN", "RON", "RUB", "SEK", "SGD", "THB",
    "TRY", "TWD", "USD", "VND", "ZAR",
];

/// Separators that group thousands, besides the decimal separator of the other style.
fn is_space_group(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’')
}

/// Drops a currency sign or three-letter code before or after the number (`$1,200`, `1.200 €`, `EUR 1.200`);
/// whether one was there. A sign before the symbol (`-$5`) is kept in front of the number.
fn strip_currency(t: &str) -> (std::borrow::Cow<'_, str>, bool) {
    let t = t.trim();
    if let Some(r) = t.strip_prefix(['-', '−'])
        && r.trim_start().starts_with(CURRENCY_SIGNS)
    {
        let (rest, _) = strip_currency(r);
        return (format!("-{rest}").into(), true);
    }
    let code = |s: &str| CURRENCY_CODES.contains(&s);
    let rest = if let Some(r) = t.strip_prefix(CURRENCY_SIGNS) {
        r.trim_start()
    } else if let Some(r) = t.strip_suffix(CURRENCY_SIGNS) {
        r.trim_end()
    } else if let Some((c, r)) = t.split_once(' ')
        && code(c)
    {
        r.trim_start()
    } else if let Some((r, c)) = t.rsplit_once(' ')
        && code(c)
    {
        r.trim_end()
    } else {
        return (t.into(), false);
    };
    (rest.into(), true)
}

/// The digits of `t` written with `decimal`; `strict` refuses leading zeros (`007` is a code, not a number).
fn digits(t: &str, decimal: Decimal, strict: bool) -> Option<Digits> {
    let mut out = Digits {
        buf: [0; 48],
        len: 0,
        whole: true,
    };
    let t = t.trim();
    let (negative, body) = match t.strip_prefix(['-', '−']) {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if negative {
        out.push(b'-')?;
    }
    let (decimal_char, group_char) = match decimal {
        Decimal::Point => ('.', ','),
        Decimal::Comma => (',', '.'),
    };
    let mut group: Option<char> = None;
    // Digits in the current group, and in the integer part.
    let (mut run, mut int_digits) = (0usize, 0usize);
    let mut first_digit = None;
    let mut chars = body.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            first_digit.get_or_insert(c);
            out.push(c as u8)?;
            run += 1;
            int_digits += 1;
            chars.next();
        } else if c == group_char || is_space_group(c) {
            // Groups: the first of 1–3 digits, every later one of exactly 3, all with one separator.
            if group.is_some_and(|g| g != c) || run == 0 || run > 3 || (group.is_some() && run != 3)
            {
                return None;
            }
            group = Some(c);
            run = 0;
            chars.next();
        } else if c == decimal_char {
            break;
        } else {
            return None;
        }
    }
    if int_digits == 0 || (group.is_some() && run != 3) {
        return None;
    }
    if strict && int_digits > 1 && first_digit == Some('0') {
        return None;
    }
    if chars.next_if_eq(&decimal_char).is_some() {
        out.push(b'.')?;
        let mut frac = 0;
        for c in chars {
            if !c.is_ascii_digit() {
                return None;
            }
            out.push(c as u8)?;
            frac += 1;
        }
        if frac == 0 {
            return None;
        }
        out.whole = false;
    }
    Some(out)
}

/// Strips a trailing `%` (and the space French puts before it).
fn strip_percent(t: &str) -> Option<&str> {
    t.trim()
        .strip_suffix('%')
        .map(|r| r.trim_end_matches(|c: char| c.is_whitespace() || is_space_group(c)))
}

/// The number `v` holds in `format` (a percentage as its fraction: `12,5 %` → 0.125).
pub fn number_value(v: &str, format: NumberFormat) -> Option<f64> {
    let Some((d, percent)) = number_digits(v, format) else {
        // With a decimal point, what plain reading takes as a float (`1e3`, `.5`) is one too.
        return plain_point(format)
            .then(|| crate::infer::float_value(v))
            .flatten()
            .filter(|f| f.is_finite());
    };
    let value: f64 = if percent {
        // Shifting the decimal point in the text keeps the result the nearest double (12.5 % is 0.125 exactly).
        format!("{}e-2", d.as_str()).parse().ok()?
    } else {
        d.as_str().parse().ok()?
    };
    value.is_finite().then_some(value)
}

/// The whole number `v` holds in `format`: none when it has a decimal part or is a percentage.
pub fn integer_value(v: &str, format: NumberFormat) -> Option<i64> {
    let Some((d, percent)) = number_digits(v, format) else {
        return plain_point(format)
            .then(|| crate::infer::integer_value(v))
            .flatten();
    };
    (d.whole && !percent).then(|| d.as_str().parse().ok())?
}

/// A number format whose values plain reading also reads (a decimal point, no `%` or currency signs).
fn plain_point(format: NumberFormat) -> bool {
    format.decimal == Decimal::Point && !format.percent && !format.currency
}

fn number_digits(v: &str, format: NumberFormat) -> Option<(Digits, bool)> {
    let stripped;
    let mut t = v.trim();
    if format.currency {
        stripped = strip_currency(t).0;
        t = &stripped;
    }
    if format.percent {
        t = strip_percent(t)?;
    }
    Some((digits(t, format.decimal, false)?, format.percent))
}

/// `d.m.yyyy`, `d/m/yyyy` or `d-m-yyyy` (either order) with an optional ` HH:MM[:SS]`: the two leading numbers,
/// the separator, the year and the time of day in seconds.
struct DateShape {
    first: u32,
    second: u32,
    separator: u8,
    year: i32,
    seconds: Option<u32>,
}

fn date_shape(t: &str) -> Option<DateShape> {
    let t = t.trim();
    let (date, time) = match t.split_once([' ', 'T']) {
        Some((d, r)) => (d, Some(r.trim_start())),
        None => (t, None),
    };
    let b = date.as_bytes();
    let separator = *b.iter().find(|c| !c.is_ascii_digit())?;
    if !matches!(separator, b'.' | b'/' | b'-') {
        return None;
    }
    let mut parts = date.split(separator as char);
    let (p1, p2, p3) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !(1..=2).contains(&p1.len())
        || !(1..=2).contains(&p2.len())
        || p3.len() != 4
        || ![p1, p2, p3]
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let seconds = match time {
        None => None,
        Some(clock) => {
            let mut hms = clock.split(':');
            let (h, m) = (hms.next()?, hms.next()?);
            let s = hms.next().unwrap_or("0");
            if hms.next().is_some()
                || ![h, m, s]
                    .iter()
                    .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
            {
                return None;
            }
            let (h, m, s): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            Some(h * 3600 + m * 60 + s)
        }
    };
    Some(DateShape {
        first: p1.parse().ok()?,
        second: p2.parse().ok()?,
        separator,
        year: p3.parse().ok()?,
        seconds,
    })
}

/// Days since 1970-01-01 and the time of day, of `v` written with `order`.
fn date_parts(v: &str, order: DateOrder) -> Option<(i32, Option<u32>)> {
    shape_parts(&date_shape(v)?, order)
}

fn shape_parts(s: &DateShape, order: DateOrder) -> Option<(i32, Option<u32>)> {
    let (day, month) = match order {
        DateOrder::DayFirst => (s.first, s.second),
        // Dots are day-first wherever they are used.
        DateOrder::MonthFirst if s.separator != b'.' => (s.second, s.first),
        _ => return None,
    };
    let date = chrono::NaiveDate::from_ymd_opt(s.year, month, day)?;
    Some((
        chrono::Datelike::num_days_from_ce(&date) - 719_163,
        s.seconds,
    ))
}

/// A date column's value in `format` (days since 1970-01-01); ISO dates are read too.
pub fn date_value(v: &str, format: &ValueFormat) -> Option<i32> {
    match format {
        ValueFormat::Dates(order) => match date_parts(v, *order) {
            Some((days, None)) => Some(days),
            Some((_, Some(_))) => None,
            None => crate::infer::parse_date(v),
        },
        ValueFormat::Pattern { pattern, .. } => {
            chrono::NaiveDate::parse_from_str(v.trim(), pattern)
                .ok()
                .map(|d| chrono::Datelike::num_days_from_ce(&d) - 719_163)
        }
        ValueFormat::Number(_) => None,
    }
}

/// A timestamp column's value in `format` (microseconds since the epoch; a date is its midnight).
pub fn timestamp_value(v: &str, format: &ValueFormat) -> Option<i64> {
    match format {
        ValueFormat::Dates(order) => match date_parts(v, *order) {
            Some((days, secs)) => {
                Some((days as i64 * 86_400 + secs.unwrap_or(0) as i64) * 1_000_000)
            }
            None => crate::infer::timestamp_value(v),
        },
        ValueFormat::Pattern {
            pattern,
            time: true,
        } => chrono::NaiveDateTime::parse_from_str(v.trim(), pattern)
            .ok()
            .map(|t| t.and_utc().timestamp_micros()),
        ValueFormat::Pattern { .. } => date_value(v, format).map(|d| d as i64 * 86_400_000_000),
        ValueFormat::Number(_) => None,
    }
}

/// The readings a column's values allow, as bits of [`Votes`].
mod reading {
    pub const POINT: u8 = 1;
    pub const COMMA: u8 = 2;
    pub const DAY_FIRST: u8 = 4;
    pub const MONTH_FIRST: u8 = 8;
    pub const PERCENT: u8 = 16;
    pub const CURRENCY: u8 = 32;
    /// The number once a `%` or currency sign is dropped, read with a point (a comma).
    pub const BARE_POINT: u8 = 64;
    pub const BARE_COMMA: u8 = 128;
    pub const ALL: u8 = 255;
}

/// What a column's values say about its format, value by value: the readings no value has ruled out, and those
/// some value allowed alone.
#[derive(Debug, Clone, Copy)]
pub struct Votes {
    /// Readings some value did not fit.
    dead: u8,
    /// Readings some value fitted while the other of its pair did not (`1.234,5` for a comma; `31/12` for
    /// day-first), or a currency sign was seen.
    decisive: u8,
    /// Some value fitted both number readings with different values (`1,234`).
    ambiguous_number: bool,
    /// Every value fitting the point (comma) reading was a whole number in it.
    whole_point: bool,
    whole_comma: bool,
    /// Some date value had a time of day.
    time: bool,
    /// The first separator of the dates seen.
    separator: u8,
}

impl Default for Votes {
    fn default() -> Self {
        Self {
            dead: 0,
            decisive: 0,
            ambiguous_number: false,
            whole_point: true,
            whole_comma: true,
            time: false,
            separator: 0,
        }
    }
}

impl Votes {
    /// Whether a value could still change the outcome.
    #[inline]
    pub fn alive(&self) -> bool {
        self.dead != reading::ALL
    }

    /// Whether a decimal comma is still possible: a plain float (`1.234`) may be a number with a thousands point.
    #[inline]
    pub fn comma_alive(&self) -> bool {
        self.dead & reading::COMMA == 0
    }

    /// [`Self::observe`] for a value plain reading took as a float (its point reading holds): only whether it
    /// also reads with a decimal comma matters.
    pub fn observe_float(&mut self, v: &str) {
        match digits(v, Decimal::Comma, true) {
            Some(d) => {
                self.whole_comma &= d.whole && d.as_str().parse::<i64>().is_ok();
                // `1.234` is 1.234 or 1234; only a whole number reads the same both ways.
                self.ambiguous_number |= !d.whole || v.contains('.');
                self.whole_point &= !v.contains(['.', 'e', 'E']);
            }
            None => {
                self.dead |= reading::COMMA;
                self.decisive |= reading::POINT;
            }
        }
    }

    /// Takes one non-null value into account.
    pub fn observe(&mut self, v: &str) {
        use reading::*;
        let mut fits = 0u8;
        let (point, comma) = (
            digits(v, Decimal::Point, true),
            digits(v, Decimal::Comma, true),
        );
        if self.dead & (POINT | COMMA) != POINT | COMMA {
            // Whole and within 64 bits: an integer column (longer digit runs are identifiers, as in plain reading).
            let integer = |d: &Digits| d.whole && d.as_str().parse::<i64>().is_ok();
            self.whole_point &= point.as_ref().is_none_or(integer);
            self.whole_comma &= comma.as_ref().is_none_or(integer);
            match (&point, &comma) {
                (Some(p), Some(c)) => {
                    fits |= POINT | COMMA;
                    self.ambiguous_number |= p.as_str() != c.as_str();
                }
                (Some(_), None) => {
                    fits |= POINT;
                    self.decisive |= POINT;
                }
                (None, Some(_)) => {
                    fits |= COMMA;
                    self.decisive |= COMMA;
                }
                (None, None) => {}
            }
        }
        if self.dead & (DAY_FIRST | MONTH_FIRST) != DAY_FIRST | MONTH_FIRST
            && let Some(s) = date_shape(v)
            && (self.separator == 0 || self.separator == s.separator)
        {
            self.separator = s.separator;
            let day_first = shape_parts(&s, DateOrder::DayFirst).is_some();
            let month_first = shape_parts(&s, DateOrder::MonthFirst).is_some();
            if day_first {
                fits |= DAY_FIRST;
            }
            if month_first {
                fits |= MONTH_FIRST;
            }
            if day_first && (!month_first || s.separator == b'.') {
                self.decisive |= DAY_FIRST;
            }
            if month_first && !day_first {
                self.decisive |= MONTH_FIRST;
            }
            self.time |= s.seconds.is_some();
        }
        let money = PERCENT | CURRENCY | BARE_POINT | BARE_COMMA;
        if self.dead & money != money {
            // Without a `%`, a letter or a sign outside ASCII there is nothing to drop: the readings above hold.
            let plain = !v
                .bytes()
                .any(|b| b == b'%' || b == b'$' || b.is_ascii_alphabetic() || !b.is_ascii());
            let (unsigned, symbol) = if plain {
                (v.into(), false)
            } else {
                strip_currency(v)
            };
            let percent = if plain {
                None
            } else {
                strip_percent(&unsigned)
            };
            let bare = percent.unwrap_or(&unsigned);
            let (bare_point, bare_comma) = if plain {
                (point.is_some(), comma.is_some())
            } else {
                (
                    digits(bare, Decimal::Point, false).is_some(),
                    digits(bare, Decimal::Comma, false).is_some(),
                )
            };
            if bare_point {
                fits |= BARE_POINT;
            }
            if bare_comma {
                fits |= BARE_COMMA;
            }
            if bare_point != bare_comma {
                self.decisive |= if bare_point { BARE_POINT } else { BARE_COMMA };
            }
            if (bare_point || bare_comma) && percent.is_some() {
                fits |= PERCENT;
            }
            if (bare_point || bare_comma) && percent.is_none() {
                fits |= CURRENCY;
                if symbol {
                    self.decisive |= CURRENCY;
                }
            }
        }
        self.dead |= !fits;
    }

    /// The votes over two parts of one column.
    pub fn merge(self, other: Votes) -> Votes {
        let separator = match (self.separator, other.separator) {
            (0, s) | (s, 0) => s,
            (a, b) if a == b => a,
            // Dates written two ways: neither order holds.
            _ => 0,
        };
        let mixed =
            self.separator != 0 && other.separator != 0 && self.separator != other.separator;
        Votes {
            dead: self.dead
                | other.dead
                | if mixed {
                    reading::DAY_FIRST | reading::MONTH_FIRST
                } else {
                    0
                },
            decisive: self.decisive | other.decisive,
            ambiguous_number: self.ambiguous_number || other.ambiguous_number,
            whole_point: self.whole_point && other.whole_point,
            whole_comma: self.whole_comma && other.whole_comma,
            time: self.time || other.time,
            separator,
        }
    }

    fn has(&self, bit: u8) -> bool {
        self.dead & bit == 0
    }

    /// The number reading the values settle on by themselves.
    fn decimal(&self) -> Option<Decimal> {
        match (self.has(reading::POINT), self.has(reading::COMMA)) {
            (true, false) => Some(Decimal::Point),
            (false, true) => Some(Decimal::Comma),
            _ => None,
        }
    }

    /// The decimal separator the values settle on once `%` and currency signs are dropped.
    fn bare_decimal(&self) -> Option<Decimal> {
        match (self.has(reading::BARE_POINT), self.has(reading::BARE_COMMA)) {
            (true, false) => Some(Decimal::Point),
            (false, true) => Some(Decimal::Comma),
            _ => None,
        }
    }

    /// The date order the values settle on by themselves.
    fn order(&self) -> Option<DateOrder> {
        let (d, m) = (self.has(reading::DAY_FIRST), self.has(reading::MONTH_FIRST));
        match (d, m) {
            (true, false) => Some(DateOrder::DayFirst),
            (false, true) => Some(DateOrder::MonthFirst),
            _ => None,
        }
    }
}

/// A column left as text that one option would type: shown with the run's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hint {
    pub column: String,
    /// A value of the column, as written.
    pub sample: String,
    /// What the values look like.
    pub looks_like: String,
    /// The `load:` setting that would type the column.
    pub option: String,
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "column `{}` stays text: values like `{}` look like {}; set {}",
            self.column, self.sample, self.looks_like, self.option
        )
    }
}

/// One column as inference left it, for [`decide`].
pub struct Observed<'a> {
    pub name: &'a str,
    /// The plain type (`None`: only nulls).
    pub plain: Option<ColumnType>,
    pub votes: Votes,
    /// The first value plain inference could not type.
    pub sample: Option<&'a str>,
}

/// What [`decide`] settles for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub ty: ColumnType,
    pub format: Option<ValueFormat>,
}

/// The one value all of `shown` agree on (none when they are empty or differ).
fn agreed<T: Copy + PartialEq>(shown: &[T]) -> Option<T> {
    let first = *shown.first()?;
    shown.iter().all(|x| *x == first).then_some(first)
}

/// The type and format of every column of one file (or of files sharing a header), and the hints for columns
/// left as text. `configured` formats and `types` win; `locale` settles values that read two ways; else a
/// reading that another column of the same input showed unambiguously does (one export has one locale).
pub fn decide(
    columns: &[Observed<'_>],
    types: &BTreeMap<String, ColumnType>,
    configured: &BTreeMap<String, FormatSpec>,
    locale: Option<&Locale>,
) -> (Vec<Decided>, Vec<Hint>) {
    let shown_decimal = columns
        .iter()
        .filter(|c| c.plain == Some(ColumnType::String) || c.plain == Some(ColumnType::Float))
        .filter_map(|c| {
            let d = c.votes.decimal()?;
            // A plain float column says "point" only when some value rules out the comma (`12.5`).
            (c.votes.decisive & (reading::POINT | reading::COMMA) != 0).then_some(d)
        })
        .collect::<Vec<_>>();
    let shown_order = columns
        .iter()
        .filter(|c| c.plain == Some(ColumnType::String))
        .filter_map(|c| {
            let o = c.votes.order()?;
            (c.votes.decisive & (reading::DAY_FIRST | reading::MONTH_FIRST) != 0).then_some(o)
        })
        .collect::<Vec<_>>();
    let (shown_decimal, shown_order) = (agreed(&shown_decimal), agreed(&shown_order));
    let decimal = locale.map(|l| l.decimal).or(shown_decimal);
    let order = locale
        .map(|l| l.dates)
        .filter(|o| *o != DateOrder::YearFirst)
        .or(shown_order);

    let mut hints = Vec::new();
    let decided = columns
        .iter()
        .map(|c| {
            if let Some(spec) = configured.get(c.name) {
                // The separators: the entry's, the column's own, the locale's, the rest of the input's.
                let own = c.votes.bare_decimal().or(locale.map(|l| l.decimal)).or(decimal);
                let ty = match spec.column_type() {
                    // Day-first values with a time of day are timestamps.
                    ColumnType::Date if matches!(spec.kind, SpecKind::Dates(_)) && c.votes.time => {
                        ColumnType::Timestamp
                    }
                    t => t,
                };
                return Decided {
                    ty: types.get(c.name).copied().unwrap_or(ty),
                    format: Some(spec.resolve(own)),
                };
            }
            if let Some(ty) = types.get(c.name).copied() {
                // A configured type is read with the locale's separators and date order.
                let format = match (ty, locale) {
                    (ColumnType::Float | ColumnType::Integer, Some(l)) => {
                        Some(ValueFormat::Number(NumberFormat {
                            decimal: l.decimal,
                            percent: false,
                            currency: false,
                        }))
                    }
                    (ColumnType::Date | ColumnType::Timestamp, Some(l)) if l.dates != DateOrder::YearFirst => {
                        Some(ValueFormat::Dates(l.dates))
                    }
                    _ => None,
                };
                return Decided { ty, format };
            }
            let Some(plain) = c.plain else {
                // Only nulls: nothing to read, nothing to hint.
                return Decided {
                    ty: ColumnType::String,
                    format: None,
                };
            };
            let v = &c.votes;
            let number = |d: Decimal| {
                let format = NumberFormat {
                    decimal: d,
                    percent: false,
                    currency: false,
                };
                // Whole numbers throughout (`1.234` in a German export) are integers.
                let whole = match d {
                    Decimal::Point => v.whole_point,
                    Decimal::Comma => v.whole_comma,
                };
                Decided {
                    ty: if whole { ColumnType::Integer } else { ColumnType::Float },
                    format: Some(ValueFormat::Number(format)),
                }
            };
            match plain {
                // `1.234` read as a plain float is 1234 where the input's numbers have a decimal comma.
                ColumnType::Float
                    if decimal == Some(Decimal::Comma)
                        && v.has(reading::COMMA)
                        && v.decisive & reading::POINT == 0 =>
                {
                    number(Decimal::Comma)
                }
                ColumnType::String => {
                    let sample = c.sample.unwrap_or_default().to_string();
                    let hint = |looks_like: &str, option: String| Hint {
                        column: c.name.to_string(),
                        sample: sample.clone(),
                        looks_like: looks_like.into(),
                        option,
                    };
                    if let Some(d) = v.decimal() {
                        return number(d);
                    }
                    if v.has(reading::POINT) && v.has(reading::COMMA) {
                        if let Some(d) = decimal {
                            return number(d);
                        }
                        // `1 234` and `12 345 678`: the same number either way.
                        if !v.ambiguous_number {
                            return number(Decimal::Point);
                        }
                        hints.push(hint(
                            "numbers with thousands separators or a decimal comma (they read two ways)",
                            format!(
                                "`load.formats: {{{0}: decimal_point}}` (1,234 = 1234) or `{{{0}: decimal_comma}}` \
                                 (1,234 = 1.234), or `load.locale`",
                                c.name
                            ),
                        ));
                        return Decided { ty: plain, format: None };
                    }
                    let dated = v.has(reading::DAY_FIRST) || v.has(reading::MONTH_FIRST);
                    if dated {
                        let ty = if v.time { ColumnType::Timestamp } else { ColumnType::Date };
                        if let Some(o) = v.order().or(order.filter(|_| {
                            v.has(reading::DAY_FIRST) && v.has(reading::MONTH_FIRST)
                        })) {
                            return Decided {
                                ty,
                                format: Some(ValueFormat::Dates(o)),
                            };
                        }
                        let sep = v.separator as char;
                        let (day, month) = if v.time {
                            ("day_first".to_string(), "month_first".to_string())
                        } else {
                            (format!("\"%d{sep}%m{sep}%Y\""), format!("\"%m{sep}%d{sep}%Y\""))
                        };
                        hints.push(hint(
                            "dates with day and month in an order no value settles",
                            format!(
                                "`load.formats: {{{0}: {day}}}` (day first) or `{{{0}: {month}}}` (month first), \
                                 or `load.locale`",
                                c.name
                            ),
                        ));
                        return Decided { ty: plain, format: None };
                    }
                    if v.has(reading::PERCENT) {
                        hints.push(hint(
                            "percentages",
                            format!("`load.formats: {{{}: percent}}` (12.5% = 0.125)", c.name),
                        ));
                    } else if v.has(reading::CURRENCY) && v.decisive & reading::CURRENCY != 0 {
                        hints.push(hint(
                            "amounts of money",
                            format!("`load.formats: {{{}: currency}}` ($1,200 = 1200)", c.name),
                        ));
                    }
                    Decided { ty: plain, format: None }
                }
                _ => Decided { ty: plain, format: None },
            }
        })
        .collect();
    (decided, hints)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: &str, decimal: Decimal) -> Option<f64> {
        number_value(
            v,
            NumberFormat {
                decimal,
                percent: false,
                currency: false,
            },
        )
    }

    #[test]
    fn numbers_in_both_styles_and_their_separators() {
        use Decimal::*;
        for (v, d, want) in [
            ("1.234,56", Comma, Some(1234.56)),
            ("1 234,56", Comma, Some(1234.56)),
            ("1\u{a0}234\u{a0}567,5", Comma, Some(1234567.5)),
            ("-12,5", Comma, Some(-12.5)),
            ("0,75", Comma, Some(0.75)),
            ("1.234", Comma, Some(1234.0)),
            ("1,234.56", Point, Some(1234.56)),
            ("1'234.56", Point, Some(1234.56)),
            ("1,234,567", Point, Some(1234567.0)),
            ("12", Point, Some(12.0)),
            // Groups of three after the first, one separator throughout.
            ("1.23,5", Comma, None),
            ("12.3456", Comma, None),
            ("1,234 567.5", Point, None),
            ("1.234,", Comma, None),
            (",5", Comma, None),
            ("1,5", Point, None),
            ("abc", Point, None),
            ("", Point, None),
        ] {
            assert_eq!(num(v, d), want, "{v} {d:?}");
        }
    }

    #[test]
    fn percent_and_currency() {
        let f = |decimal, percent, currency| NumberFormat {
            decimal,
            percent,
            currency,
        };
        // (value, decimal, percent, currency, expected); `12.5` without its sign is no percent.
        for (v, d, percent, currency, want) in [
            ("12.5%", Decimal::Point, true, false, Some(0.125)),
            ("12,5 %", Decimal::Comma, true, false, Some(0.125)),
            ("33.3%", Decimal::Point, true, false, Some(0.333)),
            ("12.5", Decimal::Point, true, false, None),
            ("$1,200", Decimal::Point, false, true, Some(1200.0)),
            ("-$1,200.50", Decimal::Point, false, true, Some(-1200.5)),
            ("$-5", Decimal::Point, false, true, Some(-5.0)),
            ("1.200,00 €", Decimal::Comma, false, true, Some(1200.0)),
            ("EUR 7,5", Decimal::Comma, false, true, Some(7.5)),
            ("1200", Decimal::Point, false, true, Some(1200.0)),
        ] {
            assert_eq!(number_value(v, f(d, percent, currency)), want, "{v}");
        }
        assert_eq!(
            integer_value("1.234.567", f(Decimal::Comma, false, false)),
            Some(1_234_567)
        );
        assert_eq!(
            integer_value("1.234,5", f(Decimal::Comma, false, false)),
            None
        );
    }

    #[test]
    fn dates_day_or_month_first() {
        let days = |y, m, d| {
            chrono::Datelike::num_days_from_ce(&chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())
                - 719_163
        };
        let dmy = ValueFormat::Dates(DateOrder::DayFirst);
        let mdy = ValueFormat::Dates(DateOrder::MonthFirst);
        assert_eq!(date_value("31.12.2025", &dmy), Some(days(2025, 12, 31)));
        assert_eq!(date_value("1/2/2025", &dmy), Some(days(2025, 2, 1)));
        assert_eq!(date_value("1/2/2025", &mdy), Some(days(2025, 1, 2)));
        assert_eq!(date_value("12/31/2025", &mdy), Some(days(2025, 12, 31)));
        assert_eq!(date_value("12/31/2025", &dmy), None);
        assert_eq!(date_value("31.12.2025", &mdy), None, "dots are day-first");
        assert_eq!(date_value("2025-12-31", &dmy), Some(days(2025, 12, 31)));
        assert_eq!(date_value("30.02.2025", &dmy), None);
        assert_eq!(
            timestamp_value("31.12.2025 14:30", &dmy),
            Some((days(2025, 12, 31) as i64 * 86_400 + 14 * 3600 + 30 * 60) * 1_000_000)
        );
        let pattern = FormatSpec::parse("%d.%m.%Y").unwrap().resolve(None);
        assert_eq!(date_value("05.01.2025", &pattern), Some(days(2025, 1, 5)));
    }

    fn votes(values: &[&str]) -> Votes {
        let mut v = Votes::default();
        for x in values {
            v.observe(x);
        }
        v
    }

    fn decide_one(
        values: &[&str],
        plain: ColumnType,
        locale: Option<&str>,
    ) -> (Decided, Vec<Hint>) {
        let locale = locale.map(|l| Locale::parse(l).unwrap());
        let (mut d, h) = decide(
            &[Observed {
                name: "c",
                plain: Some(plain),
                votes: votes(values),
                sample: values.first().copied(),
            }],
            &BTreeMap::new(),
            &BTreeMap::new(),
            locale.as_ref(),
        );
        (d.remove(0), h)
    }

    #[test]
    fn a_column_takes_the_one_reading_its_values_allow() {
        use ColumnType::*;
        let comma = Some(ValueFormat::Number(NumberFormat {
            decimal: Decimal::Comma,
            percent: false,
            currency: false,
        }));
        let (d, h) = decide_one(&["1.234,56", "12,5", "7"], String, None);
        assert_eq!((d.ty, &d.format, h.len()), (Float, &comma, 0));
        let (d, _) = decide_one(&["1.234", "12.345.678", "7"], String, None);
        assert_eq!((d.ty, d.format), (Integer, comma.clone()));
        let (d, _) = decide_one(&["31.12.2025", "01.02.2025"], String, None);
        assert_eq!(
            d,
            Decided {
                ty: Date,
                format: Some(ValueFormat::Dates(DateOrder::DayFirst))
            }
        );
        let (d, _) = decide_one(&["12/31/2025", "01/02/2025 10:00"], String, None);
        assert_eq!(
            d,
            Decided {
                ty: Timestamp,
                format: Some(ValueFormat::Dates(DateOrder::MonthFirst))
            }
        );
        // Values that disagree: text, and no hint (no one option types them).
        let (d, h) = decide_one(&["1.234,56", "1,234.56"], String, None);
        assert_eq!((d.ty, d.format, h.len()), (String, None, 0));
        let (d, h) = decide_one(&["31/12/2025", "12/31/2025"], String, None);
        assert_eq!((d.ty, d.format, h.len()), (String, None, 0));
    }

    #[test]
    fn values_that_read_two_ways_stay_text_with_a_hint_unless_a_locale_settles_them() {
        use ColumnType::*;
        let (d, h) = decide_one(&["01/02/2025", "03/04/2025"], String, None);
        assert_eq!((d.ty, d.format), (String, None));
        assert_eq!(h[0].column, "c");
        assert_eq!(h[0].sample, "01/02/2025");
        assert!(
            h[0].option.contains("%d/%m/%Y") && h[0].option.contains("%m/%d/%Y"),
            "{}",
            h[0]
        );
        let (d, _) = decide_one(&["01/02/2025", "03/04/2025"], String, Some("en-GB"));
        assert_eq!(d.format, Some(ValueFormat::Dates(DateOrder::DayFirst)));
        let (d, _) = decide_one(&["01/02/2025", "03/04/2025"], String, Some("en-US"));
        assert_eq!(d.format, Some(ValueFormat::Dates(DateOrder::MonthFirst)));

        let (d, h) = decide_one(&["1,234", "5,678"], String, None);
        assert_eq!((d.ty, h.len()), (String, 1));
        assert!(h[0].option.contains("decimal_point"), "{}", h[0]);
        let (d, _) = decide_one(&["1,234", "5,678"], String, Some("de-DE"));
        assert_eq!(d.ty, Float);
        let (d, _) = decide_one(&["1,234", "5,678"], String, Some("en-US"));
        assert_eq!(d.ty, Integer);
        // A plain float whose points may group thousands is one in a German input.
        let (d, _) = decide_one(&["1.234", "5.678"], Float, Some("de-DE"));
        assert_eq!(d.ty, Integer);
        let (d, _) = decide_one(&["1.234", "5.678"], Float, None);
        assert_eq!((d.ty, d.format), (Float, None));

        let (_, h) = decide_one(&["12.5%", "3%"], String, None);
        assert!(h[0].option.contains("percent"), "{}", h[0]);
        let (_, h) = decide_one(&["$1,200", "$35.50"], String, None);
        assert!(h[0].option.contains("currency"), "{}", h[0]);
        let (d, h) = decide_one(&["Alice", "Bob"], String, None);
        assert_eq!((d.ty, h.len()), (String, 0));
    }

    #[test]
    fn edge_cases_reviewed() {
        use ColumnType::*;
        // Only nulls: text, no hint, whatever the locale.
        let empty = Observed {
            name: "e",
            plain: None,
            votes: Votes::default(),
            sample: None,
        };
        let de = Locale::parse("de-DE").unwrap();
        let (d, h) = decide(&[empty], &BTreeMap::new(), &BTreeMap::new(), Some(&de));
        assert_eq!((d[0].ty, &d[0].format, h.len()), (String, &None, 0));
        // A plain float that is no grouped number (`1e3`) still reads in the column's point format.
        let mut i = crate::infer::Inference::default();
        let o = crate::infer::ValueOptions {
            null_values: vec![],
            zero_one_booleans: false,
        };
        for v in ["12.5", "1e3", "1,234.5"] {
            i.observe_value(v, &o);
        }
        let (d, _) = decide(
            &[Observed {
                name: "n",
                plain: i.ty,
                votes: i.votes,
                sample: i.sample.as_deref(),
            }],
            &BTreeMap::new(),
            &BTreeMap::new(),
            None,
        );
        let Some(ValueFormat::Number(f)) = d[0].format else {
            panic!("{d:?}")
        };
        assert_eq!(d[0].ty, Float);
        assert_eq!(number_value("1e3", f), Some(1000.0));
        // Too long for 64 bits: a float, not an integer that refuses its own values.
        let (d, _) = decide_one(&["9.223.372.036.854.775.808", "1,5"], String, None);
        assert_eq!(d.ty, Float);
        // Space groups read the same either way.
        let (d, h) = decide_one(&["1 234", "12 345 678"], String, None);
        assert_eq!((d.ty, h.len()), (Integer, 0));
        // Dates with times: the hint names the orders, not a pattern without the time.
        let (_, h) = decide_one(&["01/02/2025 10:00", "03/04/2025 11:00"], String, None);
        assert!(h[0].option.contains("{c: day_first}"), "{}", h[0]);
        // A configured column's own separators win over the locale's.
        let mut configured = BTreeMap::new();
        configured.insert("p".to_string(), FormatSpec::parse("currency").unwrap());
        let (d, _) = decide(
            &[Observed {
                name: "p",
                plain: Some(String),
                votes: votes(&["$1,200.50", "$3.25"]),
                sample: Some("$1,200.50"),
            }],
            &BTreeMap::new(),
            &configured,
            Some(&de),
        );
        let Some(ValueFormat::Number(f)) = d[0].format else {
            panic!("{d:?}")
        };
        assert_eq!(number_value("$1,200.50", f), Some(1200.5));
        let (_, h) = decide_one(&["SKU 123", "SKU 456"], String, None);
        assert!(h.is_empty(), "{h:?}");
    }

    #[test]
    fn one_column_settles_the_others_of_its_file() {
        let observed = |name, values: &[&'static str]| Observed {
            name,
            plain: Some(ColumnType::String),
            votes: votes(values),
            sample: values.first().copied(),
        };
        let columns = [
            observed("amount", &["1.234,56", "12,5"]),
            observed("qty", &["1,234", "5,678"]),
            observed("due", &["31/12/2025"]),
            observed("paid", &["01/02/2025"]),
        ];
        let (d, h) = decide(&columns, &BTreeMap::new(), &BTreeMap::new(), None);
        assert!(h.is_empty(), "{h:?}");
        assert_eq!(d[1].ty, ColumnType::Float, "1,234 is 1.234 beside 1.234,56");
        assert_eq!(d[3].format, Some(ValueFormat::Dates(DateOrder::DayFirst)));
    }

    #[test]
    fn locales_and_format_entries_are_checked() {
        let de = Locale::parse("de-DE").unwrap();
        assert_eq!(
            (de.decimal, de.dates),
            (Decimal::Comma, DateOrder::DayFirst)
        );
        let us = Locale::parse("en_US").unwrap();
        assert_eq!(
            (us.decimal, us.dates),
            (Decimal::Point, DateOrder::MonthFirst)
        );
        assert_eq!(Locale::parse("de-CH").unwrap().decimal, Decimal::Point);
        assert_eq!(Locale::parse("fr").unwrap().decimal, Decimal::Comma);
        assert!(
            Locale::parse("xx-YY")
                .unwrap_err()
                .contains("`xx` is not known")
        );
        assert!(Locale::parse("12").unwrap_err().contains("not a locale"));
        assert!(
            FormatSpec::parse("decimal_coma")
                .unwrap_err()
                .contains("unknown format `decimal_coma`")
        );
        assert!(
            FormatSpec::parse("%d.%m")
                .unwrap_err()
                .contains("needs a year")
        );
        assert!(FormatSpec::parse("%d.%m.%Y %Q").is_err());
        assert_eq!(
            FormatSpec::parse("%d.%m.%Y %H:%M").unwrap().column_type(),
            ColumnType::Timestamp
        );
        assert_eq!(
            FormatSpec::parse("percent decimal_comma")
                .unwrap()
                .resolve(None),
            ValueFormat::Number(NumberFormat {
                decimal: Decimal::Comma,
                percent: true,
                currency: false
            })
        );
    }
}
