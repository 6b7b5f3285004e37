//! `max-pods-exceeds-ip-capacity`: the kubelet admits more pods than the node has IPs for.
//!
//! Each pod (without host networking) needs a VPC IP. With custom networking the primary ENI carries
//! no pod IPs, so the ceiling drops (m5.large: 29 → 20), but bootstrap.sh, nodeadm and Karpenter do not
//! subtract it. Pods above the ceiling are scheduled and then stick in ContainerCreating.

use std::collections::BTreeMap;

use crate::eni;
use crate::report::{Action, Evidence, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::source::SourceKind;

static META: RuleMeta = RuleMeta {
    id: "max-pods-exceeds-ip-capacity",
    severity: Severity::High,
    title: "max-pods is above what the node's IP addresses allow",
    why: "The scheduler trusts the node's max-pods. Pods beyond the number of IPs the node's ENIs can hold \
          are placed on the node and wait forever in ContainerCreating for an IP. Custom networking \
          removes the primary ENI from the count; the AMI and Karpenter defaults do not account for it.",
    docs: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/cni-custom-network.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/cni-increase-ip-addresses.html",
    ],
};

/// See the module docs.
pub struct MaxPodsExceedsIpCapacity;

impl Rule for MaxPodsExceedsIpCapacity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn reads(&self) -> &'static [SourceKind] {
        // The setting with the highest precedence, and the CNI mode that sets the IP ceiling.
        &[
            SourceKind::KubeletConfig,
            SourceKind::KubeletService,
            SourceKind::Ps,
            SourceKind::IpamdEnv,
            SourceKind::CniEnvDump,
        ]
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let f = ctx.facts;
        // A command-line flag wins over the config file, which wins over a bootstrap argument.
        let rank = |o: &str| match o {
            "flag" => 0,
            "config" => 1,
            _ => 2,
        };
        let Some(setting) = f.max_pods.iter().min_by_key(|m| rank(m.origin)) else {
            return Verdict::Skipped(
                "no max-pods setting found (kubelet config, kubelet flags or bootstrap arguments)"
                    .into(),
            );
        };
        let Some((itype, _)) = &f.instance_type else {
            return Verdict::Skipped(
                "instance type unknown: not in the bundle; pass --instance-type".into(),
            );
        };
        let Some((enis, ips)) = f.type_limits.or_else(|| eni::limits(itype)) else {
            return Verdict::Skipped(format!(
                "instance type {itype} is not in the built-in ENI table; the pipeline reads it from EC2 DescribeInstanceTypes"
            ));
        };
        let custom = f.cni_flag("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG")
            || f.custom_networking_log == Some(true);
        let prefix = f.cni_flag("ENABLE_PREFIX_DELEGATION");
        let ceiling = eni::max_pods(enis, ips, custom, prefix);
        if setting.value <= ceiling {
            return Verdict::Clear;
        }
        let mode = match (custom, prefix) {
            (true, true) => "custom networking with prefix delegation",
            (true, false) => "custom networking",
            (false, true) => "prefix delegation",
            (false, false) => "secondary-IP mode",
        };
        let mut b = FindingBuilder::new(
            &META,
            format!(
                "max-pods is {} but a {itype} ({enis} ENIs × {ips} IPv4) in {mode} has IPs for at most {ceiling} pods; \
                 {} pods can be scheduled that never get an IP.",
                setting.value,
                setting.value - ceiling
            ),
        )
        .evidence(setting.evidence.clone())
        .count(1)
        .detail("max_pods", setting.value)
        .detail("ip_ceiling", ceiling)
        .detail("instance_type", itype.clone())
        .detail("custom_networking", custom)
        .detail("prefix_delegation", prefix);
        if custom {
            if let Some(file) = &f.cni_env_file {
                b = b.evidence(Evidence {
                    file: file.clone(),
                    line: None,
                    excerpt: "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true".into(),
                    timestamp: None,
                });
            }
        }
        let al2 = format!("/etc/eks/bootstrap.sh <cluster> --use-max-pods false --kubelet-extra-args '--max-pods={ceiling}'");
        let al2023 = format!("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: {ceiling}");
        let karpenter = format!("# EC2NodeClass (v1)\nspec:\n  kubelet:\n    maxPods: {ceiling}\n# and with custom networking: RESERVED_ENIS=1 (settings.reservedENIs)");
        b.fix(fix(FixTarget::Al2Bootstrap, "Set max-pods to the IP ceiling in the launch template user data.", Some(&al2)))
            .fix(fix(FixTarget::Al2023Nodeconfig, "Set maxPods in the NodeConfig of the launch template.", Some(&al2023)))
            .fix(fix(FixTarget::Karpenter, "Set maxPods on the EC2NodeClass, and reservedENIs=1 with custom networking.", Some(&karpenter)))
            .fix(fix(
                FixTarget::VpcCniAddon,
                "Or raise the ceiling: enable prefix delegation (Nitro instances, free /28 blocks in the subnets).",
                Some(r#"{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}"#),
            ))
            .action(Action::KubeletConfig { set: BTreeMap::from([("maxPods".to_string(), ceiling.into())]) })
            .fire()
    }
}
