//! Starts Lantern on 127.0.0.1:0 over freshly published demo data, and reads that data back independently.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use lantern_core::catalog::Catalog;
use lantern_core::config::Config;
use lantern_core::storage::Storage;
use lantern_web::AppState;
use lantern_web::auth::Users;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub const PASSWORD: &str = "correct horse battery staple";
pub const DEMO_ROWS: usize = 20_000;

/// The repository root (shipped `datasets/` and `dashboards/` live there).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One browser's view of a running app: its address and a client with its own cookie jar.
pub struct Visitor {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

pub struct TestApp {
    visitor: Visitor,
    pub storage: Storage,
    _dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Where the test's datasets live.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Local,
    S3,
}

pub use lantern_testkit::{S3_KEY, S3_SECRET};

pub fn base_config(data_url: &str) -> Config {
    let mut config = Config::default();
    config.storage.url = data_url.to_string();
    config.datasets_dir = repo_root().join("datasets");
    config.dashboards_dir = repo_root().join("dashboards");
    config.auth.admin_password = Some(PASSWORD.to_string());
    config
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// Local-folder storage with both demo datasets published.
    pub async fn start() -> Self {
        Self::start_configured(|_| {}).await
    }

    /// Like [`TestApp::start`], with config changes.
    pub async fn start_configured(change: impl FnOnce(&mut Config)) -> Self {
        Self::start_on(Backend::Local, change).await
    }

    /// Both demo datasets published on `backend`, through Lantern's own publish path.
    pub async fn start_on(backend: Backend, change: impl FnOnce(&mut Config)) -> Self {
        Self::start_at(backend, |c, _| change(c)).await
    }

    /// Like [`TestApp::start_on`], with config changes that need the app's own address (callback URLs).
    pub async fn start_at(backend: Backend, change: impl FnOnce(&mut Config, SocketAddr)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = match backend {
            Backend::Local => base_config(&dir.path().join("data").display().to_string()),
            Backend::S3 => {
                let endpoint =
                    lantern_testkit::start_s3(&dir.path().join("s3"), &["lantern"]).await;
                let mut c = base_config("s3://lantern/warehouse");
                c.storage.endpoint = Some(endpoint);
                c.storage.path_style = true;
                c.storage.region = Some("us-east-1".into());
                c.storage.access_key_id = Some(S3_KEY.into());
                c.storage.secret_access_key = Some(S3_SECRET.into());
                c
            }
        };
        change(&mut config, listener.local_addr().unwrap());
        let storage = Storage::open(&config.storage).unwrap();
        publish_demo(&storage).await;
        Self::start_state(config, storage, Some(dir), false, listener).await
    }

    pub async fn start_with(
        config: Config,
        storage: Storage,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_state(config, storage, dir, false, listener).await
    }

    /// Demo data published, the shipped specs copied into `specs` (`datasets/`, `dashboards/`) and served from
    /// there, watched for changes as `lantern serve --watch` does.
    pub async fn start_watching(specs: &std::path::Path) -> Self {
        for folder in ["datasets", "dashboards"] {
            let to = specs.join(folder);
            std::fs::create_dir_all(&to).unwrap();
            for e in std::fs::read_dir(repo_root().join(folder)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut config = base_config(&dir.path().join("data").display().to_string());
        config.datasets_dir = specs.join("datasets");
        config.dashboards_dir = specs.join("dashboards");
        let storage = Storage::open(&config.storage).unwrap();
        publish_demo(&storage).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_state(config, storage, Some(dir), true, listener).await
    }

    async fn start_state(
        config: Config,
        storage: Storage,
        dir: Option<tempfile::TempDir>,
        watch: bool,
        listener: tokio::net::TcpListener,
    ) -> Self {
        crate::audit_log::capture();
        let (users, _) = Users::from_config(&config.auth).unwrap();
        let state = AppState::build_with_storage(config, users, storage.clone())
            .await
            .unwrap();
        if watch {
            state.spawn_watch(std::time::Duration::from_millis(150));
        }
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(lantern_web::serve(listener, state, async {
            let _ = rx.await;
        }));
        Self {
            visitor: Visitor {
                addr,
                client: client(),
            },
            storage,
            _dir: dir,
            shutdown: Some(tx),
        }
    }

    /// Another visitor of the same app, with its own cookies.
    pub fn with_client(&self, client: reqwest::Client) -> Visitor {
        Visitor {
            addr: self.visitor.addr,
            client,
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = Visitor;

    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl Visitor {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn login(&self) {
        let res = self.login_as("admin", PASSWORD).await;
        assert_eq!(
            res.status(),
            303,
            "login failed: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// The body of a GET of `path` (redirects not followed).
    pub async fn page(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The CSRF token of the page at `path`, as its forms carry it.
    pub async fn csrf(&self, path: &str) -> String {
        let page = self.page(path).await;
        lantern_testkit::csrf_token(&page).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// Signs in through the login form as a browser does (the form's CSRF token included).
    pub async fn login_as(&self, username: &str, password: &str) -> reqwest::Response {
        let csrf = self.csrf("/login").await;
        self.client
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/"),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs out through the sidebar's form.
    pub async fn logout(&self) -> reqwest::Response {
        let csrf = self.csrf("/").await;
        self.client
            .post(self.url("/logout"))
            .form(&[("csrf", &csrf)])
            .send()
            .await
            .unwrap()
    }

    /// The status of a GET, redirects not followed.
    pub async fn status(&self, path: &str) -> u16 {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Where a GET of `path` redirects to (it must answer 303).
    pub async fn redirect_of(&self, path: &str) -> String {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(
            res.status(),
            303,
            "{path}: {}",
            res.text().await.unwrap_or_default()
        );
        res.headers()["location"].to_str().unwrap().to_string()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

/// Why Lantern refuses to start with `config`, the demo data published first when `with_demo`.
pub async fn start_error(config: Config, with_demo: bool) -> String {
    let storage = Storage::open(&config.storage).unwrap();
    if with_demo {
        publish_demo(&storage).await;
    }
    let (users, _) = Users::from_config(&config.auth).unwrap();
    match AppState::build_with_storage(config, users, storage).await {
        Ok(_) => panic!("Lantern started, though it should have refused"),
        Err(e) => e.to_string(),
    }
}

pub async fn publish_demo(storage: &Storage) {
    let catalog = Catalog::new(storage.clone());
    for id in lantern_core::demo::DATASETS {
        lantern_core::demo::publish(&catalog, id, DEMO_ROWS, &|_| {})
            .await
            .unwrap();
    }
}

/// Every Parquet file of version `version` of `id`, read straight from the store (not through Lantern's reader).
pub async fn read_dataset(storage: &Storage, id: &str, version: u64) -> Vec<RecordBatch> {
    let store: Arc<dyn object_store::ObjectStore> = storage.store().clone();
    let prefix = ObjectPath::from(format!("datasets/{id}/v{version}"));
    let mut files: Vec<ObjectPath> = store
        .list(Some(&prefix))
        .map_ok(|m| m.location)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.as_ref().ends_with(".parquet"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no parquet files for {id}");
    let mut out = Vec::new();
    for f in files {
        let bytes: Bytes = store.get(&f).await.unwrap().bytes().await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            out.push(batch.unwrap());
        }
    }
    out
}

/// `n` with thousands separators, as pages show counts (`12,345`).
pub fn fmt_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
