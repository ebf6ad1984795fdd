//! Where sessions live: in this process's memory (the default) or in Redis, so that several replicas share
//! sign-ins. The Redis store implements tower-sessions' `SessionStore` over the `redis` crate's connection
//! manager (which reconnects on its own): one key per session holding its record as JSON, expiring with it.

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use tower_sessions::MemoryStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// The configured store, opened.
#[derive(Clone, Debug)]
pub enum Sessions {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Sessions {
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

fn backend(e: redis::RedisError) -> Error {
    Error::Backend(format!("redis: {e}"))
}

impl RedisStore {
    /// Connects to `url` and checks the server answers.
    pub async fn connect(url: &str) -> std::result::Result<Self, String> {
        let at = |e: redis::RedisError| format!("sessions.store `{url}`: {e}");
        let client = redis::Client::open(url).map_err(at)?;
        let mut connection = ConnectionManager::new(client).await.map_err(at)?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(at)?;
        Ok(Self { connection })
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
        Ok(done.is_some())
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
        redis::cmd("DEL")
            .arg(key(id))
            .query_async::<i64>(&mut c)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
