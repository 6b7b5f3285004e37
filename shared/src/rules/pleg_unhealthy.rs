//! `pleg-unhealthy`: the kubelet's pod lifecycle event generator stopped keeping up.

use crate::report::{FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, KUBELET};

static META: RuleMeta = RuleMeta {
    id: "pleg-unhealthy",
    severity: Severity::High,
    title: "PLEG is not healthy",
    why: "The kubelet relists containers from the runtime every second; when a relist takes over 3 minutes \
          the node turns NotReady and pods are evicted. Causes: an overloaded or hung container runtime, \
          disk IO stalls, too many pods or containers for the node.",
    docs: &["https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting.html"],
};

static SIGS: &[Signature] = &[Signature::new("pleg", "PLEG is not healthy", KUBELET)];

/// See the module docs.
pub struct PlegUnhealthy;

impl Rule for PlegUnhealthy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("pleg");
        if occ.is_empty() {
            return Verdict::Clear;
        }
        FindingBuilder::new(&META, format!("The kubelet reported PLEG unhealthy {} times.", occ.count))
            .occurrences(occ, ctx.clock)
            .fix(fix(
                FixTarget::Cluster,
                "Check containerd health and disk IO on the node (see ebs-io-throttling); lower pod density or \
                 use a larger instance type if the runtime cannot keep up.",
                Some("crictl ps -a | wc -l\nsystemctl status containerd"),
            ))
            .fire()
    }
}
