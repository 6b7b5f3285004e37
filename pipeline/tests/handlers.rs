//! The five handlers against in-memory ports, with the real event fixtures from
//! `tests/fixtures/events/`. The AWS adapters are tested against moto in `eks-remedy-aws`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use eks_remedy_pipeline::events::{parse, parse_value, Inbound, Input};
use eks_remedy_pipeline::fakes::*;
use eks_remedy_pipeline::function::{serve, FunctionId, Handler, Invocation};
use eks_remedy_pipeline::handlers::analyzer::BundleAnalyzer;
use eks_remedy_pipeline::handlers::collector::{CollectOutcome, Collector};
use eks_remedy_pipeline::handlers::ebs::{AlarmOutcome, EbsAlarmWatcher};
use eks_remedy_pipeline::handlers::scaleup::{LaunchOutcome, ScaleUpWatcher};
use eks_remedy_pipeline::handlers::throttle::{ThrottleSummary, ThrottleWatcher};
use eks_remedy_pipeline::model::{BundleKey, ClusterContext, Instance, Volume};
use eks_remedy_pipeline::{Config, HandlerError, Outcome, PortError};

const OIDC: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C9A2B7E1F4D3A6B8C0E2F4A6B8D0C1E";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn event(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("events").join(name)).expect("fixture")
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&event(name)).expect("fixture JSON")
}

fn node(id: &str, ip: &str, cluster: Option<&str>) -> Instance {
    Instance {
        instance_id: id.into(),
        instance_type: Some("m5.large".into()),
        private_ip: Some(ip.into()),
        cluster: cluster.map(str::to_string),
        asg: Some("eks-payments-4ec9a1b2-7f3d-6e5c-9a8b-0c1d2e3f4a5b".into()),
        state: Some("running".into()),
    }
}

fn ec2() -> FakeEc2 {
    let mut instances: Vec<Instance> = (0..50)
        .map(|i| {
            node(
                &format!("i-0{i:016x}"),
                &format!("10.0.2.{i}"),
                Some("prod-cluster"),
            )
        })
        .collect();
    instances.push(node(
        "i-0abc12345def67890",
        "10.0.1.23",
        Some("prod-cluster"),
    ));
    instances.push(node(
        "i-0abc12345def67891",
        "10.0.1.24",
        Some("prod-cluster"),
    ));
    instances.push(node("i-0ffff000000000001", "10.9.9.9", None));
    let volumes = vec![Volume {
        volume_id: "vol-0123456789abcdef0".into(),
        volume_type: Some("gp3".into()),
        size_gib: Some(20),
        iops: Some(3000),
        throughput: Some(125),
        instance_id: Some("i-0abc12345def67890".into()),
    }];
    FakeEc2 {
        instances,
        volumes,
        ..FakeEc2::default()
    }
}

fn eks() -> FakeEks {
    let mut e = FakeEks::default();
    e.oidc.insert(OIDC.into(), "prod-cluster".into());
    e.clusters.insert(
        "prod-cluster".into(),
        ClusterContext {
            version: Some("1.30".into()),
            endpoint: Some("https://5C9A2B7E.gr7.us-east-1.eks.amazonaws.com".into()),
            private_access: Some(true),
            vpc_cni_addon_version: Some("v1.18.3-eksbuild.1".into()),
            vpc_cni_default_version: Some("v1.19.0-eksbuild.1".into()),
            vpc_cni_configuration: None,
            self_managed_cni: false,
        },
    );
    e
}

fn cfg() -> Config {
    Config {
        bucket: "eks-remedy-bundles-111122223333".into(),
        ..Config::default()
    }
}

/// A collector on in-memory ports.
fn collector() -> Collector<FakeRunner, FakeStore, FakeObjects> {
    collector_with(FakeRunner::default(), FakeObjects::default())
}

fn collector_with(
    runner: FakeRunner,
    objects: FakeObjects,
) -> Collector<FakeRunner, FakeStore, FakeObjects> {
    Collector::new(runner, FakeStore::default(), objects, cfg()).unwrap()
}

/// A command runner whose every start fails with `e`.
/// The folder of the first key the collector sent a node to upload to (`bundles/<cluster>/<instance>/<incident>/`).
fn sent_prefix(c: &Collector<FakeRunner, FakeStore, FakeObjects>) -> String {
    let key = c.runner().commands.lock().unwrap()[0].2.clone();
    key[..=key.rfind('/').unwrap()].to_string()
}

fn failing_runner(e: PortError) -> FakeRunner {
    FakeRunner {
        fail_with: Some(e),
        ..FakeRunner::default()
    }
}

/// An SQS batch whose bodies are the given strings.
fn sqs(bodies: &[String]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| serde_json::json!({"messageId": format!("m-{i}"), "receiptHandle": "r", "body": b, "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"}))
        .collect();
    serde_json::json!({ "Records": records })
}

/// The invocation the tests' functions run under.
fn inv() -> Invocation {
    Invocation::from_arn(
        "test",
        "arn:aws:lambda:us-east-1:111122223333:function:eks-remedy-test",
    )
}

/// One event through a handler, parsed as the entry point parses it.
async fn one<H: Handler>(h: &H, payload: serde_json::Value) -> Result<H::Answer, HandlerError> {
    h.handle(parse_value(payload)?, &inv()).await
}

/// An SQS batch through the function's entry point: the ids of the messages it failed.
async fn batch<H: Handler>(id: FunctionId, h: &H, bodies: &[String]) -> Vec<String> {
    let answer = serve(id.spec(), h, sqs(bodies), &inv())
        .await
        .expect("a batch answer");
    answer["batchItemFailures"]
        .as_array()
        .expect("batchItemFailures")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().expect("an id").to_string())
        .collect()
}

/// A batch of throttle events folded, with the watcher's summary: every message that parses goes
/// to the fold (which counts what is not a throttled call); the ids of messages to fail.
async fn fold<E, C, S, Q>(
    w: &ThrottleWatcher<E, C, S, Q>,
    bodies: &[String],
) -> (Vec<String>, ThrottleSummary)
where
    E: eks_remedy_pipeline::ports::Ec2Directory,
    C: eks_remedy_pipeline::ports::ClusterDirectory,
    S: eks_remedy_pipeline::ports::IncidentStore,
    Q: eks_remedy_pipeline::ports::CollectionQueue,
{
    let Ok(Input::Batch(messages)) = Input::parse(sqs(bodies)) else {
        panic!("not a batch")
    };
    let mut failed = Vec::new();
    let mut parsed = Vec::new();
    for m in messages {
        match m.event {
            Ok(e) => parsed.push((m.id, e)),
            Err(_) => failed.push(m.id),
        }
    }
    let (errors, summary) = w.fold_batch(parsed).await;
    failed.extend(
        errors
            .into_iter()
            .filter(|(_, e)| Outcome::of(&HandlerError::Port(e.clone())).fails())
            .map(|(id, _)| id),
    );
    (failed, summary)
}

/// The VPC CNI throttle fixture, as event `n` from node `ip`.
fn throttle(n: usize, ip: &str) -> String {
    let mut v = json("cloudtrail-throttle-vpc-cni.json");
    v["detail"]["eventID"] = serde_json::json!(format!("evt-{n:08}"));
    v["detail"]["sourceIPAddress"] = serde_json::json!(ip);
    v["detail"]["eventName"] = serde_json::json!(if n % 3 == 0 {
        "CreateNetworkInterface"
    } else {
        "AssignPrivateIpAddresses"
    });
    v.to_string()
}

#[test]
fn every_event_fixture_parses_to_its_kind() {
    let kinds = [
        ("cloudtrail-throttle-vpc-cni.json", "Throttled"),
        ("cloudtrail-throttle-karpenter.json", "Throttled"),
        ("asg-launch-successful.json", "Launch"),
        ("asg-lifecycle-launch.json", "Launch"),
        ("cloudwatch-alarm-ebs.json", "EbsAlarm"),
        ("ssm-command-status.json", "Command"),
        ("s3-object-created.json", "Object"),
        ("manual-collect.json", "Manual"),
        ("manual-analyze.json", "Manual"),
    ];
    for (file, kind) in kinds {
        let parsed = parse(&event(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            format!("{parsed:?}").starts_with(kind),
            "{file} parsed as {parsed:?}"
        );
    }
    let Inbound::Throttled(t) = parse(&event("cloudtrail-throttle-vpc-cni.json")).unwrap() else {
        unreachable!()
    };
    assert_eq!(t.oidc_provider.as_deref(), Some(OIDC));
    assert_eq!(t.api, "AssignPrivateIpAddresses");
}

#[tokio::test]
async fn storm_of_throttles_is_one_incident_with_bounded_collections() {
    let w = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    let ips: Vec<String> = (0..50).map(|i| format!("10.0.2.{i}")).collect();
    let mut n = 0;
    let mut writes_per_batch = Vec::new();
    let mut ec2_calls = 0;
    for _batch in 0..100 {
        let bodies: Vec<String> = (0..10)
            .map(|_| {
                n += 1;
                throttle(n, &ips[n % ips.len()])
            })
            .collect();
        let before = w.store().writes.load(Ordering::Relaxed);
        let (resp, s) = fold(&w, &bodies).await;
        assert!(resp.is_empty());
        ec2_calls += s.ec2_calls;
        writes_per_batch.push(w.store().writes.load(Ordering::Relaxed) - before);
    }
    let ids = w.store().incident_ids();
    assert_eq!(
        ids,
        ["prod-cluster.us-east-1.111122223333:throttling:20261019T0500"]
    );
    let (events, apis, claimed, _) = w.store().summary(&ids[0]).unwrap();
    assert_eq!(events, 1000);
    assert_eq!(apis.values().sum::<u64>(), 1000);
    assert_eq!(claimed.len(), 3, "max_collections = 3");
    assert!(
        writes_per_batch[0] == 2 && writes_per_batch[1..].iter().all(|&x| x == 1),
        "one store write per batch, and one marker when the incident opens: {writes_per_batch:?}"
    );
    assert_eq!(ec2_calls, 50, "one lookup per distinct node, then cached");
}

#[tokio::test]
async fn replayed_batch_changes_nothing() {
    let queue = FakeQueue::default();
    let w = ThrottleWatcher::new(ec2(), eks(), FakeStore::default(), queue, cfg());
    let bodies: Vec<String> = (0..10).map(|n| throttle(n, "10.0.1.23")).collect();
    let (_, first) = fold(&w, &bodies).await;
    assert_eq!(first.folded, 10);
    let before = w
        .store()
        .summary("prod-cluster.us-east-1.111122223333:throttling:20261019T0500")
        .unwrap();
    let (resp, again) = fold(&w, &bodies).await;
    assert!(resp.is_empty());
    assert_eq!((again.folded, again.replayed), (0, 10));
    assert_eq!(
        w.store()
            .summary("prod-cluster.us-east-1.111122223333:throttling:20261019T0500")
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn bad_and_foreign_messages_get_the_right_outcome() {
    let w = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    let mut foreign_ct = json("cloudtrail-throttle-vpc-cni.json");
    foreign_ct["detail"]["errorCode"] = serde_json::json!("Client.UnauthorizedOperation");
    let mut missing = json("cloudtrail-throttle-vpc-cni.json");
    missing["detail"]
        .as_object_mut()
        .unwrap()
        .remove("eventName");
    let mut outsider = json("cloudtrail-throttle-vpc-cni.json");
    outsider["detail"]["sourceIPAddress"] = serde_json::json!("10.9.9.9");
    outsider["detail"]["userIdentity"]["sessionContext"]["webIdFederationData"] =
        serde_json::Value::Null;
    let bodies = vec![
        "this is not json".to_string(),                 // m-0: dead-letter
        missing.to_string(),                            // m-1: malformed, dead-letter
        foreign_ct.to_string(),                         // m-2: not a throttle: acknowledged
        json("asg-launch-successful.json").to_string(), // m-3: foreign: acknowledged
        outsider.to_string(),                           // m-4: not an EKS caller: acknowledged
        throttle(1, "10.0.1.23"),                       // m-5: folded
    ];
    let (resp, summary) = fold(&w, &bodies).await;
    assert_eq!(resp, ["m-0", "m-1"]);
    // Through the entry point: the same two fail, the rest are acknowledged.
    let fresh = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    assert_eq!(
        batch(FunctionId::ThrottleWatcher, &fresh, &bodies).await,
        ["m-0", "m-1"]
    );
    // The outsider is folded too, into its account's record, not the cluster's incident.
    assert_eq!(
        (summary.folded, summary.foreign, summary.unknown_callers),
        (2, 2, 1)
    );
    for id in [
        "-.us-east-1.111122223333:throttling-other:20261019T0500",
        "prod-cluster.us-east-1.111122223333:throttling:20261019T0500",
    ] {
        assert_eq!(w.store().summary(id).map(|s| s.0), Some(1), "{id}");
    }
}

#[tokio::test]
async fn outside_callers_are_recorded_per_account_once_and_never_collected() {
    let w = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    let outsider = |n: u32| {
        let mut e = json("cloudtrail-throttle-vpc-cni.json");
        e["detail"]["eventID"] = serde_json::json!(format!("other-{n}"));
        e["detail"]["sourceIPAddress"] = serde_json::json!("10.9.9.9");
        e["detail"]["userAgent"] = serde_json::json!("aws-cli/2.17.0 ci-runner");
        e["detail"]["userIdentity"]["sessionContext"]["webIdFederationData"] =
            serde_json::Value::Null;
        e.to_string()
    };
    let bodies: Vec<String> = (0..5).map(outsider).collect();
    let (_, first) = fold(&w, &bodies).await;
    let (_, replay) = fold(&w, &bodies).await;
    assert_eq!((first.folded, first.collections, first.writes), (5, 0, 1));
    assert_eq!((replay.folded, replay.replayed), (0, 5));
    let (events, apis, claimed, _) = w
        .store()
        .summary("-.us-east-1.111122223333:throttling-other:20261019T0500")
        .expect("account record");
    assert_eq!(events, 5);
    assert_eq!(apis.get("AssignPrivateIpAddresses"), Some(&5), "{apis:?}");
    assert!(claimed.is_empty(), "{claimed:?}");
    assert!(w
        .store()
        .incident_ids()
        .iter()
        .all(|i| i.contains("throttling-other")));
}

#[tokio::test]
async fn karpenter_throttles_count_but_collect_no_node() {
    let w = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    let (_, s) = fold(&w, &[event("cloudtrail-throttle-karpenter.json")]).await;
    assert_eq!((s.folded, s.collections), (1, 0));
    let item = w
        .store()
        .summary("prod-cluster.us-east-1.111122223333:throttling:20261019T0500")
        .unwrap();
    assert_eq!(item.1.get("DescribeInstanceTypes"), Some(&1));
}

#[tokio::test]
async fn scale_up_samples_nodes_and_completes_lifecycle_actions() {
    let lifecycle = FakeLifecycle::default();
    let w = ScaleUpWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        lifecycle,
        FakePublisher::default(),
        cfg(),
    );
    let mut scheduled = 0;
    for i in 0..50 {
        let mut e = json("asg-launch-successful.json");
        e["id"] = serde_json::json!(format!("launch-{i}"));
        e["detail"]["EC2InstanceId"] = serde_json::json!(format!("i-0{i:016x}"));
        if let LaunchOutcome::Scheduled { .. } = one(&w, e).await.unwrap() {
            scheduled += 1;
        }
    }
    assert_eq!(
        scheduled, 2,
        "a 50-node scale-up is sampled, not collected 50 times"
    );
    let out = one(&w, json("asg-lifecycle-launch.json")).await.unwrap();
    assert_eq!(out, LaunchOutcome::NotSampled, "the group's sample is full");
}

/// Regression: a launch into a warm pool was sampled, spending the group's sample on a stopped
/// instance whose collection could not run. Its lifecycle action is still completed; the instance
/// is sampled when a scale-out moves it into the group.
#[tokio::test]
async fn regression_a_launch_into_the_warm_pool_is_not_sampled() {
    let w = ScaleUpWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        FakeLifecycle::default(),
        FakePublisher::default(),
        cfg(),
    );
    let mut into = json("docs/asg-lifecycle-launch-into-warm-pool.json");
    into["detail"]["EC2InstanceId"] = serde_json::json!("i-0abc12345def67890");
    assert_eq!(one(&w, into).await.unwrap(), LaunchOutcome::WarmPool);
    assert_eq!(
        w.lifecycle().completed.lock().unwrap().len(),
        1,
        "CONTINUE, first"
    );
    assert!(w.queue().sent.lock().unwrap().is_empty());
    let mut out = json("docs/asg-launch-successful-from-warm-pool.json");
    out["detail"]["EC2InstanceId"] = serde_json::json!("i-0abc12345def67890");
    let joined = one(&w, out).await.unwrap();
    assert!(
        matches!(joined, LaunchOutcome::Scheduled { .. }),
        "{joined:?}"
    );
    assert_eq!(w.queue().sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn lifecycle_action_is_completed_even_for_non_eks_instances() {
    let lifecycle = FakeLifecycle::default();
    let w = ScaleUpWatcher::new(
        FakeEc2::default(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        lifecycle,
        FakePublisher::default(),
        cfg(),
    );
    let out = one(&w, json("asg-lifecycle-launch.json")).await.unwrap();
    assert_eq!(out, LaunchOutcome::NotEks);
}

#[tokio::test]
async fn ebs_alarm_reaches_the_node_and_notes_the_volume() {
    let w = EbsAlarmWatcher::new(ec2(), FakeStore::default(), FakeQueue::default(), cfg());
    let out = one(&w, json("cloudwatch-alarm-ebs.json")).await.unwrap();
    assert_eq!(
        out,
        AlarmOutcome::Collecting {
            incident_id: "prod-cluster.us-east-1.111122223333:ebs-alarm:20261019T0500".into(),
            instance_id: "i-0abc12345def67890".into()
        }
    );
    let mut ok = json("cloudwatch-alarm-ebs.json");
    ok["detail"]["state"]["value"] = serde_json::json!("OK");
    let answer = serve(FunctionId::EbsAlarmWatcher.spec(), &w, ok, &inv())
        .await
        .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"ok": true, "result": "ignored"}),
        "back to OK: acknowledged"
    );
}

#[tokio::test]
async fn collector_collects_once_per_node_and_window_and_records_failures() {
    let c = collector();
    let w = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    let (_, _) = fold(&w, &[throttle(1, "10.0.1.23")]).await;
    let req = eks_remedy_pipeline::model::CollectionRequest {
        incident_id: "prod-cluster.us-east-1.111122223333:throttling:20261019T0500".into(),
        cluster: eks_remedy_pipeline::model::ClusterKey {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            cluster: "prod-cluster".into(),
        },
        instance_id: "i-0abc12345def67890".into(),
        reason: "test".into(),
        window: chrono::DateTime::parse_from_rfc3339("2026-10-19T05:00:00Z")
            .unwrap()
            .into(),
    };
    let body = serde_json::to_string(&req).unwrap();
    let resp = batch(
        FunctionId::Collector,
        &c,
        &[body.clone(), body, "{broken".into()],
    )
    .await;
    assert_eq!(
        resp.len(),
        1,
        "the broken request goes to the dead-letter queue"
    );
    assert_eq!(
        c.collect(&req).await.unwrap(),
        CollectOutcome::AlreadyCollected
    );
    // The node is sent exactly one key to upload to, one the analyzer takes as this node's bundle
    // of this incident.
    let (instance, bucket, key) = c.runner().commands.lock().unwrap()[0].clone();
    assert_eq!(
        (instance.as_str(), bucket),
        (req.instance_id.as_str(), cfg().bucket)
    );
    let dir = "bundles/prod-cluster/i-0abc12345def67890/prod-cluster.us-east-1.111122223333:throttling:20261019T0500/";
    let name = key.strip_prefix(dir).unwrap_or_else(|| panic!("{key}"));
    assert!(
        name.starts_with("eks_i-0abc12345def67890_") && name.ends_with("-UTC.tar.gz"),
        "{name}"
    );
    let parsed = BundleKey::parse(&key).unwrap_or_else(|| panic!("{key} is not a bundle key"));
    assert_eq!(parsed.incident_id, req.incident_id);
    let status = json("ssm-command-status.json");
    let mut ours = status.clone();
    ours["detail"]["command-id"] = serde_json::json!("cmd-1");
    assert_eq!(
        one(&c, ours).await.unwrap(),
        [CollectOutcome::StatusRecorded]
    );
    let (_, _, _, notes) = c
        .store()
        .summary("prod-cluster.us-east-1.111122223333:throttling:20261019T0500")
        .unwrap();
    assert!(notes[0].starts_with("collection-failed:"), "{notes:?}");
    assert_eq!(
        one(&c, status).await.unwrap(),
        [CollectOutcome::Ignored],
        "not our command"
    );
}

#[tokio::test]
async fn collector_adopts_the_automation_bundle_and_reports_automation_failures() {
    let c = collector();
    let bucket = cfg().bucket;
    let node = "i-0abc12345def67890";
    let manual = serde_json::json!({"action": "collect", "cluster": "prod-cluster", "instance_ids": [node, "i-0def0000000000001"]});
    let started = one(&c, manual).await.unwrap();
    assert_eq!(
        started,
        [
            CollectOutcome::Started {
                command_id: "cmd-1".into()
            },
            CollectOutcome::Started {
                command_id: "cmd-2".into()
            }
        ]
    );
    // The incident (the current window's manual one) as the collector named it in the prefix.
    let prefix = sent_prefix(&c);
    let incident = prefix.split('/').nth(3).unwrap().to_string();
    // Bundle names carry the collector's clock; the manual request's window is the current one.
    let now = chrono::Utc::now();
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d_%H%M-UTC").to_string();
    let fresh = format!("eks_{node}_{}_0.7.9.tar.gz", stamp(now));
    {
        // What the runbook leaves at the bucket root: a leftover of an earlier collection of this
        // node (sorts last, but is older than the window), this bundle, another node's, not a bundle.
        let mut objects = c.objects().objects.lock().unwrap();
        for key in [
            format!(
                "eks_{node}_{}_9.9.9.tar.gz",
                stamp(now - chrono::Duration::days(2))
            ),
            fresh.clone(),
            format!("eks_i-0ffff_{}_0.7.9.tar.gz", stamp(now)),
            format!("eks_{node}_{}_0.7.9.txt", stamp(now)),
        ] {
            objects.insert((bucket.clone(), key), b"bundle".to_vec());
        }
    }
    let status = |id: &str, st: &str| {
        let mut e = json("ssm-automation-status.json");
        e["detail"]["ExecutionId"] = serde_json::json!(id);
        e["detail"]["Status"] = serde_json::json!(st);
        e
    };
    assert_eq!(
        one(&c, status("cmd-1", "InProgress")).await.unwrap(),
        [CollectOutcome::Ignored]
    );
    let expected = format!("bundles/prod-cluster/{node}/{incident}/{fresh}");
    let adopted = [CollectOutcome::BundleAdopted {
        key: expected.clone(),
    }];
    assert_eq!(one(&c, status("cmd-1", "Success")).await.unwrap(), adopted);
    let keys: Vec<String> = c
        .objects()
        .objects
        .lock()
        .unwrap()
        .keys()
        .map(|(_, k)| k.clone())
        .collect();
    assert!(keys.contains(&expected), "{keys:?}");
    assert!(!keys.contains(&fresh), "moved, not copied: {keys:?}");
    assert_eq!(keys.len(), 4, "others untouched: {keys:?}");
    let notes =
        |c: &Collector<FakeRunner, FakeStore, FakeObjects>| c.store().summary(&incident).unwrap().3;
    assert_eq!(notes(&c).len(), 1);
    assert!(notes(&c)[0].contains(&expected), "{:?}", notes(&c));

    // Replays change nothing.
    assert_eq!(one(&c, status("cmd-1", "Success")).await.unwrap(), adopted);
    assert_eq!(notes(&c).len(), 1);

    // The second node's runbook "succeeded" without a bundle, then a third execution is unknown.
    assert_eq!(
        one(&c, status("cmd-2", "Success")).await.unwrap(),
        [CollectOutcome::StatusRecorded]
    );
    assert!(
        notes(&c)[1].starts_with("collection-failed: automation cmd-2 on i-0def0000000000001 succeeded but left no eks_i-0def0000000000001_*.tar.gz"),
        "{:?}",
        notes(&c)
    );
    assert_eq!(
        one(&c, status("not-ours", "Failed")).await.unwrap(),
        [CollectOutcome::Ignored]
    );
}

/// The move succeeded but the invocation failed before its note (say, the delete of the original
/// timed out): the retry finds the bundle in place and still records it.
#[tokio::test]
async fn regression_automation_retry_after_a_partial_move_still_notes_the_bundle() {
    let c = collector();
    let manual = serde_json::json!({"action": "collect", "cluster": "prod-cluster", "instance_ids": ["i-0abc12345def67890"]});
    one(&c, manual).await.unwrap();
    let prefix = sent_prefix(&c);
    let key = format!("{prefix}eks_i-0abc12345def67890_2026-10-19_0525-UTC_0.7.9.tar.gz");
    c.objects()
        .objects
        .lock()
        .unwrap()
        .insert((cfg().bucket, key.clone()), b"bundle".to_vec());
    let mut e = json("ssm-automation-status.json");
    e["detail"]["ExecutionId"] = serde_json::json!("cmd-1");
    assert_eq!(
        one(&c, e).await.unwrap(),
        [CollectOutcome::BundleAdopted { key: key.clone() }]
    );
    let incident = prefix.split('/').nth(3).unwrap();
    let notes = c.store().summary(incident).unwrap().3;
    assert_eq!(notes.len(), 1);
    assert!(notes[0].ends_with(&format!("bundle at {key}")), "{notes:?}");
}

/// S3 refuses the move (a single CopyObject stops at 5 GB): the incident says so.
#[tokio::test]
async fn collector_notes_a_bundle_it_could_not_move() {
    let c = collector_with(
        FakeRunner::default(),
        FakeObjects {
            relocate_fails_with: Some(PortError::Refused {
                service: "s3",
                message: "InvalidRequest: The specified copy source is larger than the maximum allowable size for a copy source: 5368709120".into(),
            }),
            ..FakeObjects::default()
        },
    );
    let node = "i-0abc12345def67890";
    let manual =
        serde_json::json!({"action": "collect", "cluster": "prod-cluster", "instance_ids": [node]});
    one(&c, manual).await.unwrap();
    let name = format!(
        "eks_{node}_{}_0.7.9.tar.gz",
        chrono::Utc::now().format("%Y-%m-%d_%H%M-UTC")
    );
    c.objects()
        .objects
        .lock()
        .unwrap()
        .insert((cfg().bucket, name.clone()), b"huge".to_vec());
    let mut e = json("ssm-automation-status.json");
    e["detail"]["ExecutionId"] = serde_json::json!("cmd-1");
    let err = one(&c, e).await.expect_err("refused");
    // A refusal goes to the dead-letter queue with its reason (the error taxonomy): once the
    // bundle is moved by hand, redriving the event finishes the job.
    assert_eq!(Outcome::of(&err), Outcome::DeadLetter);
    let prefix = sent_prefix(&c);
    let notes = c
        .store()
        .summary(prefix.split('/').nth(3).unwrap())
        .unwrap()
        .3;
    assert!(
        notes[0].starts_with(&format!(
            "collection-failed: could not move s3://eks-remedy-bundles-111122223333/{name}"
        )),
        "{notes:?}"
    );
}

#[tokio::test]
async fn collector_notes_a_failed_automation() {
    let c = collector();
    let manual = serde_json::json!({"action": "collect", "cluster": "prod-cluster", "instance_ids": ["i-0abc12345def67890"]});
    one(&c, manual).await.unwrap();
    let mut e = json("ssm-automation-status.json");
    e["detail"]["ExecutionId"] = serde_json::json!("cmd-1");
    e["detail"]["Status"] = serde_json::json!("TimedOut");
    assert_eq!(
        one(&c, e.clone()).await.unwrap(),
        [CollectOutcome::StatusRecorded]
    );
    one(&c, e).await.unwrap();
    let incident = c.store().incident_ids()[0].clone();
    let notes = c.store().summary(&incident).unwrap().3;
    assert_eq!(notes, ["collection-failed: log collection on i-0abc12345def67890 ended TimedOut (automation cmd-1); no bundle will arrive from it"]);
}

#[test]
fn collector_refuses_to_start_without_a_bucket() {
    let e = Collector::new(
        FakeRunner::default(),
        FakeStore::default(),
        FakeObjects::default(),
        Config::default(),
    )
    .err()
    .expect("no bucket");
    assert!(e.to_string().contains("BUCKET"));
}

#[tokio::test]
async fn collector_notes_a_refused_start_and_retries_throttling() {
    let refused = collector_with(
        failing_runner(PortError::Refused {
            service: "ssm",
            message: "InvalidInstanceId".into(),
        }),
        FakeObjects::default(),
    );
    let out = one(&refused, json("manual-collect.json")).await;
    assert!(out.is_err());
    let ids = refused.store().incident_ids();
    let (_, _, _, notes) = refused.store().summary(&ids[0]).unwrap();
    assert!(notes[0].contains("InvalidInstanceId"));
    let throttled = collector_with(
        failing_runner(PortError::Throttled {
            service: "ssm",
            message: "ThrottlingException".into(),
        }),
        FakeObjects::default(),
    );
    let req = serde_json::json!({"incident_id": "c:manual:20261019T0500", "cluster": {"account": "1", "region": "us-east-1", "cluster": "c"}, "instance_id": "i-1", "reason": "r", "window": "2026-10-19T05:00:00Z"});
    let resp = batch(FunctionId::Collector, &throttled, &[req.to_string()]).await;
    assert_eq!(resp.len(), 1, "throttled: retried with SQS back-off");
}

#[tokio::test]
async fn analyzer_streams_the_bundle_and_writes_reports() {
    let (objects, bucket, _) = sample_upload();
    let a = analyzer_on(objects);
    let created = json("s3-object-created.json");
    let out = analyze(&a, created).await.unwrap().expect("a bundle");
    let rules: Vec<&str> = out
        .report
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert!(
        rules.contains(&"vpc-cni-addon-outdated"),
        "cluster context from EKS: {rules:?}"
    );
    assert!(rules.contains(&"ebs-io-throttling"));
    assert!(out.report_key.ends_with("/report.json"));
    let apiserver = out.report.finding("ipamd-apiserver-unreachable").unwrap();
    assert!(
        serde_json::to_string(&apiserver.actions)
            .unwrap()
            .contains("https://5C9A2B7E.gr7.us-east-1.eks.amazonaws.com"),
        "real endpoint in the action"
    );
    let report_html = format!(
        "{}report.html",
        out.report_key.trim_end_matches("report.json")
    );
    let reports = analyze(&a, serde_json::json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": bucket}, "object": {"key": report_html}}})).await.unwrap();
    assert!(reports.is_none(), "our own report uploads are not analysed");
}

#[tokio::test]
async fn analyzer_rejects_a_non_bundle_object() {
    let objects = FakeObjects::default();
    let key = "bundles/prod-cluster/i-0abc12345def67890/inc/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz";
    objects.objects.lock().unwrap().insert(
        ("b".into(), key.into()),
        b"<html>an error page, not a bundle</html>".to_vec(),
    );
    let a = analyzer_on(objects);
    let err = analyze(
        &a,
        serde_json::json!({"action": "analyze", "bucket": "b", "key": key}),
    )
    .await
    .expect_err("not a bundle");
    assert!(err.to_string().contains("not a log bundle"), "{err}");
    assert_eq!(
        eks_remedy_pipeline::Outcome::of(&err),
        eks_remedy_pipeline::Outcome::Acknowledge
    );
    let notes = a.store().summary("inc").map(|s| s.3).unwrap_or_default();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("analysis-skipped:") && n.contains("not a log bundle")),
        "the incident says why no report came: {notes:?}"
    );
}

/// The sample bundle under the key of the S3 `Object Created` fixture, in fake S3: (objects, bucket, key).
fn sample_upload() -> (FakeObjects, String, String) {
    let objects = FakeObjects::default();
    let bundle = std::fs::read(
        fixtures().join("../../samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz"),
    )
    .unwrap();
    let created = json("s3-object-created.json");
    let bucket = created["detail"]["bucket"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let key = created["detail"]["object"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    objects
        .objects
        .lock()
        .unwrap()
        .insert((bucket.clone(), key.clone()), bundle);
    (objects, bucket, key)
}

/// The analyzer on one `Object Created` or manual `analyze` payload.
async fn analyze(
    a: &BundleAnalyzer<FakeObjects, FakeEc2, FakeEks, FakeStore, FakePublisher>,
    payload: serde_json::Value,
) -> Result<Option<eks_remedy_pipeline::handlers::analyzer::Analyzed>, HandlerError> {
    let (bucket, key) = match parse_value(payload)? {
        Inbound::Object(o) => (o.bucket, o.key),
        Inbound::Manual(eks_remedy_pipeline::events::Manual::Analyze { bucket, key }) => {
            (bucket, key)
        }
        other => panic!("not an analyzer event: {other:?}"),
    };
    a.analyze_key(&bucket, &key).await
}

fn analyzer_on(
    objects: FakeObjects,
) -> BundleAnalyzer<FakeObjects, FakeEc2, FakeEks, FakeStore, FakePublisher> {
    BundleAnalyzer::new(
        objects,
        ec2(),
        eks(),
        FakeStore::default(),
        FakePublisher::default(),
        Default::default(),
    )
    .unwrap()
}

/// A bundle over MaxBundleBytes is not read (it would run into the function's timeout): the
/// incident says why no report will come, and the event is acknowledged, not retried.
#[tokio::test]
async fn oversized_bundle_is_a_note_on_the_incident_not_a_timeout() {
    let (objects, bucket, key) = sample_upload();
    let size = objects.objects.lock().unwrap()[&(bucket.clone(), key.clone())].len() as u64;
    let a = analyzer_on(objects).with_size_limits(size - 1, 100);
    let err = analyze(
        &a,
        serde_json::json!({"action": "analyze", "bucket": bucket, "key": key}),
    )
    .await
    .expect_err("over the limit");
    assert!(
        matches!(err, eks_remedy_pipeline::HandlerError::TooLarge { bytes, limit, .. } if bytes == size && limit == size - 1),
        "{err}"
    );
    assert_eq!(Outcome::of(&err), Outcome::Acknowledge);
    let incident = BundleKey::parse(&key).unwrap().incident_id;
    let notes = a.store().summary(&incident).unwrap().3;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("analysis-skipped: ") && notes[0].contains(&key),
        "{notes:?}"
    );
    // At the limit exactly it is read.
    let (objects, bucket, key) = sample_upload();
    let a = analyzer_on(objects).with_size_limits(size, 100);
    let out = analyze(
        &a,
        serde_json::json!({"action": "analyze", "bucket": bucket, "key": key}),
    )
    .await
    .unwrap();
    assert!(out.is_some());
}

/// The reader stops at MaxInflationRatio times the compressed size (a gzip bomb cannot keep the
/// function inflating), and says so in the report.
#[tokio::test]
async fn inflation_past_the_ratio_stops_the_reading_and_is_reported() {
    let (objects, bucket, key) = sample_upload();
    let a = analyzer_on(objects).with_size_limits(1 << 30, 2);
    let out = analyze(
        &a,
        serde_json::json!({"action": "analyze", "bucket": bucket, "key": key}),
    )
    .await
    .unwrap()
    .expect("analysed up to the bound");
    assert!(
        out.report.finding("bundle-incomplete").is_some(),
        "{:?}",
        out.report
            .findings
            .iter()
            .map(|f| &f.rule)
            .collect::<Vec<_>>()
    );
}

/// However large the report (hostile bundles made 541,200 evidence entries), the findings event
/// stays under EventBridge's 256 KB: text is cut, oversized actions left to the report, findings
/// that do not fit counted, and the report's keys always given.
#[tokio::test]
async fn findings_event_stays_under_the_eventbridge_limit() {
    use eks_remedy_pipeline::handlers::analyzer::{findings_event, MAX_EVENT_DETAIL_BYTES};
    let (objects, bucket, key) = sample_upload();
    let out = analyze(
        &analyzer_on(objects),
        serde_json::json!({"action": "analyze", "bucket": bucket, "key": key}),
    )
    .await
    .unwrap()
    .unwrap();
    let bk = BundleKey::parse(&key).unwrap();
    let small = findings_event(&bk, &bucket, &out.report_key, &out.report);
    assert_eq!(small["findings_omitted"], 0);
    assert_eq!(
        small["findings"].as_array().unwrap().len(),
        out.report.findings.len()
    );

    let mut big = out.report.clone();
    let model = big.findings[0].clone();
    let huge_actions: Vec<eks_remedy_core::report::Action> = serde_json::from_value(
        serde_json::json!([{"kind": "user-data-review", "remove": vec!["iptables -F"; 5_000]}]),
    )
    .unwrap();
    big.findings = (0..5_000)
        .map(|i| {
            let mut f = model.clone();
            f.rule = format!("rule-{i}");
            f.summary = "ş".repeat(20_000);
            f.evidence = vec![f.evidence[0].clone(); 1_000];
            if i == 0 {
                f.actions = huge_actions.clone();
            }
            f
        })
        .collect();
    let detail = findings_event(&bk, &bucket, &out.report_key, &big);
    let bytes = detail.to_string().len();
    assert!(
        bytes <= MAX_EVENT_DETAIL_BYTES && MAX_EVENT_DETAIL_BYTES < 256 * 1024,
        "{bytes} bytes"
    );
    let kept = detail["findings"].as_array().unwrap();
    assert!(!kept.is_empty());
    assert_eq!(detail["findings_total"], 5_000);
    assert_eq!(detail["findings_omitted"], 5_000 - kept.len());
    assert_eq!(detail["report_json"], out.report_key.as_str());
    assert_eq!(
        kept[0]["rule"], "rule-0",
        "root causes first, in report order"
    );
    assert_eq!(kept[0]["actions_omitted"], true, "{}", kept[0]);
    assert!(kept[1]["summary"].as_str().unwrap().chars().count() <= 1_001);
    assert!(kept[1]["actions"]
        .as_array()
        .is_some_and(|a| a.len() == model.actions.len()));
}

/// What a handled event printed is CloudWatch Embedded Metric Format: every line passes the
/// specification's checks, and the analysis's metrics are there with their dimensions.
#[tokio::test]
async fn a_handled_event_prints_valid_emf_metrics() {
    use eks_remedy_pipeline::metrics::{validate, Captured};
    let (objects, _, _) = sample_upload();
    let a = analyzer_on(objects);
    let spec = FunctionId::BundleAnalyzer.spec();
    let inv = inv().of(spec, "EksRemedy");
    let answer = serve(spec, &a, json("s3-object-created.json"), &inv)
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    let out = Captured::default();
    assert!(inv.flush(&out) >= 2, "the event's line and one per rule");
    let mut names = Vec::new();
    for line in out.lines() {
        let published = validate(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["function"], "bundle-analyzer", "{line}");
        for p in published {
            names.push(p.name.clone());
        }
    }
    for want in [
        "EventsReceived",
        "BundlesAnalyzed",
        "AnalysisSeconds",
        "AnalysisBytes",
        "Findings",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}

/// An incident is counted opened once, whatever the batches and replays that fold into it.
#[tokio::test]
async fn incidents_opened_is_counted_once_per_incident() {
    use eks_remedy_pipeline::metrics::{validate, Captured};
    let w = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    let spec = FunctionId::ThrottleWatcher.spec();
    let mut opened = 0.0;
    for round in 0..3 {
        // Rounds 0 and 1 are new events of one incident; round 2 replays round 1.
        let bodies: Vec<String> = (0..5)
            .map(|i| throttle(i + 5 * round.min(1), "10.0.1.23"))
            .collect();
        let inv = inv().of(spec, "EksRemedy");
        serve(spec, &w, sqs(&bodies), &inv).await.unwrap();
        let out = Captured::default();
        inv.flush(&out);
        for line in out.lines() {
            validate(&line).unwrap();
            let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
            opened += doc["IncidentsOpened"].as_f64().unwrap_or(0.0);
        }
    }
    assert_eq!(opened, 1.0);
}

fn scale_up_watcher_with_groups(
) -> ScaleUpWatcher<FakeEc2, FakeEks, FakeStore, FakeQueue, FakeLifecycle, FakePublisher> {
    let mut lifecycle = FakeLifecycle::default();
    lifecycle.groups.insert(
        "eks-payments-4ec9a1b2-7f3d-6e5c-9a8b-0c1d2e3f4a5b".into(),
        eks_remedy_pipeline::ports::GroupInfo {
            cluster: Some("prod-cluster".into()),
            nodegroup: Some("payments".into()),
        },
    );
    let mut e = eks();
    e.nodegroups.insert(
        ("prod-cluster".into(), "payments".into()),
        eks_remedy_pipeline::ports::NodegroupFacts {
            health: vec!["AsgInstanceLaunchFailures: You've reached your quota for maximum Fleet Requests for this account.".into()],
            instance_types: vec!["m5.xlarge".into(), "m5a.xlarge".into()],
            spot: false,
            min_size: Some(3),
            desired_size: Some(50),
            max_size: Some(60),
        },
    );
    ScaleUpWatcher::new(
        ec2(),
        e,
        FakeStore::default(),
        FakeQueue::default(),
        lifecycle,
        FakePublisher::default(),
        cfg(),
    )
}

/// A managed node group at its maxSize fails no launch, so nothing else would say the scale-up was
/// cut short: sampled launches look, and every look publishes the same notice (one id per
/// incident). Below the maximum, or when DescribeNodegroup fails, nothing is published and the
/// collection goes ahead.
#[tokio::test]
async fn a_scale_up_that_reaches_max_size_publishes_one_notice_for_remediation() {
    let launches = |w| async move {
        let w: &ScaleUpWatcher<_, _, _, _, _, _> = w;
        let mut scheduled = 0;
        for i in 0..5 {
            let mut e = json("asg-launch-successful.json");
            e["id"] = serde_json::json!(format!("launch-{i}"));
            e["detail"]["EC2InstanceId"] = serde_json::json!(format!("i-0{i:016x}"));
            if let LaunchOutcome::Scheduled { .. } = one(w, e).await.unwrap() {
                scheduled += 1;
            }
        }
        scheduled
    };
    // Below the maximum: nothing to say.
    let w = scale_up_watcher_with_groups();
    assert_eq!(launches(&w).await, 2);
    assert!(w.publisher().events.lock().unwrap().is_empty());

    let mut w = scale_up_watcher_with_groups();
    for facts in w.eks_mut().nodegroups.values_mut() {
        facts.desired_size = Some(60);
    }
    assert_eq!(launches(&w).await, 2, "the check never costs a collection");
    let published = w.publisher().events.lock().unwrap().clone();
    assert_eq!(published.len(), 2, "one per sampled launch");
    assert_eq!(
        published[0], published[1],
        "the same event, for consumers to drop"
    );
    let (kind, detail) = &published[0];
    assert_eq!(kind, "eks-remedy launch failure");
    let notice: eks_remedy_pipeline::events::LaunchFailureNotice =
        serde_json::from_value(detail.clone()).unwrap();
    assert_eq!(notice.error, "NodegroupAtMaxSize");
    assert_eq!(
        notice.event_id,
        format!("{}/NodegroupAtMaxSize", notice.incident_id)
    );
    assert_eq!(
        (notice.nodegroup.as_deref(), notice.max_size, notice.vcpus),
        (Some("payments"), Some(60), Some(4))
    );
    let (_, _, _, notes) = w.store().summary(&notice.incident_id).unwrap();
    assert_eq!(
        notes,
        ["at-max-size: node group payments is at its maxSize: desiredSize 60 of maxSize 60"]
    );

    // A fixed-size group (minSize = maxSize) is always at its maximum: replacing a node is no
    // scale-up cut short.
    let mut w = scale_up_watcher_with_groups();
    for facts in w.eks_mut().nodegroups.values_mut() {
        (facts.min_size, facts.desired_size) = (Some(60), Some(60));
    }
    assert_eq!(launches(&w).await, 2);
    assert!(w.publisher().events.lock().unwrap().is_empty());

    // DescribeNodegroup failing (here: the group is gone) skips the check, not the collection.
    let mut w = scale_up_watcher_with_groups();
    w.eks_mut().nodegroups.clear();
    assert_eq!(launches(&w).await, 2);
    assert!(w.publisher().events.lock().unwrap().is_empty());
}

/// A launch refused for a vCPU quota folds into the group's scale-up incident (noted with the node
/// group's health issues), is published once for remediation, and a replay changes nothing.
#[tokio::test]
async fn launch_failure_on_a_quota_folds_into_the_scale_up_incident_and_is_published_once() {
    use eks_remedy_pipeline::events::LaunchError;
    let w = scale_up_watcher_with_groups();
    let e = json("asg-launch-unsuccessful-vcpu.json");
    let out = one(&w, e.clone()).await.unwrap();
    let LaunchOutcome::LaunchFailed {
        incident_id,
        error,
        quota,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!((error, quota), (LaunchError::VcpuLimitExceeded, true));
    assert!(
        incident_id
            .ends_with(":scale-up:20261019T0500:eks-payments-4ec9a1b2-7f3d-6e5c-9a8b-0c1d2e3f4a5b"),
        "{incident_id}"
    );
    let (_, counters, claimed, notes) = w.store().summary(&incident_id).unwrap();
    assert_eq!(counters.get("launch-failed:VcpuLimitExceeded"), Some(&1));
    assert!(claimed.is_empty(), "no node to collect");
    assert!(
        notes[0].starts_with("launch-failed: VcpuLimitExceeded in eks-payments"),
        "{notes:?}"
    );
    assert!(notes[0].contains("AsgInstanceLaunchFailures"), "{notes:?}");
    // A replay (or a retry after a failed publish) publishes again under the same event id and
    // changes nothing on the incident.
    one(&w, e).await.unwrap();
    let published = w.publisher().events.lock().unwrap().clone();
    assert_eq!(published.len(), 2);
    assert_eq!(
        published[0].1, published[1].1,
        "the same event, for consumers to drop"
    );
    assert_eq!(published[0].0, "eks-remedy launch failure");
    assert_eq!(published[0].1["error"], "VcpuLimitExceeded");
    assert_eq!(published[0].1["quota"], true);
    // What sizes the quota request: the group's first instance type and its vCPUs.
    assert_eq!(published[0].1["instance_type"], "m5.xlarge");
    assert_eq!(published[0].1["vcpus"], 4);
    assert_eq!(published[0].1["spot"], false);
    // The published detail is exactly what the remediation function reads.
    let notice: eks_remedy_pipeline::events::LaunchFailureNotice =
        serde_json::from_value(published[0].1.clone()).unwrap();
    assert_eq!(notice.vcpus, Some(4));
    assert_eq!(
        published[0].1["event_id"],
        "7d4f1b2a-9c3e-4e1f-8a6b-2c5d7e9f0a1b"
    );
    let (events, _, _, notes) = w.store().summary(&incident_id).unwrap();
    assert_eq!((events, notes.len()), (1, 1), "counted and noted once");
}

/// Every quota code, in the forms EC2 and Auto Scaling write it, and the look-alikes that are not
/// quotas: missing capacity is never a quota request.
#[tokio::test]
async fn launch_failure_codes_and_capacity_is_not_a_quota() {
    use eks_remedy_pipeline::events::LaunchError;
    let w = scale_up_watcher_with_groups();
    for (i, (message, want, quota)) in [
        ("Client.VcpuLimitExceeded: You have requested more vCPU capacity", LaunchError::VcpuLimitExceeded, true),
        ("InstanceLimitExceeded: Your quota allows for 0 more running instance(s).", LaunchError::InstanceLimitExceeded, true),
        ("MaxSpotInstanceCountExceeded - Max spot instance count exceeded", LaunchError::MaxSpotInstanceCountExceeded, true),
        ("NetworkInterfaceLimitExceeded: The maximum number of network interfaces has been reached.", LaunchError::NetworkInterfaceLimitExceeded, true),
        ("VolumeLimitExceeded: You have exceeded your maximum gp3 storage limit", LaunchError::VolumeLimitExceeded, true),
        ("We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1a). InsufficientInstanceCapacity", LaunchError::InsufficientInstanceCapacity, false),
        ("The requested configuration is currently not supported.", LaunchError::Other, false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = json("asg-launch-unsuccessful-vcpu.json");
        e["id"] = serde_json::json!(format!("failure-{i}"));
        e["detail"]["StatusMessage"] = serde_json::json!(message);
        e["detail"]["Cause"] = serde_json::json!("At 2026-10-19T05:06:39Z an instance was started in response to a difference between desired and actual capacity");
        let LaunchOutcome::LaunchFailed { error, quota: q, .. } = one(&w, e).await.unwrap() else {
            panic!("{message}")
        };
        assert_eq!((error, q), (want, quota), "{message}");
    }
    let mut foreign = json("asg-launch-unsuccessful-vcpu.json");
    foreign["detail"]["AutoScalingGroupName"] = serde_json::json!("web-tier");
    assert_eq!(
        one(&w, foreign).await.unwrap(),
        LaunchOutcome::NotEks,
        "a group that is not a node group"
    );
}

/// A watcher once folded an event, then failed to enqueue its collection; the retry saw a replay
/// and stopped, so the granted node was never collected. Now a retry completes the first delivery.
#[tokio::test]
async fn regression_a_retry_after_a_failed_enqueue_still_collects_the_node() {
    let queue = FakeQueue::default();
    queue.failures.store(1, Ordering::Relaxed);
    let w = ScaleUpWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        queue,
        FakeLifecycle::default(),
        FakePublisher::default(),
        cfg(),
    );
    let mut e = json("asg-launch-successful.json");
    e["detail"]["EC2InstanceId"] = serde_json::json!("i-0abc12345def67890");
    let err = one(&w, e.clone()).await.expect_err("SQS unavailable");
    assert_eq!(Outcome::of(&err), Outcome::Retry);
    assert!(matches!(
        one(&w, e.clone()).await.unwrap(),
        LaunchOutcome::Scheduled { .. }
    ));
    assert_eq!(
        w.queue().requests().len(),
        1,
        "the node is collected once the retry gets through"
    );
    // The throttle watcher: a batch mixing a replayed event (whose enqueue failed) and a new one.
    let t = ThrottleWatcher::new(
        ec2(),
        eks(),
        FakeStore::default(),
        FakeQueue::default(),
        cfg(),
    );
    t.queue().failures.store(1, Ordering::Relaxed);
    let first = vec![throttle(1, "10.0.1.23")];
    let (failed, _) = fold(&t, &first).await;
    assert_eq!(failed.len(), 1, "the failed enqueue fails the message");
    let (failed, _) = fold(&t, &[throttle(1, "10.0.1.23"), throttle(2, "10.0.1.23")]).await;
    assert!(failed.is_empty());
    assert!(
        t.queue()
            .requests()
            .iter()
            .any(|(r, _)| r.instance_id == "i-0abc12345def67890"),
        "the claimed node is requested after all"
    );
}
