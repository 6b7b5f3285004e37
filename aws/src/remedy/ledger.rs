//! The remediation ledger and audit log in DynamoDB, in the pipeline's table (key `pk`, TTL
//! attribute `expires_at`). Every guard write is conditional, so two invocations cannot both pass.
//!
//! | item | `pk` | holds |
//! |---|---|---|
//! | claim | `remedy#claim#<incident>#<action>` | `at`: the execution's idempotency claim; `record` (JSON): what it did, once done |
//! | budget | `remedy#budget#<kind>#H#<yyyymmddhh>` / `#D#<yyyymmdd>` | `n`: actions in that UTC hour / day |
//! | failures | `remedy#failures#<kind>#<yyyymmdd>` | `at`: epoch seconds of each failed write |
//! | pending | `remedy#pending#<plan>#<action>` | `pending` (JSON), then `decided_by`, `approved`, `decided_at` |
//! | audit | `remedy#audit#<plan>#<action>#<epoch ms>#<outcome>` | `record` (JSON), `plan`, `incident` |
//! | state | `remedy#state#<incident>` | `state` (JSON: findings, plan, what ran and is followed), `version` |
//! | plan | `remedy#plan#<plan>` | `index` (JSON: incident and action ids, for approvals by index) |
//! | following | `remedy#following` | `ids`: string set of incidents with something to follow |
//!
//! Budgets count per UTC clock hour and day (a counter per window, raised in one transaction with
//! the limit as its condition), not over a rolling window. Failures are kept per UTC day, so the
//! breaker window is at most 24 hours. Expired items (TTL deletes lazily) are treated as absent.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_core::plan::guards::Budget;
use eks_remedy_core::plan::ActionKind;
use eks_remedy_pipeline::ports::{Saved, Versioned};
use eks_remedy_pipeline::remedy::ports::{
    ActionLedger, AuditLog, Decided, PlanIndex, RemedyState, RemedyStore,
};
use eks_remedy_pipeline::remedy::{AuditRecord, PendingApproval};
use eks_remedy_pipeline::PortError;

use crate::classify;
use crate::store::{get_item, load_versioned, n, put_if_absent, refused, s, save_versioned};

/// The adapter.
pub struct Ledger {
    client: Client,
    table: String,
    /// How long claims, pending approvals and audit records are kept.
    keep: TimeDelta,
}

/// Largest execution record kept on a claim (an item is at most 400 KB; records are a few KB).
const MAX_SETTLED_BYTES: usize = 64 << 10;

fn number(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key)?.as_n().ok()?.parse().ok()
}

fn live(item: &HashMap<String, AttributeValue>, at: DateTime<Utc>) -> bool {
    number(item, "expires_at").is_none_or(|t| t >= at.timestamp())
}

fn hour_key(kind: ActionKind, at: DateTime<Utc>) -> String {
    format!(
        "remedy#budget#{}#H#{}",
        kind.as_str(),
        at.format("%Y%m%d%H")
    )
}

fn day_key(kind: ActionKind, at: DateTime<Utc>) -> String {
    format!("remedy#budget#{}#D#{}", kind.as_str(), at.format("%Y%m%d"))
}

fn failures_key(kind: ActionKind, day: DateTime<Utc>) -> String {
    format!("remedy#failures#{}#{}", kind.as_str(), day.format("%Y%m%d"))
}

fn pending_key(plan_id: &str, action_id: &str) -> String {
    format!("remedy#pending#{plan_id}#{action_id}")
}

impl Ledger {
    /// Wraps a client for `table`, keeping records for `keep_days`.
    pub fn new(client: Client, table: impl Into<String>, keep_days: i64) -> Self {
        Ledger {
            client,
            table: table.into(),
            keep: TimeDelta::days(keep_days.max(1)),
        }
    }

    async fn get(&self, pk: &str) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
        get_item(&self.client, &self.table, pk).await
    }

    /// Puts an item unless a live one has its key; false when one has.
    async fn put_new(
        &self,
        pk: String,
        (name, value): (&str, AttributeValue),
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        // A caller's stale `at` (a late event) must not write an item that is already expired.
        let at = at.max(Utc::now());
        let item = HashMap::from([
            ("pk".to_string(), s(pk)),
            (name.to_string(), value),
            ("expires_at".to_string(), n((at + self.keep).timestamp())),
        ]);
        put_if_absent(&self.client, &self.table, item, at.timestamp()).await
    }

    fn counter(
        &self,
        pk: String,
        limit: u32,
        expires: i64,
    ) -> Result<TransactWriteItem, PortError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression("ADD n :one SET expires_at = :exp")
            .condition_expression("attribute_not_exists(n) OR n < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":exp", n(expires))
            .build()
            .map_err(refused)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl ActionLedger for Ledger {
    async fn claim(&self, key: &str, at: DateTime<Utc>) -> Result<bool, PortError> {
        self.put_new(format!("remedy#claim#{key}"), ("at", n(at.timestamp())), at)
            .await
    }

    async fn release(&self, key: &str) -> Result<(), PortError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("remedy#claim#{key}")))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn claimed(&self, key: &str) -> Result<bool, PortError> {
        Ok(self
            .get(&format!("remedy#claim#{key}"))
            .await?
            .is_some_and(|i| live(&i, Utc::now())))
    }

    async fn settle(&self, key: &str, record: &AuditRecord) -> Result<(), PortError> {
        let json = serde_json::to_string(record)
            .map_err(|e| refused(format!("audit record not serializable: {e}")))?;
        if json.len() > MAX_SETTLED_BYTES {
            return Err(refused(format!(
                "audit record of {} bytes not kept on its claim",
                json.len()
            )));
        }
        // Only on the claim this execution holds: a released or expired one keeps nothing.
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("remedy#claim#{key}")))
            .update_expression("SET #record = :record")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":record", s(json))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn settled(&self, key: &str) -> Result<Option<AuditRecord>, PortError> {
        let Some(item) = self.get(&format!("remedy#claim#{key}")).await? else {
            return Ok(None);
        };
        let Some(json) = item
            .get("record")
            .and_then(|v| v.as_s().ok())
            .filter(|_| live(&item, Utc::now()))
        else {
            return Ok(None);
        };
        // A record this version cannot read is treated as none kept: the retry holds on the claim.
        Ok(serde_json::from_str(json)
            .inspect_err(|e| tracing::warn!(error = %e, %key, "kept record unreadable"))
            .ok())
    }

    async fn spend(
        &self,
        kind: ActionKind,
        at: DateTime<Utc>,
        budget: Budget,
    ) -> Result<bool, PortError> {
        let items = vec![
            self.counter(
                hour_key(kind, at),
                budget.per_hour,
                (at + TimeDelta::hours(2)).timestamp(),
            )?,
            self.counter(
                day_key(kind, at),
                budget.per_day,
                (at + TimeDelta::days(2)).timestamp(),
            )?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    if c.cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed"))
                    {
                        return Ok(false);
                    }
                }
                Err(classify("dynamodb", e))
            }
        }
    }

    async fn spent(&self, kind: ActionKind, at: DateTime<Utc>) -> Result<(u32, u32), PortError> {
        let count = |item: Option<HashMap<String, AttributeValue>>| {
            item.and_then(|i| number(&i, "n"))
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0)
        };
        let hour = count(self.get(&hour_key(kind, at)).await?);
        let day = count(self.get(&day_key(kind, at)).await?);
        Ok((hour, day))
    }

    async fn record_failure(&self, kind: ActionKind, at: DateTime<Utc>) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(failures_key(kind, at)))
            .update_expression(
                "SET #at = list_append(if_not_exists(#at, :empty), :now), expires_at = :exp",
            )
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":now", AttributeValue::L(vec![n(at.timestamp())]))
            .expression_attribute_values(":exp", n((at + TimeDelta::days(2)).timestamp()))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn failures_since(
        &self,
        kind: ActionKind,
        since: DateTime<Utc>,
    ) -> Result<u32, PortError> {
        let mut total = 0;
        // The window is at most a day: the day it starts and the next hold every failure in it.
        for day in [since, since + TimeDelta::days(1)] {
            if let Some(item) = self.get(&failures_key(kind, day)).await? {
                if let Some(AttributeValue::L(times)) = item.get("at") {
                    total += times
                        .iter()
                        .filter_map(|t| t.as_n().ok()?.parse::<i64>().ok())
                        .filter(|&t| t > since.timestamp())
                        .count() as u32;
                }
            }
        }
        Ok(total)
    }

    async fn put_pending(&self, p: &PendingApproval) -> Result<bool, PortError> {
        let json = serde_json::to_string(p).map_err(refused)?;
        self.put_new(
            pending_key(&p.plan_id, &p.action.id),
            ("pending", s(json)),
            p.created,
        )
        .await
    }

    async fn pending(
        &self,
        plan_id: &str,
        action_id: &str,
    ) -> Result<Option<PendingApproval>, PortError> {
        let Some(item) = self.get(&pending_key(plan_id, action_id)).await? else {
            return Ok(None);
        };
        parse_pending(&item).map(Some)
    }

    async fn decide(
        &self,
        plan_id: &str,
        action_id: &str,
        approver: &str,
        approved: bool,
        at: DateTime<Utc>,
    ) -> Result<Decided, PortError> {
        let pk = pending_key(plan_id, action_id);
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression("SET decided_by = :who, approved = :ok, decided_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(decided_by)")
            .expression_attribute_values(":who", s(approver))
            .expression_attribute_values(":ok", AttributeValue::Bool(approved))
            .expression_attribute_values(":at", n(at.timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
        {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(Decided::Now(Box::new(parse_pending(&item)?)))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                match self.get(&pk).await? {
                    None => Ok(Decided::Unknown),
                    Some(item) => Ok(Decided::Already(
                        item.get("decided_by")
                            .and_then(|v| v.as_s().ok())
                            .cloned()
                            .unwrap_or_default(),
                        item.get("approved")
                            .and_then(|v| v.as_bool().ok())
                            .copied()
                            .unwrap_or(false),
                    )),
                }
            }
            Err(e) => Err(classify("dynamodb", e)),
        }
    }

    async fn reopen(&self, plan_id: &str, action_id: &str) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pending_key(plan_id, action_id)))
            .update_expression("REMOVE decided_by, approved, decided_at")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }
}

fn parse_pending(item: &HashMap<String, AttributeValue>) -> Result<PendingApproval, PortError> {
    let json = item
        .get("pending")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| refused("pending approval item without `pending`"))?;
    serde_json::from_str(json).map_err(refused)
}

impl AuditLog for Ledger {
    async fn record(&self, r: &AuditRecord) -> Result<(), PortError> {
        let json = serde_json::to_string(r).map_err(refused)?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(
                "pk",
                s(format!(
                    "remedy#audit#{}#{}#{}#{}",
                    r.plan_id,
                    r.action_id,
                    r.at.timestamp_millis(),
                    r.outcome.as_str()
                )),
            )
            .item("record", s(json))
            .item("plan", s(&r.plan_id))
            .item("expires_at", n((r.at + self.keep).timestamp()));
        if let Some(i) = &r.incident_id {
            put = put.item("incident", s(i));
        }
        put.send().await.map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }
}

/// The one item listing the incidents with something to follow (a string set: `ADD` / `DELETE`
/// are atomic, so concurrent invocations need no version).
const FOLLOWING_KEY: &str = "remedy#following";

fn state_key(incident_id: &str) -> String {
    format!("remedy#state#{incident_id}")
}

fn plan_key(plan_id: &str) -> String {
    format!("remedy#plan#{plan_id}")
}

impl RemedyStore for Ledger {
    async fn load_state(
        &self,
        incident_id: &str,
    ) -> Result<Option<Versioned<RemedyState>>, PortError> {
        load_versioned(&self.client, &self.table, &state_key(incident_id)).await
    }

    async fn save_state(
        &self,
        incident_id: &str,
        state: &RemedyState,
        version: Option<u64>,
    ) -> Result<Saved, PortError> {
        let expires = (Utc::now() + self.keep).timestamp();
        let pk = state_key(incident_id);
        save_versioned(
            &self.client,
            &self.table,
            &pk,
            state,
            version,
            expires,
            Vec::new(),
        )
        .await
    }

    async fn index_plan(&self, plan_id: &str, index: &PlanIndex) -> Result<(), PortError> {
        let body = serde_json::to_string(index).map_err(refused)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(plan_key(plan_id)))
            .item("index", s(body))
            .item("expires_at", n((Utc::now() + self.keep).timestamp()))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn plan_index(&self, plan_id: &str) -> Result<Option<PlanIndex>, PortError> {
        let Some(item) = self
            .get(&plan_key(plan_id))
            .await?
            .filter(|i| live(i, Utc::now()))
        else {
            return Ok(None);
        };
        let body = item
            .get("index")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| refused(format!("plan {plan_id}: no index")))?;
        serde_json::from_str(body)
            .map(Some)
            .map_err(|e| refused(format!("plan {plan_id}: unreadable index: {e}")))
    }

    async fn set_following(&self, incident_id: &str, following: bool) -> Result<(), PortError> {
        let op = if following { "ADD" } else { "DELETE" };
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(FOLLOWING_KEY))
            .update_expression(format!("{op} ids :id"))
            .expression_attribute_values(":id", AttributeValue::Ss(vec![incident_id.to_string()]))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn following(&self, max: usize) -> Result<Vec<String>, PortError> {
        let Some(item) = self.get(FOLLOWING_KEY).await? else {
            return Ok(Vec::new());
        };
        Ok(item
            .get("ids")
            .and_then(|v| v.as_ss().ok())
            .map(|ids| ids.iter().take(max).cloned().collect())
            .unwrap_or_default())
    }
}
