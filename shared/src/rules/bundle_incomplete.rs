//! `bundle-incomplete`: the bundle was truncated, corrupt, or cut at a reader limit.
//!
//! Everything before the damage was analysed; this finding says where reading stopped so absent
//! findings are not mistaken for a healthy node.

use crate::report::{Action, Evidence, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};

static META: RuleMeta = RuleMeta {
    id: "bundle-incomplete",
    severity: Severity::Medium,
    title: "Log bundle incomplete",
    why: "Part of the bundle could not be read (truncated upload, corrupt archive, or a reader limit). \
          Findings cover only what was read; a fault in the unread part would go unreported.",
    docs: &["https://github.com/awslabs/amazon-eks-ami/tree/main/log-collector-script/linux"],
};

/// See the module docs.
pub struct BundleIncomplete;

impl Rule for BundleIncomplete {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let damage = &ctx.facts.damage;
        if damage.is_empty() {
            return Verdict::Clear;
        }
        let stop = damage.iter().find(|d| d.stopped);
        let summary = match stop {
            Some(d) => format!(
                "Reading stopped after {} bytes{}: {}.",
                d.after_bytes,
                d.member
                    .as_deref()
                    .map(|m| format!(" in {m}"))
                    .unwrap_or_default(),
                d.reason
            ),
            None => format!(
                "{} members were damaged; the rest of the bundle was read.",
                damage.len()
            ),
        };
        let mut b = FindingBuilder::new(&META, summary).count(damage.len() as u64);
        for d in damage.iter().take(10) {
            b = b.evidence(Evidence {
                file: d.member.clone().unwrap_or_else(|| "(archive)".to_string()),
                line: None,
                excerpt: crate::report::excerpt(
                    format!("after {} bytes: {}", d.after_bytes, d.reason).as_bytes(),
                ),
                timestamp: None,
            });
        }
        if let Some(limit) = &ctx.facts.stopped_by {
            b = b.detail("stopped_by", limit.as_str());
        }
        b.detail("stopped", stop.is_some())
            .fix(fix(
                FixTarget::Cluster,
                "Collect the logs again and upload the whole file; check free space on the node (the collector \
                 needs more than 1.5 GB on /).",
                Some("sudo bash /etc/eks/log-collector-script/eks-log-collector.sh"),
            ))
            .action(Action::Recollect {})
            .fire()
    }
}
