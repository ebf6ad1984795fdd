//! Where sessions live: in this process's memory (the default; bounded, each session dropped when it expires)
//! or in Redis, so that several replicas share sign-ins. The Redis store implements tower-sessions' `SessionStore` over the `redis` crate's connection
//! manager (which reconnects on its own): one key per session holding its record as JSON, expiring with it.

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// The configured store, opened.
#[derive(Clone, Debug)]
pub enum Sessions {
    Memory(MemoryStore),
    Redis(RedisStore),
}

/// Sessions kept in memory at most: past it the least recently used go first (an anonymous visitor's session,
/// which holds only a CSRF token, is one too; a flood of them must not exhaust memory).
const MEMORY_SESSIONS_MAX: u64 = 100_000;

/// Sessions in this process: a moka cache in which each record expires at its own expiry date.
/// (tower-sessions' own memory store never drops expired records.)
#[derive(Clone)]
pub struct MemoryStore(moka::future::Cache<Id, Record>);

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

struct UntilExpiry;

fn left(record: &Record) -> Option<std::time::Duration> {
    let ms = (record.expiry_date - time::OffsetDateTime::now_utc()).whole_milliseconds();
    Some(std::time::Duration::from_millis(ms.max(0) as u64))
}

impl moka::Expiry<Id, Record> for UntilExpiry {
    fn expire_after_create(
        &self,
        _: &Id,
        record: &Record,
        _: std::time::Instant,
    ) -> Option<std::time::Duration> {
        left(record)
    }

    fn expire_after_update(
        &self,
        _: &Id,
        record: &Record,
        _: std::time::Instant,
        _: Option<std::time::Duration>,
    ) -> Option<std::time::Duration> {
        left(record)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self(
            moka::future::Cache::builder()
                .max_capacity(MEMORY_SESSIONS_MAX)
                .expire_after(UntilExpiry)
                .build(),
        )
    }
}

impl MemoryStore {
    /// Sessions held now (after pending expirations run).
    pub async fn count(&self) -> u64 {
        self.0.run_pending_tasks().await;
        self.0.entry_count()
    }

    fn signed_in(&self) -> u64 {
        let now = time::OffsetDateTime::now_utc();
        self.0
            .iter()
            .filter(|(_, r)| r.expiry_date > now && signed_in(r))
            .count() as u64
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            let entry = self.0.entry(record.id).or_insert(record.clone()).await;
            if entry.is_fresh() {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.0.insert(record.id, record.clone()).await;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        Ok(self
            .0
            .get(id)
            .await
            .filter(|r| r.expiry_date > time::OffsetDateTime::now_utc()))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.0.invalidate(id).await;
        Ok(())
    }
}

/// Whether a record belongs to a signed-in user (an anonymous visitor's holds only a CSRF token).
fn signed_in(record: &Record) -> bool {
    record.data.contains_key(crate::access::USER_KEY)
}

impl Sessions {
    /// Signed-in sessions that have not expired: this process's in memory, every replica's in Redis.
    pub async fn signed_in(&self) -> std::result::Result<u64, String> {
        match self {
            Sessions::Memory(m) => Ok(m.signed_in()),
            Sessions::Redis(r) => r.signed_in().await.map_err(|e| e.to_string()),
        }
    }

    /// A check that the store answers, for readiness probes; `None` for memory, which always does.
    pub fn ping(
        &self,
    ) -> Option<impl std::future::Future<Output = std::result::Result<(), String>> + Send + use<>>
    {
        match self {
            Sessions::Memory(_) => None,
            Sessions::Redis(r) => {
                let mut c = r.connection.clone();
                Some(async move {
                    redis::cmd("PING")
                        .query_async::<String>(&mut c)
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("redis: {e}"))
                })
            }
        }
    }

    /// Opens `store` (`memory` or a Redis URL); a Redis that does not answer stops the start.
    pub async fn open(store: &str) -> std::result::Result<Self, String> {
        let store = store.trim();
        if store == "memory" {
            return Ok(Sessions::Memory(MemoryStore::default()));
        }
        RedisStore::connect(store).await.map(Sessions::Redis)
    }
}

/// Sessions in Redis under `lantern:session:<id>`.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

fn key(id: &Id) -> String {
    format!("lantern:session:{id}")
}

/// A sorted set of the signed-in sessions' ids scored by their expiry (Unix seconds), so that counting them
/// is one range removal and one cardinality, not a scan of every session.
const SIGNED_IN: &str = "lantern:sessions:signed_in";

fn backend(e: redis::RedisError) -> Error {
    Error::Backend(format!("redis: {e}"))
}

impl RedisStore {
    /// Connects to `url` and checks the server answers.
    pub async fn connect(url: &str) -> std::result::Result<Self, String> {
        // A password in the URL stays out of messages and logs.
        let shown = match url::Url::parse(url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => url.to_string(),
        };
        let at = |e: redis::RedisError| {
            format!(
                "sessions.store `{shown}`: {}",
                lantern_core::redis_client::explain(&e)
            )
        };
        let client = lantern_core::redis_client::open(url).map_err(at)?;
        let mut connection = ConnectionManager::new(client).await.map_err(at)?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(at)?;
        Ok(Self { connection })
    }

    /// The shared connection, for other records that live beside the sessions.
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Writes `record` to expire with it; `only_new` refuses to overwrite (an id collision on create).
    async fn write(&self, record: &Record, only_new: bool) -> Result<bool> {
        let at = record.expiry_date.unix_timestamp();
        if at <= time::OffsetDateTime::now_utc().unix_timestamp() {
            self.delete(&record.id).await?;
            return Ok(true);
        }
        let json = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let mut set = redis::cmd("SET");
        set.arg(key(&record.id)).arg(json).arg("EXAT").arg(at);
        if only_new {
            set.arg("NX");
        }
        let mut c = self.connection.clone();
        let done: Option<String> = set.query_async(&mut c).await.map_err(backend)?;
        if done.is_some() {
            let mut index = redis::cmd(if signed_in(record) { "ZADD" } else { "ZREM" });
            index.arg(SIGNED_IN);
            if signed_in(record) {
                index.arg(at);
            }
            index
                .arg(record.id.to_string())
                .query_async::<i64>(&mut c)
                .await
                .map_err(backend)?;
        }
        Ok(done.is_some())
    }

    async fn signed_in(&self) -> Result<u64> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut c = self.connection.clone();
        let (_, n): (i64, u64) = redis::pipe()
            .atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(SIGNED_IN)
            .arg("-inf")
            .arg(now)
            .cmd("ZCARD")
            .arg(SIGNED_IN)
            .query_async(&mut c)
            .await
            .map_err(backend)?;
        Ok(n)
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let mut c = self.connection.clone();
        let found: Option<Vec<u8>> = redis::cmd("GET")
            .arg(key(id))
            .query_async(&mut c)
            .await
            .map_err(backend)?;
        found
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let mut c = self.connection.clone();
        redis::pipe()
            .cmd("DEL")
            .arg(key(id))
            .cmd("ZREM")
            .arg(SIGNED_IN)
            .arg(id.to_string())
            .query_async::<(i64, i64)>(&mut c)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(secs: i64) -> Record {
        Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(secs),
        }
    }

    #[tokio::test]
    async fn memory_sessions_expire_on_their_own() {
        let store = MemoryStore::default();
        let mut short = record(1);
        let mut long = record(3600);
        store.create(&mut short).await.unwrap();
        store.create(&mut long).await.unwrap();
        assert_eq!(store.count().await, 2);
        assert!(store.load(&short.id).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert!(store.load(&short.id).await.unwrap().is_none());
        assert_eq!(
            store.count().await,
            1,
            "the expired record is gone, not just hidden"
        );
        store.delete(&long.id).await.unwrap();
        assert!(store.load(&long.id).await.unwrap().is_none());
    }
}
