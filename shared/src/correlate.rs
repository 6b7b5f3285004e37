//! Correlation: which finding likely caused which, and the node's timeline.
//!
//! The links are the ones a support engineer follows on a failed scale-up (EBS IO stall at boot →
//! ipamd slow to start → CNI plugin cannot reach ipamd → pods without IPs). A link counts only when
//! both findings fired and the cause was seen no later than the effect's last occurrence.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::facts::{Facts, APISERVER_OK, IPAMD_START, KUBELET_START};
use crate::report::{Finding, RootCause, TimelineEvent, MAX_CAUSES_PER_FINDING};
use crate::stamp::Clock;

/// First and last occurrence of a finding.
type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// (cause, effect) links between rule ids.
pub const LINKS: &[(&str, &str)] = &[
    ("ebs-io-throttling", "ipamd-grpc-unavailable"),
    ("ebs-io-throttling", "pleg-unhealthy"),
    ("iptables-rules-flushed", "ipamd-apiserver-unreachable"),
    ("ipamd-apiserver-unreachable", "ipamd-grpc-unavailable"),
    ("ipamd-grpc-unavailable", "pod-ip-assignment-failed"),
    ("ec2-api-throttling", "pod-ip-assignment-failed"),
    ("subnet-ip-exhaustion", "pod-ip-assignment-failed"),
    ("eni-quota-exceeded", "pod-ip-assignment-failed"),
    ("max-pods-exceeds-ip-capacity", "pod-ip-assignment-failed"),
    ("node-name-mismatch", "kubelet-serving-cert-missing"),
    ("oom-kill", "pleg-unhealthy"),
    ("container-runtime-conflict", "iptables-rules-flushed"),
];

// A finding lists each of its causes once, so the report's bound must admit every link.
const _: () = assert!(LINKS.len() <= MAX_CAUSES_PER_FINDING);

/// A short phrase for a rule in a cause chain.
pub fn phrase(rule: &str) -> &str {
    match rule {
        "ebs-io-throttling" => "EBS IO stall",
        "iptables-rules-flushed" => "iptables flushed",
        "ipamd-apiserver-unreachable" => "ipamd could not reach the API server",
        "ipamd-grpc-unavailable" => "CNI plugin could not reach ipamd",
        "pod-ip-assignment-failed" => "pods without IPs",
        "ec2-api-throttling" => "EC2 API throttling",
        "subnet-ip-exhaustion" => "subnet out of IPs",
        "eni-quota-exceeded" => "ENI quota used up",
        "max-pods-exceeds-ip-capacity" => "max-pods above IP capacity",
        "node-name-mismatch" => "node name mismatch",
        "kubelet-serving-cert-missing" => "no kubelet serving certificate",
        "oom-kill" => "OOM kills",
        "pleg-unhealthy" => "PLEG unhealthy",
        "container-runtime-conflict" => "Docker steps on a containerd node",
        other => other,
    }
}

/// Links the findings, orders them (likely root causes first) and names the main chain.
pub fn correlate(findings: &mut [Finding]) -> Option<RootCause> {
    let at: BTreeMap<String, Span> = findings
        .iter()
        .map(|f| (f.rule.clone(), (f.first_seen, f.last_seen)))
        .collect();
    let plausible = |cause: &str, effect: &str| {
        let (Some(c), Some(e)) = (at.get(cause), at.get(effect)) else {
            return false;
        };
        match (c.0, e.1) {
            (Some(cause_first), Some(effect_last)) => cause_first <= effect_last,
            _ => true, // without times the link is judged on its own
        }
    };
    let links: Vec<(&str, &str)> = LINKS
        .iter()
        .copied()
        .filter(|(c, e)| plausible(c, e))
        .collect();
    for f in findings.iter_mut() {
        f.caused_by = links
            .iter()
            .filter(|(_, e)| *e == f.rule)
            .map(|(c, _)| c.to_string())
            .collect();
    }
    let has_effect = |rule: &str| links.iter().any(|(c, _)| *c == rule);
    for f in findings.iter_mut() {
        f.root_cause = f.caused_by.is_empty() && has_effect(&f.rule);
    }
    fn depth(rule: &str, links: &[(&str, &str)], seen: usize) -> usize {
        if seen > LINKS.len() {
            return 0;
        }
        links
            .iter()
            .filter(|(_, e)| *e == rule)
            .map(|(c, _)| 1 + depth(c, links, seen + 1))
            .max()
            .unwrap_or(0)
    }
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.rule == "bundle-incomplete",
                !f.root_cause,
                depth(&f.rule, &links, 0),
                std::cmp::Reverse(f.severity),
                f.first_seen.unwrap_or(DateTime::<Utc>::MAX_UTC),
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.rule.cmp(&b.rule))
    });
    let root = findings.iter().find(|f| f.root_cause)?;
    // Follow the longest path from the first root cause.
    fn longest<'a>(rule: &'a str, links: &[(&'a str, &'a str)], left: usize) -> Vec<&'a str> {
        let mut best = vec![rule];
        if left == 0 {
            return best;
        }
        for (_, e) in links.iter().filter(|(c, _)| *c == rule) {
            let mut path = vec![rule];
            path.extend(longest(e, links, left - 1));
            if path.len() > best.len() {
                best = path;
            }
        }
        best
    }
    let chain: Vec<String> = longest(&root.rule, &links, LINKS.len())
        .into_iter()
        .map(str::to_string)
        .collect();
    let summary = format!(
        "Likely chain: {}.",
        chain
            .iter()
            .map(|r| phrase(r))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    Some(RootCause { chain, summary })
}

/// The node's timeline: boot, component starts, each finding's first and last occurrence.
pub fn timeline(
    findings: &[Finding],
    facts: &Facts,
    clock: &Clock,
    collected: Option<DateTime<Utc>>,
) -> Vec<TimelineEvent> {
    let mut events = Vec::new();
    let mut push = |at: Option<DateTime<Utc>>, kind: &str, rule: Option<&str>, label: String| {
        if let Some(at) = at {
            events.push(TimelineEvent {
                at,
                since_boot_s: clock.since_boot(at),
                kind: kind.to_string(),
                rule: rule.map(str::to_string),
                label,
            });
        }
    };
    push(clock.boot, "boot", None, "node booted".into());
    for (marker, kind, what) in [
        (KUBELET_START, "kubelet-start", "kubelet started"),
        (IPAMD_START, "ipamd-start", "ipamd started"),
        (
            APISERVER_OK,
            "apiserver-reachable",
            "ipamd reached the API server",
        ),
    ] {
        if let Some(o) = facts.marker(marker) {
            let (first, last) = (o.first(clock), o.last(clock));
            let version = o
                .first_value
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            push(first, kind, None, format!("{what}{version}"));
            if o.count > 1 && last != first {
                push(
                    last,
                    kind,
                    None,
                    format!("{what} again (last of {} starts)", o.count),
                );
            }
        }
    }
    for f in findings {
        push(
            f.first_seen,
            "first-seen",
            Some(&f.rule),
            format!("first: {}", f.title),
        );
        if f.last_seen != f.first_seen {
            push(
                f.last_seen,
                "last-seen",
                Some(&f.rule),
                format!("last: {} ({} in all)", f.title, f.count),
            );
        }
    }
    push(collected, "collected", None, "logs collected".into());
    events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.kind.cmp(&b.kind)));
    events
}
