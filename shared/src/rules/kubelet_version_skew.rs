//! `kubelet-version-skew`: kubelet and API server versions are outside the Kubernetes skew policy.

use crate::facts::{minor_version, APISERVER_OK, KUBELET_START};
use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};

static META: RuleMeta = RuleMeta {
    id: "kubelet-version-skew",
    severity: Severity::High,
    title: "Kubelet version outside the supported skew",
    why: "A kubelet must not be newer than the API server and may be at most three minor versions older \
          (two for API servers before 1.25). Outside that, API fields the kubelet relies on may be missing \
          and the node can fail to register or run pods.",
    docs: &["https://kubernetes.io/releases/version-skew-policy/", "https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html"],
};

/// Allowed (kubelet older by at most) for an API server minor.
pub fn max_older(server_minor: u32) -> u32 {
    if server_minor >= 25 {
        3
    } else {
        2
    }
}

/// See the module docs.
pub struct KubeletVersionSkew;

impl Rule for KubeletVersionSkew {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let (Some(kubelet), Some(cluster)) =
            (&ctx.facts.kubelet_version, &ctx.facts.cluster_version)
        else {
            return Verdict::Skipped("kubelet or cluster version not in the bundle (the cluster version comes from ipamd's log)".into());
        };
        let (Some(k), Some(c)) = (minor_version(kubelet), minor_version(cluster)) else {
            return Verdict::Skipped(format!("cannot read versions {kubelet} / {cluster}"));
        };
        let newer = k > c;
        let too_old = k.0 == c.0 && c.1 > k.1 + max_older(c.1);
        if !newer && !too_old && k.0 == c.0 {
            return Verdict::Clear;
        }
        let summary = if newer {
            format!("kubelet {kubelet} is newer than the API server {cluster}.")
        } else {
            format!("kubelet {kubelet} is {} minor versions behind the API server {cluster} (at most {} allowed).", c.1.saturating_sub(k.1), max_older(c.1))
        };
        let mut b = FindingBuilder::new(&META, summary).count(1);
        for marker in [KUBELET_START, APISERVER_OK] {
            // The latest line of each: the versions that were running when the logs were collected.
            if let Some(e) = ctx
                .facts
                .marker(marker)
                .and_then(|o| o.evidence(ctx.clock).pop())
            {
                b = b.evidence(e);
            }
        }
        b
            .severity(if newer { Severity::Critical } else { Severity::High })
            .detail("kubelet", kubelet.clone())
            .detail("cluster", cluster.clone())
            .fix(fix(
                FixTarget::Ec2,
                "Move the node group to an AMI for the cluster's version (managed node groups: update the node \
                 group version; Karpenter: the EC2NodeClass amiSelectorTerms / alias).",
                Some("aws eks update-nodegroup-version --cluster-name <cluster> --nodegroup-name <nodegroup>"),
            ))
            .action(Action::NodeUpgrade { kubelet: kubelet.clone(), cluster: cluster.clone() })
            .fire()
    }
}
