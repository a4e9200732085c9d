//! One relational store code path for both profiles: SQLite (a file, the local default) and
//! PostgreSQL (chosen by a `postgres://` URL).
//!
//! Both run the same migrations and the same queries through sqlx's `Any` driver. The SQL
//! keeps to what both understand: `$1` placeholders, text ids, bigint epoch milliseconds.
//!
//! It lives apart from `source-platform` so that a read model (order-history's statistics)
//! uses the same store without linking the outbox.

use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

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

/// A connection pool and the kind of database behind it.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Store {
    /// Connects to `url`, creating a SQLite file (and its directory) when missing.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);
        let backend = Backend::of_url(url)?;
        let pool = match backend {
            Backend::Sqlite => connect_sqlite(url).await?,
            Backend::Postgres => AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .context("cannot connect to postgres")?,
        };
        Ok(Self { pool, backend })
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
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|connection, _| {
            Box::pin(async move {
                // WAL lets the file be read by tools while the service writes; NORMAL sync is
                // durable against a process crash, which is what the outbox needs
                connection.execute("pragma journal_mode = wal").await?;
                connection.execute("pragma synchronous = normal").await?;
                connection.execute("pragma busy_timeout = 5000").await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .context("cannot open sqlite database")
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
