//! The view as a fold of bus events.
//!
//! Each event writes only its own slot (a node's findings, the plan, one action's record, one
//! quota), guarded by the slot's time, and everything shown is recomputed from the slots. So the
//! same events give the same view in any order and any number of times, and a late event never
//! overwrites a newer one.
//!
//! Every slot is bounded (nodes, findings per node, plan actions, records, quotas, notes, and the
//! length of each text and id), and a last guard ([`VIEW_BYTES`]) sheds text, then the nodes that
//! say least, so the stored item stays under DynamoDB's 400 KB whatever the bus carries. Past the
//! bounds the fold is approximate (counts cover the nodes kept) but still deterministic.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::event::{AuditOutcome, FindingEntry, FindingsDetail, NotifyEvent, Verdict};
use super::{
    aws_name, cut, ActionRecord, ActionStatus, ActionView, FindingView, IncidentView, NodeFinding,
    NodeView, PlanView, QuotaView, Status, TextSource,
};

/// Most nodes kept: above the collection budget's maximum (50 per incident), so only a hostile
/// or broken producer reaches it.
const MAX_NODES: usize = 64;
/// Most ids of nodes left out remembered (so a replay of one is not counted twice).
pub(super) const MAX_OMITTED_IDS: usize = 256;
/// Most findings kept per node (the analyzer has fewer rules).
const MAX_NODE_FINDINGS: usize = 32;
/// Longest rule id, instance id, plan id or quota code kept (real ones are under 40).
const ID_CHARS: usize = 64;
/// Longest cause-and-effect chain kept.
const MAX_CHAIN: usize = 16;
/// Longest S3 key linked (S3's own limit: a longer one names no object, so it is dropped).
const KEY_BYTES: usize = 1024;
/// Most plan actions shown (their records too); the plan itself has the rest.
const MAX_PLAN_ACTIONS: usize = 32;
/// Most action records kept (across plans).
const MAX_RECORDS: usize = 2 * MAX_PLAN_ACTIONS;
/// Most quota requests followed.
const MAX_QUOTAS: usize = 20;
/// Longest action id, approver or audit detail kept.
const ACTION_TEXT_CHARS: usize = 200;
/// Largest view, as JSON: what the notifier stores is the view and each target's outbox record
/// (at most 100 small changes each), and DynamoDB refuses items over 400 KB.
pub const VIEW_BYTES: usize = 300 * 1024;
/// Most notes kept.
const MAX_NOTES: usize = 20;
/// Longest note.
const NOTE_CHARS: usize = 300;
/// Longest title.
const TITLE_CHARS: usize = 300;
/// Longest summary, fix instruction, snippet or evidence line kept (the event already cuts
/// summaries to 1,000); kept once per rule, so the view stays far below DynamoDB's 400 KB item
/// limit whatever the number of nodes.
const TEXT_CHARS: usize = 1000;

impl IncidentView {
    /// Folds one bus event in. Idempotent: applying an event again changes nothing; events of
    /// another incident are ignored; a late event (older than what its slot shows) is ignored.
    pub fn apply(&mut self, event: &NotifyEvent) {
        if event.incident_id() != self.incident_id {
            return;
        }

        let at = event.at();
        self.updated_at = self.updated_at.max(at);
        if !matches!(event, NotifyEvent::Resolved(_)) {
            self.last_event_at = self.last_event_at.max(at);
        }
        match event {
            NotifyEvent::Findings(d) => self.apply_findings(d),
            NotifyEvent::CollectionFailed(d) => {
                let id = cut(&d.instance_id, ID_CHARS);
                if !self.admit(&id, &NodeView::failed()) {
                    return self.rebuild();
                }
                let node = self.nodes.entry(id).or_default();
                // A bundle analysed (before or after) outranks a failed attempt.
                node.collection_failed = !node.analyzed;
                let reason = if d.reason.is_empty() {
                    "no reason given"
                } else {
                    &d.reason
                };
                self.note(format!("collection failed on {}: {reason}", d.instance_id));
            }
            NotifyEvent::Plan(d) => {
                if d.at >= self.plan_at || self.plan.is_none() {
                    self.plan_at = d.at;
                    self.plan = Some(PlanView {
                        plan_id: cut(&d.plan.plan_id, ID_CHARS),
                        actions: d
                            .plan
                            .actions
                            .iter()
                            .take(MAX_PLAN_ACTIONS)
                            .enumerate()
                            .map(|(index, a)| ActionView {
                                index,
                                id: cut(&a.id, ACTION_TEXT_CHARS),
                                kind: a.kind.as_str().into(),
                                mode: a.mode.as_str().into(),
                                decision: a.decision,
                                summary: cut(&a.summary, TEXT_CHARS),
                                status: ActionStatus::Proposed,
                                by: None,
                                detail: None,
                            })
                            .collect(),
                    });
                }
            }
            NotifyEvent::Approval(d) => self.record(
                &d.plan_id,
                d.action,
                ActionRecord {
                    status: match d.verdict {
                        Verdict::Approved => ActionStatus::Approved,
                        Verdict::Rejected => ActionStatus::Rejected,
                    },
                    by: Some(cut(&d.by, ACTION_TEXT_CHARS)),
                    detail: None,
                    at: d.at,
                },
            ),
            NotifyEvent::Audit(d) => self.record(
                &d.plan_id,
                d.action,
                ActionRecord {
                    status: match d.outcome {
                        AuditOutcome::Started => ActionStatus::Running,
                        AuditOutcome::Done => ActionStatus::Done,
                        AuditOutcome::Failed => ActionStatus::Failed,
                        AuditOutcome::Held => ActionStatus::Held,
                    },
                    by: None,
                    detail: d.detail.as_deref().map(|s| cut(s, ACTION_TEXT_CHARS)),
                    at: d.at,
                },
            ),
            NotifyEvent::QuotaStatus(d) => {
                let code = cut(&d.quota_code, ID_CHARS);
                let q = QuotaView {
                    quota_code: code.clone(),
                    quota: cut(
                        if d.quota_name.is_empty() {
                            &d.quota_code
                        } else {
                            &d.quota_name
                        },
                        200,
                    ),
                    status: cut(&d.status, 40),
                    desired: d.desired,
                    at: d.at,
                };
                let full = self.quotas.len() >= MAX_QUOTAS;
                match self.quotas.iter_mut().find(|x| x.quota_code == code) {
                    Some(old) if (d.at, &q.status) >= (old.at, &old.status) => *old = q,
                    Some(_) => {}
                    None if full => {}
                    None => {
                        self.quotas.push(q);
                        self.quotas.sort_by(|a, b| a.quota_code.cmp(&b.quota_code));
                    }
                }
            }
            NotifyEvent::Resolved(d) => {
                // Without a time, the check resolves as of the latest event it saw.
                let when =
                    d.at.or(self.last_event_at)
                        .or(Some(DateTime::<Utc>::MIN_UTC));
                self.resolved_at = self.resolved_at.max(when);
            }
        }
        self.rebuild();
    }

    fn apply_findings(&mut self, d: &FindingsDetail) {
        if self.account.is_none() {
            self.account.clone_from(&d.account);
        }
        if self.region.is_none() {
            self.region.clone_from(&d.region);
        }
        if self.cluster.is_none() {
            self.cluster.clone_from(&d.cluster);
        }
        if d.findings_omitted > 0 {
            self.note(format!(
                "{}: {} more finding{} only in its report",
                d.instance_id,
                d.findings_omitted,
                super::plural(d.findings_omitted)
            ));
        }
        let id = cut(&d.instance_id, ID_CHARS);
        let entries = &d.findings[..d.findings.len().min(MAX_NODE_FINDINGS)];
        let candidate = NodeView {
            analyzed: true,
            findings: node_findings(entries),
            ..NodeView::default()
        };
        if !self.admit(&id, &candidate) {
            return;
        }
        let node = self.nodes.entry(id.clone()).or_default();
        if node.analyzed && d.at < node.at {
            return;
        }
        node.analyzed = true;
        node.collection_failed = false;
        node.at = d.at;
        node.chain = d
            .root_cause
            .iter()
            .flat_map(|rc| rc.chain.iter().take(MAX_CHAIN))
            .map(|r| cut(r, ID_CHARS))
            .collect();
        // A bucket name is at most 63 characters; a cut key would name another object.
        node.report_html = match (&d.bucket, &d.report_html) {
            (Some(b), Some(k)) if b.len() <= 63 && k.len() <= KEY_BYTES => {
                Some((b.clone(), k.clone()))
            }
            _ => None,
        };
        node.findings = candidate.findings;
        for f in entries {
            self.take_text(&id, f);
        }
    }

    /// Keeps `f`'s text for its rule when this node saw it most (the lowest instance id on a
    /// tie), or already gave the text (its newer report refreshes it).
    fn take_text(&mut self, node: &str, f: &FindingEntry) {
        let count = f.count.max(1);
        let rule = cut(&f.rule, ID_CHARS);
        let text = FindingView {
            rule: rule.clone(),
            severity: f.severity,
            title: cut(&f.title, TITLE_CHARS),
            summary: cut(&f.summary, TEXT_CHARS),
            root_cause: f.root_cause,
            nodes: BTreeMap::new(),
            evidence: f.evidence.as_deref().map(|e| cut(e, TEXT_CHARS)),
            fix: f.fix.as_ref().map(|x| {
                (
                    cut(&x.instruction, TEXT_CHARS),
                    x.snippet.as_deref().map(|s| cut(s, TEXT_CHARS)),
                )
            }),
            source: Some(TextSource {
                node: node.to_string(),
                count,
            }),
        };
        let Some(old) = self.findings.iter_mut().find(|x| x.rule == rule) else {
            self.findings.push(text);
            return;
        };
        let better = match &old.source {
            None => true,
            Some(src) => {
                src.node == node
                    || (count, std::cmp::Reverse(node)) > (src.count, std::cmp::Reverse(&*src.node))
            }
        };
        if better {
            // A report without evidence or fix (the bare bus event) does not erase them.
            let evidence = text.evidence.clone().or_else(|| old.evidence.take());
            let fix = text.fix.clone().or_else(|| old.fix.take());
            *old = FindingView {
                evidence,
                fix,
                ..text
            };
        } else {
            if old.evidence.is_none() {
                old.evidence = text.evidence;
            }
            if old.fix.is_none() {
                old.fix = text.fix;
            }
        }
    }

    /// Keeps `record` for action `index` of `plan_id` unless a later (or, at the same time, a
    /// further along) record is already there.
    fn record(&mut self, plan_id: &str, index: usize, mut record: ActionRecord) {
        if index >= MAX_PLAN_ACTIONS {
            return;
        }
        let key = format!("{}#{index}", cut(plan_id, ID_CHARS));
        let full = self.action_records.len() >= MAX_RECORDS;
        match self.action_records.get_mut(&key) {
            // Older: only who decided is kept, whichever of the two arrived first.
            Some(old) if (record.at, record.status) < (old.at, old.status) => {
                if old.by.is_none() {
                    old.by = record.by;
                }
            }
            Some(old) => {
                if record.by.is_none() {
                    record.by = old.by.take();
                }
                *old = record;
            }
            None if full => {}
            None => {
                self.action_records.insert(key, record);
            }
        }
    }

    fn note(&mut self, note: String) {
        let note = cut(&super::plain(&note), NOTE_CHARS);
        // Sorted, so the order events arrive in does not show.
        if let Err(at) = self.notes.binary_search(&note) {
            if self.notes.len() < MAX_NOTES {
                self.notes.insert(at, note);
            }
        }
    }

    /// Whether node `id`, looking like `candidate`, has a place among the kept nodes: a node
    /// already kept always has; while there is room every node has; then a node that says more
    /// than the least telling node kept takes its place (which joins the omitted). So, whatever
    /// the order, the nodes kept are the ones that say most.
    fn admit(&mut self, id: &str, candidate: &NodeView) -> bool {
        if self.nodes.contains_key(id) || self.nodes.len() < MAX_NODES {
            self.nodes_omitted.remove(id);
            return true;
        }
        let least = self
            .nodes
            .iter()
            .min_by_key(|(n, v)| rank(n, v))
            .map(|(n, _)| n.clone());
        match least {
            Some(least) if rank(id, candidate) > rank(&least, &self.nodes[&least]) => {
                self.omit(&least);
                self.nodes_omitted.remove(id);
                true
            }
            _ => {
                self.remember_omitted(id);
                false
            }
        }
    }

    /// Leaves node `id` out.
    fn omit(&mut self, id: &str) {
        self.nodes.remove(id);
        self.remember_omitted(id);
    }

    fn remember_omitted(&mut self, id: &str) {
        if self.nodes_omitted.len() < MAX_OMITTED_IDS {
            self.nodes_omitted.insert(id.to_string());
        }
    }

    /// Recomputes everything shown from the slots, then keeps the whole within [`VIEW_BYTES`].
    fn rebuild(&mut self) {
        self.recount();
        self.fit();
    }

    /// Sheds what says least until the view fits [`VIEW_BYTES`]: first the length of every
    /// text (halved each round, down to 100 characters), then nodes, least telling first. Each
    /// step depends only on the view, so a replayed event sheds nothing more.
    fn fit(&mut self) {
        let mut chars = TEXT_CHARS;
        while serde_json::to_vec(self).map_or(0, |v| v.len()) > VIEW_BYTES {
            if chars > 100 {
                chars /= 2;
                self.cut_texts(chars);
            } else if self.nodes.len() > 1 {
                let least = self
                    .nodes
                    .iter()
                    .min_by_key(|(n, v)| rank(n, v))
                    .map(|(n, _)| n.clone());
                if let Some(n) = least {
                    self.omit(&n);
                }
                self.recount();
            } else {
                break;
            }
        }
    }

    /// Cuts every free text of the view to `chars`.
    fn cut_texts(&mut self, chars: usize) {
        let short = |s: &mut String| *s = cut(s, chars);
        for f in &mut self.findings {
            short(&mut f.title);
            short(&mut f.summary);
            f.evidence.iter_mut().for_each(short);
            if let Some((i, snippet)) = &mut f.fix {
                short(i);
                snippet.iter_mut().for_each(short);
            }
        }
        for a in self.plan.iter_mut().flat_map(|p| p.actions.iter_mut()) {
            short(&mut a.summary);
        }
        for r in self.action_records.values_mut() {
            r.detail.iter_mut().for_each(short);
            r.by.iter_mut().for_each(short);
        }
        for q in &mut self.quotas {
            short(&mut q.quota);
        }
        self.notes.iter_mut().for_each(short);
        // Records feed the actions: show them cut too.
        self.recount();
    }

    /// Recomputes everything shown from the slots.
    fn recount(&mut self) {
        // Counts, severity and root cause from every node's latest report; a rule no node shows
        // any more leaves.
        let mut findings = std::mem::take(&mut self.findings);
        for f in &mut findings {
            f.nodes.clear();
            f.root_cause = false;
            let mut severity = None;
            for (node, v) in &self.nodes {
                if let Some(nf) = v.findings.get(&f.rule) {
                    f.nodes.insert(node.clone(), nf.count);
                    f.root_cause |= nf.root_cause;
                    severity = severity.max(Some(nf.severity));
                }
            }
            if let Some(s) = severity {
                f.severity = s;
            }
        }
        findings.retain(|f| !f.nodes.is_empty());
        // Root causes first, then severity, then occurrences; the rule id breaks ties.
        findings.sort_by(|a, b| {
            b.root_cause
                .cmp(&a.root_cause)
                .then(b.severity.cmp(&a.severity))
                .then(b.total().cmp(&a.total()))
                .then(a.rule.cmp(&b.rule))
        });
        self.findings = findings;
        self.chain = self
            .nodes
            .values()
            .map(|n| &n.chain)
            .fold(
                &Vec::new(),
                |best, c| if c.len() > best.len() { c } else { best },
            )
            .clone();
        if let Some(p) = &mut self.plan {
            for a in &mut p.actions {
                let rec = self
                    .action_records
                    .get(&format!("{}#{}", p.plan_id, a.index));
                a.status = rec.map_or(ActionStatus::Proposed, |r| r.status);
                a.by = rec.and_then(|r| r.by.clone());
                a.detail = rec.and_then(|r| r.detail.clone());
            }
        }
        self.status = match self.resolved_at {
            Some(r) if Some(r) >= self.last_event_at => Status::Resolved,
            _ => Status::Open,
        };
        if self.console_url.is_none() {
            self.console_url = console_url(self.region.as_deref(), self.cluster.as_deref());
        }
    }
}

/// How much a node tells, to choose which nodes to keep: analysed over failed, a likely root
/// cause, more findings, then the lowest instance id.
fn rank<'a>(id: &'a str, v: &NodeView) -> (bool, bool, usize, std::cmp::Reverse<&'a str>) {
    (
        v.analyzed,
        v.findings.values().any(|f| f.root_cause),
        v.findings.len(),
        std::cmp::Reverse(id),
    )
}

/// A node's findings as its report gives them, rule ids bounded.
fn node_findings(entries: &[FindingEntry]) -> BTreeMap<String, NodeFinding> {
    entries
        .iter()
        .map(|f| {
            (
                cut(&f.rule, ID_CHARS),
                NodeFinding {
                    severity: f.severity,
                    count: f.count.max(1),
                    root_cause: f.root_cause,
                },
            )
        })
        .collect()
}

impl NodeView {
    /// A node known only by a failed collection.
    fn failed() -> NodeView {
        NodeView {
            collection_failed: true,
            ..NodeView::default()
        }
    }
}

/// The EKS console page of a cluster, when the region has a region's shape and the cluster is an
/// EKS cluster name (both come from the bus and end up in a link: never build one from unchecked
/// text). China and GovCloud regions have their own console domains.
pub(super) fn console_url(region: Option<&str>, cluster: Option<&str>) -> Option<String> {
    let r = region.filter(|r| is_region(r))?;
    // EKS: 1 to 100 characters, letters, digits, `-` and `_`, starting with a letter or digit.
    let c = aws_name(cluster)
        .filter(|c| c.len() <= 100 && c.starts_with(|ch: char| ch.is_ascii_alphanumeric()))?;
    let domain = if r.starts_with("cn-") {
        "console.amazonaws.cn"
    } else if r.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com"
    } else {
        "console.aws.amazon.com"
    };
    Some(format!(
        "https://{r}.{domain}/eks/home?region={r}#/clusters/{c}"
    ))
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: lowercase words joined by `-`, ending in a
/// number.
fn is_region(r: &str) -> bool {
    let words: Vec<&str> = r.split('-').collect();
    let Some((number, names)) = words.split_last() else {
        return false;
    };
    r.len() <= 32
        && names.len() >= 2
        && names[0].len() == 2
        && names
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::{
        ApprovalDetail, AuditDetail, CollectionFailedDetail, PlanDetail, QuotaStatusDetail,
        ResolvedDetail,
    };
    use crate::notify::tests::{sample_report, sample_view};
    use crate::plan::{self, Settings};

    fn t(s: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(1_792_387_200 + s, 0)
    }

    fn events() -> Vec<NotifyEvent> {
        let report = sample_report();
        let id = "inc";
        let mut s = Settings::default();
        s.set_mode("ebs-volume=approve").unwrap();
        s.guards.allow.accounts = vec!["*".into()];
        let p = plan::plan_report(&report, &s);
        let mut out = Vec::new();
        for (i, node) in ["i-01", "i-02", "i-03"].iter().enumerate() {
            let mut d = FindingsDetail::from_report(&report, id);
            d.instance_id = (*node).into();
            d.at = t(i as i64 * 10);
            out.push(NotifyEvent::Findings(d));
        }
        out.push(NotifyEvent::CollectionFailed(CollectionFailedDetail {
            incident_id: id.into(),
            instance_id: "i-04".into(),
            reason: "SSM command timed out".into(),
            at: t(35),
        }));
        out.push(NotifyEvent::Plan(PlanDetail {
            incident_id: id.into(),
            plan: p.clone(),
            at: t(40),
        }));
        out.push(NotifyEvent::Approval(ApprovalDetail {
            incident_id: id.into(),
            plan_id: p.plan_id.clone(),
            action: 0,
            verdict: Verdict::Approved,
            by: "U123".into(),
            at: t(50),
        }));
        out.push(NotifyEvent::Audit(AuditDetail {
            incident_id: id.into(),
            plan_id: p.plan_id.clone(),
            action: 0,
            outcome: AuditOutcome::Done,
            detail: Some("ModifyVolume vol-1".into()),
            at: t(60),
        }));
        out.push(NotifyEvent::QuotaStatus(QuotaStatusDetail {
            incident_id: id.into(),
            quota_code: "L-1216C47A".into(),
            quota_name: "Running On-Demand Standard instances".into(),
            status: "PENDING".into(),
            desired: 256.0,
            at: t(70),
        }));
        out.push(NotifyEvent::QuotaStatus(QuotaStatusDetail {
            incident_id: id.into(),
            quota_code: "L-1216C47A".into(),
            quota_name: "Running On-Demand Standard instances".into(),
            status: "APPROVED".into(),
            desired: 256.0,
            at: t(80),
        }));
        out
    }

    fn fold(events: &[NotifyEvent]) -> IncidentView {
        let mut v = IncidentView::new("inc");
        for e in events {
            v.apply(e);
        }
        v
    }

    #[test]
    fn replaying_every_event_changes_nothing() {
        let ev = events();
        let once = fold(&ev);
        let mut twice = once.clone();
        for e in &ev {
            twice.apply(e);
        }
        assert_eq!(twice, once);
        assert_eq!(once.nodes.len(), 4);
        assert!(once.nodes["i-04"].collection_failed);
        assert_eq!(once.quotas[0].status, "APPROVED");
        let a0 = &once.plan.as_ref().unwrap().actions[0];
        assert_eq!(
            (a0.status, a0.by.as_deref()),
            (ActionStatus::Done, Some("U123"))
        );
    }

    #[test]
    fn any_order_gives_the_same_view() {
        let ev = events();
        let forward = fold(&ev);
        let mut reversed = ev.clone();
        reversed.reverse();
        assert_eq!(fold(&reversed), forward);
        // A rotation: the approval and the audit record arrive before their plan.
        let mut rotated = ev.clone();
        rotated.rotate_left(5);
        assert_eq!(fold(&rotated), forward);
    }

    #[test]
    fn a_late_report_of_a_node_does_not_replace_its_newer_one() {
        let report = sample_report();
        let mut newer = FindingsDetail::from_report(&report, "inc");
        newer.at = t(100);
        newer.findings.truncate(1);
        let mut older = FindingsDetail::from_report(&report, "inc");
        older.at = t(0);
        let mut v = IncidentView::new("inc");
        v.apply(&NotifyEvent::Findings(newer));
        v.apply(&NotifyEvent::Findings(older));
        assert_eq!(v.findings.len(), 1);
    }

    #[test]
    fn resolve_holds_until_a_later_event_opens_it_again() {
        let ev = events();
        let mut v = fold(&ev);
        v.apply(&NotifyEvent::Resolved(ResolvedDetail {
            incident_id: "inc".into(),
            at: t(1000),
        }));
        assert_eq!(v.status, Status::Resolved);
        let resolved = v.clone();
        v.apply(&ev[0]);
        assert_eq!(v, resolved, "an old event replayed does not reopen");
        let mut late = ev[1].clone();
        if let NotifyEvent::Findings(d) = &mut late {
            d.at = t(2000);
        }
        v.apply(&late);
        assert_eq!(v.status, Status::Open);
        assert_eq!(v.changes_since(Some(&resolved)), vec![Change::Reopened]);
    }

    #[test]
    fn the_view_matches_the_report_helpers() {
        let v = sample_view();
        assert_eq!(v.findings.len(), 8);
        assert!(v.findings.iter().all(|f| f.nodes.len() == 3));
        assert!(v.findings.iter().all(|f| f.evidence.is_some()));
    }

    #[test]
    fn fifty_nodes_of_long_text_stay_under_the_dynamodb_item_limit() {
        let long = "x".repeat(10_000);
        let mut v = IncidentView::new("inc");
        for n in 0..50 {
            let mut d = FindingsDetail::from_report(&sample_report(), "inc");
            d.instance_id = format!("i-{n:017}");
            for f in &mut d.findings {
                f.title.clone_from(&long);
                f.summary.clone_from(&long);
                f.evidence = Some(long.clone());
                if let Some(x) = &mut f.fix {
                    x.instruction.clone_from(&long);
                    x.snippet = Some(long.clone());
                }
            }
            v.apply(&NotifyEvent::Findings(d));
        }
        let bytes = serde_json::to_vec(&v).unwrap().len();
        assert!(bytes < 200 * 1024, "{bytes} bytes");
        assert_eq!(v.findings[0].nodes.len(), 50);
    }

    /// Every slot of the view filled past any real incident: 500 nodes, each with every rule at
    /// 10 KB of text, a failed collection per node with a long reason, 200 plan actions with long
    /// summaries, approvals and audit records for each, 100 quota requests and long ids.
    fn hostile_events() -> Vec<NotifyEvent> {
        let long = "\u{202e}<!channel> ".repeat(1_000);
        let ids = crate::rules::ids();
        let mut out = Vec::new();
        for n in 0..500 {
            let node = format!("i-{n:017x}");
            out.push(NotifyEvent::Findings(FindingsDetail {
                incident_id: "inc".into(),
                cluster: Some("prod".into()),
                instance_id: node.clone(),
                bucket: Some("b".repeat(63)),
                report_json: Some(format!("bundles/{long}/report.json")),
                report_html: Some(format!("bundles/{long}/report.html")),
                root_cause: Some(crate::notify::event::RootCauseEntry {
                    chain: ids.iter().map(|r| r.to_string()).collect(),
                    summary: long.clone(),
                }),
                findings_total: ids.len() + 100,
                findings_omitted: 100,
                findings: ids
                    .iter()
                    .map(|r| FindingEntry {
                        rule: (*r).into(),
                        severity: crate::report::Severity::High,
                        title: long.clone(),
                        summary: long.clone(),
                        count: 1_000,
                        root_cause: true,
                        evidence: Some(long.clone()),
                        fix: Some(crate::notify::event::FixEntry {
                            instruction: long.clone(),
                            snippet: Some(long.clone()),
                        }),
                    })
                    .collect(),
                account: Some("111122223333".into()),
                region: Some("us-east-1".into()),
                at: t(n),
            }));
            out.push(NotifyEvent::CollectionFailed(CollectionFailedDetail {
                incident_id: "inc".into(),
                instance_id: format!("i-f{n:016x}"),
                reason: long.clone(),
                at: t(n),
            }));
        }
        let mut p = plan::plan_report(&sample_report(), &Settings::default());
        let a0 = p.actions[0].clone();
        p.actions = (0..200)
            .map(|i| {
                let mut a = a0.clone();
                a.id = format!("{}-{i}-{long}", a0.id);
                a.summary = long.clone();
                a
            })
            .collect();
        for i in 0..200 {
            out.push(NotifyEvent::Approval(ApprovalDetail {
                incident_id: "inc".into(),
                plan_id: p.plan_id.clone(),
                action: i,
                verdict: Verdict::Approved,
                by: long.clone(),
                at: t(600),
            }));
            out.push(NotifyEvent::Audit(AuditDetail {
                incident_id: "inc".into(),
                plan_id: p.plan_id.clone(),
                action: i,
                outcome: AuditOutcome::Failed,
                detail: Some(long.clone()),
                at: t(700),
            }));
        }
        out.push(NotifyEvent::Plan(PlanDetail {
            incident_id: "inc".into(),
            plan: p,
            at: t(550),
        }));
        for q in 0..100 {
            out.push(NotifyEvent::QuotaStatus(QuotaStatusDetail {
                incident_id: "inc".into(),
                quota_code: format!("L-{q:08}{long}"),
                quota_name: long.clone(),
                status: long.clone(),
                desired: 1e300,
                at: t(800),
            }));
        }
        out
    }

    #[test]
    fn a_hostile_incident_stays_within_the_item_budget() {
        let events = hostile_events();
        let v = fold(&events);
        let bytes = serde_json::to_vec(&v).unwrap().len();
        eprintln!("hostile view: {bytes} bytes, {} nodes kept", v.nodes.len());
        assert!(bytes <= VIEW_BYTES, "{bytes} bytes");
        // What matters survives: every rule, root causes first, counts over the nodes kept, the
        // chain, the nodes left out, the plan and the quotas (bounded).
        assert_eq!(v.findings.len(), crate::rules::ids().len());
        assert!(v.findings.iter().all(|f| f.root_cause));
        let kept = v.nodes.len() as u64;
        assert!(kept > 1 && kept <= MAX_NODES as u64, "{kept}");
        assert!(v.findings.iter().all(|f| f.total() == kept * 1_000));
        assert!(
            v.nodes.values().all(|n| n.analyzed),
            "analysed nodes outrank failed ones"
        );
        assert_eq!(v.nodes_omitted.len(), MAX_OMITTED_IDS);
        assert_eq!(v.chain.len(), MAX_CHAIN);
        assert_eq!(
            v.plan.as_ref().map(|p| p.actions.len()),
            Some(MAX_PLAN_ACTIONS)
        );
        assert_eq!(v.quotas.len(), MAX_QUOTAS);
        assert!(v.headline().contains("more not shown"), "{}", v.headline());
        // A replay sheds nothing more.
        let mut again = v.clone();
        for e in &events[..50] {
            again.apply(e);
        }
        assert_eq!(again, v);
    }

    #[test]
    fn the_nodes_kept_are_the_most_telling_whatever_the_order() {
        let report = sample_report();
        let mut ev = Vec::new();
        for n in 0..MAX_NODES + 10 {
            let mut d = FindingsDetail::from_report(&report, "inc");
            d.instance_id = format!("i-{n:017}");
            // The last ten nodes have only their first finding.
            if n >= MAX_NODES {
                d.findings.truncate(1);
            }
            d.at = t(n as i64);
            ev.push(NotifyEvent::Findings(d));
        }
        let forward = fold(&ev);
        ev.reverse();
        assert_eq!(fold(&ev), forward);
        assert_eq!(forward.nodes.len(), MAX_NODES);
        assert_eq!(forward.nodes_omitted.len(), 10);
        assert!(forward
            .nodes_omitted
            .iter()
            .all(|n| n.as_str() >= "i-00000000000000064"));
    }
    #[test]
    fn the_console_link_is_built_from_checked_names_only() {
        let url = |r, c| console_url(Some(r), Some(c));
        assert_eq!(
            url("us-east-1", "prod").as_deref(),
            Some(
                "https://us-east-1.console.aws.amazon.com/eks/home?region=us-east-1#/clusters/prod"
            )
        );
        assert!(url("cn-north-1", "a_b")
            .unwrap()
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert!(url("us-gov-west-1", "x")
            .unwrap()
            .contains("amazonaws-us-gov.com"));
        for (r, c) in [
            ("us-east-1", "prod/../x"),
            ("us-east-1", "a b"),
            ("us-east-1", "-lead"),
            ("us-east-1", ""),
            ("evil.com#", "prod"),
            ("US-EAST-1", "prod"),
            ("us-east", "prod"),
            ("us-east-1x", "prod"),
            ("", "prod"),
        ] {
            assert_eq!(url(r, c), None, "{r:?} {c:?}");
        }
        assert_eq!(console_url(None, Some("prod")), None);
        assert!(url("us-east-1", &"c".repeat(101)).is_none());
    }

    use super::super::Change;
}
