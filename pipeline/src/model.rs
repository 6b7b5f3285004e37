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

/// How a window appears in ids, keys and locks: `20261019T0500`.
pub fn window_tag(window: DateTime<Utc>) -> String {
    window.format("%Y%m%dT%H%M").to_string()
}

/// One incident: a storm of one kind on one cluster in one account and region, in one window,
/// optionally narrowed to a scope (the scale-up watcher's Auto Scaling group). Every event of the
/// storm, and every replay of it, maps to the same [`IncidentKey::id`] without a read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentKey {
    /// Account, region and cluster.
    pub cluster: ClusterKey,
    /// What opened it.
    pub kind: IncidentKind,
    /// Window start.
    pub window: DateTime<Utc>,
    /// A narrower scope within the cluster (an Auto Scaling group), when the budget is per scope.
    pub scope: Option<String>,
}

impl IncidentKey {
    /// The key of `kind` on `cluster` for the window `t` falls in.
    pub fn new(
        cluster: ClusterKey,
        kind: IncidentKind,
        t: DateTime<Utc>,
        window_minutes: u32,
    ) -> Self {
        IncidentKey {
            cluster,
            kind,
            window: window_start(t, window_minutes),
            scope: None,
        }
    }

    /// The same incident narrowed to `scope`.
    pub fn scoped(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_string());
        self
    }

    /// `prod.us-east-1.111122223333:throttling:20261019T0500` (`:<scope>` appended when scoped).
    /// Two clusters named `prod` in two accounts or regions are two incidents. Every part goes
    /// through [`id_part`], so the id is safe in S3 keys and shell commands.
    pub fn id(&self) -> String {
        let c = &self.cluster;
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                id_part(s)
            }
        };
        let mut id = format!(
            "{}.{}.{}:{}:{}",
            or_dash(&c.cluster),
            or_dash(&c.region),
            or_dash(&c.account),
            self.kind.as_str(),
            window_tag(self.window)
        );
        if let Some(scope) = &self.scope {
            id.push(':');
            id.push_str(&id_part(scope));
        }
        id
    }
}

/// The account and region an incident id names (`None` for an id of another shape, such as one
/// written before ids held them).
pub fn id_account_region(id: &str) -> Option<(&str, &str)> {
    let head = id.split(':').next()?;
    let mut parts = head.rsplitn(3, '.');
    let account = parts.next()?;
    let region = parts.next()?;
    parts.next()?;
    let known = |s: &str| !s.is_empty() && s != "-";
    (known(account) && known(region)).then_some((account, region))
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

/// Whether `s` is a valid EKS cluster name (`[0-9A-Za-z][A-Za-z0-9_-]{0,99}`). Names read from
/// tags (which anyone allowed to tag can set) must be: they become S3 key segments and ids.
pub fn is_cluster_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 100
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `s` is an EC2 instance id (`i-` and 8 or 17 hex digits).
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

/// Notes on an incident that a person or the notifier must act on start with one of these.
pub mod notes {
    /// No bundle will arrive from a node: its collection failed (the rest says why).
    pub const COLLECTION_FAILED: &str = "collection-failed:";
    /// A bundle arrived but was not analysed (too large): the rest says how to analyse it.
    pub const ANALYSIS_SKIPPED: &str = "analysis-skipped:";
    /// EC2 refused a launch of the incident's group (the rest: error, group, message).
    pub const LAUNCH_FAILED: &str = "launch-failed:";
    /// The incident's managed node group is at its `maxSize` (the rest: group, desired and max).
    pub const AT_MAX_SIZE: &str = "at-max-size:";
}

/// Where a node's bundle sits: `bundles/<cluster>/<instance-id>/<incident>/<file>`. The collector
/// writes it ([`BundleKey::prefix`], [`BundleKey::for_collection`]); the analyzer reads it back
/// ([`BundleKey::parse`]); the bucket policy and the collection document's URL pattern allow only this
/// layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleKey {
    /// Cluster.
    pub cluster: String,
    /// Node.
    pub instance_id: String,
    /// Incident id.
    pub incident_id: String,
    /// The bundle's file name.
    pub file: String,
}

/// The prefix every bundle key starts with.
pub const BUNDLES_PREFIX: &str = "bundles/";

impl BundleKey {
    /// The one key a Run Command collection may upload to, named as the collector names bundles
    /// (`eks_<instance>_<YYYY-MM-DD_HHMM>-UTC.tar.gz`), timed when the collection is requested. The
    /// node gets a URL for this key only, so the pipeline, not the node, chooses where it lands.
    pub fn for_collection(req: &CollectionRequest, at: DateTime<Utc>) -> BundleKey {
        BundleKey {
            cluster: req.cluster.cluster.clone(),
            instance_id: req.instance_id.clone(),
            incident_id: req.incident_id.clone(),
            file: format!(
                "eks_{}_{}-UTC.tar.gz",
                req.instance_id,
                at.format("%Y-%m-%d_%H%M")
            ),
        }
    }

    /// The folder: `bundles/<cluster>/<instance-id>/<incident>/`.
    pub fn prefix(&self) -> String {
        format!(
            "{BUNDLES_PREFIX}{}/{}/{}/",
            self.cluster, self.instance_id, self.incident_id
        )
    }

    /// The whole key.
    pub fn key(&self) -> String {
        format!("{}{}", self.prefix(), self.file)
    }

    /// A report's key beside the bundle (`report.json`, `report.html`).
    pub fn sibling(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    /// Parses a key; `None` for anything that is not a bundle upload (our own reports included).
    pub fn parse(key: &str) -> Option<BundleKey> {
        let rest = key.strip_prefix(BUNDLES_PREFIX)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [cluster, instance_id, incident, file] = parts.as_slice() else {
            return None;
        };
        let is_bundle =
            file.ends_with(".tar.gz") || file.ends_with(".tgz") || file.ends_with(".tar");
        let dotted = |s: &str| s == "." || s == "..";
        if !is_bundle
            || cluster.is_empty()
            || !instance_id.starts_with("i-")
            || incident.is_empty()
            || [*cluster, *incident].into_iter().any(dotted)
        {
            return None;
        }
        Some(BundleKey {
            cluster: cluster.to_string(),
            instance_id: instance_id.to_string(),
            incident_id: incident.to_string(),
            file: file.to_string(),
        })
    }
}

/// When the collector made a bundle, from its file name (core's parser of the collector's naming
/// convention); `None` for names in another shape.
pub fn bundle_time(key: &str) -> Option<DateTime<Utc>> {
    let name = key.rsplit('/').next()?;
    eks_remedy_core::analyze::parse_bundle_name(name).collected_at
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
    /// A request to collect `node` for the incident `key`.
    pub fn for_incident(key: &IncidentKey, node: &str, reason: String) -> Self {
        CollectionRequest {
            incident_id: key.id(),
            cluster: key.cluster.clone(),
            instance_id: node.to_string(),
            reason,
            window: key.window,
        }
    }

    /// A request from a manual `collect` payload, on the current window's manual incident of
    /// `cluster` (account and region included).
    pub fn manual(
        cluster: ClusterKey,
        instance_id: &str,
        reason: Option<&str>,
        window_minutes: u32,
    ) -> Self {
        let key = IncidentKey::new(cluster, IncidentKind::Manual, Utc::now(), window_minutes);
        CollectionRequest {
            incident_id: key.id(),
            instance_id: instance_id.to_string(),
            reason: reason.unwrap_or("manual request").to_string(),
            window: key.window,
            cluster: key.cluster,
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

/// Cluster facts from `DescribeCluster` and the VPC CNI add-on: the core's type, so what the EKS
/// adapter reads is exactly what the analyzer takes.
pub use eks_remedy_core::facts::ClusterContext;

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
        let later = DateTime::parse_from_rfc3339("2026-10-19T05:29:59Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        assert_eq!(window_start(later, 30), w, "same storm, same window");
        let key = |account: &str| {
            IncidentKey::new(
                ClusterKey {
                    account: account.into(),
                    region: "us-east-1".into(),
                    cluster: "prod".into(),
                },
                IncidentKind::Throttling,
                t,
                30,
            )
        };
        assert_eq!(
            key("111122223333").id(),
            "prod.us-east-1.111122223333:throttling:20261019T0500"
        );
        assert_eq!(
            key("111122223333").scoped("eks-ng 1").id(),
            "prod.us-east-1.111122223333:throttling:20261019T0500:eks-ng-1"
        );
        assert_eq!(key("").id(), "prod.us-east-1.-:throttling:20261019T0500");
        assert_eq!(
            id_account_region(&key("111122223333").scoped("ng").id()),
            Some(("111122223333", "us-east-1"))
        );
        assert_eq!(id_account_region(&key("").id()), None);
        assert_eq!(id_account_region("prod:throttling:20261019T0500"), None);
    }

    /// The incident id once held only the cluster name, so two clusters named `prod` in two
    /// accounts (one stack can receive events from several accounts through an event bus) folded
    /// into one incident, sharing a collection budget and a report.
    #[test]
    fn regression_same_cluster_name_in_two_accounts_is_two_incidents() {
        let t = Utc::now();
        let k = |account: &str, region: &str| {
            IncidentKey::new(
                ClusterKey {
                    account: account.into(),
                    region: region.into(),
                    cluster: "prod".into(),
                },
                IncidentKind::ScaleUp,
                t,
                30,
            )
            .id()
        };
        assert_ne!(
            k("111122223333", "us-east-1"),
            k("444455556666", "us-east-1")
        );
        assert_ne!(
            k("111122223333", "us-east-1"),
            k("111122223333", "eu-west-1")
        );
    }

    /// Cluster names come from tags anyone allowed to tag can set; a name with `/` made a bundle
    /// key of five segments that the analyzer never took as a bundle.
    #[test]
    fn regression_cluster_names_from_tags_must_be_eks_names() {
        for ok in ["prod", "prod-cluster_2", "a"] {
            assert!(is_cluster_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a/b",
            "-prod",
            "prod cluster",
            "$(id)",
            &"x".repeat(101),
        ] {
            assert!(!is_cluster_name(bad), "{bad}");
        }
        assert!(is_instance_id("i-0abc12345def67890") && is_instance_id("i-0abc1234"));
        for bad in [
            "i-0ABC12345DEF67890",
            "i-1",
            "i-../../x",
            "0abc12345def67890",
        ] {
            assert!(!is_instance_id(bad), "{bad}");
        }
    }

    #[test]
    fn bundle_keys_round_trip() {
        let req = CollectionRequest {
            incident_id: "my_cluster.us-east-1.1:throttling:20261019T0500".into(),
            cluster: ClusterKey {
                account: "1".into(),
                region: "us-east-1".into(),
                cluster: "my_cluster".into(),
            },
            instance_id: "i-0abc".into(),
            reason: "r".into(),
            window: Utc::now(),
        };
        let at = DateTime::parse_from_rfc3339("2026-10-19T08:12:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        let k = BundleKey::for_collection(&req, at);
        assert_eq!(
            k.prefix(),
            BundleKey::for_collection(&req, Utc::now()).prefix()
        );
        assert_eq!(
            k.key(),
            "bundles/my_cluster/i-0abc/my_cluster.us-east-1.1:throttling:20261019T0500/eks_i-0abc_2026-10-19_0812-UTC.tar.gz"
        );
        assert_eq!(BundleKey::parse(&k.key()), Some(k.clone()));
        assert_eq!(
            bundle_time(&k.key()),
            Some(at),
            "the collector's own name is dated"
        );
        assert_eq!(
            BundleKey::parse("bundles/prod/i-0abc/inc/report.json"),
            None,
            "our own reports are not bundles"
        );
        assert_eq!(BundleKey::parse("other/prod/i-0abc/inc/x.tar.gz"), None);
        assert_eq!(
            BundleKey::parse("bundles/prod/not-an-instance/inc/x.tar.gz"),
            None
        );
        assert_eq!(BundleKey::parse("bundles/../../etc/x.tar.gz"), None);
        assert_eq!(BundleKey::parse("bundles/../i-1/inc/x.tar.gz"), None);
    }

    #[test]
    fn bundle_times_come_from_collector_names() {
        let t = bundle_time("eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz");
        assert_eq!(
            t.map(|t| t.to_rfc3339()),
            Some("2026-10-19T08:12:00+00:00".into())
        );
        assert!(
            bundle_time("bundles/c/i-1/inc/eks_i-1_2026-10-19_0812-UTC_0.7.9.tar.gz").is_some()
        );
        assert_eq!(bundle_time("eks_i-1_latest.tar.gz"), None);
        assert_eq!(bundle_time("other.tar.gz"), None);
    }
}
