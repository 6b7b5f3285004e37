//! The functions' logic. Each handler is a struct generic over the ports it uses, built once per
//! Lambda container (so its caches survive between invocations), implementing
//! [`crate::function::Handler`]. What the watchers share lives here: [`fold_and_claim`] and
//! [`cluster_of`].

pub mod analyzer;
pub mod collector;
pub mod ebs;
pub mod notifier;
pub mod remediator;
pub mod scaleup;
pub mod throttle;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::function::Invocation;
use crate::metrics::Metric;
use crate::model::{FoldDelta, FoldResult, FoldWrite, IncidentKey};
use crate::ports::{Ec2Directory, IncidentStore};
use crate::telemetry::{record, EventField};
use crate::PortError;

/// When state about events of `window` expires: `days` after the window or after now, whichever is
/// later (late or replayed events must not create already-expired state).
pub fn expires_at(window: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    window.max(Utc::now()) + chrono::Duration::days(i64::from(days))
}

/// [`expires_at`] as epoch seconds (the DynamoDB TTL attribute).
pub fn expiry(window: DateTime<Utc>, days: u32) -> i64 {
    expires_at(window, days).timestamp()
}

/// The error for an event that [`crate::function::serve`] should not have routed here: a bug in
/// the function table, not in the event.
pub fn unexpected(event: &crate::events::Inbound) -> crate::HandlerError {
    crate::HandlerError::Internal(format!(
        "handler received a {} event it does not take",
        event.kind().as_str()
    ))
}

/// The cluster of an instance (from its `eks:cluster-name` or `kubernetes.io/cluster/*` tag);
/// `None` for an unknown instance or one that is not an EKS node. The one instance → cluster lookup
/// of the watchers.
pub async fn cluster_of<E: Ec2Directory>(
    ec2: &E,
    instance_id: &str,
) -> Result<Option<String>, PortError> {
    Ok(ec2
        .instances(&[instance_id.to_string()])
        .await?
        .into_iter()
        .next()
        .and_then(|i| i.cluster)
        .filter(|c| valid_cluster(c)))
}

/// Whether a cluster name read from a tag is usable; one that is not is logged and treated as no
/// cluster (the instance is then not an EKS node as far as the pipeline is concerned).
pub fn valid_cluster(name: &str) -> bool {
    let ok = crate::model::is_cluster_name(name);
    if !ok {
        tracing::warn!(cluster = %name.escape_debug(), "tag names a cluster that is not a valid EKS cluster name; ignored");
    }
    ok
}

/// Incidents this container has already marked opened, so the marker costs one write per incident
/// and container, not one per event (the store's conditional write decides across containers).
#[derive(Debug, Default)]
pub struct Opened(std::sync::Mutex<std::collections::HashSet<String>>);

/// Most incident ids remembered; past it the set starts over (an extra marker write, never a
/// miscount: the store's condition still counts each incident once).
const MAX_OPENED_REMEMBERED: usize = 10_000;

impl Opened {
    /// Whether `incident_id` was opened by this write: marks it in the store the first time this
    /// container sees it. Best effort: the marker only feeds a metric, so a failed write is
    /// logged (and tried again next time), never a reason to fail the event.
    pub async fn first<S: IncidentStore>(
        &self,
        store: &S,
        incident_id: &str,
        expires_epoch: i64,
    ) -> bool {
        {
            let mut seen = self.lock();
            if seen.len() >= MAX_OPENED_REMEMBERED {
                seen.clear();
            }
            if !seen.insert(incident_id.to_string()) {
                return false;
            }
        }
        match store.mark_opened(incident_id, expires_epoch).await {
            Ok(first) => first,
            Err(e) => {
                tracing::warn!(error = %e, incident = incident_id, "incident-opened marker not written; the metric may miss it");
                self.lock().remove(incident_id);
                false
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        // A poisoned set is still a valid set: every entry was inserted whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One event of a single-event watcher (a launch, an alarm), for [`fold_one`].
#[derive(Debug, Clone)]
pub struct OneEvent<'a> {
    /// Its incident.
    pub key: &'a IncidentKey,
    /// The event's id (idempotency).
    pub event_id: &'a str,
    /// The node it is about, claimed for collection within the budget (none for a launch that
    /// never made one).
    pub node: Option<&'a str>,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// A counter to add one to on the incident (the alarm's metric), if any.
    pub counter: Option<&'a str>,
    /// The most nodes the incident may claim.
    pub max_claims: u32,
    /// Incident lifetime.
    pub ttl_days: u32,
}

/// Folds one event into its incident and claims its node within the budget, puts the incident on
/// the event's log span, and counts the incident opened the first time: the scale-up and EBS
/// watchers' one path.
pub async fn fold_one<S: IncidentStore>(
    store: &S,
    opened: &Opened,
    inv: &Invocation,
    ev: OneEvent<'_>,
) -> Result<Folded, PortError> {
    let id = ev.key.id();
    let span = tracing::Span::current();
    record(&span, EventField::IncidentId, &id);
    record(&span, EventField::Cluster, &ev.key.cluster.cluster);
    if let Some(node) = ev.node {
        record(&span, EventField::InstanceId, node);
    }
    let mut delta = FoldDelta::default();
    delta.event_ids.push(ev.event_id.to_string());
    if let Some(c) = ev.counter {
        delta.apis.insert(c.to_string(), 1);
    }
    delta.nodes.extend(ev.node.map(str::to_string));
    delta.first = Some(ev.time);
    delta.last = Some(ev.time);
    let expires = expires_at(ev.key.window, ev.ttl_days);
    let write = FoldWrite {
        incident_id: id.clone(),
        cluster: ev.key.cluster.clone(),
        kind: ev.key.kind,
        window: ev.key.window,
        delta,
        claim: ev.node.map(str::to_string).into_iter().collect(),
        max_claims: ev.max_claims,
        expires_at: expires,
    };
    // One event: a replay leaves nothing to fold.
    let mut folded =
        fold_and_claim(store, write, |_| FoldDelta::default(), |_| BTreeSet::new()).await?;
    if folded.events == 0 {
        // A replay, or a retry after the side effects of the first delivery failed: the node is
        // granted again if the incident claimed it, so the caller redoes them (notes are
        // idempotent and the collector's node lock absorbs a second request).
        let claimed = claimed_nodes(store, &id).await?;
        folded.granted = ev
            .node
            .filter(|n| claimed.contains(*n))
            .map(str::to_string)
            .into_iter()
            .collect();
        return Ok(folded);
    }
    if opened.first(store, &id, expires.timestamp()).await {
        inv.count(Metric::IncidentsOpened, 1);
    }
    Ok(folded)
}

/// The nodes an incident has claimed for collection, as stored.
pub async fn claimed_nodes<S: IncidentStore>(
    store: &S,
    incident_id: &str,
) -> Result<BTreeSet<String>, PortError> {
    Ok(store
        .incident(incident_id)
        .await?
        .and_then(|item| {
            item.get("claimed").and_then(|c| c.as_array()).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default())
}

/// What [`fold_and_claim`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// Events folded in (0: everything was a replay, nothing written).
    pub events: u64,
    /// Events dropped as replays.
    pub replayed: u64,
    /// Nodes this write claimed for collection.
    pub granted: BTreeSet<String>,
    /// Every node the incident has claimed, as the store answered.
    pub claimed: BTreeSet<String>,
    /// The incident's collection budget was spent by someone else: folded without a claim.
    pub budget_spent: bool,
    /// Store writes attempted.
    pub writes: u64,
}

/// Folds a write into its incident and claims nodes within its budget: the one path of every
/// watcher. Replayed events are removed (`recount` rebuilds the delta without them, `claimable`
/// picks the nodes to claim from it) and the write tried again; when the budget is spent, the events
/// are still folded, without a claim. Never an error for a spent budget or a replay.
pub async fn fold_and_claim<S: IncidentStore>(
    store: &S,
    mut write: FoldWrite,
    recount: impl Fn(&BTreeSet<String>) -> FoldDelta,
    claimable: impl Fn(&FoldDelta) -> BTreeSet<String>,
) -> Result<Folded, PortError> {
    let mut done = Folded::default();
    let total = write.delta.events();
    // At most three rounds: replays removed, then a claim dropped when the budget was spent.
    for _ in 0..3 {
        if write.delta.event_ids.is_empty() {
            done.replayed = total;
            return Ok(done);
        }
        done.writes += 1;
        match store.fold(&write).await? {
            FoldResult::Written { claimed } => {
                done.events = write.delta.events();
                done.replayed = total - done.events;
                done.granted = write.claim;
                done.claimed = claimed;
                return Ok(done);
            }
            FoldResult::Replayed { seen } => {
                write.delta = recount(&seen);
                if !done.budget_spent {
                    write.claim = claimable(&write.delta);
                }
            }
            FoldResult::BudgetSpent => {
                done.budget_spent = true;
                write.claim.clear();
            }
        }
    }
    Err(PortError::Transient {
        service: "dynamodb",
        message: format!("incident {}: fold did not settle", write.incident_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events from weeks ago (a late delivery, a replay, the fixtures) once created state whose TTL
    /// had already passed, so DynamoDB reads treated it as absent and node locks never held.
    #[test]
    fn regression_old_events_do_not_create_expired_state() {
        let old = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert!(expiry(old, 14) > Utc::now().timestamp() + 13 * 86_400);
        let later = Utc::now() + chrono::Duration::days(30);
        assert_eq!(expires_at(later, 1), later + chrono::Duration::days(1));
    }
}
