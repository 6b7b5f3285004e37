//! DynamoDB: the notifier's state in the incident table.
//!
//! | item | `pk` | holds |
//! |---|---|---|
//! | incident view | `view#<incident id>` | `state` (JSON: the view and each target's outbox record), `version`, `expires_at` |
//! | channel limiter | `limiter#<target name>` | `state` (JSON: the rate limiter), `version`, `expires_at` |
//!
//! Each write is a `PutItem` conditioned on the version read (or on no live item), so two
//! invocations for one incident never overwrite each other: the loser gets
//! [`Saved::Conflict`], reloads and applies its events again. Expired items (TTL deletes them
//! lazily) read as absent and may be replaced.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use eks_remedy_core::notify::noise::Limiter;
use eks_remedy_pipeline::ports::{NotifyState, Saved, Versioned, ViewStore};
use eks_remedy_pipeline::PortError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::classify;

/// Largest `state` written: DynamoDB refuses items over 400 KB, and a refusal would send the
/// incident's events to the dead-letter queue instead of saving what can be saved.
pub const MAX_STATE_BYTES: usize = 380 * 1024;

/// The adapter.
pub struct Views {
    client: Client,
    table: String,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn refused(message: String) -> PortError {
    PortError::Refused {
        service: "dynamodb",
        message,
    }
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        if number(&item, "expires_at").is_some_and(|t| t < now()) {
            return Ok(None);
        }
        let version = number(&item, "version")
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| refused(format!("{pk}: no version")))?;
        let state = item
            .get("state")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| refused(format!("{pk}: no state")))?;
        let value = serde_json::from_str(state)
            .map_err(|e| refused(format!("{pk}: unreadable state: {e}")))?;
        Ok(Some(Versioned { value, version }))
    }

    async fn save<T: Serialize>(
        &self,
        pk: &str,
        value: &T,
        version: Option<u64>,
        expires_epoch: i64,
    ) -> Result<Saved, PortError> {
        let state = serde_json::to_string(value)
            .map_err(|e| refused(format!("{pk}: state not serializable: {e}")))?;
        if state.len() > MAX_STATE_BYTES {
            return Err(refused(format!(
                "{pk}: state is {} bytes, over the {MAX_STATE_BYTES} an item can hold",
                state.len()
            )));
        }
        let next = version.unwrap_or(0) + 1;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.to_string()))
            .item("state", AttributeValue::S(state))
            .item("version", AttributeValue::N(next.to_string()))
            .item("expires_at", AttributeValue::N(expires_epoch.to_string()));
        put = match version {
            None => put
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", AttributeValue::N(now().to_string())),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(Saved::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(Saved::Conflict)
            }
            Err(e) => Err(classify("dynamodb", e)),
        }
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
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
        self.save(&view_key(incident_id), state, version, expires_epoch)
            .await
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
        self.save(&limiter_key(channel), limiter, version, expires_epoch)
            .await
    }
}
