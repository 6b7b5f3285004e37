//! `vpc-cni-addon-outdated`: the VPC CNI managed add-on is older than the default for the cluster's
//! Kubernetes version. Needs the EKS API (the pipeline supplies it); the CLI reports it undecided.

use crate::report::{Action, Evidence, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};

static META: RuleMeta = RuleMeta {
    id: "vpc-cni-addon-outdated",
    severity: Severity::Medium,
    title: "VPC CNI add-on older than the cluster's default",
    why: "Older VPC CNI releases carry fixed bugs in IP allocation, EC2 call volume and start-up (for \
          example CLUSTER_ENDPOINT needs v1.12.1, the unix-socket plugin transport v1.23). The default \
          version for the cluster's Kubernetes version is the one EKS tests with it.",
    docs: &["https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html"],
};

/// `v1.18.3-eksbuild.1` → (1, 18, 3, 1).
pub fn version_key(v: &str) -> Option<(u32, u32, u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let (core, build) = v.split_once("-eksbuild.").map_or((v, "0"), |(c, b)| (c, b));
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        it.next()??,
        it.next()??,
        it.next().flatten().unwrap_or(0),
        build.parse().unwrap_or(0),
    ))
}

/// See the module docs.
pub struct VpcCniAddonOutdated;

impl Rule for VpcCniAddonOutdated {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        // Without the EKS API (the CLI) there is nothing to compare; that is by design, not missing
        // data, so the rule stays silent rather than reporting itself undecided on every run.
        let Some(cluster) = &ctx.facts.cluster else {
            return Verdict::Clear;
        };
        if cluster.self_managed_cni {
            return Verdict::Skipped(format!(
                "the VPC CNI is self-managed (no managed add-on); the node runs {}",
                ctx.facts
                    .cni_version
                    .as_deref()
                    .unwrap_or("an unknown version")
            ));
        }
        let (Some(installed), Some(default)) = (
            &cluster.vpc_cni_addon_version,
            &cluster.vpc_cni_default_version,
        ) else {
            return Verdict::Skipped("add-on or default version unknown".into());
        };
        let (Some(i), Some(d)) = (version_key(installed), version_key(default)) else {
            return Verdict::Skipped(format!("cannot compare versions {installed} and {default}"));
        };
        if i >= d {
            return Verdict::Clear;
        }
        FindingBuilder::new(
            &META,
            format!(
                "The vpc-cni add-on is {installed}; the default for Kubernetes {} is {default}.",
                cluster.version.as_deref().unwrap_or("?")
            ),
        )
        .count(1)
        .evidence(Evidence {
            file: "(EKS DescribeAddon)".into(),
            line: None,
            excerpt: format!("vpc-cni {installed}, default {default}"),
            timestamp: None,
        })
        .detail("installed", installed.clone())
        .detail("default", default.clone())
        .fix(fix(
            FixTarget::VpcCniAddon,
            "Update the add-on, keeping its configuration values (read the new version's schema first).",
            Some(&format!("aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni --addon-version {default} --resolve-conflicts PRESERVE")),
        ))
        .action(Action::VpcCniAddonUpdate { version: default.clone() })
        .fire()
    }
}

#[cfg(test)]
mod tests {
    use super::version_key;

    #[test]
    fn versions_order() {
        assert!(version_key("v1.18.3-eksbuild.1") < version_key("v1.18.3-eksbuild.2"));
        assert!(version_key("v1.9.0-eksbuild.1") < version_key("v1.18.0-eksbuild.1"));
        assert_eq!(version_key("garbage"), None);
    }
}
