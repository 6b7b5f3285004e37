//! `kubelet-serving-cert-missing`: the kubelet never got its serving certificate.
//!
//! EKS kubelets run with `serverTLSBootstrap: true` and ask for a serving certificate by CSR. Until it
//! is approved, every TLS handshake to the kubelet (logs, exec, metrics) fails. A few failures in the
//! first minute after a kubelet start are normal; lines after that mean the CSR is not being approved.

use crate::report::{FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Signature, Verdict, KUBELET};

/// Seconds after a kubelet start during which missing-certificate lines are expected.
pub const GRACE_SECS: u32 = 60;

static META: RuleMeta = RuleMeta {
    id: "kubelet-serving-cert-missing",
    severity: Severity::High,
    title: "Kubelet has no serving certificate",
    why: "Without a serving certificate the API server cannot reach the kubelet: kubectl logs/exec, \
          metrics-server and webhooks to the node fail. The certificate signing request is not being \
          approved, usually because the node name does not match the instance's private DNS name or the \
          node role is not mapped in aws-auth / access entries.",
    docs: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/cert-signing.html",
        "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/",
    ],
};

static SIGS: &[Signature] = &[Signature::new(
    "no-serving-cert",
    "no serving certificate available for the kubelet",
    KUBELET,
)
.grace_after_kubelet_start(GRACE_SECS)];

/// See the module docs.
pub struct KubeletServingCertMissing;

impl Rule for KubeletServingCertMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("no-serving-cert");
        if occ.is_empty() {
            return Verdict::Clear;
        }
        FindingBuilder::new(
            &META,
            format!(
                "{} TLS handshakes failed for lack of a serving certificate more than {GRACE_SECS} s after kubelet \
                 start ({} more inside the normal start-up window).",
                occ.count, occ.in_grace
            ),
        )
        .occurrences(occ, ctx.clock)
        .detail("in_grace", occ.in_grace)
        .fix(fix(
            FixTarget::Cluster,
            "List pending CSRs and find why they are not approved; approve the node's kubelet-serving CSR once \
             the node name is right.",
            Some("kubectl get csr --sort-by=.metadata.creationTimestamp\nkubectl certificate approve <csr-name>"),
        ))
        .fix(fix(
            FixTarget::UserData,
            "Make sure the node name equals the instance's private DNS name (see node-name-mismatch) and the \
             node IAM role is mapped (aws-auth ConfigMap or an EC2_LINUX access entry).",
            None,
        ))
        .fire()
    }
}
