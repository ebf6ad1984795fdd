//! `load.formats`: how one column's values are written, as configured or as detected.

use super::*;

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
    pub(super) decimal: Option<Decimal>,
    pub(super) kind: SpecKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SpecKind {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // A script subtag does not change the numbers: Traditional Chinese in Taiwan, Serbian in Latin script.
        let tw = Locale::parse("zh-Hant-TW").unwrap();
        assert_eq!(
            (tw.decimal, tw.dates),
            (Decimal::Point, DateOrder::YearFirst)
        );
        assert_eq!(Locale::parse("de_Latn_AT").unwrap().decimal, Decimal::Comma);
        assert!(
            Locale::parse("de--DE")
                .unwrap_err()
                .contains("not a locale")
        );
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
