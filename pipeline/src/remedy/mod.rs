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

impl RemedySettings {
    /// The remediation function's settings, from the environment the template sets:
    ///
    /// | variable | example | default | accepted |
    /// |---|---|---|---|
    /// | `REMEDY_MODES` | `service-quota=approve,vpc-cni-addon=auto` | every kind `dry-run` | |
    /// | `ALLOW_ACCOUNTS`, `ALLOW_CLUSTERS`, `ALLOW_NODE_GROUPS`, `ALLOW_QUOTA_CODES`, `ALLOW_ADDONS` | `prod-*,staging` | empty: nothing in `auto` | |
    /// | `BUDGET_PER_HOUR`, `BUDGET_PER_DAY` | `5`, `20` | 5, 20 | 0–10,000, 0–100,000 |
    /// | `BREAKER_FAILURES`, `BREAKER_WINDOW_MINUTES` | `3`, `60` | 3, 60 | 1–1,000, 1–10,080 |
    /// | `QUOTA_FACTOR`, `QUOTA_MAX_FACTOR` | `1.5`, `4` | 1.5, 4 | 1–100, factor ≤ max |
    /// | `QUOTA_CEILINGS` | `L-1216C47A=2048` | none | 1–10⁹ each |
    /// | `EBS_MAX_IOPS`, `EBS_MAX_THROUGHPUT` | `4000`, `500` | 4000, 500 | 3,000–256,000, 125–4,000 |
    /// | `APPROVERS` | `arn:aws:iam::111122223333:role/OnCall,slack:U0123` | nobody |
    /// | `SUPPORT_PLAN` | `true` | `false` |
    ///
    /// A malformed value is an error naming the variable, never a silent default.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<RemedySettings, crate::HandlerError> {
        use crate::HandlerError::Config;
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let list = |k: &str| -> Vec<String> {
            get(k)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let num = |k: &str, default, range| crate::setting(k, get(k).as_deref(), default, range);
        let ratio = |k: &str, default| crate::setting(k, get(k).as_deref(), default, 1.0..=100.0);
        let mut s = RemedySettings::default();
        for spec in list("REMEDY_MODES") {
            s.plan
                .set_mode(&spec)
                .map_err(|e| Config(format!("REMEDY_MODES: {e}")))?;
        }
        let allow = &mut s.plan.guards.allow;
        allow.accounts = list("ALLOW_ACCOUNTS");
        allow.clusters = list("ALLOW_CLUSTERS");
        allow.node_groups = list("ALLOW_NODE_GROUPS");
        allow.quota_codes = list("ALLOW_QUOTA_CODES");
        allow.addons = list("ALLOW_ADDONS");
        let g = &mut s.plan.guards;
        // A budget of 0 is a kind that never acts; the other limits need at least 1 to mean anything.
        g.budget.per_hour = num("BUDGET_PER_HOUR", g.budget.per_hour, 0..=10_000)?;
        g.budget.per_day = num("BUDGET_PER_DAY", g.budget.per_day, 0..=100_000)?;
        g.breaker.max_failures = num("BREAKER_FAILURES", g.breaker.max_failures, 1..=1_000)?;
        g.breaker.window_minutes = num(
            "BREAKER_WINDOW_MINUTES",
            g.breaker.window_minutes,
            1..=7 * 24 * 60,
        )?;
        let q = &mut s.plan.quota;
        q.factor = ratio("QUOTA_FACTOR", q.factor)?;
        q.max_factor = ratio("QUOTA_MAX_FACTOR", q.max_factor)?;
        if !(q.factor >= 1.0 && q.max_factor >= q.factor) {
            return Err(Config(format!(
                "QUOTA_FACTOR {} and QUOTA_MAX_FACTOR {} must satisfy 1 <= factor <= max",
                q.factor, q.max_factor
            )));
        }
        for spec in list("QUOTA_CEILINGS") {
            let (code, value) = spec
                .split_once('=')
                .ok_or_else(|| Config(format!("QUOTA_CEILINGS: `{spec}` is not CODE=VALUE")))?;
            let value = crate::setting("QUOTA_CEILINGS", Some(value), 0.0, 1.0..=1e9)?;
            s.quota_ceilings.insert(code.trim().to_string(), value);
        }
        let e = &mut s.plan.ebs;
        // Below gp3's baseline (3,000 IOPS, 125 MiB/s) no change could be made at all.
        e.max_iops = num("EBS_MAX_IOPS", e.max_iops, 3_000..=256_000)?;
        e.max_throughput = num("EBS_MAX_THROUGHPUT", e.max_throughput, 125..=4_000)?;
        s.approvers = list("APPROVERS");
        s.plan.support_plan = match get("SUPPORT_PLAN").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => {
                return Err(Config(format!(
                    "SUPPORT_PLAN={v:?}: expected true or false"
                )))
            }
        };
        s.actor = get("AWS_LAMBDA_FUNCTION_NAME")
            .map(|f| format!("eks-remedy ({f})"))
            .unwrap_or_else(|| "eks-remedy".into());
        Ok(s)
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use eks_remedy_core::plan::{ActionKind, Mode};

    #[test]
    fn settings_read_every_variable_and_name_bad_ones() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let d = RemedySettings::from_env(env(&[])).unwrap();
        assert_eq!(d.plan.mode(ActionKind::ServiceQuota), Mode::DryRun);
        assert!(d.approvers.is_empty() && !d.plan.support_plan);
        let s = RemedySettings::from_env(env(&[
            ("REMEDY_MODES", "service-quota=approve, vpc-cni-addon=auto"),
            ("ALLOW_CLUSTERS", "prod-*, staging"),
            ("BUDGET_PER_HOUR", "2"),
            ("QUOTA_CEILINGS", "L-1216C47A=2048"),
            (
                "APPROVERS",
                "arn:aws:iam::111122223333:role/OnCall,slack:U0123",
            ),
            ("SUPPORT_PLAN", "true"),
        ]))
        .unwrap();
        assert_eq!(s.plan.mode(ActionKind::VpcCniAddon), Mode::Auto);
        assert_eq!(s.plan.guards.allow.clusters, ["prod-*", "staging"]);
        assert_eq!(s.plan.guards.budget.per_hour, 2);
        assert_eq!(s.quota_ceilings["L-1216C47A"], 2048.0);
        assert_eq!(s.approvers.len(), 2);
        assert!(s.plan.support_plan);
        for (bad, name) in [
            (
                &[("REMEDY_MODES", "service-quota=yolo")][..],
                "REMEDY_MODES",
            ),
            (&[("BUDGET_PER_DAY", "many")][..], "BUDGET_PER_DAY"),
            (&[("QUOTA_CEILINGS", "L-1216C47A")][..], "QUOTA_CEILINGS"),
            (&[("QUOTA_FACTOR", "0.5")][..], "QUOTA_FACTOR"),
            // Not numbers a comparison can use: each would silently switch a cap off.
            (&[("QUOTA_FACTOR", "NaN")][..], "QUOTA_FACTOR"),
            (&[("QUOTA_MAX_FACTOR", "inf")][..], "QUOTA_MAX_FACTOR"),
            (
                &[("QUOTA_CEILINGS", "L-1216C47A=NaN")][..],
                "QUOTA_CEILINGS",
            ),
            (&[("BREAKER_FAILURES", "0")][..], "BREAKER_FAILURES"),
            (&[("EBS_MAX_IOPS", "-1")][..], "EBS_MAX_IOPS"),
            (&[("SUPPORT_PLAN", "yes")][..], "SUPPORT_PLAN"),
        ] {
            let e = RemedySettings::from_env(env(bad))
                .expect_err(name)
                .to_string();
            assert!(e.contains(name), "{e}");
        }
    }
}
