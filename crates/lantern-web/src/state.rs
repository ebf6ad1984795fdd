//! The one shared application state: configuration, the query engine, dashboards and users.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::catalog::Catalog;
use lantern_core::config::Config;
use lantern_core::dashboard::DashboardSpec;
use lantern_core::query::QueryEngine;
use lantern_core::semantic::DatasetSpec;
use lantern_core::storage::Storage;

use crate::board::Board;
use crate::directory::Users;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("auth: {0}")]
    Auth(String),
    #[error("{0}")]
    Sessions(String),
    #[error("chat: {0}")]
    Chat(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

struct Inner {
    config: Config,
    engine: QueryEngine,
    /// Replaced as a whole by a reload (`lantern serve --watch`).
    boards: std::sync::RwLock<Arc<Vec<Arc<Board>>>>,
    users: Users,
    throttle: crate::throttle::Throttle,
    sessions: crate::session_store::Sessions,
    oidc: Option<crate::sso::oidc::Provider>,
    saml: Option<crate::sso::saml::Provider>,
    used_assertions: crate::sso::replay::UsedAssertions,
    reload: std::sync::Mutex<crate::watch::Status>,
    /// The AI chat, when `chat:` is configured.
    chat: Option<Arc<lantern_chat::Chat>>,
    /// Set when shutdown begins: `/readyz` then answers 503.
    draining: std::sync::atomic::AtomicBool,
}

/// Cheap to clone; every handler gets one.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// Opens the configured storage, loads and checks every dataset and dashboard spec, and warms the datasets.
    pub async fn build(config: Config, users: Users) -> Result<Self, StartError> {
        let storage = Storage::open(&config.storage)?;
        Self::build_with_storage(config, users, storage).await
    }

    /// Like [`AppState::build`] over an already opened store.
    pub async fn build_with_storage(
        config: Config,
        users: Users,
        storage: Storage,
    ) -> Result<Self, StartError> {
        let datasets = DatasetSpec::load_dir(&config.datasets_dir)?;
        let boards =
            crate::board::compile_all(DashboardSpec::load_dir(&config.dashboards_dir)?, &datasets)?;
        // Roles name dashboards, datasets and dimensions that must exist: a typo would grant nothing, silently.
        let dashboard_ids = boards.iter().map(|b| b.id().to_string()).collect();
        let dataset_dims = datasets
            .iter()
            .map(|d| {
                let dims = d.spec.metrics.dimensions.keys().cloned().collect();
                (d.id().to_string(), dims)
            })
            .collect();
        let records: Vec<_> = users.all().iter().map(|u| (**u).clone()).collect();
        users
            .roles()
            .check(&dashboard_ids, &dataset_dims, &records)?;
        let chat = match config.chat.clone() {
            Some(c) => Some(Arc::new(
                lantern_chat::Chat::open(c, storage.clone())
                    .await
                    .map_err(|e| StartError::Chat(e.to_string()))?,
            )),
            None => None,
        };
        let engine = QueryEngine::new(
            Catalog::new(storage),
            datasets,
            &config.query,
            &config.cache,
        )?;

        // Load every dataset a dashboard uses now: schema errors stop the start, missing or unreadable data
        // only disables the dashboards that need it.
        let mut used: Vec<&str> = boards
            .iter()
            .map(|b| b.spec.spec.dataset.as_str())
            .collect();
        used.sort_unstable();
        used.dedup();
        for id in used {
            match engine.version(id).await {
                Ok(v) => {
                    users.roles().check_values(id, &v.model)?;
                    for b in boards.iter().filter(|b| b.spec.spec.dataset == id) {
                        b.check_model(&v.model)?;
                        // Builds the items' rollups and caches the unfiltered view, so first visits are fast.
                        if let Err(e) = crate::board::run::run(
                            &engine,
                            b,
                            &[],
                            &lantern_core::access::RowScope::All,
                        )
                        .await
                        {
                            tracing::warn!(dashboard = b.id(), error = %e.message, "warm-up failed");
                        }
                    }
                }
                Err(CoreError::NotFound { .. }) => {
                    tracing::warn!(
                        dataset = id,
                        "no published version yet; its dashboards show no data"
                    )
                }
                Err(e @ CoreError::DatasetUnreadable { .. }) => {
                    tracing::error!(dataset = id, error = %e, "dataset unreadable; its dashboards answer errors")
                }
                Err(e) => return Err(e.into()),
            }
        }
        let throttle = crate::throttle::Throttle::new(config.auth.throttle.clone());
        let sessions = crate::session_store::Sessions::open(&config.sessions.store)
            .await
            .map_err(StartError::Sessions)?;
        // Single sign-on grants roles by name: each must exist.
        let mappings = [
            (
                "auth.oidc.claims",
                config.auth.oidc.as_ref().map(|o| &o.claims),
            ),
            (
                "auth.saml.attributes",
                config.auth.saml.as_ref().map(|s| &s.attributes),
            ),
        ];
        for (field, mapping) in mappings {
            if let Some(m) = mapping {
                let granted = m.role_map.values().flatten().chain(&m.default_roles);
                users.roles().check_granted(field, granted)?;
            }
        }
        let oidc = config
            .auth
            .oidc
            .clone()
            .map(crate::sso::oidc::Provider::new);
        let saml = match config.auth.saml.clone() {
            Some(c) => Some(crate::sso::saml::Provider::new(c).map_err(StartError::Auth)?),
            None => None,
        };
        let used_assertions = crate::sso::replay::UsedAssertions::beside(&sessions);
        Ok(Self(Arc::new(Inner {
            config,
            engine,
            boards: std::sync::RwLock::new(Arc::new(boards)),
            users,
            throttle,
            sessions,
            oidc,
            saml,
            used_assertions,
            reload: Default::default(),
            chat,
            draining: Default::default(),
        })))
    }

    /// Marks the replica as shutting down (readiness fails from now on).
    pub fn begin_drain(&self) {
        self.0
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn engine(&self) -> &QueryEngine {
        &self.0.engine
    }

    /// The AI chat, when configured.
    pub fn chat(&self) -> Option<&Arc<lantern_chat::Chat>> {
        self.0.chat.as_ref()
    }

    pub fn users(&self) -> &Users {
        &self.0.users
    }

    /// The OpenID Connect provider, when single sign-on is configured.
    pub fn oidc(&self) -> Option<&crate::sso::oidc::Provider> {
        self.0.oidc.as_ref()
    }

    /// The SAML identity provider, when single sign-on by SAML is configured.
    pub fn saml(&self) -> Option<&crate::sso::saml::Provider> {
        self.0.saml.as_ref()
    }

    /// Assertion ids already used (SAML replay protection).
    pub fn used_assertions(&self) -> &crate::sso::replay::UsedAssertions {
        &self.0.used_assertions
    }

    pub fn sessions(&self) -> &crate::session_store::Sessions {
        &self.0.sessions
    }

    pub fn throttle(&self) -> &crate::throttle::Throttle {
        &self.0.throttle
    }

    /// Dashboards: YAML ones in file-name order, then the custom pages.
    pub fn boards(&self) -> Arc<Vec<Arc<Board>>> {
        self.0.boards.read().expect("lock").clone()
    }

    pub fn board(&self, id: &str) -> Option<Arc<Board>> {
        self.boards().iter().find(|b| b.id() == id).cloned()
    }

    /// Serves `boards` from now on (a reload that checked out).
    pub(crate) fn set_boards(&self, boards: Vec<Arc<Board>>) {
        *self.0.boards.write().expect("lock") = Arc::new(boards);
    }

    /// The reload status: how many reloads took effect, and why the last one did not, if it did not.
    pub fn reload_status(&self) -> crate::watch::Status {
        self.0.reload.lock().expect("lock").clone()
    }

    pub(crate) fn set_reload_status(&self, change: impl FnOnce(&mut crate::watch::Status)) {
        change(&mut self.0.reload.lock().expect("lock"));
    }
}
