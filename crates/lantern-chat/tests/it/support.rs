//! What the chat's integration tests share: demo datasets published in a folder and an engine over them.

use std::path::{Path, PathBuf};

use lantern_core::catalog::Catalog;
use lantern_core::config::{CacheConfig, QueryConfig, StorageConfig};
use lantern_core::query::QueryEngine;
use lantern_core::semantic::DatasetSpec;
use lantern_core::storage::Storage;

/// `datasets` of the demo with `rows` rows each, published in `dir`, and the engine on the repository's specs.
pub async fn demo_engine(dir: &Path, datasets: &[&str], rows: usize) -> (Storage, QueryEngine) {
    let storage = Storage::open(&StorageConfig {
        url: dir.display().to_string(),
        ..Default::default()
    })
    .unwrap();
    let catalog = Catalog::new(storage.clone());
    for id in datasets {
        lantern_core::demo::publish(&catalog, id, rows, &|_| {})
            .await
            .unwrap();
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let specs = DatasetSpec::load_dir(&repo.join("datasets")).unwrap();
    let engine = QueryEngine::new(
        catalog,
        specs,
        &QueryConfig::default(),
        &CacheConfig::default(),
    )
    .unwrap();
    (storage, engine)
}
