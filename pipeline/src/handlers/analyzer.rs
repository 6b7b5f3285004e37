//! Bundle analyzer: `Object Created` under `bundles/` (or a manual `analyze` payload) → stream the
//! object from S3 through the analyzer on a blocking thread (bounded memory, nothing written to /tmp)
//! → enrich with EC2 instance-type limits and the cluster's version, endpoint and VPC CNI add-on →
//! write `report.json` and `report.html` beside the bundle → record findings on the incident →
//! publish a findings event.
//!
//! Before reading, the object's size is checked (`HeadObject`): a bundle over the configured maximum
//! is a note on its incident, not an analysis that runs into the function's timeout; and the reader
//! stops after a configured multiple of the compressed size (reported as an incomplete bundle), so
//! a small gzip bomb cannot keep it inflating. The findings event stays under EventBridge's entry
//! limit whatever the report holds: see [`findings_event`].

use eks_remedy_core::render::{render, Format};
use eks_remedy_core::report::Report;
use eks_remedy_core::{Analyzer, BundleError, Options};

use super::unexpected;
use crate::events::{Inbound, Manual};
use crate::function::{Handler, Invocation};
use crate::metrics::{Metric, RuleMetric};
use crate::model::notes::ANALYSIS_SKIPPED;
use crate::model::{id_account_region, BundleKey};
use crate::ports::{ClusterDirectory, Ec2Directory, FindingsPublisher, IncidentStore, ObjectStore};
use crate::telemetry::{record, EventField};
use crate::{HandlerError, DEFAULT_MAX_BUNDLE_BYTES, DEFAULT_MAX_INFLATION_RATIO};

/// Detail type of the findings event.
pub const FINDINGS_DETAIL_TYPE: &str = "eks-remedy findings";

/// Most bytes of the findings event's `detail` JSON. EventBridge refuses an entry over 256 KB
/// (detail, detail type, source and resources together), so this leaves room for the rest.
pub const MAX_EVENT_DETAIL_BYTES: usize = 200 * 1024;
/// Longest bundle-derived text (summaries) carried in the event; the report has the whole text.
const MAX_EVENT_TEXT_CHARS: usize = 1000;
/// Largest entry of one finding in the event; a larger one leaves its actions to the report.
const MAX_EVENT_FINDING_BYTES: usize = 8 * 1024;

/// What one analysis produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Analyzed {
    /// The report.
    pub report: Report,
    /// Where `report.json` was written.
    pub report_key: String,
}

/// The handler.
pub struct BundleAnalyzer<O, E, C, S, P> {
    objects: O,
    ec2: E,
    eks: C,
    store: S,
    publisher: P,
    analyzer: std::sync::Arc<Analyzer>,
    options: Options,
    max_bundle_bytes: u64,
    max_inflation_ratio: u64,
}

impl<
        O: ObjectStore,
        E: Ec2Directory,
        C: ClusterDirectory,
        S: IncidentStore,
        P: FindingsPublisher,
    > BundleAnalyzer<O, E, C, S, P>
{
    /// Builds the handler; `options` carries the reader limits.
    pub fn new(
        objects: O,
        ec2: E,
        eks: C,
        store: S,
        publisher: P,
        options: Options,
    ) -> Result<Self, HandlerError> {
        let analyzer = Analyzer::new().map_err(|e| HandlerError::Config(e.to_string()))?;
        Ok(BundleAnalyzer {
            objects,
            ec2,
            eks,
            store,
            publisher,
            analyzer: std::sync::Arc::new(analyzer),
            options,
            max_bundle_bytes: DEFAULT_MAX_BUNDLE_BYTES,
            max_inflation_ratio: DEFAULT_MAX_INFLATION_RATIO,
        })
    }

    /// Sets the largest bundle read (compressed bytes) and the most it may inflate to, as a
    /// multiple of its compressed size (`MaxBundleBytes`, `MaxInflationRatio` in the template).
    pub fn with_size_limits(mut self, max_bundle_bytes: u64, max_inflation_ratio: u64) -> Self {
        self.max_bundle_bytes = max_bundle_bytes;
        self.max_inflation_ratio = max_inflation_ratio.max(1);
        self
    }

    /// The store, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Analyses the bundle at `key`; `Ok(None)` when the key is not a bundle upload.
    pub async fn analyze_key(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<Analyzed>, HandlerError> {
        let Some(bk) = BundleKey::parse(key) else {
            tracing::info!(%bucket, %key, "not a bundle upload; ignored");
            return Ok(None);
        };
        self.analyze(bucket, key, &bk).await.map(Some)
    }

    async fn analyze(
        &self,
        bucket: &str,
        key: &str,
        bk: &BundleKey,
    ) -> Result<Analyzed, HandlerError> {
        let bytes = self.objects.size(bucket, key).await?;
        if bytes > self.max_bundle_bytes {
            let what = format!("s3://{bucket}/{key}");
            self.store
                .note(
                    &bk.incident_id,
                    &format!(
                        "{ANALYSIS_SKIPPED} {what} is {bytes} bytes, over the {} the analyzer reads (MaxBundleBytes); analyse it with the CLI",
                        self.max_bundle_bytes
                    ),
                )
                .await?;
            return Err(HandlerError::TooLarge {
                what,
                bytes,
                limit: self.max_bundle_bytes,
            });
        }
        let mut options = self.options.clone();
        // A small object that inflates without end (a gzip bomb) stops here, reported as an
        // incomplete bundle, instead of running into the function's timeout.
        let inflation_bound = bytes.saturating_mul(self.max_inflation_ratio);
        options.limits.max_total_bytes = options.limits.max_total_bytes.min(inflation_bound);
        // Authoritative instance facts from EC2; a failure here degrades to the bundle's own facts.
        match self
            .ec2
            .instances(std::slice::from_ref(&bk.instance_id))
            .await
        {
            Ok(found) => {
                if let Some(t) = found.into_iter().next().and_then(|i| i.instance_type) {
                    options.instance_limits = self.ec2.type_limits(&t).await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "DescribeInstanceTypes failed; using the built-in table");
                        None
                    });
                    options.instance_type = Some(t);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, instance = %bk.instance_id, "instance lookup failed; analysing with bundle facts only")
            }
        }
        match self.eks.describe(&bk.cluster).await {
            Ok(context) => options.cluster = Some(context),
            Err(e) => {
                tracing::warn!(error = %e, cluster = %bk.cluster, "DescribeCluster failed; analysing without cluster context")
            }
        }
        let body = self.objects.open(bucket, key).await?;
        let analyzer = self.analyzer.clone();
        let source = format!("s3://{bucket}/{key}");
        let file = bk.file.clone();
        // The analyzer reads synchronously; a blocking thread keeps the async workers free.
        let analysed = tokio::task::spawn_blocking(move || {
            analyzer.analyze_stream(body, &source, &file, &options)
        })
        .await
        .map_err(|e| HandlerError::Internal(format!("analysis thread: {e}")))?;
        let report = match analysed {
            Ok(report) => report,
            Err(e @ (BundleError::NotABundle { .. } | BundleError::NoKnownMembers { .. })) => {
                // Acknowledged (retrying reads the same object): the incident says why no report.
                self.store
                    .note(&bk.incident_id, &format!("{ANALYSIS_SKIPPED} {e}"))
                    .await?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let report_key = bk.sibling("report.json");
        self.objects
            .put(
                bucket,
                &report_key,
                render(&report, Format::Json, false).into_bytes(),
                "application/json",
            )
            .await?;
        self.objects
            .put(
                bucket,
                &bk.sibling("report.html"),
                render(&report, Format::Html, false).into_bytes(),
                "text/html; charset=utf-8",
            )
            .await?;
        let rules: Vec<String> = report.findings.iter().map(|f| f.rule.clone()).collect();
        self.store
            .record_findings(&bk.incident_id, &bk.instance_id, &rules, &report_key)
            .await?;
        let detail = findings_event(bk, bucket, &report_key, &report);
        self.publisher
            .publish(FINDINGS_DETAIL_TYPE, &detail)
            .await?;
        Ok(Analyzed { report, report_key })
    }
}

/// The findings event's detail: where the reports are, the likely root cause, and the findings
/// (likely root causes first) as far as they fit in [`MAX_EVENT_DETAIL_BYTES`]. Bundle-derived text
/// is cut to [`MAX_EVENT_TEXT_CHARS`]; a finding still over [`MAX_EVENT_FINDING_BYTES`] leaves its
/// actions to the report (`actions_omitted`); findings that do not fit are counted in
/// `findings_omitted`. The report keys are always there, so a consumer can read everything.
pub fn findings_event(
    bk: &BundleKey,
    bucket: &str,
    report_key: &str,
    report: &Report,
) -> serde_json::Value {
    let root_cause = report.root_cause.as_ref().map(|rc| {
        serde_json::json!({
            "chain": rc.chain,
            "summary": cut(&rc.summary),
        })
    });
    let (account, region) = id_account_region(&bk.incident_id).unzip();
    let mut detail = serde_json::json!({
        "incident_id": bk.incident_id,
        "account": account,
        "region": region,
        "cluster": bk.cluster,
        "instance_id": bk.instance_id,
        "bucket": bucket,
        "report_json": report_key,
        "report_html": bk.sibling("report.html"),
        "root_cause": root_cause,
        "findings_total": report.findings.len(),
        "findings_omitted": 0,
        "findings": [],
    });
    // The skeleton's size, with room for the omitted count's digits and the array's commas.
    let mut used = detail.to_string().len() + 24;
    let mut kept = Vec::new();
    for f in &report.findings {
        let mut entry = serde_json::json!({
            "rule": f.rule, "severity": f.severity, "title": cut(&f.title), "summary": cut(&f.summary),
            "count": f.count, "actions": f.actions, "root_cause": f.root_cause,
        });
        if entry.to_string().len() > MAX_EVENT_FINDING_BYTES {
            entry["actions"] = serde_json::json!([]);
            entry["actions_omitted"] = serde_json::json!(true);
        }
        let size = entry.to_string().len() + 1;
        if used + size > MAX_EVENT_DETAIL_BYTES {
            break;
        }
        used += size;
        kept.push(entry);
    }
    detail["findings_omitted"] = serde_json::json!(report.findings.len() - kept.len());
    detail["findings"] = serde_json::Value::Array(kept);
    detail
}

/// `s` cut to [`MAX_EVENT_TEXT_CHARS`] characters, marked when cut.
fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_EVENT_TEXT_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// What the analyzer answers for one bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnalyzerAnswer {
    /// Where `report.json` was written (`None`: the object was not a bundle upload).
    pub report_key: Option<String>,
    /// Findings in the report.
    pub findings: usize,
}

impl<
        O: ObjectStore,
        E: Ec2Directory,
        C: ClusterDirectory,
        S: IncidentStore,
        P: FindingsPublisher,
    > Handler for BundleAnalyzer<O, E, C, S, P>
{
    type Answer = AnalyzerAnswer;

    async fn handle(
        &self,
        event: Inbound,
        inv: &Invocation,
    ) -> Result<AnalyzerAnswer, HandlerError> {
        let (bucket, key) = match event {
            Inbound::Object(o) => (o.bucket, o.key),
            Inbound::Manual(Manual::Analyze { bucket, key }) => (bucket, key),
            other => return Err(unexpected(&other)),
        };
        if let Some(bk) = BundleKey::parse(&key) {
            let span = tracing::Span::current();
            record(&span, EventField::IncidentId, &bk.incident_id);
            record(&span, EventField::Cluster, &bk.cluster);
            record(&span, EventField::InstanceId, &bk.instance_id);
        }
        let started = std::time::Instant::now();
        Ok(match self.analyze_key(&bucket, &key).await? {
            Some(a) => {
                inv.metric(|m| {
                    m.count(Metric::BundlesAnalyzed, 1);
                    m.seconds(Metric::AnalysisSeconds, started.elapsed());
                    m.bytes(Metric::AnalysisBytes, a.report.bundle.inflated_bytes);
                    for f in &a.report.findings {
                        m.rule_count(RuleMetric::Findings, &f.rule, 1);
                    }
                });
                AnalyzerAnswer {
                    report_key: Some(a.report_key),
                    findings: a.report.findings.len(),
                }
            }
            None => AnalyzerAnswer {
                report_key: None,
                findings: 0,
            },
        })
    }
}
