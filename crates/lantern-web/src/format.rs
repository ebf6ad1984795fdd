//! Text for measure values, by the measure's [`Format`].

use lantern_core::semantic::Format;
use serde_json::Value;

/// `1234567` → `1,234,567`.
fn thousands(whole: u64) -> String {
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn number(v: f64, decimals: usize) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let rounded = format!("{:.*}", decimals, v.abs());
    let (whole, frac) = rounded.split_once('.').unwrap_or((&rounded, ""));
    let whole = thousands(whole.parse().unwrap_or(0));
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// Formats a measure value for display; null is an em dash.
pub fn format_value(value: &Value, format: Format) -> String {
    let Some(v) = value.as_f64() else {
        return match value {
            Value::Null => "—".into(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    };
    match format {
        Format::Integer => number(v.round(), 0),
        Format::Number => {
            if v.fract() == 0.0 {
                number(v, 0)
            } else {
                number(v, 2)
            }
        }
        Format::Percent => format!("{:.1}%", v * 100.0),
        Format::Currency => format!("${}", number(v, 2)).replace("$-", "-$"),
    }
}

/// `12345` → `12.3k`: three significant digits with a k/M/B/T suffix.
fn compact_number(v: f64) -> String {
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    let (scaled, suffix) = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]
        .iter()
        .find(|(unit, _)| a >= *unit * 0.9995)
        .map(|(unit, s)| (a / unit, *s))
        .unwrap_or((a, ""));
    let digits = if scaled >= 99.95 {
        0
    } else if scaled >= 9.995 {
        1
    } else {
        2
    };
    let mut text = format!("{scaled:.digits$}");
    if suffix.is_empty() && text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{sign}{text}{suffix}")
}

/// Short text for a KPI card, so no value overflows it: `12.3k`, `3.40M`, `$25.0B`, `12.3%`; counts under ten
/// thousand keep their digits (`9,876`), amounts under a hundred their cents (`$99.50`), and other values below
/// the suffixes about four significant digits (`$419.52` → `$420`, `4,321.56` → `4,322`, `419.52` → `419.5`).
pub fn format_compact(value: &Value, format: Format) -> String {
    let Some(v) = value.as_f64() else {
        return format_value(value, format);
    };
    let a = v.abs();
    match format {
        Format::Percent => format_value(value, format),
        Format::Currency if a < 99.995 => format_value(value, format),
        // Cents would overflow a narrow card: `$419.52` reads `$420`.
        Format::Currency if a < 999.5 => format!("${}", number(v, 0)).replace("$-", "-$"),
        Format::Currency => {
            let t = compact_number(v);
            match t.strip_prefix('-') {
                Some(rest) => format!("-${rest}"),
                None => format!("${t}"),
            }
        }
        Format::Number if a < 10_000.0 && v.fract() != 0.0 => {
            let decimals = if a >= 999.95 {
                0
            } else if a >= 99.995 {
                1
            } else {
                2
            };
            let text = number(v, decimals);
            // `100.0` (a value that rounds to a whole) reads as `100`.
            text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
        }
        _ if a < 10_000.0 => format_value(value, format),
        _ => compact_number(v),
    }
}

/// The change from `previous` to `current` as text: relative (`+12.4%`) for amounts and counts, in percentage
/// points (`+1.2 pp`) for percentages; `None` when there is nothing to compare.
pub fn format_change(current: &Value, previous: &Value, format: Format) -> Option<(f64, String)> {
    let (c, p) = (current.as_f64()?, previous.as_f64()?);
    if format == Format::Percent {
        let d = (c - p) * 100.0;
        return Some((
            d,
            format!("{}{:.1} pp", if d >= 0.0 { "+" } else { "−" }, d.abs()),
        ));
    }
    if p == 0.0 {
        return None;
    }
    let d = (c - p) / p.abs() * 100.0;
    Some((
        d,
        format!("{}{:.1}%", if d >= 0.0 { "+" } else { "−" }, d.abs()),
    ))
}

/// The Plotly `tickformat` for an axis showing this format.
pub fn tickformat(format: Format) -> &'static str {
    match format {
        Format::Integer => ",d",
        Format::Number => ",.4~g",
        Format::Percent => ".0%",
        Format::Currency => "$,.2f",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats() {
        assert_eq!(format_value(&json!(1234567), Format::Integer), "1,234,567");
        assert_eq!(format_value(&json!(999), Format::Integer), "999");
        assert_eq!(format_value(&json!(0.33333), Format::Percent), "33.3%");
        assert_eq!(
            format_value(&json!(-1234.5), Format::Currency),
            "-$1,234.50"
        );
        assert_eq!(format_value(&json!(12.0), Format::Number), "12");
        assert_eq!(format_value(&json!(1000.256), Format::Number), "1,000.26");
        assert_eq!(format_value(&json!(null), Format::Number), "—");
    }

    #[test]
    fn compact_values_fit_a_card() {
        let c = |v: Value, f| format_compact(&v, f);
        let cases = [
            (json!(24_991_751_330.31f64), Format::Currency, "$25.0B"),
            (json!(1234), Format::Integer, "1,234"),
            (json!(12_345), Format::Integer, "12.3k"),
            (json!(123_456), Format::Integer, "123k"),
            (json!(3_400_000), Format::Integer, "3.40M"),
            (json!(999_999), Format::Integer, "1.00M"),
            (json!(-45_600.0), Format::Currency, "-$45.6k"),
            (json!(0.1234), Format::Percent, "12.3%"),
            (json!(1234.5), Format::Currency, "$1.23k"),
            (json!(999.5), Format::Currency, "$1.00k"),
            (json!(419.52), Format::Currency, "$420"),
            (json!(-250.4), Format::Currency, "-$250"),
            (json!(99.5), Format::Currency, "$99.50"),
            (json!(4321.56), Format::Number, "4,322"),
            (json!(419.52), Format::Number, "419.5"),
            (json!(99.96), Format::Number, "99.96"),
            (json!(7.12345), Format::Number, "7.12"),
            (json!(250), Format::Number, "250"),
        ];
        for (v, f, text) in cases {
            assert_eq!(c(v.clone(), f), text, "{v} as {f:?}");
        }
        // Below the suffixes no value is longer than seven characters (`-$99.50`, `-$999`, `-9,999`, `-99.99`).
        for v in [
            0.5, 12.345, 99.994, 99.996, 100.04, 419.52, 999.4, 999.96, 1234.5, 9999.4,
        ] {
            for f in [Format::Currency, Format::Number] {
                for v in [v, -v] {
                    let text = c(json!(v), f);
                    assert!(text.chars().count() <= 7, "{v} as {f:?}: {text}");
                }
            }
        }
        // However large, the text stays short.
        for v in [1e3, 1e6, 9.99e8, 1e9, 5.5e11, 1e14] {
            assert!(c(json!(v), Format::Currency).chars().count() <= 7, "{v}");
        }
    }

    #[test]
    fn changes() {
        assert_eq!(
            format_change(&json!(110), &json!(100), Format::Integer).map(|c| c.1),
            Some("+10.0%".into())
        );
        assert_eq!(
            format_change(&json!(0.52), &json!(0.55), Format::Percent).map(|c| c.1),
            Some("−3.0 pp".into())
        );
        assert_eq!(format_change(&json!(5), &json!(0), Format::Integer), None);
        assert_eq!(
            format_change(&json!(5), &json!(null), Format::Integer),
            None
        );
    }
}
