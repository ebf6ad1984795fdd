//! A column's format decided from its votes, its file's other columns and the locale; hints for what stays
//! text.

use super::*;

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
}
