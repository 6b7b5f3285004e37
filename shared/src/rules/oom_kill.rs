//! `oom-kill`: the kernel killed processes for lack of memory.

use std::collections::BTreeMap;

use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, KERNEL};

/// Processes whose death takes the node down with it.
pub const NODE_PROCESSES: &[&str] = &[
    "kubelet",
    "containerd",
    "dockerd",
    "aws-k8s-agent",
    "kube-proxy",
    "systemd-journal",
    "containerd-shim",
];

static META: RuleMeta = RuleMeta {
    id: "oom-kill",
    severity: Severity::Medium,
    title: "Out-of-memory kills",
    why: "The kernel OOM killer ends processes when memory runs out. A killed workload restarts; a killed \
          kubelet or containerd makes the whole node NotReady. Kills of node processes mean too little memory \
          is reserved for the system.",
    docs: &["https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/"],
};

static SIGS: &[Signature] = &[Signature::new("killed", "Killed process", KERNEL)
    .confirm(r"Killed process \d+ \(")
    .tally(r"Killed process \d+ \(([^)]+)\)")];

/// See the module docs.
pub struct OomKill;

impl Rule for OomKill {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("killed");
        if occ.is_empty() {
            return Verdict::Clear;
        }
        let node_kills: Vec<&String> = occ
            .tally
            .keys()
            .filter(|p| NODE_PROCESSES.contains(&p.as_str()))
            .collect();
        let processes: Vec<String> = occ.tally.iter().map(|(p, n)| format!("{p} ×{n}")).collect();
        let mut b = FindingBuilder::new(&META, format!("The OOM killer ended {} processes: {}.", occ.count, processes.join(", ")))
            .occurrences(occ, ctx.clock)
            .detail("processes", occ.tally_json())
            .fix(fix(
                FixTarget::Cluster,
                "Set memory requests and limits on workloads so the scheduler does not overcommit the node.",
                None,
            ));
        if !node_kills.is_empty() {
            b = b
                .severity(Severity::Critical)
                .fix(fix(
                    FixTarget::Al2023Nodeconfig,
                    "Node processes were killed: reserve memory for the system and raise the hard eviction threshold.",
                    Some("spec:\n  kubelet:\n    config:\n      systemReserved: {memory: 500Mi}\n      evictionHard: {memory.available: 200Mi}"),
                ))
                .action(Action::KubeletConfig {
                    set: BTreeMap::from([
                        ("systemReserved".to_string(), serde_json::json!({"memory": "500Mi"})),
                        ("evictionHard".to_string(), serde_json::json!({"memory.available": "200Mi"})),
                    ]),
                });
        }
        b.fire()
    }
}
