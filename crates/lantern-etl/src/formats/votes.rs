//! What each value of a column says about its format, tallied while the column is read.

use super::*;

/// The readings a column's values allow, as bits of [`Votes`].
pub(super) mod reading {
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
    pub(super) dead: u8,
    /// Readings some value fitted while the other of its pair did not (`1.234,5` for a comma; `31/12` for
    /// day-first), or a currency sign was seen.
    pub(super) decisive: u8,
    /// Some value fitted both number readings with different values (`1,234`).
    pub(super) ambiguous_number: bool,
    /// Every value fitting the point (comma) reading was a whole number in it.
    pub(super) whole_point: bool,
    pub(super) whole_comma: bool,
    /// Some date value had a time of day.
    pub(super) time: bool,
    /// The first separator of the dates seen.
    pub(super) separator: u8,
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
    /// Votes that watch nothing: for values no locale's format applies to (JSON lines), so that reading them
    /// costs only plain inference.
    pub fn off() -> Self {
        Self {
            dead: reading::ALL,
            whole_point: false,
            whole_comma: false,
            ..Self::default()
        }
    }

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

    pub(super) fn has(&self, bit: u8) -> bool {
        self.dead & bit == 0
    }

    /// The number reading the values settle on by themselves.
    pub(super) fn decimal(&self) -> Option<Decimal> {
        match (self.has(reading::POINT), self.has(reading::COMMA)) {
            (true, false) => Some(Decimal::Point),
            (false, true) => Some(Decimal::Comma),
            _ => None,
        }
    }

    /// The decimal separator the values settle on once `%` and currency signs are dropped.
    pub(super) fn bare_decimal(&self) -> Option<Decimal> {
        match (self.has(reading::BARE_POINT), self.has(reading::BARE_COMMA)) {
            (true, false) => Some(Decimal::Point),
            (false, true) => Some(Decimal::Comma),
            _ => None,
        }
    }

    /// The date order the values settle on by themselves.
    pub(super) fn order(&self) -> Option<DateOrder> {
        let (d, m) = (self.has(reading::DAY_FIRST), self.has(reading::MONTH_FIRST));
        match (d, m) {
            (true, false) => Some(DateOrder::DayFirst),
            (false, true) => Some(DateOrder::MonthFirst),
            _ => None,
        }
    }
}
