//! Rollups: small pre-aggregated tables built once per dataset version that answer a dashboard item exactly.
//!
//! A dashboard item groups by a few dimensions and is filtered only on the dashboard's filter dimensions, so a
//! table grouped by (filter dimensions ∪ item dimensions) with partial aggregates answers it exactly:
//!
//! - `sum`, `count`, `min`, `max` (with or without `FILTER (WHERE …)`) are computed per group and re-aggregated
//!   (`count` becomes a sum of counts); expressions over them (`sum(a) / sum(b)`) are rebuilt on top.
//! - a measure that is exactly `count(DISTINCT x) [FILTER (WHERE …)]` keeps, per group, the set of its distinct
//!   values as a bitmap ([`distinct_sets`]); a query counts the union of the selected groups' sets (distinct
//!   counts cannot be summed).
//! - anything else (`avg`, `median`, a distinct count inside an expression) is answered from the raw rows.
//!
//! A rollup is kept only when it is much smaller than the raw data; otherwise the item scans the raw rows.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::functions::expr_fn::coalesce;
use datafusion::functions_aggregate::expr_fn::{max, min, sum};
use datafusion::logical_expr::{Expr, col, lit};

pub(crate) mod distinct_sets;

/// How a measure can be answered from a rollup.
#[derive(Debug, Clone)]
pub(crate) enum MeasurePlan {
    /// Partial aggregates (named) computed per group, and the expression that re-aggregates them.
    Additive {
        partials: Vec<(String, Expr)>,
        reagg: Expr,
    },
    /// `count(DISTINCT arg) FILTER (WHERE filter)`.
    Distinct { arg: Expr, filter: Option<Expr> },
    /// Only the raw rows can answer it.
    Raw,
}

fn strip_alias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => strip_alias(&a.expr),
        other => other,
    }
}

/// Splits a compiled measure expression; partial columns are named `{prefix}0`, `{prefix}1`, ….
pub(crate) fn decompose(expr: &Expr, prefix: &str) -> MeasurePlan {
    if let Expr::AggregateFunction(af) = strip_alias(expr)
        && af.params.distinct
    {
        let p = &af.params;
        return if af.func.name().eq_ignore_ascii_case("count")
            && p.args.len() == 1
            && p.order_by.is_empty()
        {
            MeasurePlan::Distinct {
                arg: p.args[0].clone(),
                filter: p.filter.as_deref().cloned(),
            }
        } else {
            MeasurePlan::Raw
        };
    }
    let mut partials: Vec<(String, Expr)> = Vec::new();
    let mut decomposable = true;
    let rewritten = expr.clone().transform_down(|e| {
        let Expr::AggregateFunction(af) = &e else {
            return Ok(Transformed::no(e));
        };
        let name = af.func.name().to_ascii_lowercase();
        if af.params.distinct
            || !af.params.order_by.is_empty()
            || !matches!(name.as_str(), "sum" | "count" | "min" | "max")
        {
            decomposable = false;
            return Ok(Transformed::new(e, false, TreeNodeRecursion::Jump));
        }
        let alias = format!("{prefix}{}", partials.len());
        let partial = col(alias.as_str());
        let reagg = match name.as_str() {
            "sum" => sum(partial),
            "count" => coalesce(vec![sum(partial), lit(0i64)]),
            "min" => min(partial),
            _ => max(partial),
        };
        partials.push((alias, e));
        Ok(Transformed::new(reagg, true, TreeNodeRecursion::Jump))
    });
    match rewritten {
        Ok(t) if decomposable && !partials.is_empty() => MeasurePlan::Additive {
            partials,
            reagg: t.data,
        },
        _ => MeasurePlan::Raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::DFSchema;
    use datafusion::prelude::SessionContext;

    fn parse(sql: &str) -> Expr {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, false),
            Field::new("u", DataType::Utf8, false),
            Field::new("ok", DataType::Boolean, false),
        ]);
        let df = DFSchema::try_from(schema).unwrap();
        SessionContext::new().parse_sql_expr(sql, &df).unwrap()
    }

    #[test]
    fn ratios_of_sums_are_additive() {
        match decompose(&parse("sum(a) / sum(b)"), "p") {
            MeasurePlan::Additive { partials, reagg } => {
                assert_eq!(partials.len(), 2);
                assert_eq!(partials[0].0, "p0");
                let shown = reagg.to_string();
                assert!(
                    shown.contains("sum(p0)") && shown.contains("sum(p1)"),
                    "{shown}"
                );
            }
            other => panic!("{other:?}"),
        }
        match decompose(&parse("count(*) filter (where ok)"), "q") {
            MeasurePlan::Additive { partials, reagg } => {
                assert_eq!(partials.len(), 1);
                assert!(reagg.to_string().contains("coalesce"), "{reagg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn distinct_counts_keep_their_sets_and_the_rest_is_raw() {
        assert!(matches!(
            decompose(&parse("count(distinct u) filter (where ok)"), "p"),
            MeasurePlan::Distinct {
                filter: Some(_),
                ..
            }
        ));
        assert!(matches!(
            decompose(&parse("sum(a) / count(distinct u)"), "p"),
            MeasurePlan::Raw
        ));
        assert!(matches!(decompose(&parse("avg(a)"), "p"), MeasurePlan::Raw));
    }
}
