//! `conntrack-table-full`: the kernel's connection tracking table overflowed.

use crate::report::{FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, KERNEL};

static META: RuleMeta = RuleMeta {
    id: "conntrack-table-full",
    severity: Severity::High,
    title: "conntrack table full: packets dropped",
    why: "Every connection through kube-proxy's NAT rules needs a conntrack entry. When the table is full \
          the kernel drops new connections, which shows as random timeouts to Services and DNS.",
    docs: &["https://docs.aws.amazon.com/eks/latest/best-practices/network-troubleshooting.html"],
};

static SIGS: &[Signature] = &[
    Signature::new("table-full", "table full, dropping packet", KERNEL)
        .confirm(r"nf_conntrack: (?:nf_conntrack: )?table full, dropping packet"),
];

/// See the module docs.
pub struct ConntrackTableFull;

impl Rule for ConntrackTableFull {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("table-full");
        if occ.is_empty() {
            return Verdict::Clear;
        }
        FindingBuilder::new(&META, format!("The kernel dropped packets {} times because the conntrack table was full.", occ.count))
            .occurrences(occ, ctx.clock)
            .fix(fix(
                FixTarget::Cluster,
                "Raise the table size through kube-proxy (it sets nf_conntrack_max from maxPerCore) or spread \
                 connection-heavy pods; check for connection leaks.",
                Some("# kube-proxy add-on configurationValues\n{\"conntrack\":{\"maxPerCore\":131072,\"min\":262144}}"),
            ))
            .fire()
    }
}
