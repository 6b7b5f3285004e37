//! Every rule: its hit fixture fires it, its miss fixture (the look-alikes) does not, the folder and
//! the packed archive give the same findings, and the finding's JSON is snapshotted. Besides `hit` and
//! `miss`, a rule may have more cases as `hit-<case>` / `miss-<case>` trees (built from real lines, see
//! `tests/fixtures/real/README.md`); each is checked the same way, snapshotted as `hit-<id>-<case>`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use eks_remedy_core::report::Report;
use eks_remedy_core::{Analyzer, Options};
use eks_remedy_tests::{fixtures_dir, pack_temp};

/// What the pipeline would add from the AWS APIs, for rules that need it: `<kind>.options.json`.
#[derive(serde::Deserialize, Default)]
struct FixtureOptions {
    cluster: Option<eks_remedy_core::facts::ClusterContext>,
}

fn options_for(path: &Path) -> Options {
    let file = path.with_extension("options.json");
    let extra: FixtureOptions = std::fs::read_to_string(&file)
        .map(|t| serde_json::from_str(&t).expect("options.json"))
        .unwrap_or_default();
    Options {
        cluster: extra.cluster,
        ..Options::default()
    }
}

fn analyze(path: &Path) -> Report {
    let analyzer = Analyzer::new().expect("catalogue compiles");
    let mut r = analyzer
        .analyze(path, &options_for(path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.bundle.source = "<fixture>".into();
    r
}

/// `rules/<id>/hit` (a tree) or `rules/<id>/hit.tar.gz` (damage cannot be a tree).
fn fixture(rule: &str, kind: &str) -> PathBuf {
    let dir = fixtures_dir().join("rules").join(rule);
    let tree = dir.join(kind);
    if tree.is_dir() {
        tree
    } else {
        dir.join(format!("{kind}.tar.gz"))
    }
}

/// The rule's `kind` fixtures: the main one (label empty) and every `<kind>-<case>` tree, by name.
fn fixtures(rule: &str, kind: &str) -> Vec<(String, PathBuf)> {
    let mut out = vec![(String::new(), fixture(rule, kind))];
    let dir = fixtures_dir().join("rules").join(rule);
    let prefix = format!("{kind}-");
    let mut extra: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("rule fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let case = name.strip_prefix(&prefix)?.to_string();
            Some((case, p))
        })
        .collect();
    extra.sort();
    out.extend(extra);
    out
}

fn snapshot_name(kind: &str, id: &str, case: &str) -> String {
    if case.is_empty() {
        format!("{kind}-{id}")
    } else {
        format!("{kind}-{id}-{case}")
    }
}

fn fired(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn every_rule_has_a_hit_and_a_miss_fixture() {
    for id in eks_remedy_core::rules::ids() {
        for kind in ["hit", "miss"] {
            assert!(fixture(id, kind).exists(), "missing fixture {id}/{kind}");
        }
    }
}

#[test]
fn hit_fixtures_fire_exactly_their_rule() {
    for id in eks_remedy_core::rules::ids() {
        for (case, path) in fixtures(id, "hit") {
            let name = snapshot_name("hit", id, &case);
            let report = analyze(&path);
            assert_eq!(
                fired(&report),
                vec![id],
                "{name} fired {:?}",
                fired(&report)
            );
            let f = report.finding(id).expect("fired");
            assert!(f.count > 0, "{name}: count");
            assert!(!f.evidence.is_empty(), "{name}: evidence");
            assert!(
                f.evidence.iter().all(
                    |e| e.excerpt.chars().count() <= eks_remedy_core::report::MAX_EXCERPT_CHARS
                ),
                "{name}: excerpt bound"
            );
            assert!(!f.fix.is_empty(), "{name}: fix");
            assert!(!f.docs.is_empty(), "{name}: docs");
            insta::assert_json_snapshot!(name, f);
        }
    }
}

#[test]
fn miss_fixtures_fire_nothing() {
    for id in eks_remedy_core::rules::ids() {
        for (case, path) in fixtures(id, "miss") {
            let report = analyze(&path);
            assert!(
                report.findings.is_empty(),
                "{} fired {:?}",
                snapshot_name("miss", id, &case),
                fired(&report)
            );
        }
    }
}

#[test]
fn folder_and_archive_give_the_same_findings() {
    for (id, dir) in eks_remedy_core::rules::ids()
        .into_iter()
        .flat_map(|id| fixtures(id, "hit").into_iter().map(move |(_, p)| (id, p)))
    {
        if !dir.is_dir() {
            continue;
        }
        let from_dir = analyze(&dir);
        let packed = pack_temp(&dir, None).expect("pack");
        let from_tar = Analyzer::new()
            .expect("catalogue")
            .analyze(&packed.path, &options_for(&dir))
            .expect("analyze");
        let lead = pack_temp(
            &dir,
            Some("eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9"),
        )
        .expect("pack");
        let from_lead = Analyzer::new()
            .expect("catalogue")
            .analyze(&lead.path, &options_for(&dir))
            .expect("analyze");
        // The archive's name carries the collection date, which can only add timestamps.
        let strip = |r: &Report| {
            r.findings
                .iter()
                .map(|f| {
                    (
                        f.rule.clone(),
                        f.count,
                        f.evidence
                            .iter()
                            .map(|e| (e.file.clone(), e.line, e.excerpt.clone()))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(&from_dir),
            strip(&from_tar),
            "{id}: folder vs archive"
        );
        assert_eq!(
            strip(&from_tar),
            strip(&from_lead),
            "{id}: ./ vs leading folder"
        );
    }
}

#[test]
fn kubelet_serving_cert_lines_in_the_first_minute_are_grace_not_findings() {
    let r = analyze(&fixture("kubelet-serving-cert-missing", "hit"));
    let f = r.finding("kubelet-serving-cert-missing").expect("fires");
    assert_eq!(
        f.count, 4,
        "05:10:48 is within 60 s of the 05:10:41 start; four later lines count"
    );
    assert_eq!(f.details["in_grace"], 1);
}

#[test]
fn kubelet_line_in_journal_and_syslog_counts_once() {
    let r = analyze(&fixture("image-pull-qps-exceeded", "hit"));
    assert_eq!(
        r.finding("image-pull-qps-exceeded").map(|f| f.count),
        Some(2),
        "3 lines, one duplicated in var_log/messages"
    );
}

#[test]
fn kernel_views_are_not_summed() {
    let r = analyze(&fixture("conntrack-table-full", "hit"));
    assert_eq!(
        r.finding("conntrack-table-full").map(|f| f.count),
        Some(3),
        "3 in dmesg and the same 3 in syslog"
    );
}

#[test]
fn throttled_apis_are_named_for_both_sdk_texts() {
    let r = analyze(&fixture("ec2-api-throttling", "hit"));
    let f = r.finding("ec2-api-throttling").expect("fires");
    assert_eq!(
        f.details["log_lines_by_api"],
        serde_json::json!({"AssignPrivateIpAddresses": 2, "CreateNetworkInterface": 1})
    );
    assert_eq!(
        f.details["metric_by_api"],
        serde_json::json!({"AssignPrivateIpAddresses": 37, "CreateNetworkInterface": 4})
    );
}

#[test]
fn max_pods_ceiling_uses_custom_networking() {
    let r = analyze(&fixture("max-pods-exceeds-ip-capacity", "hit"));
    let f = r.finding("max-pods-exceeds-ip-capacity").expect("fires");
    assert_eq!(f.details["ip_ceiling"], 20);
    assert_eq!(f.details["max_pods"], 29);
    assert!(f.actions.iter().any(|a| serde_json::to_value(a).ok()
        == Some(serde_json::json!({"kind":"kubelet-config","set":{"maxPods":20}}))));
}

#[test]
fn max_pods_without_instance_type_is_reported_as_undecided() {
    let dir = fixture("max-pods-exceeds-ip-capacity", "hit");
    let tmp = tempfile::tempdir().expect("tmp");
    for sub in ["kubelet", "ipamd"] {
        std::fs::create_dir_all(tmp.path().join(sub)).expect("mkdir");
    }
    for f in [
        "kubelet/kubelet-config.json",
        "ipamd/ipamd-env-settings.json",
    ] {
        std::fs::copy(dir.join(f), tmp.path().join(f)).expect("copy");
    }
    let r = analyze(tmp.path());
    assert!(r.finding("max-pods-exceeds-ip-capacity").is_none());
    let skipped = r
        .skipped_checks
        .iter()
        .find(|s| s.rule == "max-pods-exceeds-ip-capacity")
        .expect("skipped");
    assert!(
        skipped.reason.contains("instance type unknown"),
        "{}",
        skipped.reason
    );
    let analyzer = Analyzer::new().expect("catalogue");
    let opts = Options {
        instance_type: Some("m5.large".into()),
        ..Options::default()
    };
    let with_flag = analyzer.analyze(tmp.path(), &opts).expect("analyze");
    assert!(
        with_flag.finding("max-pods-exceeds-ip-capacity").is_some(),
        "--instance-type decides it"
    );
    assert_eq!(
        with_flag.bundle.instance_type_source.as_deref(),
        Some("flag")
    );
}

/// ipamd logs one refused CreateNetworkInterface up to four times (awsutils' error, a debug echo,
/// the pool error and a warning): the count is refusals, not lines.
#[test]
fn eni_quota_refusals_count_once_whatever_the_echoes() {
    for (case, calls) in [("hit", 2), ("hit-sdk-v2", 1)] {
        let r = analyze(&fixture("eni-quota-exceeded", case));
        let f = r.finding("eni-quota-exceeded").expect("fires");
        assert_eq!(f.count, calls, "{case}");
        assert_eq!(f.details["refused_calls"], calls, "{case}");
        assert_eq!(f.details["failed_pool_increases"], calls, "{case}");
        assert_eq!(
            f.details["subnets"],
            serde_json::json!({"subnet-0b1c2d3e4f5a6b7c8": calls}),
            "{case}"
        );
    }
}

/// The same ipamd lines with a rate limit or a full subnet instead of the ENI quota are other
/// rules' findings, never this one.
#[test]
fn create_network_interface_refused_for_other_reasons_is_not_the_eni_quota() {
    let r = analyze(
        &fixtures_dir()
            .join("rules")
            .join("eni-quota-exceeded")
            .join("other-rules"),
    );
    let mut rules = fired(&r);
    rules.sort_unstable();
    assert_eq!(rules, vec!["ec2-api-throttling", "subnet-ip-exhaustion"]);
}

/// Pods without IPs after ipamd was refused ENIs name the quota as their cause.
#[test]
fn the_eni_quota_is_linked_as_the_cause_of_pods_without_ips() {
    let tmp = tempfile::tempdir().expect("tmp");
    let log = "var_log/aws-routed-eni/ipamd.log";
    std::fs::create_dir_all(tmp.path().join("var_log/aws-routed-eni")).expect("mkdir");
    let quota =
        std::fs::read_to_string(fixture("eni-quota-exceeded", "hit").join(log)).expect("hit log");
    let empty_pool = std::fs::read_to_string(fixture("pod-ip-assignment-failed", "hit").join(log))
        .expect("pod log");
    std::fs::write(tmp.path().join(log), format!("{quota}{empty_pool}")).expect("write");
    let r = analyze(tmp.path());
    let pods = r
        .finding("pod-ip-assignment-failed")
        .expect("pods without IPs");
    assert_eq!(pods.caused_by, ["eni-quota-exceeded"]);
    let quota = r.finding("eni-quota-exceeded").expect("quota");
    assert!(quota.root_cause);
}
