//! DynamoDB: one table, key `pk`, TTL attribute `expires_at` (epoch seconds).
//!
//! | item | `pk` | holds |
//! |---|---|---|
//! | incident | `incident#<id>` | kind, cluster, window, counters `api:<name>` / `caller:<name>`, `events`, `nodes` and `claimed` sets, `notes`, `findings:<instance>` |
//! | event marker | `event#<CloudTrail eventID>` | nothing: its existence makes a replay a no-op |
//! | node lock | `lock#<instance>#<window>` | `incident`, `command_id` |
//! | command | `cmd#<command id>` | the collection request (JSON) |
//!
//! A fold is one `TransactWriteItems`: the incident update (with the claim budget as its condition)
//! plus one conditional put per event id. DynamoDB deletes expired items lazily, so reads and
//! conditions treat `expires_at < now` as absent.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use eks_remedy_pipeline::model::{CollectionRequest, FoldResult, FoldWrite};
use eks_remedy_pipeline::ports::{IncidentStore, NodeLock};
use eks_remedy_pipeline::PortError;

use crate::classify;

/// Most event markers in one fold transaction (DynamoDB allows 100 items, one is the incident).
pub const MAX_EVENTS_PER_FOLD: usize = 99;

/// The adapter.
pub struct Store {
    client: Client,
    table: String,
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn refused(e: impl std::fmt::Display) -> PortError {
    PortError::Refused {
        service: "dynamodb",
        message: e.to_string(),
    }
}

/// Largest versioned document written: DynamoDB items hold 400 KB, and a refusal would send the
/// event to a dead-letter queue instead of saving what can be saved.
pub const MAX_STATE_BYTES: usize = 380 * 1024;

/// Reads a versioned document (`state` as JSON text, `version`), absent when expired.
pub(crate) async fn load_versioned<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    pk: &str,
) -> Result<Option<eks_remedy_pipeline::ports::Versioned<T>>, PortError> {
    let Some(item) = get_item(client, table, pk).await? else {
        return Ok(None);
    };
    if expired(&item) {
        return Ok(None);
    }
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| refused(format!("{pk}: no version")))?;
    let state = item
        .get("state")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| refused(format!("{pk}: no state")))?;
    let value =
        serde_json::from_str(state).map_err(|e| refused(format!("{pk}: unreadable state: {e}")))?;
    Ok(Some(eks_remedy_pipeline::ports::Versioned {
        value,
        version,
    }))
}

/// Writes a versioned document as version `version + 1` if the stored one is still `version`
/// (`None`: if there is none, or it expired), with `extra` attributes beside it. A conflict is
/// [`Saved::Conflict`](eks_remedy_pipeline::ports::Saved), for the caller to reload and retry.
pub(crate) async fn save_versioned<T: serde::Serialize>(
    client: &Client,
    table: &str,
    pk: &str,
    value: &T,
    version: Option<u64>,
    expires_epoch: i64,
    extra: Vec<(&str, AttributeValue)>,
) -> Result<eks_remedy_pipeline::ports::Saved, PortError> {
    use eks_remedy_pipeline::ports::Saved;
    let state = serde_json::to_string(value)
        .map_err(|e| refused(format!("{pk}: state not serializable: {e}")))?;
    if state.len() > MAX_STATE_BYTES {
        return Err(refused(format!(
            "{pk}: state is {} bytes, over the {MAX_STATE_BYTES} an item can hold",
            state.len()
        )));
    }
    let mut put = client
        .put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("state", s(state))
        .item("version", n(version.unwrap_or(0) + 1))
        .item("expires_at", n(expires_epoch));
    for (name, v) in extra {
        put = put.item(name, v);
    }
    put = match version {
        None => put
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(now())),
        Some(v) => put
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(v)),
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

/// Reads one item by `pk` (consistent read), expired or not.
pub(crate) async fn get_item(
    client: &Client,
    table: &str,
    pk: &str,
) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| classify("dynamodb", e))?;
    Ok(out.item)
}

/// Puts `item` (which holds `pk` and `expires_at`) unless an item live at `now` (epoch seconds)
/// has its key: one conditional write; false when a live one has it.
pub(crate) async fn put_if_absent(
    client: &Client,
    table: &str,
    item: HashMap<String, AttributeValue>,
    now: i64,
) -> Result<bool, PortError> {
    let put = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(classify("dynamodb", e)),
    }
}

fn expired(item: &HashMap<String, AttributeValue>) -> bool {
    item.get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|t| t < now())
}

impl Store {
    /// Wraps a client and the table name.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, pk: &str) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
        Ok(get_item(&self.client, &self.table, pk)
            .await?
            .filter(|i| !expired(i)))
    }

    fn incident_update(&self, w: &FoldWrite) -> Result<Update, PortError> {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        let mut set = Vec::new();
        let mut add = Vec::new();
        for (attr, value) in [
            ("kind", s(w.kind.as_str())),
            ("cluster", s(&w.cluster.cluster)),
            ("account", s(&w.cluster.account)),
            ("region", s(&w.cluster.region)),
            ("window_start", s(w.window.to_rfc3339())),
            ("expires_at", n(w.expires_at.timestamp())),
        ] {
            names.insert(format!("#{attr}"), attr.to_string());
            values.insert(format!(":{attr}"), value);
            set.push(format!("#{attr} = :{attr}"));
        }
        if let (Some(first), Some(last)) = (w.delta.first, w.delta.last) {
            names.insert("#first".into(), "first_seen".into());
            names.insert("#last".into(), "last_seen".into());
            values.insert(":first".into(), s(first.to_rfc3339()));
            values.insert(":last".into(), s(last.to_rfc3339()));
            set.push("#first = if_not_exists(#first, :first)".into());
            set.push("#last = :last".into());
        }
        names.insert("#events".into(), "events".into());
        values.insert(":events".into(), n(w.delta.events()));
        add.push("#events :events".to_string());
        let counters = w
            .delta
            .apis
            .iter()
            .map(|(k, v)| (format!("api:{k}"), v))
            .chain(
                w.delta
                    .callers
                    .iter()
                    .map(|(k, v)| (format!("caller:{k}"), v)),
            );
        for (i, (attr, v)) in counters.enumerate() {
            names.insert(format!("#k{i}"), attr);
            values.insert(format!(":k{i}"), n(v));
            add.push(format!("#k{i} :k{i}"));
        }
        if !w.delta.nodes.is_empty() {
            names.insert("#nodes".into(), "nodes".into());
            values.insert(
                ":nodes".into(),
                AttributeValue::Ss(w.delta.nodes.iter().cloned().collect()),
            );
            add.push("#nodes :nodes".into());
        }
        let mut condition = None;
        if !w.claim.is_empty() {
            names.insert("#claimed".into(), "claimed".into());
            values.insert(
                ":claim".into(),
                AttributeValue::Ss(w.claim.iter().cloned().collect()),
            );
            add.push("#claimed :claim".into());
            let room = i64::from(w.max_claims) - w.claim.len() as i64;
            values.insert(":room".into(), n(room));
            condition =
                Some("attribute_not_exists(#claimed) OR size(#claimed) <= :room".to_string());
        }
        let expr = format!("SET {} ADD {}", set.join(", "), add.join(", "));
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(format!("incident#{}", w.incident_id)))
            .update_expression(expr)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(refused)
    }
}

impl IncidentStore for Store {
    async fn fold(&self, w: &FoldWrite) -> Result<FoldResult, PortError> {
        if w.claim.len() > w.max_claims as usize {
            return Ok(FoldResult::BudgetSpent);
        }
        if w.delta.event_ids.len() > MAX_EVENTS_PER_FOLD {
            return Err(refused(format!(
                "{} events in one fold; at most {MAX_EVENTS_PER_FOLD}",
                w.delta.event_ids.len()
            )));
        }
        let mut items = vec![TransactWriteItem::builder()
            .update(self.incident_update(w)?)
            .build()];
        for id in &w.delta.event_ids {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(format!("event#{id}")))
                .item("expires_at", n(w.expires_at.timestamp()))
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", n(now()))
                .build()
                .map_err(refused)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(FoldResult::Written {
                claimed: w.claim.clone(),
            }),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let failed = |i: usize| {
                        c.cancellation_reasons().get(i).and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                    };
                    let seen: BTreeSet<String> = w
                        .delta
                        .event_ids
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| failed(i + 1))
                        .map(|(_, id)| id.clone())
                        .collect();
                    if !seen.is_empty() {
                        return Ok(FoldResult::Replayed { seen });
                    }
                    if failed(0) {
                        return Ok(FoldResult::BudgetSpent);
                    }
                }
                Err(classify("dynamodb", e))
            }
        }
    }

    async fn lock_node(
        &self,
        instance_id: &str,
        window: &str,
        incident_id: &str,
        expires_epoch: i64,
    ) -> Result<NodeLock, PortError> {
        let pk = format!("lock#{instance_id}#{window}");
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("incident", s(incident_id))
            .item("expires_at", n(expires_epoch))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(now()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(NodeLock::Acquired),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                let item = self.get(&pk).await?.unwrap_or_default();
                let owner = item.get("incident").and_then(|v| v.as_s().ok());
                if owner.map(String::as_str) == Some(incident_id) {
                    Ok(NodeLock::Ours {
                        command_id: item.get("command_id").and_then(|v| v.as_s().ok()).cloned(),
                    })
                } else {
                    Ok(NodeLock::Taken)
                }
            }
            Err(e) => Err(classify("dynamodb", e)),
        }
    }

    async fn record_command(
        &self,
        command_id: &str,
        req: &CollectionRequest,
        expires_epoch: i64,
    ) -> Result<(), PortError> {
        let body = serde_json::to_string(req).map_err(refused)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("cmd#{command_id}")))
            .item("request", s(body))
            .item("expires_at", n(expires_epoch))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key(
                "pk",
                s(format!(
                    "lock#{}#{}",
                    req.instance_id,
                    eks_remedy_pipeline::model::window_tag(req.window)
                )),
            )
            .update_expression("SET command_id = :c")
            .expression_attribute_values(":c", s(command_id))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn command(&self, command_id: &str) -> Result<Option<CollectionRequest>, PortError> {
        let Some(item) = self.get(&format!("cmd#{command_id}")).await? else {
            return Ok(None);
        };
        let body = item
            .get("request")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| refused("command item without a request"))?;
        serde_json::from_str(body).map(Some).map_err(refused)
    }

    async fn note(&self, incident_id: &str, note: &str) -> Result<(), PortError> {
        // A replayed status event must not repeat its note: append only what is not there yet.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("incident#{incident_id}")))
            .update_expression("SET notes = list_append(if_not_exists(notes, :empty), :n)")
            .condition_expression("attribute_not_exists(notes) OR NOT contains(notes, :note)")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":n", AttributeValue::L(vec![s(note)]))
            .expression_attribute_values(":note", s(note))
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("dynamodb", e)),
        }
    }

    async fn record_findings(
        &self,
        incident_id: &str,
        instance_id: &str,
        rules: &[String],
        report_key: &str,
    ) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("incident#{incident_id}")))
            .update_expression("SET #f = :f, #r = :r")
            .expression_attribute_names("#f", format!("findings:{instance_id}"))
            .expression_attribute_names("#r", format!("report:{instance_id}"))
            .expression_attribute_values(":f", AttributeValue::L(rules.iter().map(s).collect()))
            .expression_attribute_values(":r", s(report_key))
            .send()
            .await
            .map_err(|e| classify("dynamodb", e))?;
        Ok(())
    }

    async fn mark_opened(&self, incident_id: &str, expires_epoch: i64) -> Result<bool, PortError> {
        let item = HashMap::from([
            ("pk".to_string(), s(format!("opened#{incident_id}"))),
            ("expires_at".to_string(), n(expires_epoch)),
        ]);
        put_if_absent(&self.client, &self.table, item, now()).await
    }

    async fn incident(&self, incident_id: &str) -> Result<Option<serde_json::Value>, PortError> {
        self.get(&format!("incident#{incident_id}"))
            .await?
            .map(serde_dynamo::from_item)
            .transpose()
            .map_err(refused)
    }
}
