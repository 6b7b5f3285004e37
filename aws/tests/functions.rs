//! The five Lambda binaries, built and run as processes against a local Lambda Runtime API
//! (`eks_remedy_tests::runtime_api`) and moto, fed the real event fixtures from
//! `tests/fixtures/events/`. Ends with the end-to-end flow: throttling events in → collection
//! requested → the node's bundle uploaded → analysed from S3 → reports and incident hold the findings.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use eks_remedy_pipeline::function::FUNCTIONS;
use eks_remedy_pipeline::ports::IncidentStore;
use eks_remedy_tests::keep_run_marker;
use eks_remedy_tests::moto::{bin_dir, client_env};
use eks_remedy_tests::runtime_api::{Outcome, RuntimeApi};
use serde_json::{json, Value};

/// The function binary. `cargo test --workspace` builds all five (each function crate has an
/// integration test), with the same features as everything else; run alone, this package builds
/// them once here.
fn built(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    if FUNCTIONS.iter().all(|f| bin_dir().join(f.name).exists()) {
        return bin_dir().join(name);
    }
    BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.arg("build").arg("--quiet");
        for f in FUNCTIONS {
            cmd.args(["-p", f.name]);
        }
        assert!(
            cmd.status().expect("cargo build").success(),
            "building the functions failed"
        );
    });
    bin_dir().join(name)
}

/// Started without its configuration, every function fails at once, naming the missing setting,
/// and never panics.
#[test]
fn every_function_reports_missing_configuration_at_startup() {
    for f in FUNCTIONS {
        eks_remedy_tests::assert_missing_configuration_is_reported(
            &built(f.name).to_string_lossy(),
        );
    }
}

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The name CloudFormation gives the stack's collection document.
const DOCUMENT: &str = "eks-remedy-CollectionDocument-Xy12AbCd34Ef";

/// Everything one pipeline deployment has, created in moto.
struct Stack {
    table: String,
    queue_url: String,
    bucket: String,
    bus: String,
}

impl Stack {
    /// The incident store, to read what the functions wrote.
    fn store(&self, sdk: &aws_config::SdkConfig) -> eks_remedy_aws::store::Store {
        eks_remedy_aws::store::Store::new(aws_sdk_dynamodb::Client::new(sdk), &self.table)
    }
}

async fn stack() -> (aws_config::SdkConfig, Stack) {
    let sdk = sdk().await;
    let table = table(&sdk).await;
    let (queue_url, _) = queue(&sdk, "collect").await;
    let bucket = unique("bundles");
    eks_remedy_aws::objects::client(&sdk)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let bus = unique("findings");
    aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    (
        sdk,
        Stack {
            table,
            queue_url,
            bucket,
            bus,
        },
    )
}

/// A running function process and its Runtime API.
struct Function {
    child: Child,
    api: RuntimeApi,
    cold_start: Duration,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &str, stack: &Stack, extra: &[(&str, &str)]) -> Function {
    let bin = built(name);
    let api = RuntimeApi::start();
    let mut cmd = Command::new(&bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("TABLE_NAME", &stack.table)
        .env("COLLECTION_QUEUE_URL", &stack.queue_url)
        .env("BUCKET", &stack.bucket)
        .env("FINDINGS_BUS", &stack.bus)
        .env("COLLECTION_DOCUMENT", DOCUMENT)
        .env("SETTLE_DELAY_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    keep_run_marker(&mut cmd);
    for (k, v) in client_env(&moto().endpoint) {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let spawned = std::time::Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let ready = api
        .wait_ready(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("{name} never polled the Runtime API"));
    Function {
        child,
        api,
        cold_start: ready - spawned,
    }
}

fn sqs_event(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m-{i}"), "receiptHandle": "r", "body": b, "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}))
        .collect();
    json!({ "Records": records })
}

fn response(o: Outcome) -> Value {
    match o {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("function error: {e}"),
    }
}

async fn receive_all(sdk: &aws_config::SdkConfig, url: &str) -> Vec<String> {
    let c = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    for _ in 0..3 {
        let got = c
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            out.push(m.body().unwrap().to_string());
            c.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

/// The `Object Created` event of `key` in the stack's bucket.
fn object_created(st: &Stack, key: &str) -> Value {
    let mut created = fixture("s3-object-created.json");
    created["detail"]["bucket"]["name"] = json!(st.bucket);
    created["detail"]["object"]["key"] = json!(key);
    created
}

fn throttle_from(ip: &str, n: usize) -> String {
    let mut e = fixture("cloudtrail-throttle-vpc-cni.json");
    e["detail"]["sourceIPAddress"] = json!(ip);
    e["detail"]["eventID"] = json!(unique(&format!("evt{n}")));
    e["detail"]["userIdentity"]["sessionContext"]["webIdFederationData"] = Value::Null;
    e.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn throttle_watcher_binary_folds_and_reports_bad_messages() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    let (node_id, ip) = node(&sdk, Some(&cluster), "m5.large").await;
    let f = start("throttle-watcher", &st, &[]);
    let event = sqs_event(&[
        throttle_from(&ip, 1),
        "not json".into(),
        throttle_from(&ip, 2),
    ]);
    let resp = response(f.api.call(&event));
    assert_eq!(
        resp["batchItemFailures"],
        json!([{"itemIdentifier": "m-1"}])
    );
    let store = st.store(&sdk);
    let item = store
        .incident(&format!(
            "{cluster}.us-east-1.111122223333:throttling:20261019T0500"
        ))
        .await
        .unwrap()
        .expect("incident");
    assert_eq!(item["events"], 2);
    let requests = receive_all(&sdk, &st.queue_url).await;
    assert_eq!(requests.len(), 1);
    assert!(requests[0].contains(&node_id));
    // The same batch again (SQS redelivery): nothing changes.
    let again = response(f.api.call(&event));
    assert_eq!(
        again["batchItemFailures"],
        json!([{"itemIdentifier": "m-1"}])
    );
    assert_eq!(
        store
            .incident(&format!(
                "{cluster}.us-east-1.111122223333:throttling:20261019T0500"
            ))
            .await
            .unwrap()
            .unwrap()["events"],
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scaleup_watcher_binary_schedules_and_completes_lifecycle() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    let (node_id, _) = node(&sdk, Some(&cluster), "m5.large").await;
    let f = start("scaleup-watcher", &st, &[]);
    let mut launch = fixture("asg-launch-successful.json");
    launch["detail"]["EC2InstanceId"] = json!(node_id);
    launch["id"] = json!(unique("launch"));
    let resp = response(f.api.call(&launch));
    assert_eq!(resp["ok"], true, "{resp}");
    assert_eq!(resp["result"]["outcome"], "scheduled", "{resp}");
    let bad = json!({"source": "aws.autoscaling", "detail-type": "EC2 Instance Launch Successful", "detail": {"StatusCode": "InProgress"}});
    assert!(
        matches!(f.api.call(&bad), Outcome::Error(_)),
        "a launch without a group or instance is an error (to the DLQ)"
    );
    let foreign = json!({"source": "aws.health", "detail-type": "AWS Health Event", "detail": {}});
    assert_eq!(
        response(f.api.call(&foreign))["ok"],
        true,
        "foreign events are acknowledged"
    );
}

/// A managed node group at its maxSize fails no launch. The watcher binary sees it on a sampled
/// launch (DescribeTags on the group, DescribeNodegroup on moto), the notice goes over the bus, and
/// the remediator binary, with maxSize already at "Nodes per managed node group", requests more.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_group_at_its_max_size_reaches_the_remediator_through_the_bus() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    eks_cluster(&sdk, &cluster, true).await;
    aws_sdk_eks::Client::new(&sdk)
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name("workers")
        .node_role("arn:aws:iam::123456789012:role/node")
        .subnets("subnet-0a1b2c3d4e5f60718")
        .instance_types("m5.xlarge")
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder()
                .min_size(3)
                .desired_size(450)
                .max_size(450)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let asg = auto_scaling_group(
        &sdk,
        "eks-workers",
        "m5.xlarge",
        &[
            ("eks:cluster-name", &cluster),
            ("eks:nodegroup-name", "workers"),
        ],
    )
    .await;
    let (node_id, _) = node(&sdk, Some(&cluster), "m5.xlarge").await;
    let bus_out = rule_to_queue(
        &sdk,
        &st.bus,
        &unique("at-max-out"),
        r#"{"source":["eks-remedy"]}"#,
    )
    .await;

    let watcher = start("scaleup-watcher", &st, &[]);
    let mut launch = fixture("asg-launch-successful.json");
    launch["id"] = json!(unique("launch"));
    launch["detail"]["EC2InstanceId"] = json!(node_id);
    launch["detail"]["AutoScalingGroupName"] = json!(asg);
    let resp = response(watcher.api.call(&launch));
    assert_eq!(resp["result"]["outcome"], "scheduled", "{resp}");
    let published = receive_all(&sdk, &bus_out).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let notice: Value = serde_json::from_str(&published[0]).unwrap();
    assert_eq!(notice["detail-type"], "eks-remedy launch failure");
    assert_eq!(notice["detail"]["error"], "NodegroupAtMaxSize");
    assert_eq!(notice["detail"]["max_size"], 450);
    assert_eq!(notice["detail"]["vcpus"], 4);

    let remediator = start(
        "remediator",
        &st,
        &[
            ("REMEDY_MODES", "service-quota=auto"),
            ("ALLOW_ACCOUNTS", "*"),
            ("ALLOW_CLUSTERS", "*"),
            ("ALLOW_NODE_GROUPS", "*"),
            ("ALLOW_QUOTA_CODES", "L-BD136A63"),
        ],
    );
    let before = answered("service-quotas:RequestServiceQuotaIncrease");
    let resp = response(remediator.api.call(&sqs_event(&published)));
    assert_eq!(resp["batchItemFailures"], json!([]), "{resp}");
    assert_eq!(
        answered("service-quotas:RequestServiceQuotaIncrease"),
        before + 1
    );
    let out: Vec<Value> = receive_all(&sdk, &bus_out)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let plan = &out
        .iter()
        .find(|e| e["detail-type"] == "eks-remedy plan")
        .unwrap_or_else(|| panic!("no plan event: {out:?}"))["detail"]["plan"];
    let quota = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "service-quota")
        .unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(quota["target"]["quota_code"], "L-BD136A63", "{quota}");
    assert_eq!(quota["change"]["after"]["DesiredValue"], 700.0, "{quota}");
    // The same notice again (another sampled launch): no second request.
    response(remediator.api.call(&sqs_event(&published)));
    assert_eq!(
        answered("service-quotas:RequestServiceQuotaIncrease"),
        before + 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ebs_alarm_watcher_binary_reaches_the_node() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    let (node_id, _) = node(&sdk, Some(&cluster), "m5.large").await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vol = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(20)
        .volume_type(aws_sdk_ec2::types::VolumeType::Gp3)
        .send()
        .await
        .unwrap();
    let vid = vol.volume_id().unwrap().to_string();
    ec2.attach_volume()
        .volume_id(&vid)
        .instance_id(&node_id)
        .device("/dev/xvdb")
        .send()
        .await
        .unwrap();
    let f = start("ebs-alarm-watcher", &st, &[]);
    let mut alarm = fixture("cloudwatch-alarm-ebs.json");
    alarm["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]
        ["VolumeId"] = json!(vid);
    let resp = response(f.api.call(&alarm));
    assert_eq!(resp["result"]["outcome"], "collecting", "{resp}");
    assert_eq!(resp["result"]["instance_id"], json!(node_id), "{resp}");
    let store = st.store(&sdk);
    let item = store
        .incident(&format!(
            "{cluster}.us-east-1.111122223333:ebs-alarm:20261019T0500"
        ))
        .await
        .unwrap()
        .expect("incident");
    assert!(
        item["notes"][0].as_str().unwrap().contains("gp3 20 GiB"),
        "{item}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collector_binary_sends_once_and_records_failed_status() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    let (node_id, _) = node(&sdk, Some(&cluster), "m5.large").await;
    let f = start("collector", &st, &[]);
    let req = json!({"incident_id": format!("{cluster}.us-east-1.111122223333:throttling:20261019T0500"), "cluster": {"account": "123456789012", "region": "us-east-1", "cluster": cluster}, "instance_id": node_id, "reason": "test", "window": "2026-10-19T05:00:00Z"});
    let resp = response(
        f.api
            .call(&sqs_event(&[req.to_string(), req.to_string(), "{".into()])),
    );
    assert_eq!(
        resp["batchItemFailures"],
        json!([{"itemIdentifier": "m-2"}])
    );
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let cmds = ssm
        .list_commands()
        .instance_id(&node_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cmds.commands().len(),
        1,
        "one collection per node and window"
    );
    let cmd_id = cmds.commands()[0].command_id().unwrap().to_string();
    let mut status = fixture("ssm-command-status.json");
    status["detail"]["command-id"] = json!(cmd_id);
    status["detail"]["instance-id"] = json!(node_id);
    status["detail"]["status"] = json!("TimedOut");
    response(f.api.call(&status));
    let store = st.store(&sdk);
    let item = store
        .incident(&format!(
            "{cluster}.us-east-1.111122223333:throttling:20261019T0500"
        ))
        .await
        .unwrap()
        .expect("incident");
    assert!(
        item["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("collection-failed:"),
        "{item}"
    );
}

/// `COLLECTION_METHOD=automation`: the collector starts the runbook (moto extension), the runbook's
/// upload lands at the bucket root (the test puts it there), its success event moves the bundle
/// under the incident's prefix, and the analyzer binary reads it from there. Replaying the success
/// changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn collector_binary_automation_method_hands_the_bundle_to_the_analyzer() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    let (node_id, _) = node(&sdk, Some(&cluster), "m5.large").await;
    let role = "arn:aws:iam::123456789012:role/eks-remedy-AutomationRole-1";
    let collector = start(
        "collector",
        &st,
        &[
            ("COLLECTION_METHOD", "automation"),
            ("AUTOMATION_ROLE_ARN", role),
        ],
    );
    let mut manual = fixture("manual-collect.json");
    manual["cluster"] = json!(cluster);
    manual["instance_ids"] = json!([node_id]);
    let started = response(collector.api.call(&manual));
    assert_eq!(started["result"][0]["outcome"], "started", "{started}");
    let execution = started["result"][0]["command_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no execution id in {started}"))
        .to_string();
    let run = automation(&sdk, &execution).await;
    let params = run.parameters().unwrap();
    assert_eq!(params["EKSInstanceId"], std::slice::from_ref(&node_id));
    assert_eq!(params["LogDestination"], std::slice::from_ref(&st.bucket));
    assert_eq!(params["AutomationAssumeRole"], [role.to_string()]);

    // Named as the collector names it, with the time it ran (the manual request's window is now).
    let name = format!(
        "eks_{node_id}_{}_0.7.9.tar.gz",
        chrono::Utc::now().format("%Y-%m-%d_%H%M-UTC")
    );
    upload_sample(&sdk, &st.bucket, &name).await;
    let mut status = fixture("ssm-automation-status.json");
    status["detail"]["ExecutionId"] = json!(execution);
    let adopted = response(collector.api.call(&status));
    assert_eq!(
        adopted["result"][0]["outcome"], "bundle_adopted",
        "{adopted}"
    );
    let key = adopted["result"][0]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("bundle not adopted: {adopted}"))
        .to_string();
    assert!(
        // Account and region from the function's ARN: the payload named neither.
        key.starts_with(&format!(
            "bundles/{cluster}/{node_id}/{cluster}.us-east-1.123456789012:manual:"
        )) && key.ends_with(&name),
        "{key}"
    );
    assert_eq!(response(collector.api.call(&status)), adopted, "replay");
    let s3 = eks_remedy_aws::objects::client(&sdk);
    let root = s3
        .list_objects_v2()
        .bucket(&st.bucket)
        .prefix("eks_")
        .send()
        .await
        .unwrap();
    assert_eq!(root.key_count(), Some(0), "moved, not copied");

    let analyzer = start("bundle-analyzer", &st, &[]);
    let resp = response(analyzer.api.call(&object_created(&st, &key)));
    assert_eq!(resp["ok"], true, "{resp}");
    let incident = key.split('/').nth(3).unwrap();
    let store = st.store(&sdk);
    let item = store.incident(incident).await.unwrap().expect("incident");
    let notes: Vec<&str> = item["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 1, "one note despite the replay: {notes:?}");
    assert!(notes[0].contains(&key), "{notes:?}");
    assert!(
        item[format!("findings:{node_id}").as_str()]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{item}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn end_to_end_throttling_to_findings() {
    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    eks_cluster(&sdk, &cluster, false).await;
    vpc_cni_addon(&sdk, &cluster, None).await;
    let (node_id, ip) = node(&sdk, Some(&cluster), "m5.large").await;

    // 1. Throttling events in: one incident, one collection requested.
    let watcher = start("throttle-watcher", &st, &[]);
    let bodies: Vec<String> = (0..10).map(|n| throttle_from(&ip, n)).collect();
    assert_eq!(
        response(watcher.api.call(&sqs_event(&bodies)))["batchItemFailures"],
        json!([])
    );
    let requests = receive_all(&sdk, &st.queue_url).await;
    assert_eq!(requests.len(), 1);

    // 2. The collector runs the collection document on the node. moto runs nothing, so the test
    //    uploads as the node's curl would: a plain PUT to the URL the command carries.
    let collector = start("collector", &st, &[]);
    assert_eq!(
        response(collector.api.call(&sqs_event(&requests)))["batchItemFailures"],
        json!([])
    );
    let incident = format!("{cluster}.us-east-1.111122223333:throttling:20261019T0500");
    let prefix = format!("bundles/{cluster}/{node_id}/{incident}/");
    let commands = aws_sdk_ssm::Client::new(&sdk)
        .list_commands()
        .instance_id(&node_id)
        .send()
        .await
        .unwrap();
    let command = &commands.commands()[0];
    assert_eq!(command.document_name(), Some(DOCUMENT));
    let url = command.parameters().unwrap()["UploadUrl"][0].clone();
    let bundle = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz"),
    )
    .unwrap();
    assert_eq!(http("PUT", &url, &bundle).0, 200);
    let s3 = eks_remedy_aws::objects::client(&sdk);
    let uploaded = s3
        .list_objects_v2()
        .bucket(&st.bucket)
        .prefix(&prefix)
        .send()
        .await
        .unwrap();
    let key = uploaded.contents()[0].key().unwrap().to_string();
    assert!(key.ends_with("-UTC.tar.gz"), "{key}");

    // 3. Object Created → the analyzer streams it from S3.
    let analyzer = start("bundle-analyzer", &st, &[]);
    let resp = response(analyzer.api.call(&object_created(&st, &key)));
    assert_eq!(resp["ok"], true, "{resp}");

    // 4. Reports beside the bundle, findings on the incident.
    let report = s3
        .get_object()
        .bucket(&st.bucket)
        .key(format!("{prefix}report.json"))
        .send()
        .await
        .unwrap();
    let report: Value =
        serde_json::from_slice(&report.body.collect().await.unwrap().into_bytes()).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"ec2-api-throttling") && rules.contains(&"ebs-io-throttling"),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"vpc-cni-addon-outdated"),
        "EKS context from DescribeAddon/DescribeAddonVersions: {rules:?}"
    );
    assert_eq!(
        report["bundle"]["source"],
        format!("s3://{}/{key}", st.bucket)
    );
    let html = s3
        .get_object()
        .bucket(&st.bucket)
        .key(format!("{prefix}report.html"))
        .send()
        .await
        .unwrap();
    assert!(
        String::from_utf8(html.body.collect().await.unwrap().into_bytes().to_vec())
            .unwrap()
            .contains("<svg")
    );
    let store = st.store(&sdk);
    let item = store.incident(&incident).await.unwrap().expect("incident");
    assert_eq!(item["events"], 10);
    let recorded: Vec<&str> = item[format!("findings:{node_id}").as_str()]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(recorded, rules);

    // 5. A bundle that is not a bundle: acknowledged with a clear log, no crash, no report.
    let bad_key = format!("{prefix}eks_{node_id}_2026-10-19_0900-UTC_0.7.9.tar.gz");
    s3.put_object()
        .bucket(&st.bucket)
        .key(&bad_key)
        .body(b"<Error>AccessDenied</Error>".to_vec().into())
        .send()
        .await
        .unwrap();
    let resp = response(analyzer.api.call(&object_created(&st, &bad_key)));
    assert!(
        resp["acknowledged"]
            .as_str()
            .unwrap()
            .contains("not a log bundle"),
        "{resp}"
    );
    for f in [&watcher, &collector, &analyzer] {
        assert!(
            f.cold_start < Duration::from_secs(5),
            "ready in {:?}",
            f.cold_start
        );
    }
}

/// The notifier binary with a Slack bot whose token is an SSM SecureString and whose API is a
/// local recording server (`SLACK_API_URL`): the first findings post one message, another node
/// edits it in place, a replay sends nothing, an outage fails the batch with the view kept, and
/// the next event catches the message up.
#[tokio::test(flavor = "multi_thread")]
async fn notifier_binary_keeps_one_slack_message_current() {
    use eks_remedy_chat::testing::{RecordingServer, Reply};
    use eks_remedy_pipeline::ports::ViewStore;

    let (sdk, st) = stack().await;
    let slack = RecordingServer::start();
    let ts = "1700000000.000100";
    slack.set_default(Reply::json(
        &json!({"ok": true, "channel": "C0123ABCD", "ts": ts}),
    ));
    let param = format!("/{}/slack-bot-token", unique("eks-remedy"));
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&param)
        .value("xoxb-test-token")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let api = slack.url("/api/");
    let f = start(
        "notifier",
        &st,
        &[
            ("SLACK_BOT_TOKEN_PARAM", &param),
            ("SLACK_CHANNEL", "C0123ABCD"),
            ("SLACK_API_URL", &api),
        ],
    );
    let incident = unique("prod-cluster.us-east-1.111122223333:throttling");
    let findings = |node: &str| {
        let mut e = fixture("eks-remedy-findings.json");
        e["detail"]["incident_id"] = json!(incident);
        e["detail"]["instance_id"] = json!(node);
        e.to_string()
    };

    let resp = response(
        f.api
            .call(&sqs_event(&[findings("i-0aaa"), "not json".into()])),
    );
    assert_eq!(
        resp["batchItemFailures"],
        json!([{"itemIdentifier": "m-1"}])
    );
    let got = slack.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].url, "/api/chat.postMessage");
    assert_eq!(
        got[0].header("authorization"),
        Some("Bearer xoxb-test-token")
    );
    assert_eq!(got[0].json()["channel"], "C0123ABCD");

    let resp = response(f.api.call(&sqs_event(&[findings("i-0bbb")])));
    assert_eq!(resp["batchItemFailures"], json!([]));
    let got = slack.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].url, "/api/chat.update");
    assert_eq!(got[1].json()["ts"], ts);

    // SQS delivers it again: nothing is sent.
    response(f.api.call(&sqs_event(&[findings("i-0bbb")])));
    assert_eq!(slack.requests().len(), 2);

    // Slack down for every attempt: the message is failed (SQS retries it), the view is kept.
    slack.script(std::iter::repeat_n(Reply::status(503), 4));
    let resp = response(f.api.call(&sqs_event(&[findings("i-0ccc")])));
    assert_eq!(
        resp["batchItemFailures"],
        json!([{"itemIdentifier": "m-0"}])
    );
    let views = eks_remedy_aws::views::Views::new(aws_sdk_dynamodb::Client::new(&sdk), &st.table);
    let state = views.load_view(&incident).await.unwrap().unwrap().value;
    assert_eq!(state.view.nodes.len(), 3);
    assert_eq!(state.outbox.targets["slack"].failures, 1);

    // Back up: the next event brings the same message up to the current state.
    let resp = response(f.api.call(&sqs_event(&[findings("i-0ddd")])));
    assert_eq!(resp["batchItemFailures"], json!([]));
    let last = slack.requests().pop().unwrap();
    assert_eq!(last.url, "/api/chat.update");
    assert_eq!(last.json()["ts"], ts);
    let state = views.load_view(&incident).await.unwrap().unwrap().value;
    assert_eq!(state.view.nodes.len(), 4);
    assert_eq!(
        state.outbox.targets["slack"].fingerprint.as_deref(),
        Some(state.view.fingerprint().as_str())
    );
}

/// A function URL request as Lambda delivers it (the fixture), with this body, caller and headers.
fn url_request(body: &str, caller: Option<&str>, headers: Value) -> Value {
    let mut req = fixture("function-url-approve.json");
    req["body"] = json!(body);
    req["isBase64Encoded"] = json!(false);
    req["headers"] = headers;
    match caller {
        Some(c) => req["requestContext"]["authorizer"]["iam"]["userArn"] = json!(c),
        None => req["requestContext"]["authorizer"] = Value::Null,
    }
    req
}

/// Every request moto answered for `op` in us-east-1 (the moto extension counts them).
fn answered(op: &str) -> u64 {
    common::moto_api("GET", "requests?region=us-east-1", &json!({}))[op]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn remediator_binary_plans_and_executes_approvals_from_the_url_and_slack() {
    use eks_remedy_chat::interactivity::sign;

    let (sdk, st) = stack().await;
    let cluster = unique("prod");
    eks_cluster(&sdk, &cluster, true).await;
    vpc_cni_addon(
        &sdk,
        &cluster,
        Some(r#"{"env":{"WARM_IP_TARGET":"2","AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG"}}"#),
    )
    .await;
    // The analyzer's report of the sample bundle, where its findings event says it is.
    let incident = unique(&format!("{cluster}.us-east-1.123456789012:throttling"));
    let report_key = format!("bundles/{cluster}/i-0abc12345def67890/{incident}/report.json");
    let report = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/notify/sample-report.json"),
    )
    .unwrap();
    eks_remedy_aws::objects::client(&sdk)
        .put_object()
        .bucket(&st.bucket)
        .key(&report_key)
        .body(report.into())
        .send()
        .await
        .unwrap();
    let mut findings = fixture("eks-remedy-findings.json");
    findings["detail"]["incident_id"] = json!(incident);
    findings["detail"]["cluster"] = json!(cluster);
    findings["detail"]["bucket"] = json!(st.bucket);
    findings["detail"]["report_json"] = json!(report_key);
    let bus_out = rule_to_queue(
        &sdk,
        &st.bus,
        &unique("remedy-out"),
        r#"{"source":["eks-remedy"]}"#,
    )
    .await;

    let approvers = "arn:aws:iam::123456789012:role/PlatformOnCall,slack:U0APPROVER";
    let f = start(
        "remediator",
        &st,
        &[
            ("REMEDY_MODES", "vpc-cni-addon=approve"),
            ("APPROVERS", approvers),
        ],
    );
    let updates = answered("eks:UpdateAddon");

    // Findings from the queue: a plan, announced on the bus; approve mode writes nothing.
    let resp = response(f.api.call(&sqs_event(&[findings.to_string()])));
    assert_eq!(resp["batchItemFailures"], json!([]));
    let planned = receive_all(&sdk, &bus_out).await;
    let out: Vec<Value> = planned
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let plan = out
        .iter()
        .find(|e| e["detail-type"] == "eks-remedy plan")
        .unwrap_or_else(|| panic!("no plan event: {out:?}"))["detail"]["plan"]
        .clone();
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let cni = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["kind"] == "vpc-cni-addon")
        .unwrap();
    assert_eq!(answered("eks:UpdateAddon"), updates);

    // The notifier posts the incident with its plan to a local Slack API (its buttons name the
    // plan and the action's index).
    let slack_api = eks_remedy_chat::testing::RecordingServer::start();
    let message_ts = "1700000000.000200";
    slack_api.set_default(eks_remedy_chat::testing::Reply::json(
        &json!({"ok": true, "channel": "C0123ABCD", "ts": message_ts}),
    ));
    let token = format!("/{}/slack-bot-token", unique("eks-remedy"));
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&token)
        .value("xoxb-test-token")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let api_url = slack_api.url("/api/");
    let notifier = start(
        "notifier",
        &st,
        &[
            ("SLACK_BOT_TOKEN_PARAM", &token),
            ("SLACK_CHANNEL", "C0123ABCD"),
            ("SLACK_API_URL", &api_url),
        ],
    );
    let mut opened = vec![findings.to_string()];
    opened.extend(planned);
    let resp = response(notifier.api.call(&sqs_event(&opened)));
    assert_eq!(resp["batchItemFailures"], json!([]));
    let posted = slack_api.requests();
    assert_eq!(posted.len(), 1, "one message for the incident");
    assert_eq!(posted[0].url, "/api/chat.postMessage");
    assert!(
        posted[0]
            .json()
            .to_string()
            .contains(&format!("approve:{cni}")),
        "the Approve button"
    );

    // A Slack click, through the interactivity binary: verified, then queued for the remediator.
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let param = format!("/{}/slack-signing-secret", unique("eks-remedy"));
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&param)
        .value(secret)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let (remedy_queue, _) = queue(&sdk, "remedy").await;
    let slack = start(
        "slack-interactivity",
        &st,
        &[
            ("SLACK_SIGNING_SECRET_PARAM", &param),
            ("REMEDY_QUEUE_URL", &remedy_queue),
            ("APPROVERS", approvers),
        ],
    );
    let mut click: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/slack/block-actions-approve.json"),
        )
        .unwrap(),
    )
    .unwrap();
    click["actions"][0]["action_id"] = json!(format!("approve:{cni}"));
    click["actions"][0]["value"] = json!(format!("{plan_id}:{cni}"));
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &click.to_string())
        .finish();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let headers = json!({
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts.to_string(),
        "x-slack-signature": sign(secret.as_bytes(), ts, form.as_bytes()),
    });
    let answer = response(slack.api.call(&url_request(&form, None, headers.clone())));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    // The same request replayed is refused.
    let again = response(slack.api.call(&url_request(&form, None, headers)));
    assert_eq!(again["statusCode"], 409, "{again}");
    let queued = receive_all(&sdk, &remedy_queue).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let approval: Value = serde_json::from_str(&queued[0]).unwrap();
    assert_eq!(approval["approve"]["by"], "slack:U0APPROVER");

    // The remediator takes the queued click: executed once on moto, announced on the bus.
    let resp = response(f.api.call(&sqs_event(&queued)));
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(answered("eks:UpdateAddon"), updates + 1);
    let decided = receive_all(&sdk, &bus_out).await;
    let out: Vec<Value> = decided
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let types: Vec<&str> = out
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert!(types.contains(&"eks-remedy approval"), "{types:?}");
    assert!(types.contains(&"eks-remedy audit"), "{types:?}");

    // The notifier updates the same message: who decided, and that it started.
    let resp = response(notifier.api.call(&sqs_event(&decided)));
    assert_eq!(resp["batchItemFailures"], json!([]));
    let update = slack_api
        .requests()
        .into_iter()
        .rfind(|r| r.url == "/api/chat.update")
        .expect("the message is updated in place");
    assert_eq!(update.json()["ts"], message_ts);
    assert!(
        update.json().to_string().contains("U0APPROVER"),
        "who decided"
    );

    // Through the IAM URL (`eks-remedy approve`): the same action again is refused, once decided.
    let body =
        json!({"approve": {"plan_id": plan_id, "action": cni, "verdict": "approve"}}).to_string();
    let alice = "arn:aws:sts::123456789012:assumed-role/PlatformOnCall/alice";
    let r = response(f.api.call(&url_request(
        &body,
        Some(alice),
        json!({"content-type": "application/json"}),
    )));
    assert_eq!(r["statusCode"], 409, "{r}");
    let r = response(f.api.call(&url_request(
        &body,
        None,
        json!({"content-type": "application/json"}),
    )));
    assert_eq!(r["statusCode"], 403, "{r}");
    assert_eq!(answered("eks:UpdateAddon"), updates + 1);

    // The schedule follows the add-on update.
    let followed = response(f.api.call(&json!({"schedule": "follow"})));
    assert_eq!(followed["result"]["checked"], json!(1), "{followed}");
}
