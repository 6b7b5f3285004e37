//! Throttling watcher: CloudTrail `RequestLimitExceeded` events (EventBridge → SQS, batches) folded
//! into one incident per cluster and window, with collection from at most `max_collections` nodes.
//!
//! Per batch and incident there is one store write, which folds the counters, records the event ids
//! (so a replay changes nothing) and, while the budget lasts, claims nodes. Lookups that map a caller
//! to its cluster are cached for the container's life so a storm costs a handful of EC2 calls.
//! Throttled callers outside EKS are folded the same way into one record per account, region and
//! window (an incident of kind `throttling-other` with an empty cluster name): EC2 throttles per
//! account and region, so they compete with the clusters for the same request tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use super::{claimed_nodes, fold_and_claim, unexpected, Opened};
use crate::events::{Caller, Inbound, ThrottledCall};
use crate::function::{settle, Handler, Invocation};
use crate::metrics::Metric;
use crate::model::{
    ClusterKey, CollectionRequest, FoldDelta, FoldWrite, IncidentKey, IncidentKind, Instance,
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
    /// Incidents this invocation opened.
    pub opened: u64,
}

/// The handler.
pub struct ThrottleWatcher<E, C, S, Q> {
    ec2: E,
    eks: C,
    store: S,
    queue: Q,
    cfg: Config,
    cache: Mutex<Cache>,
    opened: Opened,
}

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
            opened: Opened::default(),
        }
    }

    /// The store, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The collection queue, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// The EC2 directory, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn ec2(&self) -> &E {
        &self.ec2
    }

    /// Folds one SQS batch of parsed events; returns the messages that failed, with why, and what
    /// it did.
    pub async fn fold_batch(
        &self,
        batch: Vec<(String, Inbound)>,
    ) -> (Vec<(String, PortError)>, ThrottleSummary) {
        let mut summary = ThrottleSummary::default();
        let ec2_before = self.ec2.calls();
        let mut failed: Vec<(String, PortError)> = Vec::new();
        let mut groups: BTreeMap<IncidentKey, Vec<(String, ThrottledCall, Option<String>)>> =
            BTreeMap::new();
        for (msg_id, event) in batch {
            let call = match event {
                Inbound::Throttled(c) => c,
                other => {
                    summary.foreign += 1;
                    tracing::info!(message = %msg_id, kind = other.kind().as_str(), "not a throttled EC2 call; acknowledged");
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
                    failed.push((msg_id, e));
                    continue;
                }
            };
            let key = ClusterKey {
                account: call.account.clone(),
                region: call.region.clone(),
                cluster,
            };
            let key = IncidentKey::new(key, kind, call.time, self.cfg.window_minutes);
            groups.entry(key).or_default().push((msg_id, call, node));
        }
        for (key, items) in groups {
            let id = key.id();
            // One store transaction holds at most MAX_FOLD_EVENTS event markers.
            for chunk in items.chunks(MAX_FOLD_EVENTS) {
                let calls: Vec<(ThrottledCall, Option<String>)> = chunk
                    .iter()
                    .map(|(_, c, n)| (c.clone(), n.clone()))
                    .collect();
                if let Err(e) = self.fold_group(&id, &key, &calls, &mut summary).await {
                    failed.extend(chunk.iter().map(|(m, _, _)| (m.clone(), e.clone())));
                }
            }
        }
        summary.ec2_calls = self.ec2.calls() - ec2_before;
        (failed, summary)
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
        let by_node = node
            .as_ref()
            .and_then(|n| n.cluster.clone())
            .filter(|c| super::valid_cluster(c));
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
        key: &IncidentKey,
        calls: &[(ThrottledCall, Option<String>)],
        summary: &mut ThrottleSummary,
    ) -> Result<(), PortError> {
        let delta = FoldDelta::without(calls, &BTreeSet::new());
        let write = FoldWrite {
            incident_id: id.to_string(),
            cluster: key.cluster.clone(),
            kind: key.kind,
            window: key.window,
            claim: self.claimable(id, &delta.nodes),
            delta,
            max_claims: self.cfg.max_collections,
            expires_at: super::expires_at(key.window, self.cfg.ttl_days),
        };
        let expires = write.expires_at.timestamp();
        let folded = fold_and_claim(
            &self.store,
            write,
            |seen| FoldDelta::without(calls, seen),
            |d| self.claimable(id, &d.nodes),
        )
        .await?;
        summary.writes += folded.writes;
        summary.replayed += folded.replayed;
        if folded.budget_spent {
            self.lock().spent.insert(id.to_string());
        }
        if folded.events == 0 {
            // Everything was a replay: re-send what the incident claimed, in case the first
            // delivery failed after its write (the collector's node lock absorbs duplicates).
            return self.resend_claimed(id, key).await;
        }
        summary.folded += folded.events;
        if self.opened.first(&self.store, id, expires).await {
            summary.opened += 1;
        }
        // "At least these are claimed": merge, another container may have claimed more.
        self.lock()
            .claimed
            .entry(id.to_string())
            .or_default()
            .extend(folded.claimed);
        for node in &folded.granted {
            self.enqueue(id, key, node).await?;
            summary.collections += 1;
        }
        if folded.replayed > 0 {
            // Some events came back: their first delivery may have failed after its claim, before
            // its enqueue, and the claim keeps them out of `claimable`: re-send what is claimed.
            self.resend_claimed(id, key).await?;
        }
        Ok(())
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

    async fn enqueue(&self, id: &str, key: &IncidentKey, node: &str) -> Result<(), PortError> {
        debug_assert_eq!(id, key.id());
        let req =
            CollectionRequest::for_incident(key, node, "EC2 API throttling of the VPC CNI".into());
        self.queue.enqueue(&req, 0).await
    }

    async fn resend_claimed(&self, id: &str, key: &IncidentKey) -> Result<(), PortError> {
        for node in claimed_nodes(&self.store, id).await? {
            self.enqueue(id, key, &node).await?;
        }
        Ok(())
    }
}

impl<E: Ec2Directory, C: ClusterDirectory, S: IncidentStore, Q: CollectionQueue> Handler
    for ThrottleWatcher<E, C, S, Q>
{
    type Answer = ThrottleSummary;

    async fn handle(
        &self,
        event: Inbound,
        inv: &Invocation,
    ) -> Result<ThrottleSummary, HandlerError> {
        if !matches!(event, Inbound::Throttled(_)) {
            return Err(unexpected(&event));
        }
        let (failed, summary) = self.fold_batch(vec![("direct".into(), event)]).await;
        inv.count(Metric::IncidentsOpened, summary.opened);
        match failed.into_iter().next() {
            None => Ok(summary),
            Some((_, e)) => Err(e.into()),
        }
    }

    async fn handle_batch(&self, batch: Vec<(String, Inbound)>, inv: &Invocation) -> Vec<String> {
        let (errors, summary) = self.fold_batch(batch).await;
        inv.count(Metric::IncidentsOpened, summary.opened);
        tracing::info!(?summary, failed = errors.len(), "batch done");
        let mut failed = Vec::new();
        for (id, e) in errors {
            if settle(&id, &HandlerError::Port(e)) {
                inv.count(Metric::EventsFailed, 1);
                failed.push(id);
            } else {
                inv.count(Metric::EventsIgnored, 1);
            }
        }
        failed
    }
}
