//! `ebs-io-throttling`: node components stalled on block IO.
//!
//! At boot every image is pulled and every container started at once; a small gp2/gp3 root volume
//! (or an instance's EBS bandwidth) caps IO and kubelet, containerd and ipamd stall for seconds. The
//! collector's `io_throttling.txt` lists per-process block-IO delay; the kernel reports hung tasks.

use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, KERNEL};

/// 100 centisecond ticks = 1 s of block-IO delay; 10 s or more on a node component is a stall.
pub const STALL_TICKS: u64 = 1000;
/// Processes whose stall breaks the node.
pub const NODE_COMPONENTS: &[&str] = &[
    "kubelet",
    "containerd",
    "aws-k8s-agent",
    "aws-node",
    "dockerd",
    "kube-proxy",
    "containerd-shim",
    "aws-vpc-cni",
];

static META: RuleMeta = RuleMeta {
    id: "ebs-io-throttling",
    severity: Severity::High,
    title: "Node components stalled on EBS / block IO",
    why: "When the root volume's IOPS or throughput (or the instance's EBS bandwidth) is exhausted, \
          kubelet, containerd and ipamd block on disk. At boot this delays ipamd, so the CNI plugin \
          cannot reach it and pods get no IP; later it shows as PLEG and probe failures.",
    docs: &[
        "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-io-characteristics.html",
        "https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html",
    ],
};

static SIGS: &[Signature] = &[Signature::new("hung-task", "blocked for more than", KERNEL)
    .confirm(r"INFO: task \S+:\d+ blocked for more than \d+ seconds")
    .tally(r"task (\S+):\d+ blocked")
    // The report comes N seconds after the task blocked; the stall began then.
    .backdate(r"blocked for more than (\d+) seconds")];

/// See the module docs.
pub struct EbsIoThrottling;

impl Rule for EbsIoThrottling {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let stalled: Vec<_> = ctx
            .facts
            .io_rows
            .iter()
            .filter(|r| r.ticks >= STALL_TICKS && NODE_COMPONENTS.contains(&r.comm.as_str()))
            .collect();
        let hung = ctx.occ("hung-task");
        if stalled.is_empty() && hung.is_empty() {
            return Verdict::Clear;
        }
        let stalls: Vec<String> = stalled
            .iter()
            .map(|r| format!("{} {:.1} s", r.comm, r.ticks as f64 / 100.0))
            .collect();
        let summary = match (stalled.is_empty(), hung.is_empty()) {
            (false, true) => format!("Block-IO delay on node components: {}.", stalls.join(", ")),
            (true, false) => format!(
                "The kernel reported {} hung tasks blocked on IO.",
                hung.count
            ),
            _ => format!(
                "Block-IO delay on node components ({}) and {} hung-task reports.",
                stalls.join(", "),
                hung.count
            ),
        };
        let mut b = FindingBuilder::new(&META, summary)
            .occurrences(hung, ctx.clock)
            .count(stalled.len() as u64)
            .detail(
                "io_delay_s",
                serde_json::Value::Object(
                    stalled
                        .iter()
                        .map(|r| (r.comm.clone(), serde_json::json!(r.ticks as f64 / 100.0)))
                        .collect(),
                ),
            )
            .detail("hung_tasks", hung.tally_json());
        for r in &stalled {
            b = b.evidence(r.evidence.clone());
        }
        b.fix(fix(
            FixTarget::Ec2,
            "Give the root volume more IOPS and throughput in the launch template (gp3: raise from the 3,000 \
             IOPS / 125 MiB/s baseline), or move containerd's data to a second volume.",
            Some("BlockDeviceMappings:\n  - DeviceName: /dev/xvda\n    Ebs: {VolumeType: gp3, VolumeSize: 100, Iops: 6000, Throughput: 250}"),
        ))
        .fix(fix(
            FixTarget::Ec2,
            "If EBSIOBalance% / EBSByteBalance% run out, the instance size's EBS bandwidth is the cap: use a larger size.",
            None,
        ))
        .action(Action::EbsPerformance {})
        .fire()
    }
}
