//! View models for the page components (sidebar, filter bar, KPI cards); the markup is in
//! `templates/components/*.html`.

pub mod filters;
pub mod sidebar;
