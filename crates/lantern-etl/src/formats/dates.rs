//! Dates and timestamps written day first, month first or year first.

use super::*;

/// `d.m.yyyy`, `d/m/yyyy` or `d-m-yyyy` (either order) with an optional ` HH:MM[:SS]`: the two leading numbers,
/// the separator, the year and the time of day in seconds.
pub(super) struct DateShape {
    pub(super) first: u32,
    pub(super) second: u32,
    pub(super) separator: u8,
    pub(super) year: i32,
    pub(super) seconds: Option<u32>,
}

pub(super) fn date_shape(t: &str) -> Option<DateShape> {
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

pub(super) fn shape_parts(s: &DateShape, order: DateOrder) -> Option<(i32, Option<u32>)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
