//! The session a sandboxed query runs in, made for that query alone: the user's dataset as a view under their
//! row rules is its only table; no table functions, table factories, URL tables, `information_schema` or
//! recursive CTEs; a memory pool with a limit and no disk to spill to.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::{Limits, SandboxError, Source};

/// Scalar functions whose output no input bounds (`repeat('x', 2000000000)` allocates outside any memory
/// pool), or that make rows out of nothing: left out of the sandbox.
const UNBOUNDED_FUNCTIONS: [&str; 7] = [
    "repeat",
    "lpad",
    "rpad",
    "array_repeat",
    "array_resize",
    "range",
    "generate_series",
];

/// DataFusion's scalar functions without those, listed once (each query's session takes the same list).
static BOUNDED_SCALAR_FUNCTIONS: LazyLock<Vec<Arc<ScalarUDF>>> = LazyLock::new(|| {
    datafusion::execution::SessionStateDefaults::default_scalar_functions()
        .into_iter()
        .filter(|f| {
            !UNBOUNDED_FUNCTIONS.contains(&f.name())
                && !f
                    .aliases()
                    .iter()
                    .any(|a| UNBOUNDED_FUNCTIONS.contains(&a.as_str()))
        })
        .collect()
});

/// A fresh session whose one table is `source`.
pub(super) fn context(source: &Source, limits: &Limits) -> Result<SessionContext, SandboxError> {
    let failed = |e: datafusion::error::DataFusionError| SandboxError::Failed(e.to_string());
    let mut config = SessionConfig::new().with_information_schema(false);
    config.options_mut().execution.enable_recursive_ctes = false;
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory_bytes, 1.0)
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        )
        .build_arc()
        .map_err(failed)?;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_table_functions(HashMap::new())
        .with_table_factories(HashMap::new())
        .with_scalar_functions(BOUNDED_SCALAR_FUNCTIONS.clone())
        .build();
    let ctx = SessionContext::new_with_state(state);
    let mut rows = ctx.read_table(source.table.clone()).map_err(failed)?;
    if let Some(rule) = &source.rows {
        rows = rows.filter(rule.clone()).map_err(failed)?;
    }
    // Only the view is registered: the table under it has no name a query could use.
    ctx.register_table(source.name.as_str(), rows.into_view())
        .map_err(failed)?;
    Ok(ctx)
}
