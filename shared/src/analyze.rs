//! One analysis: read the bundle through the scanner, resolve time, run the rules, correlate.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use regex::Regex;

use crate::bundle::{read_bundle, read_stream, strip_gz, BundleError, Limits, ReadSummary};
use crate::correlate::{correlate, timeline};
use crate::facts::ClusterContext;
use crate::report::{BundleInfo, Report, SkippedCheck, SCHEMA_VERSION};
use crate::rule::{EvalCtx, Rule, Verdict};
use crate::scan::{Engine, Scanner, SignatureError};
use crate::source::SourceKind;
use crate::stamp::Clock;

/// How to analyse.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Reader limits.
    pub limits: Limits,
    /// Instance type, when the bundle does not say (it wins over the bundle).
    pub instance_type: Option<String>,
    /// (ENIs, IPv4 per ENI) of the instance type from EC2 `DescribeInstanceTypes`; wins over the
    /// built-in table.
    pub instance_limits: Option<(u32, u32)>,
    /// The cluster, from the EKS API.
    pub cluster: Option<ClusterContext>,
    /// Advanced with compressed bytes read.
    pub progress: Option<Arc<AtomicU64>>,
}

/// The compiled rule catalogue; build once, analyse many bundles.
pub struct Analyzer {
    rules: Vec<&'static dyn Rule>,
    engine: Engine,
}

/// What the bundle's file name tells: `eks_<instance-id>_<YYYY-MM-DD_HHMM>-UTC_<version>.tar.gz`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameInfo {
    /// Instance id (empty in the name when the collector had no metadata).
    pub instance_id: Option<String>,
    /// Collection time.
    pub collected_at: Option<DateTime<Utc>>,
    /// Collector version.
    pub collector_version: Option<String>,
}

/// Reads the collector's naming convention; anything else yields nothing.
pub fn parse_bundle_name(name: &str) -> NameInfo {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(r) = R
        .get_or_init(|| {
            // The version is optional: the pipeline's Run Command collection names its upload
            // without one (`eks_<instance>_<YYYY-MM-DD_HHMM>-UTC.tar.gz`).
            Regex::new(r"eks_(i-[0-9a-f]+)?_(\d{4}-\d{2}-\d{2}_\d{4})-UTC(?:_(\d+(?:\.\d+)*))?")
                .ok()
        })
        .as_ref()
    else {
        return NameInfo::default();
    };
    let Some(c) = r.captures(name) else {
        return NameInfo::default();
    };
    NameInfo {
        instance_id: c.get(1).map(|m| m.as_str().to_string()),
        collected_at: NaiveDateTime::parse_from_str(&c[2], "%Y-%m-%d_%H%M")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t)),
        collector_version: c.get(3).map(|m| m.as_str().to_string()),
    }
}

impl Analyzer {
    /// Compiles the catalogue.
    pub fn new() -> Result<Analyzer, SignatureError> {
        let rules = crate::rules::all();
        let engine = Engine::new(&rules)?;
        Ok(Analyzer { rules, engine })
    }

    /// Analyses the bundle (archive or folder) at `path`.
    pub fn analyze(&self, path: &Path, opts: &Options) -> Result<Report, BundleError> {
        let mut scanner = Scanner::new(&self.engine, opts.limits.max_line_bytes);
        let summary = read_bundle(path, &opts.limits, &mut scanner, opts.progress.clone())?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(self.report(scanner, summary, &path.display().to_string(), &name, opts))
    }

    /// Analyses a bundle archive read from `input` (e.g. an S3 object body). `name` is its file name
    /// (the collector's name carries the instance id and collection time); `source` is shown in the
    /// report (e.g. `s3://bucket/key`).
    pub fn analyze_stream<R: Read + Send + 'static>(
        &self,
        input: R,
        source: &str,
        name: &str,
        opts: &Options,
    ) -> Result<Report, BundleError> {
        let mut scanner = Scanner::new(&self.engine, opts.limits.max_line_bytes);
        let summary = read_stream(
            input,
            source,
            &opts.limits,
            &mut scanner,
            opts.progress.clone(),
        )?;
        Ok(self.report(scanner, summary, source, name, opts))
    }

    fn report(
        &self,
        scanner: Scanner<'_>,
        summary: ReadSummary,
        source: &str,
        name: &str,
        opts: &Options,
    ) -> Report {
        let (counted, mut facts, lines_cut) = scanner.finish();
        let latest_full = counted
            .markers
            .values()
            .chain(counted.rules.iter().flat_map(|m| m.values()))
            .filter_map(|o| o.range.latest_full())
            .max();
        facts.absorb_markers(counted.markers, opts.instance_type.as_deref());
        facts.damage = summary.damage.clone();
        facts.stopped_by = summary.stopped_by.clone();
        facts.type_limits = opts.instance_limits;
        if let Some(c) = &opts.cluster {
            // The API's version is authoritative; ipamd's log only shows what it saw at start.
            if let Some(v) = &c.version {
                facts.cluster_version = Some(if v.starts_with('v') {
                    v.clone()
                } else {
                    format!("v{v}")
                });
            }
            facts.cluster = Some(c.clone());
        }
        let info = parse_bundle_name(name);
        let mut clock = Clock {
            reference: info.collected_at.or(latest_full),
            boot: None,
        };
        clock.boot = facts.boot_time(&clock);

        let cut = cut_structured(&facts, &summary);
        let mut findings = Vec::new();
        let mut skipped_checks = Vec::new();
        for (rule, occurrences) in self.rules.iter().zip(&counted.rules) {
            let ctx = EvalCtx {
                occurrences,
                facts: &facts,
                clock: &clock,
            };
            let partial = rule
                .reads()
                .iter()
                .find_map(|k| cut.iter().find(|(kind, _, _)| kind == k));
            let verdict = match partial {
                Some((_, path, why)) => Verdict::Skipped(format!(
                    "{path} was read only in part ({why}); not concluding from a partial file"
                )),
                None => rule.evaluate(&ctx),
            };
            match verdict {
                Verdict::Fire(mut f) => {
                    f.first_seen_since_boot_s = f.first_seen.and_then(|t| clock.since_boot(t));
                    findings.push(*f);
                }
                Verdict::Clear => {}
                Verdict::Skipped(reason) => skipped_checks.push(SkippedCheck {
                    rule: rule.meta().id.to_string(),
                    reason,
                }),
            }
        }
        let root_cause = correlate(&mut findings);
        let timeline = timeline(&findings, &facts, &clock, info.collected_at);
        let bundle = BundleInfo {
            source: source.to_string(),
            instance_id: facts.instance_id.clone().or(info.instance_id),
            instance_type: facts.instance_type.as_ref().map(|t| t.0.clone()),
            instance_type_source: facts.instance_type.as_ref().map(|t| t.1.to_string()),
            region: facts.region.clone(),
            availability_zone: facts.availability_zone.clone(),
            os: facts.os.map(str::to_string),
            kubelet_version: facts.kubelet_version.clone(),
            cluster_version: facts.cluster_version.clone(),
            vpc_cni_version: facts.cni_version.clone(),
            kube_proxy_version: facts.kube_proxy_version.clone(),
            collector_version: info.collector_version,
            collected_at: info.collected_at,
            boot_time: clock.boot,
            input_bytes: summary.input_bytes,
            bytes_read: summary.bytes_read,
            inflated_bytes: summary.inflated_bytes,
            stopped_by: summary.stopped_by,
            members_read: summary.members_read,
            members_skipped: summary.skipped,
            members_truncated: summary.members_truncated,
            members_truncated_omitted: 0,
            lines_cut,
            limits: opts.limits,
        };
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            tool: format!("eks-remedy {}", env!("CARGO_PKG_VERSION")),
            bundle,
            findings,
            root_cause,
            timeline,
            skipped_checks,
        };
        report.bound();
        report
    }
}

/// Structured members read only in part, with their kind and why: cut by the JSON size limit, by a
/// reader limit (member bytes, total bytes, ratio) or by damage part-way.
fn cut_structured(
    facts: &crate::facts::Facts,
    summary: &ReadSummary,
) -> Vec<(SourceKind, String, String)> {
    let kind = |p: &str| SourceKind::classify(strip_gz(p));
    let mut cut: Vec<(SourceKind, String, String)> = facts
        .cut
        .iter()
        .map(|(p, why)| (kind(p), p.clone(), why.clone()))
        .collect();
    cut.extend(
        summary
            .members_truncated
            .iter()
            .map(|p| (kind(p), p.clone(), "cut at a reader limit".to_string())),
    );
    cut.extend(summary.damage.iter().filter_map(|d| {
        let p = d.member.as_ref()?;
        Some((kind(p), p.clone(), d.reason.clone()))
    }));
    cut.retain(|(k, _, _)| k.is_structured());
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names() {
        let n = parse_bundle_name("eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz");
        assert_eq!(n.instance_id.as_deref(), Some("i-0abc12345def67890"));
        assert_eq!(
            n.collected_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-10-19T08:12:00+00:00")
        );
        assert_eq!(n.collector_version.as_deref(), Some("0.7.9"));
        let anon = parse_bundle_name("eks__2026-10-19_0812-UTC_0.7.9.tar.gz");
        assert_eq!(anon.instance_id, None);
        assert!(anon.collected_at.is_some());
        assert_eq!(parse_bundle_name("logs.tgz"), NameInfo::default());
    }

    #[test]
    fn pipeline_upload_names_without_a_collector_version_still_date_the_bundle() {
        let n = parse_bundle_name("eks_i-0abc12345def67890_2026-10-19_0812-UTC.tar.gz");
        assert_eq!(n.instance_id.as_deref(), Some("i-0abc12345def67890"));
        assert!(n.collected_at.is_some());
        assert_eq!(n.collector_version, None);
    }
}
