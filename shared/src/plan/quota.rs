//! Service Quotas increases for scale-ups that failed on a limit. One request per quota however many
//! launches failed; never a second while one is open; never for capacity shortages, which no quota
//! fixes. The code table here is a hint: the pipeline finds the quota with `ListServiceQuotas` (by
//! name where no code is known) and reads its applied value and `Adjustable` at run time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    recommendation, shell_quote, ActionKind, Change, Context, Decision, GuardCheck, LaunchFailure,
    Mode, PlannedAction, Settings,
};
use crate::report::{Action, Finding, Fix, FixTarget};

/// How a desired value is sized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuotaPolicy {
    /// Ask for at least the current value times this.
    pub factor: f64,
    /// Never ask for more than the current value times this (the API shows no hard limit, and a
    /// request above it is only refused later by a person).
    pub max_factor: f64,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        QuotaPolicy {
            factor: 1.5,
            max_factor: 4.0,
        }
    }
}

/// A quota as read at run time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaFacts {
    /// Service code (`ec2`, `vpc`, `ebs`, `eks`).
    pub service_code: String,
    /// Quota code.
    pub quota_code: String,
    /// Exact quota name.
    pub name: String,
    /// Applied value (`GetServiceQuota`), or the default when none is applied.
    pub value: Option<f64>,
    /// Whether it can be raised by request.
    pub adjustable: Option<bool>,
    /// An open request (`PENDING` / `CASE_OPENED`) for it: `(id, status, desired value)`.
    pub open_request: Option<(String, String, f64)>,
}

/// Which quota a launch failure ran into, as far as the error alone tells.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QuotaHint {
    /// Service code.
    pub service_code: &'static str,
    /// Quota code, where the table knows it.
    pub quota_code: Option<&'static str>,
    /// The quota's exact name (what `ListServiceQuotas` is searched for).
    pub name: String,
    /// Units one instance needs of it (vCPUs; 1 for interfaces; 0 when unknown).
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Vcpu,
    Instance,
    Unknown,
}

/// What a launch failure calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A quota stopped it.
    Quota(QuotaHint),
    /// AWS had no capacity: never a quota request.
    Capacity,
    /// Not a limit this planner acts on (throttling, configuration errors).
    Other,
}

const STANDARD: &str = "Standard (A, C, D, H, I, M, R, T, Z)";

/// The code the scale-up watcher gives a managed node group seen at its `maxSize`. No launch fails
/// there (Auto Scaling never asks for more), so nothing else says the group could not grow.
pub const NODEGROUP_AT_MAX_SIZE: &str = "NodegroupAtMaxSize";

const NODES_PER_GROUP: &str = "L-BD136A63";
const NODES_PER_GROUP_NAME: &str = "Nodes per managed node group";
/// The documented default of `Nodes per managed node group`: only used to choose between a larger
/// `maxSize` and a quota request when the live value was not read (an offline plan).
const NODES_PER_GROUP_DEFAULT: f64 = 450.0;

/// Classifies a launch failure by its EC2 error code.
pub fn classify(f: &LaunchFailure) -> Classified {
    classify_code(&f.code, f.instance_type.as_deref(), f.spot)
}

/// Classifies an EC2 error code, wherever it was seen (a launch, or a node's own log), with the
/// instance type and purchase option when a vCPU bucket depends on them.
pub fn classify_code(code: &str, instance_type: Option<&str>, is_spot: bool) -> Classified {
    let family = instance_type.map(family_bucket);
    match code {
        "InsufficientInstanceCapacity" => Classified::Capacity,
        "MaxSpotInstanceCountExceeded" => Classified::Quota(spot(family.as_deref())),
        "VcpuLimitExceeded" | "InstanceLimitExceeded" if is_spot => {
            Classified::Quota(spot(family.as_deref()))
        }
        "VcpuLimitExceeded" | "InstanceLimitExceeded" => {
            let bucket = family.unwrap_or_else(|| STANDARD.to_string());
            Classified::Quota(QuotaHint {
                service_code: "ec2",
                quota_code: (bucket == STANDARD).then_some("L-1216C47A"),
                name: format!("Running On-Demand {bucket} instances"),
                unit: Unit::Vcpu,
            })
        }
        "NetworkInterfaceLimitExceeded" => Classified::Quota(QuotaHint {
            service_code: "vpc",
            quota_code: Some("L-DF5E4CA3"),
            name: "Network interfaces per Region".into(),
            unit: Unit::Instance,
        }),
        NODEGROUP_AT_MAX_SIZE => Classified::Quota(QuotaHint {
            service_code: "eks",
            quota_code: Some(NODES_PER_GROUP),
            name: NODES_PER_GROUP_NAME.into(),
            unit: Unit::Instance,
        }),
        "VolumeLimitExceeded" => Classified::Quota(QuotaHint {
            service_code: "ebs",
            quota_code: Some("L-7A658B76"),
            name: "Storage for General Purpose SSD (gp3) volumes, in TiB".into(),
            unit: Unit::Unknown,
        }),
        _ => Classified::Other,
    }
}

fn spot(family: Option<&str>) -> QuotaHint {
    let bucket = family.unwrap_or(STANDARD).to_string();
    QuotaHint {
        service_code: "ec2",
        quota_code: (bucket == STANDARD).then_some("L-34B43A08"),
        name: format!("All {bucket} Spot Instance Requests"),
        unit: Unit::Vcpu,
    }
}

/// The vCPU bucket of an instance type's family, in the quota names' words.
fn family_bucket(instance_type: &str) -> String {
    let family: String = instance_type
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    match family.as_str() {
        f if f.starts_with("inf") => "Inf".into(),
        f if f.starts_with("trn") => "Trn".into(),
        f if f.starts_with("dl") => "DL".into(),
        f if f.starts_with("hpc") => "HPC".into(),
        f if f.starts_with("vt") || f.starts_with('g') => "G and VT".into(),
        f if f.starts_with('p') => "P".into(),
        f if f.starts_with('x') => "X".into(),
        f if f.starts_with('f') => "F".into(),
        _ => STANDARD.into(),
    }
}

/// `You have requested more vCPU capacity than your current vCPU limit of 32 allows…` → 32.
fn limit_in_message(message: &str) -> Option<f64> {
    let rest = &message[message.find("limit of ")? + "limit of ".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// max(current + needed, current × factor), rounded up to a readable step, capped at
/// current × max_factor.
pub fn desired_value(current: f64, needed: f64, policy: &QuotaPolicy) -> f64 {
    let want = (current + needed).max(current * policy.factor);
    let step = match want {
        w if w <= 100.0 => 5.0,
        w if w <= 1_000.0 => 50.0,
        w if w <= 10_000.0 => 500.0,
        _ => 1_000.0,
    };
    let rounded = (want / step).ceil() * step;
    let cap = current * policy.max_factor;
    if cap > current {
        rounded.min(cap)
    } else {
        rounded
    }
}

/// A finding that saw an EC2 error naming a quota in the node's own logs
/// (`service-quota-review {errors}`), e.g. ipamd's `NetworkInterfaceLimitExceeded`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaError {
    /// The rule id of the finding.
    pub rule: String,
    /// The EC2 error code.
    pub code: String,
}

/// The quota errors the findings' `service-quota-review` actions name, one per finding and code.
pub fn quota_errors(findings: &[Finding]) -> Vec<QuotaError> {
    let mut out = Vec::new();
    for f in findings {
        for a in &f.actions {
            if let Action::ServiceQuotaReview { errors, .. } = a {
                out.extend(errors.iter().map(|code| QuotaError {
                    rule: f.rule.clone(),
                    code: code.clone(),
                }));
            }
        }
    }
    out
}

/// Every quota a plan for these launch failures and findings may raise, once each: what the
/// pipeline reads from Service Quotas (value, `Adjustable`, open requests) before it plans, so a
/// request asked for by a finding is sized from live values like one from a failed launch.
pub fn quota_hints(failures: &[LaunchFailure], findings: &[Finding]) -> Vec<QuotaHint> {
    let from_launches = failures.iter().map(classify);
    let from_findings = quota_errors(findings)
        .into_iter()
        .map(|q| classify_code(&q.code, None, false));
    let mut hints: Vec<QuotaHint> = from_launches
        .chain(from_findings)
        .filter_map(|c| match c {
            Classified::Quota(h) => Some(h),
            Classified::Capacity | Classified::Other => None,
        })
        .collect();
    hints.sort();
    hints.dedup();
    hints
}

/// What the failures behind one quota add up to.
#[derive(Default)]
struct Shortfall {
    /// Group → largest number of units it lacked.
    groups: BTreeMap<String, f64>,
    /// The current limit as the EC2 error text states it.
    limit_from_error: Option<f64>,
    /// Error codes of failed launches.
    codes: Vec<String>,
    /// Findings that saw the limit in node logs, and the codes they saw.
    rules: Vec<String>,
    rule_codes: Vec<String>,
}

fn push_once(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// The facts read for the hint's quota: by its code, else by its exact name (the live code wins).
fn facts_for<'a>(ctx: &'a Context, code: Option<&str>, name: &str) -> Option<&'a QuotaFacts> {
    code.and_then(|c| ctx.quotas.get(c))
        .or_else(|| ctx.quotas.values().find(|q| q.name == name))
}

/// A node group stopped by its own `maxSize` below the nodes-per-group quota: what it needs is a
/// larger `maxSize`, not more quota. `(maxSize, quota)`.
fn capped_below_quota(f: &LaunchFailure, ctx: &Context) -> Option<(u32, f64)> {
    if f.code != NODEGROUP_AT_MAX_SIZE {
        return None;
    }
    let max = f.max_size?;
    let quota = facts_for(ctx, Some(NODES_PER_GROUP), NODES_PER_GROUP_NAME)
        .and_then(|q| q.value)
        .unwrap_or(NODES_PER_GROUP_DEFAULT);
    (f64::from(max) < quota).then_some((max, quota))
}

/// Raising `maxSize` is the node group owner's decision (it may be a cost cap), so it is only ever
/// recommended, with the command and the quota it must stay within.
fn max_size_recommendation(
    capped: &BTreeMap<String, (u32, f64)>,
    ctx: &Context,
    settings: &Settings,
) -> PlannedAction {
    let cluster = ctx
        .cluster
        .as_deref()
        .map_or_else(|| "CLUSTER_NAME".to_string(), shell_quote);
    let mut groups = Vec::new();
    let mut steps = Vec::new();
    for (group, &(max, quota)) in capped {
        let larger = desired_value(f64::from(max), 1.0, &settings.quota).min(quota);
        groups.push(json!({"nodegroup": group, "max_size": max, "quota": quota, "suggested_max_size": larger}));
        // A storm over many groups stays a readable plan: the target lists them all.
        if steps.len() < 10 {
            steps.push(Fix {
                target: FixTarget::Cluster,
                instruction: format!(
                    "Raise maxSize of node group `{group}` from {max} (autoscalers stop there); `{NODES_PER_GROUP_NAME}` allows up to {quota}."
                ),
                snippet: Some(format!(
                    "aws eks update-nodegroup-config --cluster-name {cluster} --nodegroup-name {} --scaling-config maxSize={larger}",
                    shell_quote(group)
                )),
            });
        }
    }
    let named: Vec<String> = capped
        .iter()
        .take(5)
        .map(|(g, (max, _))| format!("`{g}` ({max})"))
        .collect();
    recommendation(
        "nodegroup-at-max-size",
        &format!(
            "{}: {}{}; raise maxSize if the scale-up needs more nodes",
            if capped.len() == 1 {
                "A node group at its maxSize cannot grow"
            } else {
                "Node groups at their maxSize cannot grow"
            },
            named.join(", "),
            if capped.len() > named.len() {
                ", ..."
            } else {
                ""
            }
        ),
        json!({"cluster": ctx.cluster, "groups": groups}),
        steps,
    )
}

/// One action per quota, whatever the number of failures and findings behind it.
pub(crate) fn plan_quotas(
    failures: &[LaunchFailure],
    errors: &[QuotaError],
    ctx: &Context,
    settings: &Settings,
) -> (Vec<PlannedAction>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    // A storm repeats the same failure: per group keep the largest shortfall, never the sum.
    let mut by_quota: BTreeMap<QuotaHint, Shortfall> = BTreeMap::new();
    let mut capacity_groups = Vec::new();
    let mut capped = BTreeMap::new();
    for f in failures {
        if let Some(limits) = capped_below_quota(f, ctx) {
            capped.insert(f.group.clone().unwrap_or_else(|| "(group)".into()), limits);
            continue;
        }
        match classify(f) {
            Classified::Capacity => {
                capacity_groups.push(f.group.clone().unwrap_or_else(|| "(group)".into()))
            }
            Classified::Other => {}
            Classified::Quota(hint) => {
                let per_instance = match hint.unit {
                    Unit::Vcpu => f64::from(f.vcpus.unwrap_or(0)),
                    Unit::Instance => 1.0,
                    Unit::Unknown => 0.0,
                };
                let needed = per_instance * f64::from(f.instances_short.max(1));
                let e = by_quota.entry(hint).or_default();
                let g = e
                    .groups
                    .entry(f.group.clone().unwrap_or_default())
                    .or_default();
                *g = g.max(needed);
                if let Some(l) = limit_in_message(&f.message) {
                    e.limit_from_error = Some(l);
                }
                push_once(&mut e.codes, &f.code);
            }
        }
    }
    for q in errors {
        // Capacity and rate errors are never quotas, whoever saw them.
        if let Classified::Quota(hint) = classify_code(&q.code, None, false) {
            let e = by_quota.entry(hint).or_default();
            // A log says a create was refused, not how many the node lacked: one per rule, and
            // the policy's factor sizes the request.
            let g = e.groups.entry(format!("finding:{}", q.rule)).or_default();
            *g = g.max(1.0);
            push_once(&mut e.rules, &q.rule);
            push_once(&mut e.rule_codes, &q.code);
        }
    }
    if !capacity_groups.is_empty() {
        capacity_groups.sort();
        capacity_groups.dedup();
        out.push(recommendation(
            "insufficient-instance-capacity",
            "EC2 had no capacity for the requested type in that AZ: no quota request can fix this",
            json!({"groups": capacity_groups}),
            vec![
                Fix {
                    target: FixTarget::Ec2,
                    instruction: "Let the group use more instance types and Availability Zones (a mixed instances policy with capacity-optimized allocation), or retry later.".into(),
                    snippet: Some("MixedInstancesPolicy:\n  InstancesDistribution:\n    SpotAllocationStrategy: price-capacity-optimized\n  LaunchTemplate:\n    Overrides:\n      - InstanceType: m5.large\n      - InstanceType: m6i.large\n      - InstanceType: m5a.large".into()),
                },
                Fix {
                    target: FixTarget::Karpenter,
                    instruction: "Allow several instance families and zones in the NodePool requirements.".into(),
                    snippet: Some("requirements:\n  - key: karpenter.k8s.aws/instance-category\n    operator: In\n    values: [\"c\", \"m\", \"r\"]\n  - key: topology.kubernetes.io/zone\n    operator: Exists".into()),
                },
            ],
        ));
    }
    if !capped.is_empty() {
        out.push(max_size_recommendation(&capped, ctx, settings));
    }
    for (
        hint,
        Shortfall {
            groups,
            limit_from_error,
            codes,
            rules,
            rule_codes,
        },
    ) in by_quota
    {
        let needed: f64 = groups.values().sum();
        let facts = facts_for(ctx, hint.quota_code, &hint.name);
        let code = facts
            .map(|q| q.quota_code.clone())
            .or_else(|| hint.quota_code.map(str::to_string));
        let current = facts.and_then(|q| q.value).or(limit_from_error);
        let key = code.clone().unwrap_or_else(|| hint.name.clone());
        // Rule ids first: they name the finding; launch failures are named by their codes.
        let findings: Vec<String> = rules.iter().chain(codes.iter()).cloned().collect();
        let rule = findings.first().cloned().unwrap_or_default();
        let mut because = Vec::new();
        let (at_max, launch_codes): (Vec<_>, Vec<_>) =
            codes.iter().partition(|c| *c == NODEGROUP_AT_MAX_SIZE);
        if !launch_codes.is_empty() {
            let launch_codes: Vec<&str> = launch_codes.iter().map(|c| c.as_str()).collect();
            because.push(format!("launches failed with {}", launch_codes.join(", ")));
        }
        if !at_max.is_empty() {
            because.push("a node group reached a maxSize at the quota".to_string());
        }
        if !rules.is_empty() {
            because.push(format!(
                "{} saw {} in node logs",
                rules.join(", "),
                rule_codes.join(", ")
            ));
        }
        if facts.and_then(|q| q.adjustable) == Some(false) {
            out.push(recommendation(
                &rule,
                &format!("{} is not adjustable: open a support case to raise it", hint.name),
                json!({"service_code": hint.service_code, "quota_code": code, "quota_name": hint.name}),
                Vec::new(),
            ));
            continue;
        }
        let mut guards = Vec::new();
        if let Some((id, status, desired)) = facts.and_then(|q| q.open_request.clone()) {
            guards.push(GuardCheck::fail(
                "open-request",
                format!(
                    "request {id} for {desired} is already {status}: it is followed, not repeated"
                ),
            ));
        }
        let desired = current.map(|c| desired_value(c, needed, &settings.quota));
        match (current, desired) {
            (Some(c), Some(d)) if d < c + needed => guards.push(GuardCheck::pass(
                "ceiling",
                format!(
                    "capped at {}× the current value ({d}); the scale-up needed {needed} more",
                    settings.quota.max_factor
                ),
            )),
            (None, _) => guards.push(GuardCheck::fail(
                "prerequisite",
                "current value not known here (the pipeline reads it with GetServiceQuota)",
            )),
            _ => {}
        }
        if code.is_none() {
            notes.push(format!(
                "no quota code known for `{}`: the pipeline looks it up by name",
                hint.name
            ));
        }
        out.push(PlannedAction {
            id: format!("service-quota:{}/{key}", hint.service_code),
            kind: ActionKind::ServiceQuota,
            mode: Mode::DryRun,
            decision: Decision::RecordOnly,
            finding: rule.clone(),
            findings,
            target: json!({
                "api": "service-quotas:RequestServiceQuotaIncrease",
                "service_code": hint.service_code,
                "quota_code": code,
                "quota_name": hint.name,
                "region": ctx.region,
            }),
            change: Change {
                before: json!({"value": current}),
                after: json!({"DesiredValue": desired}),
            },
            guards,
            summary: format!(
                "Raise `{}`{} ({})",
                hint.name,
                match (current, desired) {
                    (Some(c), Some(d)) => format!(" from {c} to {d}"),
                    _ => String::new(),
                },
                because.join("; ")
            ),
            steps: Vec::new(),
        });
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, t: &str, vcpus: u32, short: u32) -> LaunchFailure {
        LaunchFailure {
            code: code.into(),
            message: "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to.".into(),
            group: Some("eks-ng-a".into()),
            instance_type: Some(t.into()),
            vcpus: Some(vcpus),
            instances_short: short,
            spot: false,
            max_size: None,
        }
    }

    #[test]
    fn codes_map_to_quotas_and_capacity_never_does() {
        let q = |f: &LaunchFailure| match classify(f) {
            Classified::Quota(h) => (h.service_code, h.quota_code, h.name),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            q(&failure("VcpuLimitExceeded", "m5.large", 2, 1)).1,
            Some("L-1216C47A")
        );
        let g = q(&failure("VcpuLimitExceeded", "g5.xlarge", 4, 1));
        assert_eq!(
            (g.1, g.2.as_str()),
            (None, "Running On-Demand G and VT instances")
        );
        let mut spot = failure("VcpuLimitExceeded", "c6i.large", 2, 1);
        spot.spot = true;
        assert_eq!(q(&spot).1, Some("L-34B43A08"));
        assert_eq!(
            q(&failure("NetworkInterfaceLimitExceeded", "m5.large", 2, 1)).1,
            Some("L-DF5E4CA3")
        );
        assert_eq!(
            q(&failure("VolumeLimitExceeded", "m5.large", 2, 1)).0,
            "ebs"
        );
        assert_eq!(
            classify(&failure("InsufficientInstanceCapacity", "m5.large", 2, 1)),
            Classified::Capacity
        );
        assert_eq!(
            classify(&failure("RequestLimitExceeded", "m5.large", 2, 1)),
            Classified::Other
        );
    }

    #[test]
    fn hints_cover_launches_and_findings_once_each() {
        let eni: Finding = serde_json::from_value(serde_json::json!({
            "rule": "eni-quota-exceeded", "severity": "high", "title": "", "summary": "", "why": "",
            "count": 1, "first_seen": null, "last_seen": null, "first_seen_since_boot_s": null,
            "evidence": [], "details": {}, "fix": [], "docs": [], "root_cause": false, "caused_by": [],
            "actions": [{"kind": "service-quota-review", "errors": ["NetworkInterfaceLimitExceeded", "InsufficientInstanceCapacity"]}]
        }))
        .unwrap();
        let hints = quota_hints(
            &[
                failure("NetworkInterfaceLimitExceeded", "m5.large", 2, 1),
                failure("VcpuLimitExceeded", "m5.large", 2, 1),
            ],
            &[eni.clone(), eni],
        );
        let codes: Vec<_> = hints.iter().map(|h| h.quota_code).collect();
        assert_eq!(codes, [Some("L-1216C47A"), Some("L-DF5E4CA3")]);
    }

    #[test]
    fn desired_values_are_rounded_and_capped() {
        let p = QuotaPolicy::default();
        assert_eq!(desired_value(32.0, 8.0, &p), 50.0, "32 × 1.5 = 48 → 50");
        assert_eq!(desired_value(32.0, 40.0, &p), 75.0, "32 + 40 = 72 → 75");
        assert_eq!(desired_value(32.0, 400.0, &p), 128.0, "capped at 4×");
        assert_eq!(desired_value(5000.0, 10.0, &p), 7500.0);
    }

    #[test]
    fn a_storm_of_failures_is_one_request_and_the_limit_comes_from_the_error() {
        let fails: Vec<LaunchFailure> = (0..500)
            .map(|_| failure("VcpuLimitExceeded", "m5.xlarge", 4, 3))
            .collect();
        let (actions, _) = plan_quotas(&fails, &[], &Context::default(), &Settings::default());
        assert_eq!(actions.len(), 1);
        let a = &actions[0];
        assert_eq!(a.change.before["value"], 32.0);
        assert_eq!(
            a.change.after["DesiredValue"], 50.0,
            "32 + 4×3 = 44 < 32 × 1.5 = 48 → 50"
        );
    }

    #[test]
    fn an_open_request_is_followed_not_repeated_and_unadjustable_is_a_recommendation() {
        let mut ctx = Context::default();
        ctx.quotas.insert(
            "L-1216C47A".into(),
            QuotaFacts {
                service_code: "ec2".into(),
                quota_code: "L-1216C47A".into(),
                name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances".into(),
                value: Some(64.0),
                adjustable: Some(true),
                open_request: Some(("req-1".into(), "CASE_OPENED".into(), 96.0)),
            },
        );
        let (a, _) = plan_quotas(
            &[failure("VcpuLimitExceeded", "m5.large", 2, 1)],
            &[],
            &ctx,
            &Settings::default(),
        );
        assert!(a[0]
            .guards
            .iter()
            .any(|g| g.guard == "open-request" && !g.ok));
        assert_eq!(
            a[0].change.before["value"], 64.0,
            "the applied value beats the error text"
        );
        if let Some(q) = ctx.quotas.get_mut("L-1216C47A") {
            q.adjustable = Some(false);
        }
        let (a, _) = plan_quotas(
            &[failure("VcpuLimitExceeded", "m5.large", 2, 1)],
            &[],
            &ctx,
            &Settings::default(),
        );
        assert_eq!(a[0].kind, ActionKind::Recommendation);
        assert!(a[0].summary.contains("support case"));
    }

    #[test]
    fn insufficient_capacity_never_becomes_a_quota_request() {
        let fails = vec![failure("InsufficientInstanceCapacity", "m5.large", 2, 5)];
        let (a, _) = plan_quotas(&fails, &[], &Context::default(), &Settings::default());
        assert!(
            a.iter().all(|x| x.kind == ActionKind::Recommendation),
            "{a:?}"
        );
        assert_eq!(a.len(), 1);
    }

    fn at_max(group: &str, max: u32) -> LaunchFailure {
        LaunchFailure {
            code: NODEGROUP_AT_MAX_SIZE.into(),
            message: format!("node group {group} is at its maxSize {max}"),
            group: Some(group.into()),
            instance_type: Some("m5.large".into()),
            vcpus: Some(2),
            instances_short: 1,
            spot: false,
            max_size: Some(max),
        }
    }

    fn nodes_quota(value: f64) -> Context {
        let mut ctx = Context {
            cluster: Some("prod".into()),
            ..Context::default()
        };
        ctx.quotas.insert(
            NODES_PER_GROUP.into(),
            QuotaFacts {
                service_code: "eks".into(),
                quota_code: NODES_PER_GROUP.into(),
                name: NODES_PER_GROUP_NAME.into(),
                value: Some(value),
                adjustable: Some(true),
                open_request: None,
            },
        );
        ctx
    }

    #[test]
    fn a_group_at_a_max_size_below_the_quota_is_told_to_raise_max_size_never_the_quota() {
        let fails = vec![at_max("ng-b", 40), at_max("ng-a", 10), at_max("ng-a", 10)];
        let (a, _) = plan_quotas(&fails, &[], &nodes_quota(450.0), &Settings::default());
        assert_eq!(a.len(), 1, "{a:?}");
        let r = &a[0];
        assert_eq!(r.kind, ActionKind::Recommendation);
        assert_eq!(r.id, "recommendation:nodegroup-at-max-size");
        assert_eq!(r.target["groups"][0]["nodegroup"], "ng-a");
        assert_eq!(r.target["groups"][0]["suggested_max_size"], 15.0);
        assert_eq!(r.target["groups"][1]["suggested_max_size"], 60.0);
        assert_eq!(
            r.steps[0].snippet.as_deref(),
            Some("aws eks update-nodegroup-config --cluster-name prod --nodegroup-name ng-a --scaling-config maxSize=15")
        );
        assert!(r.summary.contains("`ng-a` (10)"), "{}", r.summary);
    }

    #[test]
    fn a_larger_max_size_never_passes_the_quota() {
        let (a, _) = plan_quotas(
            &[at_max("ng", 400)],
            &[],
            &nodes_quota(450.0),
            &Settings::default(),
        );
        assert_eq!(a[0].target["groups"][0]["suggested_max_size"], 450.0);
    }

    #[test]
    fn a_group_at_max_size_at_the_quota_asks_for_more_nodes_per_group() {
        let (a, _) = plan_quotas(
            &[at_max("ng-a", 450)],
            &[],
            &nodes_quota(450.0),
            &Settings::default(),
        );
        assert_eq!(a.len(), 1, "{a:?}");
        let q = &a[0];
        assert_eq!(q.kind, ActionKind::ServiceQuota);
        assert_eq!(q.target["service_code"], "eks");
        assert_eq!(q.target["quota_code"], NODES_PER_GROUP);
        assert_eq!(q.change.before["value"], 450.0);
        assert_eq!(
            q.change.after["DesiredValue"], 700.0,
            "450 × 1.5 = 675 → 700"
        );
        assert!(q.summary.contains("maxSize at the quota"), "{}", q.summary);
        assert!(!q.summary.contains("launches failed"), "{}", q.summary);
    }

    #[test]
    fn offline_a_group_at_max_size_is_judged_against_the_documented_default() {
        let (a, _) = plan_quotas(
            &[at_max("ng", 100)],
            &[],
            &Context::default(),
            &Settings::default(),
        );
        assert_eq!(a[0].kind, ActionKind::Recommendation);
        let snippet = a[0].steps[0].snippet.clone().unwrap_or_default();
        assert!(snippet.contains("--cluster-name CLUSTER_NAME"), "{snippet}");
        let (a, _) = plan_quotas(
            &[at_max("ng", 450)],
            &[],
            &Context::default(),
            &Settings::default(),
        );
        assert_eq!(a[0].kind, ActionKind::ServiceQuota);
        assert!(
            a[0].guards
                .iter()
                .any(|g| g.guard == "prerequisite" && !g.ok),
            "the live value is read before a request: {:?}",
            a[0].guards
        );
    }

    #[test]
    fn a_hostile_node_group_name_is_one_shell_word_in_the_snippet() {
        let (a, _) = plan_quotas(
            &[at_max("ng; rm -rf / #'", 10)],
            &[],
            &nodes_quota(450.0),
            &Settings::default(),
        );
        let snippet = a[0].steps[0].snippet.clone().unwrap_or_default();
        assert!(
            snippet.contains(r#"--nodegroup-name 'ng; rm -rf / #'\''' --scaling"#),
            "{snippet}"
        );
    }

    #[test]
    fn a_max_size_notice_reads_the_nodes_per_group_quota() {
        let hints = quota_hints(&[at_max("ng", 10)], &[]);
        assert_eq!(hints.len(), 1);
        assert_eq!(
            (hints[0].service_code, hints[0].quota_code),
            ("eks", Some(NODES_PER_GROUP))
        );
    }
}
