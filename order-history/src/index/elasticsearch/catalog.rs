//! The views in Elasticsearch: index `<prefix>-<generation>` per view, alias `<prefix>` on the
//! live one. Readers and the projection use the alias, so a promote is one atomic alias swap.

use std::sync::Arc;

use anyhow::anyhow;
use async_trait::async_trait;
use elasticsearch::Elasticsearch;
use elasticsearch::http::StatusCode;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts, IndicesGetAliasParts};
use serde_json::{Value, json};

use super::mapping::index_definition;
use super::{ElasticsearchConfig, ElasticsearchIndex, client_for, reply_of};
use crate::index::{HistoryIndex, IndexError, ViewCatalog};

/// The generation [`ElasticsearchCatalog::open_live`] creates when there is no live view yet.
pub const INITIAL_GENERATION: &str = "initial";
/// Generations and the prefix end up in index names, and a name with `*` or `,` would make a
/// delete reach other indices; so both are kept to a small, safe alphabet.
const MAX_NAME_CHARS: usize = 100;

/// Creates, promotes and discards the views of one alias.
#[derive(Clone)]
pub struct ElasticsearchCatalog {
    client: Elasticsearch,
    /// The alias of the live view, also the prefix of every view's index name.
    alias: String,
    number_of_replicas: u32,
}

impl ElasticsearchCatalog {
    /// A catalog for `config`; nothing is sent until a view is opened.
    pub fn new(config: &ElasticsearchConfig) -> Result<Self, IndexError> {
        check_name("index prefix", &config.index_prefix)?;
        Ok(ElasticsearchCatalog {
            client: client_for(config)?,
            alias: config.index_prefix.clone(),
            number_of_replicas: config.number_of_replicas,
        })
    }

    /// The alias the live view is served under.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The index that holds the view `generation`.
    pub fn index_name(&self, generation: &str) -> Result<String, IndexError> {
        check_name("generation", generation)?;
        Ok(format!("{}-{generation}", self.alias))
    }

    /// The indices the alias points at now: one once the live view exists, none before.
    pub async fn live_indices(&self) -> Result<Vec<String>, IndexError> {
        let names = [self.alias.as_str()];
        let sent = self.client.indices().get_alias(IndicesGetAliasParts::Name(&names)).send().await;
        let reply = reply_of(sent, "get alias").await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let body = reply.expect_success("get alias")?;
        let Some(indices) = body.as_object() else {
            return Err(IndexError::Fatal(anyhow!("unexpected get alias answer: {body}")));
        };
        let mut names: Vec<String> = indices.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    /// Creates `index` with the mapping, and the alias on it when `with_alias`. False when an
    /// index of that name already exists.
    async fn create_index(&self, index: &str, with_alias: bool) -> Result<bool, IndexError> {
        let mut definition = index_definition(self.number_of_replicas);
        if with_alias {
            definition["aliases"] = json!({ self.alias.as_str(): {} });
        }
        let sent = self.client.indices().create(IndicesCreateParts::Index(index)).body(definition).send().await;
        let reply = reply_of(sent, "create index").await?;
        let error_type = reply.body.pointer("/error/type").and_then(Value::as_str);
        if reply.status == StatusCode::BAD_REQUEST && error_type == Some("resource_already_exists_exception") {
            return Ok(false);
        }
        reply.expect_success("create index")?;
        tracing::info!(index, alias = with_alias.then_some(self.alias.as_str()), "search index created");
        Ok(true)
    }

    /// Sends one `_aliases` request: Elasticsearch applies all its actions atomically.
    async fn update_aliases(&self, actions: Vec<Value>) -> Result<(), IndexError> {
        let sent = self.client.indices().update_aliases().body(json!({ "actions": actions })).send().await;
        reply_of(sent, "update aliases").await?.expect_success("update aliases")?;
        Ok(())
    }

    /// Deletes `index`; one already gone is fine.
    async fn delete_index(&self, index: &str) -> Result<(), IndexError> {
        let names = [index];
        let sent = self.client.indices().delete(IndicesDeleteParts::Index(&names)).send().await;
        let reply = reply_of(sent, "delete index").await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        reply.expect_success("delete index")?;
        tracing::info!(index, "search index deleted");
        Ok(())
    }

    fn handle(&self, target: String) -> Arc<dyn HistoryIndex> {
        Arc::new(ElasticsearchIndex::new(self.client.clone(), target))
    }
}

#[async_trait]
impl ViewCatalog for ElasticsearchCatalog {
    fn backend(&self) -> &'static str {
        "elasticsearch"
    }

    async fn has_live(&self) -> Result<bool, IndexError> {
        Ok(!self.live_indices().await?.is_empty())
    }

    /// The handle targets the alias, so it follows every later promote.
    async fn open_live(&self) -> Result<Arc<dyn HistoryIndex>, IndexError> {
        if !self.live_indices().await?.is_empty() {
            return Ok(self.handle(self.alias.clone()));
        }
        let initial = self.index_name(INITIAL_GENERATION)?;
        // index and alias in one request, so no instance ever sees the index without the alias
        let created = self.create_index(&initial, true).await?;
        if !created {
            // another instance created it at the same moment, or a start failed between the two
            // steps of an older version; adding an alias that exists changes nothing
            self.update_aliases(vec![json!({ "add": { "index": initial, "alias": self.alias } })]).await?;
        }
        Ok(self.handle(self.alias.clone()))
    }

    /// The handle targets the new index itself: it is not live until promoted.
    async fn create_next(&self, generation: &str) -> Result<Arc<dyn HistoryIndex>, IndexError> {
        let index = self.index_name(generation)?;
        if !self.create_index(&index, false).await? {
            return Err(IndexError::Fatal(anyhow!("search index {index} already exists; discard it first")));
        }
        Ok(self.handle(index))
    }

    async fn promote(&self, generation: &str) -> Result<(), IndexError> {
        let next = self.index_name(generation)?;
        let live = self.live_indices().await?;
        let old_indices: Vec<String> = live.into_iter().filter(|index| *index != next).collect();
        let mut actions = Vec::with_capacity(old_indices.len() + 1);
        for old in &old_indices {
            // must_exist: if another promote moved the alias meanwhile, fail instead of leaving
            // the alias on two indices
            actions.push(json!({ "remove": { "index": old, "alias": self.alias, "must_exist": true } }));
        }
        actions.push(json!({ "add": { "index": next, "alias": self.alias } }));
        self.update_aliases(actions).await?;
        tracing::info!(alias = %self.alias, index = %next, previous = ?old_indices, "search view promoted");
        for old in &old_indices {
            // the swap is done and serving; a leftover index only costs disk, so it is reported
            // rather than failing a promote that has happened
            if let Err(error) = self.delete_index(old).await {
                tracing::warn!(index = %old, error = %error, "previous search index not deleted; delete it by hand");
            }
        }
        Ok(())
    }

    async fn discard(&self, generation: &str) -> Result<(), IndexError> {
        let index = self.index_name(generation)?;
        if self.live_indices().await?.contains(&index) {
            return Err(IndexError::Fatal(anyhow!("search index {index} is live and cannot be discarded")));
        }
        self.delete_index(&index).await
    }
}

/// Accepts lowercase letters, digits, `-` and `_`, starting with a letter or digit.
fn check_name(what: &str, name: &str) -> Result<(), IndexError> {
    let starts_well = name.chars().next().is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
    let only_safe_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if starts_well && only_safe_chars && name.len() <= MAX_NAME_CHARS {
        return Ok(());
    }
    Err(IndexError::Fatal(anyhow!(
        "{what} {name:?} is not a valid index name part: use up to {MAX_NAME_CHARS} lowercase letters, digits, - and _"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_names_are_accepted() {
        for good in ["initial", "2026-01-01t00-00", "rebuild_7", "a"] {
            assert!(check_name("generation", good).is_ok(), "{good}");
        }
        for bad in ["", "*", "a,b", "A", "-a", "_a", "a b", "a/b", "a*", ".hidden", &"a".repeat(MAX_NAME_CHARS + 1)] {
            assert!(check_name("generation", bad).is_err(), "{bad}");
        }
    }
}
