//! The functions' logic. Each handler is a struct generic over the ports it uses, built once per
//! Lambda container (so its caches survive between invocations), implementing
//! [`crate::function::Handler`]. What the watchers share lives here: [`fold_and_claim`] and
//! [`cluster_of`].

pub mod analyzer;
pub mod collector;
pub mod ebs;
pub mod notifier;
pub mod scaleup;
pub mod throttle;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::model::{FoldDelta, FoldResult, FoldWrite};
use crate::ports::{Ec2Directory, IncidentStore};
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
        .and_then(|i| i.cluster))
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
