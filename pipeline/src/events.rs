//! Inbound events, parsed from untrusted JSON into what the handlers act on.
//!
//! Every trigger arrives as an EventBridge envelope (directly, or as the body of an SQS message), or as
//! a documented manual payload; an S3 bucket notification (`Records` of `aws:s3`) is read too, its
//! form-encoded key decoded. Parsing never panics; a payload that is not what it claims to be gets
//! an [`EventError`] naming what was wrong, and events for other sources are [`Inbound::Foreign`] so a
//! handler can acknowledge them without retrying.

use std::collections::BTreeMap;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use eks_remedy_core::notify::event::DETAIL_TYPES as NOTIFY_DETAIL_TYPES;
use eks_remedy_core::notify::NotifyEvent;

use crate::model::CollectionRequest;

/// Source of the events the pipeline publishes on its own bus (findings, plans, approvals, …).
pub const BUS_SOURCE: &str = "eks-remedy";

/// Why an event could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// JSON of the right source and type, but a field is missing or has the wrong type.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which event kind.
        what: &'static str,
        /// The serde error, which names the field.
        source: serde_json::Error,
    },
    /// A required value is absent or unusable.
    #[error("{what}: {reason}")]
    Invalid {
        /// Which event kind.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Which caller made a throttled EC2 call, from its user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Caller {
    /// The Amazon VPC CNI (ipamd).
    VpcCni,
    /// Karpenter.
    Karpenter,
    /// Anything else.
    Other,
}

impl Caller {
    /// Classifies a CloudTrail `userAgent`. The VPC CNI's format changed in v1.22.0; both contain
    /// `amazon-vpc-cni-k8s`.
    pub fn from_user_agent(ua: &str) -> Caller {
        if ua.contains("amazon-vpc-cni-k8s") {
            Caller::VpcCni
        } else if ua.contains("karpenter.sh") || ua.contains("karpenter") {
            Caller::Karpenter
        } else {
            Caller::Other
        }
    }

    /// Name used in counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Caller::VpcCni => "vpc-cni",
            Caller::Karpenter => "karpenter",
            Caller::Other => "other",
        }
    }
}

/// An EC2 API call that CloudTrail recorded as throttled.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottledCall {
    /// CloudTrail `eventID` (idempotency key).
    pub event_id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The API (`AssignPrivateIpAddresses`).
    pub api: String,
    /// Who called.
    pub caller: Caller,
    /// Source IP (the node's address for ipamd).
    pub source_ip: String,
    /// The IAM role or user ARN behind the call.
    pub principal_arn: Option<String>,
    /// The IRSA OIDC provider, when the caller used web identity (identifies the cluster).
    pub oidc_provider: Option<String>,
    /// When.
    pub time: DateTime<Utc>,
}

/// An Auto Scaling instance launch, plain or as a lifecycle hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// EventBridge event id.
    pub event_id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Auto Scaling group.
    pub asg: String,
    /// The new instance.
    pub instance_id: String,
    /// When.
    pub time: DateTime<Utc>,
    /// For lifecycle actions: (hook name, token), to complete with CONTINUE.
    pub lifecycle: Option<(String, String)>,
    /// Launched into the group's warm pool (`Destination: WarmPool`): stopped or hibernated there
    /// until a scale-out moves it into the group, so not a node yet.
    pub into_warm_pool: bool,
}

/// Why EC2 refused an Auto Scaling launch, read from the activity's status message and cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LaunchError {
    /// `VcpuLimitExceeded`: the vCPU quota of the instance's bucket (On-Demand or Spot).
    VcpuLimitExceeded,
    /// `InstanceLimitExceeded`: the older per-type instance limit.
    InstanceLimitExceeded,
    /// `MaxSpotInstanceCountExceeded`.
    MaxSpotInstanceCountExceeded,
    /// `NetworkInterfaceLimitExceeded`: network interfaces per Region.
    NetworkInterfaceLimitExceeded,
    /// `VolumeLimitExceeded`: EBS storage quota.
    VolumeLimitExceeded,
    /// `InsufficientInstanceCapacity`: AWS has no capacity of that type in that zone; not a quota.
    InsufficientInstanceCapacity,
    /// Anything else (the message is kept).
    Other,
}

impl LaunchError {
    /// Every code this reads, as EC2 writes it.
    const CODES: [(&'static str, LaunchError); 6] = [
        ("VcpuLimitExceeded", LaunchError::VcpuLimitExceeded),
        ("InstanceLimitExceeded", LaunchError::InstanceLimitExceeded),
        (
            "MaxSpotInstanceCountExceeded",
            LaunchError::MaxSpotInstanceCountExceeded,
        ),
        (
            "NetworkInterfaceLimitExceeded",
            LaunchError::NetworkInterfaceLimitExceeded,
        ),
        ("VolumeLimitExceeded", LaunchError::VolumeLimitExceeded),
        (
            "InsufficientInstanceCapacity",
            LaunchError::InsufficientInstanceCapacity,
        ),
    ];

    /// The code in a status message or cause (`Client.VcpuLimitExceeded`, `... You have requested
    /// more vCPU capacity ...`): the first code named as a word, else the error whose documented
    /// sentence the text contains.
    pub fn from_text(text: &str) -> LaunchError {
        let words = text.split(|c: char| !c.is_ascii_alphanumeric());
        for w in words {
            if let Some((_, e)) = Self::CODES.iter().find(|(code, _)| *code == w) {
                return *e;
            }
        }
        Self::SENTENCES
            .iter()
            .find(|(sentence, _)| text.contains(sentence))
            .map_or(LaunchError::Other, |(_, e)| *e)
    }

    /// EC2's messages as Auto Scaling's `StatusMessage` carries them, without their code (the Auto
    /// Scaling troubleshooting guide lists them). Not "<n> instance(s) are already running": that
    /// is the group's own maximum, not an EC2 limit.
    const SENTENCES: [(&'static str, LaunchError); 5] = [
        (
            "more vCPU capacity than your current vCPU limit",
            LaunchError::VcpuLimitExceeded,
        ),
        (
            "than your current instance limit of",
            LaunchError::InstanceLimitExceeded,
        ),
        (
            "Max spot instance count exceeded",
            LaunchError::MaxSpotInstanceCountExceeded,
        ),
        (
            "We currently do not have sufficient",
            LaunchError::InsufficientInstanceCapacity,
        ),
        (
            "There is no Spot capacity available",
            LaunchError::InsufficientInstanceCapacity,
        ),
    ];

    /// EC2's name for it (`other` for the rest).
    pub fn as_str(self) -> &'static str {
        Self::CODES
            .iter()
            .find(|(_, e)| *e == self)
            .map_or("other", |(code, _)| code)
    }

    /// Whether a Service Quotas request can help (never for missing capacity).
    pub fn is_quota(self) -> bool {
        !matches!(
            self,
            LaunchError::InsufficientInstanceCapacity | LaunchError::Other
        )
    }
}

/// An Auto Scaling launch that EC2 refused (`EC2 Instance Launch Unsuccessful`).
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchFailure {
    /// EventBridge event id.
    pub event_id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Auto Scaling group.
    pub asg: String,
    /// Why.
    pub error: LaunchError,
    /// EC2's message (untrusted text; cut to 1,000 characters).
    pub message: String,
    /// Availability Zone, when given.
    pub zone: Option<String>,
    /// Subnet, when given.
    pub subnet: Option<String>,
    /// When.
    pub time: DateTime<Utc>,
}

/// A CloudWatch alarm that went to ALARM on an EBS or EC2 EBS-balance metric.
#[derive(Debug, Clone, PartialEq)]
pub struct EbsAlarm {
    /// EventBridge event id.
    pub event_id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Alarm name.
    pub alarm: String,
    /// Metric name.
    pub metric: String,
    /// `vol-…` for AWS/EBS metrics.
    pub volume_id: Option<String>,
    /// `i-…` for AWS/EC2 EBSIOBalance% / EBSByteBalance%.
    pub instance_id: Option<String>,
    /// When.
    pub time: DateTime<Utc>,
}

/// An SSM Run Command invocation changed status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandStatus {
    /// Command id.
    #[serde(rename = "command-id")]
    pub command_id: String,
    /// Instance.
    #[serde(rename = "instance-id")]
    pub instance_id: String,
    /// Document.
    #[serde(rename = "document-name", default)]
    pub document: String,
    /// `Pending, InProgress, Delayed, Success, Failed, Cancelled, TimedOut`.
    pub status: String,
}

impl CommandStatus {
    /// Whether the command has finished, one way or another.
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Success" | "Failed" | "Cancelled" | "TimedOut" | "Undeliverable" | "Terminated"
        )
    }
}

/// An SSM Automation execution changed status (the `AWSSupport-CollectEKSInstanceLogs` method).
/// The event names neither the instance nor the bucket: the recorded request does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomationStatus {
    /// Execution id (what `StartAutomationExecution` returned).
    #[serde(rename = "ExecutionId")]
    pub execution_id: String,
    /// Runbook name.
    #[serde(rename = "Definition", default)]
    pub definition: String,
    /// `Pending, InProgress, Waiting, Success, TimedOut, Cancelling, Cancelled, Failed, ...`.
    #[serde(rename = "Status")]
    pub status: String,
}

impl AutomationStatus {
    /// Whether the execution has finished, one way or another.
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Success"
                | "Failed"
                | "TimedOut"
                | "Cancelled"
                | "Rejected"
                | "CompletedWithSuccess"
                | "CompletedWithFailure"
                | "Exited"
        )
    }

    /// Whether it finished well (the runbook uploaded a bundle).
    pub fn succeeded(&self) -> bool {
        matches!(self.status.as_str(), "Success" | "CompletedWithSuccess")
    }
}

/// A new object in the pipeline's bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
}

/// Manual payloads, documented in the README. `"action"` selects the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Manual {
    /// Collect logs from these instances of this cluster.
    Collect {
        /// Cluster name.
        cluster: String,
        /// Instances.
        instance_ids: Vec<String>,
        /// Region (defaults to the function's).
        #[serde(default)]
        region: Option<String>,
        /// Account (defaults to the function's).
        #[serde(default)]
        account: Option<String>,
        /// Why, for the incident.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Analyze this bundle object.
    Analyze {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// Detail type of the scale-up watcher's event for a launch that failed on a limit.
pub const LAUNCH_FAILURE_DETAIL_TYPE: &str = "eks-remedy launch failure";

/// A scheduled task. Each schedule rule of the template sends one of these as its constant input
/// (`{"schedule": "follow"}`), so a function tells its schedules apart without parsing times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// The notifier resolves incidents that stayed quiet.
    ResolveCheck,
    /// The remediation function follows open quota requests, add-on updates and volume
    /// modifications.
    Follow,
}

impl Task {
    fn parse(v: &Value) -> Result<Task, EventError> {
        serde_json::from_value(v.clone()).map_err(|_| {
            // The value is the caller's: named, but cut, in the error and the logs.
            let shown: String = v.to_string().chars().take(80).collect();
            EventError::Invalid {
                what: "scheduled task",
                reason: format!(
                    "unknown schedule {shown}; expected \"resolve-check\" or \"follow\""
                ),
            }
        })
    }
}

/// A request to the remediation function: `{"plan": {...}}`, `{"approve": {...}}`, or the
/// scale-up watcher's launch-failure event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RemedyRequest {
    /// Plan (again) for an incident, from what the pipeline knows of it.
    Plan {
        /// The incident (`IncidentKey::id`).
        incident_id: String,
    },
    /// An approver's decision on actions waiting for approval.
    Approve(ApprovalRequest),
    /// A node group's launch failed on a limit (never from a manual payload).
    #[serde(skip)]
    LaunchFailure(Box<LaunchFailureNotice>),
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Carry it out (after the guards are checked again).
    Approve,
    /// Do not.
    Reject,
}

/// A decision on one action of a plan, or on every action of it that waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The plan.
    pub plan_id: String,
    /// The action's 0-based index in the plan, as chat buttons and `eks-remedy approve --action`
    /// name it; absent: every action of the plan that waits for approval.
    #[serde(default)]
    pub action: Option<usize>,
    /// Approve or reject.
    pub verdict: Verdict,
    /// Who decided, as the channel that verified them names them (`slack:U0123`). Set only by the
    /// Slack interactivity function on the remediation queue; anywhere else the verified caller
    /// (the function URL's IAM identity) is the approver and this field is refused.
    #[serde(default)]
    pub by: Option<String>,
}

/// The scale-up watcher's `eks-remedy launch failure` event detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchFailureNotice {
    /// The Auto Scaling event's id (a redelivery carries the same).
    pub event_id: String,
    /// The cluster's scale-up incident.
    pub incident_id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Cluster.
    pub cluster: String,
    /// Auto Scaling group.
    pub asg: String,
    /// Managed node group, when the group is one.
    #[serde(default)]
    pub nodegroup: Option<String>,
    /// EC2's error code (`VcpuLimitExceeded`, ...).
    pub error: String,
    /// Whether the code names a quota.
    #[serde(default)]
    pub quota: bool,
    /// EC2's message (untrusted, cut by the watcher).
    #[serde(default)]
    pub message: String,
    /// EKS node group health issues seen with it.
    #[serde(default)]
    pub health_issues: Vec<String>,
    /// The instance type the group launches (its first), when known.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Its vCPUs, when known.
    #[serde(default)]
    pub vcpus: Option<u32>,
    /// The group launches Spot capacity.
    #[serde(default)]
    pub spot: bool,
    /// The managed node group's `maxSize`, on a `NodegroupAtMaxSize` notice.
    #[serde(default)]
    pub max_size: Option<u32>,
    /// Availability Zone of the failed launch.
    #[serde(default)]
    pub zone: Option<String>,
    /// Subnet of the failed launch.
    #[serde(default)]
    pub subnet: Option<String>,
}

/// Largest function URL body read (an approval is a few hundred bytes; Slack's are a few KB).
pub const MAX_HTTP_BODY: usize = 64 << 10;

/// An HTTP request to a function URL, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// The request id Lambda gave it.
    pub request_id: String,
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// Headers, names in lower case (as function URLs deliver them).
    pub headers: BTreeMap<String, String>,
    /// The body, base64-decoded when it came encoded.
    pub body: Vec<u8>,
    /// The caller's IAM ARN, as AWS verified it: present only on a URL with `AuthType: AWS_IAM`.
    pub caller: Option<String>,
}

impl HttpRequest {
    fn parse(value: Value) -> Result<HttpRequest, EventError> {
        const WHAT: &str = "function URL request";
        let r: LambdaFunctionUrlRequest = serde_json::from_value(value).map_err(malformed(WHAT))?;
        let raw = r.body.unwrap_or_default();
        let body = if r.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(raw.as_bytes())
                .map_err(|e| EventError::Invalid {
                    what: WHAT,
                    reason: format!("body is not base64: {e}"),
                })?
        } else {
            raw.into_bytes()
        };
        if body.len() > MAX_HTTP_BODY {
            return Err(EventError::Invalid {
                what: WHAT,
                reason: format!("body of {} bytes, over {MAX_HTTP_BODY}", body.len()),
            });
        }
        let headers = r
            .headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let ctx = r.request_context;
        Ok(HttpRequest {
            request_id: ctx.request_id.unwrap_or_default(),
            method: ctx.http.method.unwrap_or_default().to_ascii_uppercase(),
            path: r.raw_path.unwrap_or_else(|| "/".into()),
            headers,
            body,
            caller: ctx
                .authorizer
                .and_then(|a| a.iam)
                .and_then(|i| i.user_arn)
                .filter(|a| a.starts_with("arn:")),
        })
    }
}

/// What arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Throttled EC2 call.
    Throttled(ThrottledCall),
    /// Instance launch.
    Launch(Launch),
    /// A launch EC2 refused.
    LaunchFailed(LaunchFailure),
    /// EBS alarm.
    EbsAlarm(EbsAlarm),
    /// SSM Run Command status change.
    Command(CommandStatus),
    /// SSM Automation execution status change.
    Automation(AutomationStatus),
    /// S3 Object Created.
    Object(ObjectRef),
    /// A manual payload.
    Manual(Manual),
    /// A collection request from the pipeline's own collection queue.
    Collection(CollectionRequest),
    /// An event of the pipeline's own bus that chat messages follow (findings, a failed
    /// collection, a plan, an approval, an audit record, a quota status, a resolve).
    Notify(Box<NotifyEvent>),
    /// A request to the remediation function (plan, approve, a launch failure to plan for).
    Remedy(RemedyRequest),
    /// A scheduled task: the constant input of one of the template's schedule rules.
    Scheduled(Task),
    /// An HTTP request to a function URL.
    Http(Box<HttpRequest>),
    /// A well-formed event this pipeline does not handle (source, type): acknowledged, not retried.
    Foreign(String, String),
}

/// The kind of an [`Inbound`], for routing: each function declares the kinds it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// [`Inbound::Throttled`].
    Throttled,
    /// [`Inbound::Launch`].
    Launch,
    /// [`Inbound::LaunchFailed`].
    LaunchFailed,
    /// [`Inbound::EbsAlarm`].
    EbsAlarm,
    /// [`Inbound::Command`].
    Command,
    /// [`Inbound::Automation`].
    Automation,
    /// [`Inbound::Object`].
    Object,
    /// [`Manual::Collect`].
    ManualCollect,
    /// [`Manual::Analyze`].
    ManualAnalyze,
    /// [`Inbound::Collection`].
    Collection,
    /// [`Inbound::Notify`], except findings.
    Notify,
    /// [`Inbound::Notify`] with the analyzer's findings: both the notifier and the remediation
    /// function take them (the bus fans them out to both queues).
    Findings,
    /// [`RemedyRequest::Plan`].
    ManualPlan,
    /// [`RemedyRequest::Approve`].
    Approve,
    /// [`RemedyRequest::LaunchFailure`]: the scale-up watcher's bus event.
    LaunchFailureNotice,
    /// [`Task::ResolveCheck`].
    ResolveCheck,
    /// [`Task::Follow`].
    Follow,
    /// [`Inbound::Http`]: routed by the function URL it was sent to, not by a rule.
    Http,
    /// [`Inbound::Foreign`].
    Foreign,
}

impl Kind {
    /// Name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Throttled => "throttled",
            Kind::Launch => "launch",
            Kind::LaunchFailed => "launch-failed",
            Kind::EbsAlarm => "ebs-alarm",
            Kind::Command => "command",
            Kind::Automation => "automation",
            Kind::Object => "object",
            Kind::ManualCollect => "manual-collect",
            Kind::ManualAnalyze => "manual-analyze",
            Kind::Collection => "collection",
            Kind::Notify => "notify",
            Kind::Findings => "findings",
            Kind::ManualPlan => "manual-plan",
            Kind::Approve => "approve",
            Kind::LaunchFailureNotice => "launch-failure-notice",
            Kind::ResolveCheck => "resolve-check",
            Kind::Follow => "follow",
            Kind::Http => "http",
            Kind::Foreign => "foreign",
        }
    }
}

impl Inbound {
    /// What kind of event this is.
    pub fn kind(&self) -> Kind {
        match self {
            Inbound::Throttled(_) => Kind::Throttled,
            Inbound::Launch(_) => Kind::Launch,
            Inbound::LaunchFailed(_) => Kind::LaunchFailed,
            Inbound::EbsAlarm(_) => Kind::EbsAlarm,
            Inbound::Command(_) => Kind::Command,
            Inbound::Automation(_) => Kind::Automation,
            Inbound::Object(_) => Kind::Object,
            Inbound::Manual(Manual::Collect { .. }) => Kind::ManualCollect,
            Inbound::Manual(Manual::Analyze { .. }) => Kind::ManualAnalyze,
            Inbound::Collection(_) => Kind::Collection,
            Inbound::Notify(e) if matches!(**e, NotifyEvent::Findings(_)) => Kind::Findings,
            Inbound::Notify(_) => Kind::Notify,
            Inbound::Remedy(RemedyRequest::Plan { .. }) => Kind::ManualPlan,
            Inbound::Remedy(RemedyRequest::Approve(_)) => Kind::Approve,
            Inbound::Remedy(RemedyRequest::LaunchFailure(_)) => Kind::LaunchFailureNotice,
            Inbound::Scheduled(Task::ResolveCheck) => Kind::ResolveCheck,
            Inbound::Scheduled(Task::Follow) => Kind::Follow,
            Inbound::Http(_) => Kind::Http,
            Inbound::Foreign(..) => Kind::Foreign,
        }
    }

    /// The event's own id, where it has one (for logs).
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Inbound::Throttled(t) => Some(&t.event_id),
            Inbound::Launch(l) => Some(&l.event_id),
            Inbound::LaunchFailed(l) => Some(&l.event_id),
            Inbound::EbsAlarm(a) => Some(&a.event_id),
            Inbound::Command(c) => Some(&c.command_id),
            Inbound::Automation(a) => Some(&a.execution_id),
            Inbound::Object(o) => Some(&o.key),
            Inbound::Collection(r) => Some(&r.incident_id),
            Inbound::Notify(e) => Some(e.incident_id()),
            Inbound::Remedy(RemedyRequest::Plan { incident_id }) => Some(incident_id),
            Inbound::Remedy(RemedyRequest::Approve(a)) => Some(&a.plan_id),
            Inbound::Remedy(RemedyRequest::LaunchFailure(n)) => Some(&n.event_id),
            Inbound::Http(h) => Some(&h.request_id),
            Inbound::Manual(_) | Inbound::Scheduled(_) | Inbound::Foreign(..) => None,
        }
    }
}

/// One message of an SQS batch: its id (to report it failed) and its body, parsed on its own so a
/// bad message fails alone.
#[derive(Debug)]
pub struct Message {
    /// SQS message id.
    pub id: String,
    /// The parsed body.
    pub event: Result<Inbound, EventError>,
}

/// What a function was invoked with, parsed once at the edge.
#[derive(Debug)]
pub enum Input {
    /// One event: EventBridge (a rule target or a direct invoke) or a manual payload.
    One(Inbound),
    /// An SQS batch.
    Batch(Vec<Message>),
}

impl Input {
    /// Parses an invocation payload: an SQS batch (`Records` of `aws:sqs`), or one event.
    pub fn parse(payload: Value) -> Result<Input, EventError> {
        let is_batch = payload
            .get("Records")
            .and_then(Value::as_array)
            .is_some_and(|r| {
                r.iter().all(|m| {
                    m.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
                        || m.get("messageId").is_some()
                })
            });
        if !is_batch {
            return parse_value(payload).map(Input::One);
        }
        let batch: SqsEvent = serde_json::from_value(payload).map_err(malformed("SQS batch"))?;
        let mut messages = Vec::with_capacity(batch.records.len());
        for m in batch.records {
            // Without an id a message cannot be reported failed; SQS always sets one.
            let Some(id) = m.message_id.filter(|id| !id.is_empty()) else {
                tracing::error!("SQS message without a message id; skipped");
                continue;
            };
            let event = match m.body.as_deref() {
                Some(body) if !body.trim().is_empty() => parse(body),
                _ => Err(EventError::Invalid {
                    what: "SQS message",
                    reason: "empty body".into(),
                }),
            };
            messages.push(Message { id, event });
        }
        Ok(Input::Batch(messages))
    }
}

#[derive(Serialize, Deserialize)]
struct S3Detail {
    bucket: S3Bucket,
    object: S3Object,
}
#[derive(Serialize, Deserialize)]
struct S3Bucket {
    name: String,
}
#[derive(Serialize, Deserialize)]
struct S3Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
}

/// The parts of a CloudTrail record the watcher reads. Not `aws_lambda_events`' `AWSAPICall`: that
/// types `webIdFederationData.attributes` as a string, but real IRSA events carry an object there,
/// and it requires fields (`requestID`, `eventType`, ...) that are irrelevant here.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudTrailDetail {
    #[serde(rename = "eventID", default)]
    event_id: Option<String>,
    #[serde(default)]
    event_name: Option<String>,
    #[serde(default)]
    event_time: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(rename = "sourceIPAddress", default)]
    source_ip_address: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    user_identity: Option<Identity>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    session_context: Option<SessionContext>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    #[serde(default)]
    session_issuer: Option<Value>,
    #[serde(default)]
    web_id_federation_data: Option<Value>,
}

/// Metrics the EBS alarm watcher acts on.
pub const EBS_METRICS: &[(&str, &str)] = &[
    ("AWS/EBS", "VolumeIOPSExceededCheck"),
    ("AWS/EBS", "VolumeThroughputExceededCheck"),
    ("AWS/EBS", "BurstBalance"),
    ("AWS/EBS", "VolumeQueueLength"),
    ("AWS/EBS", "VolumeStalledIOCheck"),
    ("AWS/EC2", "EBSIOBalance%"),
    ("AWS/EC2", "EBSByteBalance%"),
];

fn malformed(what: &'static str) -> impl FnOnce(serde_json::Error) -> EventError {
    move |source| EventError::Malformed { what, source }
}

fn required(what: &'static str, field: &str, v: Option<String>) -> Result<String, EventError> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| EventError::Invalid {
            what,
            reason: format!("missing {field}"),
        })
}

/// Parses one event body (EventBridge envelope or manual payload).
pub fn parse(body: &str) -> Result<Inbound, EventError> {
    let value: Value = serde_json::from_str(body).map_err(EventError::NotJson)?;
    parse_value(value)
}

/// Parses one already-decoded event.
pub fn parse_value(value: Value) -> Result<Inbound, EventError> {
    if let Some(task) = value.get("schedule") {
        return Task::parse(task).map(Inbound::Scheduled);
    }
    if value.get("plan").is_some() || value.get("approve").is_some() {
        return serde_json::from_value(value)
            .map(Inbound::Remedy)
            .map_err(malformed("remediation request"));
    }
    if value.get("requestContext").is_some() && value.get("rawPath").is_some() {
        return HttpRequest::parse(value).map(|r| Inbound::Http(Box::new(r)));
    }
    if value.get("action").is_some() {
        return serde_json::from_value(value)
            .map(Inbound::Manual)
            .map_err(malformed("manual payload"));
    }
    // S3 event notifications (S3 → Lambda, or an SQS body of S3 → SQS): not what the template
    // configures (it uses EventBridge), but the shape S3 documents for a bucket notification,
    // which a replay or a hand-made bucket configuration delivers.
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        if records
            .iter()
            .any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:s3"))
        {
            return parse_s3_notification(value);
        }
    }
    // The message S3 sends once when a notification is configured: nothing to analyse.
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Inbound::Foreign("aws.s3".into(), "s3:TestEvent".into()));
    }
    // The collection queue's own messages: a collection request has no envelope.
    if value.get("incident_id").is_some() && value.get("instance_id").is_some() {
        return serde_json::from_value(value)
            .map(Inbound::Collection)
            .map_err(malformed("collection request"));
    }
    let (Some(source), Some(detail_type)) = (
        value
            .get("source")
            .and_then(Value::as_str)
            .map(str::to_string),
        value
            .get("detail-type")
            .and_then(Value::as_str)
            .map(str::to_string),
    ) else {
        return Err(EventError::Invalid {
            what: "event",
            reason:
                "neither an EventBridge event (source, detail-type) nor a manual payload (action)"
                    .into(),
        });
    };
    match (source.as_str(), detail_type.as_str()) {
        ("aws.ec2", "AWS API Call via CloudTrail") => parse_throttle(value)
            .map(|t| t.map_or(Inbound::Foreign(source, detail_type), Inbound::Throttled)),
        (
            "aws.autoscaling",
            "EC2 Instance Launch Successful" | "EC2 Instance-launch Lifecycle Action",
        ) => parse_launch(value).map(Inbound::Launch),
        ("aws.autoscaling", "EC2 Instance Launch Unsuccessful") => {
            parse_launch_failure(value).map(Inbound::LaunchFailed)
        }
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => parse_alarm(value)
            .map(|a| a.map_or(Inbound::Foreign(source, detail_type), Inbound::EbsAlarm)),
        ("aws.ssm", "EC2 Command Invocation Status-change Notification") => {
            let e: EventBridgeEvent<CommandStatus> =
                serde_json::from_value(value).map_err(malformed("SSM status change"))?;
            Ok(Inbound::Command(e.detail))
        }
        ("aws.ssm", "EC2 Automation Execution Status-change Notification") => {
            let e: EventBridgeEvent<AutomationStatus> =
                serde_json::from_value(value).map_err(malformed("SSM Automation status change"))?;
            Ok(Inbound::Automation(e.detail))
        }
        (BUS_SOURCE, LAUNCH_FAILURE_DETAIL_TYPE) => {
            let e: EventBridgeEvent<LaunchFailureNotice> =
                serde_json::from_value(value).map_err(malformed("launch failure notice"))?;
            Ok(Inbound::Remedy(RemedyRequest::LaunchFailure(Box::new(
                e.detail,
            ))))
        }
        (BUS_SOURCE, dt) if NOTIFY_DETAIL_TYPES.contains(&dt) => {
            NotifyEvent::from_eventbridge(&value)
                .map(|e| Inbound::Notify(Box::new(e)))
                .map_err(|e| EventError::Invalid {
                    what: "eks-remedy bus event",
                    reason: e.to_string(),
                })
        }
        ("aws.s3", "Object Created") => {
            let e: EventBridgeEvent<S3Detail> =
                serde_json::from_value(value).map_err(malformed("S3 Object Created"))?;
            Ok(Inbound::Object(ObjectRef {
                bucket: e.detail.bucket.name,
                key: e.detail.object.key,
                size: e.detail.object.size,
            }))
        }
        _ => Ok(Inbound::Foreign(source, detail_type)),
    }
}

/// An S3 event notification (`Records` of `aws:s3`). Its object key is URL-encoded as a form value
/// ("red flower.jpg" arrives as `red+flower.jpg`, `=` as `%3D`), unlike the EventBridge event's
/// key, which is the key itself; the handler needs the key as S3 stores it.
#[derive(Serialize, Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3NotificationRecord>,
}
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3NotificationRecord {
    #[serde(default)]
    event_name: Option<String>,
    s3: S3Detail,
}

fn parse_s3_notification(value: Value) -> Result<Inbound, EventError> {
    const WHAT: &str = "S3 event notification";
    let n: S3Notification = serde_json::from_value(value).map_err(malformed(WHAT))?;
    // S3 sends one record per notification; several would need one outcome each, which a single
    // event cannot report, so they are refused rather than half handled.
    let [record] =
        <[S3NotificationRecord; 1]>::try_from(n.records).map_err(|r| EventError::Invalid {
            what: WHAT,
            reason: format!("{} records; S3 sends one per notification", r.len()),
        })?;
    let name = record.event_name.unwrap_or_default();
    if !name.starts_with("ObjectCreated:") {
        return Ok(Inbound::Foreign("aws.s3".into(), name));
    }
    let key = form_decode(&record.s3.object.key).map_err(|reason| EventError::Invalid {
        what: WHAT,
        reason: format!("object key: {reason}"),
    })?;
    Ok(Inbound::Object(ObjectRef {
        bucket: record.s3.bucket.name,
        key,
        size: record.s3.object.size,
    }))
}

/// Decodes an `application/x-www-form-urlencoded` value: `+` is a space, `%XY` a byte, and the
/// bytes must be UTF-8 (S3 keys are).
fn form_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    // `from_str_radix` alone would take a sign (`%+1`).
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad escape at byte {i}"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 once decoded".to_string())
}

/// `None`: a CloudTrail EC2 event that is not a throttling error (the rule should not send those).
fn parse_throttle(value: Value) -> Result<Option<ThrottledCall>, EventError> {
    const WHAT: &str = "CloudTrail EC2 event";
    let e: EventBridgeEvent<CloudTrailDetail> =
        serde_json::from_value(value).map_err(malformed(WHAT))?;
    let call = e.detail;
    if !matches!(
        call.error_code.as_deref(),
        Some("Client.RequestLimitExceeded" | "RequestLimitExceeded")
    ) {
        return Ok(None);
    }
    let identity = call.user_identity.as_ref();
    let session = identity.and_then(|i| i.session_context.as_ref());
    let text = |v: Option<&Value>, k: &str| {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let principal_arn = text(session.and_then(|s| s.session_issuer.as_ref()), "arn")
        .or_else(|| identity.and_then(|i| i.arn.clone()));
    let oidc_provider = text(
        session.and_then(|s| s.web_id_federation_data.as_ref()),
        "federatedProvider",
    );
    let time = call
        .event_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or(e.time)
        .ok_or_else(|| EventError::Invalid {
            what: WHAT,
            reason: format!("unreadable eventTime {:?}", call.event_time),
        })?;
    Ok(Some(ThrottledCall {
        event_id: required(WHAT, "eventID", call.event_id)?,
        account: required(
            WHAT,
            "account",
            e.account
                .or_else(|| identity.and_then(|i| i.account_id.clone())),
        )?,
        region: required(WHAT, "awsRegion", call.aws_region.or(e.region))?,
        api: required(WHAT, "eventName", call.event_name)?,
        caller: Caller::from_user_agent(call.user_agent.as_deref().unwrap_or_default()),
        source_ip: call.source_ip_address.unwrap_or_default(),
        principal_arn,
        oidc_provider,
        time,
    }))
}

fn parse_launch(value: Value) -> Result<Launch, EventError> {
    const WHAT: &str = "Auto Scaling launch event";
    // The crate leaves Auto Scaling's detail untyped; read the documented fields by name.
    let e: EventBridgeEvent<BTreeMap<String, Value>> =
        serde_json::from_value(value).map_err(malformed(WHAT))?;
    let s = |k: &str| e.detail.get(k).and_then(Value::as_str).map(str::to_string);
    let lifecycle = match (s("LifecycleHookName"), s("LifecycleActionToken")) {
        (Some(h), Some(t)) => Some((h, t)),
        _ => None,
    };
    Ok(Launch {
        event_id: required(WHAT, "id", e.id.clone())?,
        account: required(WHAT, "account", e.account.clone())?,
        region: required(WHAT, "region", e.region.clone())?,
        asg: required(WHAT, "AutoScalingGroupName", s("AutoScalingGroupName"))?,
        instance_id: required(WHAT, "EC2InstanceId", s("EC2InstanceId"))?,
        time: e.time.unwrap_or_else(Utc::now),
        lifecycle,
        into_warm_pool: s("Destination").as_deref() == Some("WarmPool"),
    })
}

fn parse_launch_failure(value: Value) -> Result<LaunchFailure, EventError> {
    const WHAT: &str = "Auto Scaling launch failure";
    let e: EventBridgeEvent<BTreeMap<String, Value>> =
        serde_json::from_value(value).map_err(malformed(WHAT))?;
    let s = |k: &str| e.detail.get(k).and_then(Value::as_str).map(str::to_string);
    let detail = |k: &str| {
        e.detail
            .get("Details")
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let message = [s("StatusMessage"), s("Cause")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" | ");
    let message: String = message.chars().take(1000).collect();
    Ok(LaunchFailure {
        event_id: required(WHAT, "id", e.id.clone())?,
        account: required(WHAT, "account", e.account.clone())?,
        region: required(WHAT, "region", e.region.clone())?,
        asg: required(WHAT, "AutoScalingGroupName", s("AutoScalingGroupName"))?,
        error: LaunchError::from_text(&message),
        message,
        zone: detail("Availability Zone"),
        subnet: detail("Subnet ID"),
        time: e.time.unwrap_or_else(Utc::now),
    })
}

/// The parts of an alarm's `detail` the watcher reads. Not `aws_lambda_events`' alarm types: they
/// require `metricStat` on every metric, `dimensions` on every metric and a `period` that fits in
/// 16 bits, but CloudWatch's documented events have metric-math entries (`expression`, no
/// `metricStat`), metrics without dimensions and daily periods (86400), so a metric-math alarm on
/// an EBS metric, which the rule delivers, was refused as malformed.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmDetail {
    alarm_name: String,
    #[serde(default)]
    state: Option<AlarmState>,
    #[serde(default)]
    configuration: Option<AlarmConfiguration>,
}

#[derive(Serialize, Deserialize)]
struct AlarmState {
    #[serde(default)]
    value: Option<String>,
}

/// A composite alarm's configuration has `alarmRule` and no `metrics`: it names no volume.
#[derive(Serialize, Deserialize)]
struct AlarmConfiguration {
    #[serde(default)]
    metrics: Option<Vec<AlarmMetric>>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmMetric {
    /// Absent on expression entries (metric math, anomaly bands, Metrics Insights queries).
    #[serde(default)]
    metric_stat: Option<MetricStat>,
}

#[derive(Serialize, Deserialize)]
struct MetricStat {
    metric: MetricName,
}

#[derive(Serialize, Deserialize)]
struct MetricName {
    #[serde(default)]
    namespace: Option<String>,
    name: String,
    #[serde(default)]
    dimensions: Option<BTreeMap<String, String>>,
}

/// `None`: an alarm on another metric, or a transition to a state other than ALARM.
fn parse_alarm(value: Value) -> Result<Option<EbsAlarm>, EventError> {
    const WHAT: &str = "CloudWatch alarm state change";
    let e: EventBridgeEvent<AlarmDetail> =
        serde_json::from_value(value).map_err(malformed(WHAT))?;
    let in_alarm = e.detail.state.as_ref().and_then(|s| s.value.as_deref()) == Some("ALARM");
    if !in_alarm {
        return Ok(None);
    }
    let metrics = e
        .detail
        .configuration
        .and_then(|c| c.metrics)
        .unwrap_or_default();
    // A metric-math alarm lists its inputs; the first EBS metric among them names the volume.
    let watched = metrics
        .into_iter()
        .filter_map(|m| m.metric_stat)
        .map(|s| s.metric)
        .find(|metric| {
            EBS_METRICS
                .iter()
                .any(|(ns, name)| metric.namespace.as_deref() == Some(*ns) && metric.name == *name)
        });
    let Some(metric) = watched else {
        return Ok(None);
    };
    let dims = metric.dimensions.unwrap_or_default();
    let alarm = EbsAlarm {
        event_id: required(WHAT, "id", e.id.clone())?,
        account: required(WHAT, "account", e.account.clone())?,
        region: required(WHAT, "region", e.region.clone())?,
        alarm: e.detail.alarm_name,
        metric: metric.name,
        volume_id: dims.get("VolumeId").cloned(),
        instance_id: dims.get("InstanceId").cloned(),
        time: e.time.unwrap_or_else(Utc::now),
    };
    if alarm.volume_id.is_none() && alarm.instance_id.is_none() {
        return Err(EventError::Invalid {
            what: WHAT,
            reason: "metric has neither a VolumeId nor an InstanceId dimension".into(),
        });
    }
    Ok(Some(alarm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents() {
        assert_eq!(
            Caller::from_user_agent("amazon-vpc-cni-k8s/version/v1.18.3 aws-sdk-go/1.55.5"),
            Caller::VpcCni
        );
        assert_eq!(Caller::from_user_agent("aws-sdk-go-v2/1.30.3 ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux api/ec2#1.173.0 amazon-vpc-cni-k8s/v1.22.1"), Caller::VpcCni);
        assert_eq!(
            Caller::from_user_agent("karpenter.sh-v1.0.6 aws-sdk-go/1.55.5"),
            Caller::Karpenter
        );
        assert_eq!(Caller::from_user_agent("aws-cli/2.17.0"), Caller::Other);
    }

    /// Real IRSA events carry `webIdFederationData.attributes` as an object; a typed parser that
    /// expects a string rejected every one of them.
    #[test]
    fn regression_irsa_attributes_object_is_accepted() {
        let body = r#"{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","account":"1","region":"us-east-1","time":"2026-10-19T05:11:02Z","detail":{"eventID":"e","eventName":"AssignPrivateIpAddresses","eventTime":"2026-10-19T05:11:02Z","awsRegion":"us-east-1","sourceIPAddress":"10.0.1.23","userAgent":"amazon-vpc-cni-k8s","errorCode":"Client.RequestLimitExceeded","userIdentity":{"type":"AssumedRole","sessionContext":{"webIdFederationData":{"federatedProvider":"arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X","attributes":{}},"attributes":{"creationDate":"2026-10-19T05:00:00Z","mfaAuthenticated":"false"}}}}}"#;
        let Ok(Inbound::Throttled(t)) = parse(body) else {
            panic!("IRSA event rejected")
        };
        assert_eq!(
            t.oidc_provider.as_deref(),
            Some("arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X")
        );
    }

    fn alarm_event(metrics: Value) -> String {
        serde_json::json!({
            "source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
            "id": "a", "account": "1", "region": "eu-west-1", "time": "2026-11-30T09:31:12Z",
            "detail": {
                "alarmName": "ebs",
                "state": {"value": "ALARM", "reason": "r", "timestamp": "2026-11-30T09:31:12.806+0000"},
                "configuration": {"metrics": metrics}
            }
        })
        .to_string()
    }

    /// CloudWatch documents metric-math alarms with an `expression` entry that has no
    /// `metricStat`; the crate's alarm type required it on every entry, so an alarm on
    /// `(read + write) ops` beside `VolumeIOPSExceededCheck`, which the rule delivers, was
    /// dead-lettered as malformed.
    #[test]
    fn regression_metric_math_alarm_on_ebs_metric_is_read() {
        let body = alarm_event(serde_json::json!([
            {"id": "e1", "expression": "m1 * 2", "label": "x", "returnData": true},
            {"id": "m1", "returnData": false, "metricStat": {"period": 60, "stat": "Maximum",
                "metric": {"namespace": "AWS/EBS", "name": "VolumeIOPSExceededCheck",
                           "dimensions": {"VolumeId": "vol-1"}}}}
        ]));
        let Ok(Inbound::EbsAlarm(a)) = parse(&body) else {
            panic!("metric-math alarm refused: {:?}", parse(&body))
        };
        assert_eq!(a.volume_id.as_deref(), Some("vol-1"));
    }

    /// Alarm periods go up to a day (86400 s), over the crate's 16-bit `period`.
    #[test]
    fn regression_daily_alarm_period_is_accepted() {
        let body = alarm_event(serde_json::json!([
            {"id": "m1", "metricStat": {"period": 86400, "stat": "Minimum",
                "metric": {"namespace": "AWS/EBS", "name": "BurstBalance",
                           "dimensions": {"VolumeId": "vol-2"}}}}
        ]));
        assert!(
            matches!(parse(&body), Ok(Inbound::EbsAlarm(a)) if a.volume_id.as_deref() == Some("vol-2"))
        );
        // A metric without dimensions names nothing to act on: refused, saying why.
        let body = alarm_event(serde_json::json!([
            {"id": "m1", "metricStat": {"period": 60,
                "metric": {"namespace": "AWS/EBS", "name": "BurstBalance"}}}
        ]));
        let e = parse(&body).expect_err("no dimensions");
        assert!(e.to_string().contains("VolumeId"), "{e}");
    }

    /// S3 documents a bucket notification's key as form-encoded ("red flower.jpg" is
    /// `red+flower.jpg`); read as it came, the analyzer would look for an object that does not
    /// exist. Such records used to be refused as "neither an EventBridge event ...".
    #[test]
    fn regression_s3_notification_key_is_form_decoded() {
        let record = |key: &str| {
            serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 3}}}]})
        };
        let Ok(Inbound::Object(o)) = parse_value(record("bundles/a+b%3Dc%3A%2B%C3%A9.tar.gz"))
        else {
            panic!("notification refused")
        };
        assert_eq!(o.key, "bundles/a b=c:+é.tar.gz");
        for bad in ["x%2", "x%zz", "x%+1", "x%FF"] {
            let e = parse_value(record(bad)).expect_err(bad);
            assert!(e.to_string().contains("object key"), "{bad}: {e}");
        }
        let mut two = record("k");
        let r = two["Records"][0].clone();
        two["Records"].as_array_mut().unwrap().push(r);
        let e = parse_value(two).expect_err("two records");
        assert!(e.to_string().contains("2 records"), "{e}");
        let mut removed = record("k");
        removed["Records"][0]["eventName"] = "ObjectRemoved:Delete".into();
        assert_eq!(
            parse_value(removed).ok(),
            Some(Inbound::Foreign(
                "aws.s3".into(),
                "ObjectRemoved:Delete".into()
            ))
        );
    }

    /// Auto Scaling's status message for missing capacity names no code, so a launch refused for
    /// capacity was counted as `other`, and an instance-limit refusal was not seen as a quota.
    #[test]
    fn regression_launch_errors_read_from_documented_sentences() {
        for (text, want) in [
            ("We currently do not have sufficient m7g.2xlarge capacity in the Availability Zone you requested (eu-west-1a). Launching EC2 instance failed.", LaunchError::InsufficientInstanceCapacity),
            ("There is no Spot capacity available that matches your request. Launching EC2 instance failed.", LaunchError::InsufficientInstanceCapacity),
            ("You have requested more instances (21) than your current instance limit of 20 allows for the specified instance type. Launching EC2 instance failed.", LaunchError::InstanceLimitExceeded),
            ("Max spot instance count exceeded. Launching EC2 instance failed.", LaunchError::MaxSpotInstanceCountExceeded),
            ("You have requested more vCPU capacity than your current vCPU limit of 32 allows", LaunchError::VcpuLimitExceeded),
            // The group's own maximum: not an EC2 limit.
            ("12 instance(s) are already running. Launching EC2 instance failed.", LaunchError::Other),
            // A code named as a word wins over a sentence.
            ("Client.VolumeLimitExceeded: We currently do not have sufficient", LaunchError::VolumeLimitExceeded),
        ] {
            assert_eq!(LaunchError::from_text(text), want, "{text}");
        }
    }

    #[test]
    fn automation_status_change_is_read() {
        let body = include_str!("../../tests/fixtures/events/ssm-automation-status.json");
        let Ok(Inbound::Automation(a)) = parse(body) else {
            panic!("automation status not recognised")
        };
        assert_eq!(a.execution_id, "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
        assert_eq!(a.definition, "AWSSupport-CollectEKSInstanceLogs");
        assert!(a.is_final() && a.succeeded());
        let running = AutomationStatus {
            status: "InProgress".into(),
            ..a.clone()
        };
        assert!(!running.is_final());
        let failed = AutomationStatus {
            status: "TimedOut".into(),
            ..a
        };
        assert!(failed.is_final() && !failed.succeeded());
        let e = parse(r#"{"source":"aws.ssm","detail-type":"EC2 Automation Execution Status-change Notification","detail":{"Status":"Success"}}"#).expect_err("missing id");
        assert!(e.to_string().contains("ExecutionId"), "{e}");
    }

    #[test]
    fn bad_input_names_what_is_wrong() {
        assert!(matches!(parse("not json"), Err(EventError::NotJson(_))));
        let e = parse(r#"{"hello":"world"}"#).expect_err("not an event");
        assert!(
            e.to_string().contains("neither an EventBridge event"),
            "{e}"
        );
        let e = parse(r#"{"source":"aws.ssm","detail-type":"EC2 Command Invocation Status-change Notification","detail":{"status":"Success"}}"#).expect_err("missing field");
        assert!(e.to_string().contains("command-id"), "{e}");
        let e = parse(r#"{"source":"aws.autoscaling","detail-type":"EC2 Instance Launch Unsuccessful","id":"x","account":"1","region":"us-east-1","detail":{"StatusMessage":"VcpuLimitExceeded"}}"#).expect_err("no group");
        assert!(e.to_string().contains("AutoScalingGroupName"), "{e}");
        let e = parse(r#"{"source":"aws.autoscaling","detail-type":"EC2 Instance Launch Unsuccessful","detail":"not an object"}"#).expect_err("bad detail");
        assert!(e.to_string().contains("launch failure"), "{e}");
        let e = parse(r#"{"action":"collect","cluster":"c"}"#).expect_err("missing field");
        assert!(e.to_string().contains("instance_ids"), "{e}");
        assert_eq!(
            parse(r#"{"source":"aws.health","detail-type":"AWS Health Event","detail":{}}"#).ok(),
            Some(Inbound::Foreign(
                "aws.health".into(),
                "AWS Health Event".into()
            ))
        );
    }

    #[test]
    fn schedules_name_their_task() {
        let one = |j: &str| match Input::parse(serde_json::from_str(j).unwrap()).unwrap() {
            Input::One(e) => e,
            Input::Batch(_) => panic!("not a batch"),
        };
        let follow = include_str!("../../tests/fixtures/events/schedule-follow.json");
        assert_eq!(one(follow).kind(), Kind::Follow);
        assert_eq!(
            one(r#"{"schedule":"resolve-check"}"#).kind(),
            Kind::ResolveCheck
        );
        let e = parse(r#"{"schedule":"every-day"}"#).expect_err("unknown task");
        assert!(e.to_string().contains("every-day"), "{e}");
    }

    #[test]
    fn remediation_requests_are_read_strictly() {
        let plan = parse(include_str!("../../tests/fixtures/events/manual-plan.json")).unwrap();
        assert_eq!(plan.kind(), Kind::ManualPlan);
        let a = parse(r#"{"approve":{"plan_id":"plan-1","verdict":"reject"}}"#).unwrap();
        let Inbound::Remedy(RemedyRequest::Approve(a)) = a else {
            panic!("not an approval: {a:?}")
        };
        assert_eq!((a.action, a.verdict, a.by), (None, Verdict::Reject, None));
        // A typo must not turn a rejection into something else, and a launch failure cannot be
        // forged through a manual payload.
        for bad in [
            r#"{"approve":{"plan_id":"p","verdict":"approve","actoin":1}}"#,
            r#"{"approve":{"plan_id":"p","verdict":"maybe"}}"#,
            r#"{"approve":{"plan_id":"p","action":-1,"verdict":"approve"}}"#,
            r#"{"plan":{}}"#,
            r#"{"plan":{"incident_id":"x"},"launch_failure":{}}"#,
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.to_string().contains("remediation request"), "{bad}: {e}");
        }
    }

    #[test]
    fn launch_failure_notice_is_for_the_remediation_function() {
        let e = parse(include_str!(
            "../../tests/fixtures/events/eks-remedy-launch-failure.json"
        ))
        .unwrap();
        assert_eq!(e.kind(), Kind::LaunchFailureNotice);
        let Inbound::Remedy(RemedyRequest::LaunchFailure(n)) = e else {
            panic!("not a notice")
        };
        assert_eq!(
            (n.error.as_str(), n.cluster.as_str()),
            ("VcpuLimitExceeded", "prod")
        );
        let findings = parse(include_str!(
            "../../tests/fixtures/events/eks-remedy-findings.json"
        ));
        assert_eq!(findings.unwrap().kind(), Kind::Findings);
    }

    #[test]
    fn function_url_request_carries_the_verified_caller() {
        let e = parse(include_str!(
            "../../tests/fixtures/events/function-url-approve.json"
        ))
        .unwrap();
        let Inbound::Http(r) = e else {
            panic!("not HTTP")
        };
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.caller.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/PlatformOnCall/alice")
        );
        assert_eq!(r.headers["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["approve"]["action"], 0);
        // A URL without IAM auth has no caller, whatever the body claims.
        let mut v: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/events/function-url-approve.json"
        ))
        .unwrap();
        v["requestContext"]["authorizer"] = Value::Null;
        let Inbound::Http(r) = parse_value(v.clone()).unwrap() else {
            panic!()
        };
        assert_eq!(r.caller, None);
        v["body"] = Value::String("%%% not base64".into());
        let e = parse_value(v).expect_err("bad base64");
        assert!(e.to_string().contains("base64"), "{e}");
    }
}
