//! Throttling watcher: CloudTrail `RequestLimitExceeded` events (EventBridge → SQS, batches) folded
//! into one incident per cluster and window, with collection from at most `max_collections` nodes.
//!
//! Per batch and incident there is one store write, which folds the counters, records the event ids
//! (so a replay changes nothing) and, while the budget lasts, claims nodes. Lookups that map a caller
//! to its cluster are cached for the container's life so a storm costs a handful of EC2 calls.
//! Throttled callers outside EKS are folded the same way into one record per account, region and
//! window ([`other_throttling_id`]): EC2 throttles per account and region, so they compete with the
//! clusters for the same request tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use super::{batch_response, records, settle};
use crate::events::{parse, Caller, Inbound, ThrottledCall};
use crate::model::{
    id_part, incident_id, window_start, ClusterKey, CollectionRequest, FoldDelta, FoldResult,
    FoldWrite, IncidentKind, Instance,
};
use crate::ports::{ClusterDirectory, CollectionQueue, Ec2Directory, IncidentStore};
use crate::{Config, HandlerError, PortError};

#[derive(Default)]
struct Cache {
    by_ip: HashMap<String, Option<Instance>>,
    by_oidc: HashMap<String, Option<String>>,
    /// Incident → nodes claimed, as last seen.
    claimed: HashMap<String, BTreeSet<String>>,
    /// Incidents whose budget another container spent: claim nothing more.
    spent: std::collections::HashSet<String>,
}

/// The record of throttled callers outside EKS in one account, region and window, e.g.
/// `111122223333-us-east-1:throttling-other:20261019T0500`.
pub fn other_throttling_id(
    account: &str,
    region: &str,
    window: chrono::DateTime<chrono::Utc>,
) -> String {
    incident_id(
        &id_part(&format!("{account}-{region}")),
        IncidentKind::OtherThrottling,
        window,
    )
}

/// What one invocation did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ThrottleSummary {
    /// Events folded.
    pub folded: u64,
    /// Replayed events ignored.
    pub replayed: u64,
    /// Events from callers that are not EKS nodes or clusters (acknowledged).
    pub unknown_callers: u64,
    /// Foreign events acknowledged.
    pub foreign: u64,
    /// Store writes made.
    pub writes: u64,
    /// Collections requested.
    pub collections: u64,
    /// EC2 API calls this invocation made (caller lookups; cached across invocations).
    pub ec2_calls: u64,
}

/// The handler.
pub struct ThrottleWatcher<E, C, S, Q> {
    ec2: E,
    eks: C,
    store: S,
    queue: Q,
    cfg: Config,
    cache: Mutex<Cache>,
}

/// Events fold per incident: cluster (for callers outside EKS, account and region), window, kind.
type Group = (ClusterKey, chrono::DateTime<chrono::Utc>, IncidentKind);

/// Events folded per store write (a DynamoDB transaction holds 100 items; one is the incident).
pub const MAX_FOLD_EVENTS: usize = 90;

impl<E: Ec2Directory, C: ClusterDirectory, S: IncidentStore, Q: CollectionQueue>
    ThrottleWatcher<E, C, S, Q>
{
    /// Builds the handler.
    pub fn new(ec2: E, eks: C, store: S, queue: Q, cfg: Config) -> Self {
        ThrottleWatcher {
            ec2,
            eks,
            store,
            queue,
            cfg,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The store, for tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Handles one SQS batch; failed message ids are returned for retry (or the dead-letter queue).
    pub async fn handle(&self, event: SqsEvent) -> (SqsBatchResponse, ThrottleSummary) {
        let mut summary = ThrottleSummary::default();
        let ec2_before = self.ec2.calls();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let mut groups: BTreeMap<Group, Vec<(String, ThrottledCall, Option<String>)>> =
            BTreeMap::new();
        for (msg_id, body) in records(&event) {
            let parsed = match body {
                Some(b) => parse(b).map_err(HandlerError::from),
                None => Err(HandlerError::Config("SQS message without a body".into())),
            };
            let call = match parsed {
                Ok(Inbound::Throttled(c)) => c,
                Ok(other) => {
                    summary.foreign += 1;
                    tracing::info!(message = %msg_id, event = ?std::mem::discriminant(&other), "not a throttled EC2 call; acknowledged");
                    continue;
                }
                Err(e) => {
                    if settle("throttle event", &msg_id, &e) {
                        failed.insert(msg_id);
                    }
                    continue;
                }
            };
            let (cluster, kind, node) = match self.resolve(&call).await {
                Ok(Some((cluster, node))) => (cluster, IncidentKind::Throttling, node),
                Ok(None) => {
                    summary.unknown_callers += 1;
                    tracing::info!(message = %msg_id, api = %call.api, source_ip = %call.source_ip, principal = ?call.principal_arn, caller = call.caller.as_str(), "throttled caller is not an EKS node or cluster; recorded on the account's record and acknowledged");
                    (String::new(), IncidentKind::OtherThrottling, None)
                }
                Err(e) => {
                    if settle("throttle caller lookup", &msg_id, &HandlerError::Port(e)) {
                        failed.insert(msg_id);
                    }
                    continue;
                }
            };
            let window = window_start(call.time, self.cfg.window_minutes);
            let key = ClusterKey {
                account: call.account.clone(),
                region: call.region.clone(),
                cluster,
            };
            groups
                .entry((key, window, kind))
                .or_default()
                .push((msg_id, call, node));
        }
        for ((key, window, kind), items) in groups {
            let id = match kind {
                IncidentKind::OtherThrottling => {
                    other_throttling_id(&key.account, &key.region, window)
                }
                _ => incident_id(&key.cluster, kind, window),
            };
            // One store transaction holds at most MAX_FOLD_EVENTS event markers.
            for chunk in items.chunks(MAX_FOLD_EVENTS) {
                let ids: Vec<String> = chunk.iter().map(|(m, _, _)| m.clone()).collect();
                let calls: Vec<(ThrottledCall, Option<String>)> = chunk
                    .iter()
                    .map(|(_, c, n)| (c.clone(), n.clone()))
                    .collect();
                if let Err(e) = self
                    .fold_group(&id, &key, window, kind, &calls, &mut summary)
                    .await
                {
                    if settle("throttle fold", &id, &HandlerError::Port(e)) {
                        failed.extend(ids);
                    }
                }
            }
        }
        summary.ec2_calls = self.ec2.calls() - ec2_before;
        (batch_response(failed), summary)
    }

    /// The cluster of a throttled call and, for ipamd, the node that made it.
    async fn resolve(
        &self,
        call: &ThrottledCall,
    ) -> Result<Option<(String, Option<String>)>, PortError> {
        let node = if call.caller == Caller::VpcCni && !call.source_ip.is_empty() {
            self.instance_by_ip(&call.source_ip).await?
        } else {
            None
        };
        let by_node = node.as_ref().and_then(|n| n.cluster.clone());
        let cluster = match (&call.oidc_provider, by_node) {
            (_, Some(c)) => Some(c),
            (Some(p), None) => self.cluster_for_oidc(p).await?,
            (None, None) => None,
        };
        Ok(cluster.map(|c| (c, node.map(|n| n.instance_id))))
    }

    async fn instance_by_ip(&self, ip: &str) -> Result<Option<Instance>, PortError> {
        if let Some(hit) = self.lock().by_ip.get(ip) {
            return Ok(hit.clone());
        }
        let found = self.ec2.instance_by_ip(ip).await?;
        self.lock().by_ip.insert(ip.to_string(), found.clone());
        Ok(found)
    }

    async fn cluster_for_oidc(&self, provider: &str) -> Result<Option<String>, PortError> {
        if let Some(hit) = self.lock().by_oidc.get(provider) {
            return Ok(hit.clone());
        }
        let found = self.eks.cluster_for_oidc(provider).await?;
        self.lock()
            .by_oidc
            .insert(provider.to_string(), found.clone());
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A poisoned cache is still a valid cache: every entry was written whole.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn fold_group(
        &self,
        id: &str,
        key: &ClusterKey,
        window: chrono::DateTime<chrono::Utc>,
        kind: IncidentKind,
        calls: &[(ThrottledCall, Option<String>)],
        summary: &mut ThrottleSummary,
    ) -> Result<(), PortError> {
        let mut delta = FoldDelta::without(calls, &BTreeSet::new());
        let mut claim = self.claimable(id, &delta.nodes);
        // At most three rounds: replays removed, then a claim dropped when another container spent the budget.
        for _ in 0..3 {
            if delta.event_ids.is_empty() {
                // Everything was a replay: re-send what the incident claimed, in case the first
                // delivery failed after its write (the collector's node lock absorbs duplicates).
                return self.resend_claimed(id, key, window).await;
            }
            let write = FoldWrite {
                incident_id: id.to_string(),
                cluster: key.clone(),
                kind,
                window,
                delta: delta.clone(),
                claim: claim.clone(),
                max_claims: self.cfg.max_collections,
                expires_at: super::expires_at(window, self.cfg.ttl_days),
            };
            summary.writes += 1;
            match self.store.fold(&write).await? {
                FoldResult::Written { claimed } => {
                    summary.folded += delta.events();
                    // "At least these are claimed": merge, another container may have claimed more.
                    self.lock()
                        .claimed
                        .entry(id.to_string())
                        .or_default()
                        .extend(claimed);
                    for node in &claim {
                        self.enqueue(id, key, window, node).await?;
                        summary.collections += 1;
                    }
                    return Ok(());
                }
                FoldResult::Replayed { seen } => {
                    summary.replayed += seen.len() as u64;
                    delta = FoldDelta::without(calls, &seen);
                    claim = self.claimable(id, &delta.nodes);
                }
                FoldResult::BudgetSpent => {
                    self.lock().spent.insert(id.to_string());
                    claim.clear();
                }
            }
        }
        Err(PortError::Transient {
            service: "dynamodb",
            message: format!("incident {id}: fold did not settle"),
        })
    }

    /// Nodes of this batch to claim, within what the container knows of the budget.
    fn claimable(&self, id: &str, nodes: &BTreeSet<String>) -> BTreeSet<String> {
        let cache = self.lock();
        if cache.spent.contains(id) {
            return BTreeSet::new();
        }
        let claimed = cache.claimed.get(id);
        let left =
            (self.cfg.max_collections as usize).saturating_sub(claimed.map_or(0, BTreeSet::len));
        nodes
            .iter()
            .filter(|n| !claimed.is_some_and(|c| c.contains(*n)))
            .take(left)
            .cloned()
            .collect()
    }

    async fn enqueue(
        &self,
        id: &str,
        key: &ClusterKey,
        window: chrono::DateTime<chrono::Utc>,
        node: &str,
    ) -> Result<(), PortError> {
        let req = CollectionRequest {
            incident_id: id.to_string(),
            cluster: key.clone(),
            instance_id: node.to_string(),
            reason: "EC2 API throttling of the VPC CNI".into(),
            window,
        };
        self.queue.enqueue(&req, 0).await
    }

    async fn resend_claimed(
        &self,
        id: &str,
        key: &ClusterKey,
        window: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PortError> {
        let Some(item) = self.store.incident(id).await? else {
            return Ok(());
        };
        let claimed: Vec<String> = item
            .get("claimed")
            .and_then(|c| c.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for node in claimed {
            self.enqueue(id, key, window, &node).await?;
        }
        Ok(())
    }
}
