//! The EC2 API rate-limit support case. EC2 API rate limits are not in Service Quotas: the EC2
//! guide asks for a support case per Region and action, with new bucket capacities and refill rates,
//! at most 3× the current limit, refill rates before capacities. The case always travels with the
//! CNI change that makes fewer calls, which is the real fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{ActionKind, Change, Context, Decision, Mode, PlannedAction};
use crate::report::Finding;

/// The subject the EC2 guide names for this request.
pub const SUBJECT: &str = "Request an increase in my Amazon EC2 API throttling limits";

/// How much more the case asks for than the documented default (the guide's ceiling is 3×).
const FACTOR: u32 = 2;

/// The documented token bucket of an EC2 action: (maximum capacity, refill per second).
pub fn default_bucket(action: &str) -> (u32, u32) {
    match action {
        "RunInstances" => (5, 2),
        "CreateTags" => (100, 10),
        "CreateNetworkInterface"
        | "DeleteNetworkInterface"
        | "AssignPrivateIpAddresses"
        | "UnassignPrivateIpAddresses"
        | "ModifyNetworkInterfaceAttribute" => (100, 5),
        a if a.starts_with("Describe") => (100, 20),
        _ => (50, 5),
    }
}

/// Observed throttled calls per action, from every source the incident has.
fn observed(
    findings: &[Finding],
    ctx: &Context,
    apis: &BTreeSet<String>,
) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
    let mut out: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
    for a in apis {
        out.entry(a.clone()).or_default();
    }
    for (api, n) in &ctx.throttled_apis {
        *out.entry(api.clone())
            .or_default()
            .entry("cloudtrail")
            .or_default() += n;
    }
    for f in findings.iter().filter(|f| f.rule == "ec2-api-throttling") {
        for (key, source) in [
            ("log_lines_by_api", "ipamd_log"),
            ("metric_by_api", "ipamd_metrics"),
        ] {
            if let Some(Value::Object(m)) = f.details.get(key) {
                for (api, n) in m {
                    let n = n.as_u64().unwrap_or(0);
                    // Several nodes of one incident: keep the largest view per source, not the sum,
                    // since nodes report the same account-wide throttling.
                    let e = out
                        .entry(api.clone())
                        .or_default()
                        .entry(source)
                        .or_default();
                    *e = (*e).max(n);
                }
            }
        }
    }
    out
}

/// The prepared case (a support-case action; `recommend` unless the account has a support plan
/// that allows `support:CreateCase`).
pub(crate) fn plan_case(
    rules: &[String],
    apis: &BTreeSet<String>,
    findings: &[Finding],
    ctx: &Context,
) -> PlannedAction {
    let region = ctx
        .region
        .clone()
        .unwrap_or_else(|| "(the node's Region)".into());
    let obs = observed(findings, ctx, apis);
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    let mut lines = Vec::new();
    for (api, sources) in &obs {
        let (cap, refill) = default_bucket(api);
        before.insert(
            api.clone(),
            json!({"bucket_maximum_capacity": cap, "bucket_refill_rate": refill}),
        );
        after.insert(
            api.clone(),
            json!({"new_bucket_maximum_capacity": cap * FACTOR, "new_bucket_refill_rate": refill * FACTOR}),
        );
        let seen = if sources.is_empty() {
            "throttled (count not recorded)".to_string()
        } else {
            sources
                .iter()
                .map(|(s, n)| format!("{n} in {}", s.replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "- {api}: RequestLimitExceeded {seen}. Documented bucket: capacity {cap}, refill {refill}/s. \
             Requested: new_bucket_refill_rate {}, new_bucket_maximum_capacity {}.",
            refill * FACTOR,
            cap * FACTOR
        ));
    }
    let cluster = ctx.cluster.as_deref().unwrap_or("our EKS cluster");
    let body = format!(
        "Region: {region}\nAccount: {account}\n\nThrottled EC2 API actions:\n{list}\n\n\
         Use case: {cluster} scales its nodes up in bursts (for example on Monday mornings after a weekend \
         scale-down). On every new node the Amazon VPC CNI (ipamd) calls these actions to attach network \
         interfaces and assign pod IP addresses; during the scale-up they were throttled, which left pods \
         in ContainerCreating without an IP address. We are also reducing the calls (VPC CNI WARM_ENI_TARGET \
         or prefix delegation instead of small WARM_IP_TARGET values) and staggering scale-ups; we ask for \
         refill rates first, each within 3x of the documented default.",
        account = ctx.account.as_deref().unwrap_or("(this account)"),
        list = lines.join("\n"),
    );
    PlannedAction {
        id: format!("support-case:{region}/ec2-api-throttling"),
        kind: ActionKind::SupportCase,
        mode: Mode::Recommend,
        decision: Decision::RecordOnly,
        finding: rules.first().cloned().unwrap_or_default(),
        findings: rules.to_vec(),
        target: json!({
            "api": "support:CreateCase",
            "region": region,
            "service": "General Info and Getting Started",
            "category": "Using AWS & Services",
        }),
        change: Change {
            before: Value::Object(before),
            after: json!({
                "subject": SUBJECT,
                "limits": Value::Object(after),
                "body": body,
            }),
        },
        guards: Vec::new(),
        summary: format!(
            "Support case for higher EC2 API rate limits in {region} ({} action{})",
            obs.len(),
            if obs.len() == 1 { "" } else { "s" }
        ),
        steps: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_documented_defaults_and_stay_within_three_times() {
        assert_eq!(default_bucket("AssignPrivateIpAddresses"), (100, 5));
        assert_eq!(default_bucket("DescribeNetworkInterfaces"), (100, 20));
        assert_eq!(default_bucket("AttachNetworkInterface"), (50, 5));
        assert_eq!(default_bucket("RunInstances"), (5, 2));
        const { assert!(FACTOR <= 3) };
    }

    #[test]
    fn the_case_names_region_actions_counts_and_the_requested_limits() {
        let ctx = Context {
            region: Some("us-east-1".into()),
            account: Some("111122223333".into()),
            cluster: Some("prod".into()),
            throttled_apis: BTreeMap::from([("AssignPrivateIpAddresses".into(), 412)]),
            ..Context::default()
        };
        let apis = BTreeSet::from([
            "AssignPrivateIpAddresses".to_string(),
            "CreateNetworkInterface".to_string(),
        ]);
        let a = plan_case(&["ec2-api-throttling".into()], &apis, &[], &ctx);
        assert_eq!(a.change.after["subject"], SUBJECT);
        let body = a.change.after["body"].as_str().unwrap();
        assert!(
            body.starts_with("Region: us-east-1\nAccount: 111122223333"),
            "{body}"
        );
        assert!(
            body.contains("- AssignPrivateIpAddresses: RequestLimitExceeded 412 in cloudtrail."),
            "{body}"
        );
        assert!(body.contains(
            "CreateNetworkInterface: RequestLimitExceeded throttled (count not recorded)"
        ));
        assert_eq!(
            a.change.after["limits"]["AssignPrivateIpAddresses"],
            json!({"new_bucket_maximum_capacity": 200, "new_bucket_refill_rate": 10})
        );
        assert_eq!(a.target["api"], "support:CreateCase");
    }
}
