//! What each target last received, so a failed delivery loses nothing.
//!
//! The notifier keeps one [`Outbox`] with each incident view (it serialises to a DynamoDB
//! attribute). Every call to [`Outbox::deliver`] gets the current view and the changes since the
//! previous view; per target it remembers the fingerprint last delivered, the Slack message, and
//! the changes not yet announced. A target that fails keeps its changes; the next call that
//! reaches it sends the view as it is *then* (never a stale one) and announces everything it
//! missed.

use std::collections::BTreeMap;

use eks_remedy_core::notify::{Change, IncidentView};
use serde::{Deserialize, Serialize};

use crate::error::DeliveryError;
use crate::target::{is_state_change, MessageRef, Target};

/// Changes kept for one target while it cannot be reached; older detail changes go first.
const MAX_PENDING: usize = 100;

/// One target's delivery state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    /// Fingerprint of the view it last received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The Slack bot's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageRef>,
    /// Changes not yet announced to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Change>,
    /// Deliveries failed in a row.
    #[serde(default)]
    pub failures: u32,
    /// The last failure (target name and reason, no secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What happened at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The current view was delivered.
    Sent,
    /// It already shows this state.
    Unchanged,
    /// Only detail changed and the target cannot edit its message: kept for the next state change.
    Deferred,
    /// Not delivered; the changes are kept.
    Failed(DeliveryError),
}

/// Per-target delivery state of one incident, keyed by target name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// Target name → state.
    pub targets: BTreeMap<String, TargetState>,
}

impl Outbox {
    /// Brings every target up to `view`; `changes` are those since the previous view (from
    /// [`IncidentView::changes_since`]). Returns each target's outcome, in order.
    pub async fn deliver(
        &mut self,
        targets: &[&dyn Target],
        view: &IncidentView,
        changes: &[Change],
    ) -> Vec<(String, Outcome)> {
        let fingerprint = view.fingerprint();
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            let state = self.targets.entry(t.name().to_string()).or_default();
            for c in changes {
                if !state.pending.contains(c) {
                    state.pending.push(c.clone());
                }
            }
            trim(&mut state.pending);
            let outcome = deliver_one(*t, state, view, &fingerprint).await;
            out.push((t.name().to_string(), outcome));
        }
        out
    }

    /// Whether any target failed in a way a later attempt may fix (the notifier then reports the
    /// event as failed, so SQS delivers it again).
    pub fn should_retry(outcomes: &[(String, Outcome)]) -> bool {
        outcomes
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Failed(e) if e.is_retryable()))
    }
}

async fn deliver_one(
    t: &dyn Target,
    state: &mut TargetState,
    view: &IncidentView,
    fingerprint: &str,
) -> Outcome {
    if state.fingerprint.as_deref() == Some(fingerprint) {
        // The target shows exactly this state: what is pending was shown by that delivery.
        state.pending.clear();
        return Outcome::Unchanged;
    }
    let first = state.fingerprint.is_none();
    if !first && !t.kind().every_change() && !state.pending.iter().any(is_state_change) {
        return Outcome::Deferred;
    }
    match t.deliver(view, &state.pending, &mut state.message).await {
        Ok(()) => {
            state.fingerprint = Some(fingerprint.to_string());
            state.pending.clear();
            state.failures = 0;
            state.last_error = None;
            Outcome::Sent
        }
        Err(e) => {
            state.failures = state.failures.saturating_add(1);
            state.last_error = Some(e.to_string());
            Outcome::Failed(e)
        }
    }
}

/// Keeps at most [`MAX_PENDING`] changes, dropping the oldest detail changes first.
fn trim(pending: &mut Vec<Change>) {
    while pending.len() > MAX_PENDING {
        match pending.iter().position(|c| !is_state_change(c)) {
            Some(i) => {
                pending.remove(i);
            }
            None => {
                pending.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_drops_detail_before_state_changes() {
        let mut p = vec![Change::Opened];
        for i in 0..150 {
            p.push(Change::NewNode {
                node: format!("i-{i}"),
            });
        }
        p.push(Change::Resolved);
        trim(&mut p);
        assert_eq!(p.len(), MAX_PENDING);
        assert_eq!(p.first(), Some(&Change::Opened));
        assert_eq!(p.last(), Some(&Change::Resolved));
        assert_eq!(
            p.get(1),
            Some(&Change::NewNode {
                node: "i-52".into()
            })
        );
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut o = Outbox::default();
        o.targets.insert(
            "slack".into(),
            TargetState {
                fingerprint: Some("ab".into()),
                message: Some(MessageRef {
                    channel: "C1".into(),
                    ts: "1.2".into(),
                }),
                pending: vec![Change::Resolved],
                failures: 2,
                last_error: Some("slack: HTTP 500".into()),
            },
        );
        let j = serde_json::to_string(&o).expect("json");
        assert_eq!(serde_json::from_str::<Outbox>(&j).expect("back"), o);
    }
}
