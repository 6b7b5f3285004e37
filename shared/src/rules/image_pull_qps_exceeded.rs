//! `image-pull-qps-exceeded`: the kubelet's own image-pull rate limit refused pulls.
//!
//! `registryPullQPS` defaults to 5 with a burst of 10. A scale-up that lands many pods on a new node
//! exceeds it, and pods wait in ErrImagePull / back-off although the registry is fine.

use std::collections::BTreeMap;

use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::Signature;
use crate::source::SourceKind;

/// The pull rate the seed support case settled on.
pub const RECOMMENDED_QPS: u32 = 50;
/// Burst to go with it.
pub const RECOMMENDED_BURST: u32 = 100;

static META: RuleMeta = RuleMeta {
    id: "image-pull-qps-exceeded",
    severity: Severity::Medium,
    title: "Kubelet image pulls hit its pull QPS limit",
    why: "The kubelet limits image pulls to registryPullQPS (default 5, burst 10). When a new node starts \
          many pods at once, pulls beyond the limit fail with 'pull QPS exceeded' and back off, delaying \
          every pod on the node.",
    docs: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
};

static SIGS: &[Signature] = &[Signature::new(
    "pull-qps",
    "pull QPS exceeded",
    &[
        SourceKind::KubeletLog,
        SourceKind::Messages,
        SourceKind::ContainerdLog,
    ],
)];

/// See the module docs.
pub struct ImagePullQpsExceeded;

impl Rule for ImagePullQpsExceeded {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("pull-qps");
        if occ.is_empty() {
            return Verdict::Clear;
        }
        FindingBuilder::new(&META, format!("{} image pulls were refused by the kubelet's pull rate limit.", occ.count))
            .occurrences(occ, ctx.clock)
            .fix(fix(
                FixTarget::Al2Bootstrap,
                "Raise the kubelet pull rate in the launch template user data.",
                Some("/etc/eks/bootstrap.sh <cluster> --kubelet-extra-args '--registry-qps=50 --registry-burst=100'"),
            ))
            .fix(fix(
                FixTarget::Al2023Nodeconfig,
                "Raise the kubelet pull rate in the NodeConfig.",
                Some("spec:\n  kubelet:\n    config:\n      registryPullQPS: 50\n      registryBurst: 100"),
            ))
            .fix(fix(
                FixTarget::Karpenter,
                "Set the same kubelet configuration through the EC2NodeClass user data (AL2023 NodeConfig).",
                None,
            ))
            .action(Action::KubeletConfig {
                set: BTreeMap::from([
                    ("registryPullQPS".to_string(), RECOMMENDED_QPS.into()),
                    ("registryBurst".to_string(), RECOMMENDED_BURST.into()),
                ]),
            })
            .fire()
    }
}
