//! Chat notifications: one incident view, rendered for each target.
//!
//! The notifier keeps one [`IncidentView`] per incident (nodes, findings merged across nodes and
//! ranked root cause first, the plan and its actions' statuses, quota requests), built only by
//! folding the pipeline's bus events ([`event::NotifyEvent`], [`IncidentView::apply`]): replaying
//! or reordering events gives the same view. [`noise`] decides what each target gets now (post,
//! update, thread reply or nothing), applies mutes and per-channel rate limits, and resolves quiet
//! incidents. Every message is rendered from the view, so an update always shows the whole current
//! state. Renderers are pure and respect each platform's limits by cutting evidence first, then
//! text, then findings, always pointing to the full report:
//!
//! | target | module | limits |
//! |---|---|---|
//! | Slack (bot or incoming webhook), Block Kit | [`slack`] | 50 blocks, 3,000 per section, 150 per header, 10 context elements, ~12k in all |
//! | Microsoft Teams Workflows, Adaptive Card 1.5 | [`teams`] | 28 KB, `Action.OpenUrl` only |
//! | SNS for Amazon Q Developer in chat | [`q`] | 256 KB, `version` 1.0, `source` custom |
//! | generic JSON webhook | [`webhook`] | the view itself |
//!
//! Log text is untrusted: no renderer lets it mention people (`<!channel>`), link, or format.

pub mod event;
mod fold;
pub mod noise;
pub mod q;
pub mod slack;
pub mod teams;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use event::NotifyEvent;

use crate::plan::{Decision, Plan};
use crate::report::{Report, Severity};
use event::FindingsDetail;

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

impl Status {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }
}

/// One finding of one node, as its latest report gave it: only what is counted and compared (the
/// text is kept once per rule, in [`FindingView`], so the view stays small with many nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFinding {
    /// Severity.
    pub severity: Severity,
    /// Occurrences on the node.
    pub count: u64,
    /// A likely root cause on the node.
    pub root_cause: bool,
}

/// Which node's report a finding's text comes from: the one that saw it most (the lowest
/// instance id on a tie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSource {
    /// Instance id.
    pub node: String,
    /// Its count of the finding when the text was taken.
    pub count: u64,
}

/// One node of the incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// Its bundle was analysed.
    pub analyzed: bool,
    /// Its collection failed and no bundle of it was analysed (the reason is in
    /// [`IncidentView::notes`]).
    pub collection_failed: bool,
    /// Time of the report shown (a report older than this is a late event and ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// Its findings by rule, from its latest report.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub findings: BTreeMap<String, NodeFinding>,
    /// Its likely cause-and-effect chain (rule ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Bucket and key of its `report.html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_html: Option<(String, String)>,
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
    /// Where title, summary, evidence and fix come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<TextSource>,
}

impl FindingView {
    /// Occurrences over every node.
    pub fn total(&self) -> u64 {
        self.nodes.values().sum()
    }
}

/// Where one planned action stands.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    /// As the planner decided it; nothing happened since.
    #[default]
    Proposed,
    /// An approver said yes.
    Approved,
    /// An approver said no.
    Rejected,
    /// Being executed.
    Running,
    /// A guard held it when it was about to run.
    Held,
    /// Executed.
    Done,
    /// Executing failed.
    Failed,
}

impl ActionStatus {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Proposed => "proposed",
            ActionStatus::Approved => "approved",
            ActionStatus::Rejected => "rejected",
            ActionStatus::Running => "running",
            ActionStatus::Held => "held",
            ActionStatus::Done => "done",
            ActionStatus::Failed => "failed",
        }
    }
}

/// One action of the plan, as chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    /// Position in the plan: what an approval names (`--action N`, the button's value).
    pub index: usize,
    /// Action id.
    pub id: String,
    /// Kind (`vpc-cni-addon`, …).
    pub kind: String,
    /// Mode on the ladder.
    pub mode: String,
    /// What the planner decided.
    pub decision: Decision,
    /// One sentence.
    pub summary: String,
    /// Where it stands.
    pub status: ActionStatus,
    /// Who approved or rejected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The audit record's details (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ActionView {
    /// Where it stands, in words: the planner's decision until something happened to it.
    pub fn state_words(&self) -> &'static str {
        match (self.status, self.decision) {
            (ActionStatus::Proposed, Decision::AwaitApproval) => "waiting for approval",
            (ActionStatus::Proposed, Decision::Execute) => "will run",
            (ActionStatus::Proposed, Decision::RecordOnly) => "recorded only",
            (ActionStatus::Proposed, Decision::Held) => "held by a guard",
            (ActionStatus::Approved, _) => "approved",
            (ActionStatus::Rejected, _) => "rejected",
            (ActionStatus::Running, _) => "running",
            (ActionStatus::Held, _) => "held by a guard",
            (ActionStatus::Done, _) => "done",
            (ActionStatus::Failed, _) => "failed",
        }
    }
}

/// The plan as chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// Plan id.
    pub plan_id: String,
    /// Its actions.
    pub actions: Vec<ActionView>,
}

/// The latest approval or audit record of one action (`<plan-id>#<index>` in
/// [`IncidentView::action_records`]); kept apart from the plan so a record that overtakes its plan
/// is not lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// Status it sets.
    pub status: ActionStatus,
    /// Approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// A Service Quotas request being followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaView {
    /// Quota code (the key).
    pub quota_code: String,
    /// Quota name.
    pub quota: String,
    /// `PENDING`, `CASE_OPENED`, `APPROVED`, …
    pub status: String,
    /// Value asked for.
    pub desired: f64,
    /// When the status was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// Everything a message shows, kept per incident by the notifier; built only by
/// [`IncidentView::apply`] (the fold of the bus events), so replaying or reordering events gives
/// the same view.
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
    /// Nodes by instance id (at most 64: the ones that say most, see [`IncidentView::apply`]).
    pub nodes: BTreeMap<String, NodeView>,
    /// Nodes of the incident left out of [`IncidentView::nodes`] for size (at most 256 ids are
    /// remembered; their reports hold their findings).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub nodes_omitted: BTreeSet<String>,
    /// Findings merged across nodes: root causes first, then by severity and count.
    pub findings: Vec<FindingView>,
    /// The longest cause-and-effect chain seen (rule ids).
    pub chain: Vec<String>,
    /// The remediation plan, with each action's status.
    pub plan: Option<PlanView>,
    /// Quota requests being followed, by code.
    pub quotas: Vec<QuotaView>,
    /// Notes such as `collection failed on i-…: …` (free text, untrusted).
    pub notes: Vec<String>,
    /// The HTML report (a pre-signed URL the notifier sets before rendering).
    pub report_url: Option<String>,
    /// The AWS console page of the cluster.
    pub console_url: Option<String>,
    /// The latest time of any event applied.
    pub updated_at: Option<DateTime<Utc>>,
    /// The latest time of any event other than a resolve (the quiet period counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
    /// When the incident was last resolved; a later event opens it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Time of the plan shown (an older plan event is ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_at: Option<DateTime<Utc>>,
    /// The latest approval or audit record per action, keyed `<plan-id>#<index>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub action_records: BTreeMap<String, ActionRecord>,
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
    /// A plan was proposed, or one of its actions changed status.
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
    /// Events arrived after the incident was resolved.
    Reopened,
}

impl Change {
    /// One line for a thread reply (may hold ids from the bus: escape before placing it).
    pub fn describe(&self) -> String {
        match self {
            Change::Opened => "incident opened".into(),
            Change::NewFinding { rule } => format!("new finding {rule}"),
            Change::NewNode { node } => format!("node {node} analysed"),
            Change::SeverityUp { rule } => format!("{rule} is more severe"),
            Change::Plan { what } => format!("plan: {what}"),
            Change::CollectionFailed { node } => format!("collection failed on {node}"),
            Change::Quota { what } => format!("quota request {what}"),
            Change::Resolved => "resolved: no new events for the quiet period".into(),
            Change::Reopened => "reopened: new events after it was resolved".into(),
        }
    }
}

impl IncidentView {
    /// An empty view of an incident.
    pub fn new(incident_id: &str) -> IncidentView {
        IncidentView {
            incident_id: incident_id.to_string(),
            ..IncidentView::default()
        }
    }

    /// Folds one node's report in, as a findings event without a time would.
    pub fn add_report(&mut self, report: &Report) {
        let detail = FindingsDetail::from_report(report, &self.incident_id);
        self.apply(&NotifyEvent::Findings(detail));
    }

    /// Shows `plan`, as a plan event without a time would.
    pub fn set_plan(&mut self, plan: &Plan) {
        self.apply(&NotifyEvent::Plan(event::PlanDetail {
            incident_id: self.incident_id.clone(),
            plan: plan.clone(),
            at: None,
        }));
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
            .filter(|a| a.decision == Decision::AwaitApproval && a.status == ActionStatus::Proposed)
    }

    /// Bucket and key of the report to link: the node with a likely root cause and the most
    /// findings (the lowest instance id on a tie).
    pub fn report_key(&self) -> Option<&(String, String)> {
        self.nodes
            .values()
            .filter(|n| n.report_html.is_some())
            .max_by_key(|n| {
                (
                    n.findings.values().any(|f| f.root_cause),
                    n.findings.len(),
                    std::cmp::Reverse(n.report_html.as_ref()),
                )
            })
            .and_then(|n| n.report_html.as_ref())
    }

    /// A digest of the stable fields only (status, rule ids and severities, the node set and each
    /// node's state, the plan id and each action's decision and status, quota statuses): never free
    /// text or timestamps, so the same state always gives the same digest. A different digest is a
    /// real change.
    pub fn fingerprint(&self) -> String {
        let mut h = Digest::new();
        h.put(self.status.as_str());
        let rules: BTreeSet<(&str, Severity)> = self
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.severity))
            .collect();
        for (r, s) in rules {
            h.put(r);
            h.put(s.as_str());
        }
        h.put("nodes");
        for (n, v) in &self.nodes {
            h.put(n);
            h.put(node_state(v));
        }
        self.put_plan_and_quotas(&mut h);
        h.finish()
    }

    /// A digest of the incident's state (status, highest severity, plan and action statuses,
    /// quota statuses): what targets that cannot edit their message post again for.
    pub fn state_key(&self) -> String {
        let mut h = Digest::new();
        h.put(self.status.as_str());
        h.put(self.severity().map_or("none", Severity::as_str));
        self.put_plan_and_quotas(&mut h);
        h.finish()
    }

    fn put_plan_and_quotas(&self, h: &mut Digest) {
        h.put("plan");
        if let Some(p) = &self.plan {
            h.put(&p.plan_id);
            for a in &p.actions {
                h.put(&a.id);
                h.put(decision_str(a.decision));
                h.put(a.status.as_str());
            }
        }
        h.put("quotas");
        for q in &self.quotas {
            h.put(&q.quota_code);
            h.put(&q.status);
        }
    }

    /// What changed from `prev` that deserves a message; empty when nothing real did.
    pub fn changes_since(&self, prev: Option<&IncidentView>) -> Vec<Change> {
        let Some(prev) = prev else {
            return vec![Change::Opened];
        };
        let mut out = Vec::new();
        if self.status == Status::Open && prev.status == Status::Resolved {
            out.push(Change::Reopened);
        }
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
            let before = prev.nodes.get(n);
            if v.collection_failed && !before.is_some_and(|p| p.collection_failed) {
                out.push(Change::CollectionFailed { node: n.clone() });
            } else if v.analyzed && !before.is_some_and(|p| p.analyzed) {
                out.push(Change::NewNode { node: n.clone() });
            }
        }
        match (&prev.plan, &self.plan) {
            (old, Some(p)) if old.as_ref().map(|o| &o.plan_id) != Some(&p.plan_id) => {
                out.push(Change::Plan {
                    what: format!("{} proposed ({} actions)", p.plan_id, p.actions.len()),
                })
            }
            (Some(old), Some(new)) => {
                for a in &new.actions {
                    let before = old.actions.iter().find(|o| o.index == a.index);
                    if before.map(|o| (o.status, o.decision)) != Some((a.status, a.decision)) {
                        out.push(Change::Plan {
                            what: format!("action {} ({}) {}", a.index, a.kind, a.status.as_str()),
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
                .any(|p| p.quota_code == q.quota_code && p.status == q.status)
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
        let failed = self.nodes.values().filter(|n| n.collection_failed).count();
        let failed = if failed > 0 {
            format!(" {failed} collection{} failed.", plural(failed))
        } else {
            String::new()
        };
        let omitted = match self.nodes_omitted.len() {
            0 => String::new(),
            n if n >= fold::MAX_OMITTED_IDS => format!(" (and at least {n} more not shown)"),
            n => format!(" (and {n} more not shown)"),
        };
        plain(&format!(
            "[{sev}] {state}{where_}: {} finding{} on {} node{}{omitted}.{failed}{chain}",
            self.findings.len(),
            plural(self.findings.len()),
            self.nodes.len(),
            plural(self.nodes.len()),
        ))
    }
}

/// `s` when it is a plain AWS name (account id, region, cluster: letters, digits, `-`, `_`), safe
/// inside a link or an ARN.
pub(crate) fn aws_name(s: Option<&str>) -> Option<&str> {
    s.filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// `s` when `n` is not one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn node_state(v: &NodeView) -> &'static str {
    if v.collection_failed {
        "failed"
    } else if v.analyzed {
        "analyzed"
    } else {
        "pending"
    }
}

fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Execute => "execute",
        Decision::AwaitApproval => "await-approval",
        Decision::RecordOnly => "record-only",
        Decision::Held => "held",
    }
}

/// SHA-256 over NUL-separated fields, shortened to 128 bits of hex.
struct Digest(Sha256);

impl Digest {
    fn new() -> Digest {
        Digest(Sha256::new())
    }

    fn put(&mut self, s: &str) {
        sha2::Digest::update(&mut self.0, s.as_bytes());
        sha2::Digest::update(&mut self.0, [0u8]);
    }

    fn finish(self) -> String {
        let d = sha2::Digest::finalize(self.0);
        d.iter().take(16).map(|b| format!("{b:02x}")).collect()
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

    /// One change to a view, for tables of them.
    type Edit = dyn Fn(&mut IncidentView);

    #[test]
    fn fingerprint_sees_stable_fields_only() {
        let mut base = sample_view();
        base.set_plan(&plan::plan_report(&sample_report(), &Settings::default()));
        base.quotas.push(QuotaView {
            quota_code: "L-1216C47A".into(),
            quota: "Running On-Demand Standard instances".into(),
            status: "PENDING".into(),
            desired: 256.0,
            at: None,
        });
        let fp = base.fingerprint();
        let same: [(&str, &Edit); 9] = [
            ("text", &|v| {
                let f = &mut v.findings[0];
                f.title = "other".into();
                f.summary = "other".into();
                f.evidence = None;
                f.fix = None;
            }),
            ("counts", &|v| {
                for c in v.findings[0].nodes.values_mut() {
                    *c += 100;
                }
            }),
            ("notes", &|v| v.notes.push("free text".into())),
            ("times", &|v| {
                v.updated_at = DateTime::from_timestamp(1, 0);
                v.last_event_at = v.updated_at;
            }),
            ("links", &|v| {
                v.report_url = Some("https://x".into());
                v.console_url = None;
            }),
            ("chain", &|v| v.chain.clear()),
            ("order", &|v| v.findings.reverse()),
            ("who", &|v| {
                if let Some(p) = &mut v.plan {
                    p.actions[0].by = Some("U1".into());
                    p.actions[0].detail = Some("free text".into());
                }
            }),
            ("quota text", &|v| {
                v.quotas[0].quota = "renamed".into();
                v.quotas[0].desired = 512.0;
            }),
        ];
        for (what, edit) in same {
            let mut v = base.clone();
            edit(&mut v);
            assert_eq!(v.fingerprint(), fp, "{what} changed the fingerprint");
        }
        let different: [(&str, &Edit); 8] = [
            ("rule", &|v| v.findings[0].rule = "other-rule".into()),
            ("severity", &|v| v.findings[0].severity = Severity::Critical),
            ("node", &|v| {
                v.nodes.insert("i-0new".into(), NodeView::default());
            }),
            ("node state", &|v| {
                if let Some(n) = v.nodes.values_mut().next() {
                    n.collection_failed = true;
                }
            }),
            ("plan", &|v| {
                if let Some(p) = &mut v.plan {
                    p.plan_id = "plan-other".into();
                }
            }),
            ("action status", &|v| {
                if let Some(p) = &mut v.plan {
                    p.actions[0].status = ActionStatus::Done;
                }
            }),
            ("quota status", &|v| v.quotas[0].status = "APPROVED".into()),
            ("status", &|v| v.status = Status::Resolved),
        ];
        for (what, edit) in different {
            let mut v = base.clone();
            edit(&mut v);
            assert_ne!(v.fingerprint(), fp, "{what} did not change the fingerprint");
        }
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
