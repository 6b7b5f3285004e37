//! The pipeline's own metrics, written as CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! Lambda sends stdout to CloudWatch Logs, which turns every EMF document into metrics: no API call,
//! no `cloudwatch:PutMetricData` permission, nothing to fail on the handler's path. A handler records
//! into one [`Metrics`] per event and the edge flushes it once the event is done:
//!
//! ```
//! use eks_remedy_pipeline::metrics::{Captured, Metric, Metrics, RuleMetric};
//!
//! let mut m = Metrics::new("EksRemedy", "bundle-analyzer");
//! m.set_kind("bundle");
//! m.count(Metric::EventsReceived, 1);
//! m.seconds(Metric::AnalysisSeconds, std::time::Duration::from_millis(2_500));
//! m.rule_count(RuleMetric::Findings, "ebs-io-throttling", 1);
//! let out = Captured::default();
//! assert_eq!(m.flush(&out), 2); // one line for the event, one for the rule
//! ```
//!
//! Dimensions. Event metrics ([`Metric`]) are published twice: per `function`, and per `function`
//! and `kind` when the event's kind is known, so a dashboard can sum a function without listing its
//! kinds. Per-rule metrics ([`RuleMetric`]) are published per `function` and `rule`; one EMF document
//! holds one value per dimension, so each rule gets its own line.
//!
//! The documents keep the specification's limits whatever is recorded: at most 100 metrics per
//! directive and 100 values per metric, dimension values as non-empty ASCII of at most 1,024
//! characters, and only values CloudWatch accepts (finite, magnitude within 2^-260..2^360 or zero);
//! anything else is dropped, never sent to make CloudWatch reject the whole line.
//! [`validate`] checks a line against the specification: tests of anything that prints metrics
//! (a handled event, a replay) use it on what was written to a [`Captured`] sink.
//!
//! Why not a crate: awslabs' `metrique` (0.1.33, with `metrique-writer-format-emf`) needs Rust 1.91
//! while the workspace supports 1.85, and is a framework for "wide event" records; the pipeline
//! records about a dozen numbers per event, which this module formats in one pass.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// The environment variable naming the CloudWatch namespace.
pub const NAMESPACE_ENV: &str = "METRICS_NAMESPACE";
/// The namespace when [`NAMESPACE_ENV`] is unset or invalid.
pub const DEFAULT_NAMESPACE: &str = "EksRemedy";

/// Dimension: the function that handled the event.
pub const FUNCTION: &str = "function";
/// Dimension: the kind of event handled (`throttling`, `launch`, `bundle`...).
pub const KIND: &str = "kind";
/// Dimension: the rule id of a finding.
pub const RULE: &str = "rule";

/// EMF's limit on metrics per directive.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// EMF's limit on values in one metric's array.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// CloudWatch's limit on dimensions per metric.
pub const MAX_DIMENSIONS: usize = 30;
/// CloudWatch's limit on a dimension value's length.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
/// CloudWatch's limit on a namespace's length.
pub const MAX_NAMESPACE_CHARS: usize = 255;

/// The unit CloudWatch stores with a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things; summed into one value per flush.
    Count,
    /// A duration; every observation kept.
    Seconds,
    /// A size; every observation kept.
    Bytes,
}

impl Unit {
    /// The unit's name in EMF (`MetricDefinition.Unit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
        }
    }
}

/// Declares a metric enum once: each variant's name is its CloudWatch name, `ALL` lists every
/// variant (so a new one cannot be left out of the list), `unit()` gives its unit.
macro_rules! metric_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[doc = $doc:literal])* $variant:ident: $unit:ident,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum $name {
            $($(#[doc = $doc])* $variant,)+
        }

        impl $name {
            /// Every variant.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The metric's name in CloudWatch.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }

            /// The metric's unit.
            pub fn unit(self) -> Unit {
                match self {
                    $($name::$variant => Unit::$unit,)+
                }
            }
        }
    };
}

metric_enum! {
    /// A metric of one handled event, published per `function` and per `function` + `kind`.
    ///
    /// Adding one: a line here and a widget on the template's dashboard (a test fails until the
    /// dashboard shows it).
    Metric {
        /// An event reached the function.
        EventsReceived: Count,
        /// The event was acknowledged without work (foreign, duplicate, over a budget).
        EventsIgnored: Count,
        /// The event failed (retried or dead-lettered).
        EventsFailed: Count,
        /// A new incident was opened.
        IncidentsOpened: Count,
        /// A log collection was started on a node.
        CollectionsStarted: Count,
        /// A collection ended without a bundle.
        CollectionsFailed: Count,
        /// A collection ended with a bundle uploaded.
        CollectionsSucceeded: Count,
        /// A bundle was analysed and its report written.
        BundlesAnalyzed: Count,
        /// Time the analysis of one bundle took.
        AnalysisSeconds: Seconds,
        /// Bytes the analyzer read from one bundle (inflated).
        AnalysisBytes: Bytes,
        /// A chat target received the incident's current state.
        NotificationsSent: Count,
        /// A chat delivery failed (the event is retried, then dead-lettered; the view is kept).
        NotificationsFailed: Count,
        /// A chat message waited for its channel's rate limit.
        NotificationsHeld: Count,
    }
}

metric_enum! {
    /// A metric counted per rule id, published per `function` + `rule`.
    RuleMetric {
        /// Findings reported for the rule.
        Findings: Count,
    }
}

/// The dimension sets a metric of this name is published under, or `None` for a name this module
/// does not define (the dashboard test checks its queries against this).
pub fn dimension_sets(name: &str) -> Option<Vec<Vec<&'static str>>> {
    if Metric::ALL.iter().any(|m| m.name() == name) {
        Some(vec![vec![FUNCTION], vec![FUNCTION, KIND]])
    } else if RuleMetric::ALL.iter().any(|m| m.name() == name) {
        Some(vec![vec![FUNCTION, RULE]])
    } else {
        None
    }
}

/// Where flushed EMF lines go.
pub trait Sink {
    /// Writes one EMF document (a JSON object without newline) as one line. Never fails the caller:
    /// losing a metric must not fail an event.
    fn line(&self, line: &str);
}

/// Standard output, where Lambda's log capture picks EMF up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Sink for Stdout {
    fn line(&self, line: &str) {
        // One write of the whole line, so a log line written concurrently cannot land inside it.
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        // A closed stdout leaves nothing useful to do with the error.
        let _ = std::io::stdout().lock().write_all(buf.as_bytes());
    }
}

/// Keeps every line in memory, for tests and replays.
#[derive(Debug, Default)]
pub struct Captured {
    lines: Mutex<Vec<String>>,
}

impl Captured {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl Sink for Captured {
    fn line(&self, line: &str) {
        match self.lines.lock() {
            Ok(mut l) => l.push(line.to_string()),
            Err(poisoned) => poisoned.into_inner().push(line.to_string()),
        }
    }
}

/// The values recorded under one set of dimension values.
#[derive(Debug, Default, Clone)]
struct Values {
    /// Metric name → (unit, values), in name order so output is stable.
    by_name: BTreeMap<&'static str, (Unit, Vec<f64>)>,
}

impl Values {
    fn record(&mut self, name: &'static str, unit: Unit, value: f64) {
        if !accepted(value) {
            tracing::warn!(
                metric = name,
                value,
                "metric value dropped: CloudWatch refuses it"
            );
            return;
        }
        let (_, values) = self.by_name.entry(name).or_insert((unit, Vec::new()));
        if unit == Unit::Count && !values.is_empty() {
            values[0] += value;
        } else if values.len() < MAX_VALUES_PER_METRIC {
            values.push(value);
        } else {
            tracing::warn!(
                metric = name,
                "metric value dropped: over {MAX_VALUES_PER_METRIC} values in one flush"
            );
        }
    }
}

/// Whether CloudWatch accepts the value: finite, and zero or of magnitude 2^-260 to 2^360.
fn accepted(value: f64) -> bool {
    let magnitude = value.abs();
    value.is_finite()
        && (magnitude == 0.0 || (2f64.powi(-260)..=2f64.powi(360)).contains(&magnitude))
}

/// The metrics of one event (or one batch), flushed as EMF lines.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    function: String,
    kind: Option<String>,
    event: Values,
    /// (rule id, values) in rule order.
    rules: BTreeMap<String, Values>,
}

impl Metrics {
    /// A recorder for `function` (a dimension value, e.g. `throttle-watcher`) in `namespace`.
    pub fn new(namespace: &str, function: &str) -> Metrics {
        Metrics {
            namespace: namespace.to_string(),
            function: dimension_value(function),
            kind: None,
            event: Values::default(),
            rules: BTreeMap::new(),
        }
    }

    /// A recorder in the namespace read from [`NAMESPACE_ENV`] through `get` (see [`namespace`]).
    pub fn from_env(function: &str, get: impl Fn(&str) -> Option<String>) -> Metrics {
        Metrics::new(&namespace(get), function)
    }

    /// Sets the event's kind: the event metrics are then also published per kind.
    pub fn set_kind(&mut self, kind: &str) {
        self.kind = Some(dimension_value(kind));
    }

    /// Adds `n` to a metric (for a unit other than `Count`, `n` is one observation).
    pub fn count(&mut self, metric: Metric, n: u64) {
        // Precision is lost only past 2^53, far beyond any count of one event.
        self.observe(metric, n as f64);
    }

    /// Records one observation (summed for a `Count` metric).
    pub fn observe(&mut self, metric: Metric, value: f64) {
        self.event.record(metric.name(), metric.unit(), value);
    }

    /// Records a duration in seconds.
    pub fn seconds(&mut self, metric: Metric, elapsed: Duration) {
        self.observe(metric, elapsed.as_secs_f64());
    }

    /// Records a size in bytes.
    pub fn bytes(&mut self, metric: Metric, n: u64) {
        self.observe(metric, n as f64);
    }

    /// Adds `n` to a per-rule metric for `rule`.
    pub fn rule_count(&mut self, metric: RuleMetric, rule: &str, n: u64) {
        self.rules.entry(dimension_value(rule)).or_default().record(
            metric.name(),
            metric.unit(),
            n as f64,
        );
    }

    /// Whether nothing was recorded since the last flush.
    pub fn is_empty(&self) -> bool {
        self.event.by_name.is_empty() && self.rules.values().all(|v| v.by_name.is_empty())
    }

    /// The EMF documents for what was recorded, stamped `timestamp_ms` (milliseconds since the
    /// epoch): the event's first, then one per rule. Nothing recorded, no document.
    pub fn documents(&self, timestamp_ms: u64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut event_dims = vec![(FUNCTION, self.function.as_str())];
        if let Some(kind) = &self.kind {
            event_dims.push((KIND, kind.as_str()));
        }
        // Per function alone, and with the kind when known.
        let event_sets: Vec<&[(&str, &str)]> = if event_dims.len() > 1 {
            vec![&event_dims[..1], &event_dims[..]]
        } else {
            vec![&event_dims[..]]
        };
        out.extend(self.document(timestamp_ms, &event_sets, &self.event));
        for (rule, values) in &self.rules {
            let dims = [(FUNCTION, self.function.as_str()), (RULE, rule.as_str())];
            out.extend(self.document(timestamp_ms, &[&dims[..]], values));
        }
        out
    }

    /// One EMF document: the dimension values and metric values at the top level, and a directive
    /// per 100 metrics naming them.
    fn document(
        &self,
        timestamp_ms: u64,
        dimension_sets: &[&[(&str, &str)]],
        values: &Values,
    ) -> Option<Value> {
        if values.by_name.is_empty() {
            return None;
        }
        let mut root = Map::new();
        for set in dimension_sets {
            for (name, value) in set.iter() {
                root.insert((*name).to_string(), Value::from(*value));
            }
        }
        let sets: Vec<Vec<&str>> = dimension_sets
            .iter()
            .map(|set| set.iter().take(MAX_DIMENSIONS).map(|(n, _)| *n).collect())
            .collect();
        let mut definitions = Vec::new();
        for (name, (unit, vals)) in &values.by_name {
            let value = match vals.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            root.insert((*name).to_string(), value);
            definitions.push(json!({ "Name": name, "Unit": unit.as_str() }));
        }
        let directives: Vec<Value> = definitions
            .chunks(MAX_METRICS_PER_DIRECTIVE)
            .map(|chunk| {
                json!({ "Namespace": self.namespace, "Dimensions": sets, "Metrics": chunk })
            })
            .collect();
        root.insert(
            "_aws".into(),
            json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }),
        );
        Some(Value::Object(root))
    }

    /// Writes what was recorded to `sink`, one EMF line per document, stamped now, and starts
    /// over (the kind is kept). Returns the number of lines written.
    pub fn flush(&mut self, sink: &dyn Sink) -> usize {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let documents = self.documents(now_ms);
        for document in &documents {
            sink.line(&document.to_string());
        }
        self.event = Values::default();
        self.rules.clear();
        documents.len()
    }
}

/// CloudWatch Logs' limit on one log event, which bounds an EMF document.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The units CloudWatch accepts in `MetricDefinition.Unit`.
const CLOUDWATCH_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric an EMF document publishes: under this namespace, with these dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `MetricDirective.Namespace`.
    pub namespace: String,
    /// One dimension set of the directive (dimension names).
    pub dimensions: Vec<String>,
    /// `MetricDefinition.Name`.
    pub name: String,
}

/// Why a line is not an EMF document CloudWatch would turn into metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmfError {
    /// Not one line holding one JSON object.
    #[error("not an EMF line: {0}")]
    NotADocument(String),
    /// A member is missing, of the wrong type or out of the specification's limits.
    #[error("{member}: {reason}")]
    Invalid {
        /// Where, e.g. `_aws.CloudWatchMetrics[0].Namespace`.
        member: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(member: impl Into<String>, reason: impl Into<String>) -> EmfError {
    EmfError::Invalid {
        member: member.into(),
        reason: reason.into(),
    }
}

/// Checks one line against the Embedded Metric Format specification and CloudWatch's limits, and
/// returns what it publishes: for tests of anything that prints metrics, and for replays.
pub fn validate(line: &str) -> Result<Vec<Published>, EmfError> {
    if line.contains('\n') || line.len() > MAX_DOCUMENT_BYTES {
        return Err(EmfError::NotADocument(format!(
            "{} bytes, {} line(s)",
            line.len(),
            line.lines().count()
        )));
    }
    let doc: Value =
        serde_json::from_str(line).map_err(|e| EmfError::NotADocument(e.to_string()))?;
    let root = doc
        .as_object()
        .ok_or_else(|| EmfError::NotADocument("not a JSON object".into()))?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("_aws", "missing or not an object"))?;
    if aws.get("Timestamp").and_then(Value::as_u64).is_none() {
        return Err(invalid(
            "_aws.Timestamp",
            "missing or not a whole number of milliseconds",
        ));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| invalid("_aws.CloudWatchMetrics", "missing, empty or not an array"))?;
    let mut out = Vec::new();
    for (i, d) in directives.iter().enumerate() {
        let at = format!("_aws.CloudWatchMetrics[{i}]");
        let namespace = d
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty() && ns.len() <= MAX_NAMESPACE_CHARS && !ns.starts_with(':'))
            .ok_or_else(|| invalid(format!("{at}.Namespace"), "missing or not 1-255 characters"))?;
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid(format!("{at}.Dimensions"), "missing or not an array"))?;
        let mut dimension_sets = Vec::new();
        for (j, set) in sets.iter().enumerate() {
            let at = format!("{at}.Dimensions[{j}]");
            let set = set
                .as_array()
                .filter(|s| s.len() <= MAX_DIMENSIONS)
                .ok_or_else(|| invalid(&at, "not an array of at most 30 names"))?;
            let mut names = Vec::new();
            for name in set {
                let name = name
                    .as_str()
                    .ok_or_else(|| invalid(&at, "a dimension name is not a string"))?;
                let value = root
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(name, "a dimension without a top-level string value"))?;
                if value.trim().is_empty()
                    || value.len() > MAX_DIMENSION_VALUE_CHARS
                    || !value.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
                {
                    return Err(invalid(name, "not 1-1024 printable ASCII characters"));
                }
                names.push(name.to_string());
            }
            dimension_sets.push(names);
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .filter(|m| !m.is_empty() && m.len() <= MAX_METRICS_PER_DIRECTIVE)
            .ok_or_else(|| invalid(format!("{at}.Metrics"), "not an array of 1-100 metrics"))?;
        for (k, m) in metrics.iter().enumerate() {
            let at = format!("{at}.Metrics[{k}]");
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.len() <= 255)
                .ok_or_else(|| invalid(format!("{at}.Name"), "missing or not 1-255 characters"))?;
            if let Some(unit) = m.get("Unit") {
                if !unit.as_str().is_some_and(|u| CLOUDWATCH_UNITS.contains(&u)) {
                    return Err(invalid(
                        format!("{at}.Unit"),
                        format!("{unit} is not a CloudWatch unit"),
                    ));
                }
            }
            if let Some(r) = m.get("StorageResolution") {
                if !matches!(r.as_u64(), Some(1 | 60)) {
                    return Err(invalid(format!("{at}.StorageResolution"), "not 1 or 60"));
                }
            }
            let values: Vec<&Value> = match root.get(name) {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(v) => vec![v],
                None => return Err(invalid(name, "a metric without a top-level value")),
            };
            let numbers_ok = !values.is_empty()
                && values.len() <= MAX_VALUES_PER_METRIC
                && values.iter().all(|v| v.as_f64().is_some_and(accepted));
            if !numbers_ok {
                return Err(invalid(
                    name,
                    "not a number or an array of 1-100 numbers CloudWatch accepts",
                ));
            }
            for dimensions in &dimension_sets {
                out.push(Published {
                    namespace: namespace.to_string(),
                    dimensions: dimensions.clone(),
                    name: name.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// The namespace from [`NAMESPACE_ENV`]: [`DEFAULT_NAMESPACE`] when unset, and, with a warning,
/// when it is not a valid CloudWatch namespace (1 to 255 ASCII characters, not starting with `:`,
/// no control characters): bad settings must not cost the metrics.
pub fn namespace(get: impl Fn(&str) -> Option<String>) -> String {
    match get(NAMESPACE_ENV) {
        None => DEFAULT_NAMESPACE.to_string(),
        Some(ns) => {
            let ns = ns.trim();
            let valid = !ns.is_empty()
                && ns.len() <= MAX_NAMESPACE_CHARS
                && !ns.starts_with(':')
                && ns.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
            if valid {
                ns.to_string()
            } else {
                tracing::warn!(
                    value = ns,
                    "{NAMESPACE_ENV} is not a CloudWatch namespace; using {DEFAULT_NAMESPACE}"
                );
                DEFAULT_NAMESPACE.to_string()
            }
        }
    }
}

/// A dimension value CloudWatch accepts: ASCII without control characters (others become `_`),
/// trimmed, at most 1,024 characters, `unknown` when nothing is left.
pub fn dimension_value(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .take(MAX_DIMENSION_VALUE_CHARS)
        .collect();
    match cleaned.trim() {
        "" => "unknown".to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a flushed line against the EMF specification, as (namespace, dimensions, name).
    fn check_emf(line: &str) -> Vec<(String, Vec<String>, String)> {
        let published = validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let doc: Value = serde_json::from_str(line).unwrap();
        // Milliseconds, not seconds: any time after 2001 in milliseconds is past 10^12.
        let ts = doc["_aws"]["Timestamp"].as_u64().unwrap();
        assert!(
            ts > 1_000_000_000_000,
            "Timestamp {ts} is not in milliseconds"
        );
        published
            .into_iter()
            .map(|p| (p.namespace, p.dimensions, p.name))
            .collect()
    }

    fn flushed(m: &mut Metrics) -> Vec<String> {
        let sink = Captured::default();
        let n = m.flush(&sink);
        let lines = sink.lines();
        assert_eq!(n, lines.len());
        lines
    }

    #[test]
    fn an_analysed_bundle_prints_valid_emf() {
        let mut m = Metrics::new("EksRemedy", "bundle-analyzer");
        m.set_kind("bundle");
        m.count(Metric::EventsReceived, 1);
        m.count(Metric::BundlesAnalyzed, 1);
        m.seconds(Metric::AnalysisSeconds, Duration::from_millis(2_500));
        m.bytes(Metric::AnalysisBytes, 127_054);
        m.rule_count(RuleMetric::Findings, "ebs-io-throttling", 1);
        m.rule_count(RuleMetric::Findings, "pod-ip-assignment-failed", 2);
        let lines = flushed(&mut m);
        assert_eq!(lines.len(), 3, "{lines:#?}");

        let event = check_emf(&lines[0]);
        let doc: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            (doc["function"].as_str(), doc["kind"].as_str()),
            (Some("bundle-analyzer"), Some("bundle"))
        );
        assert_eq!(doc["AnalysisSeconds"], json!(2.5));
        assert_eq!(doc["AnalysisBytes"], json!(127_054.0));
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["function"], ["function", "kind"]])
        );
        let units: BTreeMap<String, String> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["Name"].as_str().unwrap().into(),
                    m["Unit"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(units["AnalysisSeconds"], "Seconds");
        assert_eq!(units["AnalysisBytes"], "Bytes");
        assert_eq!(units["EventsReceived"], "Count");
        assert_eq!(event.len(), 8, "4 metrics × 2 dimension sets");

        for (line, rule, n) in [
            (&lines[1], "ebs-io-throttling", 1.0),
            (&lines[2], "pod-ip-assignment-failed", 2.0),
        ] {
            let defined = check_emf(line);
            assert_eq!(
                defined,
                vec![(
                    "EksRemedy".into(),
                    vec!["function".into(), "rule".into()],
                    "Findings".into()
                )]
            );
            let doc: Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                (doc["rule"].as_str(), doc["Findings"].as_f64()),
                (Some(rule), Some(n))
            );
        }
        // Every name the documents define is a published name with those dimensions.
        for (_, dims, name) in check_emf(&lines[0]).into_iter().chain(check_emf(&lines[1])) {
            let sets = dimension_sets(&name).unwrap();
            assert!(sets.iter().any(|s| *s == dims), "{name} {dims:?}");
        }
    }

    #[test]
    fn the_validator_refuses_what_cloudwatch_would_not_extract() {
        let good = json!({
            "_aws": {"Timestamp": 1_760_000_000_000_u64, "CloudWatchMetrics": [
                {"Namespace": "EksRemedy", "Dimensions": [["function"]], "Metrics": [{"Name": "EventsReceived", "Unit": "Count"}]}
            ]},
            "function": "collector", "EventsReceived": 1
        });
        assert_eq!(validate(&good.to_string()).unwrap().len(), 1);
        // Each edit alone makes the document unusable to CloudWatch; the error names the member.
        let refused_at = |edit: &dyn Fn(&mut Value)| {
            let mut doc = good.clone();
            edit(&mut doc);
            match validate(&doc.to_string()) {
                Err(EmfError::Invalid { member, .. }) => member,
                other => panic!("{other:?} for {doc}"),
            }
        };
        let directive = "_aws.CloudWatchMetrics[0]";
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Edit, String)> = vec![
            (
                Box::new(|d| d["EventsReceived"] = json!("1")),
                "EventsReceived".into(),
            ),
            (
                Box::new(|d| d["EventsReceived"] = json!([])),
                "EventsReceived".into(),
            ),
            (
                Box::new(|d| d["EventsReceived"] = json!(1e300)),
                "EventsReceived".into(),
            ),
            (
                Box::new(|d| d["EventsReceived"] = json!(vec![1; 101])),
                "EventsReceived".into(),
            ),
            (
                Box::new(|d| drop(d.as_object_mut().unwrap().remove("EventsReceived"))),
                "EventsReceived".into(),
            ),
            (Box::new(|d| d["function"] = json!(7)), "function".into()),
            (
                Box::new(|d| d["function"] = json!("naïve")),
                "function".into(),
            ),
            (
                Box::new(|d| drop(d.as_object_mut().unwrap().remove("function"))),
                "function".into(),
            ),
            (
                Box::new(|d| d["_aws"]["Timestamp"] = json!("2026-10-19T05:00:00Z")),
                "_aws.Timestamp".into(),
            ),
            (
                Box::new(|d| d["_aws"]["Timestamp"] = json!(1.5)),
                "_aws.Timestamp".into(),
            ),
            (
                Box::new(|d| d["_aws"]["CloudWatchMetrics"] = json!([])),
                "_aws.CloudWatchMetrics".into(),
            ),
            (
                Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("")),
                format!("{directive}.Namespace"),
            ),
            (
                Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!(":x")),
                format!("{directive}.Namespace"),
            ),
            (
                Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!(["function"])),
                format!("{directive}.Dimensions[0]"),
            ),
            (
                Box::new(|d| {
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Hours")
                }),
                format!("{directive}.Metrics[0].Unit"),
            ),
            (
                Box::new(|d| {
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] = json!(5)
                }),
                format!("{directive}.Metrics[0].StorageResolution"),
            ),
            (
                Box::new(|d| {
                    let many: Vec<Value> =
                        (0..101).map(|i| json!({"Name": format!("M{i}")})).collect();
                    for i in 0..101 {
                        d[format!("M{i}")] = json!(1);
                    }
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(many);
                }),
                format!("{directive}.Metrics"),
            ),
            (
                Box::new(|d| {
                    let names: Vec<String> = (0..31).map(|i| format!("d{i}")).collect();
                    for n in &names {
                        d[n] = json!("v");
                    }
                    d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([names]);
                }),
                format!("{directive}.Dimensions[0]"),
            ),
        ];
        for (edit, member) in &cases {
            assert_eq!(&refused_at(edit.as_ref()), member);
        }
        assert!(matches!(
            validate("{\"_aws\": 1}\n{}"),
            Err(EmfError::NotADocument(_))
        ));
        assert!(matches!(validate("[1, 2]"), Err(EmfError::NotADocument(_))));
        assert!(matches!(
            validate("plain text"),
            Err(EmfError::NotADocument(_))
        ));
    }

    #[test]
    fn without_a_kind_only_the_function_dimension() {
        let mut m = Metrics::new("EksRemedy", "collector");
        m.count(Metric::EventsFailed, 1);
        let lines = flushed(&mut m);
        let defined = check_emf(&lines[0]);
        assert_eq!(
            defined,
            vec![(
                "EksRemedy".into(),
                vec!["function".into()],
                "EventsFailed".into()
            )]
        );
        assert!(!lines[0].contains("\"kind\""));
    }

    #[test]
    fn counts_are_summed_and_observations_kept() {
        let mut m = Metrics::new("EksRemedy", "collector");
        m.count(Metric::CollectionsStarted, 2);
        m.count(Metric::CollectionsStarted, 3);
        m.observe(Metric::AnalysisSeconds, 1.0);
        m.observe(Metric::AnalysisSeconds, 2.0);
        let doc: Value = serde_json::from_str(&flushed(&mut m)[0]).unwrap();
        assert_eq!(doc["CollectionsStarted"], json!(5.0));
        assert_eq!(doc["AnalysisSeconds"], json!([1.0, 2.0]));
    }

    #[test]
    fn values_cloudwatch_refuses_are_dropped() {
        let mut m = Metrics::new("EksRemedy", "bundle-analyzer");
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, 1e-300] {
            m.observe(Metric::AnalysisSeconds, bad);
        }
        assert!(m.is_empty(), "only refused values: nothing to send");
        assert!(flushed(&mut m).is_empty());
        m.observe(Metric::AnalysisSeconds, f64::NAN);
        m.observe(Metric::AnalysisSeconds, 0.0);
        m.observe(Metric::AnalysisSeconds, 3.5);
        let line = &flushed(&mut m)[0];
        check_emf(line);
        let doc: Value = serde_json::from_str(line).unwrap();
        assert_eq!(doc["AnalysisSeconds"], json!([0.0, 3.5]));
    }

    #[test]
    fn at_most_100_values_per_metric() {
        let mut m = Metrics::new("EksRemedy", "bundle-analyzer");
        for i in 0..250 {
            m.observe(Metric::AnalysisBytes, f64::from(i));
        }
        let line = &flushed(&mut m)[0];
        check_emf(line);
        let doc: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            doc["AnalysisBytes"].as_array().unwrap().len(),
            MAX_VALUES_PER_METRIC
        );
    }

    #[test]
    fn hostile_dimension_values_are_made_acceptable() {
        assert_eq!(dimension_value("ebs-io-throttling"), "ebs-io-throttling");
        assert_eq!(dimension_value("a\nb\u{1b}[31mc"), "a_b_[31mc");
        assert_eq!(dimension_value("règle"), "r_gle");
        assert_eq!(dimension_value("   "), "unknown");
        assert_eq!(dimension_value(""), "unknown");
        assert_eq!(
            dimension_value(&"x".repeat(5000)).len(),
            MAX_DIMENSION_VALUE_CHARS
        );

        let mut m = Metrics::new("EksRemedy", "\u{0}");
        m.set_kind("\t");
        m.rule_count(RuleMetric::Findings, "\u{202e}evil\n", 1);
        m.count(Metric::EventsReceived, 1);
        for line in flushed(&mut m) {
            check_emf(&line);
        }
    }

    #[test]
    fn flush_starts_over() {
        let mut m = Metrics::new("EksRemedy", "throttle-watcher");
        m.set_kind("throttling");
        m.count(Metric::EventsReceived, 1);
        assert_eq!(flushed(&mut m).len(), 1);
        assert!(m.is_empty());
        assert!(
            flushed(&mut m).is_empty(),
            "nothing recorded, nothing written"
        );
        m.count(Metric::EventsIgnored, 1);
        let doc: Value = serde_json::from_str(&flushed(&mut m)[0]).unwrap();
        assert_eq!(doc["kind"], "throttling", "the kind stays");
        assert!(doc.get("EventsReceived").is_none());
    }

    #[test]
    fn namespace_comes_from_the_environment_if_valid() {
        let env = |v: Option<&'static str>| {
            move |k: &str| {
                (k == NAMESPACE_ENV)
                    .then_some(v)
                    .flatten()
                    .map(String::from)
            }
        };
        assert_eq!(namespace(env(None)), DEFAULT_NAMESPACE);
        assert_eq!(namespace(env(Some("Prod/EksRemedy"))), "Prod/EksRemedy");
        for bad in ["", "  ", ":colon", "tab\there", "ünï"] {
            assert_eq!(namespace(env(Some(bad))), DEFAULT_NAMESPACE, "{bad:?}");
        }
        let long = "n".repeat(256);
        assert_eq!(namespace(|_| Some(long.clone())), DEFAULT_NAMESPACE);
        let m = Metrics::from_env("collector", env(Some("Staging")));
        let mut m = m;
        m.count(Metric::EventsReceived, 1);
        assert_eq!(check_emf(&flushed(&mut m)[0])[0].0, "Staging");
    }

    #[test]
    fn the_timestamp_is_milliseconds() {
        let mut m = Metrics::new("EksRemedy", "collector");
        m.count(Metric::EventsReceived, 1);
        let doc = &m.documents(42)[0];
        assert_eq!(doc["_aws"]["Timestamp"], json!(42));
        let line = &flushed(&mut m)[0];
        check_emf(line);
    }

    #[test]
    fn names_are_unique_and_known() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.extend(RuleMetric::ALL.iter().map(|m| m.name()));
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len());
        for n in names {
            assert!(dimension_sets(n).is_some());
            assert!(
                ![FUNCTION, KIND, RULE, "_aws"].contains(&n),
                "{n} collides with a key"
            );
        }
        assert!(dimension_sets("NoSuchMetric").is_none());
    }

    /// The text after each occurrence of `marker`, up to `end`.
    fn each_after<'a>(text: &'a str, marker: &str, end: char) -> Vec<&'a str> {
        text.match_indices(marker)
            .map(|(i, _)| {
                let rest = &text[i + marker.len()..];
                &rest[..rest.find(end).unwrap_or(rest.len())]
            })
            .collect()
    }

    /// The template's dashboard queries only metrics this module publishes, under dimensions it
    /// publishes them with; it shows every one of them, and the depth of every dead-letter queue.
    #[test]
    fn the_dashboard_matches_the_published_metrics_and_queues() {
        let template = include_str!("../../infra/template.yaml");
        let start = template
            .find("DashboardBody:")
            .expect("the template has a dashboard");
        let body = &template[start..];
        let body = &body[..body.find("\n\n").unwrap_or(body.len())];

        let mut shown = std::collections::BTreeSet::new();
        for query in each_after(body, "SEARCH('{", '\'') {
            let (schema, rest) = query.split_once("} ").unwrap();
            // The namespace first (the stack's parameter), then the dimension names.
            let mut schema = schema.split(',');
            assert_eq!(schema.next(), Some(r#"\"${MetricsNamespace}\""#), "{query}");
            let dims: Vec<&str> = schema.collect();
            let name = each_after(rest, r#"MetricName=\""#, '\\')[0];
            let sets = dimension_sets(name)
                .unwrap_or_else(|| panic!("the dashboard queries {name}, which is not published"));
            assert!(
                sets.contains(&dims),
                "{name} is published with {sets:?}, the dashboard asks for {dims:?}"
            );
            shown.insert(name);
        }
        let published = Metric::ALL
            .iter()
            .map(|m| m.name())
            .chain(RuleMetric::ALL.iter().map(|m| m.name()));
        for name in published {
            assert!(shown.contains(name), "{name} is not on the dashboard");
        }

        let mut dlqs = std::collections::BTreeSet::new();
        for marker in [
            "deadLetterTargetArn: !GetAtt ",
            "DeadLetterConfig: { Arn: !GetAtt ",
            "DeadLetterQueue: { Type: SQS, TargetArn: !GetAtt ",
        ] {
            dlqs.extend(each_after(template, marker, '.'));
        }
        assert_eq!(dlqs.len(), 6, "{dlqs:?}");
        for dlq in dlqs {
            assert!(
                body.contains(&format!("${{{dlq}.QueueName}}")),
                "{dlq} is not on the dashboard"
            );
        }
    }
}
