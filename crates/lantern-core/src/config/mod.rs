//! Lantern's configuration: an optional `lantern.yaml`, a `.env` file and `LANTERN_*` environment variables,
//! in rising order of precedence. Every key has a default that gives the embedded setup: data in
//! `./lantern-data` (a local object store), an in-memory cache and port 8050.
//!
//! ```
//! use lantern_core::config::Config;
//! let env = [("LANTERN_PORT".to_string(), "9000".to_string())];
//! let config = Config::from_sources(None, env).unwrap();
//! assert_eq!(config.server.port, 9000);
//! assert_eq!(config.storage.url, "./lantern-data");
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::access::{RoleConfig, UserRecord};
use crate::error::{Error, Result};
use crate::yaml_lines::LineIndex;

mod chat;

pub use chat::{ChatConfig, ChatPrice, ChatProvider, SandboxConfig};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub cache: CacheConfig,
    pub query: QueryConfig,
    /// Folder of dashboard specs (`*.yaml`).
    pub dashboards_dir: PathBuf,
    /// Folder of dataset specs (`*.yaml`: metrics, cache TTL, later ETL sources).
    pub datasets_dir: PathBuf,
    pub auth: AuthConfig,
    pub sessions: SessionsConfig,
    pub log: LogConfig,
    /// The AI chat over datasets; off when absent.
    pub chat: Option<ChatConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            storage: StorageConfig::default(),
            cache: CacheConfig::default(),
            query: QueryConfig::default(),
            dashboards_dir: PathBuf::from("dashboards"),
            datasets_dir: PathBuf::from("datasets"),
            auth: AuthConfig::default(),
            sessions: SessionsConfig::default(),
            log: LogConfig::default(),
            chat: None,
        }
    }
}

/// Where the web server listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Lantern is reached through a reverse proxy (a load balancer) that sets `X-Forwarded-For` and
    /// `X-Forwarded-Proto`: the client address is the last `X-Forwarded-For` entry (login throttling), and
    /// `X-Forwarded-Proto: https` marks the session cookie `Secure`. Leave off when clients reach Lantern
    /// directly: they could then choose their own address.
    pub behind_proxy: bool,
    /// When set, `/metrics` answers only requests bearing `Authorization: Bearer <token>` (a scraper's
    /// credentials); when unset it answers anyone who reaches it (keep it off the public listener then).
    pub metrics_token: Option<String>,
    /// On SIGTERM, how long `/readyz` answers 503 while requests are still served, so a load balancer stops
    /// sending new ones before the listener closes (0 when the orchestrator deregisters first, as ECS does).
    pub drain_secs: u64,
    /// After the listener closes, how long requests in flight may take to finish before the process exits.
    pub shutdown_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8050,
            behind_proxy: false,
            metrics_token: None,
            drain_secs: 0,
            shutdown_timeout_secs: 30,
        }
    }
}

/// The object store that holds datasets. `url` is a local folder (default `./lantern-data`, or `file:///abs/path`)
/// or `s3://bucket/prefix`. S3 credentials come from the usual AWS sources (`AWS_ACCESS_KEY_ID`, …) unless given here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub url: String,
    /// S3 endpoint for S3-compatible servers such as MinIO (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), which MinIO and most S3-compatible servers need.
    pub path_style: bool,
    /// Allow plain HTTP endpoints; defaults to true when `endpoint` starts with `http://`.
    pub allow_http: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: "./lantern-data".into(),
            endpoint: None,
            region: None,
            path_style: false,
            allow_http: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
        }
    }
}

/// The query-result cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Default time to live of an entry; a dataset spec may override it.
    pub ttl_secs: u64,
    /// Upper bound on the memory the cached results take, in MiB (each entry is weighed by its size, so a few
    /// large tables cannot push memory past the bound the way a count of entries would).
    pub max_mb: u64,
    /// A Redis (`redis://host:port/db`) that replicas share as the cache's second level; off when unset.
    pub redis_url: Option<String>,
    /// Results larger than this (serialized, in KiB) stay in the local level only.
    pub redis_max_entry_kb: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 300,
            max_mb: 64,
            redis_url: None,
            redis_max_entry_kb: 1024,
        }
    }
}

/// The query engine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// DataFusion target partitions; 0 means one per CPU core.
    pub target_partitions: usize,
    /// Datasets with at most this many rows are held in memory as Arrow; larger ones are scanned from Parquet.
    pub hot_rows_limit: u64,
    /// Memory for datasets held as Arrow, all together, in MiB: a version that would take more than what is
    /// left is scanned from Parquet instead (its rollups stay in memory), so memory stays bounded however large
    /// the data grows.
    pub hot_max_mb: u64,
    /// How long a resolved `current.json` is trusted before it is read again (milliseconds).
    pub manifest_refresh_ms: u64,
    /// Answer dashboard items from pre-aggregated rollups when they give exactly the same result.
    pub rollups: bool,
    /// Where queries run: `embedded` (DataFusion in this process), or `ballista://host:port`, a Ballista
    /// scheduler that runs them on its executors over the same object store (see [`QueryEngineKind`]).
    pub engine: String,
}

/// Where dashboard queries, profiles and exports run ([`QueryConfig::engine`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryEngineKind {
    /// DataFusion in this process, with the hot in-memory tables, rollups and row indexes.
    Embedded,
    /// A Ballista cluster: the scheduler's gRPC address (`http://host:port`). Plans travel as protobuf, so
    /// in-memory tables do not: every query scans the version's Parquet files, which the executors read from
    /// the store themselves (S3 credentials reach them through their own `AWS_*` environment).
    Ballista { scheduler: String },
}

impl QueryConfig {
    /// The engine [`QueryConfig::engine`] names; the error says what is accepted.
    pub fn engine_kind(&self) -> Result<QueryEngineKind> {
        let engine = self.engine.trim();
        if engine.is_empty() || engine == "embedded" {
            return Ok(QueryEngineKind::Embedded);
        }
        let bad = |why: &str| {
            Error::config(
                "query.engine",
                format!("`{engine}`: {why}; use `embedded` or `ballista://host:port`"),
            )
        };
        let rest = engine
            .strip_prefix("ballista://")
            .ok_or_else(|| bad("unknown engine"))?;
        let url = url::Url::parse(&format!("http://{rest}")).map_err(|e| bad(&e.to_string()))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        if url.path() != "/" || url.query().is_some() {
            return Err(bad("a scheduler address has no path"));
        }
        // Ballista's scheduler listens on 50050 unless told otherwise.
        let port = url.port().unwrap_or(50050);
        Ok(QueryEngineKind::Ballista {
            scheduler: format!("http://{host}:{port}"),
        })
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            target_partitions: 0,
            hot_rows_limit: 20_000_000,
            hot_max_mb: 512,
            manifest_refresh_ms: 1000,
            rollups: true,
            engine: "embedded".into(),
        }
    }
}

/// Users, roles and sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Users given inline (see also `users_file`).
    pub users: Vec<UserRecord>,
    /// A YAML file of users (`users: [...]`), edited by `lantern users add|passwd|disable`; re-read while serving
    /// when it changes, so a disabled user is signed out at their next request.
    pub users_file: Option<PathBuf>,
    /// Roles by name: the dashboards, datasets and features each opens and its row rules. `admin` (everything)
    /// exists unless defined here.
    pub roles: BTreeMap<String, RoleConfig>,
    /// Password of the built-in `admin` user (only used when there are no users). Generated at start when unset.
    pub admin_password: Option<String>,
    /// Sessions end after this many seconds without a request.
    pub session_ttl_secs: u64,
    /// Sessions end this many seconds after sign-in, however active.
    pub session_max_secs: u64,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Failed sign-ins allowed before further attempts wait.
    pub throttle: ThrottleConfig,
    /// The username and password form on the login page (turn off when everyone signs in with SSO).
    pub form_login: bool,
    /// Single sign-on with an OpenID Connect provider.
    pub oidc: Option<OidcConfig>,
    /// Single sign-on with a SAML 2.0 identity provider.
    pub saml: Option<SamlConfig>,
}

/// An OpenID Connect provider (authorization code flow with PKCE).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` is read from it.
    pub issuer: String,
    pub client_id: String,
    /// Also `LANTERN_OIDC_CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Lantern's callback as the provider reaches it: `<public URL>/auth/oidc/callback`.
    pub redirect_url: String,
    /// Scopes besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The login page's button: "Sign in with …".
    #[serde(default = "default_sso_label")]
    pub label: String,
    #[serde(default)]
    pub claims: ClaimMapping,
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

fn default_sso_label() -> String {
    "single sign-on".into()
}

/// A SAML 2.0 identity provider; Lantern is the service provider (HTTP-Redirect AuthnRequest, HTTP-POST
/// response). Responses must be signed with a key from the provider's metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlConfig {
    /// The provider's metadata: a file path or an `http(s)://` URL (fetched on first use).
    pub idp_metadata: String,
    /// Lantern's entity id, the audience every assertion must name; usually `<public URL>/auth/saml/metadata`.
    pub entity_id: String,
    /// Lantern's Assertion Consumer Service as the browser reaches it: `<public URL>/auth/saml/acs`.
    pub acs_url: String,
    /// The login page's button: "Sign in with …".
    #[serde(default = "default_sso_label")]
    pub label: String,
    /// Accept responses Lantern did not ask for (a tile in the provider's portal). Off by default: such a
    /// response is not bound to the browser's session, so only the replay check stands against reuse.
    #[serde(default)]
    pub allow_idp_initiated: bool,
    /// Responses and assertions issued longer ago than this are refused.
    #[serde(default = "default_saml_max_age")]
    pub max_assertion_age_secs: u64,
    /// Tolerance for the provider's clock on `NotBefore` / `NotOnOrAfter`.
    #[serde(default = "default_saml_skew")]
    pub clock_skew_secs: u64,
    /// Attributes to user fields and roles; the username defaults to the assertion's `NameID` (`name_id`).
    #[serde(default = "ClaimMapping::saml", deserialize_with = "saml_claims")]
    pub attributes: ClaimMapping,
}

fn default_saml_max_age() -> u64 {
    120
}

fn default_saml_skew() -> u64 {
    60
}

/// A SAML attribute mapping: fields left out take SAML's defaults, not OpenID Connect's.
fn saml_claims<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ClaimMapping, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Given {
        username: Option<String>,
        name: Option<String>,
        email: Option<String>,
        roles: Option<String>,
        #[serde(default)]
        role_map: BTreeMap<String, Vec<String>>,
        #[serde(default)]
        default_roles: Vec<String>,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    }
    let g = Given::deserialize(d)?;
    let base = ClaimMapping::saml();
    Ok(ClaimMapping {
        username: g.username.unwrap_or(base.username),
        name: g.name.unwrap_or(base.name),
        email: g.email.unwrap_or(base.email),
        roles: g.roles.unwrap_or(base.roles),
        role_map: g.role_map,
        default_roles: g.default_roles,
        attributes: g.attributes,
    })
}

/// How an identity provider's claims (or SAML attributes) become a Lantern user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimMapping {
    /// The claim that is the username.
    pub username: String,
    pub name: String,
    pub email: String,
    /// The claim listing the user's groups or roles at the provider.
    pub roles: String,
    /// Provider role or group → Lantern roles. Values not listed give no role.
    pub role_map: BTreeMap<String, Vec<String>>,
    /// Lantern roles every user signed in this way gets.
    pub default_roles: Vec<String>,
    /// Lantern attribute (for row rules) → the claim it comes from.
    pub attributes: BTreeMap<String, String>,
}

impl ClaimMapping {
    /// SAML's defaults: the subject's `NameID` is the username; attributes by their `Name` (or `FriendlyName`).
    pub fn saml() -> Self {
        Self {
            username: "name_id".into(),
            name: "displayName".into(),
            ..Self::default()
        }
    }
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            username: "preferred_username".into(),
            name: "name".into(),
            email: "email".into(),
            roles: "roles".into(),
            role_map: BTreeMap::new(),
            default_roles: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }
}

/// Where sessions live: `memory` (one process; the default) or `redis://host:port/db` (shared by replicas).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    pub store: String,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            store: "memory".into(),
        }
    }
}

/// Login throttling: failures counted per account and per client address over a window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    /// The window over which failures count, and the longest wait once locked.
    pub window_secs: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            window_secs: 900,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            users_file: None,
            roles: BTreeMap::new(),
            admin_password: None,
            session_ttl_secs: 8 * 3600,
            session_max_secs: 24 * 3600,
            secure_cookies: false,
            throttle: ThrottleConfig::default(),
            form_login: true,
            oidc: None,
            saml: None,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `lantern_web=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
}

/// Environment variables and the config keys they set. `LANTERN_CONFIG` names the YAML file instead.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("LANTERN_HOST", "server.host"),
    ("LANTERN_PORT", "server.port"),
    ("LANTERN_STORAGE_URL", "storage.url"),
    ("LANTERN_S3_ENDPOINT", "storage.endpoint"),
    ("LANTERN_S3_REGION", "storage.region"),
    ("LANTERN_S3_PATH_STYLE", "storage.path_style"),
    ("LANTERN_S3_ALLOW_HTTP", "storage.allow_http"),
    ("LANTERN_S3_ACCESS_KEY_ID", "storage.access_key_id"),
    ("LANTERN_S3_SECRET_ACCESS_KEY", "storage.secret_access_key"),
    ("LANTERN_S3_SESSION_TOKEN", "storage.session_token"),
    ("LANTERN_CACHE_TTL_SECS", "cache.ttl_secs"),
    ("LANTERN_CACHE_MAX_MB", "cache.max_mb"),
    ("LANTERN_CACHE_REDIS_URL", "cache.redis_url"),
    ("LANTERN_QUERY_TARGET_PARTITIONS", "query.target_partitions"),
    ("LANTERN_QUERY_ENGINE", "query.engine"),
    ("LANTERN_QUERY_HOT_ROWS_LIMIT", "query.hot_rows_limit"),
    ("LANTERN_QUERY_HOT_MAX_MB", "query.hot_max_mb"),
    ("LANTERN_QUERY_ROLLUPS", "query.rollups"),
    ("LANTERN_DASHBOARDS_DIR", "dashboards_dir"),
    ("LANTERN_DATASETS_DIR", "datasets_dir"),
    ("LANTERN_ADMIN_PASSWORD", "auth.admin_password"),
    ("LANTERN_USERS_FILE", "auth.users_file"),
    ("LANTERN_SESSION_TTL_SECS", "auth.session_ttl_secs"),
    ("LANTERN_SESSIONS_STORE", "sessions.store"),
    ("LANTERN_BEHIND_PROXY", "server.behind_proxy"),
    ("LANTERN_METRICS_TOKEN", "server.metrics_token"),
    ("LANTERN_DRAIN_SECS", "server.drain_secs"),
    (
        "LANTERN_SHUTDOWN_TIMEOUT_SECS",
        "server.shutdown_timeout_secs",
    ),
    ("LANTERN_OIDC_CLIENT_SECRET", "auth.oidc.client_secret"),
    ("LANTERN_SESSION_MAX_SECS", "auth.session_max_secs"),
    ("LANTERN_SECURE_COOKIES", "auth.secure_cookies"),
    ("LANTERN_LOG_FORMAT", "log.format"),
    ("LANTERN_LOG_LEVEL", "log.level"),
    ("LANTERN_CHAT_API_KEY", "chat.api_key"),
];

/// Environment variables that are read elsewhere and are not config keys.
const ENV_OTHER: &[&str] = &["LANTERN_CONFIG"];

fn kind_of(key: &str) -> Kind {
    match key {
        "server.port"
        | "cache.ttl_secs"
        | "cache.max_mb"
        | "query.target_partitions"
        | "query.hot_rows_limit"
        | "query.hot_max_mb"
        | "auth.session_ttl_secs"
        | "auth.session_max_secs"
        | "server.drain_secs"
        | "server.shutdown_timeout_secs" => Kind::Int,
        "storage.path_style"
        | "storage.allow_http"
        | "auth.secure_cookies"
        | "query.rollups"
        | "server.behind_proxy" => Kind::Bool,
        _ => Kind::Str,
    }
}

impl Config {
    /// Loads the configuration the way `lantern` does: `path` (or `$LANTERN_CONFIG`, or `./lantern.yaml` when it
    /// exists), then `./.env`, then the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        if let Ok(iter) = dotenvy::from_filename_iter(".env") {
            for item in iter {
                let (k, v) = item.map_err(|e| Error::config(".env", e.to_string()))?;
                env.insert(k, v);
            }
        }
        env.extend(std::env::vars());
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| env.get("LANTERN_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("lantern.yaml")).filter(|p| p.exists()));
        Self::from_sources(path.as_deref(), env)
    }

    /// Builds the configuration from an optional YAML file and environment pairs (later pairs win).
    pub fn from_sources(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let (mut value, lines) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                let value: Value = serde_yaml::from_str(&text).map_err(|e| {
                    Error::config(p.display().to_string(), format!("not valid YAML: {e}"))
                })?;
                let value = if value.is_null() {
                    Value::Mapping(Default::default())
                } else {
                    value
                };
                (value, Some((p.to_path_buf(), LineIndex::new(&text))))
            }
            None => (Value::Mapping(Default::default()), None),
        };
        if !value.is_mapping() {
            return Err(Error::config(
                "(root)",
                "the config file must be a YAML mapping",
            ));
        }

        let mut from_env: BTreeMap<String, String> = BTreeMap::new();
        for (name, raw) in env {
            if !name.starts_with("LANTERN_") || ENV_OTHER.contains(&name.as_str()) {
                continue;
            }
            let Some((_, key)) = ENV_KEYS.iter().find(|(n, _)| *n == name) else {
                let known: Vec<&str> = ENV_KEYS.iter().map(|(n, _)| *n).collect();
                return Err(Error::config(
                    name,
                    format!("unknown environment variable; known: {}", known.join(", ")),
                ));
            };
            let scalar = match kind_of(key) {
                Kind::Str => Value::String(raw.clone()),
                Kind::Int => raw.trim().parse::<u64>().map(Value::from).map_err(|_| {
                    Error::config(*key, format!("{name}={raw:?} is not a whole number"))
                })?,
                Kind::Bool => parse_bool(&raw).map(Value::Bool).ok_or_else(|| {
                    Error::config(*key, format!("{name}={raw:?} is not true/false"))
                })?,
            };
            set_path(&mut value, key, scalar);
            from_env.insert(key.to_string(), name);
        }

        let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            let origin = match (from_env.get(&key), &lines) {
                (Some(var), _) => format!(" (from {var})"),
                (None, Some((file, idx))) => format!(" ({}:{})", file.display(), idx.line(&key)),
                (None, None) => String::new(),
            };
            Error::config(key, format!("{}{origin}", e.inner()))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.storage.url.trim().is_empty() {
            return Err(Error::config("storage.url", "must not be empty"));
        }
        if self.cache.ttl_secs == 0 {
            return Err(Error::config("cache.ttl_secs", "must be at least 1 second"));
        }
        if self.auth.session_ttl_secs == 0 {
            return Err(Error::config("auth.session_ttl_secs", "must be at least 1"));
        }
        self.query.engine_kind()?;
        if let Some(url) = &self.cache.redis_url
            && let Err(e) = redis::Client::open(url.as_str())
        {
            return Err(Error::config(
                "cache.redis_url",
                format!("expected a `redis://host:port/db` or `rediss://` (TLS) URL: {e}"),
            ));
        }
        let store = self.sessions.store.trim();
        if store != "memory" && !store.starts_with("redis://") && !store.starts_with("rediss://") {
            return Err(Error::config(
                "sessions.store",
                format!(
                    "`{store}`: expected `memory` or a `redis://host:port/db` or `rediss://` (TLS) URL"
                ),
            ));
        }
        if let Some(o) = &self.auth.oidc {
            for (key, url) in [("issuer", &o.issuer), ("redirect_url", &o.redirect_url)] {
                if url::Url::parse(url).is_err() {
                    return Err(Error::config(
                        format!("auth.oidc.{key}"),
                        format!("`{url}` is not a URL"),
                    ));
                }
            }
        }
        if let Some(s) = &self.auth.saml {
            for (key, url) in [("entity_id", &s.entity_id), ("acs_url", &s.acs_url)] {
                if url::Url::parse(url).is_err() {
                    return Err(Error::config(
                        format!("auth.saml.{key}"),
                        format!("`{url}` is not a URL"),
                    ));
                }
            }
            if s.idp_metadata.trim().is_empty() {
                return Err(Error::config(
                    "auth.saml.idp_metadata",
                    "is empty: give the provider's metadata file or URL",
                ));
            }
            // The metadata carries the key every response is checked with: fetched over plain HTTP, whoever is
            // on the path could put in their own.
            if s.idp_metadata.starts_with("http://") {
                let host = url::Url::parse(&s.idp_metadata)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
                    return Err(Error::config(
                        "auth.saml.idp_metadata",
                        format!(
                            "`{}` is fetched over plain HTTP: use https:// (or a file), since the metadata holds the key that vouches for every sign-in",
                            s.idp_metadata
                        ),
                    ));
                }
            }
            if !(1..=3600).contains(&s.max_assertion_age_secs) {
                return Err(Error::config(
                    "auth.saml.max_assertion_age_secs",
                    "must be between 1 and 3600",
                ));
            }
            if s.clock_skew_secs > 300 {
                return Err(Error::config(
                    "auth.saml.clock_skew_secs",
                    "must be at most 300",
                ));
            }
        }
        if let Some(chat) = &self.chat {
            chat.validate()?;
        }
        if !self.auth.form_login && self.auth.oidc.is_none() && self.auth.saml.is_none() {
            return Err(Error::config(
                "auth.form_login",
                "is off and no single sign-on is configured: nobody could sign in",
            ));
        }
        if self.auth.session_max_secs == 0 {
            return Err(Error::config("auth.session_max_secs", "must be at least 1"));
        }
        let t = &self.auth.throttle;
        if t.max_failures_per_account == 0 || t.max_failures_per_address == 0 || t.window_secs == 0
        {
            return Err(Error::config(
                "auth.throttle",
                "limits and window must be at least 1",
            ));
        }
        for (i, user) in self.auth.users.iter().enumerate() {
            user.check(&format!("auth.users[{i}]"))?;
        }
        Ok(())
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn set_path(root: &mut Value, dotted: &str, leaf: Value) {
    let mut node = root;
    let parts: Vec<&str> = dotted.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let map = match node {
            Value::Mapping(m) => m,
            other => {
                *other = Value::Mapping(Default::default());
                let Value::Mapping(m) = other else {
                    unreachable!()
                };
                m
            }
        };
        let key = Value::String(part.to_string());
        if i + 1 == parts.len() {
            map.insert(key, leaf);
            return;
        }
        node = map
            .entry(key)
            .or_insert_with(|| Value::Mapping(Default::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_query_engine_is_embedded_or_a_ballista_scheduler() {
        let engine = |v: &str| {
            Config::from_sources(None, env(&[("LANTERN_QUERY_ENGINE", v)]))
                .and_then(|c| c.query.engine_kind())
        };
        assert_eq!(
            Config::default().query.engine_kind().unwrap(),
            QueryEngineKind::Embedded
        );
        assert_eq!(engine("embedded").unwrap(), QueryEngineKind::Embedded);
        assert_eq!(
            engine("ballista://scheduler.internal:50051").unwrap(),
            QueryEngineKind::Ballista {
                scheduler: "http://scheduler.internal:50051".into()
            }
        );
        assert_eq!(
            engine("ballista://10.0.0.7").unwrap(),
            QueryEngineKind::Ballista {
                scheduler: "http://10.0.0.7:50050".into()
            },
            "Ballista's default port"
        );
        for bad in [
            "spark://x:7077",
            "ballista://",
            "ballista://host:port",
            "ballista://h:1/x",
        ] {
            let e = engine(bad).unwrap_err().to_string();
            assert!(e.contains("query.engine") && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(c.server.port, 8050);
        assert_eq!(c.storage.url, "./lantern-data");
        assert_eq!(c.cache.ttl_secs, 300);
        assert_eq!(c.log.format, LogFormat::Text);
    }

    #[test]
    fn env_wins_over_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "server:\n  port: 9100\nstorage:\n  url: s3://bucket/x\n  path_style: true"
        )
        .unwrap();
        let c = Config::from_sources(Some(f.path()), env(&[("LANTERN_PORT", "9200")])).unwrap();
        assert_eq!(c.server.port, 9200);
        assert_eq!(c.storage.url, "s3://bucket/x");
        assert!(c.storage.path_style);
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "server:\n  host: x\n  port: lots").unwrap();
        let err = Config::from_sources(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.port"), "{err}");
        assert!(err.contains(":3)"), "{err}");

        let err = Config::from_sources(None, env(&[("LANTERN_PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("server.port"), "{err}");
        assert!(err.to_string().contains("LANTERN_PORT"), "{err}");

        let err = Config::from_sources(None, env(&[("LANTERN_PROT", "1")])).unwrap_err();
        assert!(err.to_string().contains("LANTERN_PROT"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "cache:\n  ttl: 5").unwrap();
        let err = Config::from_sources(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cache") && err.contains("ttl"), "{err}");
    }

    #[test]
    fn user_hashes_must_be_argon2() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "auth:\n  users:\n    - username: ann\n      password_hash: plain"
        )
        .unwrap();
        let err = Config::from_sources(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.users[0].password_hash"), "{err}");
    }

    fn load(yaml: &str) -> Result<Config, String> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(f, "{yaml}").unwrap();
        Config::from_sources(Some(f.path()), env(&[])).map_err(|e| e.to_string())
    }

    const SAML: &str = "auth:\n  saml:\n    idp_metadata: idp.xml\n    entity_id: https://l.example/auth/saml/metadata\n    acs_url: https://l.example/auth/saml/acs\n";

    #[test]
    fn saml_attributes_take_saml_defaults_where_left_out() {
        let c = load(&format!("{SAML}    attributes:\n      roles: groups\n")).unwrap();
        let s = c.auth.saml.unwrap();
        assert_eq!(s.attributes.username, "name_id", "the subject's NameID");
        assert_eq!(s.attributes.name, "displayName");
        assert_eq!(s.attributes.roles, "groups");
        assert_eq!(
            (
                s.label.as_str(),
                s.allow_idp_initiated,
                s.max_assertion_age_secs,
                s.clock_skew_secs
            ),
            ("single sign-on", false, 120, 60)
        );
        let s = load(SAML).unwrap().auth.saml.unwrap();
        assert_eq!(s.attributes, ClaimMapping::saml());
    }

    #[test]
    fn bad_saml_settings_name_their_field() {
        let cases = [
            (
                SAML.replace("https://l.example/auth/saml/acs", "acs"),
                "auth.saml.acs_url",
            ),
            (SAML.replace("idp.xml", "\"\""), "auth.saml.idp_metadata"),
            (
                format!("{SAML}    max_assertion_age_secs: 0\n"),
                "auth.saml.max_assertion_age_secs",
            ),
            (
                format!("{SAML}    attributes:\n      usrname: x\n"),
                "usrname",
            ),
            (format!("{SAML}    certificate: x\n"), "certificate"),
            (
                format!("{SAML}    clock_skew_secs: 3600\n"),
                "auth.saml.clock_skew_secs",
            ),
            (
                SAML.replace("idp.xml", "http://idp.example/saml/metadata"),
                "plain HTTP",
            ),
        ];
        for (yaml, field) in cases {
            let err = load(&yaml).unwrap_err();
            assert!(err.contains(field), "{field}: {err}");
        }
        // Form login off with SAML the only way in is fine; so is metadata over HTTP from this machine.
        assert!(load(&format!("{SAML}  form_login: false\n")).is_ok());
        assert!(load(&SAML.replace("idp.xml", "http://127.0.0.1:8000/saml/metadata")).is_ok());
    }
}
