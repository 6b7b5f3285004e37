//! `ipamd-grpc-unavailable`: the CNI plugin could not reach ipamd.
//!
//! For every pod sandbox the `aws-cni` plugin asks ipamd for an IP over gRPC (TCP 127.0.0.1:50051, or
//! the unix socket `/var/run/aws-node/ipamd.sock` since VPC CNI v1.23). Connection refused means ipamd
//! was not (yet) serving: it is still starting, crash-looping, or its pod is not running. Early releases
//! (dockershim era) report it without an address, as the CNI call's gRPC status `Unavailable`.

use crate::report::{FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::Signature;
use crate::source::SourceKind;

static META: RuleMeta = RuleMeta {
    id: "ipamd-grpc-unavailable",
    severity: Severity::High,
    title: "CNI plugin could not reach ipamd",
    why: "Pod sandboxes are created only after the CNI plugin gets an IP from ipamd over gRPC. While ipamd \
          is not serving (slow start after an IO stall, waiting for the API server, crash-looping), every \
          pod start on the node fails and retries.",
    docs: &["https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md"],
};

const WHERE: &[SourceKind] = &[
    SourceKind::KubeletLog,
    SourceKind::Messages,
    SourceKind::ContainerdLog,
    SourceKind::DockerLog,
    SourceKind::IpamdLog,
    SourceKind::CniPluginLog,
    SourceKind::CniOtherLog,
];

static SIGS: &[Signature] = &[
    Signature::new("tcp-50051", "127.0.0.1:50051", WHERE)
        .confirm(r"dial tcp 127\.0\.0\.1:50051: (?:connect|i/o timeout)"),
    Signature::new("unix-socket", "/var/run/aws-node/ipamd.sock", WHERE)
        .confirm(r"dial unix /var/run/aws-node/ipamd\.sock"),
    // The CNI add/del call itself failed with gRPC Unavailable; lines naming the address are counted
    // above, and the runtime's own `Unavailable` (containerd socket) is not a CNI call.
    Signature::new("cni-unavailable", "code = Unavailable", WHERE)
        .confirm(r#"(?:NetworkPlugin cni failed|plugin type=\\?"aws-cni\\?"|AddNetwork|DelNetwork).*rpc error: code = Unavailable"#)
        .reject(r"127\.0\.0\.1:50051|ipamd\.sock"),
];

/// See the module docs.
pub struct IpamdGrpcUnavailable;

impl Rule for IpamdGrpcUnavailable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let tcp = ctx.occ("tcp-50051");
        let unix = ctx.occ("unix-socket");
        let bare = ctx.occ("cni-unavailable");
        if tcp.is_empty() && unix.is_empty() && bare.is_empty() {
            return Verdict::Clear;
        }
        let mut summary = format!(
            "{} pod network setups/teardowns could not reach ipamd (TCP 50051: {}, unix socket: {}",
            tcp.count + unix.count + bare.count,
            tcp.count,
            unix.count
        );
        if !bare.is_empty() {
            summary.push_str(&format!(
                ", gRPC Unavailable without address: {}",
                bare.count
            ));
        }
        summary.push_str(").");
        FindingBuilder::new(&META, summary)
        .occurrences(tcp, ctx.clock)
        .occurrences(unix, ctx.clock)
        .occurrences(bare, ctx.clock)
        .fix(fix(
            FixTarget::Cluster,
            "Find why ipamd was not serving: check the aws-node pod on the node (restarts, readiness) and the \
             related findings in this report (IO stalls at boot, API server reachability).",
            Some("kubectl -n kube-system get pod -l k8s-app=aws-node -o wide --field-selector spec.nodeName=<node>\nkubectl -n kube-system logs <aws-node-pod> -c aws-node --previous"),
        ))
        .fire()
    }
}
