//! `eks-remedy replay <event.json>`: runs the same handler code as the Lambda functions, locally,
//! against whatever AWS endpoint the environment configures (real AWS, or moto via
//! `AWS_ENDPOINT_URL`). Settings come from the same variables as the functions (`TABLE_NAME`,
//! `COLLECTION_QUEUE_URL`, `BUCKET`, `FINDINGS_BUS`, ...).

use eks_remedy_aws::bootstrap::{pipeline_config, Clients};
use eks_remedy_pipeline::events::{parse_value, Inbound, Manual};
use eks_remedy_pipeline::handlers;
use eks_remedy_pipeline::HandlerError;
use serde_json::{json, Value};

/// Which function's handler an event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Throttling watcher (SQS batch of CloudTrail events, or one event, wrapped).
    Throttle,
    /// Scale-up watcher.
    ScaleUp,
    /// EBS alarm watcher.
    Ebs,
    /// Collector (collection-queue batch, SSM status, manual collect).
    Collector,
    /// Bundle analyzer.
    Analyzer,
}

/// Picks the handler from the event's shape.
pub fn route(event: &Value) -> Result<Target, String> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let body = records
            .first()
            .and_then(|r| r.get("body"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok(
            if body.contains("\"instance_id\"") && body.contains("\"incident_id\"") {
                Target::Collector
            } else {
                Target::Throttle
            },
        );
    }
    match parse_value(event.clone()).map_err(|e| e.to_string())? {
        Inbound::Throttled(_) => Ok(Target::Throttle),
        Inbound::Launch(_) => Ok(Target::ScaleUp),
        Inbound::EbsAlarm(_) => Ok(Target::Ebs),
        Inbound::Command(_) | Inbound::Automation(_) | Inbound::Manual(Manual::Collect { .. }) => {
            Ok(Target::Collector)
        }
        Inbound::Object(_) | Inbound::Manual(Manual::Analyze { .. }) => Ok(Target::Analyzer),
        Inbound::Foreign(s, t) => Err(format!("no handler takes {s} / {t} events")),
    }
}

fn sqs_of(event: &Value) -> Value {
    if event.get("Records").is_some() {
        return event.clone();
    }
    json!({"Records": [{"messageId": "replay-1", "receiptHandle": "replay", "body": event.to_string(), "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"}]})
}

fn shown<T: serde::Serialize>(r: Result<T, HandlerError>) -> Value {
    match r {
        Ok(v) => {
            json!({"ok": true, "result": serde_json::to_value(v).unwrap_or_else(|e| json!(e.to_string()))})
        }
        Err(e) => {
            json!({"ok": false, "error": e.to_string(), "outcome": format!("{:?}", eks_remedy_pipeline::Outcome::of(&e))})
        }
    }
}

/// Runs the event through its handler and returns what the function would answer.
pub async fn replay(event: Value) -> Result<Value, String> {
    let target = route(&event)?;
    let clients = Clients::load().await;
    let cfg = pipeline_config().map_err(|e| e.to_string())?;
    let e = |e: HandlerError| e.to_string();
    Ok(match target {
        Target::Throttle => {
            let w = handlers::throttle::ThrottleWatcher::new(
                clients.ec2(),
                clients.eks(),
                clients.store().map_err(e)?,
                clients.queue().map_err(e)?,
                cfg,
            );
            let batch = serde_json::from_value(sqs_of(&event)).map_err(|err| err.to_string())?;
            let (resp, summary) = w.handle(batch).await;
            json!({"batchItemFailures": resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect::<Vec<_>>(), "summary": summary})
        }
        Target::ScaleUp => {
            let w = handlers::scaleup::ScaleUpWatcher::new(
                clients.ec2(),
                clients.store().map_err(e)?,
                clients.queue().map_err(e)?,
                clients.lifecycle(),
                cfg,
            );
            shown(w.handle(event).await)
        }
        Target::Ebs => {
            let w = handlers::ebs::EbsAlarmWatcher::new(
                clients.ec2(),
                clients.store().map_err(e)?,
                clients.queue().map_err(e)?,
                cfg,
            );
            shown(w.handle(event).await)
        }
        Target::Collector => {
            let c = handlers::collector::Collector::new(
                clients.ssm(&cfg).map_err(e)?,
                clients.store().map_err(e)?,
                clients.objects(),
                cfg,
            )
            .map_err(e)?;
            if event.get("Records").is_some() {
                let batch = serde_json::from_value(event).map_err(|err| err.to_string())?;
                serde_json::to_value(c.handle_queue(batch).await).map_err(|err| err.to_string())?
            } else {
                shown(c.handle_event(event).await)
            }
        }
        Target::Analyzer => {
            let a = handlers::analyzer::BundleAnalyzer::new(
                clients.objects(),
                clients.ec2(),
                clients.eks(),
                clients.store().map_err(e)?,
                clients.publisher().map_err(e)?,
                Default::default(),
            )
            .map_err(e)?;
            shown(a.handle(event).await.map(|r| {
                r.map(|a| json!({"report_key": a.report_key, "findings": a.report.findings.len()}))
            }))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/events")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn routes_every_fixture() {
        for (f, t) in [
            ("cloudtrail-throttle-vpc-cni.json", Target::Throttle),
            ("asg-launch-successful.json", Target::ScaleUp),
            ("asg-lifecycle-launch.json", Target::ScaleUp),
            ("cloudwatch-alarm-ebs.json", Target::Ebs),
            ("ssm-command-status.json", Target::Collector),
            ("ssm-automation-status.json", Target::Collector),
            ("manual-collect.json", Target::Collector),
            ("s3-object-created.json", Target::Analyzer),
            ("manual-analyze.json", Target::Analyzer),
        ] {
            assert_eq!(route(&fixture(f)), Ok(t), "{f}");
        }
        assert!(route(&json!({"source": "aws.health", "detail-type": "x", "detail": {}})).is_err());
    }
}
