//! A logical copy of the statistics store: every table as JSON lines, read in one consistent
//! transaction, and loaded back in one transaction.
//!
//! Logical rather than a file copy (`VACUUM INTO`, `pg_dump`) so that one code path serves
//! both stores, and a snapshot taken from SQLite restores into PostgreSQL and back. The export
//! reads on a connection of its own: with SQLite's write-ahead log a read transaction sees one
//! committed state and never blocks the projection's writes; PostgreSQL gets the same from
//! `REPEATABLE READ`. The checkpoint is read in that same transaction, so the rows and the
//! offsets they cover always belong together.

use std::path::Path;

use anyhow::{Context, bail};
use futures::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sql_store::Backend;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Connection, Executor, Row, Transaction};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};

use super::StatsStore;
use super::store::{ROWS_PER_STATEMENT, row_placeholders};
use crate::index::Checkpoint;

/// The layout of the files below; part of the schema fingerprint.
const DUMP_FORMAT: u32 = 1;

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

/// One table of the store and the file it is written to.
struct Table {
    name: &'static str,
    file: &'static str,
    columns: &'static [Column],
    /// Sorted by the primary key, so the same state always gives the same files.
    order_by: &'static str,
}

use Column::{Integer, Text};

/// Every table of `stats-migrations`; the checkpoint and `stats_meta` included, so the copy is
/// whole without its manifest.
const TABLES: [Table; 5] = [
    Table {
        name: "stats_orders",
        file: "orders.jsonl",
        columns: &[Text("order_id"), Text("document")],
        order_by: "order_id",
    },
    Table {
        name: "stats_rollup",
        file: "rollup.jsonl",
        columns: &[
            Integer("hour_ms"),
            Text("dimension"),
            Text("key"),
            Text("currency"),
            Integer("orders"),
            Integer("revenue_minor"),
        ],
        order_by: "hour_ms, dimension, key, currency",
    },
    Table {
        name: "stats_products",
        file: "products.jsonl",
        columns: &[Integer("hour_ms"), Text("sku"), Integer("quantity")],
        order_by: "hour_ms, sku",
    },
    Table {
        name: "stats_checkpoint",
        file: "checkpoint.jsonl",
        columns: &[Text("topic"), Integer("partition_id"), Integer("next_offset")],
        order_by: "topic, partition_id",
    },
    Table { name: "stats_meta", file: "meta.jsonl", columns: &[Integer("id"), Integer("as_of_ms")], order_by: "id" },
];

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    pub checkpoint: Checkpoint,
    /// Orders in the copy.
    pub orders: u64,
}

/// A fingerprint of the tables this build writes: the statistics migrations and the dump
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
    /// Writes every table into `dir` (which must exist) from one consistent read.
    pub async fn export(&self, dir: &Path) -> anyhow::Result<Exported> {
        let mut connection =
            AnyConnection::connect(&self.url).await.context("cannot open a connection for the statistics copy")?;
        let mut tx = connection.begin().await.context("cannot start the statistics copy")?;
        if self.store.backend == Backend::Postgres {
            // the first statement of the transaction fixes what every later one sees
            tx.execute("set transaction isolation level repeatable read").await?;
        }
        let mut checkpoint = Checkpoint::default();
        let mut orders = 0;
        for table in &TABLES {
            let rows = export_table(&mut tx, table, &dir.join(table.file)).await?;
            if table.name == "stats_orders" {
                orders = rows;
            }
            if table.name == "stats_checkpoint" {
                checkpoint = super::store::read_checkpoint(&mut *tx).await?;
            }
        }
        tx.rollback().await.context("cannot end the statistics copy")?;
        Ok(Exported { checkpoint, orders })
    }

    /// Replaces everything in the store with the copy in `dir`, in one transaction: a copy
    /// that does not load leaves the store as it was. Only while no projection writes to it.
    pub async fn import(&self, dir: &Path) -> anyhow::Result<Exported> {
        let mut tx = self.store.pool.begin().await.context("cannot start loading the statistics copy")?;
        let mut orders = 0;
        for table in &TABLES {
            sqlx::query(&format!("delete from {}", table.name)).execute(&mut *tx).await?;
            let rows = import_table(&mut tx, table, &dir.join(table.file)).await?;
            if table.name == "stats_orders" {
                orders = rows;
            }
        }
        let checkpoint = super::store::read_checkpoint(&mut *tx).await?;
        tx.commit().await.context("cannot commit the loaded statistics")?;
        Ok(Exported { checkpoint, orders })
    }

    /// Empties every table: the start of a rebuild from offset 0.
    pub async fn clear(&self) -> anyhow::Result<()> {
        let mut tx = self.store.pool.begin().await?;
        for table in &TABLES {
            sqlx::query(&format!("delete from {}", table.name)).execute(&mut *tx).await?;
        }
        tx.commit().await.context("cannot clear the statistics")?;
        Ok(())
    }
}

async fn export_table(tx: &mut Transaction<'_, Any>, table: &Table, path: &Path) -> anyhow::Result<u64> {
    let columns: Vec<&str> = table.columns.iter().map(|column| column.name()).collect();
    let sql = format!("select {} from {} order by {}", columns.join(", "), table.name, table.order_by);
    let file = tokio::fs::File::create(path).await.with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = BufWriter::with_capacity(1024 * 1024, file);
    let mut rows = sqlx::query(&sql).fetch(&mut **tx);
    let mut count = 0;
    while let Some(row) = rows.try_next().await.with_context(|| format!("cannot read {}", table.name))? {
        let mut line = serde_json::to_vec(&row_values(&row, table.columns)?)?;
        line.push(b'\n');
        writer.write_all(&line).await.with_context(|| format!("cannot write {}", path.display()))?;
        count += 1;
    }
    writer.flush().await?;
    writer.get_ref().sync_all().await.with_context(|| format!("cannot flush {}", path.display()))?;
    Ok(count)
}

fn row_values(row: &AnyRow, columns: &[Column]) -> anyhow::Result<Vec<Value>> {
    let mut values = Vec::with_capacity(columns.len());
    for (index, column) in columns.iter().enumerate() {
        values.push(match column {
            Text(_) => Value::from(row.try_get::<String, _>(index)?),
            Integer(_) => Value::from(row.try_get::<i64, _>(index)?),
        });
    }
    Ok(values)
}

/// A value of one line, checked against its column.
#[derive(Debug)]
enum Bound {
    Text(String),
    Integer(i64),
}

async fn import_table(tx: &mut Transaction<'_, Any>, table: &Table, path: &Path) -> anyhow::Result<u64> {
    let file = tokio::fs::File::open(path).await.with_context(|| format!("cannot open {}", table.file))?;
    let mut lines = BufReader::with_capacity(1024 * 1024, file).lines();
    let mut pending: Vec<Vec<Bound>> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut line_number = 0u64;
    while let Some(line) = lines.next_line().await.with_context(|| format!("cannot read {}", table.file))? {
        line_number += 1;
        let row = parse_line(&line, table.columns)
            .with_context(|| format!("{} line {line_number} is not a row of {}", table.file, table.name))?;
        pending.push(row);
        if pending.len() == ROWS_PER_STATEMENT {
            insert_rows(tx, table, &pending).await?;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        insert_rows(tx, table, &pending).await?;
    }
    Ok(line_number)
}

fn parse_line(line: &str, columns: &[Column]) -> anyhow::Result<Vec<Bound>> {
    let Value::Array(values) = serde_json::from_str(line)? else { bail!("not a json array") };
    if values.len() != columns.len() {
        bail!("{} values, not {}", values.len(), columns.len());
    }
    let mut row = Vec::with_capacity(columns.len());
    for (value, column) in values.into_iter().zip(columns) {
        row.push(match (column, value) {
            (Text(_), Value::String(text)) => Bound::Text(text),
            (Integer(name), value) => {
                Bound::Integer(value.as_i64().with_context(|| format!("{name} is not an integer"))?)
            }
            (Text(name), _) => bail!("{name} is not a string"),
        });
    }
    Ok(row)
}

async fn insert_rows(tx: &mut Transaction<'_, Any>, table: &Table, rows: &[Vec<Bound>]) -> anyhow::Result<()> {
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
                Bound::Text(text) => query.bind(text.as_str()),
                Bound::Integer(integer) => query.bind(*integer),
            };
        }
    }
    query.execute(&mut **tx).await.with_context(|| format!("cannot load rows into {}", table.name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_checked_against_its_columns() {
        let columns = TABLES[2].columns;
        assert!(parse_line(r#"[3600000, "SKU-1", 4]"#, columns).is_ok());
        let wrong_type = parse_line(r#"["3600000", "SKU-1", 4]"#, columns).expect_err("a string hour");
        assert_eq!(wrong_type.to_string(), "hour_ms is not an integer");
        let short = parse_line(r#"[3600000, "SKU-1"]"#, columns).expect_err("two values");
        assert_eq!(short.to_string(), "2 values, not 3");
        assert!(parse_line(r#"{"hour_ms": 1}"#, columns).is_err());
        assert!(parse_line("[3600000, \"SKU", columns).is_err(), "a truncated line");
    }

    #[test]
    fn the_fingerprint_names_the_statistics_schema() {
        let fingerprint = schema_fingerprint();
        assert!(fingerprint.starts_with("stats-"), "{fingerprint}");
        assert_eq!(fingerprint, schema_fingerprint(), "the same build gives the same fingerprint");
    }
}
