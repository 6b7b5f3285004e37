//! `pod-ip-assignment-failed`: pods could not get an IP address.
//!
//! The symptom users see as pods stuck in ContainerCreating. On its own it says little; correlation
//! links it to the cause (throttling, exhausted subnets, max-pods above the IP ceiling, ipamd down).
//!
//! Three witnesses, any one enough: the runtime's sandbox error (kubelet, containerd), the CNI plugin's
//! own log (`Failed to assign an IP address to container <id>` since v1.7, `... to pod <name>,
//! namespace <ns> ...` before, in the JSON or the old plain-text format), and ipamd's empty pool
//! (`no available IP/Prefix addresses`, before prefix delegation `no available IP addresses`).

use crate::report::{FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, CNI, RUNTIME};

static META: RuleMeta = RuleMeta {
    id: "pod-ip-assignment-failed",
    severity: Severity::High,
    title: "Pods could not get an IP address",
    why: "A pod sandbox needs a VPC IP from ipamd. When ipamd has none to give (warm pool empty, EC2 calls \
          throttled, subnet exhausted, more pods than the node's ENIs can hold) the pod stays in \
          ContainerCreating.",
    docs: &[
        "https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md",
        "https://docs.aws.amazon.com/eks/latest/best-practices/ip-opt.html",
    ],
};

static SIGS: &[Signature] = &[
    Signature::new(
        "assign-failed",
        "failed to assign an IP address to container",
        RUNTIME,
    ),
    Signature::new("no-available", "no available IP", CNI)
        .confirm(r"no available IP(?:/Prefix)? addresses"),
    Signature::new("cni-failed", "to assign an IP address to ", CNI)
        .confirm(r"[Ff]ailed to assign an IP address to (?:container|pod)"),
];

/// See the module docs.
pub struct PodIpAssignmentFailed;

impl Rule for PodIpAssignmentFailed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let failed = ctx.occ("assign-failed");
        let none = ctx.occ("no-available");
        let cni = ctx.occ("cni-failed");
        if failed.is_empty() && none.is_empty() && cni.is_empty() {
            return Verdict::Clear;
        }
        let summary = if cni.is_empty() {
            format!(
                "{} pod sandboxes failed for lack of an IP; ipamd reported an empty pool {} times.",
                failed.count, none.count
            )
        } else {
            format!(
                "The CNI plugin logged {} failed IP assignments; the runtime reported {} failed sandboxes and \
                 ipamd an empty pool {} times.",
                cni.count, failed.count, none.count
            )
        };
        let mut b = FindingBuilder::new(&META, summary)
            .occurrences(failed, ctx.clock)
            .occurrences(cni, ctx.clock)
            .occurrences(none, ctx.clock)
            .detail("sandbox_failures", failed.count)
            .detail("ipamd_pool_empty", none.count);
        if !cni.is_empty() {
            b = b.detail("cni_plugin_failures", cni.count);
        }
        b
        .fix(fix(
            FixTarget::Cluster,
            "Act on the cause this report links to the failure (listed above it). Check the warm pool and \
             the subnet's free addresses if none is linked.",
            Some("kubectl -n kube-system exec <aws-node-pod> -c aws-node -- curl -s localhost:61679/v1/enis | head"),
        ))
        .fire()
    }
}
