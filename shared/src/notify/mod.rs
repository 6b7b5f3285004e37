//! Chat notifications: one incident view, rendered for each target.
//!
//! The notifier keeps one [`IncidentView`] per incident (nodes, findings merged across nodes and
//! ranked root cause first, the plan, quota requests) and renders every message from it, so an
//! update always shows the whole current state. Renderers are pure and respect each platform's
//! limits by cutting evidence first, then findings, always pointing to the full report:
//!
//! | target | module | limits |
//! |---|---|---|
//! | Slack (bot or incoming webhook), Block Kit | [`slack`] | 50 blocks, 3,000 per section, 150 per header, 10 context elements, ~12k in all |
//! | Microsoft Teams Workflows, Adaptive Card 1.5 | [`teams`] | 28 KB, `Action.OpenUrl` only |
//! | SNS for Amazon Q Developer in chat | [`q`] | 256 KB, `version` 1.0, `source` custom |
//! | generic JSON webhook | [`webhook`] | the view itself |
//!
//! Log text is untrusted: no renderer lets it mention people (`<!channel>`), link, or format.

pub mod q;
pub mod slack;
pub mod teams;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::{Decision, Plan};
use crate::report::{Report, Severity};

/// Whether the incident is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// New events may still arrive.
    #[default]
    Open,
    /// No new events for the quiet period.
    Resolved,
}

/// One node of the incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// Its bundle was analysed.
    pub analyzed: bool,
    /// Its collection failed (the note's text is in [`IncidentView::notes`]).
    pub collection_failed: bool,
}

/// A finding merged across the incident's nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingView {
    /// Rule id.
    pub rule: String,
    /// Highest severity seen.
    pub severity: Severity,
    /// Title.
    pub title: String,
    /// Summary from the node that saw it most.
    pub summary: String,
    /// A likely root cause on some node.
    pub root_cause: bool,
    /// Node → occurrences.
    pub nodes: BTreeMap<String, u64>,
    /// One evidence line (log text: untrusted).
    pub evidence: Option<String>,
    /// The first fix: instruction and snippet.
    pub fix: Option<(String, Option<String>)>,
}

impl FindingView {
    /// Occurrences over every node.
    pub fn total(&self) -> u64 {
        self.nodes.values().sum()
    }
}

/// One action of the plan, as chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    /// Action id (what an approval names).
    pub id: String,
    /// Kind (`vpc-cni-addon`, …).
    pub kind: String,
    /// Mode on the ladder.
    pub mode: String,
    /// What the planner decided.
    pub decision: Decision,
    /// One sentence.
    pub summary: String,
    /// What happened since: `approved by …`, `done`, `failed: …`.
    pub state: Option<String>,
}

/// The plan as chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// Plan id.
    pub plan_id: String,
    /// Its actions.
    pub actions: Vec<ActionView>,
}

/// A Service Quotas request being followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaView {
    /// Quota name.
    pub quota: String,
    /// `PENDING`, `CASE_OPENED`, `APPROVED`, …
    pub status: String,
    /// Value asked for.
    pub desired: f64,
}

/// Everything a message shows, kept per incident by the notifier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    /// Incident id (Slack thread, Q `threadId`).
    pub incident_id: String,
    /// Open or resolved.
    pub status: Status,
    /// Account id.
    pub account: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Cluster.
    pub cluster: Option<String>,
    /// Nodes by instance id.
    pub nodes: BTreeMap<String, NodeView>,
    /// Findings, root causes first, then by severity and count.
    pub findings: Vec<FindingView>,
    /// The longest cause-and-effect chain seen (rule ids).
    pub chain: Vec<String>,
    /// The remediation plan.
    pub plan: Option<PlanView>,
    /// Quota requests being followed.
    pub quotas: Vec<QuotaView>,
    /// Notes such as `collection-failed: …` (free text, untrusted).
    pub notes: Vec<String>,
    /// The HTML report (a pre-signed URL).
    pub report_url: Option<String>,
    /// The AWS console page of the cluster.
    pub console_url: Option<String>,
    /// When the view last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A change worth a message (and a thread reply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// First message of the incident.
    Opened,
    /// A rule fired that had not.
    NewFinding {
        /// Rule id.
        rule: String,
    },
    /// A node joined the incident.
    NewNode {
        /// Instance id.
        node: String,
    },
    /// A finding got more severe.
    SeverityUp {
        /// Rule id.
        rule: String,
    },
    /// A plan was proposed, or one of its actions changed state.
    Plan {
        /// What changed, in words.
        what: String,
    },
    /// A collection failed.
    CollectionFailed {
        /// Instance id.
        node: String,
    },
    /// A quota request changed status.
    Quota {
        /// Quota and new status.
        what: String,
    },
    /// The incident went quiet.
    Resolved,
}

impl IncidentView {
    /// An empty view of an incident.
    pub fn new(incident_id: &str) -> IncidentView {
        IncidentView {
            incident_id: incident_id.to_string(),
            ..IncidentView::default()
        }
    }

    /// Folds one node's report in (replaying the same report changes nothing).
    pub fn add_report(&mut self, report: &Report) {
        let node = report
            .bundle
            .instance_id
            .clone()
            .unwrap_or_else(|| "(unknown node)".into());
        self.nodes.entry(node.clone()).or_default().analyzed = true;
        if self.region.is_none() {
            self.region = report.bundle.region.clone();
        }
        for f in &report.findings {
            let fv = match self.findings.iter_mut().find(|x| x.rule == f.rule) {
                Some(x) => x,
                None => {
                    self.findings.push(FindingView {
                        rule: f.rule.clone(),
                        severity: f.severity,
                        title: f.title.clone(),
                        summary: f.summary.clone(),
                        root_cause: false,
                        nodes: BTreeMap::new(),
                        evidence: None,
                        fix: None,
                    });
                    let last = self.findings.len() - 1;
                    &mut self.findings[last]
                }
            };
            let most = fv.nodes.values().copied().max().unwrap_or(0);
            if f.count.max(1) > most {
                fv.summary = f.summary.clone();
            }
            fv.nodes.insert(node.clone(), f.count.max(1));
            fv.severity = fv.severity.max(f.severity);
            fv.root_cause |= f.root_cause;
            if fv.evidence.is_none() {
                fv.evidence = f.evidence.first().map(|e| e.excerpt.clone());
            }
            if fv.fix.is_none() {
                fv.fix = f
                    .fix
                    .first()
                    .map(|x| (x.instruction.clone(), x.snippet.clone()));
            }
        }
        if let Some(rc) = &report.root_cause {
            if rc.chain.len() > self.chain.len() {
                self.chain = rc.chain.clone();
            }
        }
        self.rank();
    }

    /// Shows `plan` (its actions' later states are kept when the plan is the same).
    pub fn set_plan(&mut self, plan: &Plan) {
        let old: BTreeMap<String, Option<String>> = self
            .plan
            .iter()
            .flat_map(|p| p.actions.iter().map(|a| (a.id.clone(), a.state.clone())))
            .collect();
        self.plan = Some(PlanView {
            plan_id: plan.plan_id.clone(),
            actions: plan
                .actions
                .iter()
                .map(|a| ActionView {
                    id: a.id.clone(),
                    kind: a.kind.as_str().into(),
                    mode: a.mode.as_str().into(),
                    decision: a.decision,
                    summary: a.summary.clone(),
                    state: old.get(&a.id).cloned().flatten(),
                })
                .collect(),
        });
    }

    /// Root causes first, then severity, then occurrences; the rule id breaks ties.
    fn rank(&mut self) {
        self.findings.sort_by(|a, b| {
            b.root_cause
                .cmp(&a.root_cause)
                .then(b.severity.cmp(&a.severity))
                .then(b.total().cmp(&a.total()))
                .then(a.rule.cmp(&b.rule))
        });
    }

    /// The highest severity, when there are findings.
    pub fn severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Actions waiting for an approver.
    pub fn awaiting_approval(&self) -> impl Iterator<Item = &ActionView> {
        self.plan
            .iter()
            .flat_map(|p| p.actions.iter())
            .filter(|a| a.decision == Decision::AwaitApproval && a.state.is_none())
    }

    /// A digest of the stable fields only (rule ids, severities, node set, plan and quota states,
    /// status): never free text or timestamps, so the same state always gives the same digest.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update(s.as_bytes());
            h.update([0u8]);
        };
        put(match self.status {
            Status::Open => "open",
            Status::Resolved => "resolved",
        });
        let rules: BTreeSet<(String, Severity)> = self
            .findings
            .iter()
            .map(|f| (f.rule.clone(), f.severity))
            .collect();
        for (r, s) in &rules {
            put(r);
            put(s.as_str());
        }
        for (n, v) in &self.nodes {
            put(n);
            put(if v.collection_failed {
                "failed"
            } else if v.analyzed {
                "analyzed"
            } else {
                "pending"
            });
        }
        for a in self.plan.iter().flat_map(|p| p.actions.iter()) {
            put(&a.id);
            put(&format!("{:?}", a.decision));
            put(a.state.as_deref().unwrap_or(""));
        }
        for q in &self.quotas {
            put(&q.quota);
            put(&q.status);
        }
        let d = h.finalize();
        d.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// What changed from `prev` that deserves a message; empty when nothing real did.
    pub fn changes_since(&self, prev: Option<&IncidentView>) -> Vec<Change> {
        let Some(prev) = prev else {
            return vec![Change::Opened];
        };
        let mut out = Vec::new();
        for f in &self.findings {
            match prev.findings.iter().find(|p| p.rule == f.rule) {
                None => out.push(Change::NewFinding {
                    rule: f.rule.clone(),
                }),
                Some(p) if f.severity > p.severity => out.push(Change::SeverityUp {
                    rule: f.rule.clone(),
                }),
                _ => {}
            }
        }
        for (n, v) in &self.nodes {
            match prev.nodes.get(n) {
                None if v.collection_failed => {
                    out.push(Change::CollectionFailed { node: n.clone() })
                }
                None => out.push(Change::NewNode { node: n.clone() }),
                Some(p) if v.collection_failed && !p.collection_failed => {
                    out.push(Change::CollectionFailed { node: n.clone() })
                }
                _ => {}
            }
        }
        match (&prev.plan, &self.plan) {
            (None, Some(p)) => out.push(Change::Plan {
                what: format!("plan {} proposed ({} actions)", p.plan_id, p.actions.len()),
            }),
            (Some(old), Some(new)) => {
                for a in &new.actions {
                    let before = old.actions.iter().find(|o| o.id == a.id);
                    if before.map(|o| (&o.state, o.decision)) != Some((&a.state, a.decision)) {
                        out.push(Change::Plan {
                            what: format!("{}: {}", a.id, a.state.as_deref().unwrap_or("proposed")),
                        });
                    }
                }
            }
            _ => {}
        }
        for q in &self.quotas {
            if !prev
                .quotas
                .iter()
                .any(|p| p.quota == q.quota && p.status == q.status)
            {
                out.push(Change::Quota {
                    what: format!("{}: {}", q.quota, q.status),
                });
            }
        }
        if self.status == Status::Resolved && prev.status != Status::Resolved {
            out.push(Change::Resolved);
        }
        out
    }

    /// One line for notifications and mobile previews (plain text, no markup).
    pub fn headline(&self) -> String {
        let sev = self
            .severity()
            .map(|s| s.as_str().to_uppercase())
            .unwrap_or_else(|| "INFO".into());
        let state = match self.status {
            Status::Open => "",
            Status::Resolved => "resolved: ",
        };
        let where_ = self.cluster.as_deref().unwrap_or("EKS cluster");
        let chain = if self.chain.is_empty() {
            String::new()
        } else {
            format!(" Likely chain: {}.", self.chain.join(" → "))
        };
        plain(&format!(
            "[{sev}] {state}{where_}: {} finding{} on {} node{}.{chain}",
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" },
        ))
    }
}

/// Untrusted text made inert for any chat: control characters, bidi overrides and zero-width
/// characters removed (they can hide or reorder what a reader sees), lines joined.
pub fn plain(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => None,
            c => Some(c),
        })
        .collect()
}

/// At most `max` characters, ending with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{self, Settings};

    /// The shipped incident sample, analysed; then its findings spread over three nodes.
    pub(crate) fn sample_view() -> IncidentView {
        let report = sample_report();
        let mut v = IncidentView::new("111122223333-us-east-1:prod:scale-up:20261019T0500");
        v.account = Some("111122223333".into());
        v.cluster = Some("prod".into());
        v.report_url = Some("https://eks-remedy-bundles.s3.amazonaws.com/bundles/prod/report.html?X-Amz-Signature=abc&X-Amz-Expires=86400".into());
        v.console_url =
            Some("https://console.aws.amazon.com/eks/home?region=us-east-1#/clusters/prod".into());
        for node in [
            "i-0abc12345def67890",
            "i-0abc12345def67891",
            "i-0abc12345def67892",
        ] {
            let mut r = report.clone();
            r.bundle.instance_id = Some(node.into());
            v.add_report(&r);
        }
        v
    }

    pub(crate) fn sample_report() -> Report {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz");
        let analyzer = crate::Analyzer::new().unwrap();
        analyzer.analyze(&path, &crate::Options::default()).unwrap()
    }

    #[test]
    fn reports_merge_across_nodes_ranked_root_cause_first() {
        let v = sample_view();
        assert_eq!(v.nodes.len(), 3);
        assert!(v.findings[0].root_cause, "{:?}", v.findings[0]);
        assert!(v.findings.iter().all(|f| f.nodes.len() == 3));
        let again = {
            let mut w = v.clone();
            w.add_report(&sample_report());
            w
        };
        assert_eq!(
            again.fingerprint(),
            v.fingerprint(),
            "a replayed report changes nothing"
        );
        assert!(again.changes_since(Some(&v)).is_empty());
    }

    #[test]
    fn changes_are_only_real_ones() {
        let v = sample_view();
        assert_eq!(v.changes_since(None), vec![Change::Opened]);
        let mut w = v.clone();
        w.updated_at = DateTime::from_timestamp(1_800_000_000, 0);
        w.notes.push("free text never counts".into());
        assert_eq!(w.fingerprint(), v.fingerprint());
        assert!(w.changes_since(Some(&v)).is_empty());
        w.nodes
            .entry("i-0new".into())
            .or_default()
            .collection_failed = true;
        assert_eq!(
            w.changes_since(Some(&v)),
            vec![Change::CollectionFailed {
                node: "i-0new".into()
            }]
        );
        let mut p = v.clone();
        p.set_plan(&plan::plan_report(&sample_report(), &Settings::default()));
        assert!(matches!(
            p.changes_since(Some(&v))[..],
            [Change::Plan { .. }]
        ));
        let mut r = p.clone();
        r.status = Status::Resolved;
        assert_eq!(r.changes_since(Some(&p)), vec![Change::Resolved]);
    }

    #[test]
    fn plain_text_cannot_hide_or_reorder() {
        assert_eq!(plain("a\u{1b}[31mb\u{202e}c\u{200b}d\ne"), "a[31mbcd e");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
