//! `kubelet-serving-cert-missing`: the kubelet never got its serving certificate.
//!
//! EKS kubelets run with `serverTLSBootstrap: true` and ask for a serving certificate by CSR. Until it
//! is approved, every TLS handshake to the kubelet (logs, exec, metrics) fails. A few failures in the
//! first minute after a kubelet start are normal; lines after that mean the CSR is not being approved.
//!
//! When the bundle shows no kubelet start before the lines (the journal begins later, or the lines are
//! a fragment), the start-up wait cannot be told apart by time since start. The rule then fires only
//! when the lines persist past the same grace period, or when the kubelet also says its serving CSR
//! was not signed or its registration was refused; the finding's `basis` says which.

use crate::facts::KUBELET_START;
use crate::report::{FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, KUBELET};

/// Seconds after a kubelet start during which missing-certificate lines are expected.
pub const GRACE_SECS: u32 = 60;

static META: RuleMeta = RuleMeta {
    id: "kubelet-serving-cert-missing",
    severity: Severity::High,
    title: "Kubelet has no serving certificate",
    why: "Without a serving certificate the API server cannot reach the kubelet: kubectl logs/exec, \
          metrics-server and webhooks to the node fail. The certificate signing request is not being \
          approved, usually because the node name does not match the instance's private DNS name or the \
          node role is not mapped in aws-auth / access entries.",
    docs: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/cert-signing.html",
        "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/",
    ],
};

static SIGS: &[Signature] = &[
    Signature::new(
        "no-serving-cert",
        "no serving certificate available for the kubelet",
        KUBELET,
    )
    .grace_after_kubelet_start(GRACE_SECS),
    // The certificate manager gave up waiting for the serving CSR (not the client certificate's).
    Signature::new(
        "csr-not-signed",
        "ertificate request was not signed",
        KUBELET,
    )
    .confirm("kubelet-serving"),
    Signature::new("register-refused", "Unable to register node", KUBELET)
        .confirm(r"(?i)unauthorized|forbidden"),
];

/// Why the rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    /// Lines more than the grace period after a kubelet start the bundle shows.
    AfterKubeletStart,
    /// No start before them, but they span more than the grace period.
    Persisted,
    /// No start before them and a short span, but the kubelet confirms the CSR is not approved.
    Confirmed,
}

impl Basis {
    fn as_str(self) -> &'static str {
        match self {
            Basis::AfterKubeletStart => "after-kubelet-start",
            Basis::Persisted => "persisted",
            Basis::Confirmed => "confirmed",
        }
    }
}

/// See the module docs.
pub struct KubeletServingCertMissing;

impl Rule for KubeletServingCertMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let occ = ctx.occ("no-serving-cert");
        if occ.is_empty() {
            return Verdict::Clear;
        }
        let (first, last) = (occ.first(ctx.clock), occ.last(ctx.clock));
        // A start is known when the bundle shows one no later than the first counted line. Undated
        // lines (fragments) cannot be placed against it: they are judged by the start alone, as the
        // scanner could not put them in the start-up window either.
        let starts = ctx.facts.marker(KUBELET_START);
        let known_start = match (starts.and_then(|m| m.first(ctx.clock)), first) {
            (Some(start), Some(first)) => start <= first,
            (_, None) => starts.is_some(),
            (None, Some(_)) => false,
        };
        let span_secs = match (first, last) {
            (Some(f), Some(l)) => (l - f).num_seconds(),
            _ => 0,
        };
        let not_signed = ctx.occ("csr-not-signed");
        let refused = ctx.occ("register-refused");
        let basis = if known_start {
            Basis::AfterKubeletStart
        } else if span_secs > i64::from(GRACE_SECS) {
            Basis::Persisted
        } else if !not_signed.is_empty() || !refused.is_empty() {
            Basis::Confirmed
        } else {
            return Verdict::Clear;
        };
        let summary = match basis {
            Basis::AfterKubeletStart => format!(
                "{} TLS handshakes failed for lack of a serving certificate more than {GRACE_SECS} s after kubelet \
                 start ({} more inside the normal start-up window).",
                occ.count, occ.in_grace
            ),
            Basis::Persisted => format!(
                "{} TLS handshakes failed for lack of a serving certificate over {span_secs} s; the bundle shows no \
                 kubelet start before them, and they outlast the {GRACE_SECS} s start-up window.",
                occ.count
            ),
            Basis::Confirmed => format!(
                "{} TLS handshakes failed for lack of a serving certificate; the bundle shows no kubelet start \
                 before them, and the kubelet confirms the CSR is not approved ({} serving CSRs not signed, {} \
                 registrations refused).",
                occ.count, not_signed.count, refused.count
            ),
        };
        let mut b = FindingBuilder::new(&META, summary)
            .occurrences(occ, ctx.clock)
            .detail("in_grace", occ.in_grace)
            .detail("basis", basis.as_str());
        if basis != Basis::AfterKubeletStart {
            b = b
                .occurrences(not_signed, ctx.clock)
                .occurrences(refused, ctx.clock);
        }
        b
        .fix(fix(
            FixTarget::Cluster,
            "List pending CSRs and find why they are not approved; approve the node's kubelet-serving CSR once \
             the node name is right.",
            Some("kubectl get csr --sort-by=.metadata.creationTimestamp\nkubectl certificate approve <csr-name>"),
        ))
        .fix(fix(
            FixTarget::UserData,
            "Make sure the node name equals the instance's private DNS name (see node-name-mismatch) and the \
             node IAM role is mapped (aws-auth ConfigMap or an EC2_LINUX access entry).",
            None,
        ))
        .fire()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::facts::Facts;
    use crate::occurrences::Occurrences;
    use crate::stamp::{parse_line, Clock};

    /// The verdict for serving-certificate lines at `times` (journal stamps) in a bundle without a
    /// kubelet start.
    fn verdict_without_start(times: &[&str]) -> Option<String> {
        let mut occ = Occurrences::default();
        for t in times {
            let line = format!("{t} ip-1 kubelet[1]: http: TLS handshake error from 192.0.2.10:1: no serving certificate available for the kubelet");
            let stamp = parse_line(line.as_bytes());
            occ.record(
                || crate::occurrences::Sample {
                    file: "kubelet/kubelet.log".into(),
                    line: 1,
                    excerpt: line.clone(),
                    stamp,
                },
                stamp,
            );
        }
        let occurrences = BTreeMap::from([("no-serving-cert", occ)]);
        let facts = Facts::default();
        let clock = Clock {
            reference: crate::stamp::parse_iso(b"2026-10-19T08:12:00Z"),
            boot: None,
        };
        let ctx = EvalCtx {
            occurrences: &occurrences,
            facts: &facts,
            clock: &clock,
        };
        match KubeletServingCertMissing.evaluate(&ctx) {
            Verdict::Fire(f) => Some(f.details["basis"].as_str().unwrap_or_default().to_string()),
            _ => None,
        }
    }

    #[test]
    fn without_a_kubelet_start_a_short_burst_is_silent_and_a_lasting_one_fires_as_persisted() {
        assert_eq!(
            verdict_without_start(&["May 20 12:33:17", "May 20 12:33:18", "May 20 12:33:19"]),
            None
        );
        assert_eq!(
            verdict_without_start(&["May 20 12:33:17", "May 20 12:35:02"]).as_deref(),
            Some("persisted")
        );
    }
}
