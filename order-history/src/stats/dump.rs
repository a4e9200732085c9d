//! A copy of the statistics store: one SQLite database file holding the store's tables, the
//! checkpoint among them, whichever store it was taken from.
//!
//! - From SQLite: `VACUUM INTO`, one statement that reads one committed state (with the
//!   write-ahead log it never blocks the projection's writes) and writes a compact file.
//! - Into SQLite: the verified file replaces the store's file, and the store is opened again.
//!   No row is written again: loading rows (an earlier copy as JSON lines) rewrote every
//!   order's state and was 23–24 s of a 29–31 s restore at 1,000,002 events.
//! - From and into PostgreSQL: the rows, table by table, between the store and the file, in one
//!   `REPEATABLE READ` transaction on the way out and one transaction on the way in.
//!
//! So a snapshot taken from SQLite restores into PostgreSQL and back. The checkpoint is a table
//! of the copy, so the rows and the offsets they cover always belong together.

use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sql_store::Backend;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

use super::StatsStore;
use super::store::{ROWS_PER_STATEMENT, row_placeholders};
use crate::index::Checkpoint;

/// The layout of the copy; part of the schema fingerprint.
const DUMP_FORMAT: u32 = 2;
/// The copy's one file.
pub const COPY_FILE: &str = "statistics.sqlite";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Text(&'static str),
    Integer(&'static str),
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Text(name) | Column::Integer(name) => name,
        }
    }
}

/// One table of the store.
struct Table {
    name: &'static str,
    columns: &'static [Column],
}

use Column::{Integer, Text};

/// Every table of `stats-migrations`; the checkpoint and `stats_meta` included.
const TABLES: [Table; 5] = [
    Table { name: "stats_orders", columns: &[Text("order_id"), Text("document")] },
    Table {
        name: "stats_rollup",
        columns: &[
            Integer("hour_ms"),
            Text("dimension"),
            Text("key"),
            Text("currency"),
            Integer("orders"),
            Integer("revenue_minor"),
        ],
    },
    Table { name: "stats_products", columns: &[Integer("hour_ms"), Text("sku"), Integer("quantity")] },
    Table { name: "stats_checkpoint", columns: &[Text("topic"), Integer("partition_id"), Integer("next_offset")] },
    Table { name: "stats_meta", columns: &[Integer("id"), Integer("as_of_ms")] },
];

/// What a copy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    pub checkpoint: Checkpoint,
    /// Orders in the copy.
    pub orders: u64,
}

/// A fingerprint of the tables this build writes: the statistics migrations and the copy's
/// layout. A copy taken by a build with other tables is refused.
pub fn schema_fingerprint() -> String {
    let mut hasher = Sha256::new();
    hasher.update(DUMP_FORMAT.to_be_bytes());
    for migration in sqlx::migrate!("./stats-migrations").iter() {
        hasher.update(migration.version.to_be_bytes());
        hasher.update(&migration.checksum);
    }
    let digest = format!("{:x}", hasher.finalize());
    format!("stats-{}", &digest[..16])
}

impl StatsStore {
    /// Writes the copy into `dir` (which must exist) from one consistent read.
    pub async fn export(&self, dir: &Path) -> anyhow::Result<Exported> {
        let copy = dir.join(COPY_FILE);
        let mut connection =
            AnyConnection::connect(&self.url).await.context("cannot open a connection for the statistics copy")?;
        match self.backend() {
            Backend::Sqlite => {
                // a connection of its own: the pool's one connection keeps serving the projection
                sqlx::query("vacuum into $1")
                    .bind(path_text(&copy)?.to_string())
                    .execute(&mut connection)
                    .await
                    .context("cannot copy the statistics store")?;
            }
            Backend::Postgres => {
                let target = create_copy(&copy).await?;
                let mut tx = connection.begin().await.context("cannot start the statistics copy")?;
                // the first statement of the transaction fixes what every later one sees
                tx.execute("set transaction isolation level repeatable read").await?;
                let mut written = target.begin().await?;
                for table in &TABLES {
                    copy_rows(&mut tx, &mut written, table).await?;
                }
                written.commit().await.context("cannot write the statistics copy")?;
                tx.rollback().await.context("cannot end the statistics copy")?;
                target.close().await;
            }
        }
        connection.close().await?;
        summarize_copy(&copy).await
    }

    /// Replaces everything in the store with the copy in `dir`. A copy that does not open
    /// leaves the store as it was. Only while no projection writes to it.
    pub async fn import(&self, dir: &Path) -> anyhow::Result<Exported> {
        let copy = dir.join(COPY_FILE);
        let exported = summarize_copy(&copy).await?;
        match (self.backend(), sql_store::sqlite_file_path(&self.url)) {
            (Backend::Sqlite, Some(store_file)) => {
                let store_file = PathBuf::from(store_file);
                self.reopen_after(async || replace_file(&copy, &store_file).await).await?;
            }
            _ => {
                let mut source = open_copy(&copy).await?;
                let mut tx = self.pool().begin().await.context("cannot start loading the statistics copy")?;
                for table in &TABLES {
                    sqlx::query(&format!("delete from {}", table.name)).execute(&mut *tx).await?;
                    copy_rows(&mut source, &mut tx, table).await?;
                }
                tx.commit().await.context("cannot commit the loaded statistics")?;
                source.close().await?;
            }
        }
        Ok(exported)
    }

    /// Empties every table: the start of a rebuild from offset 0.
    pub async fn clear(&self) -> anyhow::Result<()> {
        let mut tx = self.pool().begin().await?;
        for table in &TABLES {
            sqlx::query(&format!("delete from {}", table.name)).execute(&mut *tx).await?;
        }
        tx.commit().await.context("cannot clear the statistics")?;
        Ok(())
    }
}

fn path_text(path: &Path) -> anyhow::Result<&str> {
    path.to_str().with_context(|| format!("{} is not a utf-8 path", path.display()))
}

/// A new, empty copy with the statistics tables. Not `StatsStore::connect`: that puts the file
/// in write-ahead-log mode, and a copy made so did not open again with `immutable` (tried).
async fn create_copy(copy: &Path) -> anyhow::Result<AnyPool> {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=rwc", path_text(copy)?))
        .await
        .with_context(|| format!("cannot create {}", copy.display()))?;
    sqlx::migrate!("./stats-migrations").run(&pool).await.context("cannot create the copy's tables")?;
    Ok(pool)
}

/// The copy, opened to be read only: nothing changes it while it is open.
async fn open_copy(copy: &Path) -> anyhow::Result<AnyConnection> {
    AnyConnection::connect(&format!("sqlite://{}?mode=ro&immutable=true", path_text(copy)?))
        .await
        .with_context(|| format!("cannot open {}", copy.display()))
}

/// The checkpoint and order count of a copy; fails for a file that is not such a copy.
async fn summarize_copy(copy: &Path) -> anyhow::Result<Exported> {
    let mut connection = open_copy(copy).await?;
    let summary = read_summary(&mut connection)
        .await
        .with_context(|| format!("{COPY_FILE} is not a copy of the statistics store"));
    connection.close().await?;
    summary
}

async fn read_summary(connection: &mut AnyConnection) -> anyhow::Result<Exported> {
    let checkpoint = super::store::read_checkpoint(&mut *connection).await?;
    let orders: i64 = sqlx::query("select count(*) as orders from stats_orders")
        .fetch_one(&mut *connection)
        .await?
        .try_get("orders")?;
    Ok(Exported { checkpoint, orders: u64::try_from(orders).unwrap_or(0) })
}

/// Puts `copy` in the place of the SQLite file `store_file`, whose store is closed. The
/// write-ahead log of the replaced file goes with it: applied to the copy it would corrupt it.
async fn replace_file(copy: &Path, store_file: &Path) -> anyhow::Result<()> {
    for suffix in ["-wal", "-shm"] {
        let mut name = store_file.as_os_str().to_owned();
        name.push(suffix);
        match tokio::fs::remove_file(&name).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).with_context(|| format!("cannot remove {}", Path::new(&name).display()));
            }
            _ => {}
        }
    }
    if tokio::fs::rename(copy, store_file).await.is_err() {
        // another file system: copied beside the store first, so the store file is replaced
        // whole or not at all
        let mut beside = store_file.as_os_str().to_owned();
        beside.push(".restoring");
        tokio::fs::copy(copy, &beside).await.with_context(|| format!("cannot copy {}", copy.display()))?;
        tokio::fs::File::open(&beside).await?.sync_all().await?;
        tokio::fs::rename(&beside, store_file)
            .await
            .with_context(|| format!("cannot replace {}", store_file.display()))?;
    }
    if let Some(parent) = store_file.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        tokio::fs::File::open(parent).await?.sync_all().await.context("cannot flush the statistics store's dir")?;
    }
    Ok(())
}

/// Copies every row of `table` from one store to the other, 64 rows per statement.
async fn copy_rows(from: &mut AnyConnection, to: &mut AnyConnection, table: &Table) -> anyhow::Result<u64> {
    let columns: Vec<&str> = table.columns.iter().map(|column| column.name()).collect();
    let sql = format!("select {} from {}", columns.join(", "), table.name);
    let mut rows = sqlx::query(&sql).fetch(&mut *from);
    let mut pending: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut count = 0;
    while let Some(row) = rows.try_next().await.with_context(|| format!("cannot read {}", table.name))? {
        let mut values = Vec::with_capacity(table.columns.len());
        for (index, column) in table.columns.iter().enumerate() {
            values.push(match column {
                Text(_) => Value::Text(row.try_get(index)?),
                Integer(_) => Value::Integer(row.try_get(index)?),
            });
        }
        pending.push(values);
        count += 1;
        if pending.len() == ROWS_PER_STATEMENT {
            insert_rows(to, table, &pending).await?;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        insert_rows(to, table, &pending).await?;
    }
    Ok(count)
}

/// A value of a row on its way from one store to the other.
enum Value {
    Text(String),
    Integer(i64),
}

async fn insert_rows(to: &mut AnyConnection, table: &Table, rows: &[Vec<Value>]) -> anyhow::Result<()> {
    let columns: Vec<&str> = table.columns.iter().map(|column| column.name()).collect();
    let sql = format!(
        "insert into {} ({}) values {}",
        table.name,
        columns.join(", "),
        row_placeholders(rows.len(), columns.len())
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        for value in row {
            query = match value {
                Value::Text(text) => query.bind(text.as_str()),
                Value::Integer(integer) => query.bind(*integer),
            };
        }
    }
    query.execute(to).await.with_context(|| format!("cannot write rows into {}", table.name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_names_the_statistics_schema() {
        let fingerprint = schema_fingerprint();
        assert!(fingerprint.starts_with("stats-"), "{fingerprint}");
        assert_eq!(fingerprint, schema_fingerprint(), "the same build gives the same fingerprint");
    }
}
