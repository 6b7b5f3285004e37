//! The audit record: one per decision the executor makes, whatever the mode (who, what, why, mode,
//! before, after, result, request ids).

use chrono::{DateTime, Utc};
use eks_remedy_core::plan::{ActionKind, GuardCheck, Mode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What became of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// `observe`: listed, nothing read or prepared.
    Observed,
    /// `dry-run`: prepared with live reads; this is exactly what would change.
    WouldChange,
    /// `approve`: prepared and waiting for an approver.
    AwaitingApproval,
    /// The change was made.
    Executed,
    /// Nothing to do: already in the wanted state, or an open request was adopted.
    NoChange,
    /// A guard stopped it (allow-list, budget, breaker, idempotency, cooldown, ...).
    Held,
    /// The change is not possible automatically; people get the steps (support case, kubectl).
    Recommended,
    /// Refused before any write (schema rejection, stale target, not allowed to approve).
    Refused,
    /// The write failed.
    Failed,
    /// An approver rejected it.
    Rejected,
}

impl Outcome {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Observed => "observed",
            Outcome::WouldChange => "would-change",
            Outcome::AwaitingApproval => "awaiting-approval",
            Outcome::Executed => "executed",
            Outcome::NoChange => "no-change",
            Outcome::Held => "held",
            Outcome::Recommended => "recommended",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One decision, as stored in DynamoDB and the incident and published on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// The plan.
    pub plan_id: String,
    /// The incident.
    pub incident_id: Option<String>,
    /// The action's id in the plan.
    pub action_id: String,
    /// Its kind.
    pub kind: ActionKind,
    /// The rung it ran on.
    pub mode: Mode,
    /// Who decided: the pipeline's identity, or the approver's IAM ARN.
    pub who: String,
    /// What: the API and target.
    pub what: Value,
    /// Why: the summary and the findings behind it.
    pub why: String,
    /// The findings (rule ids) behind it.
    pub findings: Vec<String>,
    /// State before (as read live where the mode reads).
    pub before: Value,
    /// State after (or that would be after).
    pub after: Value,
    /// What became of it.
    pub outcome: Outcome,
    /// The reason, in words, with figures.
    pub detail: String,
    /// AWS ids: quota request ids, add-on update ids, volume ids, case ids.
    pub request_ids: Vec<String>,
    /// Every guard's verdict when it was decided.
    pub guards: Vec<GuardCheck>,
}
