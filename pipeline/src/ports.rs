//! Ports: one small trait per capability the handlers need. The AWS adapters (crate `eks-remedy-aws`)
//! implement them with the SDK; [`crate::fakes`] implements them in memory for tests.
//!
//! Methods return `impl Future + Send` so handlers stay generic (static dispatch) and run on the
//! multi-threaded Lambda runtime.

use std::future::Future;
use std::io::Read;

use crate::model::{ClusterContext, CollectionRequest, FoldResult, FoldWrite, Instance, Volume};

/// The state of a node's collection lock for a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeLock {
    /// Taken now, for this incident.
    Acquired,
    /// Already this incident's (a retry); holds the command sent, if any.
    Ours {
        /// Command already sent under this lock.
        command_id: Option<String>,
    },
    /// Held by another incident in this window.
    Taken,
}
use crate::PortError;

/// Finds instances and volumes (EC2).
pub trait Ec2Directory: Send + Sync {
    /// The instance that owns a private (or public) IP, if any.
    fn instance_by_ip(
        &self,
        ip: &str,
    ) -> impl Future<Output = Result<Option<Instance>, PortError>> + Send;
    /// Instances by id; unknown ids are left out.
    fn instances(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Instance>, PortError>> + Send;
    /// A volume by id.
    fn volume(&self, id: &str) -> impl Future<Output = Result<Option<Volume>, PortError>> + Send;
    /// (ENIs, IPv4 per ENI) of an instance type, from `DescribeInstanceTypes`.
    fn type_limits(
        &self,
        instance_type: &str,
    ) -> impl Future<Output = Result<Option<(u32, u32)>, PortError>> + Send;
    /// vCPUs of an instance type (`DescribeInstanceTypes` → `VCpuInfo.DefaultVCpus`).
    fn vcpus(
        &self,
        instance_type: &str,
    ) -> impl Future<Output = Result<Option<u32>, PortError>> + Send;
    /// EC2 API calls made so far: the pipeline must not add much to the throttling it reacts to.
    fn calls(&self) -> u64 {
        0
    }
}

/// Finds clusters and their settings (EKS).
pub trait ClusterDirectory: Send + Sync {
    /// The cluster whose OIDC issuer backs an IAM OIDC provider ARN (IRSA callers).
    fn cluster_for_oidc(
        &self,
        provider_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// Cluster version, endpoint and VPC CNI add-on.
    fn describe(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<ClusterContext, PortError>> + Send;
    /// A managed node group as `DescribeNodegroup` shows it: health issues, instance types,
    /// capacity type, desired and maximum size.
    fn nodegroup(
        &self,
        cluster: &str,
        nodegroup: &str,
    ) -> impl Future<Output = Result<NodegroupFacts, PortError>> + Send;
}

/// What a failed scale-up's node group says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodegroupFacts {
    /// Health issues (`health.issues`), as `<code>: <message>`.
    pub health: Vec<String>,
    /// Instance types it launches (`instanceTypes`), first preferred.
    pub instance_types: Vec<String>,
    /// `capacityType` is `SPOT`.
    pub spot: bool,
    /// `scalingConfig.minSize`.
    #[serde(default)]
    pub min_size: Option<u32>,
    /// `scalingConfig.desiredSize`.
    #[serde(default)]
    pub desired_size: Option<u32>,
    /// `scalingConfig.maxSize`.
    #[serde(default)]
    pub max_size: Option<u32>,
}

/// Incident state (DynamoDB): conditional writes, TTL honoured on read.
pub trait IncidentStore: Send + Sync {
    /// Folds a batch into an incident (creating it), claiming nodes within the budget, in one write.
    fn fold(&self, write: &FoldWrite)
        -> impl Future<Output = Result<FoldResult, PortError>> + Send;
    /// Takes the one-collection-per-node-per-window lock for `incident_id`.
    fn lock_node(
        &self,
        instance_id: &str,
        window: &str,
        incident_id: &str,
        expires_epoch: i64,
    ) -> impl Future<Output = Result<NodeLock, PortError>> + Send;
    /// Records a command sent for an incident (so status events find their incident), on the node lock too.
    fn record_command(
        &self,
        command_id: &str,
        request: &CollectionRequest,
        expires_epoch: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The request behind a command id.
    fn command(
        &self,
        command_id: &str,
    ) -> impl Future<Output = Result<Option<CollectionRequest>, PortError>> + Send;
    /// Appends a note (e.g. a failed collection) to an incident.
    fn note(
        &self,
        incident_id: &str,
        note: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Records the findings of one node's bundle on its incident.
    fn record_findings(
        &self,
        incident_id: &str,
        instance_id: &str,
        rules: &[String],
        report_key: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Marks an incident as opened; true only for the first mark (a conditional write), so the
    /// incidents-opened metric counts each incident once whatever the replays and containers.
    fn mark_opened(
        &self,
        incident_id: &str,
        expires_epoch: i64,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The incident item as stored (None when absent or expired).
    fn incident(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, PortError>> + Send;
}

/// The collection queue (SQS), rate-limited by the collector's concurrency.
pub trait CollectionQueue: Send + Sync {
    /// Enqueues a request, delivered after `delay_seconds` (settle time after a launch).
    fn enqueue(
        &self,
        request: &CollectionRequest,
        delay_seconds: u32,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Starts log collection on a node (SSM).
pub trait CommandRunner: Send + Sync {
    /// Runs the EKS Logs Collector on `instance_id` and has the node upload the bundle to exactly
    /// `key` in `bucket` (and nowhere else). The automation runbook names its upload itself, so
    /// that method ignores `key`. Returns the command (or automation execution) id.
    fn collect(
        &self,
        instance_id: &str,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// What an Auto Scaling group's tags say it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// Cluster, from `eks:cluster-name` or `kubernetes.io/cluster/<name>` /
    /// `k8s.io/cluster-autoscaler/<name>`.
    pub cluster: Option<String>,
    /// Managed node group, from `eks:nodegroup-name`.
    pub nodegroup: Option<String>,
}

/// Auto Scaling: lifecycle actions, and which cluster a group serves.
pub trait Lifecycle: Send + Sync {
    /// The group's cluster and node group, from its tags; `None` for an unknown group.
    fn group(&self, asg: &str)
        -> impl Future<Output = Result<Option<GroupInfo>, PortError>> + Send;
    /// `CompleteLifecycleAction` with `CONTINUE`.
    fn proceed(
        &self,
        asg: &str,
        hook: &str,
        token: &str,
        instance_id: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Bundle and report objects (S3).
pub trait ObjectStore: Send + Sync {
    /// Streams an object's body; the reader is used on a blocking thread.
    fn open(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Box<dyn Read + Send>, PortError>> + Send;
    /// An object's size in bytes (`HeadObject`), read before deciding to stream it.
    fn size(&self, bucket: &str, key: &str) -> impl Future<Output = Result<u64, PortError>> + Send;
    /// Writes an object.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Keys under `prefix`, in key order, at most `max` of them.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
    /// Moves an object within the bucket (server-side copy, then delete of the original).
    fn relocate(
        &self,
        bucket: &str,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Publishes the findings event for notification and remediation (EventBridge).
pub trait FindingsPublisher: Send + Sync {
    /// Publishes one event.
    fn publish(
        &self,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// What the notifier keeps per incident: the view folded from the bus events, and what each chat
/// target last received of it (so a failed delivery loses nothing).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NotifyState {
    /// The incident as messages show it.
    pub view: eks_remedy_core::notify::IncidentView,
    /// Per target: fingerprint delivered, the Slack message, changes not yet announced.
    pub outbox: eks_remedy_chat::outbox::Outbox,
}

/// Why the resolve check looks at an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watch {
    /// Open: resolved once quiet for the quiet period.
    Open,
    /// Resolved, but a target still owes a change (a resolve message that failed or that the
    /// rate limit held): the check retries it, after the open ones.
    Owed,
}

impl Watch {
    /// The name stores index it under.
    pub fn as_str(self) -> &'static str {
        match self {
            Watch::Open => "open",
            Watch::Owed => "owed",
        }
    }
}

impl NotifyState {
    /// Whether, and from when, the resolve check must look at this incident: the time of its
    /// latest event while it is open or owed; `None` once resolved and delivered, or for a view
    /// without a dated event (every bus event is dated by its envelope). Stores index the state
    /// by it, so the check never scans.
    pub fn watch(&self) -> Option<(Watch, chrono::DateTime<chrono::Utc>)> {
        let last = self.view.last_event_at?;
        if self.view.status == eks_remedy_core::notify::Status::Open {
            Some((Watch::Open, last))
        } else if self.outbox.targets.values().any(|t| !t.pending.is_empty()) {
            Some((Watch::Owed, last))
        } else {
            None
        }
    }
}

/// An incident the resolve check found quiet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiet {
    /// The incident.
    pub incident_id: String,
    /// Its latest event as the index saw it (the resolve is dated by it, so a newer event the
    /// index has not seen yet keeps the incident open).
    pub last_event_at: chrono::DateTime<chrono::Utc>,
}

/// A stored value with the version its next conditional write must name.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version (1 for the first write).
    pub version: u64,
}

/// How a conditional write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Written.
    Written,
    /// Someone wrote since it was read: reload, re-apply and try again.
    Conflict,
}

/// The notifier's state (DynamoDB): each incident's [`NotifyState`] and each channel's rate
/// limiter, written only if unchanged since read (optimistic concurrency: two invocations for one
/// incident never overwrite each other's deliveries).
pub trait ViewStore: Send + Sync {
    /// The incident's state, when there is one.
    fn load_view(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Option<Versioned<NotifyState>>, PortError>> + Send;
    /// Writes `state` as version `version + 1` if the stored one is still `version` (`None`: if
    /// there is none yet); it expires at `expires_epoch`.
    fn save_view(
        &self,
        incident_id: &str,
        state: &NotifyState,
        version: Option<u64>,
        expires_epoch: i64,
    ) -> impl Future<Output = Result<Saved, PortError>> + Send;
    /// A channel's rate limiter, when there is one.
    fn load_limiter(
        &self,
        channel: &str,
    ) -> impl Future<
        Output = Result<Option<Versioned<eks_remedy_core::notify::noise::Limiter>>, PortError>,
    > + Send;
    /// Incidents whose [`NotifyState::watch`] time is before `before`, at most `max` (the rest
    /// waits for the next check): the open ones first, oldest first, then the owed ones, so
    /// retries never keep a new resolve waiting. From an index, never a scan; it may lag the
    /// views by a moment (the resolve is dated by the time it gives, see [`Quiet`]).
    fn quiet_views(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Quiet>, PortError>> + Send;
    /// Writes a channel's limiter under the same condition as [`ViewStore::save_view`].
    fn save_limiter(
        &self,
        channel: &str,
        limiter: &eks_remedy_core::notify::noise::Limiter,
        version: Option<u64>,
        expires_epoch: i64,
    ) -> impl Future<Output = Result<Saved, PortError>> + Send;
}

/// Pre-signs links to report objects (S3), for the messages that show them.
pub trait Presigner: Send + Sync {
    /// A URL that lets whoever holds it GET `key` of `bucket` for `expires` (at most 7 days, the
    /// most SigV4 allows). Signed with the function's own temporary credentials, the URL stops
    /// working when they expire too, whichever comes first: the messages are re-rendered with a
    /// fresh link on every update.
    fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: std::time::Duration,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// No presigner: messages carry no report link.
#[derive(Debug, Clone, Copy)]
pub enum NoPresigner {}

impl Presigner for NoPresigner {
    async fn presign_get(
        &self,
        _: &str,
        _: &str,
        _: std::time::Duration,
    ) -> Result<String, PortError> {
        match *self {}
    }
}

/// The configured chat targets. Their secrets are read when first needed (an SSM call cannot run
/// while the handler is built), then kept for the container's life.
pub trait Channels: Send + Sync {
    /// Every configured target, in configuration order.
    fn targets(
        &self,
    ) -> impl Future<Output = Result<&[Box<dyn eks_remedy_chat::target::Target>], PortError>> + Send;

    /// Sends the one message summing up the incidents the rate limit of the target named
    /// `target` held; `Ok(false)` when that target takes no summary (the default).
    fn summary(
        &self,
        target: &str,
        summary: &eks_remedy_core::notify::noise::Summary,
    ) -> impl Future<Output = Result<bool, eks_remedy_chat::DeliveryError>> + Send {
        let _ = (target, summary);
        async { Ok(false) }
    }
}

impl Channels for Vec<Box<dyn eks_remedy_chat::target::Target>> {
    async fn targets(&self) -> Result<&[Box<dyn eks_remedy_chat::target::Target>], PortError> {
        Ok(self.as_slice())
    }
}
