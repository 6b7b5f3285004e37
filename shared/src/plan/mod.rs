//! Remediation plans: from findings (and what the pipeline knows of the account) to the exact
//! changes it would make, each with its mode on the ladder and the guards that allow or hold it.
//!
//! Pure: no AWS calls, no clock. The pipeline fills a [`Context`] from AWS (cluster, add-on, volumes,
//! quotas, launch failures) and a [`GuardState`] from its store; `eks-remedy plan` fills them from a
//! report alone, so the offline plan is exactly what the pipeline would plan with that knowledge.
//!
//! The ladder, per action kind: `observe` (findings only) → `dry-run` (the plan is recorded with
//! before → after) → `approve` (waits for an approver) → `auto` (acts, then reports). Every kind
//! defaults to `dry-run`; recommendations never act. A guard that fails holds an action whatever its
//! mode, and says why.

pub mod addon;
pub mod ebs;
pub mod guards;
pub mod quota;
pub mod support;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::report::{Action, Finding, Fix, Report};

pub use guards::{GuardCheck, GuardState, Guards};

/// What an action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// The VPC CNI managed add-on: `configurationValues` and version.
    VpcCniAddon,
    /// An EBS volume's type, IOPS and throughput.
    EbsVolume,
    /// A Service Quotas increase request.
    ServiceQuota,
    /// An AWS Support case (EC2 API rate limits are raised only this way).
    SupportCase,
    /// A change for people to make (launch template, user data, kubelet): never automatic.
    Recommendation,
}

impl ActionKind {
    /// Every kind, for settings and docs.
    pub const ALL: [ActionKind; 5] = [
        ActionKind::VpcCniAddon,
        ActionKind::EbsVolume,
        ActionKind::ServiceQuota,
        ActionKind::SupportCase,
        ActionKind::Recommendation,
    ];

    /// The kebab-case name used in settings, JSON and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::ServiceQuota => "service-quota",
            ActionKind::SupportCase => "support-case",
            ActionKind::VpcCniAddon => "vpc-cni-addon",
            ActionKind::EbsVolume => "ebs-volume",
            ActionKind::Recommendation => "recommendation",
        }
    }

    /// Parses [`ActionKind::as_str`].
    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Findings only; the action is listed but nothing is prepared.
    Observe,
    /// The exact change is recorded and published; nothing is changed.
    DryRun,
    /// The change waits for an approver.
    Approve,
    /// The change is made, then reported.
    Auto,
    /// Advice for people; never executed.
    Recommend,
}

impl Mode {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::DryRun => "dry-run",
            Mode::Approve => "approve",
            Mode::Auto => "auto",
            Mode::Recommend => "recommend",
        }
    }

    /// Parses [`Mode::as_str`].
    pub fn parse(s: &str) -> Option<Mode> {
        [
            Mode::Observe,
            Mode::DryRun,
            Mode::Approve,
            Mode::Auto,
            Mode::Recommend,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Whether this rung may write to AWS at all (after approval for `approve`).
    pub fn may_write(self) -> bool {
        matches!(self, Mode::Approve | Mode::Auto)
    }
}

/// What the planner decided for one action, given its mode and guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// `auto` and every guard passed: the pipeline executes it.
    Execute,
    /// `approve` and every guard passed: waits for an approval (guards are checked again then).
    AwaitApproval,
    /// `observe`, `dry-run` or `recommend`: recorded, never executed.
    RecordOnly,
    /// A guard failed: held, with the guard saying why.
    Held,
}

/// Settings of the planner: the ladder per kind and the guards' limits (SAM parameters in the
/// pipeline, flags in the CLI).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Mode per kind; a kind not named is `dry-run` (recommendations are always `recommend`).
    pub modes: BTreeMap<ActionKind, Mode>,
    /// Allow-lists, budgets and the circuit breaker.
    pub guards: Guards,
    /// How quota increases are sized.
    pub quota: quota::QuotaPolicy,
    /// How EBS volumes are raised.
    pub ebs: ebs::EbsPolicy,
    /// The account has a Business or Enterprise support plan (`support:CreateCase` works); off by
    /// default, so the EC2 API limit case is prepared text only.
    pub support_plan: bool,
}

impl Settings {
    /// The configured mode of a kind.
    pub fn mode(&self, kind: ActionKind) -> Mode {
        if kind == ActionKind::Recommendation {
            return Mode::Recommend;
        }
        self.modes.get(&kind).copied().unwrap_or(Mode::DryRun)
    }

    /// Applies `KIND=MODE` (as the CLI's `--mode` takes it).
    pub fn set_mode(&mut self, spec: &str) -> Result<(), PlanError> {
        let (k, m) = spec
            .split_once('=')
            .ok_or_else(|| PlanError::Setting(format!("`{spec}`: expected KIND=MODE")))?;
        let kind = ActionKind::parse(k.trim()).ok_or_else(|| {
            PlanError::Setting(format!(
                "unknown action kind `{k}` (one of {})",
                ActionKind::ALL.map(ActionKind::as_str).join(", ")
            ))
        })?;
        let mode = Mode::parse(m.trim()).ok_or_else(|| {
            PlanError::Setting(format!(
                "unknown mode `{m}` (observe, dry-run, approve or auto)"
            ))
        })?;
        if kind == ActionKind::Recommendation || mode == Mode::Recommend {
            return Err(PlanError::Setting(
                "recommendations are never executed: their mode cannot be set".into(),
            ));
        }
        self.modes.insert(kind, mode);
        Ok(())
    }
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A setting is malformed.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// The input is neither a report nor an incident.
    #[error("not a report or incident: {0}")]
    Input(String),
}

/// A failed node launch that names a limit (Auto Scaling `EC2 Instance Launch Unsuccessful`, or an
/// EKS node group health issue).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LaunchFailure {
    /// The EC2 error code (`VcpuLimitExceeded`, `InsufficientInstanceCapacity`, ...).
    pub code: String,
    /// The error text as EC2 gave it.
    pub message: String,
    /// Auto Scaling group / node group.
    pub group: Option<String>,
    /// Instance type being launched.
    pub instance_type: Option<String>,
    /// vCPUs of that type, from `DescribeInstanceTypes`.
    pub vcpus: Option<u32>,
    /// Instances the group could not launch.
    pub instances_short: u32,
    /// Spot or On-Demand.
    pub spot: bool,
    /// The managed node group's `maxSize` when it was seen at it (`NodegroupAtMaxSize`).
    pub max_size: Option<u32>,
}

/// What is known of the incident beyond its findings. Everything is optional: the planner plans
/// with what it has and says what it lacked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// The incident the plan belongs to.
    pub incident_id: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Cluster name.
    pub cluster: Option<String>,
    /// Node groups of the affected nodes.
    pub node_groups: Vec<String>,
    /// Nodes (instance ids) the findings came from.
    pub nodes: Vec<String>,
    /// Cluster and VPC CNI add-on facts.
    pub cluster_info: crate::facts::ClusterContext,
    /// EC2 calls throttled per API, from the throttling incident (CloudTrail).
    pub throttled_apis: BTreeMap<String, u64>,
    /// Root volumes of the affected nodes.
    pub volumes: Vec<ebs::VolumeFacts>,
    /// Launch failures that name a limit.
    pub launch_failures: Vec<LaunchFailure>,
    /// Quotas as read at run time (by quota code).
    pub quotas: BTreeMap<String, quota::QuotaFacts>,
}

impl Context {
    /// What a single report says about its node.
    pub fn from_report(report: &Report) -> Context {
        let b = &report.bundle;
        Context {
            region: b.region.clone(),
            nodes: b.instance_id.iter().cloned().collect(),
            // Offline the installed version is the one ipamd logged (add-on or not).
            cluster_info: crate::facts::ClusterContext {
                version: b
                    .cluster_version
                    .as_deref()
                    .map(|v| v.trim_start_matches('v').into()),
                vpc_cni_addon_version: b.vpc_cni_version.clone(),
                ..Default::default()
            },
            ..Context::default()
        }
    }
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Stable id within the plan: kind and target (`vpc-cni-addon:prod/vpc-cni`), also the
    /// idempotency key of its execution for the incident.
    pub id: String,
    /// What kind of change.
    pub kind: ActionKind,
    /// The configured rung for this kind.
    pub mode: Mode,
    /// What happens given mode and guards.
    pub decision: Decision,
    /// The rule id that asked for it (the first, when several did).
    pub finding: String,
    /// Every rule id that asked for it.
    pub findings: Vec<String>,
    /// What is changed: ids and names, as far as known.
    pub target: Value,
    /// Before → after, in the terms of the API that makes the change.
    pub change: Change,
    /// Every guard and its verdict.
    pub guards: Vec<GuardCheck>,
    /// One sentence: what and why.
    pub summary: String,
    /// For people: the exact steps (launch template, user data, kubectl), reused from the findings.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<Fix>,
}

/// Before and after of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The current state (`null` when not known offline).
    pub before: Value,
    /// The state after the change.
    pub after: Value,
}

/// A remediation plan for one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `plan-<16 hex>`: the same incident and actions give the same id, so a replay plans nothing new.
    pub plan_id: String,
    /// The incident.
    pub incident_id: Option<String>,
    /// The actions, executable kinds first.
    pub actions: Vec<PlannedAction>,
    /// What the planner could not decide for lack of facts.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

/// Builds the plan for `findings` (of one or more nodes of one incident).
pub fn plan(findings: &[Finding], ctx: &Context, settings: &Settings, state: &GuardState) -> Plan {
    let mut draft = Draft::default();

    let mut cni = addon::CniChange::default();
    for f in findings {
        for a in &f.actions {
            match a {
                Action::VpcCniEnv { set } => cni.set_env(&f.rule, set),
                Action::VpcCniAddonUpdate { version } => cni.set_version(&f.rule, version),
                Action::ServiceQuotaReview { apis, errors } => {
                    // The quota errors themselves are gathered by `quota::quota_errors` below.
                    if errors.is_empty() || !apis.is_empty() {
                        // API rate limits: raised by a support case, relieved by fewer calls.
                        draft.support_apis.extend(apis.iter().cloned());
                        draft.support_findings.insert(f.rule.clone());
                        cni.reduce_ec2_calls(&f.rule, f);
                    } else {
                        // A quota: the request above, and the finding's own ways to need less.
                        draft.recommend(f);
                    }
                }
                Action::EbsPerformance {} => {
                    draft.ebs_findings.insert(f.rule.clone());
                }
                Action::KubeletConfig { .. }
                | Action::UserDataReview { .. }
                | Action::SubnetCapacity {}
                | Action::NodeUpgrade { .. }
                | Action::Recollect {} => draft.recommend(f),
            }
        }
    }
    let cluster_endpoint_asked = findings
        .iter()
        .any(|f| f.rule == "ipamd-apiserver-unreachable");
    draft.actions.extend(cni.plan(ctx, cluster_endpoint_asked));
    if !draft.support_findings.is_empty() {
        let rules: Vec<String> = draft.support_findings.iter().cloned().collect();
        draft.actions.push(support::plan_case(
            &rules,
            &draft.support_apis,
            findings,
            ctx,
        ));
    }
    if !draft.ebs_findings.is_empty() {
        let rules: Vec<String> = draft.ebs_findings.iter().cloned().collect();
        let (actions, notes) = ebs::plan_volumes(&rules, ctx, settings);
        draft.actions.extend(actions);
        draft.notes.extend(notes);
    }
    let (quota_actions, quota_notes) = quota::plan_quotas(
        &ctx.launch_failures,
        &quota::quota_errors(findings),
        ctx,
        settings,
    );
    draft.actions.extend(quota_actions);
    draft.notes.extend(quota_notes);

    let mut actions = draft.actions;
    for a in &mut actions {
        if a.kind != ActionKind::SupportCase || settings.support_plan {
            a.mode = settings.mode(a.kind);
        } else {
            // Without a Business/Enterprise plan the case can only be filed by a person.
            a.mode = Mode::Recommend;
        }
        let mut checks = settings.guards.check(a, ctx, state);
        checks.append(&mut a.guards);
        a.guards = checks;
        a.decision = decide(a.mode, &a.guards);
    }
    // The fixes that act on the cluster first (the CNI change is the real fix for throttling; the
    // support case only buys headroom), then recommendations; stable within each kind.
    actions.sort_by_key(|a| a.kind);
    Plan {
        plan_id: plan_id(ctx.incident_id.as_deref(), &actions),
        incident_id: ctx.incident_id.clone(),
        actions,
        notes: draft.notes,
    }
}

/// Plans from a report alone (the CLI's `plan`): the pipeline's context is empty, so targets it
/// would resolve at run time are named as such.
pub fn plan_report(report: &Report, settings: &Settings) -> Plan {
    plan(
        &report.findings,
        &Context::from_report(report),
        settings,
        &GuardState::default(),
    )
}

/// An incident as the pipeline hands it to the planner (and `eks-remedy plan` reads it): the
/// findings of every analysed node and what is known of the account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Findings of the incident's nodes.
    pub findings: Vec<Finding>,
    /// What is known beyond the findings.
    #[serde(default)]
    pub context: Context,
}

/// Largest plan input read (a report is bounded well below this).
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// Reads a report (`eks-remedy analyze --format json`, `report.json`) or an incident, telling
/// which it is by its fields.
pub fn parse_input(text: &str) -> Result<(Vec<Finding>, Context), PlanError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(PlanError::Input(format!(
            "{} bytes, over the {} MiB limit",
            text.len(),
            MAX_INPUT_BYTES >> 20
        )));
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| PlanError::Input(format!("not JSON: {e}")))?;
    if v.get("schema_version").is_some() && v.get("bundle").is_some() {
        let r: Report =
            serde_json::from_value(v).map_err(|e| PlanError::Input(format!("report: {e}")))?;
        let ctx = Context::from_report(&r);
        return Ok((r.findings, ctx));
    }
    if v.get("findings").is_some() {
        let i: Incident =
            serde_json::from_value(v).map_err(|e| PlanError::Input(format!("incident: {e}")))?;
        return Ok((i.findings, i.context));
    }
    Err(PlanError::Input(
        "expected a report (schema_version, bundle, findings) or an incident (findings, context)"
            .into(),
    ))
}

fn decide(mode: Mode, guards: &[GuardCheck]) -> Decision {
    match mode {
        Mode::Observe | Mode::DryRun | Mode::Recommend => Decision::RecordOnly,
        _ if guards.iter().any(|g| !g.ok) => Decision::Held,
        Mode::Approve => Decision::AwaitApproval,
        Mode::Auto => Decision::Execute,
    }
}

fn plan_id(incident: Option<&str>, actions: &[PlannedAction]) -> String {
    let mut h = Sha256::new();
    h.update(incident.unwrap_or("").as_bytes());
    for a in actions {
        h.update([0u8]);
        h.update(a.id.as_bytes());
        h.update(serde_json::to_vec(&a.change.after).unwrap_or_default());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("plan-{hex}")
}

#[derive(Default)]
struct Draft {
    actions: Vec<PlannedAction>,
    notes: Vec<String>,
    support_apis: BTreeSet<String>,
    support_findings: BTreeSet<String>,
    ebs_findings: BTreeSet<String>,
    recommended: BTreeSet<String>,
}

impl Draft {
    /// One recommendation per finding, carrying the finding's own fixes (written once, in the rule).
    fn recommend(&mut self, f: &Finding) {
        if !self.recommended.insert(f.rule.clone()) {
            return;
        }
        self.actions.push(recommendation(
            &f.rule,
            &f.title,
            json!({ "nodes": "affected nodes' launch template / node class" }),
            f.fix.clone(),
        ));
    }
}

/// A recommendation action (never executed).
/// A value as one shell word: names in snippets come from tags and events, which anyone with
/// write access to them chose.
pub(crate) fn shell_quote(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

pub(crate) fn recommendation(
    rule: &str,
    summary: &str,
    target: Value,
    steps: Vec<Fix>,
) -> PlannedAction {
    PlannedAction {
        id: format!("recommendation:{rule}"),
        kind: ActionKind::Recommendation,
        mode: Mode::Recommend,
        decision: Decision::RecordOnly,
        finding: rule.to_string(),
        findings: vec![rule.to_string()],
        target,
        change: Change {
            before: Value::Null,
            after: Value::Array(
                steps
                    .iter()
                    .filter_map(|s| s.snippet.clone().map(Value::String))
                    .collect(),
            ),
        },
        guards: Vec::new(),
        summary: summary.to_string(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, actions: Value, details: Value) -> Finding {
        serde_json::from_value(json!({
            "rule": rule, "severity": "high", "title": rule, "summary": "", "why": "", "count": 1,
            "first_seen": null, "last_seen": null, "first_seen_since_boot_s": null, "evidence": [],
            "details": details, "fix": [], "actions": actions, "docs": [], "root_cause": false,
            "caused_by": []
        }))
        .unwrap()
    }

    fn throttling() -> Finding {
        finding(
            "ec2-api-throttling",
            json!([{"kind": "service-quota-review", "apis": ["AssignPrivateIpAddresses"]}]),
            json!({"warm_ip_target": "2", "metric_by_api": {"AssignPrivateIpAddresses": 37}}),
        )
    }

    fn apiserver() -> Finding {
        finding(
            "ipamd-apiserver-unreachable",
            json!([{"kind": "vpc-cni-env", "set": {"CLUSTER_ENDPOINT": "<cluster endpoint>"}}]),
            json!({}),
        )
    }

    fn known() -> Context {
        Context {
            incident_id: Some("111122223333-us-east-1:prod:throttling:20261019T0500".into()),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            cluster: Some("prod".into()),
            cluster_info: crate::facts::ClusterContext {
                version: Some("1.30".into()),
                endpoint: Some("https://ABC.gr7.us-east-1.eks.amazonaws.com".into()),
                private_access: Some(true),
                vpc_cni_addon_version: Some("v1.18.3-eksbuild.1".into()),
                vpc_cni_configuration: Some(
                    r#"{"env":{"WARM_IP_TARGET":"2","AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG"}}"#.into(),
                ),
                ..Default::default()
            },
            ..Context::default()
        }
    }

    fn auto_everywhere() -> Settings {
        let mut s = Settings::default();
        for k in [
            "vpc-cni-addon",
            "ebs-volume",
            "service-quota",
            "support-case",
        ] {
            s.set_mode(&format!("{k}={}", "auto")).unwrap();
        }
        let all = vec!["*".to_string()];
        s.guards.allow = guards::AllowLists {
            accounts: all.clone(),
            clusters: all.clone(),
            node_groups: all.clone(),
            quota_codes: all.clone(),
            addons: all,
        };
        s
    }

    fn of(plan: &Plan, kind: ActionKind) -> Vec<&PlannedAction> {
        plan.actions.iter().filter(|a| a.kind == kind).collect()
    }

    #[test]
    fn modes_default_to_dry_run_and_parse_strictly() {
        let mut s = Settings::default();
        for k in ActionKind::ALL {
            let want = if k == ActionKind::Recommendation {
                Mode::Recommend
            } else {
                Mode::DryRun
            };
            assert_eq!(s.mode(k), want, "{k:?}");
        }
        s.set_mode("vpc-cni-addon=auto").unwrap();
        assert_eq!(s.mode(ActionKind::VpcCniAddon), Mode::Auto);
        assert!(s.set_mode("vpc-cni-addon").is_err());
        assert!(s.set_mode("quota=auto").is_err());
        assert!(s.set_mode("ebs-volume=yolo").is_err());
        assert!(s.set_mode("recommendation=auto").is_err());
    }

    #[test]
    fn decisions_follow_mode_then_guards() {
        let ok = GuardCheck::pass("budget", "0 of 5 this hour");
        let bad = GuardCheck::fail("allow-list", "cluster not allowed");
        assert_eq!(
            decide(Mode::DryRun, std::slice::from_ref(&bad)),
            Decision::RecordOnly
        );
        assert_eq!(
            decide(Mode::Auto, std::slice::from_ref(&ok)),
            Decision::Execute
        );
        assert_eq!(
            decide(Mode::Approve, std::slice::from_ref(&ok)),
            Decision::AwaitApproval
        );
        assert_eq!(decide(Mode::Auto, &[ok, bad]), Decision::Held);
    }

    #[test]
    fn a_storm_of_findings_across_nodes_is_one_addon_update_one_case_and_one_quota_request() {
        let mut findings = Vec::new();
        for _ in 0..250 {
            findings.push(throttling());
            findings.push(apiserver());
        }
        let mut ctx = known();
        ctx.nodes = (0..50).map(|i| format!("i-{i:017x}")).collect();
        ctx.launch_failures = (0..500)
            .map(|i| LaunchFailure {
                code: "VcpuLimitExceeded".into(),
                message: "You have requested more vCPU capacity than your current vCPU limit of 64 allows".into(),
                group: Some(format!("eks-ng-{}", i % 3)),
                instance_type: Some("m5.large".into()),
                vcpus: Some(2),
                instances_short: 4,
                spot: false,
                max_size: None,
            })
            .collect();
        let p = plan(&findings, &ctx, &auto_everywhere(), &GuardState::default());
        assert_eq!(of(&p, ActionKind::VpcCniAddon).len(), 1);
        assert_eq!(of(&p, ActionKind::ServiceQuota).len(), 1);
        assert_eq!(of(&p, ActionKind::SupportCase).len(), 1);
        let q = of(&p, ActionKind::ServiceQuota)[0];
        assert_eq!(
            q.change.after["DesiredValue"], 100.0,
            "64 × 1.5 = 96 > 64 + 3 groups × 8 → 100"
        );
    }

    fn eni_quota() -> Finding {
        finding(
            "eni-quota-exceeded",
            json!([{"kind": "service-quota-review", "errors": ["NetworkInterfaceLimitExceeded"]}]),
            json!({"refused_calls": 2}),
        )
    }

    #[test]
    fn an_eni_quota_finding_is_a_vpc_quota_request_never_a_rate_limit_case() {
        let mut ctx = known();
        ctx.quotas.insert(
            "L-DF5E4CA3".into(),
            quota::QuotaFacts {
                service_code: "vpc".into(),
                quota_code: "L-DF5E4CA3".into(),
                name: "Network interfaces per Region".into(),
                value: Some(5000.0),
                adjustable: Some(true),
                open_request: None,
            },
        );
        let findings: Vec<Finding> = (0..50).map(|_| eni_quota()).collect();
        let p = plan(&findings, &ctx, &auto_everywhere(), &GuardState::default());
        assert!(of(&p, ActionKind::SupportCase).is_empty(), "{p:?}");
        assert!(of(&p, ActionKind::VpcCniAddon).is_empty(), "{p:?}");
        let q = of(&p, ActionKind::ServiceQuota);
        assert_eq!(q.len(), 1, "one request however many nodes saw it");
        assert_eq!(q[0].target["service_code"], "vpc");
        assert_eq!(q[0].target["quota_code"], "L-DF5E4CA3");
        assert_eq!(q[0].finding, "eni-quota-exceeded");
        assert_eq!(q[0].change.after["DesiredValue"], 7500.0, "5000 × 1.5");
        assert_eq!(q[0].decision, Decision::Execute);
        assert_eq!(
            of(&p, ActionKind::Recommendation)
                .iter()
                .map(|a| a.finding.as_str())
                .collect::<Vec<_>>(),
            ["eni-quota-exceeded"],
            "the finding's own ways to hold fewer ENIs"
        );
    }

    #[test]
    fn the_same_quota_from_launches_and_ipamd_is_one_request_naming_both() {
        let mut ctx = known();
        ctx.launch_failures = vec![LaunchFailure {
            code: "NetworkInterfaceLimitExceeded".into(),
            message: "The maximum number of network interfaces has been reached.".into(),
            group: Some("eks-ng-a".into()),
            instance_type: Some("m5.large".into()),
            vcpus: Some(2),
            instances_short: 3,
            spot: false,
            max_size: None,
        }];
        let p = plan(
            &[eni_quota(), throttling()],
            &ctx,
            &Settings::default(),
            &GuardState::default(),
        );
        let q = of(&p, ActionKind::ServiceQuota);
        assert_eq!(q.len(), 1);
        assert_eq!(
            q[0].findings,
            ["eni-quota-exceeded", "NetworkInterfaceLimitExceeded"]
        );
        assert!(q[0]
            .summary
            .contains("launches failed with NetworkInterfaceLimitExceeded"));
        assert!(q[0]
            .summary
            .contains("eni-quota-exceeded saw NetworkInterfaceLimitExceeded in node logs"));
        assert_eq!(
            of(&p, ActionKind::SupportCase)[0].findings,
            ["ec2-api-throttling"],
            "the throttling finding alone asks for the rate-limit case"
        );
    }

    #[test]
    fn the_addon_change_merges_the_users_config_and_sets_the_real_endpoint() {
        let p = plan(
            &[throttling(), apiserver()],
            &known(),
            &Settings::default(),
            &GuardState::default(),
        );
        let a = of(&p, ActionKind::VpcCniAddon)[0];
        assert_eq!(
            a.change.after["configurationValues"],
            json!({"env": {"AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG", "WARM_ENI_TARGET": "1",
                           "CLUSTER_ENDPOINT": "https://ABC.gr7.us-east-1.eks.amazonaws.com"}})
        );
        assert_eq!(a.change.after["resolveConflicts"], "PRESERVE");
        assert_eq!(
            a.findings,
            ["ec2-api-throttling", "ipamd-apiserver-unreachable"]
        );
        assert!(a.guards.iter().all(|g| g.ok), "{:?}", a.guards);
    }

    #[test]
    fn observe_and_dry_run_never_execute() {
        for mode in ["observe", "dry-run"] {
            let mut s = auto_everywhere();
            for k in [
                "vpc-cni-addon",
                "ebs-volume",
                "service-quota",
                "support-case",
            ] {
                s.set_mode(&format!("{k}={mode}")).unwrap();
            }
            let p = plan(
                &[throttling(), apiserver()],
                &known(),
                &s,
                &GuardState::default(),
            );
            assert!(
                p.actions.iter().all(|a| a.decision == Decision::RecordOnly),
                "{mode}: {p:?}"
            );
        }
    }

    #[test]
    fn auto_executes_once_and_a_replay_is_held_by_idempotency() {
        let s = auto_everywhere();
        let first = plan(&[throttling()], &known(), &s, &GuardState::default());
        let addon = of(&first, ActionKind::VpcCniAddon)[0];
        assert_eq!(addon.decision, Decision::Execute);
        let mut st = GuardState::default();
        st.done.insert(addon.id.clone());
        let replay = plan(&[throttling()], &known(), &s, &st);
        assert_eq!(
            replay.plan_id, first.plan_id,
            "same incident and change, same plan"
        );
        assert_eq!(
            of(&replay, ActionKind::VpcCniAddon)[0].decision,
            Decision::Held
        );
    }

    #[test]
    fn the_support_case_is_only_filed_by_the_pipeline_with_a_support_plan() {
        let mut s = auto_everywhere();
        let p = plan(&[throttling()], &known(), &s, &GuardState::default());
        assert_eq!(of(&p, ActionKind::SupportCase)[0].mode, Mode::Recommend);
        s.support_plan = true;
        let p = plan(&[throttling()], &known(), &s, &GuardState::default());
        assert_eq!(
            of(&p, ActionKind::SupportCase)[0].decision,
            Decision::Execute
        );
    }

    #[test]
    fn a_self_managed_cni_gets_the_kubectl_command_instead() {
        let mut ctx = known();
        ctx.cluster_info.self_managed_cni = true;
        let p = plan(
            &[throttling()],
            &ctx,
            &auto_everywhere(),
            &GuardState::default(),
        );
        assert!(of(&p, ActionKind::VpcCniAddon).is_empty());
        let rec = p
            .actions
            .iter()
            .find(|a| {
                a.steps.iter().any(|s| {
                    s.snippet
                        .as_deref()
                        .is_some_and(|x| x.starts_with("kubectl set env"))
                })
            })
            .expect("kubectl recommendation");
        assert_eq!(rec.kind, ActionKind::Recommendation);
    }

    #[test]
    fn inputs_that_are_neither_report_nor_incident_are_refused_with_the_reason() {
        assert!(parse_input("[]")
            .unwrap_err()
            .to_string()
            .contains("expected a report"));
        assert!(parse_input("{")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
        assert!(parse_input(r#"{"findings": 3}"#)
            .unwrap_err()
            .to_string()
            .contains("incident"));
        let (f, ctx) = parse_input(r#"{"findings": [], "context": {"cluster": "prod"}}"#).unwrap();
        assert!(f.is_empty());
        assert_eq!(ctx.cluster.as_deref(), Some("prod"));
    }
}
