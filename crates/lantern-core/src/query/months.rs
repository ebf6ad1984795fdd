//! Date ranges answered by grain: the whole months of a range from a rollup by month, the days at its edges from
//! the raw rows. An item that groups by a dimension with many values (top users) has no rollup by day (one row
//! per user and day is about as large as the raw data), but one by month is small; a range from 17 March to 5
//! September then reads April to August from the rollup and only the 19 edge days from the raw rows, and the
//! partial aggregates of both are added up as one rollup's would be.

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, Partitioning, col};

use super::{LoadedVersion, QueryEngine};
use crate::error::Result;
use crate::filters::{Condition, FilterSet, FilterValue};
use crate::rollup::{MeasurePlan, decompose};
use crate::shape::{Aggregate, GroupKey};

/// The suffix that marks a rollup dimension kept by month (`date@month`): its column holds each month's first day.
pub(super) const BY_MONTH: &str = "@month";

/// The whole months inside `from..=to`: the first one's first day and the day after the last one; `None` when
/// the range holds no whole month.
pub(crate) fn whole_months(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let month_of = |d: NaiveDate| d.with_day(1).expect("day 1 exists");
    let next_month = |d: NaiveDate| d.checked_add_months(chrono::Months::new(1));
    let first = if from.day() == 1 {
        from
    } else {
        next_month(month_of(from))?
    };
    let end = month_of(to.succ_opt()?);
    (first < end).then_some((first, end))
}

fn column(name: &str) -> Expr {
    col(Column::new_unqualified(name))
}

/// The one closed date range of `filters` on a `Date32` dimension: its name and bounds.
fn date_range(
    version: &LoadedVersion,
    filters: &FilterSet,
) -> Option<(String, NaiveDate, NaiveDate)> {
    filters.dimensions().find_map(|d| {
        let dim = version.model.dimensions.get(d)?;
        match (&dim.data_type, filters.get(d)?) {
            (
                DataType::Date32,
                Condition::Range {
                    lo: Some(FilterValue::Date(from)),
                    hi: Some(FilterValue::Date(to)),
                },
            ) => Some((d.to_string(), *from, *to)),
            _ => None,
        }
    })
}

impl QueryEngine {
    /// The partial aggregates of `a` under `filters`, grouped by its dimensions' columns: the rows of a rollup
    /// by month for the date range's whole months and those computed from the raw rows for its edge days, with
    /// the measures over them. `None` when this does not apply: no closed date range with a whole month in it,
    /// a key that is not a plain dimension (or is the date itself), a measure that does not decompose, a range
    /// of `few_rows` (the raw table the caller would scan otherwise), or no rollup by month within bounds.
    pub(super) async fn by_months(
        &self,
        version: &LoadedVersion,
        filters: &FilterSet,
        a: &Aggregate,
        few_rows: bool,
    ) -> Result<Option<(DataFrame, Vec<(String, Expr)>)>> {
        let model = &version.model;
        // A range of few rows scans quicker than two parts are put together.
        if !self.config.rollups || a.search.is_some() || few_rows {
            return Ok(None);
        }
        let Some((date, from, to)) = date_range(version, filters) else {
            return Ok(None);
        };
        let Some((first, end)) = whole_months(from, to) else {
            return Ok(None);
        };
        let date_column = model.dimensions[&date].column.clone();
        let mut keys: Vec<String> = Vec::new();
        for k in &a.group_by {
            let GroupKey::Dimension(d) = k else {
                return Ok(None);
            };
            let c = &model.dimensions[d].column;
            if *c == date_column {
                return Ok(None);
            }
            if !keys.contains(c) {
                keys.push(c.clone());
            }
        }
        // Another filter on the date's column would have to hold on month rows too.
        let others = filters.without(&date);
        if others
            .column_conditions()
            .any(|(c, _)| c == date_column.as_str())
        {
            return Ok(None);
        }
        let mut partials: Vec<Expr> = Vec::new();
        for (i, m) in a.measures.iter().enumerate() {
            match decompose(&model.measures[m].expr, &format!("__m{i}_")) {
                MeasurePlan::Additive { partials: p, .. } => {
                    partials.extend(p.into_iter().map(|(alias, e)| e.alias(alias)));
                }
                MeasurePlan::Distinct { .. } | MeasurePlan::Raw => return Ok(None),
            }
        }
        let mut dims: Vec<String> = others.dimensions().map(str::to_string).collect();
        dims.extend(a.group_by.iter().map(|k| k.dimension().to_string()));
        dims.push(format!("{date}{BY_MONTH}"));
        let Some(part) = self.kept_or_built(version, dims, &a.measures).await else {
            return Ok(None);
        };
        let partial_names: Vec<String> = partials
            .iter()
            .map(|e| e.schema_name().to_string())
            .collect();
        let mut selected: Vec<Expr> = keys.iter().map(|k| column(k)).collect();
        selected.extend(partial_names.iter().map(|p| column(p)));
        // The rollup's date column holds each month's first day: those of the whole months.
        let month_filters =
            filters.with_date_range(&date, first, end.pred_opt().expect("after the first"));
        let months = month_filters.to_expr().expect("a date range");
        let before = first.pred_opt().filter(|d| from <= *d).map(|d| (from, d));
        let after = (end <= to).then_some((end, to));
        let mut edges = Vec::new();
        for (lo, hi) in before.into_iter().chain(after) {
            let edge = filters.with_date_range(&date, lo, hi);
            let (table, few) = self.raw_table(version, &edge)?;
            edges.push((edge, table, few));
        }
        // Few edge rows plan in the lean one-partition context: a page's items already keep both cores busy,
        // and the full rule set takes longer to plan this union than the union takes to run.
        let small = edges.iter().all(|(_, _, few)| *few);
        let ctx = if small { &self.small } else { &self.ctx };
        let mut df = ctx
            .read_table(part.table_under(&month_filters)?)?
            .filter(months)?
            .select(selected)?;
        for (edge, table, _) in edges {
            let mut rows = ctx.read_table(table)?;
            if let Some(p) = edge.to_expr() {
                rows = rows.filter(p)?;
            }
            let rows =
                rows.aggregate(keys.iter().map(|k| column(k)).collect(), partials.clone())?;
            df = df.union(rows)?;
        }
        if small {
            // The union has a partition per part; the lean context adds no step that merges them for the
            // final aggregate.
            df = df.repartition(Partitioning::RoundRobinBatch(1))?;
        }
        Ok(Some((df, part.measures)))
    }
}

#[cfg(test)]
mod tests {
    use super::whole_months;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn whole_months_lie_inside_the_range() {
        assert_eq!(
            whole_months(d("2025-03-17"), d("2025-09-05")),
            Some((d("2025-04-01"), d("2025-09-01")))
        );
        // Both edges on month bounds: every month is whole.
        assert_eq!(
            whole_months(d("2025-01-01"), d("2025-12-31")),
            Some((d("2025-01-01"), d("2026-01-01")))
        );
        assert_eq!(
            whole_months(d("2025-02-01"), d("2025-02-28")),
            Some((d("2025-02-01"), d("2025-03-01")))
        );
        // Less than a whole month, or across one month's end only.
        assert_eq!(whole_months(d("2025-02-02"), d("2025-02-28")), None);
        assert_eq!(whole_months(d("2025-01-15"), d("2025-02-14")), None);
        assert_eq!(whole_months(d("2025-03-10"), d("2025-03-01")), None);
    }
}
