//! The remediation function against in-memory ports, fed the events it gets in production: the
//! analyzer's findings and the scale-up watcher's launch failures as its queue delivers them (SQS
//! records whose bodies are EventBridge events), the function URL's approval requests, the
//! Slack interactivity function's queued clicks and the follow-up schedule.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eks_remedy_core::facts::ClusterContext;
use eks_remedy_pipeline::fakes::{FakeEc2, FakeEks, FakeObjects, FakePublisher, FakeStore};
use eks_remedy_pipeline::function::{serve, FunctionId, Invocation};
use eks_remedy_pipeline::handlers::remediator::{Remediator, RemedyApis};
use eks_remedy_pipeline::model::Instance;
use eks_remedy_pipeline::remedy::fakes::{
    fixtures, FakeAddons, FakeQuotas, FakeSupport, FakeVolumes, MemoryLedger,
};
use eks_remedy_pipeline::remedy::ports::{AddonState, QuotaInfo, VolumeState};
use eks_remedy_pipeline::remedy::RemedySettings;
use serde_json::{json, Value};

const INCIDENT: &str = "prod-cluster.us-east-1.111122223333:throttling:20261019T0500";
const APPROVER_ROLE: &str = "arn:aws:iam::111122223333:role/PlatformOnCall";
const ALICE: &str = "arn:aws:sts::111122223333:assumed-role/PlatformOnCall/alice";

type Fn = Remediator<
    FakeQuotas,
    FakeAddons,
    FakeVolumes,
    FakeSupport,
    FakeEc2,
    MemoryLedger,
    FakeObjects,
    SharedBus,
    FakeStore,
    FakeEks,
>;

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-19T08:20:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn remediator(mode: &str) -> (Fn, Arc<FakePublisher>) {
    let mut settings: RemedySettings =
        fixtures::settings(mode, "eks-remedy (test)", APPROVER_ROLE).unwrap();
    settings.approvers.push("slack:U0APPROVER".into());
    let addons = FakeAddons {
        schemas: [(
            "v1.18.3-eksbuild.1".to_string(),
            fixtures::vpc_cni_schema(true),
        )]
        .into(),
        ..FakeAddons::default()
    };
    let config = r#"{"env":{"WARM_IP_TARGET":"2","AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG"}}"#;
    addons.addons.lock().unwrap().insert(
        ("prod-cluster".into(), "vpc-cni".into()),
        AddonState {
            version: "v1.18.3-eksbuild.1".into(),
            configuration_values: Some(config.into()),
            status: "ACTIVE".into(),
        },
    );
    let eks = FakeEks {
        clusters: [(
            "prod-cluster".to_string(),
            ClusterContext {
                version: Some("1.30".into()),
                endpoint: Some("https://ABC.gr7.us-east-1.eks.amazonaws.com".into()),
                private_access: Some(true),
                vpc_cni_addon_version: Some("v1.18.3-eksbuild.1".into()),
                vpc_cni_configuration: Some(config.into()),
                ..ClusterContext::default()
            },
        )]
        .into(),
        ..FakeEks::default()
    };
    let objects = FakeObjects::default();
    let findings = fixture("events/eks-remedy-findings.json");
    let report = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/notify/sample-report.json"),
    )
    .unwrap();
    objects.objects.lock().unwrap().insert(
        (
            findings["detail"]["bucket"].as_str().unwrap().into(),
            findings["detail"]["report_json"].as_str().unwrap().into(),
        ),
        report,
    );
    let bus = Arc::new(FakePublisher::default());
    let quotas = FakeQuotas::default();
    quotas.applied.lock().unwrap().push(QuotaInfo {
        service_code: "ec2".into(),
        quota_code: "L-1216C47A".into(),
        name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances".into(),
        value: 32.0,
        adjustable: true,
    });
    let volumes = FakeVolumes::default();
    volumes.volumes.lock().unwrap().insert(
        "vol-0root".into(),
        VolumeState {
            volume_id: "vol-0root".into(),
            volume_type: "gp2".into(),
            size_gib: 20,
            iops: Some(100),
            throughput: None,
        },
    );
    volumes
        .attachments
        .lock()
        .unwrap()
        .push(("vol-0root".into(), "i-0abc12345def67890".into()));
    *volumes.now.lock().unwrap() = Some(now());
    let ec2 = FakeEc2 {
        instances: vec![Instance {
            instance_id: "i-0abc12345def67890".into(),
            instance_type: Some("m5.large".into()),
            private_ip: Some("10.0.1.23".into()),
            cluster: Some("prod-cluster".into()),
            asg: Some("eks-ng-workers-2024a1b2".into()),
            state: Some("running".into()),
        }],
        ..FakeEc2::default()
    };
    let f = Remediator::new(
        RemedyApis {
            quotas,
            addons,
            volumes,
            support: FakeSupport::default(),
            instances: ec2,
        },
        MemoryLedger::default(),
        objects,
        SharedBus(bus.clone()),
        FakeStore::default(),
        eks,
        settings,
    )
    .with_clock(Arc::new(now));
    (f, bus)
}

/// Lets the test read what was published after handing the publisher to the function, and fail
/// the next audit event once.
struct SharedBus(Arc<FakePublisher>);

thread_local! {
    // Per test: each `#[tokio::test]` runs its function on its own thread.
    static FAIL_NEXT_AUDIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl eks_remedy_pipeline::ports::FindingsPublisher for SharedBus {
    async fn publish(&self, t: &str, d: &Value) -> Result<(), eks_remedy_pipeline::PortError> {
        if t == "eks-remedy audit" && FAIL_NEXT_AUDIT.with(|f| f.replace(false)) {
            return Err(eks_remedy_pipeline::PortError::Transient {
                service: "events",
                message: "503".into(),
            });
        }
        self.0.publish(t, d).await
    }
}

fn sqs(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": b.to_string()}))
        .collect();
    json!({ "Records": records })
}

async fn call(f: &Fn, payload: Value) -> Result<Value, String> {
    let inv = Invocation::from_arn(
        "req",
        "arn:aws:lambda:us-east-1:111122223333:function:eks-remedy-Remediator",
    );
    serve(FunctionId::Remediator.spec(), f, payload, &inv)
        .await
        .map_err(|e| e.to_string())
}

fn detail_types(bus: &FakePublisher) -> Vec<String> {
    bus.events
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| t.clone())
        .collect()
}

fn approval_url(
    plan_id: &str,
    action: Option<usize>,
    verdict: &str,
    caller: Option<&str>,
) -> Value {
    let mut req = fixture("events/function-url-approve.json");
    let mut approve = json!({"plan_id": plan_id, "verdict": verdict});
    if let Some(a) = action {
        approve["action"] = json!(a);
    }
    req["body"] = json!(json!({ "approve": approve }).to_string());
    req["isBase64Encoded"] = json!(false);
    match caller {
        Some(c) => req["requestContext"]["authorizer"]["iam"]["userArn"] = json!(c),
        None => req["requestContext"]["authorizer"] = Value::Null,
    }
    req
}

/// The plan the last `eks-remedy plan` event carried.
fn last_plan(bus: &FakePublisher) -> Value {
    bus.events
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(t, _)| t == "eks-remedy plan")
        .map(|(_, d)| d["plan"].clone())
        .expect("a plan event")
}

/// The plan's first action whose `field` is `value`.
fn action<'a>(plan: &'a Value, field: &str, value: &str) -> &'a Value {
    plan["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a[field] == value))
        .unwrap_or_else(|| panic!("no action with {field} = {value}: {plan}"))
}

#[tokio::test]
async fn findings_from_the_queue_make_one_plan_and_a_replay_changes_nothing() {
    let (f, bus) = remediator("dry-run");
    let event = fixture("events/eks-remedy-findings.json");
    let answer = call(&f, sqs(std::slice::from_ref(&event))).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let plan = last_plan(&bus);
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"vpc-cni-addon"), "{kinds:?}");
    assert!(kinds.contains(&"recommendation"), "{kinds:?}");
    // Dry-run reads and records; it writes nothing on AWS.
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 0);
    assert!(!f.ledger().records.lock().unwrap().is_empty());
    let published = bus.events.lock().unwrap().len();

    // The same event again (SQS delivers at least once): nothing new is planned or published.
    assert_eq!(
        call(&f, sqs(&[event])).await.unwrap(),
        json!({"batchItemFailures": []})
    );
    assert_eq!(
        bus.events.lock().unwrap().len(),
        published,
        "{:?}",
        detail_types(&bus)
    );
}

#[tokio::test]
async fn an_approval_through_the_url_executes_once_for_an_approver_only() {
    let (f, bus) = remediator("approve");
    call(&f, fixture("events/eks-remedy-findings.json"))
        .await
        .unwrap();
    let plan = last_plan(&bus);
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let cni = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["kind"] == "vpc-cni-addon")
        .unwrap();
    let status = |v: &Value| v["statusCode"].as_u64().unwrap();
    let body = |v: &Value| -> Value { serde_json::from_str(v["body"].as_str().unwrap()).unwrap() };

    // Not IAM-signed, or signed by someone else: refused, nothing written.
    let r = call(&f, approval_url(&plan_id, Some(cni), "approve", None))
        .await
        .unwrap();
    assert_eq!(status(&r), 403, "{r}");
    let mallory = "arn:aws:sts::111122223333:assumed-role/Developer/mallory";
    let r = call(
        &f,
        approval_url(&plan_id, Some(cni), "approve", Some(mallory)),
    )
    .await
    .unwrap();
    assert_eq!(status(&r), 403, "{r}");
    assert!(
        body(&r)["error"]
            .as_str()
            .unwrap()
            .contains("approver list"),
        "{r}"
    );
    let r = call(
        &f,
        approval_url("plan-unknown", Some(0), "approve", Some(ALICE)),
    )
    .await
    .unwrap();
    assert_eq!(status(&r), 404, "{r}");
    let r = call(
        &f,
        approval_url(&plan_id, Some(999), "approve", Some(ALICE)),
    )
    .await
    .unwrap();
    assert_eq!(status(&r), 404, "{r}");
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 0);

    // Alice, through her role on the list: executed once, announced, followed.
    let r = call(
        &f,
        approval_url(&plan_id, Some(cni), "approve", Some(ALICE)),
    )
    .await
    .unwrap();
    assert_eq!(status(&r), 200, "{r}");
    let notes = f
        .incidents()
        .summary(INCIDENT)
        .map(|s| s.3)
        .unwrap_or_default();
    assert!(
        notes.iter().any(|n| n
            .contains("executed by arn:aws:sts::111122223333:assumed-role/PlatformOnCall/alice")),
        "{notes:?}"
    );
    let decisions = &body(&r)["decisions"];
    assert_eq!(decisions[0]["action"], json!(cni));
    assert_eq!(decisions[0]["outcome"], "executed", "{r}");
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 1);
    let types = detail_types(&bus);
    assert!(
        types.contains(&"eks-remedy approval".to_string()),
        "{types:?}"
    );
    assert!(types.contains(&"eks-remedy audit".to_string()), "{types:?}");

    // A second approval is refused: approvals execute once.
    let r = call(
        &f,
        approval_url(&plan_id, Some(cni), "approve", Some(ALICE)),
    )
    .await
    .unwrap();
    assert_eq!(status(&r), 409, "{r}");
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 1);

    // The schedule follows the update to its end.
    let followed = call(&f, fixture("events/schedule-follow.json"))
        .await
        .unwrap();
    assert_eq!(followed["result"]["checked"], json!(1), "{followed}");
}

#[tokio::test]
async fn approvals_need_a_verified_approver_on_every_path() {
    let (f, bus) = remediator("approve");
    call(&f, fixture("events/eks-remedy-findings.json"))
        .await
        .unwrap();
    let plan_id = last_plan(&bus)["plan_id"].as_str().unwrap().to_string();
    // A direct invocation names nobody verified.
    let direct = json!({"approve": {"plan_id": plan_id, "verdict": "approve"}});
    let e = call(&f, direct.clone())
        .await
        .expect_err("direct approvals are refused");
    assert!(e.contains("verified approver"), "{e}");
    // On the queue only a Slack approver (verified by the interactivity function) counts, and
    // only one on the list.
    let stranger =
        json!({"approve": {"plan_id": plan_id, "verdict": "approve", "by": "slack:U0STRANGER"}});
    let forged = json!({"approve": {"plan_id": plan_id, "verdict": "approve", "by": ALICE}});
    let r = call(&f, sqs(&[direct, stranger, forged])).await.unwrap();
    assert_eq!(r["batchItemFailures"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 0);
    // The listed Slack approver rejects the whole plan: every waiting action is rejected.
    let reject =
        json!({"approve": {"plan_id": plan_id, "verdict": "reject", "by": "slack:U0APPROVER"}});
    assert_eq!(
        call(&f, sqs(&[reject])).await.unwrap(),
        json!({"batchItemFailures": []})
    );
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 0);
    let rejected = f
        .ledger()
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.outcome.as_str() == "rejected")
        .count();
    assert!(rejected >= 1);
}

#[tokio::test]
async fn a_launch_failure_on_a_quota_plans_a_quota_request_never_for_capacity() {
    let (f, bus) = remediator("dry-run");
    let notice = fixture("events/eks-remedy-launch-failure.json");
    call(&f, sqs(std::slice::from_ref(&notice))).await.unwrap();
    let plan = last_plan(&bus);
    assert!(
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "service-quota" || a["finding"] == "launch-failure"),
        "{plan}"
    );
    // Insufficient capacity is not a quota.
    let (f, bus) = remediator("auto");
    let mut capacity = notice;
    capacity["detail"]["error"] = json!("InsufficientInstanceCapacity");
    capacity["detail"]["quota"] = json!(false);
    call(&f, sqs(&[capacity])).await.unwrap();
    let plan = last_plan(&bus);
    assert!(
        !plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "service-quota"),
        "{plan}"
    );
    assert!(f.apis().quotas.requests.lock().unwrap().is_empty());
}

/// A node group at its maxSize fails no launch; the watcher's notice makes the plan: a request for
/// `Nodes per managed node group` when maxSize is already at the quota, otherwise (maxSize below
/// it) a recommendation to raise maxSize and no request.
#[tokio::test]
async fn a_node_group_at_its_max_size_raises_the_quota_only_when_max_size_is_at_it() {
    let nodes_quota = QuotaInfo {
        service_code: "eks".into(),
        quota_code: "L-BD136A63".into(),
        name: "Nodes per managed node group".into(),
        value: 450.0,
        adjustable: true,
    };
    let at_max = fixture("events/eks-remedy-nodegroup-at-max-size.json");

    let (f, bus) = remediator("auto");
    f.apis()
        .quotas
        .defaults
        .lock()
        .unwrap()
        .push(nodes_quota.clone());
    // Every sampled launch of the window sends the same notice: one instance short, once.
    for _ in 0..3 {
        call(&f, sqs(std::slice::from_ref(&at_max))).await.unwrap();
    }
    let requests = f.apis().quotas.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        (requests[0].quota_code.as_str(), requests[0].desired_value),
        ("L-BD136A63", 700.0),
        "450 × 1.5 = 675, rounded to 700"
    );
    let plan = last_plan(&bus);
    let quota = action(&plan, "kind", "service-quota");
    assert_eq!(quota["target"]["service_code"], "eks");

    let (f, bus) = remediator("auto");
    f.apis().quotas.defaults.lock().unwrap().push(nodes_quota);
    let mut below = at_max;
    below["detail"]["max_size"] = json!(60);
    call(&f, sqs(&[below])).await.unwrap();
    assert!(f.apis().quotas.requests.lock().unwrap().is_empty());
    let plan = last_plan(&bus);
    let rec = action(&plan, "id", "recommendation:nodegroup-at-max-size");
    assert_eq!(rec["target"]["groups"][0]["nodegroup"], "ng-workers");
    assert_eq!(rec["target"]["groups"][0]["suggested_max_size"], 90.0);
    assert!(
        rec["change"]["after"][0]
            .as_str()
            .unwrap()
            .contains("--nodegroup-name ng-workers --scaling-config maxSize=90"),
        "{rec}"
    );
}

#[tokio::test]
async fn the_url_answers_http_even_for_bad_requests() {
    let (f, _) = remediator("approve");
    let mut req = approval_url("plan-x", None, "approve", Some(ALICE));
    req["body"] = json!("{not json");
    let r = call(&f, req).await.unwrap();
    assert_eq!(r["statusCode"], 400, "{r}");
    let mut get = approval_url("plan-x", None, "approve", Some(ALICE));
    get["requestContext"]["http"]["method"] = json!("GET");
    assert_eq!(call(&f, get).await.unwrap()["statusCode"], 405);
    let forged = approval_url("plan-x", None, "approve", Some(ALICE));
    let mut forged_body: Value = serde_json::from_str(forged["body"].as_str().unwrap()).unwrap();
    forged_body["approve"]["by"] = json!("slack:U0APPROVER");
    let mut req = forged;
    req["body"] = json!(forged_body.to_string());
    assert_eq!(call(&f, req).await.unwrap()["statusCode"], 400);
}

#[tokio::test]
async fn auto_changes_the_nodes_volume_once_and_a_replay_is_a_no_op() {
    let (f, bus) = remediator("auto");
    let event = fixture("events/eks-remedy-findings.json");
    call(&f, sqs(std::slice::from_ref(&event))).await.unwrap();
    let plan = last_plan(&bus);
    let ebs = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "ebs-volume");
    let ebs = ebs.unwrap_or_else(|| panic!("no EBS action: {plan}"));
    assert_eq!(ebs["target"]["volume_id"], "vol-0root", "{ebs}");
    let writes = || {
        f.apis()
            .volumes
            .writes
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let records: Vec<String> = f
        .ledger()
        .records
        .lock()
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r.action_id, r.outcome.as_str(), r.detail))
        .collect();
    assert_eq!(writes(), 1, "{records:#?}");
    let vol = f.apis().volumes.volumes.lock().unwrap()["vol-0root"].clone();
    assert_eq!(vol.volume_type, "gp3");
    // Another node's findings for the same incident plan again; the volume is not changed twice.
    let mut other = event;
    other["detail"]["instance_id"] = json!("i-0def");
    call(&f, sqs(&[other])).await.unwrap();
    assert_eq!(writes(), 1);
    assert_eq!(
        f.apis().addons.updates.lock().unwrap().len(),
        1,
        "one add-on update"
    );
}

#[tokio::test]
async fn a_quota_request_is_followed_until_it_ends_and_each_status_is_announced() {
    use eks_remedy_pipeline::remedy::ports::RequestStatus;

    let (f, bus) = remediator("auto");
    call(&f, sqs(&[fixture("events/eks-remedy-launch-failure.json")]))
        .await
        .unwrap();
    let requests = f.apis().quotas.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "one request for the vCPU quota");
    let statuses = |bus: &FakePublisher| -> Vec<Value> {
        bus.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == "eks-remedy quota status")
            .map(|(_, d)| d.clone())
            .collect()
    };
    let follow = fixture("events/schedule-follow.json");
    let set = |s: RequestStatus| f.apis().quotas.requests.lock().unwrap()[0].status = s;

    set(RequestStatus::CaseOpened);
    assert_eq!(
        call(&f, follow.clone()).await.unwrap()["result"]["changed"],
        1
    );
    // Nothing new: nothing announced.
    assert_eq!(
        call(&f, follow.clone()).await.unwrap()["result"]["changed"],
        0
    );
    set(RequestStatus::Approved);
    call(&f, follow.clone()).await.unwrap();
    let seen = statuses(&bus);
    let names: Vec<&str> = seen.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(names, ["CASE_OPENED", "APPROVED"], "{seen:?}");
    assert_eq!(seen[1]["quota_code"], "L-1216C47A");
    assert_eq!(seen[1]["desired"], requests[0].desired_value);
    // Ended: no longer read.
    assert_eq!(call(&f, follow).await.unwrap()["result"]["checked"], 0);
}

#[tokio::test]
async fn regression_a_failure_after_acting_is_retried_and_acts_once() {
    let (f, bus) = remediator("auto");
    let event = fixture("events/eks-remedy-findings.json");
    FAIL_NEXT_AUDIT.with(|f| f.set(true));
    let first = call(&f, sqs(std::slice::from_ref(&event))).await.unwrap();
    assert_eq!(
        first["batchItemFailures"].as_array().unwrap().len(),
        1,
        "{first}"
    );
    assert_eq!(
        f.apis().addons.updates.lock().unwrap().len(),
        1,
        "acted before the failure"
    );
    // SQS delivers it again: the plan completes, nothing is done twice.
    let again = call(&f, sqs(&[event])).await.unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert_eq!(f.apis().addons.updates.lock().unwrap().len(), 1);
    let writes = f
        .apis()
        .volumes
        .writes
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(writes, 1);
    // The retry reports the executions as they were, not "held" on their own claims: the trail
    // says what was done, and the add-on update and volume change are followed.
    let audits: Vec<Value> = bus
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == "eks-remedy audit")
        .map(|(_, d)| d.clone())
        .collect();
    assert!(audits.iter().all(|a| a["outcome"] != "held"), "{audits:#?}");
    assert!(
        audits.iter().any(|a| a["outcome"] == "started"),
        "{audits:#?}"
    );
    let states = f.ledger().states.lock().unwrap();
    let (_, state) = states.values().next().expect("the incident's state");
    assert_eq!(state.tracked.len(), 2, "{:#?}", state.tracked);
}

#[tokio::test]
async fn a_quota_request_is_sized_by_what_the_scale_up_lacked() {
    let (f, bus) = remediator("dry-run");
    // Twenty m5.xlarge the group could not launch: 80 vCPUs short of a limit of 32.
    let notices: Vec<Value> = (0..20)
        .map(|i| {
            let mut n = fixture("events/eks-remedy-launch-failure.json");
            n["detail"]["event_id"] = json!(format!("launch-{i}"));
            n
        })
        .collect();
    assert_eq!(
        call(&f, sqs(&notices)).await.unwrap(),
        json!({"batchItemFailures": []})
    );
    let plan = last_plan(&bus);
    let quota = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "service-quota")
        .unwrap_or_else(|| panic!("{plan}"));
    let desired = quota["change"]["after"]["DesiredValue"].as_f64().unwrap();
    // max(32 + 4 × 20, 32 × 1.5) = 112, within 4 × 32.
    assert!((112.0..=128.0).contains(&desired), "{quota}");
    // The same notices again add nothing.
    call(&f, sqs(&notices)).await.unwrap();
    let again = last_plan(&bus);
    assert_eq!(again["plan_id"], plan["plan_id"]);
}

#[tokio::test]
async fn regression_a_storm_of_failed_launches_keeps_the_state_bounded() {
    let (f, _) = remediator("dry-run");
    let notices: Vec<Value> = (0..3_000)
        .map(|i| {
            let mut n = fixture("events/eks-remedy-launch-failure.json");
            n["detail"]["event_id"] = json!(format!("storm-{i}"));
            n
        })
        .collect();
    for chunk in notices.chunks(10) {
        assert_eq!(
            call(&f, sqs(chunk)).await.unwrap(),
            json!({"batchItemFailures": []})
        );
    }
    let states = f.ledger().states.lock().unwrap();
    let (_, state) = states.values().next().unwrap();
    let size = serde_json::to_vec(state).unwrap().len();
    assert!(size < 200 * 1024, "{size} bytes");
    assert_eq!(
        state.incident.context.launch_failures.len(),
        1,
        "one per group and code"
    );
    assert_eq!(
        state.incident.context.launch_failures[0].instances_short,
        3_000
    );
}
