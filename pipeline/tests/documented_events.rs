//! Every event the pipeline takes, in the shapes AWS documents for it (`tests/fixtures/events/docs/`,
//! written from the EventBridge event reference of Auto Scaling, CloudWatch, S3 and Systems
//! Manager, CloudTrail's record contents and the Lambda function URL payload, with the edge
//! variants AWS produces: missing `Details`, warm pools, metric math, composite alarms, URL-encoded
//! notification keys, base64 bodies, ...). Each is parsed as one event and, where it has an
//! envelope, again as the body of an SQS message; both must give the same value, of the kind the
//! function the template sends it to accepts, with the fields that function needs.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};

use eks_remedy_pipeline::events::{
    parse, parse_value, Caller, Inbound, Input, LaunchError, Manual, RemedyRequest, Task, Verdict,
};
use eks_remedy_pipeline::function::{FunctionId, FUNCTIONS};

const ACCOUNT: &str = "444455556666";
const REGION: &str = "eu-west-1";
const ASG: &str = "eks-ng-general-7c1e9a42-3b5d-4f60-8e21-a9d4c7b0e153";
const BUCKET: &str = "eks-remedy-bundles-444455556666";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events/docs")
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// An SQS batch of one message carrying `event` as its body, as SQS delivers an EventBridge target's
/// message to Lambda (attributes are strings, numbers included).
fn sqs_batch(event: &Value) -> Value {
    json!({
        "Records": [{
            "messageId": "2e1f0a9b-8c7d-4e6f-9a5b-4c3d2e1f0a9b",
            "receiptHandle": "AQEBexampleReceiptHandle+/=",
            "body": event.to_string(),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764494067123",
                "SenderId": "AIDAXMPLEVENTBRIDGE01",
                "ApproximateFirstReceiveTimestamp": "1764494067130"
            },
            "messageAttributes": {
                "origin": {
                    "stringValue": "eventbridge",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String"
                }
            },
            "md5OfBody": "0f343b0931126a20f133d67c2b018a3b",
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:eks-remedy-ThrottleQueue-1A2B3C4D5E6F"),
            "awsRegion": REGION
        }]
    })
}

/// Parses a fixture directly and, when it is an AWS event (an envelope or S3 records), as an SQS
/// message body too; both must agree.
fn inbound(name: &str) -> Inbound {
    let v = fixture(name);
    let direct = parse_value(v.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        parse(&v.to_string()).unwrap_or_else(|e| panic!("{name}: {e}")),
        direct,
        "{name}: parse and parse_value differ"
    );
    if v.get("detail-type").is_some() || v.get("Records").is_some() {
        let Input::Batch(messages) = Input::parse(sqs_batch(&v)).expect("batch") else {
            panic!("{name}: an SQS record was not read as a batch")
        };
        assert_eq!(messages.len(), 1, "{name}");
        let via_sqs = messages[0]
            .event
            .as_ref()
            .unwrap_or_else(|e| panic!("{name} via SQS: {e}"));
        assert_eq!(via_sqs, &direct, "{name}: SQS body parsed differently");
    }
    direct
}

/// The event reaches `function` and `function` acts on it.
fn for_function(name: &str, function: FunctionId) -> Inbound {
    let e = inbound(name);
    assert!(
        function.spec().accepts(e.kind()),
        "{name}: {:?} does not act on {:?}",
        function,
        e.kind()
    );
    e
}

/// Acknowledged as another source's or kind's event: no function acts on it, nothing is retried.
fn foreign(name: &str, source: &str, detail_type: &str) {
    let e = inbound(name);
    assert_eq!(
        e,
        Inbound::Foreign(source.into(), detail_type.into()),
        "{name}"
    );
    assert!(
        FUNCTIONS.iter().all(|f| !f.accepts(e.kind())),
        "{name}: a function acts on a foreign event"
    );
}

#[test]
fn cloudtrail_throttles_name_api_caller_and_cluster_identity() {
    let cases = [
        (
            "cloudtrail-throttle-vpc-cni-irsa.json",
            "AssignPrivateIpAddresses",
            Caller::VpcCni,
            "10.20.3.41",
            Some("arn:aws:iam::444455556666:role/staging-eu-aws-node"),
            true,
        ),
        (
            "cloudtrail-throttle-karpenter-pod-identity.json",
            "CreateFleet",
            Caller::Karpenter,
            "10.20.7.12",
            Some("arn:aws:iam::444455556666:role/KarpenterController-staging-eu"),
            false,
        ),
        (
            "cloudtrail-throttle-node-role-no-user-agent.json",
            "DescribeNetworkInterfaces",
            Caller::Other,
            "10.20.9.5",
            Some("arn:aws:iam::444455556666:role/staging-eu-node-role"),
            false,
        ),
        (
            "cloudtrail-throttle-iam-user-null-fields.json",
            "DescribeInstances",
            Caller::Other,
            "198.51.100.77",
            Some("arn:aws:iam::444455556666:user/ci-deployer"),
            false,
        ),
        (
            "cloudtrail-throttle-aws-service.json",
            "RunInstances",
            Caller::Other,
            "autoscaling.amazonaws.com",
            None,
            false,
        ),
    ];
    for (name, api, caller, ip, principal, irsa) in cases {
        let Inbound::Throttled(t) = for_function(name, FunctionId::ThrottleWatcher) else {
            panic!("{name}: not a throttle")
        };
        assert_eq!(t.api, api, "{name}");
        assert_eq!(t.caller, caller, "{name}");
        assert_eq!(t.source_ip, ip, "{name}");
        assert_eq!(t.principal_arn.as_deref(), principal, "{name}");
        assert_eq!(t.oidc_provider.is_some(), irsa, "{name}");
        assert_eq!((t.account.as_str(), t.region.as_str()), (ACCOUNT, REGION));
        assert_eq!(t.time.to_rfc3339(), "2026-11-30T09:14:27+00:00", "{name}");
        assert!(!t.event_id.is_empty());
    }
}

#[test]
fn cloudtrail_calls_that_were_not_throttled_are_acknowledged() {
    for name in [
        "cloudtrail-ec2-success-not-throttled.json",
        "cloudtrail-ec2-unauthorized.json",
    ] {
        foreign(name, "aws.ec2", "AWS API Call via CloudTrail");
    }
}

#[test]
fn auto_scaling_launches_name_group_and_instance() {
    let cases = [
        ("asg-launch-successful.json", "i-0f1e2d3c4b5a69788", None),
        (
            "asg-launch-successful-no-details.json",
            "i-0a9b8c7d6e5f40312",
            None,
        ),
        (
            "asg-launch-successful-null-details.json",
            "i-0d9c8b7a6f5e40321",
            None,
        ),
        (
            "asg-launch-successful-from-warm-pool.json",
            "i-0c3d4e5f6a7b8c9d0",
            None,
        ),
        (
            "asg-lifecycle-launch.json",
            "i-0e5d4c3b2a1f09876",
            Some("3f2e1d0c-9b8a-4765-b4c3-d2e1f0a9b8c7"),
        ),
        (
            "asg-lifecycle-launch-into-warm-pool.json",
            "i-0b2a3c4d5e6f70819",
            Some("4a3b2c1d-0e9f-4876-a5b4-c3d2e1f0a9b8"),
        ),
    ];
    for (name, instance, token) in cases {
        let Inbound::Launch(l) = for_function(name, FunctionId::ScaleUpWatcher) else {
            panic!("{name}: not a launch")
        };
        // Into the pool is not yet a node; out of it (`Origin: WarmPool`) is a scale-out.
        assert_eq!(l.into_warm_pool, name.contains("into-warm-pool"), "{name}");
        assert_eq!(l.asg, ASG, "{name}");
        assert_eq!(l.instance_id, instance, "{name}");
        assert_eq!(
            l.lifecycle.as_ref().map(|(_, t)| t.as_str()),
            token,
            "{name}"
        );
        if let Some((hook, _)) = &l.lifecycle {
            assert_eq!(hook, "eks-remedy-launch", "{name}");
        }
        assert_eq!((l.account.as_str(), l.region.as_str()), (ACCOUNT, REGION));
    }
}

#[test]
fn auto_scaling_refused_launches_name_the_ec2_error() {
    let cases = [
        (
            "asg-launch-unsuccessful-vcpu-limit.json",
            LaunchError::VcpuLimitExceeded,
            Some("eu-west-1c"),
            Some("subnet-0bb22cc33dd44ee55"),
        ),
        (
            "asg-launch-unsuccessful-capacity-no-details.json",
            LaunchError::InsufficientInstanceCapacity,
            None,
            None,
        ),
        (
            "asg-launch-unsuccessful-spot-count.json",
            LaunchError::MaxSpotInstanceCountExceeded,
            Some("eu-west-1c"),
            Some("subnet-0bb22cc33dd44ee55"),
        ),
    ];
    for (name, error, zone, subnet) in cases {
        let Inbound::LaunchFailed(f) = for_function(name, FunctionId::ScaleUpWatcher) else {
            panic!("{name}: not a launch failure")
        };
        assert_eq!(f.asg, ASG, "{name}");
        assert_eq!(f.error, error, "{name}: {}", f.message);
        assert_eq!(f.zone.as_deref(), zone, "{name}");
        assert_eq!(f.subnet.as_deref(), subnet, "{name}");
        assert!(f.message.chars().count() <= 1000, "{name}");
    }
    // Missing capacity is worded without its code in the status message, and is no quota.
    let Inbound::LaunchFailed(f) = inbound("asg-launch-unsuccessful-capacity-no-details.json")
    else {
        panic!()
    };
    assert!(!f.error.is_quota());
}

#[test]
fn auto_scaling_terminations_are_acknowledged() {
    foreign(
        "asg-terminate-successful.json",
        "aws.autoscaling",
        "EC2 Instance Terminate Successful",
    );
}

#[test]
fn ebs_alarms_name_the_volume_or_instance() {
    let cases = [
        (
            "cloudwatch-ebs-single-metric-ok-to-alarm.json",
            "VolumeThroughputExceededCheck",
            Some("vol-0a1b2c3d4e5f67890"),
            None,
        ),
        (
            "cloudwatch-ebs-metric-math.json",
            "VolumeIOPSExceededCheck",
            Some("vol-0fedcba9876543210"),
            None,
        ),
        (
            "cloudwatch-ebs-burst-balance-daily.json",
            "BurstBalance",
            Some("vol-0a1b2c3d4e5f67890"),
            None,
        ),
        (
            "cloudwatch-ec2-ebs-io-balance-tags.json",
            "EBSIOBalance%",
            None,
            Some("i-0e5d4c3b2a1f09876"),
        ),
    ];
    for (name, metric, volume, instance) in cases {
        let Inbound::EbsAlarm(a) = for_function(name, FunctionId::EbsAlarmWatcher) else {
            panic!("{name}: not an EBS alarm")
        };
        assert_eq!(a.metric, metric, "{name}");
        assert_eq!(a.volume_id.as_deref(), volume, "{name}");
        assert_eq!(a.instance_id.as_deref(), instance, "{name}");
        assert_eq!((a.account.as_str(), a.region.as_str()), (ACCOUNT, REGION));
        assert!(a.alarm.starts_with("staging-eu-"), "{name}");
    }
}

#[test]
fn alarms_not_in_alarm_or_without_a_metric_are_acknowledged() {
    for name in [
        "cloudwatch-ebs-single-metric-alarm-to-ok.json",
        "cloudwatch-ebs-insufficient-data.json",
        "cloudwatch-composite-alarm.json",
    ] {
        foreign(name, "aws.cloudwatch", "CloudWatch Alarm State Change");
    }
}

#[test]
fn s3_keys_are_the_keys_s3_stores() {
    let exact = "bundles/staging-eu/i-0e5d4c3b2a1f09876/manual run=2026-11-30T09:40:00Z/eks_i-0e5d4c3b2a1f09876_2026-11-30_0940-UTC_0.7.9.tar.gz";
    // EventBridge carries the key as it is; a bucket notification carries it form-encoded.
    for name in [
        "s3-object-created-put-special-key.json",
        "s3-notification-record-encoded-key.json",
    ] {
        let Inbound::Object(o) = for_function(name, FunctionId::BundleAnalyzer) else {
            panic!("{name}: not an object")
        };
        assert_eq!(
            (o.bucket.as_str(), o.key.as_str()),
            (BUCKET, exact),
            "{name}"
        );
        assert_eq!(o.size, Some(48211), "{name}");
    }
    let Inbound::Object(o) = for_function(
        "s3-object-created-multipart-versioned.json",
        FunctionId::BundleAnalyzer,
    ) else {
        panic!("not an object")
    };
    assert_eq!(o.size, Some(5_368_709_121), "over 4 GiB");
    assert!(o.key.ends_with("_0931-UTC_0.7.9.tar.gz"));
    foreign("s3-notification-test-event.json", "aws.s3", "s3:TestEvent");
}

#[test]
fn ssm_status_changes_name_command_and_status() {
    let cases = [
        (
            "ssm-command-invocation-success.json",
            "7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
            "i-0e5d4c3b2a1f09876",
            "Success",
        ),
        (
            "ssm-command-invocation-timed-out.json",
            "8f9a0b1c-2d3e-4f4a-b5c6-d7e8f9a0b1c2",
            "i-0f1e2d3c4b5a69788",
            "TimedOut",
        ),
    ];
    for (name, command, instance, status) in cases {
        let Inbound::Command(c) = for_function(name, FunctionId::Collector) else {
            panic!("{name}: not a command status")
        };
        assert_eq!(
            (c.command_id.as_str(), c.instance_id.as_str()),
            (command, instance)
        );
        assert_eq!(c.status, status, "{name}");
        assert!(c.is_final(), "{name}");
        assert_eq!(c.document, "eks-remedy-CollectionDocument-Q1W2E3R4T5Y6");
    }
    // The command-level event names no instance: the invocation events carry what is needed.
    foreign(
        "ssm-command-status-change.json",
        "aws.ssm",
        "EC2 Command Status-change Notification",
    );
    for (name, id, ok) in [
        (
            "ssm-automation-success.json",
            "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
            true,
        ),
        (
            "ssm-automation-failed.json",
            "3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f",
            false,
        ),
    ] {
        let Inbound::Automation(a) = for_function(name, FunctionId::Collector) else {
            panic!("{name}: not an automation status")
        };
        assert_eq!(a.execution_id, id, "{name}");
        assert_eq!(a.definition, "AWSSupport-CollectEKSInstanceLogs");
        assert!(a.is_final(), "{name}");
        assert_eq!(a.succeeded(), ok, "{name}");
    }
}

#[test]
fn schedules_and_manual_payloads() {
    // The template's schedules send a constant input; a bare scheduled event is not one of them.
    foreign("scheduled-event.json", "aws.events", "Scheduled Event");
    assert_eq!(
        for_function("schedule-resolve-check.json", FunctionId::Notifier),
        Inbound::Scheduled(Task::ResolveCheck)
    );
    let Inbound::Remedy(RemedyRequest::Approve(a)) =
        for_function("manual-approve-one-action.json", FunctionId::Remediator)
    else {
        panic!("not an approval")
    };
    assert_eq!(
        (a.action, a.verdict, a.by),
        (Some(0), Verdict::Reject, None)
    );
    let Inbound::Remedy(RemedyRequest::Plan { incident_id }) =
        for_function("manual-plan.json", FunctionId::Remediator)
    else {
        panic!("not a plan request")
    };
    assert_eq!(
        incident_id,
        "staging-eu.eu-west-1.444455556666:ebs:20261130T0930"
    );
    assert!(matches!(
        parse(r#"{"action":"analyze","bucket":"b","key":"bundles/a b=c:d.tar.gz"}"#),
        Ok(Inbound::Manual(Manual::Analyze { key, .. })) if key == "bundles/a b=c:d.tar.gz"
    ));
}

#[test]
fn function_url_requests_decode_body_and_caller() {
    let Inbound::Http(r) = inbound("function-url-iam-base64-body.json") else {
        panic!("not HTTP")
    };
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/approve"));
    assert_eq!(
        r.caller.as_deref(),
        Some("arn:aws:sts::444455556666:assumed-role/PlatformOnCall/bob")
    );
    let body: Value = serde_json::from_slice(&r.body).expect("decoded body is JSON");
    assert_eq!(body["approve"]["action"], 1);
    assert_eq!(r.request_id, "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b");

    let Inbound::Http(r) = inbound("function-url-get-no-auth-no-body.json") else {
        panic!("not HTTP")
    };
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/healthz"));
    assert_eq!(r.caller, None, "no IAM auth, no caller");
    assert!(r.body.is_empty());
    assert_eq!(r.headers["user-agent"], "curl/8.11.0");
}

/// Malformed events fail with an error naming what was wrong, never a panic.
#[test]
fn malformed_documented_events_name_the_missing_field() {
    let cases: [(&str, &[&str], &str); 6] = [
        (
            "asg-launch-successful.json",
            &["detail", "AutoScalingGroupName"],
            "AutoScalingGroupName",
        ),
        (
            "asg-lifecycle-launch.json",
            &["detail", "EC2InstanceId"],
            "EC2InstanceId",
        ),
        (
            "cloudtrail-throttle-vpc-cni-irsa.json",
            &["detail", "eventID"],
            "eventID",
        ),
        (
            "ssm-command-invocation-success.json",
            &["detail", "instance-id"],
            "instance-id",
        ),
        (
            "cloudwatch-ebs-single-metric-ok-to-alarm.json",
            &["detail", "alarmName"],
            "alarmName",
        ),
        (
            "s3-object-created-put-special-key.json",
            &["detail", "object", "key"],
            "key",
        ),
    ];
    for (name, path, field) in cases {
        let mut v = fixture(name);
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut v;
        for p in parents {
            at = at.get_mut(*p).unwrap();
        }
        at.as_object_mut().unwrap().remove(*last);
        let e = parse_value(v).expect_err(name);
        assert!(e.to_string().contains(field), "{name}: {e}");
    }
    // A notification key with a broken escape is refused, not passed on half decoded.
    let mut v = fixture("s3-notification-record-encoded-key.json");
    v["Records"][0]["s3"]["object"]["key"] = json!("bundles/x%G1.tar.gz");
    let e = parse_value(v).expect_err("bad escape");
    assert!(e.to_string().contains("object key"), "{e}");
}

/// Every fixture in the folder is one of the cases above, so none is added without an expectation.
#[test]
fn every_documented_fixture_is_checked() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("fixtures folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let source = include_str!("documented_events.rs");
    let unchecked: Vec<&String> = on_disk
        .iter()
        .filter(|f| !source.contains(&format!("\"{f}\"")))
        .collect();
    assert!(
        unchecked.is_empty(),
        "fixtures without a test: {unchecked:?}"
    );
    assert!(on_disk.len() >= 30, "{} fixtures", on_disk.len());
}
