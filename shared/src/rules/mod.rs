//! The rule catalogue: one module per rule, gathered in [`all`] so the list is complete in one place.

mod bundle_incomplete;
mod conntrack_table_full;
mod container_runtime_conflict;
mod ebs_io_throttling;
mod ec2_api_throttling;
mod image_pull_qps_exceeded;
mod ipamd_apiserver_unreachable;
mod ipamd_grpc_unavailable;
mod iptables_rules_flushed;
mod kubelet_serving_cert_missing;
mod kubelet_version_skew;
mod max_pods_exceeds_ip_capacity;
mod node_name_mismatch;
mod oom_kill;
mod pleg_unhealthy;
mod pod_ip_assignment_failed;
mod subnet_ip_exhaustion;
mod vpc_cni_addon_outdated;

use crate::rule::Rule;

/// Every rule, in catalogue order.
pub fn all() -> Vec<&'static dyn Rule> {
    vec![
        &kubelet_serving_cert_missing::KubeletServingCertMissing,
        &node_name_mismatch::NodeNameMismatch,
        &iptables_rules_flushed::IptablesRulesFlushed,
        &container_runtime_conflict::ContainerRuntimeConflict,
        &max_pods_exceeds_ip_capacity::MaxPodsExceedsIpCapacity,
        &image_pull_qps_exceeded::ImagePullQpsExceeded,
        &ec2_api_throttling::Ec2ApiThrottling,
        &ipamd_apiserver_unreachable::IpamdApiserverUnreachable,
        &ipamd_grpc_unavailable::IpamdGrpcUnavailable,
        &pod_ip_assignment_failed::PodIpAssignmentFailed,
        &ebs_io_throttling::EbsIoThrottling,
        &subnet_ip_exhaustion::SubnetIpExhaustion,
        &conntrack_table_full::ConntrackTableFull,
        &pleg_unhealthy::PlegUnhealthy,
        &oom_kill::OomKill,
        &kubelet_version_skew::KubeletVersionSkew,
        &vpc_cni_addon_outdated::VpcCniAddonOutdated,
        &bundle_incomplete::BundleIncomplete,
    ]
}

/// Every rule id, in catalogue order.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|r| r.meta().id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_signature_compiles() {
        let ids = ids();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "duplicate rule id");
        assert_eq!(ids.len(), 18);
        let rules = all();
        crate::scan::Engine::new(&rules).expect("catalogue compiles");
    }
}
