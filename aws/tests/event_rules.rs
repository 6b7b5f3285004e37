//! The template's EventBridge rules, matched against real event JSON on moto: every fixture reaches
//! exactly its function's rule, and look-alikes (other error codes, other groups, OK alarms,
//! unfinished commands, other prefixes) reach none. The patterns come from the SAM template as
//! `infra/translate.py` renders it, so a typo in the template fails here, not in production.
//! Matching into arrays of objects (the alarm's `configuration.metrics`) comes from the moto
//! extension in `tests/moto_server.py`, as stock moto lacks it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use eks_remedy_tests::fixtures_dir;
use serde_json::{json, Value};

/// Values for the template parameters and resources the patterns refer to.
const BUCKET: &str = "eks-remedy-bundles-111122223333";
/// The name CloudFormation gives the stack's collection document.
const DOCUMENT: &str = "eks-remedy-CollectionDocument-Xy12AbCd34Ef";

fn resolve(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Ref") => match m["Ref"].as_str() {
            Some("NodeGroupPrefix") => json!("eks-"),
            Some("BundleBucket") => json!(BUCKET),
            Some("CollectionDocument") => json!(DOCUMENT),
            other => panic!("pattern refers to {other:?}: give it a test value"),
        },
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), resolve(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(resolve).collect()),
        v => v.clone(),
    }
}

/// (logical id, pattern) of every EventBridge rule in the translated template.
fn template_rules() -> Vec<(String, Value)> {
    let template = translated_template();
    let rules: Vec<(String, Value)> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        // Schedules (no pattern) are not triggers of events.
        .filter(|(_, r)| {
            r["Type"] == "AWS::Events::Rule" && !r["Properties"]["EventPattern"].is_null()
        })
        .map(|(id, r)| (id.clone(), resolve(&r["Properties"]["EventPattern"])))
        .collect();
    assert_eq!(rules.len(), 8, "one rule per trigger: {rules:?}");
    rules
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join("events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn with(mut event: Value, pointer: &str, value: Value) -> Value {
    *event.pointer_mut(pointer).expect(pointer) = value;
    event
}

#[tokio::test]
async fn template_rules_route_each_event_to_its_function_only() {
    let sdk = sdk().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = unique("rules");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let mut queues = BTreeMap::new();
    for (id, pattern) in template_rules() {
        let url = rule_to_queue(&sdk, &bus, &id, &pattern.to_string()).await;
        queues.insert(id, url);
    }

    let throttle = fixture("cloudtrail-throttle-vpc-cni.json");
    let launch = fixture("asg-launch-successful.json");
    let alarm = fixture("cloudwatch-alarm-ebs.json");
    let command = fixture("ssm-command-status.json");
    let ours = with(command.clone(), "/detail/document-name", json!(DOCUMENT));
    let automation = fixture("ssm-automation-status.json");
    let object = fixture("s3-object-created.json");
    let findings = fixture("eks-remedy-findings.json");
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("vpc-cni throttling", throttle.clone(), &["ThrottleRule"]),
        (
            "karpenter throttling",
            fixture("cloudtrail-throttle-karpenter.json"),
            &["ThrottleRule"],
        ),
        (
            "plain RequestLimitExceeded",
            with(
                throttle.clone(),
                "/detail/errorCode",
                json!("RequestLimitExceeded"),
            ),
            &["ThrottleRule"],
        ),
        (
            "access denied is not throttling",
            with(
                throttle.clone(),
                "/detail/errorCode",
                json!("Client.UnauthorizedOperation"),
            ),
            &[],
        ),
        (
            "throttling of another service",
            with(throttle, "/detail/eventSource", json!("ecr.amazonaws.com")),
            &[],
        ),
        (
            "node group launch",
            launch.clone(),
            &["ScaleUpWatcherFunctionLaunches"],
        ),
        (
            "lifecycle hook",
            fixture("asg-lifecycle-launch.json"),
            &["ScaleUpWatcherFunctionLaunches"],
        ),
        (
            "node group launch refused for a vCPU quota",
            fixture("asg-launch-unsuccessful-vcpu.json"),
            &["ScaleUpWatcherFunctionLaunches"],
        ),
        (
            "refused launch in a group that is not a node group",
            with(
                fixture("asg-launch-unsuccessful-vcpu.json"),
                "/detail/AutoScalingGroupName",
                json!("web-frontend-asg"),
            ),
            &[],
        ),
        (
            "launch in a group that is not a node group",
            with(
                launch,
                "/detail/AutoScalingGroupName",
                json!("web-frontend-asg"),
            ),
            &[],
        ),
        (
            "EBS alarm",
            alarm.clone(),
            &["EbsAlarmWatcherFunctionAlarms"],
        ),
        (
            "EBS alarm back to OK",
            with(alarm.clone(), "/detail/state/value", json!("OK")),
            &[],
        ),
        (
            "CPU alarm",
            with(
                alarm,
                "/detail/configuration/metrics/0/metricStat/metric/name",
                json!("CPUUtilization"),
            ),
            &[],
        ),
        (
            "finished command",
            ours.clone(),
            &["CollectorFunctionCommandStatus"],
        ),
        (
            "command still running",
            with(ours, "/detail/status", json!("InProgress")),
            &[],
        ),
        // The fixture's document: the collector no longer sends the stock shell document, so its
        // status events are someone else's.
        (
            "a plain shell command (AWS-RunShellScript)",
            command.clone(),
            &[],
        ),
        (
            "another document",
            with(
                command,
                "/detail/document-name",
                json!("AWS-UpdateSSMAgent"),
            ),
            &[],
        ),
        (
            "finished automation",
            automation.clone(),
            &["CollectorFunctionAutomationStatus"],
        ),
        (
            "automation still running",
            with(automation.clone(), "/detail/Status", json!("InProgress")),
            &[],
        ),
        (
            "another runbook",
            with(
                automation,
                "/detail/Definition",
                json!("AWS-RestartEC2Instance"),
            ),
            &[],
        ),
        (
            "bundle upload",
            object.clone(),
            &["BundleAnalyzerFunctionBundles"],
        ),
        (
            "object outside bundles/",
            with(
                object.clone(),
                "/detail/object/key",
                json!("eks_i-0abc_2026-10-19.tar.gz"),
            ),
            &[],
        ),
        (
            "another bucket",
            with(object, "/detail/bucket/name", json!("someone-else")),
            &[],
        ),
        (
            "the analyzer's findings",
            findings.clone(),
            &["NotifyRule", "RemedyRule"],
        ),
        (
            "a plan for the incident",
            with(findings.clone(), "/detail-type", json!("eks-remedy plan")),
            &["NotifyRule"],
        ),
        (
            "a resolve",
            with(
                findings.clone(),
                "/detail-type",
                json!("eks-remedy incident resolved"),
            ),
            &["NotifyRule"],
        ),
        (
            "a launch failure, for the remediation plan only",
            fixture("eks-remedy-launch-failure.json"),
            &["RemedyRule"],
        ),
        (
            "a detail type of ours chat does not follow",
            with(findings.clone(), "/detail-type", json!("eks-remedy debug")),
            &[],
        ),
        (
            "someone else's findings",
            with(findings, "/source", json!("acme.alerts")),
            &[],
        ),
    ];

    for (what, event, expected) in cases {
        let out = events
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&bus)
                    .source(event["source"].as_str().unwrap())
                    .detail_type(event["detail-type"].as_str().unwrap())
                    .detail(event["detail"].to_string())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_entry_count, 0, "{what}: not accepted");
        let mut hit = BTreeSet::new();
        for (id, url) in &queues {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            for m in got.messages() {
                hit.insert(id.as_str());
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        assert_eq!(
            hit,
            expected.iter().copied().collect::<BTreeSet<_>>(),
            "{what}: matched the wrong rules"
        );
    }
}
