//! Ports of the remediation executor: the AWS APIs it reads and writes, and the ledger that makes
//! it safe (idempotency, budgets, circuit breaker, approvals) and keeps the audit trail. The SDK
//! adapters live in `eks-remedy-aws` (`remedy` module); [`super::fakes`] has in-memory ones.
//!
//! Read methods and write methods are kept apart on purpose: `observe` and `dry-run` call only the
//! former, and the tests count the latter.

use std::future::Future;

use chrono::{DateTime, Utc};
use eks_remedy_core::plan::guards::Budget;
use eks_remedy_core::plan::ActionKind;
use serde::{Deserialize, Serialize};

use super::audit::AuditRecord;
use super::PendingApproval;
use crate::PortError;

/// A quota as Service Quotas reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaInfo {
    /// Service code (`ec2`).
    pub service_code: String,
    /// Quota code (`L-1216C47A`).
    pub quota_code: String,
    /// Exact quota name.
    pub name: String,
    /// Its value: applied, or the AWS default where none is applied.
    pub value: f64,
    /// Whether it can be raised by request.
    pub adjustable: bool,
}

/// The status of a quota increase request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestStatus {
    /// Received, not yet decided.
    Pending,
    /// A support case was opened for it.
    CaseOpened,
    /// Granted: the quota is raised.
    Approved,
    /// Refused.
    Denied,
    /// Its support case was closed.
    CaseClosed,
    /// Not approved (e.g. no support case allowed).
    NotApproved,
    /// The request was invalid.
    InvalidRequest,
    /// A status this build does not know.
    Other(String),
}

impl RequestStatus {
    /// Parses the API's status string.
    pub fn parse(s: &str) -> RequestStatus {
        match s {
            "PENDING" => RequestStatus::Pending,
            "CASE_OPENED" => RequestStatus::CaseOpened,
            "APPROVED" => RequestStatus::Approved,
            "DENIED" => RequestStatus::Denied,
            "CASE_CLOSED" => RequestStatus::CaseClosed,
            "NOT_APPROVED" => RequestStatus::NotApproved,
            "INVALID_REQUEST" => RequestStatus::InvalidRequest,
            other => RequestStatus::Other(other.to_string()),
        }
    }

    /// The API's status string.
    pub fn as_str(&self) -> &str {
        match self {
            RequestStatus::Pending => "PENDING",
            RequestStatus::CaseOpened => "CASE_OPENED",
            RequestStatus::Approved => "APPROVED",
            RequestStatus::Denied => "DENIED",
            RequestStatus::CaseClosed => "CASE_CLOSED",
            RequestStatus::NotApproved => "NOT_APPROVED",
            RequestStatus::InvalidRequest => "INVALID_REQUEST",
            RequestStatus::Other(s) => s,
        }
    }

    /// Open requests block a new one for the same quota.
    pub fn is_open(&self) -> bool {
        matches!(self, RequestStatus::Pending | RequestStatus::CaseOpened)
    }
}

/// A quota increase request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaRequest {
    /// Request id.
    pub id: String,
    /// Support case id, once a case is opened.
    pub case_id: Option<String>,
    /// Service code.
    pub service_code: String,
    /// Quota code.
    pub quota_code: String,
    /// Value asked for.
    pub desired_value: f64,
    /// Where it stands.
    pub status: RequestStatus,
}

/// What asking for an increase gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Requested {
    /// A new request.
    Created(QuotaRequest),
    /// `ResourceAlreadyExistsException`: one is already open (it is adopted, never repeated).
    AlreadyOpen,
}

/// Service Quotas.
pub trait QuotaApi: Send + Sync {
    /// Quotas with an applied value for a service (`ListServiceQuotas`, every page).
    fn applied_quotas(
        &self,
        service_code: &str,
    ) -> impl Future<Output = Result<Vec<QuotaInfo>, PortError>> + Send;
    /// The AWS defaults for a service (`ListAWSDefaultServiceQuotas`, every page).
    fn default_quotas(
        &self,
        service_code: &str,
    ) -> impl Future<Output = Result<Vec<QuotaInfo>, PortError>> + Send;
    /// The applied value (`GetServiceQuota`); `None` when only the default exists.
    fn applied(
        &self,
        service_code: &str,
        quota_code: &str,
    ) -> impl Future<Output = Result<Option<QuotaInfo>, PortError>> + Send;
    /// The AWS default (`GetAWSDefaultServiceQuota`); `None` for an unknown quota.
    fn default_quota(
        &self,
        service_code: &str,
        quota_code: &str,
    ) -> impl Future<Output = Result<Option<QuotaInfo>, PortError>> + Send;
    /// Requests for a quota with an open status (`ListRequestedServiceQuotaChangeHistoryByQuota`
    /// for `PENDING` and for `CASE_OPENED`).
    fn open_requests(
        &self,
        service_code: &str,
        quota_code: &str,
    ) -> impl Future<Output = Result<Vec<QuotaRequest>, PortError>> + Send;
    /// One request (`GetRequestedServiceQuotaChange`): how the follower tracks it.
    fn request(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<QuotaRequest>, PortError>> + Send;
    /// Write: `RequestServiceQuotaIncrease`.
    fn request_increase(
        &self,
        service_code: &str,
        quota_code: &str,
        desired_value: f64,
    ) -> impl Future<Output = Result<Requested, PortError>> + Send;
}

/// A managed add-on as `DescribeAddon` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddonState {
    /// Installed version.
    pub version: String,
    /// `configurationValues` (a JSON string, possibly empty).
    pub configuration_values: Option<String>,
    /// `ACTIVE`, `UPDATING`, ...
    pub status: String,
}

/// An `UpdateAddon` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddonUpdateRequest {
    /// Cluster name.
    pub cluster: String,
    /// Add-on name.
    pub addon: String,
    /// Version to install (the current one to only change configuration).
    pub version: String,
    /// The complete new `configurationValues`.
    pub configuration_values: String,
    /// Always `PRESERVE`: changes made on the cluster by hand are kept.
    pub resolve_conflicts: String,
    /// Idempotency token: a replay returns the same update.
    pub client_request_token: String,
}

/// An add-on update as `UpdateAddon` / `DescribeUpdate` report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddonUpdate {
    /// Update id.
    pub id: String,
    /// `InProgress`, `Successful`, `Failed`, `Cancelled`.
    pub status: String,
    /// Error messages of a failed update.
    pub errors: Vec<String>,
}

/// EKS managed add-ons.
pub trait AddonApi: Send + Sync {
    /// The add-on (`DescribeAddon`); `None` when it is not a managed add-on (self-managed).
    fn addon(
        &self,
        cluster: &str,
        addon: &str,
    ) -> impl Future<Output = Result<Option<AddonState>, PortError>> + Send;
    /// The JSON schema of a version's `configurationValues` (`DescribeAddonConfiguration`).
    fn configuration_schema(
        &self,
        addon: &str,
        version: &str,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
    /// An update (`DescribeUpdate`).
    fn update_status(
        &self,
        cluster: &str,
        addon: &str,
        update_id: &str,
    ) -> impl Future<Output = Result<Option<AddonUpdate>, PortError>> + Send;
    /// Write: `UpdateAddon`.
    fn update(
        &self,
        request: &AddonUpdateRequest,
    ) -> impl Future<Output = Result<AddonUpdate, PortError>> + Send;
}

/// An EBS volume's performance settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeState {
    /// Volume id.
    pub volume_id: String,
    /// `gp2`, `gp3`, ...
    pub volume_type: String,
    /// Size in GiB.
    pub size_gib: u32,
    /// Provisioned (or baseline) IOPS.
    pub iops: Option<u32>,
    /// Throughput in MiB/s (gp3).
    pub throughput: Option<u32>,
}

/// A volume modification (`DescribeVolumesModifications`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeModification {
    /// Volume id.
    pub volume_id: String,
    /// `modifying`, `optimizing`, `completed`, `failed`.
    pub state: String,
    /// When it started.
    pub started: Option<DateTime<Utc>>,
}

/// The change `ModifyVolume` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeTarget {
    /// New type.
    pub volume_type: String,
    /// New IOPS.
    pub iops: Option<u32>,
    /// New throughput.
    pub throughput: Option<u32>,
}

/// EBS volumes.
pub trait VolumeApi: Send + Sync {
    /// A volume (`DescribeVolumes`); `None` when it does not exist.
    fn volume(
        &self,
        volume_id: &str,
    ) -> impl Future<Output = Result<Option<VolumeState>, PortError>> + Send;
    /// The volumes attached to an instance (`DescribeVolumes` by `attachment.instance-id`).
    fn attached(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = Result<Vec<VolumeState>, PortError>> + Send;
    /// Its modifications (`DescribeVolumesModifications`), newest included.
    fn modifications(
        &self,
        volume_id: &str,
    ) -> impl Future<Output = Result<Vec<VolumeModification>, PortError>> + Send;
    /// Write: `ModifyVolume`.
    fn modify(
        &self,
        volume_id: &str,
        target: &VolumeTarget,
    ) -> impl Future<Output = Result<VolumeModification, PortError>> + Send;
}

/// An AWS Support case to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportCase {
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Support service code (`general-info`).
    pub service_code: String,
    /// Category code (`using-aws`).
    pub category_code: String,
}

/// AWS Support (only with a Business or Enterprise support plan).
pub trait SupportApi: Send + Sync {
    /// Write: `CreateCase`; returns the case id.
    fn create_case(
        &self,
        case: &SupportCase,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// What a decision on a pending approval found.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// This call decided it (a conditional write): here is what was pending.
    Now(Box<PendingApproval>),
    /// Someone decided it before: `(approver, approved)`.
    Already(String, bool),
    /// Nothing pending under that plan and action.
    Unknown,
}

/// The executor's memory: idempotency claims, budgets, failures, approvals. Every write is
/// conditional, so concurrent invocations (a storm, a replay) cannot both pass a guard.
pub trait ActionLedger: Send + Sync {
    /// Claims `key` (incident and action) for one execution; false when already claimed.
    fn claim(
        &self,
        key: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Gives a claim back after a failed execution, so a later run may try again.
    fn release(&self, key: &str) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Whether `key` is claimed.
    fn claimed(&self, key: &str) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Keeps what the claimed execution did on its claim. A failure after the write (the audit
    /// item, the state save) retries the event; the retry then reports this record again instead
    /// of holding on its own claim, so the execution is never missing from the audit trail.
    fn settle(
        &self,
        key: &str,
        record: &AuditRecord,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The record kept on a live claim, if any.
    fn settled(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<AuditRecord>, PortError>> + Send;
    /// Takes one unit of `kind`'s budget for the hour and the day before `at`; false (and nothing
    /// taken) when either is spent.
    fn spend(
        &self,
        kind: ActionKind,
        at: DateTime<Utc>,
        budget: Budget,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Units of `kind` spent in the hour and in the day before `at`.
    fn spent(
        &self,
        kind: ActionKind,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(u32, u32), PortError>> + Send;
    /// Records a failed execution of `kind` (the circuit breaker counts them).
    fn record_failure(
        &self,
        kind: ActionKind,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Failed executions of `kind` since `since`.
    fn failures_since(
        &self,
        kind: ActionKind,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<u32, PortError>> + Send;
    /// Stores an action awaiting approval; false when it is already stored (a replay).
    fn put_pending(
        &self,
        pending: &PendingApproval,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// A stored pending action, decided or not.
    fn pending(
        &self,
        plan_id: &str,
        action_id: &str,
    ) -> impl Future<Output = Result<Option<PendingApproval>, PortError>> + Send;
    /// Decides a pending action once (conditional write from pending to decided).
    fn decide(
        &self,
        plan_id: &str,
        action_id: &str,
        approver: &str,
        approved: bool,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Decided, PortError>> + Send;
    /// Undoes a decision whose execution could not happen yet (held by the budget or breaker, or a
    /// failed write), so an approver can decide again later.
    fn reopen(
        &self,
        plan_id: &str,
        action_id: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where audit records go (DynamoDB, the incident, the bus: the adapter decides).
pub trait AuditLog: Send + Sync {
    /// Appends one record.
    fn record(&self, record: &AuditRecord) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// What the remediation function keeps per incident: everything it learnt (findings of every
/// node, launch failures), the plan it last made, what it ran, and what it follows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemedyState {
    /// The findings of the incident's nodes (one per rule) and its context.
    pub incident: eks_remedy_core::plan::Incident,
    /// Findings events already merged, by `<instance>` or launch-failure event id: a replay
    /// merges nothing.
    pub merged: std::collections::BTreeSet<String>,
    /// The plan last made.
    pub plan: Option<eks_remedy_core::plan::Plan>,
    /// Action ids already run on their rung for this incident: a new plan runs only its new
    /// actions.
    pub ran: std::collections::BTreeSet<String>,
    /// What was started and is followed until it ends.
    pub tracked: Vec<TrackedItem>,
}

/// One thing started by an action, followed by the schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedItem {
    /// The plan that started it.
    pub plan_id: String,
    /// Index of the action in that plan.
    pub action: usize,
    /// What is followed.
    pub item: super::follow::Tracked,
    /// The quota's code (quota requests only).
    #[serde(default)]
    pub quota_code: Option<String>,
    /// The quota's name, for status messages (quota requests only).
    #[serde(default)]
    pub quota_name: Option<String>,
    /// The value asked for (quota requests only).
    #[serde(default)]
    pub desired: Option<f64>,
    /// Status last seen.
    #[serde(default)]
    pub last: Option<String>,
    /// It ended.
    #[serde(default)]
    pub done: bool,
}

/// A plan's incident and its action ids in plan order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanIndex {
    /// The incident.
    pub incident_id: String,
    /// Action ids, by index.
    pub actions: Vec<String>,
}

/// Where [`RemedyState`] lives (DynamoDB), with optimistic concurrency like the notifier's views.
pub trait RemedyStore: Send + Sync {
    /// The incident's state.
    fn load_state(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Option<crate::ports::Versioned<RemedyState>>, PortError>> + Send;
    /// Writes `state` if the stored version is still `version` (`None`: if there is none).
    fn save_state(
        &self,
        incident_id: &str,
        state: &RemedyState,
        version: Option<u64>,
    ) -> impl Future<Output = Result<crate::ports::Saved, PortError>> + Send;
    /// Records a plan's incident and action ids (approvals name only the plan and an index).
    fn index_plan(
        &self,
        plan_id: &str,
        index: &PlanIndex,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// What [`RemedyStore::index_plan`] recorded.
    fn plan_index(
        &self,
        plan_id: &str,
    ) -> impl Future<Output = Result<Option<PlanIndex>, PortError>> + Send;
    /// Marks an incident as having (or no longer having) something to follow.
    fn set_following(
        &self,
        incident_id: &str,
        following: bool,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Incidents with something to follow, at most `max`.
    fn following(&self, max: usize) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
}
