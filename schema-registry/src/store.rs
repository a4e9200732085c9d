//! The registry's durable state in an embedded SQLite file: schemas, subject versions and
//! compatibility levels.
//!
//! Confluent keeps this state in the `_schemas` Kafka topic; see docs/schema-registry.md for
//! why a local SQLite file replaces it here, and why that allows a single instance only.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::compatibility::CompatibilityLevel;

/// The file the store lives in, inside the data directory.
pub const DATABASE_FILE: &str = "schemas.db";

/// One version of a subject, with its schema text.
#[derive(Clone, Debug)]
pub struct StoredVersion {
    pub version: i32,
    pub schema_id: i32,
    pub schema: String,
    pub deleted: bool,
}

/// Where one schema is registered: a subject and a version, serialized as Confluent lists them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `schemas.db` in `data_dir` and applies the migrations.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(data_dir)
            .await
            .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        let path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            // readers never wait for the writer, and a commit is one append to the log
            .journal_mode(SqliteJournalMode::Wal)
            // an acknowledged registration must survive a power cut: records carry its id
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate {}", path.display()))?;
        Ok(Self { pool })
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Checks that the database answers; for the readiness probe.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1").execute(&self.pool).await.map(|_| ())
    }

    /// The names of subjects with at least one live version, or with any version at all when
    /// `include_deleted`.
    pub async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT DISTINCT subject FROM subject_versions WHERE deleted = 0 OR ?1 ORDER BY subject")
            .bind(include_deleted)
            .fetch_all(&self.pool)
            .await
    }

    /// Every version of `subject`, soft-deleted ones included, oldest first.
    pub async fn subject_versions(&self, subject: &str) -> Result<Vec<StoredVersion>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT v.version, v.schema_id, s.schema, v.deleted
             FROM subject_versions v JOIN schemas s ON s.id = v.schema_id
             WHERE v.subject = ?1
             ORDER BY v.version",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        let mut versions = Vec::with_capacity(rows.len());
        for row in rows {
            versions.push(StoredVersion {
                version: row.try_get("version")?,
                schema_id: row.try_get("schema_id")?,
                schema: row.try_get("schema")?,
                deleted: row.try_get("deleted")?,
            });
        }
        Ok(versions)
    }

    /// The text of schema `id`, as long as some subject version, live or soft-deleted, still
    /// refers to it: soft deletes keep old records decodable, permanent ones do not.
    pub async fn schema_text(&self, id: i32) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT schema FROM schemas
             WHERE id = ?1 AND EXISTS (SELECT 1 FROM subject_versions WHERE schema_id = ?1)",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The subject versions that use schema `id`, ordered by subject then version.
    pub async fn subject_versions_of_schema(
        &self,
        id: i32,
        include_deleted: bool,
    ) -> Result<Vec<SubjectVersion>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT subject, version FROM subject_versions
             WHERE schema_id = ?1 AND (deleted = 0 OR ?2)
             ORDER BY subject, version",
        )
        .bind(id)
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?;
        let mut versions = Vec::with_capacity(rows.len());
        for row in rows {
            versions.push(SubjectVersion { subject: row.try_get("subject")?, version: row.try_get("version")? });
        }
        Ok(versions)
    }

    /// The id already given to the schema with this fingerprint, under any subject.
    pub async fn schema_id_by_fingerprint(&self, fingerprint: &str) -> Result<Option<i32>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM schemas WHERE fingerprint = ?1")
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await
    }

    /// Adds the next version of `subject`, reusing the schema's id when the same schema is
    /// registered elsewhere. Returns the schema id and the new version number.
    pub async fn insert_version(
        &self,
        subject: &str,
        schema_text: &str,
        fingerprint: &str,
    ) -> Result<(i32, i32), sqlx::Error> {
        // IMMEDIATE takes the write lock up front, so the version number read below cannot be
        // taken by another writer before this transaction commits
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO schemas (fingerprint, schema) VALUES (?1, ?2) ON CONFLICT (fingerprint) DO NOTHING")
            .bind(fingerprint)
            .bind(schema_text)
            .execute(&mut *transaction)
            .await?;
        let schema_id: i32 = sqlx::query_scalar("SELECT id FROM schemas WHERE fingerprint = ?1")
            .bind(fingerprint)
            .fetch_one(&mut *transaction)
            .await?;
        // versions continue after soft-deleted ones, as in Confluent
        let version: i32 = sqlx::query_scalar(
            "INSERT INTO subject_versions (subject, version, schema_id)
             SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2 FROM subject_versions WHERE subject = ?1
             RETURNING version",
        )
        .bind(subject)
        .bind(schema_id)
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok((schema_id, version))
    }

    /// Marks every live version of `subject` deleted and drops the subject's compatibility
    /// level, as Confluent does. Returns the versions deleted.
    pub async fn soft_delete_subject(&self, subject: &str) -> Result<Vec<i32>, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        let mut versions: Vec<i32> = sqlx::query_scalar(
            "UPDATE subject_versions SET deleted = 1 WHERE subject = ?1 AND deleted = 0 RETURNING version",
        )
        .bind(subject)
        .fetch_all(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM subject_config WHERE subject = ?1").bind(subject).execute(&mut *transaction).await?;
        transaction.commit().await?;
        // RETURNING gives no order guarantee
        versions.sort_unstable();
        Ok(versions)
    }

    /// Removes the soft-deleted versions of `subject` for good. Returns the versions removed.
    pub async fn hard_delete_subject(&self, subject: &str) -> Result<Vec<i32>, sqlx::Error> {
        let mut versions: Vec<i32> =
            sqlx::query_scalar("DELETE FROM subject_versions WHERE subject = ?1 AND deleted = 1 RETURNING version")
                .bind(subject)
                .fetch_all(&self.pool)
                .await?;
        versions.sort_unstable();
        Ok(versions)
    }

    pub async fn soft_delete_version(&self, subject: &str, version: i32) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE subject_versions SET deleted = 1 WHERE subject = ?1 AND version = ?2")
            .bind(subject)
            .bind(version)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn hard_delete_version(&self, subject: &str, version: i32) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM subject_versions WHERE subject = ?1 AND version = ?2 AND deleted = 1")
            .bind(subject)
            .bind(version)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// The configured global level; `None` means Confluent's default applies.
    pub async fn global_level(&self) -> Result<Option<CompatibilityLevel>, sqlx::Error> {
        let level: Option<String> =
            sqlx::query_scalar("SELECT compatibility_level FROM global_config").fetch_optional(&self.pool).await?;
        level.as_deref().map(parse_stored_level).transpose()
    }

    pub async fn set_global_level(&self, level: CompatibilityLevel) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO global_config (singleton, compatibility_level) VALUES (1, ?1)
             ON CONFLICT (singleton) DO UPDATE SET compatibility_level = excluded.compatibility_level",
        )
        .bind(level.as_str())
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Forgets the global level, so the default applies again. Returns the level forgotten.
    pub async fn delete_global_level(&self) -> Result<Option<CompatibilityLevel>, sqlx::Error> {
        let level: Option<String> = sqlx::query_scalar("DELETE FROM global_config RETURNING compatibility_level")
            .fetch_optional(&self.pool)
            .await?;
        level.as_deref().map(parse_stored_level).transpose()
    }

    pub async fn subject_level(&self, subject: &str) -> Result<Option<CompatibilityLevel>, sqlx::Error> {
        let level: Option<String> =
            sqlx::query_scalar("SELECT compatibility_level FROM subject_config WHERE subject = ?1")
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        level.as_deref().map(parse_stored_level).transpose()
    }

    pub async fn set_subject_level(&self, subject: &str, level: CompatibilityLevel) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO subject_config (subject, compatibility_level) VALUES (?1, ?2)
             ON CONFLICT (subject) DO UPDATE SET compatibility_level = excluded.compatibility_level",
        )
        .bind(subject)
        .bind(level.as_str())
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Forgets the subject's own level, so the global one applies. Returns the level forgotten.
    pub async fn delete_subject_level(&self, subject: &str) -> Result<Option<CompatibilityLevel>, sqlx::Error> {
        let level: Option<String> =
            sqlx::query_scalar("DELETE FROM subject_config WHERE subject = ?1 RETURNING compatibility_level")
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        level.as_deref().map(parse_stored_level).transpose()
    }

    /// The level that governs `subject`: its own, else the global one, else the default.
    pub async fn effective_level(&self, subject: &str) -> Result<CompatibilityLevel, sqlx::Error> {
        if let Some(level) = self.subject_level(subject).await? {
            return Ok(level);
        }
        Ok(self.global_level().await?.unwrap_or(CompatibilityLevel::DEFAULT))
    }
}

/// Only this module writes levels, so an unknown one means the file was edited or corrupted.
fn parse_stored_level(text: &str) -> Result<CompatibilityLevel, sqlx::Error> {
    CompatibilityLevel::from_str(text).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}
