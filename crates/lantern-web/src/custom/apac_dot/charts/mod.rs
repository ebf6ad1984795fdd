//! One file per chart of the APAC DOT page.

pub mod on_time_trend;
pub mod open_past_due;
pub mod reference_pivot;
