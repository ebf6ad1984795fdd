//! Numbers and dates as locales write them: `1.234,56`, `1,234.56`, `1 234,56`, `12,5 %`, `$1,200`,
//! `31.12.2025`, `12/31/2025 14:30`.
//!
//! Plain inference ([`crate::infer`]) reads the forms every locale shares (`1234.56`, `2025-12-31`). A column it
//! leaves as text was also watched by [`Votes`]: when every value reads one way only (`1.234,56` is a decimal
//! comma, `31/12/2025` day-first), the column takes that format; when the values allow two readings (`1,234`;
//! `01/02/2025` throughout), the dataset's `load.locale` or another column of the same file decides, and without
//! either the column stays text with a [`Hint`] naming the option that would type it. Values that disagree
//! leave the column text: nothing is ever guessed row by row.
//!
//! One job a file: [`locale`] (`load.locale`), [`spec`] (`load.formats` and the formats a column can have),
//! [`numbers`] and [`dates`] (reading values in a format), [`votes`] (what each value allows) and [`decide`] (a
//! column's format, or a hint).

mod dates;
mod decide;
mod locale;
mod numbers;
mod spec;
mod votes;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::infer::ColumnType;

pub use dates::{date_value, timestamp_value};
pub use decide::{Decided, Hint, Observed, decide};
pub use locale::{DateOrder, Decimal, Locale};
pub use numbers::{integer_value, number_value};
pub use spec::{FormatSpec, NumberFormat, ValueFormat};
pub use votes::Votes;

use dates::{date_shape, shape_parts};
use numbers::{Digits, digits, strip_currency, strip_percent};
use spec::SpecKind;
use votes::reading;
