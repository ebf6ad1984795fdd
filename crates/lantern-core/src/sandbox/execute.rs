//! Running a checked query: planned and verified in its own session, streamed up to the row cap, on a
//! runtime of its own. The caller's time limit is kept by a timer on the caller's runtime, which a busy
//! sandbox thread cannot hold up; at the limit the query's task is aborted, which drops its plan the next
//! time it yields. DataFusion makes only its data sources yield (`CooperativeExec`), and a join that keeps
//! producing from what it has built never polls them (apache/datafusion#19358: a cross join ran on for
//! minutes after its abort, holding the sandbox's threads); so every operator of a sandboxed plan is wrapped
//! in `CooperativeExec`, and any batch passing anywhere spends tokio's budget and yields in time.

use std::time::Instant;

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;
use futures::StreamExt;

use super::{Answer, Limits, SandboxError, Source, session, statement};

/// Runs sandboxed queries on its own threads.
pub struct Sandbox {
    runtime: Option<tokio::runtime::Runtime>,
    limits: Limits,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which an async context does not allow; its threads end on their own.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// `plan` with every operator wrapped in `CooperativeExec`, so that the query yields wherever it spends time.
fn yielding_everywhere(
    plan: Arc<dyn ExecutionPlan>,
) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        Ok(Transformed::yes(
            Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>
        ))
    })
    .map(|t| t.data)
}

fn classify(e: DataFusionError) -> SandboxError {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(m) => {
            SandboxError::Limit(format!("the query needs more memory than allowed ({m})"))
        }
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_) => SandboxError::Invalid(e.find_root().to_string()),
        other => SandboxError::Failed(other.to_string()),
    }
}

/// Makes the calling thread yield the CPU to the dashboards' threads: a sandbox query runs at the lowest
/// scheduling priority but one (nice 19), so on a machine with few cores a runaway query slows the dashboards
/// as little as the kernel allows. On Linux `setpriority(PRIO_PROCESS, 0, …)` sets the calling thread's own
/// nice value; failure (a restricted container) leaves the thread as it was.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and changes only this thread's scheduling priority.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

impl Sandbox {
    /// A sandbox with `threads` threads of its own.
    pub fn new(limits: Limits, threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("lantern-sandbox")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
            limits,
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs `sql` over `source` within the limits.
    pub async fn run(&self, source: Source, sql: &str) -> Result<Answer, SandboxError> {
        let statement = statement::parse(sql, &self.limits)?;
        let limits = self.limits.clone();
        let started = Instant::now();
        let runtime = self.runtime.as_ref().expect("running");
        let task = runtime.spawn(async move {
            let ctx = session::context(&source, &limits)?;
            let plan = ctx
                .state()
                .statement_to_plan(statement)
                .await
                .map_err(classify)?;
            SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false)
                .verify_plan(&plan)
                .map_err(|e| SandboxError::Refused(e.find_root().to_string()))?;
            let frame = ctx.execute_logical_plan(plan).await.map_err(classify)?;
            let schema = frame.schema().inner().clone();
            let physical = frame.create_physical_plan().await.map_err(classify)?;
            let physical = yielding_everywhere(physical).map_err(classify)?;
            let mut stream = datafusion::physical_plan::execute_stream(physical, ctx.task_ctx())
                .map_err(classify)?;
            let (mut batches, mut rows, mut truncated) = (Vec::new(), 0, false);
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(classify)?;
                let room = limits.max_rows - rows;
                if batch.num_rows() > room {
                    truncated = true;
                    batches.push(batch.slice(0, room));
                    rows += room;
                    break;
                }
                rows += batch.num_rows();
                batches.push(batch);
                if rows == limits.max_rows {
                    // One more batch says whether anything was cut off.
                    truncated = matches!(stream.next().await, Some(Ok(b)) if b.num_rows() > 0);
                    break;
                }
            }
            Ok(Answer {
                schema,
                batches,
                rows,
                truncated,
                elapsed: started.elapsed(),
            })
        });
        let abort = task.abort_handle();
        match tokio::time::timeout(self.limits.timeout, task).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Err(SandboxError::Failed(format!("the query's task ended: {e}"))),
            Err(_) => {
                abort.abort();
                Err(SandboxError::Limit(format!(
                    "the query ran longer than {:.1} s",
                    self.limits.timeout.as_secs_f64()
                )))
            }
        }
    }
}
