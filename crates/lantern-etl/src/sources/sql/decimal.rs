//! Exact decimals: database numeric text into Decimal128 values.

/// `12.345` → 123450000000 at scale 10; more decimals than `scale` are rounded half away from zero.
pub fn parse_decimal(text: &str, scale: i8) -> Option<i128> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for b in int_part.bytes() {
        value = value.checked_mul(10)?.checked_add((b - b'0') as i128)?;
    }
    let frac = frac_part.as_bytes();
    for i in 0..scale {
        let d = frac.get(i).map(|b| (b - b'0') as i128).unwrap_or(0);
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    if frac.get(scale).is_some_and(|b| *b >= b'5') {
        value = value.checked_add(1)?;
    }
    if value >= 10i128.pow(38) {
        return None;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_round_past_the_scale() {
        assert_eq!(parse_decimal("12.345", 4), Some(123450));
        assert_eq!(parse_decimal("-0.00005", 4), Some(-1));
        assert_eq!(parse_decimal("7", 2), Some(700));
        assert_eq!(parse_decimal("1.2.3", 2), None);
        assert_eq!(parse_decimal("abc", 2), None);
        assert_eq!(parse_decimal(&"9".repeat(40), 0), None);
    }
}
