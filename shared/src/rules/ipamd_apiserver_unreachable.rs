//! `ipamd-apiserver-unreachable`: ipamd could not reach the Kubernetes API server at start.
//!
//! ipamd talks to the API server through the `kubernetes` Service VIP, which exists only once
//! kube-proxy has programmed iptables. On a fresh node (or after a flush) ipamd times out, exits and
//! restarts, and no pod gets an IP meanwhile. `CLUSTER_ENDPOINT` removes the dependency.

use std::collections::BTreeMap;

use crate::facts::APISERVER_OK;
use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, CNI};

static META: RuleMeta = RuleMeta {
    id: "ipamd-apiserver-unreachable",
    severity: Severity::High,
    title: "ipamd could not reach the API server",
    why: "ipamd must reach the API server before it serves pod IPs. It uses the kubernetes Service VIP, \
          which only works after kube-proxy has written its rules; until then (or if iptables was flushed) \
          ipamd times out and restarts, and pods on the node get no IP.",
    docs: &[
        "https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md",
        "https://github.com/aws/amazon-vpc-cni-k8s#cluster_endpoint-v1121",
    ],
};

/// IMDS timeouts look alike (`Client.Timeout exceeded`) but are not the API server.
const NOT_IMDS: &str = r"169\.254\.169\.254";

static SIGS: &[Signature] = &[
    Signature::new("unable-to-reach", "Unable to reach API Server", CNI).reject(NOT_IMDS),
    Signature::new("comm-error", "error communicating with apiserver", CNI).reject(NOT_IMDS),
];

/// See the module docs.
pub struct IpamdApiserverUnreachable;

impl Rule for IpamdApiserverUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let a = ctx.occ("unable-to-reach");
        let b = ctx.occ("comm-error");
        if a.is_empty() && b.is_empty() {
            return Verdict::Clear;
        }
        let mut builder = FindingBuilder::new(&META, String::new())
            .occurrences(a, ctx.clock)
            .occurrences(b, ctx.clock);
        let first_fail = a
            .first(ctx.clock)
            .into_iter()
            .chain(b.first(ctx.clock))
            .min();
        let last_fail = a.last(ctx.clock).into_iter().chain(b.last(ctx.clock)).max();
        let recovered = ctx
            .facts
            .marker(APISERVER_OK)
            .and_then(|ok| ok.last(ctx.clock))
            .filter(|t| Some(*t) >= last_fail);
        let count = a.count + b.count;
        let summary = match (first_fail, recovered) {
            (Some(f), Some(r)) => {
                let secs = (r - f).num_seconds();
                builder = builder.detail("recovered_after_s", secs);
                format!("ipamd failed to reach the API server {count} times and got through {secs} s after the first failure.")
            }
            _ => format!("ipamd failed to reach the API server {count} times and the bundle shows no recovery."),
        };
        builder = builder.detail("recovered", recovered.is_some());
        // With the cluster known and private access on, the action can carry the real endpoint.
        let endpoint = ctx
            .facts
            .cluster
            .as_ref()
            .filter(|c| c.private_access == Some(true))
            .and_then(|c| c.endpoint.clone())
            .unwrap_or_else(|| "<cluster endpoint>".to_string());
        builder
            .summary(summary)
            .fix(fix(
                FixTarget::VpcCniAddon,
                "Point ipamd at the cluster endpoint so it does not wait for kube-proxy (VPC CNI v1.12.1+; \
                 recommended with private endpoint access enabled).",
                Some(r#"{"env":{"CLUSTER_ENDPOINT":"<cluster endpoint>"}}"#),
            ))
            .fix(fix(
                FixTarget::UserData,
                "Make sure nothing in user data flushes iptables or delays kube-proxy (see iptables-rules-flushed).",
                None,
            ))
            .action(Action::VpcCniEnv {
                set: BTreeMap::from([("CLUSTER_ENDPOINT".to_string(), endpoint)]),
            })
            .fire()
    }
}
