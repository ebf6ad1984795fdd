//! Queries on a Ballista cluster (`query.engine: ballista://host:port`): the engine's context plans as usual, and
//! Ballista's query planner ships each plan to the scheduler as protobuf, whose executors run it and send the
//! results back over Arrow Flight. The same DataFrames, filters and measures as the embedded engine.
//!
//! What cannot travel is left out: tables held in memory (hot versions, rollups, a row index's selection) exist
//! only in this process, so on a cluster every query scans the version's Parquet files, which the executors read
//! at their real URLs (`file:///…` on a shared folder, `s3://bucket/prefix/…` with the executors' own `AWS_*`
//! credentials; a store registered here does not reach them).

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::config::SessionConfig;
use datafusion::prelude::SessionContext;

use ballista::extension::SessionStateExt;

use crate::config::QueryConfig;
use crate::storage::Storage;

/// A context whose plans run on the scheduler at `scheduler` (`http://host:port`); `storage`'s S3 store is
/// registered for planning here (schemas are read by this process).
pub(super) fn remote_context(
    session: SessionConfig,
    scheduler: &str,
    storage: &Storage,
) -> SessionContext {
    let state = SessionStateBuilder::new()
        .with_config(session)
        .with_default_features()
        .build()
        .upgrade_for_ballista(scheduler.to_string())
        // Ballista 55 only rebuilds the state here; nothing in it can fail.
        .expect("a session state upgrades for Ballista");
    let ctx = SessionContext::new_with_state(state);
    if let Some(shared) = storage.shared_location()
        && let Some(store) = &shared.store
    {
        ctx.register_object_store(&shared.base, store.clone());
    }
    ctx
}

/// `query` as it applies on a cluster: nothing held in memory, so no hot tables and no rollups.
pub(super) fn cluster_config(query: &QueryConfig) -> QueryConfig {
    QueryConfig {
        hot_rows_limit: 0,
        rollups: false,
        ..query.clone()
    }
}
