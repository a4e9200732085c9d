//! One relational store code path for both profiles: SQLite (a file, the local default) and
//! PostgreSQL (chosen by a `postgres://` URL).
//!
//! Both run the same migrations and the same queries through sqlx's `Any` driver. The SQL
//! keeps to what both understand: `$1` placeholders, text ids, bigint epoch milliseconds.
//!
//! It lives apart from `source-platform` so that a read model (order-history's statistics)
//! uses the same store without linking the outbox.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};
use tokio::sync::{Mutex, MutexGuard};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            return Ok(Self::Sqlite);
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            return Ok(Self::Postgres);
        }
        anyhow::bail!("unsupported database url scheme; use sqlite:// or postgres://")
    }
}

/// How long a caller waits for a connection before the store reports it busy.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a SQLite statement waits for another connection's lock before it fails.
const BUSY_TIMEOUT: &str = "pragma busy_timeout = 5000";

/// A connection pool and the kind of database behind it.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite files only: a connection of its own for reads outside a transaction (see
    /// [`Store::read_connection`]).
    held_reader: Option<Arc<Mutex<AnyConnection>>>,
}

/// A connection to run reads on, outside any transaction.
pub enum ReadConnection<'a> {
    Pooled(PoolConnection<Any>),
    Held(MutexGuard<'a, AnyConnection>),
}

impl Deref for ReadConnection<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConnection::Pooled(connection) => connection,
            ReadConnection::Held(connection) => connection,
        }
    }
}

impl DerefMut for ReadConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConnection::Pooled(connection) => connection,
            ReadConnection::Held(connection) => connection,
        }
    }
}

impl Store {
    /// Connects to `url`, creating a SQLite file (and its directory) when missing.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);
        let backend = Backend::of_url(url)?;
        let (pool, held_reader) = match backend {
            Backend::Sqlite => {
                let pool = connect_sqlite(url).await?;
                // an in-memory database exists only in the connection that made it
                let held_reader = if sqlite_file_path(url).is_some() {
                    Some(Arc::new(Mutex::new(connect_sqlite_reader(url).await?)))
                } else {
                    None
                };
                (pool, held_reader)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await
                    .context("cannot connect to postgres")?;
                (pool, None)
            }
        };
        Ok(Self { pool, backend, held_reader })
    }

    /// A connection for reads outside a transaction: from the pool for PostgreSQL and for an
    /// in-memory SQLite database, else the SQLite file's own read connection.
    ///
    /// Why SQLite reads have a connection of their own: sqlx runs each SQLite connection on a
    /// thread of its own, and its pool pings a connection each time it takes it back, one more
    /// round trip to that thread per query; a connection that never goes back to a pool is
    /// never pinged. It also lets reads go on while the pool's one connection writes, as WAL
    /// allows. Reads on it take turns, as they did on the pool's one connection.
    pub async fn read_connection(&self) -> anyhow::Result<ReadConnection<'_>> {
        let connection = match &self.held_reader {
            Some(connection) => tokio::time::timeout(ACQUIRE_TIMEOUT, connection.lock())
                .await
                .map(ReadConnection::Held)
                .map_err(|_elapsed| sqlx::Error::PoolTimedOut),
            None => self.pool.acquire().await.map(ReadConnection::Pooled),
        };
        connection.context("cannot get a database connection")
    }

    /// Runs `migrator` without failing on versions applied by another migrator: several
    /// migration sets (a shared one and a service's) may share one `_sqlx_migrations` history.
    pub async fn migrate(&self, mut migrator: Migrator) -> anyhow::Result<()> {
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers; for readiness probes.
    pub async fn ping(&self) -> Result<(), String> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|error| format!("database unreachable: {error}"))
    }
}

/// SQLite allows one writer at a time, and a transaction that reads and then writes fails at
/// once (no busy wait) when another connection wrote in between. One connection serialises
/// every transaction instead, which is simple and fast enough for one embedded service.
async fn connect_sqlite(url: &str) -> anyhow::Result<AnyPool> {
    let with_create = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
    if let Some(path) = sqlite_file_path(url)
        && let Some(parent) = std::path::Path::new(&path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let options = AnyConnectOptions::from_str(&with_create).context("invalid sqlite url")?;
    AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings an idle connection before lending it out, to find one the server dropped;
        // a SQLite connection is a file handle in this process with nothing at the other end,
        // and each ping is a round trip to the connection's worker thread, as costly as the
        // query it precedes
        .test_before_acquire(false)
        .after_connect(|connection, _| {
            Box::pin(async move {
                // WAL lets the file be read by tools, and by the read connection, while the
                // service writes; NORMAL sync is durable against a process crash, which is what
                // the outbox needs
                connection.execute("pragma journal_mode = wal").await?;
                connection.execute("pragma synchronous = normal").await?;
                connection.execute(BUSY_TIMEOUT).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .context("cannot open sqlite database")
}

/// The SQLite file's read connection, opened after the pool has created the file and set WAL.
async fn connect_sqlite_reader(url: &str) -> anyhow::Result<AnyConnection> {
    let options = AnyConnectOptions::from_str(url).context("invalid sqlite url")?;
    let mut connection = AnyConnection::connect_with(&options).await.context("cannot open sqlite database")?;
    connection.execute(BUSY_TIMEOUT).await?;
    Ok(connection)
}

/// The file of a `sqlite:` url; `None` for an in-memory database.
pub fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Milliseconds since the Unix epoch, the time format of every table.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_file() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = Store::connect(&url).await.expect("connect");
        sqlx::query("create table notes (id bigint primary key, body text not null)")
            .execute(&store.pool)
            .await
            .expect("create table");
        (dir, store)
    }

    async fn bodies(store: &Store) -> Vec<String> {
        let mut reader = store.read_connection().await.expect("reader");
        sqlx::query_scalar("select body from notes order by id").fetch_all(&mut *reader).await.expect("read")
    }

    #[tokio::test]
    async fn the_sqlite_read_connection_sees_each_commit_of_the_pool() {
        let (_dir, store) = sqlite_file().await;
        assert!(matches!(store.read_connection().await.expect("reader"), ReadConnection::Held(_)));
        assert!(bodies(&store).await.is_empty());
        for (id, body) in [(1_i64, "first"), (2, "second")] {
            sqlx::query("insert into notes (id, body) values ($1, $2)")
                .bind(id)
                .bind(body)
                .execute(&store.pool)
                .await
                .expect("insert");
            // a read that stopped after one row must not leave the connection on an old snapshot
            let mut reader = store.read_connection().await.expect("reader");
            let newest: Option<String> = sqlx::query_scalar("select body from notes order by id desc")
                .fetch_optional(&mut *reader)
                .await
                .expect("read one");
            assert_eq!(newest.as_deref(), Some(body));
        }
        assert_eq!(bodies(&store).await, ["first", "second"]);
    }

    #[tokio::test]
    async fn a_sqlite_read_goes_on_while_the_pool_holds_a_write_transaction() {
        let (_dir, store) = sqlite_file().await;
        let mut transaction = store.pool.begin().await.expect("begin");
        sqlx::query("insert into notes (id, body) values (1, 'uncommitted')")
            .execute(&mut *transaction)
            .await
            .expect("insert");
        // the pool's one connection is taken: a read through the pool would wait for it
        assert!(bodies(&store).await.is_empty(), "a read sees only what is committed");
        transaction.commit().await.expect("commit");
        assert_eq!(bodies(&store).await, ["uncommitted"]);
    }

    #[tokio::test]
    async fn an_in_memory_database_is_read_through_the_pool() {
        let store = Store::connect("sqlite::memory:").await.expect("connect");
        sqlx::query("create table notes (id bigint primary key, body text not null)")
            .execute(&store.pool)
            .await
            .expect("create table");
        assert!(matches!(store.read_connection().await.expect("reader"), ReadConnection::Pooled(_)));
        assert!(bodies(&store).await.is_empty());
    }
}
