//! Area charts: line charts whose series are stacked (or overlapped with `stacked: false`).

use super::Kind;
use super::line::{Style, compile};

pub const KIND: Kind = Kind {
    name: "area",
    compile: |c| compile(c, Style::Area),
};
