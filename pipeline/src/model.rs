//! Incidents and the fold that turns a storm of events into one of them.
//!
//! An incident is keyed by account, region, cluster, kind and time window, so every event of one storm
//! (and every replay of it) lands on the same incident id without a read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Caller, ThrottledCall};

/// A cluster in an account and region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClusterKey {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Cluster name.
    pub cluster: String,
}

/// What opened an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentKind {
    /// EC2 API throttling.
    Throttling,
    /// A node group scaled up.
    ScaleUp,
    /// An EBS performance alarm.
    EbsAlarm,
    /// Someone asked.
    Manual,
    /// EC2 API throttling of callers that are not EKS nodes or clusters, per account and region.
    /// EC2 throttles per account and region, so their share of the throttling is evidence for
    /// every cluster's incident in the same window; nothing is collected for them.
    OtherThrottling,
}

impl IncidentKind {
    /// Name used in ids.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Throttling => "throttling",
            IncidentKind::ScaleUp => "scale-up",
            IncidentKind::EbsAlarm => "ebs-alarm",
            IncidentKind::Manual => "manual",
            IncidentKind::OtherThrottling => "throttling-other",
        }
    }
}

/// The start of the window `t` falls in.
pub fn window_start(t: DateTime<Utc>, window_minutes: u32) -> DateTime<Utc> {
    let w = TimeDelta::minutes(i64::from(window_minutes.max(1)));
    t.duration_trunc(w).unwrap_or(t)
}

/// `prod-cluster:throttling:20261019T0500`: one storm, one id, whatever the order of arrival.
pub fn incident_id(cluster: &str, kind: IncidentKind, window: DateTime<Utc>) -> String {
    format!(
        "{cluster}:{}:{}",
        kind.as_str(),
        window.format("%Y%m%dT%H%M")
    )
}

/// A value made safe for an incident id (ids end up in S3 keys and a shell command): characters
/// other than letters, digits, `.`, `_` and `-` become `-`.
pub fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Collection of one node for an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionRequest {
    /// Incident.
    pub incident_id: String,
    /// Cluster.
    pub cluster: ClusterKey,
    /// Node.
    pub instance_id: String,
    /// Why.
    pub reason: String,
    /// Window start, for the one-collection-per-node-per-window lock.
    pub window: DateTime<Utc>,
}

impl CollectionRequest {
    /// A request from a manual `collect` payload, on the current window's manual incident.
    pub fn manual(
        cluster: &str,
        region: &str,
        instance_id: &str,
        reason: Option<&str>,
        window_minutes: u32,
    ) -> Self {
        let window = window_start(chrono::Utc::now(), window_minutes);
        CollectionRequest {
            incident_id: incident_id(&id_part(cluster), IncidentKind::Manual, window),
            cluster: ClusterKey {
                account: String::new(),
                region: region.to_string(),
                cluster: cluster.to_string(),
            },
            instance_id: instance_id.to_string(),
            reason: reason.unwrap_or("manual request").to_string(),
            window,
        }
    }
}

/// What one batch adds to an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldDelta {
    /// Throttled calls per API.
    pub apis: BTreeMap<String, u64>,
    /// Throttled calls per caller kind.
    pub callers: BTreeMap<String, u64>,
    /// Nodes whose ipamd was throttled (candidates for collection).
    pub nodes: BTreeSet<String>,
    /// CloudTrail event ids (idempotency).
    pub event_ids: Vec<String>,
    /// Earliest event.
    pub first: Option<DateTime<Utc>>,
    /// Latest event.
    pub last: Option<DateTime<Utc>>,
}

impl FoldDelta {
    /// Adds one call; `node` is the caller's instance when it is a node (ipamd).
    pub fn add(&mut self, call: &ThrottledCall, node: Option<&str>) {
        *self.apis.entry(call.api.clone()).or_default() += 1;
        *self
            .callers
            .entry(call.caller.as_str().to_string())
            .or_default() += 1;
        if let Some(n) = node {
            self.nodes.insert(n.to_string());
        }
        self.event_ids.push(call.event_id.clone());
        self.first = Some(self.first.map_or(call.time, |f| f.min(call.time)));
        self.last = Some(self.last.map_or(call.time, |l| l.max(call.time)));
    }

    /// Events in the delta.
    pub fn events(&self) -> u64 {
        self.event_ids.len() as u64
    }

    /// Drops the events whose ids are in `seen` (replays), recounting from `calls`.
    pub fn without(
        calls: &[(ThrottledCall, Option<String>)],
        seen: &BTreeSet<String>,
    ) -> FoldDelta {
        let mut d = FoldDelta::default();
        for (c, node) in calls.iter().filter(|(c, _)| !seen.contains(&c.event_id)) {
            d.add(c, node.as_deref());
        }
        d
    }
}

/// One update to the incident store: fold a batch into an incident and, within the budget, claim
/// nodes for collection, in a single write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldWrite {
    /// Incident.
    pub incident_id: String,
    /// Cluster.
    pub cluster: ClusterKey,
    /// Kind.
    pub kind: IncidentKind,
    /// Window start.
    pub window: DateTime<Utc>,
    /// What to add.
    pub delta: FoldDelta,
    /// Nodes to claim for collection in this write.
    pub claim: BTreeSet<String>,
    /// The most nodes the incident may ever claim.
    pub max_claims: u32,
    /// When the incident item expires (TTL).
    pub expires_at: DateTime<Utc>,
}

/// The store's answer to a [`FoldWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoldResult {
    /// Written; the claim (if any) was granted. Holds the incident's claimed nodes after the write.
    Written {
        /// All nodes claimed so far.
        claimed: BTreeSet<String>,
    },
    /// Some events had been folded before (replays): nothing was written; retry without them.
    Replayed {
        /// Their ids.
        seen: BTreeSet<String>,
    },
    /// The claim would exceed the budget (another invocation claimed first): nothing was written;
    /// retry without a claim.
    BudgetSpent,
}

/// Node facts the pipeline needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Id.
    pub instance_id: String,
    /// Type.
    pub instance_type: Option<String>,
    /// Private IP.
    pub private_ip: Option<String>,
    /// Cluster, from `eks:cluster-name` or `kubernetes.io/cluster/<name>` tags.
    pub cluster: Option<String>,
    /// Auto Scaling group, from `aws:autoscaling:groupName`.
    pub asg: Option<String>,
    /// `pending`, `running`, ...
    pub state: Option<String>,
}

/// An EBS volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Id.
    pub volume_id: String,
    /// `gp3`, `gp2`, ...
    pub volume_type: Option<String>,
    /// Size.
    pub size_gib: Option<i32>,
    /// Provisioned IOPS.
    pub iops: Option<i32>,
    /// Provisioned throughput (MiB/s).
    pub throughput: Option<i32>,
    /// Attached instance.
    pub instance_id: Option<String>,
}

/// Cluster facts from `DescribeCluster` and the VPC CNI add-on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Kubernetes version (`1.30`).
    pub version: Option<String>,
    /// API endpoint.
    pub endpoint: Option<String>,
    /// Private endpoint access on.
    pub private_access: Option<bool>,
    /// VPC CNI managed add-on version; `None` with `self_managed_cni` means self-managed.
    pub vpc_cni_version: Option<String>,
    /// The add-on's `configurationValues`.
    pub vpc_cni_config: Option<String>,
    /// The default add-on version for the cluster's Kubernetes version.
    pub vpc_cni_default: Option<String>,
    /// `DescribeAddon` said the add-on does not exist.
    pub self_managed_cni: bool,
}

/// Maps a caller kind to the counter name (kept here so the store and the fold agree).
pub fn caller_key(c: Caller) -> &'static str {
    c.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parts_are_key_and_shell_safe() {
        assert_eq!(id_part("eks-ng 1/$(id)"), "eks-ng-1---id-");
        assert_eq!(id_part("my_cluster.v2"), "my_cluster.v2");
    }

    #[test]
    fn windows_and_ids() {
        let t = DateTime::parse_from_rfc3339("2026-10-19T05:11:02Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        let w = window_start(t, 30);
        assert_eq!(w.to_rfc3339(), "2026-10-19T05:00:00+00:00");
        assert_eq!(
            incident_id("prod", IncidentKind::Throttling, w),
            "prod:throttling:20261019T0500"
        );
        let later = DateTime::parse_from_rfc3339("2026-10-19T05:29:59Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        assert_eq!(window_start(later, 30), w, "same storm, same window");
    }
}
