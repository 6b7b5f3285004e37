//! `iptables-rules-flushed`: user data flushed iptables, or the VPC CNI / kube-proxy chains are gone.
//!
//! The VPC CNI programs SNAT and connmark chains and kube-proxy programs `KUBE-SERVICES`; an
//! `iptables -F` in user data (often copied from old hardening scripts) removes them and breaks pod
//! egress and service VIPs until the agents resync.

use crate::report::{Action, Evidence, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, USER_DATA};
use crate::source::SourceKind;

static META: RuleMeta = RuleMeta {
    id: "iptables-rules-flushed",
    severity: Severity::High,
    title: "iptables rules flushed or VPC CNI / kube-proxy chains missing",
    why: "Pod egress (SNAT) and Service virtual IPs are iptables rules written by the VPC CNI and \
          kube-proxy. Flushing iptables in user data, or anything that removes these chains, breaks pod \
          networking and lets ipamd time out reaching the API server.",
    docs: &[
        "https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md",
        "https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html",
    ],
};

static SIGS: &[Signature] = &[Signature::new("flush", "iptables", USER_DATA)
    .confirm(r"(?:^|[\s+;&|/])iptables(?:-legacy|-nft)?(?:\s+-w(?:\s+\d+)?)?(?:\s+-t\s+\w+)?\s+(?:-F|--flush|-X|--delete-chain)(?:\s|$)")
    .reject(r"iptables-(?:save|restore)")];

/// See the module docs.
pub struct IptablesRulesFlushed;

impl Rule for IptablesRulesFlushed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn reads(&self) -> &'static [SourceKind] {
        &[SourceKind::IptablesSave]
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let flush = ctx.occ("flush");
        let mut missing = Vec::new();
        if let Some(t) = &ctx.facts.iptables {
            if !t.aws_snat && !t.aws_connmark {
                missing.push("AWS-SNAT-CHAIN-0 / AWS-CONNMARK-CHAIN-0 (VPC CNI)");
            }
            if !t.kube_services {
                missing.push("KUBE-SERVICES (kube-proxy)");
            }
        }
        if flush.is_empty() && missing.is_empty() {
            return match ctx.facts.iptables {
                None if !ctx.facts.has(SourceKind::CloudInitOutput) => Verdict::Skipped(
                    "neither networking/iptables-save.txt nor cloud-init output in the bundle"
                        .into(),
                ),
                _ => Verdict::Clear,
            };
        }
        let summary = match (flush.count, missing.is_empty()) {
            (0, _) => format!("iptables-save.txt lacks {}.", missing.join(" and ")),
            (n, true) => format!(
                "User data flushed iptables ({n} commands); the chains have since been restored."
            ),
            (n, false) => format!(
                "User data flushed iptables ({n} commands) and iptables-save.txt lacks {}.",
                missing.join(" and ")
            ),
        };
        let mut b = FindingBuilder::new(&META, summary)
            .occurrences(flush, ctx.clock)
            .detail("missing_chains", missing.clone());
        if let Some(t) = ctx.facts.iptables.as_ref().filter(|_| !missing.is_empty()) {
            b = b.evidence(Evidence {
                file: t.file.clone(),
                line: None,
                excerpt: format!("{} rules; missing {}", t.rules, missing.join(", ")),
                timestamp: None,
            });
            b = b.count(1);
        }
        b.fix(fix(
            FixTarget::UserData,
            "Remove iptables flushes (iptables -F / -X / --flush) from the launch template user data; if the \
             node must harden its firewall, add rules instead of flushing.",
            None,
        ))
        .fix(fix(
            FixTarget::Cluster,
            "On an affected node, restart the agents so they re-program their chains, or replace the node.",
            Some("kubectl -n kube-system delete pod -l 'k8s-app in (aws-node,kube-proxy)' --field-selector spec.nodeName=<node>"),
        ))
        .action(Action::UserDataReview { remove: vec!["iptables -F".to_string()] })
        .fire()
    }
}
