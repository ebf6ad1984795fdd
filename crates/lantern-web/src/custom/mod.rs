//! Custom pages: dashboards written in Rust when YAML is not enough, one module per page, each building a
//! [`Board`] that the same request path, cache, filters, exports and page template serve.

pub mod apac_dot;

use lantern_core::Error as CoreError;
use lantern_core::semantic::DatasetSpec;

use crate::board::Board;

/// A custom page: builds its board when its dataset is configured (`Ok(None)` otherwise).
pub type Page = fn(&[DatasetSpec]) -> Result<Option<Board>, CoreError>;

/// Every custom page.
pub const PAGES: &[Page] = &[apac_dot::board];
