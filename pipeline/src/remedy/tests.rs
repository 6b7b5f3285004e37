//! The executor against the in-memory ports: every rung, every guard, each kind's own checks.

use std::sync::atomic::Ordering;

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_core::plan::guards::AllowLists;
use eks_remedy_core::plan::{self, ActionKind, Context, GuardState, Plan};
use eks_remedy_core::report::Finding;
use serde_json::{json, Value};

use super::fakes::{fixtures, FakeAddons, FakeQuotas, FakeSupport, FakeVolumes, MemoryLedger};
use super::ports::{
    ActionLedger, AddonState, QuotaInfo, QuotaRequest, RequestStatus, VolumeModification,
    VolumeState,
};
use super::*;

const STANDARD: &str = "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances";
const APPROVER: &str = "arn:aws:iam::111122223333:role/platform-oncall";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-19T08:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap()
}

fn schema(with_cluster_endpoint: bool) -> String {
    fixtures::vpc_cni_schema(with_cluster_endpoint)
}

fn throttling() -> Finding {
    fixtures::throttling().unwrap()
}

fn ebs_finding() -> Finding {
    fixtures::ebs().unwrap()
}

fn settings(mode: &str) -> RemedySettings {
    fixtures::settings(mode, "arn:aws:iam::111122223333:role/eks-remedy", APPROVER).unwrap()
}

fn context(incident: &str) -> Context {
    Context {
        incident_id: Some(incident.into()),
        account: Some("111122223333".into()),
        region: Some("us-east-1".into()),
        cluster: Some("prod".into()),
        node_groups: vec!["eks-ng-a".into()],
        cluster_info: eks_remedy_core::facts::ClusterContext {
            version: Some("1.30".into()),
            endpoint: Some("https://ABC.gr7.us-east-1.eks.amazonaws.com".into()),
            private_access: Some(true),
            vpc_cni_addon_version: Some("v1.18.3-eksbuild.1".into()),
            vpc_cni_configuration: Some(
                r#"{"env":{"WARM_IP_TARGET":"2","AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG"},"nodeAgent":{"enablePolicyEventLogs":"true"}}"#.into(),
            ),
            ..Default::default()
        },
        volumes: vec![plan::ebs::VolumeFacts {
            volume_id: "vol-1".into(),
            instance_id: Some("i-1".into()),
            node_group: Some("eks-ng-a".into()),
            volume_type: Some("gp2".into()),
            size_gib: Some(20),
            ..Default::default()
        }],
        launch_failures: vec![fixtures::launch_failure("VcpuLimitExceeded")],
        ..Context::default()
    }
}

struct World {
    quotas: FakeQuotas,
    addons: FakeAddons,
    volumes: FakeVolumes,
    support: FakeSupport,
    ledger: MemoryLedger,
}

impl World {
    fn new() -> World {
        let quota = |code: &str, name: &str, value: f64| QuotaInfo {
            service_code: "ec2".into(),
            quota_code: code.into(),
            name: name.into(),
            value,
            adjustable: true,
        };
        let w = World {
            quotas: FakeQuotas::default(),
            addons: FakeAddons {
                schemas: [
                    ("v1.18.3-eksbuild.1".to_string(), schema(true)),
                    ("v1.11.4-eksbuild.3".to_string(), schema(false)),
                ]
                .into(),
                ..FakeAddons::default()
            },
            volumes: FakeVolumes::default(),
            support: FakeSupport::default(),
            ledger: MemoryLedger::default(),
        };
        w.quotas
            .applied
            .lock()
            .unwrap()
            .push(quota("L-1216C47A", STANDARD, 32.0));
        w.quotas
            .defaults
            .lock()
            .unwrap()
            .push(quota("L-1216C47A", STANDARD, 5.0));
        w.addons.addons.lock().unwrap().insert(
            ("prod".into(), "vpc-cni".into()),
            AddonState {
                version: "v1.18.3-eksbuild.1".into(),
                configuration_values: context("x").cluster_info.vpc_cni_configuration,
                status: "ACTIVE".into(),
            },
        );
        w.volumes.volumes.lock().unwrap().insert(
            "vol-1".into(),
            VolumeState {
                volume_id: "vol-1".into(),
                volume_type: "gp2".into(),
                size_gib: 20,
                iops: Some(100),
                throughput: None,
            },
        );
        *w.volumes.now.lock().unwrap() = Some(now());
        w
    }

    fn executor<'a>(
        &'a self,
        s: &'a RemedySettings,
    ) -> Executor<'a, FakeQuotas, FakeAddons, FakeVolumes, FakeSupport, MemoryLedger, MemoryLedger>
    {
        Executor::new(
            Ports {
                quotas: &self.quotas,
                addons: &self.addons,
                volumes: &self.volumes,
                support: &self.support,
                ledger: &self.ledger,
                audit: &self.ledger,
            },
            s,
        )
    }

    fn writes(&self) -> [u32; 4] {
        [
            self.quotas.writes.load(Ordering::Relaxed),
            self.addons.writes.load(Ordering::Relaxed),
            self.volumes.writes.load(Ordering::Relaxed),
            self.support.writes.load(Ordering::Relaxed),
        ]
    }
}

fn make_plan(findings: &[Finding], ctx: &Context, s: &RemedySettings) -> Plan {
    plan::plan(findings, ctx, &s.plan, &GuardState::default())
}

fn run(w: &World, s: &RemedySettings, p: &Plan, ctx: &Context, at: DateTime<Utc>) -> RunReport {
    block_on(w.executor(s).run(p, ctx, at)).unwrap()
}

fn outcome(r: &RunReport, kind: ActionKind) -> Outcome {
    r.records
        .iter()
        .find(|x| x.kind == kind)
        .map(|x| x.outcome)
        .unwrap_or_else(|| panic!("no {kind:?} in {:#?}", r.records))
}

fn record(r: &RunReport, kind: ActionKind) -> &AuditRecord {
    r.records.iter().find(|x| x.kind == kind).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn observe_and_dry_run_write_nothing_and_dry_run_says_exactly_what_would_change() {
    let w = World::new();
    let ctx = context("inc-1");
    for mode in ["observe", "dry-run"] {
        let s = settings(mode);
        let p = make_plan(&[throttling(), ebs_finding()], &ctx, &s);
        let r = run(&w, &s, &p, &ctx, now());
        assert_eq!(w.writes(), [0, 0, 0, 0], "{mode}");
        let want = if mode == "observe" {
            Outcome::Observed
        } else {
            Outcome::WouldChange
        };
        for kind in [
            ActionKind::ServiceQuota,
            ActionKind::VpcCniAddon,
            ActionKind::EbsVolume,
        ] {
            assert_eq!(outcome(&r, kind), want, "{mode} {kind:?}");
        }
    }
    let dry = w.ledger.records.lock().unwrap().clone();
    let q = dry
        .iter()
        .rfind(|r| r.kind == ActionKind::ServiceQuota)
        .unwrap();
    assert_eq!(q.before["value"], 32.0);
    assert_eq!(q.after["DesiredValue"], 50.0, "32 + 4 × 3 < 32 × 1.5 → 50");
    let e = dry
        .iter()
        .rfind(|r| r.kind == ActionKind::EbsVolume)
        .unwrap();
    assert_eq!(e.after["VolumeType"], "gp3");
}

#[test]
fn observe_does_not_even_read() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("observe");
    run(&w, &s, &make_plan(&[throttling()], &ctx, &s), &ctx, now());
    assert!(w.quotas.calls.lock().unwrap().is_empty());
}

#[test]
fn auto_acts_once_and_a_replay_reports_the_same_execution_without_writing() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    let p = make_plan(&[throttling(), ebs_finding()], &ctx, &s);
    let first = run(&w, &s, &p, &ctx, now());
    for kind in [
        ActionKind::ServiceQuota,
        ActionKind::VpcCniAddon,
        ActionKind::EbsVolume,
    ] {
        assert_eq!(outcome(&first, kind), Outcome::Executed, "{kind:?}");
        assert_eq!(record(&first, kind).request_ids.len(), 1);
    }
    assert_eq!(w.writes(), [1, 1, 1, 0]);
    // The remediator only runs an action again when something after the write failed (the audit
    // item, the state save): the retry reports the execution as it was, under the same audit key.
    let replay = run(&w, &s, &p, &ctx, now() + TimeDelta::minutes(1));
    assert_eq!(w.writes(), [1, 1, 1, 0], "a replay writes nothing");
    for kind in [
        ActionKind::ServiceQuota,
        ActionKind::VpcCniAddon,
        ActionKind::EbsVolume,
    ] {
        assert_eq!(record(&replay, kind), record(&first, kind), "{kind:?}");
    }
}

#[test]
fn a_released_claim_keeps_no_execution_for_a_later_run() {
    let mut w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    let p = make_plan(&[throttling()], &ctx, &s);
    // The write fails: the claim is given back, and with it anything kept on it.
    w.addons.fail_updates = Some(PortError::Refused {
        service: "eks",
        message: "ResourceInUseException".into(),
    });
    let failed = run(&w, &s, &p, &ctx, now());
    assert_eq!(outcome(&failed, ActionKind::VpcCniAddon), Outcome::Failed);
    w.addons.fail_updates = None;
    let again = run(&w, &s, &p, &ctx, now() + TimeDelta::minutes(1));
    assert_eq!(outcome(&again, ActionKind::VpcCniAddon), Outcome::Executed);
    assert_eq!(w.addons.updates.lock().unwrap().len(), 1);
}

#[test]
fn the_addon_merge_keeps_the_users_keys_and_uses_preserve_and_a_stable_token() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    run(&w, &s, &make_plan(&[throttling()], &ctx, &s), &ctx, now());
    let updates = w.addons.updates.lock().unwrap();
    let (req, _) = &updates[0];
    let written: Value = serde_json::from_str(&req.configuration_values).unwrap();
    assert_eq!(
        written,
        json!({"env": {"AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG", "WARM_ENI_TARGET": "1"},
               "nodeAgent": {"enablePolicyEventLogs": "true"}})
    );
    assert_eq!(req.resolve_conflicts, "PRESERVE");
    assert_eq!(
        req.client_request_token,
        addon::client_request_token("inc-1#vpc-cni-addon:prod/vpc-cni")
    );
    assert!(req.client_request_token.len() <= 64);
}

#[test]
fn the_merge_is_made_on_the_live_configuration_not_the_planned_one() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    let p = make_plan(&[throttling()], &ctx, &s);
    // Someone added a key after the plan was made.
    w.addons
        .addons
        .lock()
        .unwrap()
        .get_mut(&("prod".to_string(), "vpc-cni".to_string()))
        .unwrap()
        .configuration_values =
        Some(r#"{"env":{"WARM_IP_TARGET":"2","ENABLE_PREFIX_DELEGATION":"false"}}"#.into());
    run(&w, &s, &p, &ctx, now());
    let updates = w.addons.updates.lock().unwrap();
    let written: Value = serde_json::from_str(&updates[0].0.configuration_values).unwrap();
    assert_eq!(
        written,
        json!({"env": {"ENABLE_PREFIX_DELEGATION": "false", "WARM_ENI_TARGET": "1"}})
    );
}

#[test]
fn a_schema_rejection_is_reported_and_not_applied() {
    let w = World::new();
    let mut ctx = context("inc-1");
    // An old add-on whose schema has no CLUSTER_ENDPOINT; the user's config has it anyway.
    let old = "v1.11.4-eksbuild.3";
    let cfg = r#"{"env":{"WARM_IP_TARGET":"2","CLUSTER_ENDPOINT":"https://x"}}"#;
    ctx.cluster_info.vpc_cni_addon_version = Some(old.into());
    ctx.cluster_info.vpc_cni_configuration = Some(cfg.into());
    {
        let mut addons = w.addons.addons.lock().unwrap();
        let a = addons
            .get_mut(&("prod".to_string(), "vpc-cni".to_string()))
            .unwrap();
        a.version = old.into();
        a.configuration_values = Some(cfg.into());
    }
    let s = settings("auto");
    let r = run(&w, &s, &make_plan(&[throttling()], &ctx, &s), &ctx, now());
    let rec = record(&r, ActionKind::VpcCniAddon);
    assert_eq!(rec.outcome, Outcome::Refused);
    assert!(rec.detail.contains("schema"), "{}", rec.detail);
    assert!(rec.detail.contains("CLUSTER_ENDPOINT"), "{}", rec.detail);
    assert_eq!(w.writes()[1], 0);
    assert!(rec.guards.iter().any(|g| g.guard == "schema" && !g.ok));
    // Refused, so the claim is given back: a fixed configuration can still be applied.
    assert!(!block_on(w.ledger.claimed("inc-1#vpc-cni-addon:prod/vpc-cni")).unwrap());
}

#[test]
fn validation_uses_the_schema_and_reports_paths() {
    let cfg = json!({"env": {"WARM_ENI_TARGET": 1, "NOPE": "x"}});
    let err = addon::validate(&schema(true), &cfg).unwrap_err();
    assert!(err.contains("/env/WARM_ENI_TARGET"), "{err}");
    assert!(err.contains("NOPE"), "{err}");
    assert!(addon::validate(&schema(true), &json!({"env": {"WARM_ENI_TARGET": "1"}})).is_ok());
    assert!(addon::validate("{", &json!({})).is_err());
}

#[test]
fn approval_executes_once_and_a_second_is_refused() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("approve");
    let p = make_plan(&[throttling()], &ctx, &s);
    let r = run(&w, &s, &p, &ctx, now());
    assert_eq!(
        outcome(&r, ActionKind::VpcCniAddon),
        Outcome::AwaitingApproval
    );
    assert_eq!(w.writes(), [0, 0, 0, 0], "waiting writes nothing");
    let id = record(&r, ActionKind::VpcCniAddon).action_id.clone();
    let ex = w.executor(&s);
    let stranger = block_on(ex.decide(&p.plan_id, &id, "arn:aws:iam::1:user/mallory", true, now()));
    assert!(matches!(stranger, Err(ApproveError::NotAnApprover(_))));
    let done = block_on(ex.decide(&p.plan_id, &id, APPROVER, true, now())).unwrap();
    assert_eq!(done.outcome, Outcome::Executed);
    assert_eq!(done.who, APPROVER);
    assert_eq!(w.writes()[1], 1);
    let again = block_on(ex.decide(&p.plan_id, &id, APPROVER, true, now()));
    assert!(
        matches!(
            again,
            Err(ApproveError::AlreadyDecided { approved: true, .. })
        ),
        "{again:?}"
    );
    assert_eq!(w.writes()[1], 1);
    let unknown = block_on(ex.decide(&p.plan_id, "nope", APPROVER, true, now()));
    assert!(matches!(unknown, Err(ApproveError::Unknown { .. })));
    // The refused attempts are in the audit trail too, with who tried.
    let refused: Vec<String> = w
        .ledger
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.outcome == Outcome::Refused)
        .map(|r| r.who.clone())
        .collect();
    assert_eq!(refused, ["arn:aws:iam::1:user/mallory", APPROVER]);
}

#[test]
fn a_rejection_or_a_changed_target_writes_nothing() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("approve");
    let p = make_plan(&[throttling(), ebs_finding()], &ctx, &s);
    let r = run(&w, &s, &p, &ctx, now());
    let ex = w.executor(&s);
    let addon_id = record(&r, ActionKind::VpcCniAddon).action_id.clone();
    let rej = block_on(ex.decide(&p.plan_id, &addon_id, APPROVER, false, now())).unwrap();
    assert_eq!(rej.outcome, Outcome::Rejected);
    // The volume changes under the approver's feet.
    w.volumes
        .volumes
        .lock()
        .unwrap()
        .get_mut("vol-1")
        .unwrap()
        .size_gib = 40;
    let vol_id = record(&r, ActionKind::EbsVolume).action_id.clone();
    let stale = block_on(ex.decide(&p.plan_id, &vol_id, APPROVER, true, now())).unwrap();
    assert_eq!(stale.outcome, Outcome::Refused, "{}", stale.detail);
    assert_eq!(w.writes(), [0, 0, 0, 0]);
}

#[test]
fn an_open_request_is_adopted_never_repeated() {
    let w = World::new();
    w.quotas.requests.lock().unwrap().push(QuotaRequest {
        id: "req-theirs".into(),
        case_id: Some("170000000".into()),
        service_code: "ec2".into(),
        quota_code: "L-1216C47A".into(),
        desired_value: 64.0,
        status: RequestStatus::CaseOpened,
    });
    let ctx = context("inc-1");
    let s = settings("auto");
    let r = run(&w, &s, &make_plan(&[], &ctx, &s), &ctx, now());
    let q = record(&r, ActionKind::ServiceQuota);
    assert_eq!(q.outcome, Outcome::NoChange, "{}", q.detail);
    assert_eq!(q.request_ids, ["req-theirs"]);
    assert_eq!(w.writes()[0], 0);
}

#[test]
fn resolving_first_puts_live_values_and_open_requests_into_the_plan() {
    let w = World::new();
    w.quotas.requests.lock().unwrap().push(QuotaRequest {
        id: "req-9".into(),
        case_id: None,
        service_code: "ec2".into(),
        quota_code: "L-1216C47A".into(),
        desired_value: 64.0,
        status: RequestStatus::Pending,
    });
    let mut ctx = context("inc-1");
    let notes = block_on(quota::resolve(&w.quotas, &mut ctx, &[])).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let facts = &ctx.quotas["L-1216C47A"];
    assert_eq!(facts.value, Some(32.0));
    assert_eq!(
        facts.open_request.as_ref().map(|o| o.0.as_str()),
        Some("req-9")
    );
    let p = make_plan(&[], &ctx, &settings("auto"));
    let q = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::ServiceQuota)
        .unwrap();
    assert!(q.guards.iter().any(|g| g.guard == "open-request" && !g.ok));
}

/// ipamd's `NetworkInterfaceLimitExceeded` (rule `eni-quota-exceeded`) names a quota with no
/// failed launch: resolving reads that quota too, so its request is sized from the live value.
#[test]
fn resolving_reads_the_quotas_findings_name() {
    let w = World::new();
    w.quotas.applied.lock().unwrap().push(QuotaInfo {
        service_code: "vpc".into(),
        quota_code: "L-DF5E4CA3".into(),
        name: "Network interfaces per Region".into(),
        value: 5000.0,
        adjustable: true,
    });
    let finding = fixtures::finding(
        "eni-quota-exceeded",
        serde_json::json!([{"kind": "service-quota-review", "apis": [], "errors": ["NetworkInterfaceLimitExceeded"]}]),
        serde_json::json!({}),
    )
    .unwrap();
    let mut ctx = context("inc-1");
    ctx.launch_failures.clear();
    let notes = block_on(quota::resolve(
        &w.quotas,
        &mut ctx,
        std::slice::from_ref(&finding),
    ))
    .unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(ctx.quotas["L-DF5E4CA3"].value, Some(5000.0));
}

#[test]
fn a_quota_that_is_not_adjustable_becomes_a_support_case_recommendation() {
    let w = World::new();
    w.quotas.applied.lock().unwrap()[0].adjustable = false;
    let ctx = context("inc-1");
    let s = settings("auto");
    let r = run(&w, &s, &make_plan(&[], &ctx, &s), &ctx, now());
    let q = record(&r, ActionKind::ServiceQuota);
    assert_eq!(q.outcome, Outcome::Recommended);
    assert!(q.detail.contains("support case"), "{}", q.detail);
    assert_eq!(w.writes()[0], 0);
}

#[test]
fn the_code_table_is_a_hint_the_quota_is_found_by_name() {
    let w = World::new();
    // The live catalogue has the quota under another code than the planner's table.
    w.quotas.applied.lock().unwrap()[0].quota_code = "L-NEWCODE".into();
    let ctx = context("inc-1");
    let s = settings("auto");
    let r = run(&w, &s, &make_plan(&[], &ctx, &s), &ctx, now());
    let q = record(&r, ActionKind::ServiceQuota);
    assert_eq!(q.outcome, Outcome::Executed, "{}", q.detail);
    assert_eq!(q.after["QuotaCode"], "L-NEWCODE");
}

#[test]
fn a_quota_without_an_applied_value_is_read_from_the_default() {
    let w = World::new();
    w.quotas.applied.lock().unwrap().clear();
    let q = block_on(quota::find_quota(
        &w.quotas,
        "ec2",
        Some("L-1216C47A"),
        STANDARD,
    ))
    .unwrap()
    .unwrap();
    assert_eq!(q.value, 5.0);
}

#[test]
fn the_desired_value_is_capped_by_the_configured_ceiling() {
    let w = World::new();
    let ctx = context("inc-1");
    let mut s = settings("auto");
    s.quota_ceilings.insert("L-1216C47A".into(), 40.0);
    let r = run(&w, &s, &make_plan(&[], &ctx, &s), &ctx, now());
    assert_eq!(
        record(&r, ActionKind::ServiceQuota).after["DesiredValue"],
        40.0
    );
    let reqs = w.quotas.requests.lock().unwrap();
    assert_eq!(reqs[0].desired_value, 40.0);
    drop(reqs);
    // A ceiling at or below the current value refuses instead of asking for less.
    let w = World::new();
    s.quota_ceilings.insert("L-1216C47A".into(), 32.0);
    let r = run(&w, &s, &make_plan(&[], &ctx, &s), &ctx, now());
    assert_eq!(outcome(&r, ActionKind::ServiceQuota), Outcome::Refused);
    assert_eq!(w.writes()[0], 0);
}

#[test]
fn a_request_racing_another_adopts_it() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    let p = make_plan(&[], &ctx, &s);
    // Opened by someone else between our check and our write: the API answers AlreadyOpen.
    let step = block_on(quota::step(
        &Racing(&w.quotas),
        &p.actions[0],
        &s.plan,
        &s.quota_ceilings,
        true,
    ))
    .unwrap();
    assert!(
        matches!(&step, Step::Unchanged { request_ids, .. } if request_ids == &["req-1"]),
        "{step:?}"
    );
}

/// Quotas whose history shows nothing open until the write, which then finds one (a race).
struct Racing<'a>(&'a FakeQuotas);

impl ports::QuotaApi for Racing<'_> {
    async fn applied_quotas(&self, s: &str) -> Result<Vec<QuotaInfo>, PortError> {
        self.0.applied_quotas(s).await
    }
    async fn default_quotas(&self, s: &str) -> Result<Vec<QuotaInfo>, PortError> {
        self.0.default_quotas(s).await
    }
    async fn applied(&self, s: &str, c: &str) -> Result<Option<QuotaInfo>, PortError> {
        self.0.applied(s, c).await
    }
    async fn default_quota(&self, s: &str, c: &str) -> Result<Option<QuotaInfo>, PortError> {
        self.0.default_quota(s, c).await
    }
    async fn open_requests(&self, s: &str, c: &str) -> Result<Vec<QuotaRequest>, PortError> {
        self.0.open_requests(s, c).await
    }
    async fn request(&self, id: &str) -> Result<Option<QuotaRequest>, PortError> {
        self.0.request(id).await
    }
    async fn request_increase(
        &self,
        s: &str,
        c: &str,
        d: f64,
    ) -> Result<ports::Requested, PortError> {
        // Someone else's request lands first.
        self.0.request_increase(s, c, d).await?;
        Ok(ports::Requested::AlreadyOpen)
    }
}

#[test]
fn the_budget_stops_the_next_action_across_incidents() {
    let w = World::new();
    let mut s = settings("auto");
    s.plan.guards.budget.per_hour = 2;
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let ctx = context(&format!("inc-{i}"));
        let mut ctx = ctx;
        ctx.volumes[0].volume_id = format!("vol-{i}");
        w.volumes.volumes.lock().unwrap().insert(
            format!("vol-{i}"),
            VolumeState {
                volume_id: format!("vol-{i}"),
                volume_type: "gp2".into(),
                size_gib: 20,
                iops: Some(100),
                throughput: None,
            },
        );
        let p = make_plan(&[ebs_finding()], &ctx, &s);
        let r = run(&w, &s, &p, &ctx, now() + TimeDelta::minutes(i));
        outcomes.push(record(&r, ActionKind::EbsVolume).clone());
    }
    assert_eq!(outcomes[0].outcome, Outcome::Executed);
    assert_eq!(outcomes[1].outcome, Outcome::Executed);
    assert_eq!(outcomes[2].outcome, Outcome::Held);
    assert!(
        outcomes[2].detail.starts_with("budget"),
        "{}",
        outcomes[2].detail
    );
    assert_eq!(w.writes()[2], 2);
    // An hour later the budget is back.
    let mut ctx = context("inc-2");
    ctx.volumes[0].volume_id = "vol-2".into();
    let p = make_plan(&[ebs_finding()], &ctx, &s);
    let r = run(&w, &s, &p, &ctx, now() + TimeDelta::minutes(62));
    assert_eq!(outcome(&r, ActionKind::EbsVolume), Outcome::Executed);
}

#[test]
fn the_breaker_opens_after_m_failures_and_says_so() {
    let mut w = World::new();
    w.addons.fail_updates = Some(PortError::Refused {
        service: "eks",
        message: "ResourceInUseException".into(),
    });
    let mut s = settings("auto");
    s.plan.guards.breaker.max_failures = 2;
    let mut last = None;
    for i in 0..3 {
        let ctx = context(&format!("inc-{i}"));
        let r = run(&w, &s, &make_plan(&[throttling()], &ctx, &s), &ctx, now());
        last = Some(record(&r, ActionKind::VpcCniAddon).clone());
        if i < 2 {
            assert_eq!(last.as_ref().unwrap().outcome, Outcome::Failed);
        }
    }
    let last = last.unwrap();
    assert_eq!(last.outcome, Outcome::Held);
    assert!(
        last.detail.starts_with("circuit-breaker"),
        "{}",
        last.detail
    );
    assert_eq!(w.writes()[1], 2, "the third never reached UpdateAddon");
    // Other kinds keep acting.
    w.addons.fail_updates = None;
    let ctx = context("inc-9");
    let r = run(&w, &s, &make_plan(&[ebs_finding()], &ctx, &s), &ctx, now());
    assert_eq!(outcome(&r, ActionKind::EbsVolume), Outcome::Executed);
}

#[test]
fn an_empty_allow_list_allows_nothing_in_auto() {
    let w = World::new();
    let ctx = context("inc-1");
    let mut s = settings("auto");
    s.plan.guards.allow = AllowLists::default();
    let r = run(
        &w,
        &s,
        &make_plan(&[throttling(), ebs_finding()], &ctx, &s),
        &ctx,
        now(),
    );
    for kind in [
        ActionKind::ServiceQuota,
        ActionKind::VpcCniAddon,
        ActionKind::EbsVolume,
    ] {
        let rec = record(&r, kind);
        assert_eq!(rec.outcome, Outcome::Held, "{kind:?}");
        assert!(rec.detail.starts_with("allow-list"), "{}", rec.detail);
    }
    assert_eq!(w.writes(), [0, 0, 0, 0]);
}

#[test]
fn a_volume_modified_within_six_hours_is_not_touched() {
    for (state, ago, blocked) in [
        ("completed", 2, true),
        ("optimizing", 7, true),
        ("completed", 7, false),
    ] {
        let w = World::new();
        w.volumes
            .modifications
            .lock()
            .unwrap()
            .push(VolumeModification {
                volume_id: "vol-1".into(),
                state: state.into(),
                started: Some(now() - TimeDelta::hours(ago)),
            });
        let ctx = context("inc-1");
        let s = settings("auto");
        let r = run(&w, &s, &make_plan(&[ebs_finding()], &ctx, &s), &ctx, now());
        let rec = record(&r, ActionKind::EbsVolume);
        if blocked {
            assert_eq!(rec.outcome, Outcome::Refused, "{state} {ago}h");
            assert!(rec.detail.starts_with("cooldown"), "{}", rec.detail);
            assert_eq!(w.writes()[2], 0);
        } else {
            assert_eq!(rec.outcome, Outcome::Executed, "{}", rec.detail);
        }
    }
}

#[test]
fn ebs_targets_stay_within_the_ceilings() {
    let live = VolumeState {
        volume_id: "v".into(),
        volume_type: "gp3".into(),
        size_gib: 100,
        iops: Some(3000),
        throughput: Some(125),
    };
    let policy = plan::ebs::EbsPolicy::default();
    let t = ebs::target(
        &json!({"VolumeType": "gp3", "Iops": 16000, "Throughput": 1000}),
        &live,
        &policy,
    );
    assert_eq!((t.iops, t.throughput), (Some(4000), Some(500)));
}

#[test]
fn insufficient_capacity_never_becomes_a_quota_request() {
    let w = World::new();
    let mut ctx = context("inc-1");
    ctx.launch_failures = vec![fixtures::launch_failure("InsufficientInstanceCapacity"); 50];
    let s = settings("auto");
    let p = make_plan(&[], &ctx, &s);
    assert!(p.actions.iter().all(|a| a.kind != ActionKind::ServiceQuota));
    let r = run(&w, &s, &p, &ctx, now());
    assert_eq!(w.writes(), [0, 0, 0, 0]);
    assert!(r.records.iter().any(|x| x.action_id
        == "recommendation:insufficient-instance-capacity"
        && x.outcome == Outcome::Recommended));
}

#[test]
fn a_storm_of_500_findings_across_50_nodes_is_one_request_and_one_update() {
    let w = World::new();
    let mut ctx = context("inc-storm");
    ctx.nodes = (0..50).map(|i| format!("i-{i:017x}")).collect();
    ctx.launch_failures = (0..500)
        .map(|i| {
            let mut f = fixtures::launch_failure("VcpuLimitExceeded");
            f.group = Some(format!("eks-ng-{}", i % 3));
            f
        })
        .collect();
    let findings = vec![throttling(); 500];
    let s = settings("auto");
    let p = make_plan(&findings, &ctx, &s);
    // The storm arrives as many invocations of the same incident.
    for i in 0..10 {
        run(&w, &s, &p, &ctx, now() + TimeDelta::seconds(i));
    }
    let [quota_requests, addon_updates, _, _] = w.writes();
    assert!(quota_requests <= 1, "{quota_requests}");
    assert!(addon_updates <= 1, "{addon_updates}");
    assert_eq!((quota_requests, addon_updates), (1, 1));
}

#[test]
fn the_support_case_needs_a_support_plan_and_is_opened_once() {
    let w = World::new();
    let ctx = context("inc-1");
    let mut s = settings("auto");
    let p = make_plan(&[throttling()], &ctx, &s);
    let r = run(&w, &s, &p, &ctx, now());
    assert_eq!(outcome(&r, ActionKind::SupportCase), Outcome::Recommended);
    assert_eq!(w.writes()[3], 0);
    s.plan.support_plan = true;
    let p = make_plan(&[throttling()], &ctx, &s);
    run(&w, &s, &p, &ctx, now());
    run(&w, &s, &p, &ctx, now());
    assert_eq!(w.writes()[3], 1);
    let case = &w.support.cases.lock().unwrap()[0];
    assert_eq!(case.subject, plan::support::SUBJECT);
    assert!(case.body.contains("AssignPrivateIpAddresses"));
}

#[test]
fn a_self_managed_cni_is_a_recommendation() {
    let w = World::new();
    w.addons.addons.lock().unwrap().clear();
    let ctx = context("inc-1");
    let s = settings("auto");
    let r = run(&w, &s, &make_plan(&[throttling()], &ctx, &s), &ctx, now());
    assert_eq!(outcome(&r, ActionKind::VpcCniAddon), Outcome::Recommended);
    assert_eq!(w.writes()[1], 0);
}

#[test]
fn every_decision_is_audited_with_who_what_why() {
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    let p = make_plan(&[throttling()], &ctx, &s);
    let r = run(&w, &s, &p, &ctx, now());
    assert_eq!(w.ledger.records.lock().unwrap().len(), p.actions.len());
    let rec = record(&r, ActionKind::VpcCniAddon);
    assert_eq!(rec.who, s.actor);
    assert_eq!(rec.what["api"], "eks:UpdateAddon");
    assert_eq!(rec.findings, ["ec2-api-throttling"]);
    assert_eq!(rec.incident_id.as_deref(), Some("inc-1"));
    assert!(rec.guards.iter().any(|g| g.guard == "budget" && g.ok));
    let json = serde_json::to_value(rec).unwrap();
    assert_eq!(json["outcome"], "executed");
    assert_eq!(json["mode"], "auto");
}

#[test]
fn env_patches_are_read_back_from_the_plan() {
    let p = addon::env_patch(
        &json!({"env": {"A": "1", "B": "2"}}),
        &json!({"env": {"A": "1", "C": "3"}}),
    );
    assert_eq!(
        p.into_iter().collect::<Vec<_>>(),
        [
            ("B".to_string(), None),
            ("C".to_string(), Some("3".to_string()))
        ]
    );
}

#[test]
fn what_was_started_is_followed_to_its_end() {
    use super::follow::{follow, Tracked};
    let w = World::new();
    let ctx = context("inc-1");
    let s = settings("auto");
    let r = run(
        &w,
        &s,
        &make_plan(&[throttling(), ebs_finding()], &ctx, &s),
        &ctx,
        now(),
    );
    let tracked: Vec<Tracked> = r.records.iter().filter_map(Tracked::from_record).collect();
    assert_eq!(
        tracked,
        [
            Tracked::AddonUpdate {
                cluster: "prod".into(),
                addon: "vpc-cni".into(),
                update_id: "upd-1".into()
            },
            Tracked::VolumeModification {
                volume_id: "vol-1".into()
            },
            Tracked::QuotaRequest {
                request_id: "req-1".into()
            },
        ]
    );
    let states = |last: &[Option<&str>]| {
        tracked
            .iter()
            .zip(last)
            .map(|(t, l)| block_on(follow(&w.quotas, &w.addons, &w.volumes, t, *l)).unwrap())
            .map(|p| (p.status, p.done, p.changed))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        states(&[None, None, None]),
        [
            ("InProgress".to_string(), false, true),
            ("modifying".to_string(), false, true),
            ("PENDING".to_string(), false, true)
        ]
    );
    assert_eq!(
        states(&[Some("InProgress"), Some("modifying"), Some("PENDING")])
            .iter()
            .filter(|s| s.2)
            .count(),
        0,
        "no change, nothing to publish"
    );
    w.addons.updates.lock().unwrap()[0].1.status = "Successful".into();
    w.volumes.modifications.lock().unwrap()[0].state = "completed".into();
    w.quotas.requests.lock().unwrap()[0].status = RequestStatus::Approved;
    assert_eq!(
        states(&[Some("InProgress"), Some("modifying"), Some("PENDING")]),
        [
            ("Successful".to_string(), true, true),
            ("completed".to_string(), true, true),
            ("APPROVED".to_string(), true, true)
        ]
    );
}

#[test]
fn an_approval_held_by_the_budget_can_be_given_again_later() {
    let w = World::new();
    let ctx = context("inc-1");
    let mut s = settings("approve");
    s.plan.guards.budget.per_hour = 1;
    let p = make_plan(&[throttling()], &ctx, &s);
    let r = run(&w, &s, &p, &ctx, now());
    let id = record(&r, ActionKind::VpcCniAddon).action_id.clone();
    // Another incident spent this hour's unit meanwhile.
    block_on(
        w.ledger
            .spend(ActionKind::VpcCniAddon, now(), s.plan.guards.budget),
    )
    .unwrap();
    let ex = w.executor(&s);
    let held = block_on(ex.decide(&p.plan_id, &id, APPROVER, true, now())).unwrap();
    assert_eq!(held.outcome, Outcome::Held, "{}", held.detail);
    assert_eq!(w.writes()[1], 0);
    let later = now() + TimeDelta::minutes(61);
    let done = block_on(ex.decide(&p.plan_id, &id, APPROVER, true, later)).unwrap();
    assert_eq!(done.outcome, Outcome::Executed, "{}", done.detail);
    assert!(block_on(ex.decide(&p.plan_id, &id, APPROVER, true, later)).is_err());
    assert_eq!(w.writes()[1], 1);
}
