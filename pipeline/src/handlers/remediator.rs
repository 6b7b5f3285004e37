//! The remediation function: one plan per incident, run on the ladder with its guards, audited on
//! the bus; approvals through its IAM-authenticated function URL or from Slack; and, on a
//! schedule, what it started followed to its end.
//!
//! | event | what happens |
//! |---|---|
//! | findings (bus) | the node's `report.json` is merged into the incident, the plan is made again, new actions run |
//! | launch failure (bus) | the failure joins the incident's context (quota requests), same as above |
//! | `{"plan": {"incident_id"}}` | the incident is planned again from what is kept |
//! | function URL `POST {"approve": …}` | the IAM caller decides; 403 / 404 / 409 say why not |
//! | SQS `{"approve": {…, "by": "slack:U…"}}` | the Slack interactivity function's verified click |
//! | `{"schedule": "follow"}` | open quota requests, add-on updates and volume changes are read again |
//!
//! Every decision is an audit record in the ledger; executions, failures and holds also go on the
//! bus (`eks-remedy audit`), as do plans, approvals and quota status changes, which the notifier
//! turns into the incident's one message.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eks_remedy_core::notify::event::FindingsDetail;
use eks_remedy_core::notify::event::{
    ApprovalDetail, AuditDetail, AuditOutcome, PlanDetail, QuotaStatusDetail, Verdict as Decided,
    APPROVAL, AUDIT, PLAN, QUOTA_STATUS,
};
use eks_remedy_core::plan::{self, GuardState, Incident, LaunchFailure, Plan};
use eks_remedy_core::report::{Finding, Report};
use serde::Serialize;
use serde_json::{json, Value};

use crate::events::{
    ApprovalRequest, HttpRequest, Inbound, LaunchFailureNotice, RemedyRequest, Task, Verdict,
};
use crate::function::{Handler, Invocation};
use crate::ports::{
    ClusterDirectory, Ec2Directory, FindingsPublisher, IncidentStore, ObjectStore, Saved,
};
use crate::remedy::follow::{follow, Tracked};
use crate::remedy::ports::{
    ActionLedger, AddonApi, AuditLog, PlanIndex, QuotaApi, RemedyState, RemedyStore, SupportApi,
    TrackedItem, VolumeApi,
};
use crate::remedy::{quota, ApproveError, AuditRecord, Executor, Outcome, Ports, RemedySettings};
use crate::{HandlerError, PortError};

/// Largest `report.json` read (the analyzer bounds reports far below this).
pub const MAX_REPORT_BYTES: u64 = 8 << 20;
/// Launch failures kept per incident: enough to size quota requests, bounded whatever arrives.
const MAX_LAUNCH_FAILURES: usize = 20;
/// Event ids kept per incident to make replays no-ops (about 60 bytes each in the state).
const MAX_MERGED_EVENTS: usize = 2_000;
/// Incidents followed per scheduled run; the rest wait for the next run.
const FOLLOW_PER_RUN: usize = 50;
/// Nodes whose volumes are read for EBS actions (one `DescribeVolumes` each).
const MAX_NODES_FOR_VOLUMES: usize = 10;
/// Conditional writes retried on a conflict before the event is retried as a whole.
const SAVE_ATTEMPTS: usize = 3;

/// What the handler answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Remedied {
    /// A plan was made or found unchanged.
    Planned {
        /// Incident.
        incident_id: String,
        /// The plan (absent when there is nothing to plan yet).
        plan_id: Option<String>,
        /// Actions run on their rung by this event.
        ran: Vec<RunSummary>,
    },
    /// Approvals decided.
    Decided {
        /// Plan.
        plan_id: String,
        /// One per action decided.
        decisions: Vec<RunSummary>,
    },
    /// A scheduled follow-up.
    Followed {
        /// Items read.
        checked: usize,
        /// Items whose status changed.
        changed: usize,
    },
    /// A function URL's answer, as Lambda expects it.
    Http(HttpAnswer),
}

/// One action's decision, as answers show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Index in the plan.
    pub action: usize,
    /// Action id.
    pub action_id: String,
    /// The audit outcome.
    pub outcome: String,
    /// Why.
    pub detail: String,
}

/// A function URL response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpAnswer {
    /// Status.
    pub status_code: u16,
    /// Headers.
    pub headers: BTreeMap<String, String>,
    /// JSON body.
    pub body: String,
}

impl HttpAnswer {
    fn json(status_code: u16, body: &Value) -> HttpAnswer {
        HttpAnswer {
            status_code,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            body: body.to_string(),
        }
    }
    fn error(status_code: u16, message: impl std::fmt::Display) -> HttpAnswer {
        HttpAnswer::json(status_code, &json!({ "error": message.to_string() }))
    }
}

/// The function's clock (tests move it).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The AWS APIs the executor acts through, and EC2's instances (node groups of the nodes whose
/// volumes an EBS action would change, for the allow-list).
pub struct RemedyApis<Q, A, V, S, E> {
    /// Service Quotas.
    pub quotas: Q,
    /// EKS add-ons.
    pub addons: A,
    /// EBS volumes.
    pub volumes: V,
    /// AWS Support.
    pub support: S,
    /// EC2 instances.
    pub instances: E,
}

/// The remediation function.
pub struct Remediator<Q, A, V, S, E, L, O, P, I, C> {
    apis: RemedyApis<Q, A, V, S, E>,
    ledger: L,
    objects: O,
    bus: P,
    incidents: I,
    clusters: C,
    settings: RemedySettings,
    clock: Clock,
}

impl<Q, A, V, S, E, L, O, P, I, C> Remediator<Q, A, V, S, E, L, O, P, I, C>
where
    Q: QuotaApi,
    A: AddonApi,
    V: VolumeApi,
    S: SupportApi,
    E: Ec2Directory,
    L: ActionLedger + AuditLog + RemedyStore,
    O: ObjectStore,
    P: FindingsPublisher,
    I: IncidentStore,
    C: ClusterDirectory,
{
    /// The handler over its ports. `ledger` keeps claims, budgets, approvals, audit records and
    /// each incident's state (one DynamoDB table).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        apis: RemedyApis<Q, A, V, S, E>,
        ledger: L,
        objects: O,
        bus: P,
        incidents: I,
        clusters: C,
        settings: RemedySettings,
    ) -> Self {
        Remediator {
            apis,
            ledger,
            objects,
            bus,
            incidents,
            clusters,
            settings,
            clock: Arc::new(Utc::now),
        }
    }

    /// Uses `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The ledger (tests read its records).
    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// The incident store (tests read its notes).
    pub fn incidents(&self) -> &I {
        &self.incidents
    }

    /// The APIs (tests count their writes).
    pub fn apis(&self) -> &RemedyApis<Q, A, V, S, E> {
        &self.apis
    }

    fn executor(&self) -> Executor<'_, Q, A, V, S, L, L> {
        Executor::new(
            Ports {
                quotas: &self.apis.quotas,
                addons: &self.apis.addons,
                volumes: &self.apis.volumes,
                support: &self.apis.support,
                ledger: &self.ledger,
                audit: &self.ledger,
            },
            &self.settings,
        )
    }

    /// A node's findings: its report joins the incident, then the incident is planned again.
    async fn findings(&self, d: &FindingsDetail) -> Result<Remedied, HandlerError> {
        let (Some(bucket), Some(key)) = (d.bucket.as_deref(), d.report_json.as_deref()) else {
            tracing::info!(incident = %d.incident_id, instance = %d.instance_id, "findings event without a report; nothing to plan from");
            return Ok(Remedied::Planned {
                incident_id: d.incident_id.clone(),
                plan_id: None,
                ran: Vec::new(),
            });
        };
        let report = self.report(bucket, key).await?;
        let merged_key = format!("node:{}", d.instance_id);
        let cluster = d.cluster.clone();
        let (account, region) = (d.account.clone(), d.region.clone());
        self.update(&d.incident_id, move |s| {
            if !s.merged.insert(merged_key.clone()) {
                return false;
            }
            let ctx = &mut s.incident.context;
            ctx.cluster = ctx.cluster.take().or_else(|| cluster.clone());
            ctx.account = ctx.account.take().or_else(|| account.clone());
            ctx.region = ctx
                .region
                .take()
                .or_else(|| region.clone())
                .or_else(|| report.bundle.region.clone());
            merge_report(&mut s.incident, &report);
            true
        })
        .await
    }

    /// A launch that failed on a limit joins the incident's context.
    async fn launch_failure(&self, n: &LaunchFailureNotice) -> Result<Remedied, HandlerError> {
        let merged_key = format!("launch:{}", n.event_id);
        let n = n.clone();
        self.update(&n.incident_id.clone(), move |s| {
            if s.merged.contains(&merged_key) {
                return false;
            }
            // A storm of failed launches must not outgrow the state's item: past the bound the
            // ids are no longer kept, so a replay of those could count an instance twice, which
            // the request's cap (a multiple of the current value) bounds anyway.
            if s.merged.len() < MAX_MERGED_EVENTS {
                s.merged.insert(merged_key.clone());
            }
            let ctx = &mut s.incident.context;
            ctx.cluster = ctx.cluster.take().or_else(|| Some(n.cluster.clone()));
            ctx.account = ctx.account.take().or_else(|| Some(n.account.clone()));
            ctx.region = ctx.region.take().or_else(|| Some(n.region.clone()));
            let group = n.nodegroup.clone().unwrap_or_else(|| n.asg.clone());
            if !ctx.node_groups.contains(&group) {
                ctx.node_groups.push(group.clone());
            }
            // Each event is one instance the group could not launch: the shortfall is their count.
            let room = ctx.launch_failures.len() < MAX_LAUNCH_FAILURES;
            let same = ctx
                .launch_failures
                .iter_mut()
                .find(|f| f.group.as_deref() == Some(group.as_str()) && f.code == n.error);
            match same {
                Some(f) => {
                    f.instances_short = f.instances_short.saturating_add(1);
                    f.instance_type = f.instance_type.take().or_else(|| n.instance_type.clone());
                    f.vcpus = f.vcpus.or(n.vcpus);
                    f.max_size = n.max_size.or(f.max_size);
                }
                None if room => {
                    ctx.launch_failures.push(LaunchFailure {
                        code: n.error.clone(),
                        message: n.message.clone(),
                        group: Some(group),
                        instance_type: n.instance_type.clone(),
                        vcpus: n.vcpus,
                        instances_short: 1,
                        spot: n.spot,
                        max_size: n.max_size,
                    });
                }
                None => {}
            }
            true
        })
        .await
    }

    /// Loads the incident's state, applies `merge` (false: nothing new, e.g. a replay), plans
    /// again, runs the actions not run before, and saves the state last. Nothing is marked done
    /// before it ran: a failure anywhere retries the event, and running again is safe because
    /// every write is claimed in the ledger per incident and action (a repeat is held, not redone).
    /// A conflicting save (another invocation moved the state on) starts over from the new state.
    async fn update(
        &self,
        incident_id: &str,
        merge: impl Fn(&mut RemedyState) -> bool,
    ) -> Result<Remedied, HandlerError> {
        for _ in 0..SAVE_ATTEMPTS {
            let loaded = self.ledger.load_state(incident_id).await?;
            let version = loaded.as_ref().map(|v| v.version);
            let mut state = loaded.map(|v| v.value).unwrap_or_default();
            if !merge(&mut state) && state.plan.is_some() {
                return Ok(Remedied::Planned {
                    incident_id: incident_id.to_string(),
                    plan_id: state.plan.map(|p| p.plan_id),
                    ran: Vec::new(),
                });
            }
            state.incident.context.incident_id = Some(incident_id.to_string());
            let plan = self.plan(&state.incident).await?;
            let fresh: Vec<_> = plan
                .actions
                .iter()
                .filter(|a| !state.ran.contains(&a.id))
                .cloned()
                .collect();
            let same_plan = state
                .plan
                .as_ref()
                .is_some_and(|p| p.plan_id == plan.plan_id);
            let mut ran = Vec::new();
            if !(same_plan && fresh.is_empty()) {
                let index = PlanIndex {
                    incident_id: incident_id.to_string(),
                    actions: plan.actions.iter().map(|a| a.id.clone()).collect(),
                };
                self.ledger.index_plan(&plan.plan_id, &index).await?;
                let now = (self.clock)();
                self.publish(
                    PLAN,
                    &PlanDetail {
                        incident_id: incident_id.to_string(),
                        plan: plan.clone(),
                        at: Some(now),
                    },
                )
                .await?;
                let run = Plan {
                    actions: fresh.clone(),
                    ..plan.clone()
                };
                let report = self
                    .executor()
                    .run(&run, &state.incident.context, now)
                    .await?;
                for r in &report.records {
                    let i = index
                        .actions
                        .iter()
                        .position(|a| *a == r.action_id)
                        .unwrap_or(0);
                    self.announce(incident_id, i, r).await?;
                    if let Some(t) = tracked_item(&plan.plan_id, i, r) {
                        if !state.tracked.iter().any(|o| o.item == t.item) {
                            state.tracked.push(t);
                        }
                    }
                    ran.push(summary(i, r));
                }
            }
            state.ran.extend(fresh.iter().map(|a| a.id.clone()));
            state.plan = Some(plan.clone());
            let following = state.tracked.iter().any(|t| !t.done);
            match self.ledger.save_state(incident_id, &state, version).await? {
                Saved::Conflict => continue,
                Saved::Written => {}
            }
            if following {
                self.ledger.set_following(incident_id, true).await?;
            }
            return Ok(Remedied::Planned {
                incident_id: incident_id.to_string(),
                plan_id: Some(plan.plan_id),
                ran,
            });
        }
        Err(PortError::Transient {
            service: "dynamodb",
            message: format!("{incident_id}: state changed {SAVE_ATTEMPTS} times while planning"),
        }
        .into())
    }

    /// The plan for what is known, with the live facts the planner needs (cluster, throttled
    /// APIs, quotas). A fact that cannot be read is left out: the planner says what it lacked.
    async fn plan(&self, incident: &Incident) -> Result<Plan, HandlerError> {
        let mut ctx = incident.context.clone();
        if let Some(cluster) = ctx.cluster.clone() {
            match self.clusters.describe(&cluster).await {
                Ok(live) => ctx.cluster_info = merge_cluster(live, &ctx.cluster_info),
                Err(e) => {
                    tracing::warn!(error = %e, %cluster, "DescribeCluster failed; planning with the bundle's facts")
                }
            }
        }
        if let Some(id) = ctx.incident_id.clone() {
            match self.incidents.incident(&id).await {
                Ok(Some(item)) => ctx.throttled_apis.extend(api_counters(&item)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "incident not readable; no throttling counters")
                }
            }
        }
        if ctx.volumes.is_empty() && asks_for_ebs(&incident.findings) {
            ctx.volumes = self.volumes_of(&ctx.nodes).await;
        }
        let notes = quota::resolve(&self.apis.quotas, &mut ctx, &incident.findings).await?;
        let mut plan = plan::plan(
            &incident.findings,
            &ctx,
            &self.settings.plan,
            &GuardState::default(),
        );
        plan.notes.extend(notes);
        Ok(plan)
    }

    /// The volumes of the incident's nodes with their latest modification, for EBS actions. A node
    /// whose volumes cannot be read is left out (the planner then plans "the node's root volume"
    /// and says it lacked the id).
    async fn volumes_of(&self, nodes: &[String]) -> Vec<eks_remedy_core::plan::ebs::VolumeFacts> {
        let now = (self.clock)();
        let nodes: Vec<String> = nodes.iter().take(MAX_NODES_FOR_VOLUMES).cloned().collect();
        // The node group (Auto Scaling group) of each node, for the allow-list; unknown, the
        // guard holds the action and says so.
        let groups: BTreeMap<String, String> = match self.apis.instances.instances(&nodes).await {
            Ok(found) => found
                .into_iter()
                .filter_map(|i| Some((i.instance_id, i.asg?)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "instances not readable; node groups unknown");
                BTreeMap::new()
            }
        };
        let mut out = Vec::new();
        for node in &nodes {
            let attached = match self.apis.volumes.attached(node).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, %node, "volumes not readable");
                    continue;
                }
            };
            for v in attached {
                let latest = match self.apis.volumes.modifications(&v.volume_id).await {
                    Ok(m) => m.into_iter().max_by_key(|m| m.started),
                    Err(e) => {
                        tracing::warn!(error = %e, volume = %v.volume_id, "modifications not readable");
                        None
                    }
                };
                out.push(eks_remedy_core::plan::ebs::VolumeFacts {
                    instance_id: Some(node.clone()),
                    volume_type: Some(v.volume_type).filter(|t| !t.is_empty()),
                    size_gib: Some(v.size_gib).filter(|s| *s > 0),
                    iops: v.iops,
                    throughput: v.throughput,
                    modification_state: latest.as_ref().map(|m| m.state.clone()),
                    modified_hours_ago: latest
                        .and_then(|m| m.started)
                        .map(|t| (now - t).num_minutes() as f64 / 60.0),
                    volume_id: v.volume_id,
                    node_group: groups.get(node).cloned(),
                });
            }
        }
        out
    }

    /// Reads a report, bounded.
    async fn report(&self, bucket: &str, key: &str) -> Result<Report, HandlerError> {
        let size = self.objects.size(bucket, key).await?;
        if size > MAX_REPORT_BYTES {
            return Err(HandlerError::TooLarge {
                what: format!("s3://{bucket}/{key}"),
                bytes: size,
                limit: MAX_REPORT_BYTES,
            });
        }
        let reader = self.objects.open(bucket, key).await?;
        let what = format!("s3://{bucket}/{key}");
        tokio::task::spawn_blocking(move || {
            let mut buf = Vec::new();
            reader
                .take(MAX_REPORT_BYTES + 1)
                .read_to_end(&mut buf)
                .map_err(|e| {
                    HandlerError::Port(PortError::Transient {
                        service: "s3",
                        message: format!("{what}: {e}"),
                    })
                })?;
            serde_json::from_slice::<Report>(&buf).map_err(|e| {
                HandlerError::Port(PortError::Refused {
                    service: "s3",
                    message: format!("{what} is not a report: {e}"),
                })
            })
        })
        .await
        .map_err(|e| HandlerError::Internal(format!("report reader: {e}")))?
    }

    /// Plans an incident again from what is kept (manual `plan` payload).
    async fn replan(&self, incident_id: &str) -> Result<Remedied, HandlerError> {
        let Some(_) = self.ledger.load_state(incident_id).await? else {
            return Err(PortError::NotFound {
                service: "eks-remedy",
                message: format!("no remediation state for incident {incident_id}"),
            }
            .into());
        };
        self.update(incident_id, |_| true).await
    }

    /// Decides on one action, or on every waiting action of the plan.
    async fn approve(
        &self,
        a: &ApprovalRequest,
        approver: &str,
    ) -> Result<Remedied, ApproveFailure> {
        let index = self
            .ledger
            .plan_index(&a.plan_id)
            .await?
            .ok_or_else(|| ApproveFailure::NotFound(format!("no plan {}", a.plan_id)))?;
        let chosen: Vec<(usize, &String)> = match a.action {
            Some(i) => vec![(
                i,
                index.actions.get(i).ok_or_else(|| {
                    ApproveFailure::NotFound(format!(
                        "plan {} has {} actions; there is no action {i}",
                        a.plan_id,
                        index.actions.len()
                    ))
                })?,
            )],
            None => index.actions.iter().enumerate().collect(),
        };
        let approved = a.verdict == Verdict::Approve;
        let mut decisions = Vec::new();
        for (i, action_id) in chosen {
            let now = (self.clock)();
            let rec = match self
                .executor()
                .decide(&a.plan_id, action_id, approver, approved, now)
                .await
            {
                Ok(rec) => rec,
                // Deciding the whole plan skips the actions that do not wait for anyone.
                Err(ApproveError::Unknown { .. }) if a.action.is_none() => continue,
                Err(e) => return Err(e.into()),
            };
            // What it started is recorded before anything is announced: a failed announcement
            // must not leave an executed change unfollowed (a second decision is refused).
            if let Some(t) = tracked_item(&a.plan_id, i, &rec) {
                self.track(&index.incident_id, vec![t]).await?;
            }
            self.publish(
                APPROVAL,
                &ApprovalDetail {
                    incident_id: index.incident_id.clone(),
                    plan_id: a.plan_id.clone(),
                    action: i,
                    verdict: if approved {
                        Decided::Approved
                    } else {
                        Decided::Rejected
                    },
                    by: approver.to_string(),
                    at: Some(now),
                },
            )
            .await?;
            self.announce(&index.incident_id, i, &rec).await?;
            decisions.push(summary(i, &rec));
        }
        if decisions.is_empty() {
            return Err(ApproveError::Unknown {
                plan: a.plan_id.clone(),
                action: "any".into(),
            }
            .into());
        }
        Ok(Remedied::Decided {
            plan_id: a.plan_id.clone(),
            decisions,
        })
    }

    /// The approval URL: only `POST` with an IAM-verified caller.
    async fn http(&self, r: &HttpRequest) -> Remedied {
        let answer = if r.method != "POST" {
            HttpAnswer::error(405, "only POST {\"approve\": …} is served here")
        } else if let Some(caller) = r.caller.as_deref() {
            match serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| v.get("approve").cloned())
                .map(serde_json::from_value::<ApprovalRequest>)
            {
                Some(Ok(a)) if a.by.is_some() => HttpAnswer::error(
                    400,
                    "`by` is not accepted here: the approver is the request's IAM identity",
                ),
                Some(Ok(a)) => match self.approve(&a, caller).await {
                    Ok(done) => HttpAnswer::json(200, &serde_json::to_value(&done).unwrap_or_default()),
                    Err(f) => f.answer(),
                },
                Some(Err(e)) => HttpAnswer::error(400, format!("malformed approval: {e}")),
                None => HttpAnswer::error(
                    400,
                    "expected {\"approve\": {\"plan_id\": …, \"action\": N, \"verdict\": \"approve\"|\"reject\"}}",
                ),
            }
        } else {
            // The template sets AuthType AWS_IAM; without it nobody is verified, so nobody approves.
            HttpAnswer::error(
                403,
                "the request is not IAM-signed: approvals need a verified caller",
            )
        };
        Remedied::Http(answer)
    }

    /// Reads every open item of the incidents that have some, and records what changed.
    async fn follow_all(&self) -> Result<Remedied, HandlerError> {
        let (mut checked, mut changed) = (0, 0);
        for incident_id in self.ledger.following(FOLLOW_PER_RUN).await? {
            let Some(loaded) = self.ledger.load_state(&incident_id).await? else {
                self.ledger.set_following(&incident_id, false).await?;
                continue;
            };
            let mut state = loaded.value;
            for t in state.tracked.iter_mut().filter(|t| !t.done) {
                checked += 1;
                let p = match follow(
                    &self.apis.quotas,
                    &self.apis.addons,
                    &self.apis.volumes,
                    &t.item,
                    t.last.as_deref(),
                )
                .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, incident = %incident_id, "follow-up failed; next run tries again");
                        continue;
                    }
                };
                if p.changed {
                    changed += 1;
                    self.announce_progress(&incident_id, t, &p.status, p.done)
                        .await?;
                }
                t.last = Some(p.status);
                t.done = p.done;
            }
            let open = state.tracked.iter().any(|t| !t.done);
            // A conflict means another invocation moved the state on: this run's statuses are
            // read again next time, and the announcements above are idempotent for the notifier.
            if self
                .ledger
                .save_state(&incident_id, &state, Some(loaded.version))
                .await?
                == Saved::Written
                && !open
            {
                self.ledger.set_following(&incident_id, false).await?;
            }
        }
        Ok(Remedied::Followed { checked, changed })
    }

    async fn track(&self, incident_id: &str, items: Vec<TrackedItem>) -> Result<(), HandlerError> {
        if items.is_empty() {
            return Ok(());
        }
        for _ in 0..SAVE_ATTEMPTS {
            let loaded = self.ledger.load_state(incident_id).await?;
            let version = loaded.as_ref().map(|v| v.version);
            let mut state = loaded.map(|v| v.value).unwrap_or_default();
            for t in &items {
                if !state.tracked.iter().any(|o| o.item == t.item) {
                    state.tracked.push(t.clone());
                }
            }
            if self.ledger.save_state(incident_id, &state, version).await? == Saved::Written {
                self.ledger.set_following(incident_id, true).await?;
                return Ok(());
            }
        }
        Err(PortError::Transient {
            service: "dynamodb",
            message: format!("{incident_id}: state kept changing while recording what to follow"),
        }
        .into())
    }

    /// Executions, failures and holds on the bus (the rest is in the plan event), and every
    /// decision that is more than a record (executed, failed, held, refused, rejected, awaiting an
    /// approver) as a note on the incident.
    async fn announce(
        &self,
        incident_id: &str,
        action: usize,
        r: &AuditRecord,
    ) -> Result<(), HandlerError> {
        if !matches!(
            r.outcome,
            Outcome::Observed | Outcome::WouldChange | Outcome::Recommended | Outcome::NoChange
        ) {
            let detail: String = r.detail.chars().take(300).collect();
            let note = format!(
                "remedy: {} {} by {}: {detail}",
                r.action_id,
                r.outcome.as_str(),
                r.who
            );
            // The audit item is the record; the note is for people reading the incident.
            if let Err(e) = self.incidents.note(incident_id, &note).await {
                tracing::warn!(error = %e, incident = %incident_id, "audit note not written");
            }
        }
        let outcome = match r.outcome {
            Outcome::Executed if Tracked::from_record(r).is_some() => AuditOutcome::Started,
            Outcome::Executed | Outcome::NoChange => AuditOutcome::Done,
            Outcome::Failed => AuditOutcome::Failed,
            Outcome::Held | Outcome::Refused => AuditOutcome::Held,
            _ => return Ok(()),
        };
        self.publish(
            AUDIT,
            &AuditDetail {
                incident_id: incident_id.to_string(),
                plan_id: r.plan_id.clone(),
                action,
                outcome,
                detail: Some(r.detail.clone()).filter(|d| !d.is_empty()),
                at: Some(r.at),
            },
        )
        .await
    }

    async fn announce_progress(
        &self,
        incident_id: &str,
        t: &TrackedItem,
        status: &str,
        done: bool,
    ) -> Result<(), HandlerError> {
        let at = Some((self.clock)());
        if let Tracked::QuotaRequest { .. } = t.item {
            return self
                .publish(
                    QUOTA_STATUS,
                    &QuotaStatusDetail {
                        incident_id: incident_id.to_string(),
                        quota_code: t.quota_code.clone().unwrap_or_default(),
                        quota_name: t.quota_name.clone().unwrap_or_default(),
                        status: status.to_string(),
                        desired: t.desired.unwrap_or_default(),
                        at,
                    },
                )
                .await;
        }
        if !done {
            return Ok(());
        }
        let ok = matches!(status, "Successful" | "completed");
        self.publish(
            AUDIT,
            &AuditDetail {
                incident_id: incident_id.to_string(),
                plan_id: t.plan_id.clone(),
                action: t.action,
                outcome: if ok {
                    AuditOutcome::Done
                } else {
                    AuditOutcome::Failed
                },
                detail: Some(format!("ended {status}")),
                at,
            },
        )
        .await
    }

    async fn publish<T: Serialize>(
        &self,
        detail_type: &str,
        detail: &T,
    ) -> Result<(), HandlerError> {
        let detail = serde_json::to_value(detail)
            .map_err(|e| HandlerError::Internal(format!("{detail_type} not serializable: {e}")))?;
        Ok(self.bus.publish(detail_type, &detail).await?)
    }
}

/// Why an approval was not carried out, as the URL answers it.
#[derive(Debug, thiserror::Error)]
enum ApproveFailure {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Approve(#[from] ApproveError),
    #[error(transparent)]
    Handler(#[from] HandlerError),
}

impl From<PortError> for ApproveFailure {
    fn from(e: PortError) -> Self {
        ApproveFailure::Handler(e.into())
    }
}

impl ApproveFailure {
    fn answer(&self) -> HttpAnswer {
        let status = match self {
            ApproveFailure::NotFound(_) | ApproveFailure::Approve(ApproveError::Unknown { .. }) => {
                404
            }
            ApproveFailure::Approve(ApproveError::NotAnApprover(_)) => 403,
            ApproveFailure::Approve(ApproveError::AlreadyDecided { .. }) => 409,
            ApproveFailure::Approve(ApproveError::Port(_)) | ApproveFailure::Handler(_) => 503,
        };
        HttpAnswer::error(status, self)
    }

    fn into_handler(self) -> HandlerError {
        match self {
            ApproveFailure::Handler(e) => e,
            ApproveFailure::Approve(ApproveError::Port(e)) => e.into(),
            other => HandlerError::Event(crate::events::EventError::Invalid {
                what: "approval",
                reason: other.to_string(),
            }),
        }
    }
}

fn summary(action: usize, r: &AuditRecord) -> RunSummary {
    RunSummary {
        action,
        action_id: r.action_id.clone(),
        outcome: r.outcome.as_str().to_string(),
        detail: r.detail.clone(),
    }
}

fn tracked_item(plan_id: &str, action: usize, r: &AuditRecord) -> Option<TrackedItem> {
    let item = Tracked::from_record(r)?;
    let quota = |k: &str| {
        matches!(item, Tracked::QuotaRequest { .. })
            .then(|| r.what[k].as_str().map(str::to_string))
            .flatten()
    };
    let (quota_code, quota_name) = (quota("quota_code"), quota("quota_name"));
    Some(TrackedItem {
        plan_id: plan_id.to_string(),
        action,
        desired: r.after["DesiredValue"].as_f64(),
        item,
        quota_code,
        quota_name,
        last: None,
        done: false,
    })
}

/// Adds a node's report to the incident: one finding per rule (the first node's, with the
/// largest count seen), every node listed.
fn merge_report(incident: &mut Incident, report: &Report) {
    let ctx = &mut incident.context;
    if let Some(n) = &report.bundle.instance_id {
        if !ctx.nodes.contains(n) {
            ctx.nodes.push(n.clone());
        }
    }
    let info = &mut ctx.cluster_info;
    if info.version.is_none() {
        info.version = report
            .bundle
            .cluster_version
            .as_deref()
            .map(|v| v.trim_start_matches('v').into());
    }
    if info.vpc_cni_addon_version.is_none() {
        info.vpc_cni_addon_version = report.bundle.vpc_cni_version.clone();
    }
    for f in &report.findings {
        match incident.findings.iter_mut().find(|o| o.rule == f.rule) {
            Some(o) => merge_finding(o, f),
            None => incident.findings.push(f.clone()),
        }
    }
}

fn merge_finding(kept: &mut Finding, new: &Finding) {
    if new.count > kept.count {
        kept.count = new.count;
    }
}

/// Live cluster facts, with the bundle's where the API left a gap.
fn merge_cluster(
    live: eks_remedy_core::facts::ClusterContext,
    bundle: &eks_remedy_core::facts::ClusterContext,
) -> eks_remedy_core::facts::ClusterContext {
    let mut c = live;
    if c.version.is_none() {
        c.version = bundle.version.clone();
    }
    if c.vpc_cni_addon_version.is_none() {
        c.vpc_cni_addon_version = bundle.vpc_cni_addon_version.clone();
    }
    c
}

fn asks_for_ebs(findings: &[Finding]) -> bool {
    findings.iter().any(|f| {
        f.actions
            .iter()
            .any(|a| matches!(a, eks_remedy_core::report::Action::EbsPerformance {}))
    })
}

/// The throttling incident's per-API counters (`api:<Action>` attributes).
fn api_counters(item: &Value) -> BTreeMap<String, u64> {
    item.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let api = k.strip_prefix("api:")?;
            let n = v
                .as_u64()
                .or_else(|| v.as_f64().map(|f| f as u64))
                .or_else(|| v.as_str()?.parse().ok())?;
            Some((api.to_string(), n))
        })
        .collect()
}

impl<Q, A, V, S, E, L, O, P, I, C> Handler for Remediator<Q, A, V, S, E, L, O, P, I, C>
where
    Q: QuotaApi,
    A: AddonApi,
    V: VolumeApi,
    S: SupportApi,
    E: Ec2Directory,
    L: ActionLedger + AuditLog + RemedyStore,
    O: ObjectStore,
    P: FindingsPublisher,
    I: IncidentStore,
    C: ClusterDirectory,
{
    type Answer = Remedied;

    async fn handle(&self, event: Inbound, _inv: &Invocation) -> Result<Remedied, HandlerError> {
        match event {
            Inbound::Notify(e) => match *e {
                eks_remedy_core::notify::NotifyEvent::Findings(d) => self.findings(&d).await,
                _ => Err(not_mine()),
            },
            Inbound::Remedy(RemedyRequest::LaunchFailure(n)) => self.launch_failure(&n).await,
            Inbound::Remedy(RemedyRequest::Plan { incident_id }) => self.replan(&incident_id).await,
            Inbound::Remedy(RemedyRequest::Approve(_)) => Err(HandlerError::Event(
                crate::events::EventError::Invalid {
                    what: "approval",
                    reason: "a direct invocation has no verified approver: approve through the approval URL (IAM-signed, `eks-remedy approve`) or Slack".into(),
                },
            )),
            Inbound::Http(r) => Ok(self.http(&r).await),
            Inbound::Scheduled(Task::Follow) => self.follow_all().await,
            _ => Err(not_mine()),
        }
    }

    async fn handle_batch(&self, batch: Vec<(String, Inbound)>, inv: &Invocation) -> Vec<String> {
        let mut failed = Vec::new();
        for (id, event) in batch {
            let span = crate::telemetry::event_span(inv.function, &id);
            let result = match event {
                // Only the Slack interactivity function puts approvals on this queue, after
                // verifying Slack's signature: its `by` is the verified approver.
                Inbound::Remedy(RemedyRequest::Approve(a)) => match a.by.clone() {
                    Some(by) if by.starts_with("slack:") => {
                        tracing::Instrument::instrument(self.approve(&a, &by), span.clone())
                            .await
                            .map_err(ApproveFailure::into_handler)
                    }
                    _ => Err(HandlerError::Event(crate::events::EventError::Invalid {
                        what: "approval",
                        reason: "queued approvals must name a verified Slack approver (`by`: `slack:U…`)".into(),
                    })),
                },
                other => tracing::Instrument::instrument(self.handle(other, inv), span.clone()).await,
            };
            if let Err(e) = result {
                if span.in_scope(|| crate::function::settle(&id, &e)) {
                    failed.push(id);
                }
            }
        }
        failed
    }
}

fn not_mine() -> HandlerError {
    HandlerError::Event(crate::events::EventError::Invalid {
        what: "event",
        reason: "not an event the remediation function acts on".into(),
    })
}
