//! The executor: walks a plan's actions, decides each by its kind's rung and the guards, and
//! writes an audit record for every decision.

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_core::plan::{
    ActionKind, Context, GuardCheck, GuardState, Mode, Plan, PlannedAction,
};
use serde_json::{json, Value};

use super::audit::{AuditRecord, Outcome};
use super::ports::{
    ActionLedger, AddonApi, AuditLog, Decided, QuotaApi, SupportApi, SupportCase, VolumeApi,
};
use super::{addon, ebs, quota, PendingApproval, RemedySettings, Step, StepError};
use crate::PortError;

/// Guards computed live by the executor; a plan's own verdicts on these are not trusted (the plan
/// may have been made offline or before other incidents spent the budget).
const LIVE_GUARDS: [&str; 4] = ["allow-list", "budget", "circuit-breaker", "idempotency"];

/// The ports the executor uses.
pub struct Ports<'a, Q, A, V, S, L, G> {
    /// Service Quotas.
    pub quotas: &'a Q,
    /// EKS add-ons.
    pub addons: &'a A,
    /// EBS volumes.
    pub volumes: &'a V,
    /// AWS Support.
    pub support: &'a S,
    /// Idempotency, budgets, breaker, approvals.
    pub ledger: &'a L,
    /// Audit records.
    pub audit: &'a G,
}

/// What one run decided.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The plan.
    pub plan_id: String,
    /// One record per action, in plan order.
    pub records: Vec<AuditRecord>,
}

impl RunReport {
    /// Records with `outcome`.
    pub fn with(&self, outcome: Outcome) -> Vec<&AuditRecord> {
        self.records
            .iter()
            .filter(|r| r.outcome == outcome)
            .collect()
    }
}

/// Why an approval was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// The caller is not on the approver list.
    #[error("{0} is not on the approver list")]
    NotAnApprover(String),
    /// No action is waiting under that plan and id.
    #[error("no action {action} awaits approval in plan {plan}")]
    Unknown {
        /// Plan id.
        plan: String,
        /// Action id.
        action: String,
    },
    /// It was decided before: approvals execute once.
    #[error("already {} by {by}", if *.approved { "approved" } else { "rejected" })]
    AlreadyDecided {
        /// Who decided.
        by: String,
        /// Whether it was approved.
        approved: bool,
    },
    /// The ledger or audit log failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The executor over its ports and settings.
pub struct Executor<'a, Q, A, V, S, L, G> {
    ports: Ports<'a, Q, A, V, S, L, G>,
    settings: &'a RemedySettings,
}

impl<'a, Q, A, V, S, L, G> Executor<'a, Q, A, V, S, L, G>
where
    Q: QuotaApi,
    A: AddonApi,
    V: VolumeApi,
    S: SupportApi,
    L: ActionLedger,
    G: AuditLog,
{
    /// An executor.
    pub fn new(ports: Ports<'a, Q, A, V, S, L, G>, settings: &'a RemedySettings) -> Self {
        Executor { ports, settings }
    }

    /// The mode an action runs on: the configured rung of its kind; support cases only with a
    /// support plan; recommendations never act.
    pub fn mode(&self, kind: ActionKind) -> Mode {
        match kind {
            ActionKind::Recommendation => Mode::Recommend,
            ActionKind::SupportCase if !self.settings.plan.support_plan => Mode::Recommend,
            k => self.settings.plan.mode(k),
        }
    }

    /// Runs every action of `plan` on its rung. `ctx` names the account and cluster the
    /// allow-lists check. Ledger or audit failures end the run (retrying it is safe: every write
    /// is claimed first).
    pub async fn run(
        &self,
        plan: &Plan,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<RunReport, PortError> {
        let mut records = Vec::new();
        for action in &plan.actions {
            let mode = self.mode(action.kind);
            let mut action = action.clone();
            action.mode = mode;
            let rec = match mode {
                Mode::Recommend => self
                    .base(plan, &action, now)
                    .outcome(Outcome::Recommended, "for people to apply; never executed"),
                Mode::Observe => self
                    .base(plan, &action, now)
                    .outcome(Outcome::Observed, "observe: nothing read or prepared"),
                Mode::DryRun => self.dry_run(plan, &action, now).await,
                Mode::Approve => self.stage(plan, &action, ctx, now).await?,
                Mode::Auto => {
                    let who = self.settings.actor.clone();
                    self.execute(plan, &action, ctx, &who, None, now).await?
                }
            };
            self.ports.audit.record(&rec).await?;
            records.push(rec);
        }
        Ok(RunReport {
            plan_id: plan.plan_id.clone(),
            records,
        })
    }

    /// An approver's decision on a pending action: checked against the approver list, taken once,
    /// then (when approved) executed after the guards and the target are checked again.
    pub async fn decide(
        &self,
        plan_id: &str,
        action_id: &str,
        approver: &str,
        approved: bool,
        now: DateTime<Utc>,
    ) -> Result<AuditRecord, ApproveError> {
        if !self
            .settings
            .approvers
            .iter()
            .any(|a| is_approver(a, approver))
        {
            let e = ApproveError::NotAnApprover(approver.to_string());
            self.audit_refusal(plan_id, action_id, approver, &e, now)
                .await?;
            return Err(e);
        }
        let pending = match self
            .ports
            .ledger
            .decide(plan_id, action_id, approver, approved, now)
            .await?
        {
            Decided::Now(p) => *p,
            Decided::Already(by, approved) => {
                let e = ApproveError::AlreadyDecided { by, approved };
                self.audit_refusal(plan_id, action_id, approver, &e, now)
                    .await?;
                return Err(e);
            }
            Decided::Unknown => {
                return Err(ApproveError::Unknown {
                    plan: plan_id.to_string(),
                    action: action_id.to_string(),
                })
            }
        };
        let plan = Plan {
            plan_id: pending.plan_id.clone(),
            incident_id: pending.incident_id.clone(),
            actions: Vec::new(),
            notes: Vec::new(),
        };
        let mut action = pending.action.clone();
        action.mode = Mode::Approve;
        let rec = if approved {
            let ctx = Context {
                incident_id: pending.incident_id.clone(),
                account: pending.account.clone(),
                region: pending.region.clone(),
                cluster: pending.cluster.clone(),
                ..Context::default()
            };
            let r = match self
                .execute(&plan, &action, &ctx, approver, Some(&pending.before), now)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    // Nothing was carried out: the approval stays to be given again.
                    if let Err(reopen) = self.ports.ledger.reopen(plan_id, action_id).await {
                        tracing::warn!(error = %reopen, plan_id, action_id, "approval could not be reopened");
                    }
                    return Err(e.into());
                }
            };
            // Not carried out for now (budget, breaker, a failed write): the approval is not
            // spent, so it can be given again. A changed target needs a new plan instead.
            if matches!(r.outcome, Outcome::Held | Outcome::Failed)
                && !r.detail.starts_with("idempotency")
            {
                self.ports.ledger.reopen(plan_id, action_id).await?;
            }
            r
        } else {
            let mut r = self
                .base(&plan, &action, now)
                .outcome(Outcome::Rejected, format!("rejected by {approver}"));
            r.who = approver.to_string();
            r.before = pending.before.clone();
            r.after = pending.after.clone();
            r
        };
        self.ports.audit.record(&rec).await?;
        Ok(rec)
    }

    /// Audits a refused decision on a known pending action (who tried, and why not).
    async fn audit_refusal(
        &self,
        plan_id: &str,
        action_id: &str,
        caller: &str,
        why: &ApproveError,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let Some(p) = self.ports.ledger.pending(plan_id, action_id).await? else {
            return Ok(());
        };
        let plan = Plan {
            plan_id: p.plan_id.clone(),
            incident_id: p.incident_id.clone(),
            actions: Vec::new(),
            notes: Vec::new(),
        };
        let mut action = p.action.clone();
        action.mode = Mode::Approve;
        let mut r = self
            .base(&plan, &action, now)
            .outcome(Outcome::Refused, why.to_string());
        r.who = caller.to_string();
        self.ports.audit.record(&r).await
    }

    /// Reads only: what the action would change now.
    async fn dry_run(
        &self,
        plan: &Plan,
        action: &PlannedAction,
        now: DateTime<Utc>,
    ) -> AuditRecord {
        let key = key(plan, action);
        let base = self.base(plan, action, now);
        match self.step(action, &key, now, false).await {
            Ok(Step::Change {
                before,
                after,
                detail,
                ..
            }) => base
                .state(before, after)
                .outcome(Outcome::WouldChange, detail),
            Ok(step) => settled(base, step),
            Err(e) => base.outcome(Outcome::Failed, e.error.to_string()),
        }
    }

    /// `approve`: prepared with live reads, then stored for an approver.
    async fn stage(
        &self,
        plan: &Plan,
        action: &PlannedAction,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<AuditRecord, PortError> {
        let key = key(plan, action);
        let (checks, held) = self.guards(action, ctx, &key, now).await?;
        let base = self.base(plan, action, now).guards(checks);
        if let Some(why) = held {
            return Ok(base.outcome(Outcome::Held, why));
        }
        match self.step(action, &key, now, false).await {
            Ok(Step::Change {
                before,
                after,
                detail,
                ..
            }) => {
                let pending = PendingApproval {
                    plan_id: plan.plan_id.clone(),
                    incident_id: plan.incident_id.clone(),
                    key,
                    action: action.clone(),
                    account: ctx.account.clone(),
                    region: ctx.region.clone(),
                    cluster: ctx.cluster.clone(),
                    before: before.clone(),
                    after: after.clone(),
                    created: now,
                };
                let fresh = self.ports.ledger.put_pending(&pending).await?;
                let base = base.state(before, after);
                Ok(if fresh {
                    base.outcome(Outcome::AwaitingApproval, detail)
                } else {
                    base.outcome(Outcome::NoChange, "already awaiting approval (replay)")
                })
            }
            Ok(step) => Ok(settled(base, step)),
            Err(e) => Ok(base.outcome(Outcome::Failed, e.error.to_string())),
        }
    }

    /// Guards, claim, budget, then the write. `expected` is the state an approver saw: the write
    /// is refused when the target no longer matches it.
    async fn execute(
        &self,
        plan: &Plan,
        action: &PlannedAction,
        ctx: &Context,
        who: &str,
        expected: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Result<AuditRecord, PortError> {
        let ledger = self.ports.ledger;
        let key = key(plan, action);
        if let Some(done) = ledger.settled(&key).await? {
            // Acted before, and something after the write failed (the audit item, the state
            // save): the event was retried. Report that execution again, unchanged (same audit
            // key), so the trail and what is followed complete rather than hold on the claim.
            return Ok(done);
        }
        let (checks, held) = self.guards(action, ctx, &key, now).await?;
        let mut base = self.base(plan, action, now).guards(checks);
        base.who = who.to_string();
        if let Some(why) = held {
            return Ok(base.outcome(Outcome::Held, why));
        }
        if !ledger.claim(&key, now).await? {
            return Ok(base.outcome(
                Outcome::Held,
                "idempotency: already executed for this incident",
            ));
        }
        // Read first: nothing to change spends no budget and writes nothing.
        let prepared = match self.step(action, &key, now, false).await {
            Ok(s) => s,
            Err(e) => {
                ledger.release(&key).await?;
                return Ok(base.outcome(Outcome::Failed, e.error.to_string()));
            }
        };
        match prepared {
            Step::Change { before, .. } if expected.is_some_and(|e| !same_target(e, &before)) => {
                ledger.release(&key).await?;
                return Ok(base.state(before, Value::Null).outcome(
                    Outcome::Refused,
                    "the target changed since the plan was approved: plan again",
                ));
            }
            Step::Change { .. } => {}
            Step::Refuse { .. } => {
                ledger.release(&key).await?;
                return Ok(settled(base, prepared));
            }
            // Done or not for machines: the claim stays, so a replay is a no-op.
            other => return Ok(self.keep(&key, settled(base, other)).await),
        }
        let spent = match ledger
            .spend(action.kind, now, self.settings.plan.guards.budget)
            .await
        {
            Ok(spent) => spent,
            Err(e) => {
                // The claim must not outlive a run that did nothing: give it back, then fail.
                if let Err(release) = ledger.release(&key).await {
                    tracing::warn!(error = %release, %key, "claim not released; it holds until it expires");
                }
                return Err(e);
            }
        };
        if !spent {
            ledger.release(&key).await?;
            return Ok(base.outcome(
                Outcome::Held,
                format!(
                    "budget: {} actions of this kind already this hour or day",
                    action.kind.as_str()
                ),
            ));
        }
        match self.step(action, &key, now, true).await {
            Ok(Step::Change {
                before,
                after,
                request_ids,
                detail,
            }) => {
                let mut r = base.state(before, after).outcome(Outcome::Executed, detail);
                r.request_ids = request_ids;
                Ok(self.keep(&key, r).await)
            }
            Ok(other) => Ok(self.keep(&key, settled(base, other)).await),
            Err(e) => {
                if e.write {
                    // The breaker may miss one failure; the claim must still be given back.
                    if let Err(f) = ledger.record_failure(action.kind, now).await {
                        tracing::warn!(error = %f, "failure not recorded for the circuit breaker");
                    }
                }
                ledger.release(&key).await?;
                Ok(base.outcome(Outcome::Failed, e.error.to_string()))
            }
        }
    }

    /// Keeps `record` on its claim for a retry to report. Failing to keep it costs only that: a
    /// retry after a later failure holds on the claim instead, and the write itself stands.
    async fn keep(&self, key: &str, record: AuditRecord) -> AuditRecord {
        if let Err(e) = self.ports.ledger.settle(key, &record).await {
            tracing::warn!(error = %e, %key, "execution not kept on its claim");
        }
        record
    }

    /// Every guard's verdict, live, and the first failure as the reason to hold.
    async fn guards(
        &self,
        action: &PlannedAction,
        ctx: &Context,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<GuardCheck>, Option<String>), PortError> {
        let ledger = self.ports.ledger;
        let g = &self.settings.plan.guards;
        let (hour, day) = ledger.spent(action.kind, now).await?;
        let since = now - TimeDelta::minutes(i64::from(g.breaker.window_minutes));
        let failures = ledger.failures_since(action.kind, since).await?;
        let mut state = GuardState::default();
        state.executed_last_hour.insert(action.kind, hour);
        state.executed_last_day.insert(action.kind, day);
        state.failures_in_window.insert(action.kind, failures);
        if ledger.claimed(key).await? {
            state.done.insert(action.id.clone());
        }
        let mut checks = g.check(action, ctx, &state);
        // The kind's own verdicts from the plan (prerequisites the planner could not meet).
        checks.extend(
            action
                .guards
                .iter()
                .filter(|c| !LIVE_GUARDS.contains(&c.guard.as_str()))
                .cloned(),
        );
        let held = checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| format!("{}: {}", c.guard, c.detail));
        Ok((checks, held))
    }

    async fn step(
        &self,
        action: &PlannedAction,
        key: &str,
        now: DateTime<Utc>,
        write: bool,
    ) -> Result<Step, StepError> {
        let s = self.settings;
        match action.kind {
            ActionKind::ServiceQuota => {
                quota::step(self.ports.quotas, action, &s.plan, &s.quota_ceilings, write).await
            }
            ActionKind::VpcCniAddon => addon::step(self.ports.addons, action, key, write).await,
            ActionKind::EbsVolume => {
                ebs::step(self.ports.volumes, action, &s.plan.ebs, now, write).await
            }
            ActionKind::SupportCase => self.support_case(action, write).await,
            ActionKind::Recommendation => Ok(Step::Recommend {
                before: Value::Null,
                detail: action.summary.clone(),
            }),
        }
    }

    async fn support_case(&self, action: &PlannedAction, write: bool) -> Result<Step, StepError> {
        let after = &action.change.after;
        let case = SupportCase {
            subject: after["subject"].as_str().unwrap_or_default().to_string(),
            body: after["body"].as_str().unwrap_or_default().to_string(),
            service_code: "general-info".into(),
            category_code: "using-aws".into(),
        };
        if case.subject.is_empty() || case.body.is_empty() {
            return Ok(Step::refuse("prerequisite", "the plan has no case text"));
        }
        let before = action.change.before.clone();
        let shown = json!({"subject": case.subject, "limits": after["limits"]});
        if !write {
            return Ok(Step::Change {
                before,
                after: shown,
                request_ids: Vec::new(),
                detail: format!("open the support case `{}`", case.subject),
            });
        }
        let id = self
            .ports
            .support
            .create_case(&case)
            .await
            .map_err(StepError::write)?;
        Ok(Step::Change {
            before,
            after: shown,
            request_ids: vec![id],
            detail: format!("opened the support case `{}`", case.subject),
        })
    }

    fn base(&self, plan: &Plan, action: &PlannedAction, now: DateTime<Utc>) -> AuditRecord {
        AuditRecord {
            at: now,
            plan_id: plan.plan_id.clone(),
            incident_id: plan.incident_id.clone(),
            action_id: action.id.clone(),
            kind: action.kind,
            mode: action.mode,
            who: self.settings.actor.clone(),
            what: action.target.clone(),
            why: action.summary.clone(),
            findings: action.findings.clone(),
            before: action.change.before.clone(),
            after: action.change.after.clone(),
            outcome: Outcome::Observed,
            detail: String::new(),
            request_ids: Vec::new(),
            guards: action.guards.clone(),
        }
    }
}

/// The idempotency key: one execution per incident (or plan, without one) and action target.
pub fn key(plan: &Plan, action: &PlannedAction) -> String {
    format!(
        "{}#{}",
        plan.incident_id.as_deref().unwrap_or(&plan.plan_id),
        action.id
    )
}

/// Whether `caller` is the approver `entry` names: the same identity, or a session of the IAM role
/// `entry` names (`arn:aws:sts::<account>:assumed-role/<role>/<session>` for
/// `arn:aws:iam::<account>:role[/<path>]/<role>`), which is how people reach AWS through SSO.
pub fn is_approver(entry: &str, caller: &str) -> bool {
    if entry == caller {
        return true;
    }
    let Some(session) = caller.strip_prefix("arn:aws:sts::") else {
        return false;
    };
    let (Some((account, rest)), Some(role_arn)) = (
        session.split_once(":assumed-role/"),
        entry.strip_prefix("arn:aws:iam::"),
    ) else {
        return false;
    };
    let Some((role, _session)) = rest.split_once('/') else {
        return false;
    };
    let Some((entry_account, path)) = role_arn.split_once(":role/") else {
        return false;
    };
    entry_account == account && !role.is_empty() && path.rsplit('/').next() == Some(role)
}

/// Whether the live state still is what the approver saw (status fields aside).
fn same_target(expected: &Value, live: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("status");
        }
        v
    };
    strip(expected) == strip(live)
}

/// The record for a step that did not change anything.
fn settled(base: AuditRecord, step: Step) -> AuditRecord {
    match step {
        Step::Change {
            before,
            after,
            detail,
            ..
        } => base
            .state(before, after)
            .outcome(Outcome::WouldChange, detail),
        Step::Unchanged {
            before,
            request_ids,
            detail,
        } => {
            let mut r = base
                .state(before, Value::Null)
                .outcome(Outcome::NoChange, detail);
            r.request_ids = request_ids;
            r
        }
        Step::Recommend { before, detail } => base
            .state(before, Value::Null)
            .outcome(Outcome::Recommended, detail),
        Step::Refuse { guard, detail } => {
            let mut r = base.outcome(Outcome::Refused, format!("{guard}: {detail}"));
            r.guards.push(GuardCheck::fail(guard, detail));
            r
        }
    }
}

impl AuditRecord {
    fn outcome(mut self, outcome: Outcome, detail: impl Into<String>) -> AuditRecord {
        self.outcome = outcome;
        self.detail = detail.into();
        self
    }

    fn state(mut self, before: Value, after: Value) -> AuditRecord {
        self.before = before;
        if !after.is_null() {
            self.after = after;
        }
        self
    }

    fn guards(mut self, checks: Vec<GuardCheck>) -> AuditRecord {
        self.guards = checks;
        self
    }
}

#[cfg(test)]
mod approver_tests {
    use super::is_approver;

    #[test]
    fn a_role_approves_through_its_sessions_only() {
        let role = "arn:aws:iam::111122223333:role/PlatformOnCall";
        let alice = "arn:aws:sts::111122223333:assumed-role/PlatformOnCall/alice";
        assert!(is_approver(role, alice));
        assert!(is_approver(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/PlatformOnCall",
            alice
        ));
        assert!(is_approver(alice, alice));
        assert!(is_approver("slack:U0123", "slack:U0123"));
        for (entry, caller) in [
            // Another account's role of the same name.
            (
                role,
                "arn:aws:sts::444455556666:assumed-role/PlatformOnCall/alice",
            ),
            // A role whose name only starts the same.
            (
                role,
                "arn:aws:sts::111122223333:assumed-role/PlatformOnCallers/bob",
            ),
            (role, "arn:aws:iam::111122223333:user/PlatformOnCall"),
            (
                "arn:aws:iam::111122223333:role/",
                "arn:aws:sts::111122223333:assumed-role//x",
            ),
            ("slack:U0123", "slack:U01234"),
        ] {
            assert!(!is_approver(entry, caller), "{entry} / {caller}");
        }
    }
}
