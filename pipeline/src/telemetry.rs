//! The pipeline's logs: one JSON object per line on stdout, with the fields of every enclosing span
//! flattened into it, so each line logged while handling an event names the event, its incident,
//! cluster and instance.
//!
//! A function's `main` calls [`init`] once; the edge opens one [`event_span`] per event and handles
//! the event inside it, recording what becomes known on the way:
//!
//! ```
//! use eks_remedy_pipeline::telemetry::{self, EventField};
//! use tracing::Instrument;
//!
//! async fn handle(event_id: &str) {
//!     let span = telemetry::event_span("collector", event_id);
//!     async {
//!         tracing::info!("collection requested"); // carries function and event_id
//!         let span = tracing::Span::current();
//!         telemetry::record(&span, EventField::IncidentId, "123456789012:us-east-1:prod:throttling:20261019T0500");
//!         telemetry::record(&span, EventField::Cluster, "prod");
//!         telemetry::record(&span, EventField::InstanceId, "i-0abc12345def67890");
//!         tracing::info!("command sent"); // carries all five
//!     }
//!     .instrument(span)
//!     .await
//! }
//! ```
//!
//! Why a layer of our own rather than `tracing_subscriber::fmt().json()`: that formatter nests span
//! fields under `span` / `spans` (only the innermost span, or an array of all of them), so a query
//! for `incident_id` would depend on how deep the line was logged. Here every span field is a
//! top-level key (inner spans win), next to `timestamp`, `level`, `target` and `message`, which is
//! what CloudWatch Logs Insights filters on and what Lambda's log-level filtering reads (`level`).
//! The Lambda runtime's own invocation span (`requestId`, `xrayTraceId`) is flattened the same way.

use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Span, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The level Lambda sets from the function's `ApplicationLogLevel` (with JSON log format).
pub const LAMBDA_LOG_LEVEL_ENV: &str = "AWS_LAMBDA_LOG_LEVEL";
/// `tracing` directives, used when [`LAMBDA_LOG_LEVEL_ENV`] is unset.
pub const RUST_LOG_ENV: &str = "RUST_LOG";

/// Keys the layer writes itself; a span or event field of the same name is kept as `field.<name>`.
const RESERVED: [&str; 3] = ["timestamp", "level", "target"];

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Another global subscriber was installed first.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Installs the JSON layer on stdout as the global subscriber, with every line naming `function`
/// and filtered by [`filter_from`] over the process environment.
pub fn init(function: &str) -> Result<(), TelemetryError> {
    tracing_subscriber::registry()
        .with(filter_from(|k| std::env::var(k).ok()))
        .with(JsonLayer::new(function, std::io::stdout))
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))
}

/// The filter: [`LAMBDA_LOG_LEVEL_ENV`] when set (Lambda drops lines below it anyway; `FATAL` is
/// read as `ERROR`), else the directives of [`RUST_LOG_ENV`], else `INFO`. Unreadable values fall
/// back to `INFO` rather than silencing the function.
pub fn filter_from(get: impl Fn(&str) -> Option<String>) -> EnvFilter {
    if let Some(level) = get(LAMBDA_LOG_LEVEL_ENV) {
        let level = match level.trim().to_ascii_uppercase().as_str() {
            "TRACE" => LevelFilter::TRACE,
            "DEBUG" => LevelFilter::DEBUG,
            "WARN" => LevelFilter::WARN,
            "ERROR" | "FATAL" => LevelFilter::ERROR,
            _ => LevelFilter::INFO,
        };
        return EnvFilter::builder()
            .with_default_directive(level.into())
            .parse_lossy("");
    }
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(get(RUST_LOG_ENV).unwrap_or_default())
}

/// A field of the event span that is learnt while handling the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventField {
    /// The incident the event was folded into.
    IncidentId,
    /// The EKS cluster.
    Cluster,
    /// The EC2 instance (node).
    InstanceId,
}

impl EventField {
    /// The field's key in every log line.
    pub fn name(self) -> &'static str {
        match self {
            EventField::IncidentId => "incident_id",
            EventField::Cluster => "cluster",
            EventField::InstanceId => "instance_id",
        }
    }
}

/// The span to handle one event in: `function` and `event_id` now, `incident_id`, `cluster` and
/// `instance_id` once [`record`]ed. Every line logged inside carries them.
pub fn event_span(function: &str, event_id: &str) -> Span {
    // ERROR level: a span is only created when its level passes the filter, and its fields must
    // reach every line that does, even with the function's log level set to ERROR.
    tracing::span!(
        Level::ERROR,
        "event",
        function = function,
        event_id = event_id,
        incident_id = tracing::field::Empty,
        cluster = tracing::field::Empty,
        instance_id = tracing::field::Empty,
    )
}

/// Records a field on an [`event_span`] (`Span::current()` while handling the event, as long as
/// no inner span is open: a span only takes the fields it declared).
pub fn record(span: &Span, field: EventField, value: &str) {
    span.record(field.name(), value);
}

/// A span's fields, kept in its extensions until it closes.
struct SpanFields(Map<String, Value>);

/// Collects fields as JSON values.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // Non-finite numbers have no JSON form: null.
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

/// Writes each event as one flat JSON line (see the module docs).
pub struct JsonLayer<W> {
    function: String,
    writer: W,
}

impl<W> JsonLayer<W> {
    /// A layer naming `function` on every line and writing through `writer`.
    pub fn new(function: &str, writer: W) -> JsonLayer<W> {
        JsonLayer {
            function: function.to_string(),
            writer,
        }
    }
}

/// Moves `fields` into `line`, keeping a reserved key's owner and renaming the intruder.
fn merge(line: &mut Map<String, Value>, fields: Map<String, Value>) {
    for (k, v) in fields {
        if RESERVED.contains(&k.as_str()) {
            line.insert(format!("field.{k}"), v);
        } else {
            line.insert(k, v);
        }
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("function".into(), Value::from(self.function.as_str()));
        // Outermost first, so an inner span's field wins over an outer one of the same name.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    merge(&mut line, fields.clone());
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        merge(&mut line, fields);
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
        line.insert(
            "timestamp".into(),
            Value::from(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".into(), Value::from(meta.level().as_str()));
        line.insert("target".into(), Value::from(meta.target()));

        let mut bytes = Value::Object(line).to_string().into_bytes();
        bytes.push(b'\n');
        // One write per line so concurrent lines never interleave; a closed stdout leaves
        // nothing useful to do with the error.
        let _ = self.writer.make_writer_for(meta).write_all(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing::Instrument;

    /// A `MakeWriter` keeping everything written.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<Value> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    fn subscriber(buf: &Buffer, env: &'static [(&str, &str)]) -> impl Subscriber {
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        tracing_subscriber::registry()
            .with(filter_from(get))
            .with(JsonLayer::new("collector", buf.clone()))
    }

    fn by_message<'a>(lines: &'a [Value], message: &str) -> &'a Value {
        lines
            .iter()
            .find(|l| l["message"] == message)
            .unwrap_or_else(|| panic!("no line {message:?} in {lines:#?}"))
    }

    #[test]
    fn lines_inside_the_event_span_carry_its_fields() {
        let buf = Buffer::default();
        tracing::subscriber::with_default(subscriber(&buf, &[]), || {
            tracing::info!("starting");
            let span = event_span("collector", "evt-1");
            let _entered = span.enter();
            tracing::info!("received");
            record(
                &span,
                EventField::IncidentId,
                "123456789012:us-east-1:prod:throttling:20261019T0500",
            );
            record(&span, EventField::Cluster, "prod");
            record(&span, EventField::InstanceId, "i-0abc12345def67890");
            tracing::warn!(attempt = 2, "command sent");
            let inner = tracing::info_span!("ssm", call = "SendCommand");
            inner.in_scope(|| tracing::info!("inside a call"));
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        for line in &lines {
            assert_eq!(line["function"], "collector");
            let ts = line["timestamp"].as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
            assert_eq!(line["target"], module_path!());
        }
        let outside = by_message(&lines, "starting");
        assert!(outside.get("event_id").is_none(), "{outside}");

        let received = by_message(&lines, "received");
        assert_eq!(received["event_id"], "evt-1");
        assert_eq!(received["level"], "INFO");
        assert!(
            received.get("incident_id").is_none(),
            "not known yet: {received}"
        );

        for message in ["command sent", "inside a call"] {
            let line = by_message(&lines, message);
            assert_eq!(line["event_id"], "evt-1", "{line}");
            assert_eq!(
                line["incident_id"],
                "123456789012:us-east-1:prod:throttling:20261019T0500"
            );
            assert_eq!(line["cluster"], "prod");
            assert_eq!(line["instance_id"], "i-0abc12345def67890");
        }
        let sent = by_message(&lines, "command sent");
        assert_eq!(
            (sent["level"].as_str(), sent["attempt"].as_u64()),
            (Some("WARN"), Some(2))
        );
        assert_eq!(by_message(&lines, "inside a call")["call"], "SendCommand");
    }

    #[tokio::test]
    async fn an_instrumented_handler_logs_with_the_event_fields() {
        let buf = Buffer::default();
        let _default = tracing::subscriber::set_default(subscriber(&buf, &[]));
        async {
            tokio::task::yield_now().await;
            record(&Span::current(), EventField::Cluster, "prod");
            tracing::info!("after an await");
        }
        .instrument(event_span("collector", "evt-2"))
        .await;
        let lines = buf.lines();
        let line = by_message(&lines, "after an await");
        assert_eq!(
            (line["event_id"].as_str(), line["cluster"].as_str()),
            (Some("evt-2"), Some("prod"))
        );
    }

    #[test]
    fn the_lambda_log_level_wins_and_spans_survive_it() {
        let buf = Buffer::default();
        let env: &[(&str, &str)] = &[(LAMBDA_LOG_LEVEL_ENV, "WARN"), (RUST_LOG_ENV, "trace")];
        tracing::subscriber::with_default(subscriber(&buf, env), || {
            let span = event_span("collector", "evt-3");
            let _entered = span.enter();
            tracing::info!("dropped");
            tracing::warn!("kept");
        });
        let lines = buf.lines();
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert_eq!(
            (lines[0]["message"].as_str(), lines[0]["event_id"].as_str()),
            (Some("kept"), Some("evt-3"))
        );
    }

    #[test]
    fn log_levels_from_the_environment() {
        let max = |env: &[(&'static str, &'static str)]| {
            let env = env.to_vec();
            filter_from(move |k| {
                env.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
            .max_level_hint()
        };
        assert_eq!(max(&[]), Some(LevelFilter::INFO));
        assert_eq!(
            max(&[(LAMBDA_LOG_LEVEL_ENV, "FATAL")]),
            Some(LevelFilter::ERROR)
        );
        assert_eq!(
            max(&[(LAMBDA_LOG_LEVEL_ENV, "debug")]),
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(
            max(&[(LAMBDA_LOG_LEVEL_ENV, "LOUD")]),
            Some(LevelFilter::INFO)
        );
        assert_eq!(max(&[(RUST_LOG_ENV, "warn")]), Some(LevelFilter::WARN));
        assert_eq!(
            max(&[(RUST_LOG_ENV, "not a directive ===")]),
            Some(LevelFilter::INFO)
        );
    }

    #[test]
    fn a_field_named_like_a_reserved_key_does_not_replace_it() {
        let buf = Buffer::default();
        tracing::subscriber::with_default(subscriber(&buf, &[]), || {
            tracing::error!(level = "fake", timestamp = 0, "real");
        });
        let line = &buf.lines()[0];
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["field.level"], "fake");
        assert_eq!(line["field.timestamp"], 0);
        assert!(line["timestamp"].is_string());
    }
}
