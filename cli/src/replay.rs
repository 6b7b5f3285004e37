//! `eks-remedy replay <event.json>`: runs the same handler code as the Lambda functions, locally,
//! against whatever AWS endpoint the environment configures (real AWS, or moto via
//! `AWS_ENDPOINT_URL`). Settings come from the same variables as the functions (`TABLE_NAME`,
//! `COLLECTION_QUEUE_URL`, `BUCKET`, `FINDINGS_BUS`, ...).

use eks_remedy_aws::bootstrap::{build, pipeline_config, Clients};
use eks_remedy_pipeline::events::{Inbound, Input};
use eks_remedy_pipeline::function::{Invocation, Spec};
use eks_remedy_pipeline::Outcome;
use serde_json::{json, Value};

/// The function that takes the event (for a batch, its first message the pipeline can read), from
/// the function table.
pub fn route(event: &Value) -> Result<&'static Spec, String> {
    let kinds = match Input::parse(event.clone()).map_err(|e| e.to_string())? {
        Input::One(e) => vec![e.kind()],
        Input::Batch(messages) => messages
            .iter()
            .filter_map(|m| m.event.as_ref().ok().map(Inbound::kind))
            .collect(),
    };
    kinds
        .iter()
        .find_map(|k| Spec::for_kind(*k))
        .ok_or_else(|| match kinds.first() {
            Some(k) => format!("no function takes {} events", k.as_str()),
            None => "no message of the batch is an event the pipeline reads".into(),
        })
}

/// Runs the event through its function and returns what the function would answer (a failure
/// that Lambda would retry or dead-letter is shown with its outcome instead).
pub async fn replay(event: Value) -> Result<Value, String> {
    let spec = route(&event)?;
    let clients = Clients::load().await;
    let cfg = pipeline_config().map_err(|e| e.to_string())?;
    let function = build(spec.id, &clients, cfg).map_err(|e| e.to_string())?;
    let inv = Invocation {
        request_id: "replay".into(),
        account: std::env::var("EKS_REMEDY_ACCOUNT").unwrap_or_default(),
        region: clients
            .sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_default(),
        ..Invocation::default()
    };
    Ok(match function.serve(event, &inv).await {
        Ok(answer) => json!({"function": spec.name, "answer": answer}),
        Err(e) => json!({
            "function": spec.name,
            "ok": false,
            "error": e.to_string(),
            "outcome": format!("{:?}", Outcome::of(&e)),
        }),
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
            ("cloudtrail-throttle-vpc-cni.json", "throttle-watcher"),
            ("asg-launch-successful.json", "scaleup-watcher"),
            ("asg-lifecycle-launch.json", "scaleup-watcher"),
            ("cloudwatch-alarm-ebs.json", "ebs-alarm-watcher"),
            ("ssm-command-status.json", "collector"),
            ("ssm-automation-status.json", "collector"),
            ("manual-collect.json", "collector"),
            ("s3-object-created.json", "bundle-analyzer"),
            ("manual-analyze.json", "bundle-analyzer"),
        ] {
            assert_eq!(route(&fixture(f)).map(|s| s.name), Ok(t), "{f}");
        }
        let batch = json!({"Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": fixture("cloudtrail-throttle-vpc-cni.json").to_string()}]});
        assert_eq!(route(&batch).map(|s| s.name), Ok("throttle-watcher"));
        assert!(route(&json!({"source": "aws.health", "detail-type": "x", "detail": {}})).is_err());
    }
}
