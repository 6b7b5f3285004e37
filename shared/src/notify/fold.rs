//! The view as a fold of bus events.
//!
//! Each event writes only its own slot (a node's findings, the plan, one action's record, one
//! quota), guarded by the slot's time, and everything shown is recomputed from the slots. So the
//! same events give the same view in any order and any number of times, and a late event never
//! overwrites a newer one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::event::{AuditOutcome, FindingEntry, FindingsDetail, NotifyEvent, Verdict};
use super::{
    aws_name, cut, ActionRecord, ActionStatus, ActionView, FindingView, IncidentView, NodeFinding,
    PlanView, QuotaView, Status, TextSource,
};

/// Most findings kept per node (a report holds at most 64 in a list too).
const MAX_NODE_FINDINGS: usize = 64;
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
                let node = self.nodes.entry(d.instance_id.clone()).or_default();
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
                        plan_id: d.plan.plan_id.clone(),
                        actions: d
                            .plan
                            .actions
                            .iter()
                            .enumerate()
                            .map(|(index, a)| ActionView {
                                index,
                                id: a.id.clone(),
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
                    by: Some(cut(&d.by, 200)),
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
                    detail: d.detail.as_deref().map(|s| cut(s, NOTE_CHARS)),
                    at: d.at,
                },
            ),
            NotifyEvent::QuotaStatus(d) => {
                let q = QuotaView {
                    quota_code: d.quota_code.clone(),
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
                match self
                    .quotas
                    .iter_mut()
                    .find(|x| x.quota_code == d.quota_code)
                {
                    Some(old) if (d.at, &q.status) >= (old.at, &old.status) => *old = q,
                    Some(_) => {}
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
        let node = self.nodes.entry(d.instance_id.clone()).or_default();
        if node.analyzed && d.at < node.at {
            return;
        }
        node.analyzed = true;
        node.collection_failed = false;
        node.at = d.at;
        node.chain = d
            .root_cause
            .as_ref()
            .map(|rc| rc.chain.clone())
            .unwrap_or_default();
        node.report_html = match (&d.bucket, &d.report_html) {
            (Some(b), Some(k)) => Some((b.clone(), k.clone())),
            _ => None,
        };
        let entries = &d.findings[..d.findings.len().min(MAX_NODE_FINDINGS)];
        node.findings = entries
            .iter()
            .map(|f| {
                (
                    f.rule.clone(),
                    NodeFinding {
                        severity: f.severity,
                        count: f.count.max(1),
                        root_cause: f.root_cause,
                    },
                )
            })
            .collect();
        for f in entries {
            self.take_text(&d.instance_id, f);
        }
    }

    /// Keeps `f`'s text for its rule when this node saw it most (the lowest instance id on a
    /// tie), or already gave the text (its newer report refreshes it).
    fn take_text(&mut self, node: &str, f: &FindingEntry) {
        let count = f.count.max(1);
        let text = FindingView {
            rule: f.rule.clone(),
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
        let Some(old) = self.findings.iter_mut().find(|x| x.rule == f.rule) else {
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
        let key = format!("{plan_id}#{index}");
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

    /// Recomputes everything shown from the slots.
    fn rebuild(&mut self) {
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

/// The EKS console page of a cluster, when region and cluster are plain names (they come from the
/// bus and end up in a link).
fn console_url(region: Option<&str>, cluster: Option<&str>) -> Option<String> {
    let (r, c) = (aws_name(region)?, aws_name(cluster)?);
    Some(format!(
        "https://{r}.console.aws.amazon.com/eks/home?region={r}#/clusters/{c}"
    ))
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

    use super::super::Change;
}
