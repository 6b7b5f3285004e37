//! The analysis report: the stable JSON contract that the CLI prints and later stages consume.
//!
//! Field names are part of the contract; add fields, never rename or remove them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bundle::{Limits, Skipped};

/// Version of the JSON layout.
pub const SCHEMA_VERSION: u32 = 1;

/// Evidence items kept per finding; the rest are counted in [`Finding::evidence_omitted`].
pub const MAX_EVIDENCE_PER_FINDING: usize = 10;
/// Causes one finding lists at most; [`crate::correlate`] checks at compile time that its links fit.
pub const MAX_CAUSES_PER_FINDING: usize = 16;
/// Longest prose field (summary, label, reason, instruction), in characters.
pub const MAX_TEXT_CHARS: usize = 2048;
/// Longest name-like field (file path, version, value in `details`), in characters.
pub const MAX_NAME_CHARS: usize = 512;
/// Items kept in any list or map of the report (details values, cut members, timeline).
pub const MAX_LIST_ITEMS: usize = 64;
/// The documented ceiling of the JSON report ([`crate::render::json`], pretty-printed), in bytes:
/// [`Analyzer`](crate::Analyzer) applies [`Report::bound_to`] with it to every report it returns.
/// A consumer with a tighter budget (an EventBridge event, 256 KB) calls `bound_to` with its own.
pub const MAX_REPORT_JSON_BYTES: usize = 1 << 20;

/// Longest evidence excerpt, in characters.
pub const MAX_EXCERPT_CHARS: usize = 300;

/// A log line as evidence: lossy UTF-8, control characters made visible, at most
/// [`MAX_EXCERPT_CHARS`] characters (cut lines end with `…`).
pub fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len().min(MAX_EXCERPT_CHARS * 4));
    let mut chars = text.trim_end().chars();
    for c in chars.by_ref().take(MAX_EXCERPT_CHARS) {
        out.push(if c.is_control() && c != '\t' {
            '\u{fffd}'
        } else {
            c
        });
    }
    if chars.next().is_some() {
        out.pop();
        out.push('…');
    }
    out
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
fn clamp(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max.saturating_sub(1)) {
        if s[at..].chars().nth(1).is_some() {
            s.truncate(at);
            s.push('…');
        }
    }
}

/// Bounds every string, list and map inside a JSON value.
fn clamp_json(v: &mut serde_json::Value, max_chars: usize, max_items: usize) {
    match v {
        serde_json::Value::String(s) => clamp(s, max_chars),
        serde_json::Value::Array(a) => {
            a.truncate(max_items);
            a.iter_mut()
                .for_each(|x| clamp_json(x, max_chars, max_items));
        }
        serde_json::Value::Object(m) => {
            let extra: Vec<String> = m.keys().skip(max_items).cloned().collect();
            for k in extra {
                m.remove(&k);
            }
            // Keys are bundle-derived too (tally values): long ones are replaced by their cut form.
            let long: Vec<String> = m
                .keys()
                .filter(|k| k.chars().count() > max_chars)
                .cloned()
                .collect();
            for k in long {
                if let Some(x) = m.remove(&k) {
                    let mut short = k;
                    clamp(&mut short, max_chars);
                    m.insert(short, x);
                }
            }
            m.values_mut()
                .for_each(|x| clamp_json(x, max_chars, max_items));
        }
        _ => {}
    }
}

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
    /// The line (at most [`MAX_EXCERPT_CHARS`] characters) or a description of the fact.
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
        /// EC2 error codes seen that name a quota (`NetworkInterfaceLimitExceeded`): the planner
        /// turns each into a Service Quotas request, not an API rate-limit case.
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        errors: Vec<String>,
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

impl Action {
    /// Bounds the bundle-derived values an action carries.
    fn bound(&mut self, name: usize, items: usize) {
        let strings: Vec<&mut String> = match self {
            Action::VpcCniEnv { set } => {
                let extra: Vec<String> = set.keys().skip(items).cloned().collect();
                for k in extra {
                    set.remove(&k);
                }
                set.values_mut().collect()
            }
            Action::KubeletConfig { set } => {
                set.values_mut().for_each(|v| clamp_json(v, name, items));
                Vec::new()
            }
            Action::ServiceQuotaReview { apis, errors } => {
                apis.truncate(items);
                errors.truncate(items);
                apis.iter_mut().chain(errors.iter_mut()).collect()
            }
            Action::UserDataReview { remove } => {
                remove.truncate(items.max(1));
                remove.iter_mut().collect()
            }
            Action::NodeUpgrade { kubelet, cluster } => vec![kubelet, cluster],
            Action::VpcCniAddonUpdate { version } => vec![version],
            Action::EbsPerformance {} | Action::SubnetCapacity {} | Action::Recollect {} => {
                Vec::new()
            }
        };
        for s in strings {
            clamp(s, name);
        }
    }
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
    /// Supporting lines (at most [`MAX_EVIDENCE_PER_FINDING`]).
    pub evidence: Vec<Evidence>,
    /// Supporting lines left out to keep the report bounded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence_omitted: u64,
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
    /// Members cut at the per-member limit (at most [`MAX_LIST_ITEMS`]).
    pub members_truncated: Vec<String>,
    /// Cut members left out of `members_truncated`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub members_truncated_omitted: u64,
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
    /// Bounds the report to [`MAX_REPORT_JSON_BYTES`] (see [`Report::bound_to`]).
    pub fn bound(&mut self) {
        self.bound_to(MAX_REPORT_JSON_BYTES);
    }

    /// Bounds every field (see the `MAX_*` constants), then, while the pretty JSON is still larger
    /// than `max_json_bytes`, sheds detail in steps: fewer evidence items, shorter prose, no
    /// `details`, no timeline, no fix texts. Counts and rule ids always stay. With the built-in
    /// catalogue any `max_json_bytes` of 64 KiB or more is met.
    pub fn bound_to(&mut self, max_json_bytes: usize) {
        self.shed(
            MAX_EVIDENCE_PER_FINDING,
            MAX_TEXT_CHARS,
            MAX_NAME_CHARS,
            MAX_LIST_ITEMS,
        );
        let steps: [(usize, usize, usize, usize); 4] = [
            (3, 1024, 256, 16),
            (1, 512, 128, 8),
            (0, 256, 96, 4),
            (0, 160, 64, 0),
        ];
        for (i, (evidence, text, name, items)) in steps.into_iter().enumerate() {
            if self.json_len() <= max_json_bytes {
                return;
            }
            self.shed(evidence, text, name, items);
            if i >= 2 {
                self.timeline.clear();
                for f in &mut self.findings {
                    f.details.clear();
                }
            }
            if i >= 3 {
                for f in &mut self.findings {
                    f.fix.clear();
                    f.docs.clear();
                    f.why.clear();
                }
            }
        }
    }

    fn json_len(&self) -> usize {
        serde_json::to_vec_pretty(self).map_or(usize::MAX, |v| v.len() + 1)
    }

    fn shed(&mut self, evidence: usize, text: usize, name: usize, items: usize) {
        let b = &mut self.bundle;
        clamp(&mut b.source, name);
        for v in [
            &mut b.instance_id,
            &mut b.instance_type,
            &mut b.instance_type_source,
            &mut b.region,
            &mut b.availability_zone,
            &mut b.os,
            &mut b.kubelet_version,
            &mut b.cluster_version,
            &mut b.vpc_cni_version,
            &mut b.kube_proxy_version,
            &mut b.collector_version,
            &mut b.stopped_by,
        ]
        .into_iter()
        .flatten()
        {
            clamp(v, name);
        }
        let cut = b.members_truncated.len().saturating_sub(items);
        b.members_truncated.truncate(items);
        b.members_truncated_omitted += cut as u64;
        b.members_truncated.iter_mut().for_each(|p| clamp(p, name));
        for f in &mut self.findings {
            for t in [&mut f.title, &mut f.summary, &mut f.why] {
                clamp(t, text);
            }
            let extra = f.evidence.len().saturating_sub(evidence);
            f.evidence.truncate(evidence);
            f.evidence_omitted += extra as u64;
            for e in &mut f.evidence {
                clamp(&mut e.file, name);
                clamp(&mut e.excerpt, text.min(MAX_EXCERPT_CHARS));
            }
            let extra: Vec<String> = f.details.keys().skip(items).cloned().collect();
            for k in extra {
                f.details.remove(&k);
            }
            f.details
                .values_mut()
                .for_each(|v| clamp_json(v, name, items));
            for fx in &mut f.fix {
                clamp(&mut fx.instruction, text);
                if let Some(sn) = fx.snippet.as_mut() {
                    clamp(sn, text);
                }
            }
            f.actions.iter_mut().for_each(|a| a.bound(name, items));
            f.caused_by.truncate(MAX_CAUSES_PER_FINDING);
        }
        if let Some(rc) = self.root_cause.as_mut() {
            clamp(&mut rc.summary, text);
        }
        self.timeline.truncate(items.max(1) * 4);
        for e in &mut self.timeline {
            clamp(&mut e.label, text.min(name));
        }
        for s in &mut self.skipped_checks {
            clamp(&mut s.reason, text);
        }
    }

    /// The finding of a rule, if it fired.
    pub fn finding(&self, rule: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.rule == rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_lossy() {
        let long = vec![b'a'; 1000];
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), MAX_EXCERPT_CHARS);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"ok\xff\x1b[31m"), "ok\u{fffd}\u{fffd}[31m");
    }
}
