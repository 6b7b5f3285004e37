//! The analysis report: the stable JSON contract that the CLI prints and later stages consume.
//!
//! Field names are part of the contract; add fields, never rename or remove them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bundle::{Limits, Skipped};

/// Version of the JSON layout.
pub const SCHEMA_VERSION: u32 = 1;

/// How much a finding matters for the node's ability to run pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: worth knowing, nothing broken.
    Info,
    /// Degrades the node or a subset of pods.
    Low,
    /// Breaks some pods or slows scale-up.
    Medium,
    /// Breaks pods on the node.
    High,
    /// The node cannot run pods or join the cluster.
    Critical,
}

impl Severity {
    /// The lowercase name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One log line (or file fact) that supports a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Member path inside the bundle.
    pub file: String,
    /// 1-based line number, when the evidence is a line.
    pub line: Option<u64>,
    /// The line (at most [`crate::MAX_EXCERPT_CHARS`] characters) or a description of the fact.
    pub excerpt: String,
    /// When the line says it happened.
    pub timestamp: Option<DateTime<Utc>>,
}

/// Where a fix is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixTarget {
    /// Amazon Linux 2 `bootstrap.sh` arguments in the launch template user data.
    Al2Bootstrap,
    /// Amazon Linux 2023 `NodeConfig` in the launch template user data.
    Al2023Nodeconfig,
    /// Karpenter `EC2NodeClass` / `NodePool`.
    Karpenter,
    /// The VPC CNI (`aws-node`) managed add-on configuration.
    VpcCniAddon,
    /// The launch template user data script.
    UserData,
    /// AWS account settings: quotas, support cases.
    AwsAccount,
    /// EC2 / EBS resources: volumes, instance types, subnets.
    Ec2,
    /// The cluster or workloads.
    Cluster,
}

impl FixTarget {
    /// The kebab-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            FixTarget::Al2Bootstrap => "al2-bootstrap",
            FixTarget::Al2023Nodeconfig => "al2023-nodeconfig",
            FixTarget::Karpenter => "karpenter",
            FixTarget::VpcCniAddon => "vpc-cni-addon",
            FixTarget::UserData => "user-data",
            FixTarget::AwsAccount => "aws-account",
            FixTarget::Ec2 => "ec2",
            FixTarget::Cluster => "cluster",
        }
    }
}

/// A concrete change to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Where the change goes.
    pub target: FixTarget,
    /// What to do, in one or two sentences.
    pub instruction: String,
    /// The exact setting, when there is one to paste.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// A machine-readable remediation the pipeline can plan (and, within guard rails, apply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// Set environment variables of the VPC CNI add-on (`configurationValues.env`).
    VpcCniEnv {
        /// Variable → value (strings, as the add-on schema requires).
        set: BTreeMap<String, String>,
    },
    /// Set kubelet configuration fields (KubeletConfiguration names).
    KubeletConfig {
        /// Field → value.
        set: BTreeMap<String, serde_json::Value>,
    },
    /// Review EC2 API rate limits / Service Quotas for the named APIs.
    ServiceQuotaReview {
        /// APIs seen throttled.
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        apis: Vec<String>,
    },
    /// Raise EBS performance (gp3 IOPS/throughput) of the node's volumes.
    EbsPerformance {},
    /// Review the user data script of the node's launch template.
    UserDataReview {
        /// What to remove or change.
        remove: Vec<String>,
    },
    /// Free or add subnet addresses (larger subnets, secondary CIDR, prefix delegation).
    SubnetCapacity {},
    /// Upgrade or replace nodes so kubelet is within the supported skew.
    NodeUpgrade {
        /// Kubelet version seen.
        kubelet: String,
        /// Cluster version seen.
        cluster: String,
    },
    /// Update the VPC CNI managed add-on to this version, preserving its configuration.
    VpcCniAddonUpdate {
        /// Target version.
        version: String,
    },
    /// Re-run collection: the bundle was incomplete.
    Recollect {},
}

/// One detected problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `ec2-api-throttling`.
    pub rule: String,
    /// How much it matters.
    pub severity: Severity,
    /// One-line title.
    pub title: String,
    /// What was seen here, with numbers.
    pub summary: String,
    /// Why it matters.
    pub why: String,
    /// Occurrences counted (duplicate views of one line counted once).
    pub count: u64,
    /// First occurrence.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last occurrence.
    pub last_seen: Option<DateTime<Utc>>,
    /// Seconds from boot to the first occurrence.
    pub first_seen_since_boot_s: Option<f64>,
    /// Supporting lines.
    pub evidence: Vec<Evidence>,
    /// Rule-specific figures (e.g. throttled API → count).
    pub details: BTreeMap<String, serde_json::Value>,
    /// How to fix it.
    pub fix: Vec<Fix>,
    /// What the remediation stage may do.
    pub actions: Vec<Action>,
    /// Documentation.
    pub docs: Vec<String>,
    /// Whether correlation names this finding a likely root cause.
    pub root_cause: bool,
    /// Findings in this report that likely caused this one.
    pub caused_by: Vec<String>,
}

/// A check that could not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedCheck {
    /// Rule id.
    pub rule: String,
    /// Why it could not decide.
    pub reason: String,
}

/// One point on the node's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Seconds after boot, when boot is known.
    pub since_boot_s: Option<f64>,
    /// `boot`, `kubelet-start`, `ipamd-start`, `apiserver-reachable`, `first-seen`, `last-seen`, `collected`.
    pub kind: String,
    /// The rule, for first/last-seen events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Human label.
    pub label: String,
}

/// The likely chain of cause and effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    /// Rule ids, cause first.
    pub chain: Vec<String>,
    /// One sentence.
    pub summary: String,
}

/// Facts about the node and the bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BundleInfo {
    /// The path analysed.
    pub source: String,
    /// EC2 instance id.
    pub instance_id: Option<String>,
    /// EC2 instance type.
    pub instance_type: Option<String>,
    /// Where the instance type came from (`flag`, `nodeadm`, `ipamd`, `kernel`).
    pub instance_type_source: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// `al2`, `al2023` or unknown.
    pub os: Option<String>,
    /// Kubelet version (`v1.30.4`).
    pub kubelet_version: Option<String>,
    /// Cluster (API server) version as ipamd saw it (`v1.30`).
    pub cluster_version: Option<String>,
    /// VPC CNI version.
    pub vpc_cni_version: Option<String>,
    /// kube-proxy version.
    pub kube_proxy_version: Option<String>,
    /// Log collector version, from the bundle name.
    pub collector_version: Option<String>,
    /// When the bundle was collected, from its name.
    pub collected_at: Option<DateTime<Utc>>,
    /// When the node booted.
    pub boot_time: Option<DateTime<Utc>>,
    /// Compressed size of the input file.
    pub input_bytes: Option<u64>,
    /// Uncompressed member bytes read.
    pub bytes_read: u64,
    /// Every byte inflated (framing, skipped members and the rest of cut members included); bounded
    /// by `limits.max_total_bytes`.
    #[serde(default)]
    pub inflated_bytes: u64,
    /// The reader limit that stopped reading early (`max-total-bytes`, `max-ratio`, `max-members`).
    #[serde(default)]
    pub stopped_by: Option<String>,
    /// Regular-file members read.
    pub members_read: u64,
    /// Members passed over, by reason.
    pub members_skipped: Skipped,
    /// Members cut at the per-member limit.
    pub members_truncated: Vec<String>,
    /// Lines longer than the line limit (cut).
    pub lines_cut: u64,
    /// The limits in force.
    pub limits: Limits,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `eks-remedy <version>`.
    pub tool: String,
    /// The node and the bundle.
    pub bundle: BundleInfo,
    /// Findings, likely root causes first.
    pub findings: Vec<Finding>,
    /// The likely chain of cause and effect, when there is one.
    pub root_cause: Option<RootCause>,
    /// The node's timeline.
    pub timeline: Vec<TimelineEvent>,
    /// Checks that could not decide.
    pub skipped_checks: Vec<SkippedCheck>,
}

impl Report {
    /// The finding of a rule, if it fired.
    pub fn finding(&self, rule: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.rule == rule)
    }
}
