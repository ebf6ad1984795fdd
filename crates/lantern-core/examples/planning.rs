//! What planning costs a small query, by phase, with DataFusion's full rule sets and with the lean ones of the
//! engine's one-partition context (`lantern_core::query::one_partition_context`): a filter, group and sort over a 4,000-row
//! in-memory table, the size of a rollup. `cargo run --release -p lantern-core --example planning`; figures in
//! docs/benchmarks.md.

use datafusion::arrow::array::{Date32Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::functions_aggregate::expr_fn::sum;
use datafusion::logical_expr::{col, lit};
use datafusion::physical_plan::collect;
use datafusion::prelude::*;
use std::sync::Arc;
use std::time::Instant;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> datafusion::error::Result<()> {
    let n = 4000;
    let schema = Arc::new(Schema::new(vec![
        Field::new("team", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("req", DataType::Int64, false),
        Field::new("cost", DataType::Float64, false),
    ]));
    let teams = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values((0..n).map(|i| teams[i % 8]))),
            Arc::new(Date32Array::from_iter_values(
                (0..n).map(|i| 19000 + (i / 8) as i32),
            )),
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i as i64))),
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 * 0.5),
            )),
        ],
    )?;
    let table = Arc::new(MemTable::try_new(schema, vec![vec![b]])?);
    let cfg = SessionConfig::new().with_target_partitions(1);
    let full = SessionContext::new_with_config(cfg.clone());
    let lean = lantern_core::query::one_partition_context(cfg.clone());
    for (name, ctx) in [
        ("full", &full),
        ("lean", &lean),
        ("full", &full),
        ("lean", &lean),
    ] {
        let (mut tl, mut to, mut tp, mut te) = (0.0, 0.0, 0.0, 0.0);
        let iters = 300;
        let mut rows = 0;
        for i in 0..iters {
            let t0 = Instant::now();
            let df = ctx
                .read_table(table.clone())?
                .filter(col("team").in_list(vec![lit("a"), lit("c")], false).and(
                    col("day").gt_eq(lit(datafusion::scalar::ScalarValue::Date32(Some(
                        19100 + i % 50,
                    )))),
                ))?
                .aggregate(
                    vec![col("day")],
                    vec![sum(col("req")).alias("r"), sum(col("cost")).alias("c")],
                )?
                .sort(vec![col("day").sort(true, false)])?;
            let (state, plan) = df.into_parts();
            let t1 = Instant::now();
            let opt = state.optimize(&plan)?;
            let t2 = Instant::now();
            let phys = state
                .query_planner()
                .create_physical_plan(&opt, &state)
                .await?;
            let t3 = Instant::now();
            let out = collect(phys, ctx.task_ctx()).await?;
            let t4 = Instant::now();
            rows += out.iter().map(|b| b.num_rows()).sum::<usize>();
            tl += (t1 - t0).as_secs_f64();
            to += (t2 - t1).as_secs_f64();
            tp += (t3 - t2).as_secs_f64();
            te += (t4 - t3).as_secs_f64();
        }
        let k = 1e3 / iters as f64;
        println!(
            "{name}: build the DataFrame {:.3} optimize {:.3} physical(+phys opt) {:.3} execute {:.3} ms  rows {rows}",
            tl * k,
            to * k,
            tp * k,
            te * k
        );
    }
    Ok(())
}
