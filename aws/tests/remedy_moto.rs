//! Remediation end to end against moto (with tests/moto_remedy.py): the planner, the executor and
//! the SDK adapters, with every write counted by the server. Each test runs in its own Region, so
//! request counts and the server's clock are the test's own while tests run at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use chrono::{DateTime, Utc};
use eks_remedy_aws::remedy::addons::Addons;
use eks_remedy_aws::remedy::ledger::Ledger;
use eks_remedy_aws::remedy::quotas::Quotas;
use eks_remedy_aws::remedy::volumes::Volumes;
use eks_remedy_core::facts::ClusterContext;
use eks_remedy_core::plan::ebs::VolumeFacts;
use eks_remedy_core::plan::{self, ActionKind, Context, GuardState, LaunchFailure, Plan};
use eks_remedy_core::report::Finding;
use eks_remedy_pipeline::remedy::fakes::{fixtures, FakeSupport, MemoryLedger};
use eks_remedy_pipeline::remedy::follow::{follow, Tracked};
use eks_remedy_pipeline::remedy::ports::{
    ActionLedger, AddonApi, AuditLog, Decided, QuotaApi, RequestStatus, VolumeApi,
};
use eks_remedy_pipeline::remedy::{
    quota, ApproveError, AuditRecord, Executor, Outcome, Ports, RemedySettings, RunReport,
};
use serde_json::{json, Value};

/// The calls that change something.
const WRITES: [&str; 4] = [
    "service-quotas:RequestServiceQuotaIncrease",
    "eks:UpdateAddon",
    "ec2:ModifyVolume",
    "support:CreateCase",
];
const USER_CONFIG: &str = r#"{"env":{"WARM_IP_TARGET":"2","AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG"},"nodeAgent":{"enablePolicyEventLogs":"true"}}"#;
const APPROVER: &str = "arn:aws:iam::123456789012:role/platform-oncall";
const STANDARD: &str = "L-1216C47A";

struct Env {
    region: String,
    sdk: SdkConfig,
    volume_id: String,
    quotas: Quotas,
    addons: Addons,
    volumes: Volumes,
    support: FakeSupport,
    ledger: MemoryLedger,
}

/// A cluster `prod` with the vpc-cni add-on (user keys in its configuration), one gp2 volume and
/// the Standard On-Demand vCPU quota applied at 32, in `region`; the request count starts at 0.
async fn env(region: &str) -> Env {
    let sdk = common::sdk()
        .await
        .to_builder()
        .region(Region::new(region.to_string()))
        .build();
    common::eks_cluster(&sdk, "prod", true).await;
    common::vpc_cni_addon(&sdk, "prod", Some(USER_CONFIG)).await;
    let eks = aws_sdk_eks::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let volume_id = ec2
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(20)
        .volume_type(aws_sdk_ec2::types::VolumeType::Gp2)
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();
    common::set_quota(region, STANDARD, json!({"Value": 32}));
    common::moto_api(
        "POST",
        &format!("requests/reset?region={region}"),
        &json!({}),
    );
    Env {
        region: region.into(),
        quotas: Quotas::new(aws_sdk_servicequotas::Client::new(&sdk)),
        addons: Addons::new(eks),
        volumes: Volumes::new(ec2),
        sdk,
        volume_id,
        support: FakeSupport::default(),
        ledger: MemoryLedger::default(),
    }
}

impl Env {
    fn executor<'a>(
        &'a self,
        s: &'a RemedySettings,
    ) -> Executor<'a, Quotas, Addons, Volumes, FakeSupport, MemoryLedger, MemoryLedger> {
        self.executor_with(s, &self.ledger)
    }

    /// The executor over another ledger (and audit log).
    fn executor_with<'a, L: ActionLedger + AuditLog>(
        &'a self,
        s: &'a RemedySettings,
        ledger: &'a L,
    ) -> Executor<'a, Quotas, Addons, Volumes, FakeSupport, L, L> {
        Executor::new(
            Ports {
                quotas: &self.quotas,
                addons: &self.addons,
                volumes: &self.volumes,
                support: &self.support,
                ledger,
                audit: ledger,
            },
            s,
        )
    }

    /// Every request moto answered in this Region, by operation.
    fn requests(&self) -> BTreeMap<String, u64> {
        serde_json::from_value(common::moto_api(
            "GET",
            &format!("requests?region={}", self.region),
            &json!({}),
        ))
        .unwrap()
    }

    /// Write calls per operation (only those made).
    fn writes(&self) -> BTreeMap<String, u64> {
        self.requests()
            .into_iter()
            .filter(|(k, _)| WRITES.contains(&k.as_str()))
            .collect()
    }

    fn write_count(&self, op: &str) -> u64 {
        self.requests().get(op).copied().unwrap_or(0)
    }

    /// The server's clock for this Region (tests move it).
    fn now(&self) -> DateTime<Utc> {
        let v = common::moto_api("GET", &format!("clock?region={}", self.region), &json!({}));
        let secs = v["now"].as_f64().unwrap();
        DateTime::from_timestamp(secs as i64, 0).unwrap()
    }

    fn advance(&self, seconds: i64) {
        common::moto_api(
            "POST",
            &format!("clock?region={}", self.region),
            &json!({"advance": seconds}),
        );
    }

    /// What the pipeline knows of the incident, with the quotas read live.
    async fn context(&self, incident: &str, failures: Vec<LaunchFailure>) -> Context {
        let mut ctx = Context {
            incident_id: Some(incident.into()),
            account: Some("123456789012".into()),
            region: Some(self.region.clone()),
            cluster: Some("prod".into()),
            node_groups: vec!["eks-ng-a".into()],
            cluster_info: ClusterContext {
                version: Some("1.30".into()),
                private_access: Some(true),
                vpc_cni_addon_version: Some("v1.18.3-eksbuild.1".into()),
                vpc_cni_configuration: self
                    .addons
                    .addon("prod", "vpc-cni")
                    .await
                    .unwrap()
                    .and_then(|a| a.configuration_values),
                ..ClusterContext::default()
            },
            volumes: vec![VolumeFacts {
                volume_id: self.volume_id.clone(),
                instance_id: Some("i-0abc12345def67890".into()),
                node_group: Some("eks-ng-a".into()),
                volume_type: Some("gp2".into()),
                size_gib: Some(20),
                ..VolumeFacts::default()
            }],
            launch_failures: failures,
            ..Context::default()
        };
        quota::resolve(&self.quotas, &mut ctx, &[]).await.unwrap();
        ctx
    }
}

fn throttling() -> Finding {
    fixtures::throttling().unwrap()
}

fn ebs() -> Finding {
    fixtures::ebs().unwrap()
}

fn settings(mode: &str) -> RemedySettings {
    fixtures::settings(mode, "arn:aws:iam::123456789012:role/eks-remedy", APPROVER).unwrap()
}

fn make_plan(findings: &[Finding], ctx: &Context, s: &RemedySettings) -> Plan {
    plan::plan(findings, ctx, &s.plan, &GuardState::default())
}

fn record(r: &RunReport, kind: ActionKind) -> &AuditRecord {
    r.records
        .iter()
        .find(|x| x.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in {:#?}", r.records))
}

const ACTING: [ActionKind; 3] = [
    ActionKind::ServiceQuota,
    ActionKind::VpcCniAddon,
    ActionKind::EbsVolume,
];

#[tokio::test]
async fn observe_and_dry_run_make_zero_write_calls() {
    let e = env("eu-west-1").await;
    let mut total = 0;
    for mode in ["observe", "dry-run"] {
        let s = settings(mode);
        let ctx = e
            .context(
                "inc-dry",
                vec![fixtures::launch_failure("VcpuLimitExceeded")],
            )
            .await;
        let p = make_plan(&[throttling(), ebs()], &ctx, &s);
        let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
        let want = if mode == "observe" {
            Outcome::Observed
        } else {
            Outcome::WouldChange
        };
        for kind in ACTING {
            assert_eq!(record(&r, kind).outcome, want, "{mode} {kind:?}");
        }
        let writes = e.writes();
        println!(
            "{mode}: {} write calls, {} requests in all: {:?}",
            writes.values().sum::<u64>(),
            e.requests().values().sum::<u64>(),
            e.requests()
        );
        total += writes.values().sum::<u64>();
    }
    println!("write calls in observe and dry-run: {total}");
    assert_eq!(total, 0, "{:?}", e.writes());
    let dry = &e.ledger.records.lock().unwrap();
    let quota = dry
        .iter()
        .rfind(|r| r.kind == ActionKind::ServiceQuota)
        .unwrap();
    assert_eq!(
        quota.before["value"], 32.0,
        "read live from GetServiceQuota"
    );
    assert_eq!(quota.after["DesiredValue"], 50.0);
    let addon = dry
        .iter()
        .rfind(|r| r.kind == ActionKind::VpcCniAddon)
        .unwrap();
    assert_eq!(
        addon.after["configurationValues"],
        json!({"env": {"AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG", "WARM_ENI_TARGET": "1"},
               "nodeAgent": {"enablePolicyEventLogs": "true"}})
    );
}

#[tokio::test]
async fn auto_acts_once_keeps_the_users_keys_and_a_replay_is_a_no_op() {
    let e = env("eu-west-2").await;
    let s = settings("auto");
    let ctx = e
        .context(
            "inc-auto",
            vec![fixtures::launch_failure("VcpuLimitExceeded")],
        )
        .await;
    let p = make_plan(&[throttling(), ebs()], &ctx, &s);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    for kind in ACTING {
        let rec = record(&r, kind);
        assert_eq!(rec.outcome, Outcome::Executed, "{kind:?}: {}", rec.detail);
    }
    println!("auto: {:?}", e.writes());
    for op in &WRITES[..3] {
        assert_eq!(e.write_count(op), 1, "{op}");
    }
    // What AWS now has.
    let open = e.quotas.open_requests("ec2", STANDARD).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].desired_value, 50.0);
    let addon = e.addons.addon("prod", "vpc-cni").await.unwrap().unwrap();
    let config: Value =
        serde_json::from_str(addon.configuration_values.as_deref().unwrap()).unwrap();
    assert_eq!(
        config,
        json!({"env": {"AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG", "WARM_ENI_TARGET": "1"},
               "nodeAgent": {"enablePolicyEventLogs": "true"}}),
        "the merge keeps the user's other keys"
    );
    assert_eq!(addon.status, "UPDATING");
    let vol = e.volumes.volume(&e.volume_id).await.unwrap().unwrap();
    assert_eq!(vol.volume_type, "gp3");
    // The replay (the remediator's retry after a failure past the writes): same incident, same
    // plan. It writes nothing and reports each execution as it was, from the claim's record.
    let replay = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    for kind in ACTING {
        assert_eq!(record(&replay, kind), record(&r, kind), "{kind:?}");
    }
    for op in &WRITES[..3] {
        assert_eq!(e.write_count(op), 1, "replay wrote {op}");
    }
    // What was started is followed to its end on the server's clock.
    let tracked: Vec<Tracked> = r.records.iter().filter_map(Tracked::from_record).collect();
    assert_eq!(tracked.len(), 3, "{tracked:?}");
    assert_eq!(
        statuses(&e, &tracked, false).await,
        ["InProgress", "modifying", "PENDING"]
    );
    e.advance(3600);
    assert_eq!(
        statuses(&e, &tracked, true).await,
        ["Successful", "completed", "APPROVED"]
    );
    assert_eq!(
        e.quotas
            .applied("ec2", STANDARD)
            .await
            .unwrap()
            .unwrap()
            .value,
        50.0,
        "the approved value is the quota now"
    );
}

/// Where each tracked item stands, checking whether it has ended.
async fn statuses(e: &Env, tracked: &[Tracked], want_done: bool) -> Vec<String> {
    let mut out = Vec::new();
    for t in tracked {
        let p = follow(&e.quotas, &e.addons, &e.volumes, t, None)
            .await
            .unwrap();
        assert_eq!(p.done, want_done, "{t:?}: {p:?}");
        out.push(p.status);
    }
    out
}

#[tokio::test]
async fn an_approval_executes_once_and_the_second_is_refused() {
    let e = env("eu-west-3").await;
    let s = settings("approve");
    let ctx = e.context("inc-approve", Vec::new()).await;
    let p = make_plan(&[throttling()], &ctx, &s);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    let waiting = record(&r, ActionKind::VpcCniAddon);
    assert_eq!(waiting.outcome, Outcome::AwaitingApproval);
    assert_eq!(e.write_count("eks:UpdateAddon"), 0);
    let ex = e.executor(&s);
    let not_listed = ex
        .decide(
            &p.plan_id,
            &waiting.action_id,
            "arn:aws:iam::123456789012:user/intern",
            true,
            e.now(),
        )
        .await;
    assert!(matches!(not_listed, Err(ApproveError::NotAnApprover(_))));
    let done = ex
        .decide(&p.plan_id, &waiting.action_id, APPROVER, true, e.now())
        .await
        .unwrap();
    assert_eq!(done.outcome, Outcome::Executed, "{}", done.detail);
    assert_eq!(done.who, APPROVER);
    let second = ex
        .decide(&p.plan_id, &waiting.action_id, APPROVER, true, e.now())
        .await;
    assert!(
        matches!(second, Err(ApproveError::AlreadyDecided { .. })),
        "{second:?}"
    );
    println!("approve: {:?}", e.writes());
    assert_eq!(e.write_count("eks:UpdateAddon"), 1);
}

#[tokio::test]
async fn a_pending_request_means_no_new_request() {
    let e = env("eu-central-1").await;
    let sq = aws_sdk_servicequotas::Client::new(&e.sdk);
    let theirs = sq
        .request_service_quota_increase()
        .service_code("ec2")
        .quota_code(STANDARD)
        .desired_value(64.0)
        .send()
        .await
        .unwrap()
        .requested_quota
        .unwrap()
        .id
        .unwrap();
    common::moto_api(
        "POST",
        &format!("requests/reset?region={}", e.region),
        &json!({}),
    );
    let s = settings("auto");
    for (step, advance) in [("pending", 0), ("case opened", 700)] {
        e.advance(advance);
        let ctx = e
            .context(
                &format!("inc-{advance}"),
                vec![fixtures::launch_failure("VcpuLimitExceeded")],
            )
            .await;
        let p = make_plan(&[], &ctx, &s);
        let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
        let q = record(&r, ActionKind::ServiceQuota);
        // The planner already knew (resolved live), so the executor holds; either way no request.
        assert!(
            matches!(q.outcome, Outcome::Held | Outcome::NoChange),
            "{step}: {q:?}"
        );
        assert!(
            q.detail.contains(&theirs) || q.request_ids == [theirs.clone()],
            "{step}: {}",
            q.detail
        );
    }
    assert_eq!(e.write_count(WRITES[0]), 0);
    // Followed to the end on the server's clock; an approved value becomes the quota.
    e.advance(3600);
    let r = e.quotas.request(&theirs).await.unwrap().unwrap();
    assert_eq!(r.status, RequestStatus::Approved);
    assert_eq!(
        e.quotas
            .applied("ec2", STANDARD)
            .await
            .unwrap()
            .unwrap()
            .value,
        64.0
    );
}

#[tokio::test]
async fn an_open_request_found_only_at_execution_is_adopted() {
    let e = env("eu-north-1").await;
    let s = settings("auto");
    // Planned before the request was opened (e.g. by a person in the console).
    let ctx = e
        .context(
            "inc-race",
            vec![fixtures::launch_failure("VcpuLimitExceeded")],
        )
        .await;
    let p = make_plan(&[], &ctx, &s);
    let theirs = aws_sdk_servicequotas::Client::new(&e.sdk)
        .request_service_quota_increase()
        .service_code("ec2")
        .quota_code(STANDARD)
        .desired_value(40.0)
        .send()
        .await
        .unwrap()
        .requested_quota
        .unwrap()
        .id
        .unwrap();
    let before = e.write_count(WRITES[0]);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    let q = record(&r, ActionKind::ServiceQuota);
    assert_eq!(q.outcome, Outcome::NoChange, "{}", q.detail);
    assert_eq!(q.request_ids, [theirs]);
    assert_eq!(e.write_count(WRITES[0]), before, "no second request");
}

#[tokio::test]
async fn a_quota_that_is_not_adjustable_is_a_support_case_recommendation() {
    let e = env("ap-southeast-1").await;
    common::set_quota(&e.region, STANDARD, json!({"Adjustable": false}));
    let s = settings("auto");
    let ctx = e
        .context(
            "inc-fixed",
            vec![fixtures::launch_failure("VcpuLimitExceeded")],
        )
        .await;
    let p = make_plan(&[], &ctx, &s);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    let rec = r
        .records
        .iter()
        .find(|x| x.detail.contains("support case") || x.why.contains("support case"))
        .unwrap_or_else(|| panic!("{:#?}", r.records));
    assert_eq!(rec.outcome, Outcome::Recommended);
    assert_eq!(e.write_count(WRITES[0]), 0);
}

#[tokio::test]
async fn the_budget_and_the_breaker_stop_the_next_action() {
    let e = env("ap-southeast-2").await;
    let ec2 = aws_sdk_ec2::Client::new(&e.sdk);
    // Budget: one EBS change per hour; the second incident's volume is held.
    let mut s = settings("auto");
    s.plan.guards.budget.per_hour = 1;
    let mut outcomes = Vec::new();
    for i in 0..2 {
        let mut ctx = e.context(&format!("inc-b{i}"), Vec::new()).await;
        if i == 1 {
            ctx.volumes[0].volume_id = ec2
                .create_volume()
                .availability_zone(format!("{}a", e.region))
                .size(20)
                .volume_type(aws_sdk_ec2::types::VolumeType::Gp2)
                .send()
                .await
                .unwrap()
                .volume_id
                .unwrap();
        }
        let p = make_plan(&[ebs()], &ctx, &s);
        let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
        outcomes.push(record(&r, ActionKind::EbsVolume).clone());
    }
    assert_eq!(outcomes[0].outcome, Outcome::Executed);
    assert_eq!(outcomes[1].outcome, Outcome::Held);
    assert!(
        outcomes[1].detail.starts_with("budget"),
        "{}",
        outcomes[1].detail
    );
    assert_eq!(e.write_count("ec2:ModifyVolume"), 1);

    // Breaker: an update already running makes UpdateAddon fail (ResourceInUseException); after
    // two failures the third incident does not call it at all.
    let eks = aws_sdk_eks::Client::new(&e.sdk);
    eks.update_addon()
        .cluster_name("prod")
        .addon_name("vpc-cni")
        .configuration_values(r#"{"env":{"WARM_IP_TARGET":"3"}}"#)
        .send()
        .await
        .unwrap();
    let before = e.write_count("eks:UpdateAddon");
    let mut s = settings("auto");
    s.plan.guards.breaker.max_failures = 2;
    let mut last = Vec::new();
    for i in 0..3 {
        let ctx = e.context(&format!("inc-f{i}"), Vec::new()).await;
        let p = make_plan(&[throttling()], &ctx, &s);
        let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
        last.push(record(&r, ActionKind::VpcCniAddon).clone());
    }
    assert_eq!(last[0].outcome, Outcome::Failed, "{}", last[0].detail);
    assert!(
        last[0].detail.contains("ResourceInUseException"),
        "{}",
        last[0].detail
    );
    assert_eq!(last[1].outcome, Outcome::Failed);
    assert_eq!(last[2].outcome, Outcome::Held);
    assert!(
        last[2].detail.starts_with("circuit-breaker"),
        "{}",
        last[2].detail
    );
    assert_eq!(e.write_count("eks:UpdateAddon") - before, 2);
}

#[tokio::test]
async fn a_schema_rejection_is_reported_not_applied() {
    let e = env("ap-northeast-1").await;
    // An add-on whose schema has no CLUSTER_ENDPOINT (before v1.12.1), configured with it anyway.
    let eks = aws_sdk_eks::Client::new(&e.sdk);
    eks.create_cluster()
        .name("old")
        .version("1.29")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
        .send()
        .await
        .unwrap();
    let cfg = r#"{"env":{"WARM_IP_TARGET":"2","CLUSTER_ENDPOINT":"https://old.example"}}"#;
    eks.create_addon()
        .cluster_name("old")
        .addon_name("vpc-cni")
        .addon_version("v1.11.4-eksbuild.3")
        .configuration_values(cfg)
        .send()
        .await
        .unwrap();
    let s = settings("auto");
    let mut ctx = e.context("inc-schema", Vec::new()).await;
    ctx.cluster = Some("old".into());
    ctx.cluster_info.vpc_cni_addon_version = Some("v1.11.4-eksbuild.3".into());
    ctx.cluster_info.vpc_cni_configuration = Some(cfg.into());
    let p = make_plan(&[throttling()], &ctx, &s);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    let rec = record(&r, ActionKind::VpcCniAddon);
    assert_eq!(rec.outcome, Outcome::Refused, "{}", rec.detail);
    assert!(
        rec.detail.contains("schema") && rec.detail.contains("CLUSTER_ENDPOINT"),
        "{}",
        rec.detail
    );
    assert_eq!(e.write_count("eks:UpdateAddon"), 0);
    // The server's schema agrees: the same configuration sent anyway is rejected there too.
    let sent = eks
        .update_addon()
        .cluster_name("old")
        .addon_name("vpc-cni")
        .configuration_values(cfg)
        .send()
        .await;
    let err = format!("{:?}", sent.unwrap_err());
    assert!(err.contains("InvalidParameterException"), "{err}");
    let addon = e.addons.addon("old", "vpc-cni").await.unwrap().unwrap();
    assert_eq!(
        addon.configuration_values.as_deref(),
        Some(cfg),
        "nothing applied"
    );
}

#[tokio::test]
async fn a_modification_within_six_hours_blocks_the_ebs_action() {
    let e = env("ap-northeast-2").await;
    aws_sdk_ec2::Client::new(&e.sdk)
        .modify_volume()
        .volume_id(&e.volume_id)
        .size(30)
        .send()
        .await
        .unwrap();
    common::moto_api(
        "POST",
        &format!("requests/reset?region={}", e.region),
        &json!({}),
    );
    let s = settings("auto");
    e.advance(2 * 3600);
    let ctx = e.context("inc-cool", Vec::new()).await;
    let p = make_plan(&[ebs()], &ctx, &s);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    let rec = record(&r, ActionKind::EbsVolume);
    assert_eq!(rec.outcome, Outcome::Refused, "{}", rec.detail);
    assert!(rec.detail.starts_with("cooldown"), "{}", rec.detail);
    assert_eq!(e.write_count("ec2:ModifyVolume"), 0);
    // Past 6 hours the same incident may act (the refusal gave its claim back).
    e.advance(5 * 3600);
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    assert_eq!(record(&r, ActionKind::EbsVolume).outcome, Outcome::Executed);
    assert_eq!(e.write_count("ec2:ModifyVolume"), 1);
}

#[tokio::test]
async fn insufficient_instance_capacity_never_becomes_a_quota_request() {
    let e = env("ca-central-1").await;
    let s = settings("auto");
    let ctx = e
        .context(
            "inc-ice",
            vec![fixtures::launch_failure("InsufficientInstanceCapacity"); 20],
        )
        .await;
    let p = make_plan(&[], &ctx, &s);
    assert!(p.actions.iter().all(|a| a.kind != ActionKind::ServiceQuota));
    let r = e.executor(&s).run(&p, &ctx, e.now()).await.unwrap();
    assert!(r.records.iter().all(|x| x.outcome == Outcome::Recommended));
    let requests = e.requests();
    println!("insufficient capacity: {requests:?}");
    assert!(
        requests.keys().all(|k| !k.starts_with("service-quotas:")),
        "not even a quota lookup: {requests:?}"
    );
}

#[tokio::test]
async fn a_storm_of_500_findings_on_50_nodes_is_at_most_one_request_and_one_update() {
    let e = env("sa-east-1").await;
    let s = settings("auto");
    let failures = (0..500)
        .map(|i| {
            let mut f = fixtures::launch_failure("VcpuLimitExceeded");
            f.group = Some(format!("eks-ng-{}", i % 3));
            f
        })
        .collect();
    let mut ctx = e.context("inc-storm", failures).await;
    ctx.nodes = (0..50).map(|i| format!("i-{i:017x}")).collect();
    let findings = vec![throttling(); 500];
    let p = make_plan(&findings, &ctx, &s);
    // Ten invocations of the same incident, two at a time.
    let (one, two) = (e.executor(&s), e.executor(&s));
    for _ in 0..5 {
        let at = e.now();
        let (a, b) = tokio::join!(one.run(&p, &ctx, at), two.run(&p, &ctx, at));
        a.unwrap();
        b.unwrap();
    }
    let quota_requests = e.write_count(WRITES[0]);
    let addon_updates = e.write_count(WRITES[1]);
    println!("storm: {quota_requests} quota request(s), {addon_updates} add-on update(s)");
    assert!(quota_requests <= 1 && addon_updates <= 1);
    assert_eq!((quota_requests, addon_updates), (1, 1));
}

#[tokio::test]
async fn quotas_without_an_applied_value_are_read_from_the_defaults() {
    let e = env("us-west-1").await;
    assert!(e
        .quotas
        .applied("eks", "L-BD136A63")
        .await
        .unwrap()
        .is_none());
    let q = quota::find_quota(
        &e.quotas,
        "eks",
        Some("L-BD136A63"),
        "Nodes per managed node group",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((q.value, q.adjustable), (450.0, true));
    assert!(quota::find_quota(&e.quotas, "eks", None, "No such quota")
        .await
        .unwrap()
        .is_none());
    assert!(e.quotas.request("no-such-request").await.unwrap().is_none());
    let vpc = quota::find_quota(
        &e.quotas,
        "vpc",
        Some("L-DF5E4CA3"),
        "Network interfaces per Region",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(vpc.value, 5000.0);
}

#[tokio::test]
async fn the_dynamodb_ledger_claims_budgets_counts_failures_and_decides_once() {
    let e = env("us-west-2").await;
    let ledger = Ledger::new(
        aws_sdk_dynamodb::Client::new(&e.sdk),
        common::table(&e.sdk).await,
        30,
    );
    // Today (claims expire with the table's TTL, read against the wall clock), away from midnight
    // so an hour later is the same UTC day.
    let at = Utc::now()
        .date_naive()
        .and_hms_opt(8, 10, 0)
        .unwrap()
        .and_utc();
    // Idempotency claims.
    assert!(ledger.claim("inc-1#a", at).await.unwrap());
    assert!(
        !ledger.claim("inc-1#a", at).await.unwrap(),
        "a second claim fails"
    );
    assert!(ledger.claimed("inc-1#a").await.unwrap());
    // What an execution did is kept on its claim for a retry to report, and goes with it.
    let done: AuditRecord = serde_json::from_value(serde_json::json!({
        "at": at, "plan_id": "plan-1", "incident_id": "inc-1", "action_id": "a",
        "kind": "vpc-cni-addon", "mode": "auto", "who": "eks-remedy", "what": {}, "why": "",
        "findings": [], "before": {}, "after": {}, "outcome": "executed", "detail": "update u-1",
        "request_ids": ["u-1"], "guards": []
    }))
    .unwrap();
    assert_eq!(ledger.settled("inc-1#a").await.unwrap(), None);
    ledger.settle("inc-1#a", &done).await.unwrap();
    assert_eq!(ledger.settled("inc-1#a").await.unwrap(), Some(done.clone()));
    assert!(
        ledger.settle("inc-1#none", &done).await.is_err(),
        "nothing is kept without a claim"
    );
    assert_eq!(ledger.settled("inc-1#none").await.unwrap(), None);
    ledger.release("inc-1#a").await.unwrap();
    assert!(!ledger.claimed("inc-1#a").await.unwrap());
    assert_eq!(ledger.settled("inc-1#a").await.unwrap(), None);
    assert!(ledger.claim("inc-1#a", at).await.unwrap());
    // Budgets: per UTC hour and day, the limit in the write's condition.
    let kind = ActionKind::EbsVolume;
    let budget = plan::guards::Budget {
        per_hour: 2,
        per_day: 3,
    };
    assert!(ledger.spend(kind, at, budget).await.unwrap());
    assert!(ledger.spend(kind, at, budget).await.unwrap());
    assert!(
        !ledger.spend(kind, at, budget).await.unwrap(),
        "the third in one hour"
    );
    assert_eq!(ledger.spent(kind, at).await.unwrap(), (2, 2));
    let later = at + chrono::TimeDelta::hours(1);
    assert!(ledger.spend(kind, later, budget).await.unwrap());
    assert!(
        !ledger.spend(kind, later, budget).await.unwrap(),
        "the fourth in one day"
    );
    assert_eq!(ledger.spent(kind, later).await.unwrap(), (1, 3));
    assert_eq!(
        ledger.spent(ActionKind::ServiceQuota, at).await.unwrap(),
        (0, 0),
        "per kind"
    );
    // Failures in the breaker's window.
    ledger.record_failure(kind, at).await.unwrap();
    ledger
        .record_failure(kind, at + chrono::TimeDelta::minutes(5))
        .await
        .unwrap();
    let hour_before = at - chrono::TimeDelta::hours(1);
    assert_eq!(ledger.failures_since(kind, hour_before).await.unwrap(), 2);
    assert_eq!(ledger.failures_since(kind, at).await.unwrap(), 1);
    assert_eq!(
        ledger
            .failures_since(ActionKind::VpcCniAddon, hour_before)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn with_the_dynamodb_ledger_an_approval_executes_once_and_a_replay_is_a_no_op() {
    let e = env("us-east-2").await;
    let table = common::table(&e.sdk).await;
    let ledger = Ledger::new(aws_sdk_dynamodb::Client::new(&e.sdk), &table, 30);
    let s = settings("approve");
    let ctx = e.context("inc-ddb", Vec::new()).await;
    let p = make_plan(&[throttling()], &ctx, &s);
    let ex = e.executor_with(&s, &ledger);
    let r = ex.run(&p, &ctx, e.now()).await.unwrap();
    let id = record(&r, ActionKind::VpcCniAddon).action_id.clone();
    let stored = ledger.pending(&p.plan_id, &id).await.unwrap().unwrap();
    assert_eq!(stored.action.id, id);
    let replay = ex.run(&p, &ctx, e.now()).await.unwrap();
    assert_eq!(
        record(&replay, ActionKind::VpcCniAddon).outcome,
        Outcome::NoChange,
        "still waiting, not twice"
    );
    // A decision taken and given back (as when the budget holds an approved action).
    assert!(matches!(
        ledger
            .decide(&p.plan_id, &id, APPROVER, true, e.now())
            .await
            .unwrap(),
        Decided::Now(_)
    ));
    ledger.reopen(&p.plan_id, &id).await.unwrap();
    let done = ex
        .decide(&p.plan_id, &id, APPROVER, true, e.now())
        .await
        .unwrap();
    assert_eq!(done.outcome, Outcome::Executed, "{}", done.detail);
    assert!(matches!(
        ledger.decide(&p.plan_id, &id, "someone-else", false, e.now()).await.unwrap(),
        Decided::Already(by, true) if by == APPROVER
    ));
    assert!(matches!(
        ex.decide(&p.plan_id, &id, APPROVER, true, e.now()).await,
        Err(ApproveError::AlreadyDecided { .. })
    ));
    assert!(matches!(
        ledger
            .decide(&p.plan_id, "nothing", APPROVER, true, e.now())
            .await
            .unwrap(),
        Decided::Unknown
    ));
    assert_eq!(e.write_count("eks:UpdateAddon"), 1);
    // Every decision is in the table as an audit item.
    let items = aws_sdk_dynamodb::Client::new(&e.sdk)
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let audits: Vec<AuditRecord> = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("remedy#audit#"))
        .map(|i| serde_json::from_str(i["record"].as_s().unwrap()).unwrap())
        .collect();
    assert!(audits
        .iter()
        .any(|a| a.outcome == Outcome::AwaitingApproval));
    assert!(audits
        .iter()
        .any(|a| a.outcome == Outcome::Executed && a.who == APPROVER));
}

#[tokio::test]
async fn the_dynamodb_ledger_keeps_remediation_state_with_conditional_writes() {
    use eks_remedy_pipeline::ports::Saved;
    use eks_remedy_pipeline::remedy::ports::{PlanIndex, RemedyState, RemedyStore};

    let e = env("ap-south-1").await;
    let ledger = Ledger::new(
        aws_sdk_dynamodb::Client::new(&e.sdk),
        common::table(&e.sdk).await,
        30,
    );
    let incident = "prod.ap-south-1.123456789012:throttling:20261019T0500";
    assert!(ledger.load_state(incident).await.unwrap().is_none());
    let mut state = RemedyState::default();
    state.incident.findings.push(throttling());
    state.ran.insert("vpc-cni-addon:prod/vpc-cni".into());
    assert_eq!(
        ledger.save_state(incident, &state, None).await.unwrap(),
        Saved::Written
    );
    // A second first write, or a write from a stale read, loses: nothing is overwritten.
    assert_eq!(
        ledger.save_state(incident, &state, None).await.unwrap(),
        Saved::Conflict
    );
    let loaded = ledger.load_state(incident).await.unwrap().unwrap();
    assert_eq!((loaded.version, &loaded.value), (1, &state));
    state.ran.insert("service-quota:ec2/L-1216C47A".into());
    assert_eq!(
        ledger.save_state(incident, &state, Some(1)).await.unwrap(),
        Saved::Written
    );
    assert_eq!(
        ledger.save_state(incident, &state, Some(1)).await.unwrap(),
        Saved::Conflict
    );
    assert_eq!(
        ledger
            .load_state(incident)
            .await
            .unwrap()
            .unwrap()
            .value
            .ran
            .len(),
        2
    );
    // A state too large for an item is refused with the reason, never cut silently.
    let mut huge = state.clone();
    huge.incident.findings = vec![throttling(); 4000];
    let err = ledger
        .save_state(incident, &huge, Some(2))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("an item can hold"), "{err}");

    let index = PlanIndex {
        incident_id: incident.into(),
        actions: vec![
            "vpc-cni-addon:prod/vpc-cni".into(),
            "recommendation:x".into(),
        ],
    };
    ledger
        .index_plan("plan-0123456789abcdef", &index)
        .await
        .unwrap();
    assert_eq!(
        ledger.plan_index("plan-0123456789abcdef").await.unwrap(),
        Some(index)
    );
    assert_eq!(ledger.plan_index("plan-unknown").await.unwrap(), None);

    // The set of incidents to follow: added and removed atomically, read bounded.
    assert!(ledger.following(10).await.unwrap().is_empty());
    for i in ["a", "b", "c"] {
        ledger.set_following(i, true).await.unwrap();
    }
    ledger.set_following("b", false).await.unwrap();
    ledger.set_following("b", false).await.unwrap();
    let mut f = ledger.following(10).await.unwrap();
    f.sort();
    assert_eq!(f, ["a", "c"]);
    assert_eq!(ledger.following(1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn with_a_support_plan_the_rate_limit_case_is_opened_once_through_the_support_api() {
    use eks_remedy_aws::remedy::support::Support;

    let e = env("eu-south-1").await;
    let support = Support::new(&e.sdk);
    let mut s = settings("auto");
    s.plan.support_plan = true;
    let ctx = e.context("inc-case", Vec::new()).await;
    let p = make_plan(&[throttling()], &ctx, &s);
    let ex = Executor::new(
        Ports {
            quotas: &e.quotas,
            addons: &e.addons,
            volumes: &e.volumes,
            support: &support,
            ledger: &e.ledger,
            audit: &e.ledger,
        },
        &s,
    );
    let r = ex.run(&p, &ctx, e.now()).await.unwrap();
    let case = record(&r, ActionKind::SupportCase);
    assert_eq!(case.outcome, Outcome::Executed, "{}", case.detail);
    assert_eq!(case.request_ids.len(), 1, "the case id");
    // The case as the Support API holds it.
    let client = aws_sdk_support::Client::from_conf(
        aws_sdk_support::config::Builder::from(&e.sdk)
            .region(Region::new("us-east-1"))
            .build(),
    );
    let cases = client.describe_cases().send().await.unwrap();
    let opened = cases
        .cases()
        .iter()
        .find(|c| c.case_id() == Some(case.request_ids[0].as_str()))
        .expect("the case is in Support");
    assert_eq!(
        opened.subject(),
        Some("Request an increase in my Amazon EC2 API throttling limits")
    );
    // A replay opens nothing more; it reports the case opened the first time.
    let again = ex.run(&p, &ctx, e.now()).await.unwrap();
    assert_eq!(record(&again, ActionKind::SupportCase), case);
    let n = client
        .describe_cases()
        .send()
        .await
        .unwrap()
        .cases()
        .iter()
        .filter(|c| c.subject() == opened.subject())
        .count();
    assert_eq!(n, 1);
}
