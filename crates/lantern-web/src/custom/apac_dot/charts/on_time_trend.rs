//! The on-time trend: a line per sub-region by due month, drilling down to weeks and days.

use lantern_core::shape::Grain;

use super::super::constants::{DUE, ON_TIME_RATE};
use crate::charts::line::{Line, Options, Style};
use crate::charts::options::OneOrMany;

pub fn trend() -> Line {
    Line {
        options: Options {
            x: DUE.to_string(),
            y: OneOrMany::One(ON_TIME_RATE.to_string()),
            color: Some("sub_region".to_string()),
            grain: Grain::Month,
            stacked: false,
            normalize: false,
        },
        measures: vec![ON_TIME_RATE.to_string()],
        style: Style::Line,
    }
}
