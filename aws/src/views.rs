//! DynamoDB: the notifier's state in the incident table.
//!
//! | item | `pk` | holds |
//! |---|---|---|
//! | incident view | `view#<incident id>` | `state` (JSON: the view and each target's outbox record), `version`, `expires_at`; `watch` and `last_event` while the resolve check must look at it |
//! | channel limiter | `limiter#<target name>` | `state` (JSON: the rate limiter), `version`, `expires_at` |
//!
//! The resolve check finds quiet incidents through the sparse index [`QUIET_INDEX`]: partition
//! `watch` (`open`, or `owed` while a target still owes a change, see [`NotifyState::watch`]),
//! sort `last_event` (the latest event's time, RFC 3339 at fixed width, so text order is time
//! order). Only views being watched carry the two attributes, so a resolved and delivered view
//! leaves the index with the write that resolves it, and the query never reads anything else.
//!
//! Each write is a `PutItem` conditioned on the version read (or on no live item), so two
//! invocations for one incident never overwrite each other: the loser gets
//! [`Saved::Conflict`], reloads and applies its events again. Expired items (TTL deletes them
//! lazily) read as absent and may be replaced.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use eks_remedy_core::notify::noise::Limiter;
use eks_remedy_pipeline::ports::{NotifyState, Quiet, Saved, Versioned, ViewStore, Watch};
use eks_remedy_pipeline::PortError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::classify;
use crate::store::{load_versioned, save_versioned};

pub use crate::store::MAX_STATE_BYTES;

/// The sparse index of the views the resolve check watches (partition `watch`, sort
/// `last_event`; it projects `expires_at` too).
pub const QUIET_INDEX: &str = "quiet";

/// Items read per query page (the check takes few; DynamoDB pages at 1 MB anyway).
const PAGE: i32 = 100;

/// The adapter.
pub struct Views {
    client: Client,
    table: String,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Views {
    /// Wraps a client and the table name.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Views {
            client,
            table: table.into(),
        }
    }

    async fn load<T: DeserializeOwned>(&self, pk: &str) -> Result<Option<Versioned<T>>, PortError> {
        load_versioned(&self.client, &self.table, pk).await
    }

    /// Writes `value` under `pk` if its version is still `version`; `watch` puts it in the
    /// [`QUIET_INDEX`] (a put replaces the whole item, so without it the item leaves the index).
    async fn save<T: Serialize>(
        &self,
        pk: &str,
        value: &T,
        version: Option<u64>,
        expires_epoch: i64,
        watch: Option<(Watch, DateTime<Utc>)>,
    ) -> Result<Saved, PortError> {
        let extra = match watch {
            Some((watch, last)) => vec![
                ("watch", AttributeValue::S(watch.as_str().into())),
                ("last_event", AttributeValue::S(index_time(last))),
            ],
            None => Vec::new(),
        };
        save_versioned(
            &self.client,
            &self.table,
            pk,
            value,
            version,
            expires_epoch,
            extra,
        )
        .await
    }
}

/// A time as the index sorts it: RFC 3339 in UTC with nanoseconds, always the same width.
fn index_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
}

/// The incident and time of an index entry; `None` for an item that is not a view's.
fn quiet(item: &HashMap<String, AttributeValue>) -> Option<Quiet> {
    let pk = item.get("pk")?.as_s().ok()?;
    let incident_id = pk.strip_prefix("view#")?.to_string();
    let last = item.get("last_event")?.as_s().ok()?;
    let last_event_at = DateTime::parse_from_rfc3339(last).ok()?.with_timezone(&Utc);
    Some(Quiet {
        incident_id,
        last_event_at,
    })
}

/// The item key of an incident's view.
pub fn view_key(incident_id: &str) -> String {
    format!("view#{incident_id}")
}

/// The item key of a channel's limiter.
pub fn limiter_key(channel: &str) -> String {
    format!("limiter#{channel}")
}

impl ViewStore for Views {
    async fn load_view(
        &self,
        incident_id: &str,
    ) -> Result<Option<Versioned<NotifyState>>, PortError> {
        self.load(&view_key(incident_id)).await
    }

    async fn save_view(
        &self,
        incident_id: &str,
        state: &NotifyState,
        version: Option<u64>,
        expires_epoch: i64,
    ) -> Result<Saved, PortError> {
        self.save(
            &view_key(incident_id),
            state,
            version,
            expires_epoch,
            state.watch(),
        )
        .await
    }

    async fn quiet_views(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Quiet>, PortError> {
        let mut out = Vec::new();
        let now = now();
        for watch in [Watch::Open, Watch::Owed] {
            let mut start: Option<HashMap<String, AttributeValue>> = None;
            while out.len() < max {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(QUIET_INDEX)
                    .key_condition_expression("#w = :w AND #t < :t")
                    .expression_attribute_names("#w", "watch")
                    .expression_attribute_names("#t", "last_event")
                    .expression_attribute_values(":w", AttributeValue::S(watch.as_str().into()))
                    .expression_attribute_values(":t", AttributeValue::S(index_time(before)))
                    .scan_index_forward(true)
                    .limit(PAGE)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| classify("dynamodb", e))?;
                for item in page.items() {
                    // Expired views (TTL deletes them lazily) are gone for the notifier too.
                    if out.len() == max || number(item, "expires_at").is_some_and(|t| t < now) {
                        continue;
                    }
                    if let Some(q) = quiet(item) {
                        out.push(q);
                    }
                }
                match page.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    async fn load_limiter(&self, channel: &str) -> Result<Option<Versioned<Limiter>>, PortError> {
        self.load(&limiter_key(channel)).await
    }

    async fn save_limiter(
        &self,
        channel: &str,
        limiter: &Limiter,
        version: Option<u64>,
        expires_epoch: i64,
    ) -> Result<Saved, PortError> {
        self.save(&limiter_key(channel), limiter, version, expires_epoch, None)
            .await
    }
}
