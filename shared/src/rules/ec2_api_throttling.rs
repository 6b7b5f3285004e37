//! `ec2-api-throttling`: the VPC CNI's EC2 calls were throttled (`RequestLimitExceeded`).
//!
//! EC2 rate-limits API calls per account and Region. During a scale-up every new node's ipamd calls
//! CreateNetworkInterface / AssignPrivateIpAddresses; once throttled, nodes wait for IPs and pods stay
//! in ContainerCreating. Counts come from ipamd's log (AWS SDK v1 and v2 texts) and its metrics: the
//! per-API `awscni_aws_api_error_count`, and `awscni_ipamd_error_count`, whose `error` label (VPC CNI
//! up to v1.4) carries the failing call's error text next to the ipamd function (`fn`).

use std::collections::BTreeMap;

use crate::report::{Action, Evidence, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, CNI};

static META: RuleMeta = RuleMeta {
    id: "ec2-api-throttling",
    severity: Severity::High,
    title: "EC2 API throttling of the VPC CNI",
    why: "ipamd gets pod IPs by calling the EC2 API. When the account's EC2 request rate is exhausted \
          (RequestLimitExceeded), new nodes cannot attach ENIs or assign IPs and their pods wait in \
          ContainerCreating; retries add to the load on the same token bucket.",
    docs: &[
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html",
        "https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/eni-and-ip-target.md",
    ],
};

static SIGS: &[Signature] = &[Signature::new("request-limit", "RequestLimitExceeded", CNI)
    .tally(r"(?:operation error EC2: |ec2:|Failed to )(\w+)")];

/// The EC2 API a log phrase stands for.
fn api_name(word: &str) -> &str {
    match word {
        "allocate" => "AssignPrivateIpAddresses",
        "attach" => "AttachNetworkInterface",
        "call" => "DescribeNetworkInterfaces",
        other => other,
    }
}

/// The EC2 API an ipamd error text is about, from the wording ipamd's EC2 helpers wrap errors in
/// (`failed to allocate a private IP address`, `failed to create network interface`, ...).
fn api_of_error_text(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    [
        ("assignprivateipaddresses", "AssignPrivateIpAddresses"),
        ("allocate a private ip", "AssignPrivateIpAddresses"),
        ("createnetworkinterface", "CreateNetworkInterface"),
        ("create network interface", "CreateNetworkInterface"),
        ("attachnetworkinterface", "AttachNetworkInterface"),
        ("attach eni", "AttachNetworkInterface"),
        ("describenetworkinterfaces", "DescribeNetworkInterfaces"),
        ("describe network interface", "DescribeNetworkInterfaces"),
        ("unassignprivateipaddresses", "UnassignPrivateIpAddresses"),
        ("deletenetworkinterface", "DeleteNetworkInterface"),
        ("detachnetworkinterface", "DetachNetworkInterface"),
    ]
    .into_iter()
    .find(|(phrase, _)| t.contains(phrase))
    .map(|(_, api)| api)
}

/// One evidence item summing metric samples (the metrics file has no line numbers worth citing).
fn metrics_evidence(file: Option<&str>, samples: impl Iterator<Item = String>) -> Option<Evidence> {
    let excerpt = samples.collect::<Vec<_>>().join("; ");
    file.map(|f| Evidence {
        file: f.to_string(),
        line: None,
        excerpt: crate::report::excerpt(excerpt.as_bytes()),
        timestamp: None,
    })
}

/// See the module docs.
pub struct Ec2ApiThrottling;

impl Rule for Ec2ApiThrottling {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("request-limit");
        let mut apis: BTreeMap<String, u64> = BTreeMap::new();
        for (word, n) in &occ.tally {
            *apis.entry(api_name(word).to_string()).or_default() += n;
        }
        let metric: BTreeMap<String, u64> = ctx
            .facts
            .cni_api_errors
            .iter()
            .filter(|((_, err), n)| err == "RequestLimitExceeded" && **n > 0)
            .map(|((api, _), n)| (api.clone(), *n))
            .collect();
        let metric_total: u64 = metric.values().sum();
        // ipamd's own counter, by function, where its error text is the throttling.
        let mut by_fn: BTreeMap<String, u64> = BTreeMap::new();
        let mut ipamd_apis: Vec<&str> = Vec::new();
        for ((func, err), n) in &ctx.facts.cni_ipamd_errors {
            if *n > 0 && err.contains("RequestLimitExceeded") {
                *by_fn.entry(func.clone()).or_default() += n;
                ipamd_apis.extend(api_of_error_text(err));
            }
        }
        let ipamd_total: u64 = by_fn.values().sum();
        if occ.is_empty() && metric_total == 0 && ipamd_total == 0 {
            return Verdict::Clear;
        }
        for api in metric.keys() {
            apis.entry(api.clone()).or_default();
        }
        let mut names: Vec<String> = apis.keys().cloned().collect();
        for api in ipamd_apis {
            if !names.iter().any(|n| n == api) {
                names.push(api.to_string());
            }
        }
        names.sort();
        let ipamd_part = if ipamd_total > 0 {
            format!(", {ipamd_total} in its ipamd error counter")
        } else {
            String::new()
        };
        let mut b = FindingBuilder::new(
            &META,
            format!(
                "{} throttled EC2 calls in ipamd's log, {} in its metrics{ipamd_part}; APIs: {}.",
                occ.count,
                metric_total,
                if names.is_empty() {
                    "unknown".to_string()
                } else {
                    names.join(", ")
                }
            ),
        )
        .occurrences(occ, ctx.clock)
        .count(metric_total + ipamd_total)
        .detail(
            "log_lines_by_api",
            serde_json::to_value(&apis).unwrap_or_default(),
        )
        .detail(
            "metric_by_api",
            serde_json::to_value(&metric).unwrap_or_default(),
        );
        let metrics_file = ctx.facts.cni_metrics_file.as_deref();
        let mut metric_evidence = Vec::new();
        if metric_total > 0 {
            metric_evidence.extend(metrics_evidence(
                metrics_file,
                metric.iter().map(|(api, n)| {
                    format!("awscni_aws_api_error_count{{api=\"{api}\",error=\"RequestLimitExceeded\"}} {n}")
                }),
            ));
        }
        if ipamd_total > 0 {
            b = b.detail(
                "ipamd_errors_by_fn",
                serde_json::to_value(&by_fn).unwrap_or_default(),
            );
            metric_evidence.extend(metrics_evidence(
                metrics_file,
                by_fn.iter().map(|(f, n)| {
                    format!("awscni_ipamd_error_count{{error=\"…RequestLimitExceeded…\",fn=\"{f}\"}} {n}")
                }),
            ));
        }
        for e in metric_evidence {
            b = b.evidence(e);
        }
        let warm_ip = ctx.facts.cni_setting("WARM_IP_TARGET").map(str::to_string);
        if let Some(w) = &warm_ip {
            b = b.detail("warm_ip_target", w.clone());
        }
        b.fix(fix(
            FixTarget::VpcCniAddon,
            "Make ipamd call EC2 less: prefer WARM_ENI_TARGET (default 1) or prefix delegation over small \
             WARM_IP_TARGET / MINIMUM_IP_TARGET values, which trigger an EC2 call for every few pods.",
            Some(r#"{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}"#),
        ))
        .fix(fix(
            FixTarget::AwsAccount,
            "EC2 API rate limits are not in Service Quotas: ask AWS Support to raise them for the throttled \
             actions in this Region (subject \"Request an increase in my Amazon EC2 API throttling limits\", \
             refill rates first, at most 3x per request; `eks-remedy plan` prepares the case). Stagger large scale-ups.",
            None,
        ))
        .action(Action::ServiceQuotaReview {
            apis: names,
            errors: Vec::new(),
        })
        .fire()
    }
}
