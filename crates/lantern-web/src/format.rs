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
}
