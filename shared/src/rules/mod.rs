//! The rule catalogue: one module per rule, gathered in [`all`] so the list is complete in one place.

mod bundle_incomplete;
mod conntrack_table_full;
mod container_runtime_conflict;
mod ebs_io_throttling;
mod ec2_api_throttling;
mod eni_quota_exceeded;
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
        &eni_quota_exceeded::EniQuotaExceeded,
        &conntrack_table_full::ConntrackTableFull,
        &pleg_unhealthy::PlegUnhealthy,
        &oom_kill::OomKill,
        &kubelet_version_skew::KubeletVersionSkew,
        &vpc_cni_addon_outdated::VpcCniAddonOutdated,
        &bundle_incomplete::BundleIncomplete,
    ]
}

/// Every distinct signature literal of the facts and the catalogue (for a grep baseline).
pub fn literals() -> Vec<&'static str> {
    let rules = all();
    let mut out: Vec<&'static str> = crate::facts::SIGNATURES.iter().map(|s| s.literal).collect();
    out.extend(
        rules
            .iter()
            .flat_map(|r| r.signatures().iter().map(|s| s.literal)),
    );
    out.sort_unstable();
    out.dedup();
    out
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
        let rules = all();
        crate::scan::Engine::new(&rules).expect("catalogue compiles");
    }

    /// A rule file that is declared but missing from [`all`] compiles (only as dead code) and would
    /// never run; the catalogue is the files in this directory, one rule each, named after its id.
    #[test]
    fn every_rule_file_is_in_the_catalogue() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("rules directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
            .filter(|n| n != "mod")
            .map(|n| n.replace('_', "-"))
            .collect();
        files.sort_unstable();
        let mut ids: Vec<String> = ids().into_iter().map(str::to_owned).collect();
        ids.sort_unstable();
        assert_eq!(
            files, ids,
            "rule files (left) and catalogue ids (right) differ"
        );
    }

    #[test]
    fn literals_cover_facts_and_every_rule_once() {
        let lits = literals();
        let mut sorted = lits.clone();
        sorted.dedup();
        assert_eq!(sorted, lits, "sorted and distinct");
        for r in all() {
            for s in r.signatures() {
                assert!(lits.contains(&s.literal), "{}: {}", r.meta().id, s.name);
            }
        }
        for s in crate::facts::SIGNATURES {
            assert!(lits.contains(&s.literal), "facts: {}", s.name);
        }
    }
}
