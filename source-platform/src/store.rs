//! The source services' store: [`sql_store`]'s connection and migrations, plus the tables
//! every source service shares (the outbox and the idempotency keys).

use anyhow::Context;
use sqlx::migrate::Migrator;

pub use sql_store::{Backend, Store, now_ms};

/// Connects to `url` (SQLite or PostgreSQL), then runs the shared migrations and `migrator`.
pub async fn connect_and_migrate(url: &str, migrator: Migrator) -> anyhow::Result<Store> {
    let store = Store::connect(url).await?;
    // the shared tables: the outbox and the idempotency keys
    store.migrate(sqlx::migrate!("./migrations")).await.context("shared migrations failed")?;
    store.migrate(migrator).await.context("service migrations failed")?;
    Ok(store)
}
