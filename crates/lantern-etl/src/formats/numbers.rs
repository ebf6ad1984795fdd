//! Numbers with any locale's separators, percent signs and currency symbols.

use super::*;

/// A number's text without its separators, signs or symbols: what `str::parse` reads.
pub(super) struct Digits {
    pub(super) buf: [u8; 48],
    pub(super) len: usize,
    /// No decimal part.
    pub(super) whole: bool,
}

impl Digits {
    /// Appends one byte; `None` when the number is too long to be one.
    pub(super) fn push(&mut self, b: u8) -> Option<()> {
        *self.buf.get_mut(self.len)? = b;
        self.len += 1;
        Some(())
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("ASCII")
    }

    /// The number over 100. Shifting the decimal point in the text (`12.5e-2`) keeps the result the nearest
    /// double (12.5 % is 0.125 exactly), without allocating for each value.
    pub(super) fn hundredth(&self) -> Option<f64> {
        let mut text = [0u8; 51];
        text[..self.len].copy_from_slice(&self.buf[..self.len]);
        text[self.len..self.len + 3].copy_from_slice(b"e-2");
        std::str::from_utf8(&text[..self.len + 3])
            .ok()?
            .parse()
            .ok()
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
pub(super) fn strip_currency(t: &str) -> (std::borrow::Cow<'_, str>, bool) {
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
pub(super) fn digits(t: &str, decimal: Decimal, strict: bool) -> Option<Digits> {
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
pub(super) fn strip_percent(t: &str) -> Option<&str> {
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
        d.hundredth()?
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
}
