//! The filter bar: one control per dashboard filter, pre-filled from the URL's filter set: searchable
//! multi-selects with the most frequent values and their counts (narrowed by the other filters), date ranges with
//! presets relative to the data's last day, numeric ranges with the data's bounds.

use chrono::{Datelike, Duration, NaiveDate};
use lantern_core::dashboard::FilterKind;
use lantern_core::filters::Condition;
use lantern_core::shape::Query;
use serde::Serialize;

use crate::api::{FilterOption, filter_options};
use crate::board::run::{Request, date_bounds};
use crate::state::AppState;

/// A date range preset: its label and the range it sets.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Preset {
    pub label: &'static str,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterControl {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub options: Vec<FilterOption>,
    /// More values exist than are listed: typing searches the server.
    pub more: bool,
    pub selected: Vec<String>,
    pub from: String,
    pub to: String,
    /// The data's bounds, as hints.
    pub min: String,
    pub max: String,
    pub presets: Vec<Preset>,
}

/// Presets relative to `last`, the data's last day; `first` bounds "All".
pub fn presets(first: NaiveDate, last: NaiveDate) -> Vec<Preset> {
    let days = |n: i64| (last - Duration::days(n - 1)).max(first);
    let month_start = last.with_day(1).unwrap_or(last);
    let quarter_start =
        NaiveDate::from_ymd_opt(last.year(), (last.month0() / 3) * 3 + 1, 1).unwrap_or(last);
    let year_start = NaiveDate::from_ymd_opt(last.year(), 1, 1).unwrap_or(last);
    let p = |label, from: NaiveDate| Preset {
        label,
        from: from.max(first).to_string(),
        to: last.to_string(),
    };
    vec![
        p("Last 7 days", days(7)),
        p("Last 30 days", days(30)),
        p("Last 90 days", days(90)),
        p("Month to date", month_start),
        p("Quarter to date", quarter_start),
        p("Year to date", year_start),
        Preset {
            label: "All",
            from: String::new(),
            to: String::new(),
        },
    ]
}

/// Builds the controls for a resolved request.
pub async fn controls(state: &AppState, request: &Request<'_>) -> Vec<FilterControl> {
    let engine = state.engine();
    let model = request.scope.model();
    let futures = request.board.spec.spec.filters.iter().map(|f| async move {
        let label = f.label.clone().unwrap_or_else(|| {
            model
                .dimensions
                .get(&f.dimension)
                .map(|d| d.label.clone())
                .unwrap_or_else(|| lantern_core::semantic::title_case(&f.dimension))
        });
        let mut control = FilterControl {
            name: f.dimension.clone(),
            label,
            kind: "multi_select",
            options: vec![],
            more: false,
            selected: request.scope.filters.selected(&f.dimension),
            from: String::new(),
            to: String::new(),
            min: String::new(),
            max: String::new(),
            presets: vec![],
        };
        if let Some(c @ Condition::Range { .. }) = request.scope.filters.get(&f.dimension) {
            let canon = c.canonical();
            let (a, b) = canon.split_once("..").unwrap_or(("", ""));
            control.from = a.to_string();
            control.to = b.to_string();
        }
        match f.kind {
            FilterKind::MultiSelect => {
                if let Ok(o) = filter_options(state, request, &f.dimension, None).await {
                    control.options = o.options;
                    control.more = o.more;
                }
            }
            FilterKind::DateRange => {
                control.kind = "date_range";
                if let Ok(Some((first, last))) =
                    date_bounds(engine, &request.scope, &f.dimension).await
                {
                    control.min = first.to_string();
                    control.max = last.to_string();
                    control.presets = presets(first, last);
                }
            }
            FilterKind::NumericRange => {
                control.kind = "numeric_range";
                let q = Query::Bounds {
                    dimension: f.dimension.clone(),
                };
                if let Ok((t, _)) = engine.answer(&request.scope, &Default::default(), &q).await
                    && let Some(r) = t.rows.first()
                {
                    control.min = crate::charts::text(&r[0]);
                    control.max = crate::charts::text(&r[1]);
                }
            }
        }
        control
    });
    futures::future::join_all(futures).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_end_on_the_last_day() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = presets(d("2025-01-01"), d("2025-12-31"));
        let find = |l: &str| p.iter().find(|x| x.label == l).unwrap().clone();
        assert_eq!(
            (
                find("Last 7 days").from.as_str(),
                find("Last 7 days").to.as_str()
            ),
            ("2025-12-25", "2025-12-31")
        );
        assert_eq!(find("Last 30 days").from, "2025-12-02");
        assert_eq!(find("Month to date").from, "2025-12-01");
        assert_eq!(find("Quarter to date").from, "2025-10-01");
        assert_eq!(find("Year to date").from, "2025-01-01");
        assert_eq!(find("All").from, "");
        // Never before the data's first day.
        let short = presets(d("2025-12-20"), d("2025-12-31"));
        assert_eq!(short[2].from, "2025-12-20");
    }
}
