//! Remediation with guard rails: executes the actions of a core [`Plan`] on AWS, on the ladder
//! `observe` → `dry-run` → `approve` → `auto` per action kind.
//!
//! | module | what |
//! |---|---|
//! | [`ports`] | the AWS APIs (Service Quotas, EKS add-ons, EBS, Support) and the ledger / audit log |
//! | [`executor`] | [`Executor::run`] a plan, [`Executor::decide`] an approval |
//! | [`quota`], [`addon`], [`ebs`] | each kind's live checks and its one write |
//! | [`audit`] | the record of every decision |
//! | [`follow`] | quota requests, add-on updates and volume modifications followed to their end |
//! | [`fakes`] | in-memory ports that count writes |
//!
//! What each rung does, per action:
//! - `observe`: an audit record; no AWS call at all.
//! - `dry-run`: live reads only (quota values, the add-on's configuration and schema, the volume and
//!   its modifications), and an audit record with exactly what would change.
//! - `approve`: the same reads, then the action waits in the ledger; an approver on the configured
//!   list decides once ([`Executor::decide`]); guards and the target are checked again before the
//!   write, and a second decision is refused.
//! - `auto`: guards, an idempotency claim, a budget unit, then the write, once.
//!
//! Guards on every write: allow-lists (core's [`Guards`](eks_remedy_core::plan::Guards); an empty list
//! allows nothing in `auto`), budgets per kind per hour and per day and a circuit breaker per kind
//! (kept in the [`ActionLedger`](ports::ActionLedger) with conditional writes), idempotency per
//! incident and target, and each kind's own (open quota request, not adjustable, schema, EBS
//! cooldown, ceilings).

pub mod addon;
pub mod audit;
pub mod ebs;
pub mod executor;
pub mod fakes;
pub mod follow;
pub mod ports;
pub mod quota;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use eks_remedy_core::plan::{PlannedAction, Settings};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use audit::{AuditRecord, Outcome};
pub use executor::{ApproveError, Executor, Ports, RunReport};

use crate::PortError;

/// The executor's settings: the planner's (ladder, guards, sizing policies) and what only
/// execution needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemedySettings {
    /// Modes per kind, allow-lists, budgets, breaker, quota and EBS policies, support plan.
    pub plan: Settings,
    /// Highest value ever asked for, per quota code (the API shows no hard limit).
    pub quota_ceilings: BTreeMap<String, f64>,
    /// IAM identities (ARNs) allowed to approve; empty: nobody can.
    pub approvers: Vec<String>,
    /// The pipeline's own identity, as audit records name it.
    pub actor: String,
}

/// An action waiting for an approver, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The plan.
    pub plan_id: String,
    /// The incident.
    pub incident_id: Option<String>,
    /// The idempotency key of its execution.
    pub key: String,
    /// The action as planned.
    pub action: PlannedAction,
    /// Account, for the allow-list.
    pub account: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Cluster, for the allow-list.
    pub cluster: Option<String>,
    /// The live state when it was prepared: the approval is refused if the target changed since.
    pub before: Value,
    /// The change the approver sees.
    pub after: Value,
    /// When it was prepared.
    pub created: DateTime<Utc>,
}

/// What a kind's step found (and, when writing, did).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// The change (made when writing, else what would be made).
    Change {
        before: Value,
        after: Value,
        request_ids: Vec<String>,
        detail: String,
    },
    /// Nothing to change (already so, or an open request adopted).
    Unchanged {
        before: Value,
        request_ids: Vec<String>,
        detail: String,
    },
    /// Only people can do it.
    Recommend { before: Value, detail: String },
    /// A kind's own guard refused it before any write.
    Refuse { guard: &'static str, detail: String },
}

impl Step {
    fn refuse(guard: &'static str, detail: impl Into<String>) -> Step {
        Step::Refuse {
            guard,
            detail: detail.into(),
        }
    }
}

/// A port failed during a step; whether during its write matters to the circuit breaker.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepError {
    write: bool,
    error: PortError,
}

impl StepError {
    fn read(error: PortError) -> StepError {
        StepError {
            write: false,
            error,
        }
    }
    fn write(error: PortError) -> StepError {
        StepError { write: true, error }
    }
}
