//! In-memory remediation ports that behave like the services where the executor depends on it
//! (one open request per quota, schema-checked add-on updates, conditional ledger writes) and count
//! the write calls they receive.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_core::plan::guards::Budget;
use eks_remedy_core::plan::ActionKind;

use super::audit::AuditRecord;
use super::ports::{
    ActionLedger, AddonApi, AddonState, AddonUpdate, AddonUpdateRequest, AuditLog, Decided,
    PlanIndex, QuotaApi, QuotaInfo, QuotaRequest, RemedyState, RemedyStore, RequestStatus,
    Requested, SupportApi, SupportCase, VolumeApi, VolumeModification, VolumeState, VolumeTarget,
};
use super::PendingApproval;
use crate::ports::{Saved, Versioned};
use crate::PortError;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Service Quotas: `applied` quotas (what `ListServiceQuotas` shows), `defaults`, and requests.
#[derive(Default)]
pub struct FakeQuotas {
    /// Applied quotas.
    pub applied: Mutex<Vec<QuotaInfo>>,
    /// AWS defaults.
    pub defaults: Mutex<Vec<QuotaInfo>>,
    /// Requests made (and any a test seeds).
    pub requests: Mutex<Vec<QuotaRequest>>,
    /// `RequestServiceQuotaIncrease` calls.
    pub writes: AtomicU32,
    /// Every call's operation name, in order.
    pub calls: Mutex<Vec<&'static str>>,
}

impl FakeQuotas {
    fn call(&self, op: &'static str) {
        lock(&self.calls).push(op);
    }
}

impl QuotaApi for FakeQuotas {
    async fn applied_quotas(&self, service_code: &str) -> Result<Vec<QuotaInfo>, PortError> {
        self.call("ListServiceQuotas");
        Ok(lock(&self.applied)
            .iter()
            .filter(|q| q.service_code == service_code)
            .cloned()
            .collect())
    }
    async fn default_quotas(&self, service_code: &str) -> Result<Vec<QuotaInfo>, PortError> {
        self.call("ListAWSDefaultServiceQuotas");
        Ok(lock(&self.defaults)
            .iter()
            .filter(|q| q.service_code == service_code)
            .cloned()
            .collect())
    }
    async fn applied(&self, s: &str, c: &str) -> Result<Option<QuotaInfo>, PortError> {
        self.call("GetServiceQuota");
        Ok(lock(&self.applied)
            .iter()
            .find(|q| q.service_code == s && q.quota_code == c)
            .cloned())
    }
    async fn default_quota(&self, s: &str, c: &str) -> Result<Option<QuotaInfo>, PortError> {
        self.call("GetAWSDefaultServiceQuota");
        Ok(lock(&self.defaults)
            .iter()
            .find(|q| q.service_code == s && q.quota_code == c)
            .cloned())
    }
    async fn open_requests(&self, s: &str, c: &str) -> Result<Vec<QuotaRequest>, PortError> {
        self.call("ListRequestedServiceQuotaChangeHistoryByQuota");
        Ok(lock(&self.requests)
            .iter()
            .filter(|r| r.service_code == s && r.quota_code == c && r.status.is_open())
            .cloned()
            .collect())
    }
    async fn request(&self, id: &str) -> Result<Option<QuotaRequest>, PortError> {
        self.call("GetRequestedServiceQuotaChange");
        Ok(lock(&self.requests).iter().find(|r| r.id == id).cloned())
    }
    async fn request_increase(
        &self,
        s: &str,
        c: &str,
        desired: f64,
    ) -> Result<Requested, PortError> {
        self.call("RequestServiceQuotaIncrease");
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut reqs = lock(&self.requests);
        if reqs
            .iter()
            .any(|r| r.service_code == s && r.quota_code == c && r.status.is_open())
        {
            return Ok(Requested::AlreadyOpen);
        }
        let r = QuotaRequest {
            id: format!("req-{}", reqs.len() + 1),
            case_id: None,
            service_code: s.into(),
            quota_code: c.into(),
            desired_value: desired,
            status: RequestStatus::Pending,
        };
        reqs.push(r.clone());
        Ok(Requested::Created(r))
    }
}

/// EKS add-ons: one per (cluster, name), schemas per version, updates validated by the caller's
/// schema being the one given here.
#[derive(Default)]
pub struct FakeAddons {
    /// Add-ons by (cluster, name).
    pub addons: Mutex<BTreeMap<(String, String), AddonState>>,
    /// Configuration schema per version.
    pub schemas: BTreeMap<String, String>,
    /// Updates made, by id.
    pub updates: Mutex<Vec<(AddonUpdateRequest, AddonUpdate)>>,
    /// Fails every update with this error, when set (for breaker tests).
    pub fail_updates: Option<PortError>,
    /// `UpdateAddon` calls.
    pub writes: AtomicU32,
}

impl AddonApi for FakeAddons {
    async fn addon(&self, cluster: &str, addon: &str) -> Result<Option<AddonState>, PortError> {
        Ok(lock(&self.addons)
            .get(&(cluster.to_string(), addon.to_string()))
            .cloned())
    }
    async fn configuration_schema(&self, addon: &str, version: &str) -> Result<String, PortError> {
        self.schemas
            .get(version)
            .cloned()
            .ok_or_else(|| PortError::Refused {
                service: "eks",
                message: format!("no configuration schema for {addon} {version}"),
            })
    }
    async fn update_status(
        &self,
        _cluster: &str,
        _addon: &str,
        id: &str,
    ) -> Result<Option<AddonUpdate>, PortError> {
        Ok(lock(&self.updates)
            .iter()
            .find(|(_, u)| u.id == id)
            .map(|(_, u)| u.clone()))
    }
    async fn update(&self, req: &AddonUpdateRequest) -> Result<AddonUpdate, PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = &self.fail_updates {
            return Err(e.clone());
        }
        let mut updates = lock(&self.updates);
        if let Some((_, u)) = updates
            .iter()
            .find(|(r, _)| r.client_request_token == req.client_request_token)
        {
            return Ok(u.clone());
        }
        let u = AddonUpdate {
            id: format!("upd-{}", updates.len() + 1),
            status: "InProgress".into(),
            errors: Vec::new(),
        };
        updates.push((req.clone(), u.clone()));
        if let Some(a) = lock(&self.addons).get_mut(&(req.cluster.clone(), req.addon.clone())) {
            a.version = req.version.clone();
            a.configuration_values = Some(req.configuration_values.clone());
            a.status = "UPDATING".into();
        }
        Ok(u)
    }
}

/// EBS volumes and their modifications.
#[derive(Default)]
pub struct FakeVolumes {
    /// Volumes by id.
    pub volumes: Mutex<HashMap<String, VolumeState>>,
    /// Modifications, oldest first.
    pub modifications: Mutex<Vec<VolumeModification>>,
    /// (volume, instance) attachments.
    pub attachments: Mutex<Vec<(String, String)>>,
    /// What `ModifyVolume` records as the start (the tests' clock).
    pub now: Mutex<Option<DateTime<Utc>>>,
    /// `ModifyVolume` calls.
    pub writes: AtomicU32,
}

impl VolumeApi for FakeVolumes {
    async fn volume(&self, id: &str) -> Result<Option<VolumeState>, PortError> {
        Ok(lock(&self.volumes).get(id).cloned())
    }
    async fn attached(&self, instance_id: &str) -> Result<Vec<VolumeState>, PortError> {
        let ids: Vec<String> = lock(&self.attachments)
            .iter()
            .filter(|(_, i)| i == instance_id)
            .map(|(v, _)| v.clone())
            .collect();
        let vols = lock(&self.volumes);
        Ok(ids.iter().filter_map(|id| vols.get(id).cloned()).collect())
    }
    async fn modifications(&self, id: &str) -> Result<Vec<VolumeModification>, PortError> {
        Ok(lock(&self.modifications)
            .iter()
            .filter(|m| m.volume_id == id)
            .cloned()
            .collect())
    }
    async fn modify(&self, id: &str, t: &VolumeTarget) -> Result<VolumeModification, PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut vols = lock(&self.volumes);
        let v = vols.get_mut(id).ok_or_else(|| PortError::NotFound {
            service: "ec2",
            message: id.into(),
        })?;
        v.volume_type = t.volume_type.clone();
        v.iops = t.iops.or(v.iops);
        v.throughput = t.throughput.or(v.throughput);
        let m = VolumeModification {
            volume_id: id.into(),
            state: "modifying".into(),
            started: *lock(&self.now),
        };
        lock(&self.modifications).push(m.clone());
        Ok(m)
    }
}

/// AWS Support.
#[derive(Default)]
pub struct FakeSupport {
    /// Cases opened.
    pub cases: Mutex<Vec<SupportCase>>,
    /// `CreateCase` calls.
    pub writes: AtomicU32,
}

impl SupportApi for FakeSupport {
    async fn create_case(&self, case: &SupportCase) -> Result<String, PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut cases = lock(&self.cases);
        cases.push(case.clone());
        Ok(format!("case-{}", cases.len()))
    }
}

/// A pending action and, once decided, (approver, approved).
type Pending = (PendingApproval, Option<(String, bool)>);

#[derive(Default)]
struct LedgerState {
    claims: BTreeMap<String, DateTime<Utc>>,
    settled: BTreeMap<String, AuditRecord>,
    spent: BTreeMap<ActionKind, Vec<DateTime<Utc>>>,
    failures: BTreeMap<ActionKind, Vec<DateTime<Utc>>>,
    pending: BTreeMap<(String, String), Pending>,
}

/// The ledger and audit log in memory, with the conditional-write semantics of the real one.
#[derive(Default)]
pub struct MemoryLedger {
    state: Mutex<LedgerState>,
    /// Every audit record, in order.
    pub records: Mutex<Vec<AuditRecord>>,
    /// Remediation state per incident, with its version.
    pub states: Mutex<BTreeMap<String, (u64, RemedyState)>>,
    plans: Mutex<BTreeMap<String, PlanIndex>>,
    following: Mutex<std::collections::BTreeSet<String>>,
}

impl ActionLedger for MemoryLedger {
    async fn claim(&self, key: &str, at: DateTime<Utc>) -> Result<bool, PortError> {
        let mut s = lock(&self.state);
        if s.claims.contains_key(key) {
            return Ok(false);
        }
        s.claims.insert(key.into(), at);
        Ok(true)
    }
    async fn release(&self, key: &str) -> Result<(), PortError> {
        let mut s = lock(&self.state);
        s.claims.remove(key);
        s.settled.remove(key);
        Ok(())
    }
    async fn claimed(&self, key: &str) -> Result<bool, PortError> {
        Ok(lock(&self.state).claims.contains_key(key))
    }
    async fn settle(&self, key: &str, record: &AuditRecord) -> Result<(), PortError> {
        let mut s = lock(&self.state);
        if s.claims.contains_key(key) {
            s.settled.insert(key.into(), record.clone());
        }
        Ok(())
    }
    async fn settled(&self, key: &str) -> Result<Option<AuditRecord>, PortError> {
        let s = lock(&self.state);
        Ok(s.claims
            .contains_key(key)
            .then(|| s.settled.get(key).cloned())
            .flatten())
    }
    async fn spend(
        &self,
        kind: ActionKind,
        at: DateTime<Utc>,
        budget: Budget,
    ) -> Result<bool, PortError> {
        let mut s = lock(&self.state);
        let times = s.spent.entry(kind).or_default();
        let (hour, day) = window_counts(times, at);
        if hour >= budget.per_hour || day >= budget.per_day {
            return Ok(false);
        }
        times.push(at);
        Ok(true)
    }
    async fn spent(&self, kind: ActionKind, at: DateTime<Utc>) -> Result<(u32, u32), PortError> {
        let s = lock(&self.state);
        Ok(s.spent.get(&kind).map_or((0, 0), |t| window_counts(t, at)))
    }
    async fn record_failure(&self, kind: ActionKind, at: DateTime<Utc>) -> Result<(), PortError> {
        lock(&self.state).failures.entry(kind).or_default().push(at);
        Ok(())
    }
    async fn failures_since(
        &self,
        kind: ActionKind,
        since: DateTime<Utc>,
    ) -> Result<u32, PortError> {
        let s = lock(&self.state);
        Ok(s.failures
            .get(&kind)
            .map_or(0, |t| t.iter().filter(|&&x| x > since).count() as u32))
    }
    async fn put_pending(&self, p: &PendingApproval) -> Result<bool, PortError> {
        let mut s = lock(&self.state);
        let k = (p.plan_id.clone(), p.action.id.clone());
        if s.pending.contains_key(&k) {
            return Ok(false);
        }
        s.pending.insert(k, (p.clone(), None));
        Ok(true)
    }
    async fn pending(
        &self,
        plan_id: &str,
        action_id: &str,
    ) -> Result<Option<PendingApproval>, PortError> {
        let s = lock(&self.state);
        Ok(s.pending
            .get(&(plan_id.to_string(), action_id.to_string()))
            .map(|(p, _)| p.clone()))
    }
    async fn decide(
        &self,
        plan_id: &str,
        action_id: &str,
        approver: &str,
        approved: bool,
        _at: DateTime<Utc>,
    ) -> Result<Decided, PortError> {
        let mut s = lock(&self.state);
        let Some((p, decision)) = s
            .pending
            .get_mut(&(plan_id.to_string(), action_id.to_string()))
        else {
            return Ok(Decided::Unknown);
        };
        if let Some((by, ok)) = decision {
            return Ok(Decided::Already(by.clone(), *ok));
        }
        *decision = Some((approver.to_string(), approved));
        Ok(Decided::Now(Box::new(p.clone())))
    }
    async fn reopen(&self, plan_id: &str, action_id: &str) -> Result<(), PortError> {
        if let Some((_, decision)) = lock(&self.state)
            .pending
            .get_mut(&(plan_id.to_string(), action_id.to_string()))
        {
            *decision = None;
        }
        Ok(())
    }
}

impl AuditLog for MemoryLedger {
    async fn record(&self, record: &AuditRecord) -> Result<(), PortError> {
        lock(&self.records).push(record.clone());
        Ok(())
    }
}

fn window_counts(times: &[DateTime<Utc>], at: DateTime<Utc>) -> (u32, u32) {
    let count = |d: TimeDelta| times.iter().filter(|&&t| t > at - d && t <= at).count() as u32;
    (count(TimeDelta::hours(1)), count(TimeDelta::days(1)))
}

/// Inputs the remediation tests share (unit tests here, moto tests in `eks-remedy-aws`).
pub mod fixtures {
    use eks_remedy_core::plan::guards::AllowLists;
    use eks_remedy_core::plan::{LaunchFailure, PlanError};
    use eks_remedy_core::report::Finding;
    use serde_json::{json, Value};

    use crate::remedy::RemedySettings;

    /// The shape of the vpc-cni schema EKS returns (draft-06, `$ref`, closed objects, string env).
    pub fn vpc_cni_schema(with_cluster_endpoint: bool) -> String {
        let mut env = serde_json::Map::new();
        for k in [
            "AWS_VPC_K8S_CNI_LOGLEVEL",
            "ENABLE_PREFIX_DELEGATION",
            "MINIMUM_IP_TARGET",
            "WARM_ENI_TARGET",
            "WARM_IP_TARGET",
        ] {
            env.insert(k.into(), json!({"type": "string"}));
        }
        if with_cluster_endpoint {
            env.insert("CLUSTER_ENDPOINT".into(), json!({"type": "string"}));
        }
        json!({
            "$ref": "#/definitions/VpcCni",
            "$schema": "http://json-schema.org/draft-06/schema#",
            "definitions": {
                "Env": {"additionalProperties": false, "properties": env, "type": "object"},
                "NodeAgent": {"additionalProperties": false, "properties": {"enablePolicyEventLogs": {"type": "string"}}, "type": "object"},
                "VpcCni": {"additionalProperties": false, "type": "object", "properties": {
                    "env": {"$ref": "#/definitions/Env"},
                    "nodeAgent": {"$ref": "#/definitions/NodeAgent"}
                }}
            }
        })
        .to_string()
    }

    /// A finding of `rule` with these `actions` and `details`, the rest empty.
    pub fn finding(
        rule: &str,
        actions: Value,
        details: Value,
    ) -> Result<Finding, serde_json::Error> {
        serde_json::from_value(json!({
            "rule": rule, "severity": "high", "title": rule, "summary": "", "why": "", "count": 1,
            "first_seen": null, "last_seen": null, "first_seen_since_boot_s": null, "evidence": [],
            "details": details, "fix": [], "actions": actions, "docs": [], "root_cause": false,
            "caused_by": []
        }))
    }

    /// `ec2-api-throttling` of a node with a small WARM_IP_TARGET.
    pub fn throttling() -> Result<Finding, serde_json::Error> {
        finding(
            "ec2-api-throttling",
            json!([{"kind": "service-quota-review", "apis": ["AssignPrivateIpAddresses"]}]),
            json!({"warm_ip_target": "2", "metric_by_api": {"AssignPrivateIpAddresses": 37}}),
        )
    }

    /// `ebs-io-throttling`.
    pub fn ebs() -> Result<Finding, serde_json::Error> {
        finding(
            "ebs-io-throttling",
            json!([{"kind": "ebs-performance"}]),
            json!({}),
        )
    }

    /// A node group's m5.xlarge launch that failed with `code`, 3 instances short.
    pub fn launch_failure(code: &str) -> LaunchFailure {
        LaunchFailure {
            code: code.into(),
            message: "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to.".into(),
            group: Some("eks-ng-a".into()),
            instance_type: Some("m5.xlarge".into()),
            vcpus: Some(4),
            instances_short: 3,
            spot: false,
            max_size: None,
        }
    }

    /// Every acting kind on `mode`, every allow-list `*`, `approver` the one approver.
    pub fn settings(mode: &str, actor: &str, approver: &str) -> Result<RemedySettings, PlanError> {
        let mut s = RemedySettings {
            actor: actor.into(),
            approvers: vec![approver.into()],
            ..RemedySettings::default()
        };
        for k in [
            "vpc-cni-addon",
            "ebs-volume",
            "service-quota",
            "support-case",
        ] {
            s.plan.set_mode(&format!("{k}={mode}"))?;
        }
        let all = vec!["*".to_string()];
        s.plan.guards.allow = AllowLists {
            accounts: all.clone(),
            clusters: all.clone(),
            node_groups: all.clone(),
            quota_codes: all.clone(),
            addons: all,
        };
        Ok(s)
    }
}

impl RemedyStore for MemoryLedger {
    async fn load_state(
        &self,
        incident_id: &str,
    ) -> Result<Option<Versioned<RemedyState>>, PortError> {
        Ok(lock(&self.states)
            .get(incident_id)
            .map(|(version, value)| Versioned {
                value: value.clone(),
                version: *version,
            }))
    }

    async fn save_state(
        &self,
        incident_id: &str,
        state: &RemedyState,
        version: Option<u64>,
    ) -> Result<Saved, PortError> {
        let mut states = lock(&self.states);
        if states.get(incident_id).map(|(v, _)| *v) != version {
            return Ok(Saved::Conflict);
        }
        let next = version.unwrap_or(0) + 1;
        states.insert(incident_id.to_string(), (next, state.clone()));
        Ok(Saved::Written)
    }

    async fn index_plan(&self, plan_id: &str, index: &PlanIndex) -> Result<(), PortError> {
        lock(&self.plans).insert(plan_id.to_string(), index.clone());
        Ok(())
    }

    async fn plan_index(&self, plan_id: &str) -> Result<Option<PlanIndex>, PortError> {
        Ok(lock(&self.plans).get(plan_id).cloned())
    }

    async fn set_following(&self, incident_id: &str, following: bool) -> Result<(), PortError> {
        let mut f = lock(&self.following);
        if following {
            f.insert(incident_id.to_string());
        } else {
            f.remove(incident_id);
        }
        Ok(())
    }

    async fn following(&self, max: usize) -> Result<Vec<String>, PortError> {
        Ok(lock(&self.following).iter().take(max).cloned().collect())
    }
}
