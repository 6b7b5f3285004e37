//! The bus events the notifier folds into an [`IncidentView`](super::IncidentView).
//!
//! A [`NotifyEvent`] serializes as `{"detail-type": …, "detail": {…}}`, the two fields of an
//! EventBridge envelope that say what happened; [`NotifyEvent::from_eventbridge`] reads a whole
//! envelope and fills what the detail leaves out (`at` from `time`, `account` and `region`).
//! Every detail carries the incident id and, where the producer knows it, the time it describes:
//! the view orders late events by it, so a replayed or overtaken event changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::Plan;
use crate::report::{Report, Severity};

/// Detail type of the analyzer's findings event (the pipeline's `FINDINGS_DETAIL_TYPE`).
pub const FINDINGS: &str = "eks-remedy findings";
/// Detail type of a failed or timed-out collection (new: the collector notes it on the incident).
pub const COLLECTION_FAILED: &str = "eks-remedy collection failed";
/// Detail type of a remediation plan made for an incident (new).
pub const PLAN: &str = "eks-remedy plan";
/// Detail type of an approval or rejection of one planned action (new).
pub const APPROVAL: &str = "eks-remedy approval";
/// Detail type of an audit record of one action's execution (new).
pub const AUDIT: &str = "eks-remedy audit";
/// Detail type of a Service Quotas request's status change (new).
pub const QUOTA_STATUS: &str = "eks-remedy quota status";
/// Detail type of the scheduled check resolving a quiet incident (new).
pub const RESOLVED: &str = "eks-remedy incident resolved";

/// Every detail type the notifier consumes.
pub const DETAIL_TYPES: [&str; 7] = [
    FINDINGS,
    COLLECTION_FAILED,
    PLAN,
    APPROVAL,
    AUDIT,
    QUOTA_STATUS,
    RESOLVED,
];

/// One event of the pipeline's bus, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "detail-type", content = "detail")]
pub enum NotifyEvent {
    /// A node's bundle was analysed.
    #[serde(rename = "eks-remedy findings")]
    Findings(FindingsDetail),
    /// A node's collection failed.
    #[serde(rename = "eks-remedy collection failed")]
    CollectionFailed(CollectionFailedDetail),
    /// A plan was made (or remade) for the incident.
    #[serde(rename = "eks-remedy plan")]
    Plan(PlanDetail),
    /// Someone approved or rejected an action.
    #[serde(rename = "eks-remedy approval")]
    Approval(ApprovalDetail),
    /// An action ran, failed or was held by a guard.
    #[serde(rename = "eks-remedy audit")]
    Audit(AuditDetail),
    /// A quota request changed status.
    #[serde(rename = "eks-remedy quota status")]
    QuotaStatus(QuotaStatusDetail),
    /// No new events for the quiet period.
    #[serde(rename = "eks-remedy incident resolved")]
    Resolved(ResolvedDetail),
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    /// Not an EventBridge envelope (no `detail-type` or no `detail` object).
    #[error("not an EventBridge event: {0}")]
    NotAnEvent(&'static str),
    /// A detail type the notifier does not consume.
    #[error("unknown detail type {0:?}")]
    UnknownDetailType(String),
    /// A known detail type whose detail does not have its shape.
    #[error("{detail_type}: {source}")]
    Invalid {
        /// The detail type.
        detail_type: String,
        /// What serde said.
        source: serde_json::Error,
    },
}

impl NotifyEvent {
    /// Reads an EventBridge event (as SQS delivers it in a record's body). The envelope's `time`
    /// becomes the detail's `at`, and its `account` and `region` the findings' own, unless the
    /// detail has them.
    pub fn from_eventbridge(envelope: &Value) -> Result<NotifyEvent, EventError> {
        let detail_type = envelope
            .get("detail-type")
            .and_then(Value::as_str)
            .ok_or(EventError::NotAnEvent("no detail-type"))?;
        if !DETAIL_TYPES.contains(&detail_type) {
            return Err(EventError::UnknownDetailType(detail_type.to_string()));
        }
        let mut detail = envelope
            .get("detail")
            .filter(|d| d.is_object())
            .cloned()
            .ok_or(EventError::NotAnEvent("no detail object"))?;
        for (from, to) in [("time", "at"), ("account", "account"), ("region", "region")] {
            if let (Some(v), Some(d)) = (envelope.get(from), detail.as_object_mut()) {
                if d.get(to).is_none_or(Value::is_null) {
                    d.insert(to.to_string(), v.clone());
                }
            }
        }
        serde_json::from_value(serde_json::json!({"detail-type": detail_type, "detail": detail}))
            .map_err(|source| EventError::Invalid {
                detail_type: detail_type.to_string(),
                source,
            })
    }

    /// Reads an SQS record's body: the EventBridge event as JSON text.
    pub fn from_sqs_body(body: &str) -> Result<NotifyEvent, EventError> {
        let envelope: Value = serde_json::from_str(body).map_err(EventError::Json)?;
        NotifyEvent::from_eventbridge(&envelope)
    }

    /// The incident the event belongs to.
    pub fn incident_id(&self) -> &str {
        match self {
            NotifyEvent::Findings(d) => &d.incident_id,
            NotifyEvent::CollectionFailed(d) => &d.incident_id,
            NotifyEvent::Plan(d) => &d.incident_id,
            NotifyEvent::Approval(d) => &d.incident_id,
            NotifyEvent::Audit(d) => &d.incident_id,
            NotifyEvent::QuotaStatus(d) => &d.incident_id,
            NotifyEvent::Resolved(d) => &d.incident_id,
        }
    }

    /// When the event happened, when known.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        match self {
            NotifyEvent::Findings(d) => d.at,
            NotifyEvent::CollectionFailed(d) => d.at,
            NotifyEvent::Plan(d) => d.at,
            NotifyEvent::Approval(d) => d.at,
            NotifyEvent::Audit(d) => d.at,
            NotifyEvent::QuotaStatus(d) => d.at,
            NotifyEvent::Resolved(d) => d.at,
        }
    }

    /// Its detail type on the bus.
    pub fn detail_type(&self) -> &'static str {
        match self {
            NotifyEvent::Findings(_) => FINDINGS,
            NotifyEvent::CollectionFailed(_) => COLLECTION_FAILED,
            NotifyEvent::Plan(_) => PLAN,
            NotifyEvent::Approval(_) => APPROVAL,
            NotifyEvent::Audit(_) => AUDIT,
            NotifyEvent::QuotaStatus(_) => QUOTA_STATUS,
            NotifyEvent::Resolved(_) => RESOLVED,
        }
    }
}

/// The analyzer's findings event (`pipeline::handlers::analyzer::findings_event`), plus what the
/// notifier may add from `report.json`: one evidence excerpt and the first fix per finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingsDetail {
    /// Incident.
    pub incident_id: String,
    /// Cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The analysed node.
    pub instance_id: String,
    /// Bucket of the reports.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Key of `report.json`.
    #[serde(default)]
    pub report_json: Option<String>,
    /// Key of `report.html`.
    #[serde(default)]
    pub report_html: Option<String>,
    /// The node's likely root cause.
    #[serde(default)]
    pub root_cause: Option<RootCauseEntry>,
    /// Findings of the node in its report.
    #[serde(default)]
    pub findings_total: usize,
    /// Findings left out of the event for size (they are in the report).
    #[serde(default)]
    pub findings_omitted: usize,
    /// The findings, likely root causes first.
    #[serde(default)]
    pub findings: Vec<FindingEntry>,
    /// Account (from the envelope).
    #[serde(default)]
    pub account: Option<String>,
    /// Region (from the envelope).
    #[serde(default)]
    pub region: Option<String>,
    /// When the node was analysed (the envelope's `time`).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// The likely root cause of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCauseEntry {
    /// Rule ids, cause first.
    pub chain: Vec<String>,
    /// One sentence.
    #[serde(default)]
    pub summary: String,
}

/// One finding of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingEntry {
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Summary (bundle text: untrusted).
    #[serde(default)]
    pub summary: String,
    /// Occurrences on the node.
    #[serde(default)]
    pub count: u64,
    /// A likely root cause on the node.
    #[serde(default)]
    pub root_cause: bool,
    /// One evidence line (log text: untrusted), from the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The first fix, from the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixEntry>,
}

/// A fix as chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixEntry {
    /// What to do.
    pub instruction: String,
    /// The setting to paste.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl FindingsDetail {
    /// The findings event of `report` (its node, every finding with one evidence excerpt and its
    /// first fix), for the CLI and for a notifier that read `report.json`.
    pub fn from_report(report: &Report, incident_id: &str) -> FindingsDetail {
        FindingsDetail {
            incident_id: incident_id.to_string(),
            cluster: None,
            instance_id: report
                .bundle
                .instance_id
                .clone()
                .unwrap_or_else(|| "(unknown node)".into()),
            bucket: None,
            report_json: None,
            report_html: None,
            root_cause: report.root_cause.as_ref().map(|rc| RootCauseEntry {
                chain: rc.chain.clone(),
                summary: rc.summary.clone(),
            }),
            findings_total: report.findings.len(),
            findings_omitted: 0,
            findings: report
                .findings
                .iter()
                .map(|f| FindingEntry {
                    rule: f.rule.clone(),
                    severity: f.severity,
                    title: f.title.clone(),
                    summary: f.summary.clone(),
                    count: f.count,
                    root_cause: f.root_cause,
                    evidence: f.evidence.first().map(|e| e.excerpt.clone()),
                    fix: f.fix.first().map(|x| FixEntry {
                        instruction: x.instruction.clone(),
                        snippet: x.snippet.clone(),
                    }),
                })
                .collect(),
            account: None,
            region: report.bundle.region.clone(),
            at: None,
        }
    }
}

/// A node whose bundle never arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFailedDetail {
    /// Incident.
    pub incident_id: String,
    /// The node.
    pub instance_id: String,
    /// Why (SSM status and output: untrusted).
    #[serde(default)]
    pub reason: String,
    /// When.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// A plan made for the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDetail {
    /// Incident.
    pub incident_id: String,
    /// The plan as the planner made it.
    pub plan: Plan,
    /// When.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// Approved or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Go ahead (the guards are checked again).
    Approved,
    /// Do not.
    Rejected,
}

/// Someone's decision on one action: the plan and the action's index in it, as the Slack button's
/// value and `eks-remedy approve <plan-id> --action N` name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDetail {
    /// Incident.
    pub incident_id: String,
    /// Plan.
    pub plan_id: String,
    /// Index of the action in the plan.
    pub action: usize,
    /// The decision.
    pub verdict: Verdict,
    /// Who (a Slack user id or an IAM principal).
    pub by: String,
    /// When.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// What happened when an action was executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditOutcome {
    /// Execution started.
    Started,
    /// The change was made.
    Done,
    /// The API call failed.
    Failed,
    /// A guard held it on the re-check.
    Held,
}

/// An audit record of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetail {
    /// Incident.
    pub incident_id: String,
    /// Plan.
    pub plan_id: String,
    /// Index of the action in the plan.
    pub action: usize,
    /// What happened.
    pub outcome: AuditOutcome,
    /// Details (API error, guard): free text.
    #[serde(default)]
    pub detail: Option<String>,
    /// When.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// A Service Quotas request's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaStatusDetail {
    /// Incident.
    pub incident_id: String,
    /// Quota code (`L-1216C47A`): the key.
    pub quota_code: String,
    /// Quota name.
    #[serde(default)]
    pub quota_name: String,
    /// `PENDING`, `CASE_OPENED`, `APPROVED`, `DENIED`, `CASE_CLOSED`, …
    pub status: String,
    /// Value asked for.
    #[serde(default)]
    pub desired: f64,
    /// When the status was seen.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// The incident went quiet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedDetail {
    /// Incident.
    pub incident_id: String,
    /// When the check resolved it.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_serializes_under_its_detail_type_constant() {
        let at = DateTime::from_timestamp(1_800_000_000, 0);
        let events = [
            NotifyEvent::CollectionFailed(CollectionFailedDetail {
                incident_id: "i".into(),
                instance_id: "i-1".into(),
                reason: "timed out".into(),
                at,
            }),
            NotifyEvent::Approval(ApprovalDetail {
                incident_id: "i".into(),
                plan_id: "plan-1".into(),
                action: 0,
                verdict: Verdict::Approved,
                by: "U1".into(),
                at,
            }),
            NotifyEvent::Audit(AuditDetail {
                incident_id: "i".into(),
                plan_id: "plan-1".into(),
                action: 0,
                outcome: AuditOutcome::Done,
                detail: None,
                at,
            }),
            NotifyEvent::QuotaStatus(QuotaStatusDetail {
                incident_id: "i".into(),
                quota_code: "L-1".into(),
                quota_name: "Running On-Demand".into(),
                status: "PENDING".into(),
                desired: 10.0,
                at,
            }),
            NotifyEvent::Resolved(ResolvedDetail {
                incident_id: "i".into(),
                at,
            }),
        ];
        for e in events {
            let v = serde_json::to_value(&e).unwrap();
            assert_eq!(v["detail-type"], e.detail_type());
            let back: NotifyEvent = serde_json::from_value(v).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn the_analyzers_event_reads_with_the_envelope_filling_the_gaps() {
        let envelope = serde_json::json!({
            "source": "eks-remedy", "detail-type": "eks-remedy findings", "account": "111122223333",
            "region": "us-east-1", "time": "2026-10-19T05:20:00Z",
            "detail": {"incident_id": "prod:scale-up:20261019T0500", "cluster": "prod",
                "instance_id": "i-0abc", "bucket": "b", "report_json": "bundles/x/report.json",
                "report_html": "bundles/x/report.html", "root_cause": null, "findings_total": 1,
                "findings_omitted": 0, "findings": [{"rule": "oom-kill", "severity": "high",
                "title": "t", "summary": "s", "count": 2, "actions": [], "root_cause": true}]}
        });
        let NotifyEvent::Findings(d) = NotifyEvent::from_eventbridge(&envelope).unwrap() else {
            panic!("not findings")
        };
        assert_eq!(d.account.as_deref(), Some("111122223333"));
        assert_eq!(d.at, DateTime::from_timestamp(1_792_387_200, 0));
        assert_eq!(d.findings[0].count, 2);
        assert_eq!(
            NotifyEvent::from_sqs_body(&envelope.to_string()).unwrap(),
            NotifyEvent::from_eventbridge(&envelope).unwrap()
        );
        assert!(matches!(
            NotifyEvent::from_sqs_body("{"),
            Err(EventError::Json(_))
        ));
        assert!(matches!(
            NotifyEvent::from_eventbridge(
                &serde_json::json!({"detail-type": "other", "detail": {}})
            ),
            Err(EventError::UnknownDetailType(_))
        ));
        assert!(matches!(
            NotifyEvent::from_eventbridge(
                &serde_json::json!({"detail-type": FINDINGS, "detail": {}})
            ),
            Err(EventError::Invalid { .. })
        ));
    }
}
