//! One shape for every function: the payload is parsed once at the edge into an [`Input`], the
//! function's [`Spec`] says which [`Kind`]s of event it takes, and its handler answers through the
//! same entry point, [`serve`], whether it was invoked by EventBridge, by SQS or by hand.
//!
//! [`FUNCTIONS`] is the one table of functions: the mains, `eks-remedy replay`, the tests' function
//! list and the benchmark all read it. Construction (which adapters each handler gets) lives beside
//! the adapters, in `eks_remedy_aws::function`, as one exhaustive match over [`FunctionId`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Value};
use tracing::Instrument;

use crate::events::{Inbound, Input, Kind, Message};
use crate::metrics::{Metric, Metrics};
use crate::telemetry::event_span;
use crate::{HandlerError, Outcome};

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionId {
    /// CloudTrail EC2 throttling (SQS batches).
    ThrottleWatcher,
    /// Auto Scaling launches and lifecycle actions.
    ScaleUpWatcher,
    /// CloudWatch EBS alarms.
    EbsAlarmWatcher,
    /// The collection queue, SSM status changes, manual collection.
    Collector,
    /// Bundles in S3, manual analysis.
    BundleAnalyzer,
    /// The pipeline's bus events, kept current in chat.
    Notifier,
    /// Plans, guarded actions, approvals and follow-ups.
    Remediator,
    /// Slack's button clicks, verified and queued for the remediator.
    SlackInteractivity,
}

/// What the table knows of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Which one.
    pub id: FunctionId,
    /// Crate and binary name (`functions/<name>`), and the `function` field of its logs.
    pub name: &'static str,
    /// Its resource in `infra/template.yaml`.
    pub resource: &'static str,
    /// Event kinds it acts on; anything else is acknowledged with a log line.
    pub accepts: &'static [Kind],
}

/// Kinds more than one function takes: the template routes them (a bus rule with two targets,
/// a function URL per function), so no single row owns them.
pub const FAN_OUT: &[Kind] = &[Kind::Findings, Kind::Http];

/// The one table of functions.
pub const FUNCTIONS: &[Spec] = &[
    Spec {
        id: FunctionId::ThrottleWatcher,
        name: "throttle-watcher",
        resource: "ThrottleWatcherFunction",
        accepts: &[Kind::Throttled],
    },
    Spec {
        id: FunctionId::ScaleUpWatcher,
        name: "scaleup-watcher",
        resource: "ScaleUpWatcherFunction",
        accepts: &[Kind::Launch, Kind::LaunchFailed],
    },
    Spec {
        id: FunctionId::EbsAlarmWatcher,
        name: "ebs-alarm-watcher",
        resource: "EbsAlarmWatcherFunction",
        accepts: &[Kind::EbsAlarm],
    },
    Spec {
        id: FunctionId::Collector,
        name: "collector",
        resource: "CollectorFunction",
        accepts: &[
            Kind::Collection,
            Kind::Command,
            Kind::Automation,
            Kind::ManualCollect,
        ],
    },
    Spec {
        id: FunctionId::BundleAnalyzer,
        name: "bundle-analyzer",
        resource: "BundleAnalyzerFunction",
        accepts: &[Kind::Object, Kind::ManualAnalyze],
    },
    Spec {
        id: FunctionId::Notifier,
        name: "notifier",
        resource: "NotifierFunction",
        accepts: &[Kind::Notify, Kind::Findings, Kind::ResolveCheck],
    },
    Spec {
        id: FunctionId::Remediator,
        name: "remediator",
        resource: "RemediatorFunction",
        accepts: &[
            Kind::Findings,
            Kind::LaunchFailureNotice,
            Kind::ManualPlan,
            Kind::Approve,
            Kind::Follow,
            Kind::Http,
        ],
    },
    Spec {
        id: FunctionId::SlackInteractivity,
        name: "slack-interactivity",
        resource: "SlackInteractivityFunction",
        accepts: &[Kind::Http],
    },
];

impl FunctionId {
    /// Its row in [`FUNCTIONS`].
    pub fn spec(self) -> &'static Spec {
        // Every id has a row: `every_function_has_one_row` holds the table to it.
        FUNCTIONS
            .iter()
            .find(|s| s.id == self)
            .unwrap_or(&FUNCTIONS[0])
    }
}

impl Spec {
    /// The row named `name`.
    pub fn named(name: &str) -> Option<&'static Spec> {
        FUNCTIONS.iter().find(|s| s.name == name)
    }

    /// The function that acts on `kind`.
    pub fn for_kind(kind: Kind) -> Option<&'static Spec> {
        FUNCTIONS.iter().find(|s| s.accepts.contains(&kind))
    }

    /// Whether it acts on `kind`.
    pub fn accepts(&self, kind: Kind) -> bool {
        self.accepts.contains(&kind)
    }
}

/// One invocation: who invoked, from the Lambda context (the account of the function's ARN is the
/// account a manual payload means when it names none), and the metrics recorded while handling it.
#[derive(Debug, Default)]
pub struct Invocation {
    /// Lambda request id.
    pub request_id: String,
    /// The function's account.
    pub account: String,
    /// The function's region.
    pub region: String,
    /// The function's name (its row's), for log spans; empty when unknown.
    pub function: &'static str,
    /// What handling it counted; flushed by the edge when it is done.
    pub metrics: Mutex<Option<Metrics>>,
}

impl Invocation {
    /// From the invoked function's ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
    pub fn from_arn(request_id: &str, arn: &str) -> Invocation {
        let mut parts = arn.split(':').skip(3);
        let region = parts.next().unwrap_or_default().to_string();
        let account = parts.next().unwrap_or_default().to_string();
        Invocation {
            request_id: request_id.to_string(),
            account,
            region,
            function: "",
            metrics: Mutex::new(None),
        }
    }

    /// The invocation of `spec`'s function, recording metrics in `namespace` (flushed by the
    /// caller with [`Invocation::flush`]).
    pub fn of(self, spec: &Spec, namespace: &str) -> Invocation {
        Invocation {
            function: spec.name,
            metrics: Mutex::new(Some(Metrics::new(namespace, spec.name))),
            ..self
        }
    }

    /// Records into the invocation's metrics, when it has a recorder.
    pub fn metric(&self, record: impl FnOnce(&mut Metrics)) {
        // A poisoned recorder still holds whole values: a panic cannot interrupt `record` halfway
        // through a push.
        let mut guard = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = guard.as_mut() {
            record(m);
        }
    }

    /// Counts `n` of `metric`.
    pub fn count(&self, metric: Metric, n: u64) {
        self.metric(|m| m.count(metric, n));
    }

    /// Flushes the recorded metrics to `sink` (one EMF line per dimension group).
    pub fn flush(&self, sink: &dyn crate::metrics::Sink) -> usize {
        let mut guard = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_mut().map_or(0, |m| m.flush(sink))
    }
}

/// A function's logic. Built once per container (caches survive between invocations), called per
/// event with events of the kinds its [`Spec`] accepts.
pub trait Handler: Send + Sync {
    /// What handling one event returns (serialized into the function's answer).
    type Answer: Serialize + Send;

    /// Handles one event.
    fn handle(
        &self,
        event: Inbound,
        inv: &Invocation,
    ) -> impl Future<Output = Result<Self::Answer, HandlerError>> + Send;

    /// Handles the accepted messages of one SQS batch; returns the ids of messages that must be
    /// retried (or go to the dead-letter queue). By default each message on its own; a handler that
    /// folds a batch into fewer writes overrides it.
    fn handle_batch(
        &self,
        batch: Vec<(String, Inbound)>,
        inv: &Invocation,
    ) -> impl Future<Output = Vec<String>> + Send {
        async move {
            let mut failed = Vec::new();
            for (id, event) in batch {
                let span = event_span(inv.function, &id);
                if let Err(e) = self.handle(event, inv).instrument(span).await {
                    if settle(&id, &e) {
                        inv.count(Metric::EventsFailed, 1);
                        failed.push(id);
                    } else {
                        inv.count(Metric::EventsIgnored, 1);
                    }
                }
            }
            failed
        }
    }
}

/// Logs an error with its [`Outcome`] and says whether the event must be reported failed.
pub fn settle(event: &str, e: &HandlerError) -> bool {
    let outcome = Outcome::of(e);
    match outcome {
        Outcome::Acknowledge => {
            tracing::info!(event, error = %e, "acknowledged without action")
        }
        Outcome::Retry => tracing::warn!(event, error = %e, "will retry"),
        Outcome::DeadLetter => {
            tracing::error!(event, error = %e, "unusable, to the dead-letter queue")
        }
    }
    outcome.fails()
}

/// The one entry point: parses the payload, drops (with a log line) events the function does not
/// take, and answers.
///
/// - One event: `{"ok": true, "result": …}`; an acknowledged failure `{"ok": false, "acknowledged":
///   "<why>"}`; a retryable or dead-letter failure is `Err`, so Lambda retries it and then sends it
///   to the function's dead-letter queue.
/// - An SQS batch: `{"batchItemFailures": [{"itemIdentifier": …}]}` (partial batch response), so
///   only the failed messages are retried and, after `maxReceiveCount`, dead-lettered.
pub async fn serve<H: Handler>(
    spec: &Spec,
    handler: &H,
    payload: Value,
    inv: &Invocation,
) -> Result<Value, HandlerError> {
    // Known before parsing: a function URL request that does not parse still gets an HTTP answer.
    let url_request = payload.get("requestContext").is_some() && payload.get("rawPath").is_some();
    match Input::parse(payload) {
        Ok(Input::One(event)) => {
            let kind = event.kind();
            inv.metric(|m| {
                m.set_kind(kind.as_str());
                m.count(Metric::EventsReceived, 1);
            });
            let span = event_span(spec.name, event.event_id().unwrap_or(&inv.request_id));
            if !spec.accepts(kind) {
                span.in_scope(|| {
                    tracing::info!(kind = kind.as_str(), "{}", not_taken(spec, &event))
                });
                inv.count(Metric::EventsIgnored, 1);
                return Ok(json!({"ok": true, "result": "ignored"}));
            }
            let http = kind == Kind::Http;
            let answer = handler.handle(event, inv).instrument(span.clone()).await;
            if http {
                // A function URL answers HTTP whatever happened: a Lambda error would be a bare 502.
                return Ok(http_answer(answer, &span));
            }
            match answer {
                Ok(a) => Ok(json!({"ok": true, "result": a})),
                Err(e) if !span.in_scope(|| settle("direct", &e)) => {
                    inv.count(Metric::EventsIgnored, 1);
                    Ok(json!({"ok": false, "acknowledged": e.to_string()}))
                }
                Err(e) => {
                    inv.count(Metric::EventsFailed, 1);
                    Err(e)
                }
            }
        }
        Ok(Input::Batch(messages)) => {
            let mut failed = Vec::new();
            let mut accepted = Vec::new();
            inv.count(Metric::EventsReceived, messages.len() as u64);
            for Message { id, event } in messages {
                match event {
                    Ok(e) if spec.accepts(e.kind()) => accepted.push((id, e)),
                    Ok(e) => {
                        inv.count(Metric::EventsIgnored, 1);
                        tracing::info!(message = %id, kind = e.kind().as_str(), "{}", not_taken(spec, &e))
                    }
                    Err(e) => {
                        inv.count(Metric::EventsFailed, 1);
                        if settle(&id, &HandlerError::Event(e)) {
                            failed.push(id);
                        }
                    }
                }
            }
            if let Some((_, first)) = accepted.first() {
                let kind = first.kind();
                inv.metric(|m| m.set_kind(kind.as_str()));
            }
            failed.extend(handler.handle_batch(accepted, inv).await);
            Ok(batch_answer(failed))
        }
        Err(e) => {
            inv.count(Metric::EventsReceived, 1);
            inv.count(Metric::EventsFailed, 1);
            let e = HandlerError::Event(e);
            if url_request {
                return Ok(http_answer::<Value>(Err(e), &tracing::Span::current()));
            }
            settle("direct", &e);
            Err(e)
        }
    }
}

/// A function URL's answer: the handler's own (`statusCode`, `headers`, `body`), or for an error a
/// JSON error body with 400 (unusable request) or 503 (try again).
fn http_answer<A: Serialize>(answer: Result<A, HandlerError>, span: &tracing::Span) -> Value {
    match answer {
        Ok(a) => serde_json::to_value(a).unwrap_or_else(|e| {
            json!({"statusCode": 500, "body": json!({"error": format!("answer not serializable: {e}")}).to_string()})
        }),
        Err(e) => {
            let status = match span.in_scope(|| Outcome::of(&e)) {
                Outcome::Retry => 503,
                Outcome::Acknowledge | Outcome::DeadLetter => 400,
            };
            span.in_scope(|| settle("http", &e));
            json!({
                "statusCode": status,
                "headers": {"content-type": "application/json"},
                "body": json!({"error": e.to_string()}).to_string(),
            })
        }
    }
}

fn not_taken(spec: &Spec, event: &Inbound) -> String {
    match event {
        Inbound::Foreign(source, kind) => {
            format!("{source} / {kind} is not an event this pipeline handles; acknowledged")
        }
        _ => format!("{} does not act on this event; acknowledged", spec.name),
    }
}

/// An SQS partial batch response failing these message ids.
pub fn batch_answer(failed: Vec<String>) -> Value {
    let failures: Vec<Value> = failed
        .into_iter()
        .map(|id| json!({ "itemIdentifier": id }))
        .collect();
    json!({ "batchItemFailures": failures })
}

/// A handler with its type erased, so one table can build any function (`eks_remedy_aws::function`).
pub trait Serve: Send + Sync {
    /// [`serve`] for this handler.
    fn serve<'a>(
        &'a self,
        payload: Value,
        inv: &'a Invocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, HandlerError>> + Send + 'a>>;
}

/// A handler paired with its row.
pub struct Function<H> {
    /// Its row.
    pub spec: &'static Spec,
    /// Its logic.
    pub handler: H,
}

impl<H: Handler> Serve for Function<H> {
    fn serve<'a>(
        &'a self,
        payload: Value,
        inv: &'a Invocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, HandlerError>> + Send + 'a>> {
        Box::pin(serve(self.spec, &self.handler, payload, inv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_one_row() {
        for id in [
            FunctionId::ThrottleWatcher,
            FunctionId::ScaleUpWatcher,
            FunctionId::EbsAlarmWatcher,
            FunctionId::Collector,
            FunctionId::BundleAnalyzer,
            FunctionId::Notifier,
            FunctionId::Remediator,
            FunctionId::SlackInteractivity,
        ] {
            assert_eq!(FUNCTIONS.iter().filter(|s| s.id == id).count(), 1, "{id:?}");
            assert_eq!(id.spec().id, id);
        }
        // One function per kind, so replay and routing are unambiguous, except where the
        // template fans out: findings go to two queues, HTTP requests to each function's own URL.
        let mut kinds: Vec<Kind> = FUNCTIONS
            .iter()
            .flat_map(|s| s.accepts.iter().copied())
            .filter(|k| !FAN_OUT.contains(k))
            .collect();
        let n = kinds.len();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), n, "a kind is taken by two functions");
        assert!(Spec::for_kind(Kind::Foreign).is_none());
    }

    /// Regression: a function URL request whose body cannot be decoded got a Lambda error, which
    /// the caller (Slack, `eks-remedy approve`) sees as a bare 502.
    #[tokio::test]
    async fn regression_an_undecodable_url_request_gets_an_http_400() {
        struct Never;
        impl Handler for Never {
            type Answer = Value;
            async fn handle(&self, _: Inbound, _: &Invocation) -> Result<Value, HandlerError> {
                Ok(Value::Null)
            }
        }
        let mut req: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/events/function-url-approve.json"
        ))
        .unwrap_or_default();
        req["body"] = json!("%%% not base64");
        let spec = FunctionId::Remediator.spec();
        let out = serve(spec, &Never, req, &Invocation::default()).await;
        let out = out.unwrap_or_default();
        assert_eq!(out["statusCode"], 400, "{out}");
        assert!(
            out["body"].as_str().unwrap_or_default().contains("base64"),
            "{out}"
        );
    }

    #[test]
    fn invocation_reads_the_arn() {
        let inv = Invocation::from_arn(
            "r",
            "arn:aws:lambda:eu-west-1:111122223333:function:eks-remedy-Collector",
        );
        assert_eq!(
            (inv.account.as_str(), inv.region.as_str()),
            ("111122223333", "eu-west-1")
        );
        assert_eq!(Invocation::from_arn("r", "nonsense").account, "");
    }
}
