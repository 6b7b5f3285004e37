//! The shipped samples: the healthy node is silent, the Monday scale-up shows the support case's
//! chain, and the committed archives match the fixture trees they were packed from.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use eks_remedy_core::render::{render, Format};
use eks_remedy_core::report::Report;
use eks_remedy_core::{Analyzer, Options};
use eks_remedy_tests::{fixtures_dir, repo_root};

const INCIDENT: &str = "samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz";
const HEALTHY: &str = "samples/eks_i-0fedcba9876543210_2026-10-19_0815-UTC_0.7.9.tar.gz";

fn analyze(path: &Path) -> Report {
    let mut r = Analyzer::new()
        .expect("catalogue")
        .analyze(path, &Options::default())
        .expect("analyze");
    r.bundle.source = "<sample>".into();
    r
}

fn sample(rel: &str) -> PathBuf {
    repo_root().join(rel)
}

#[test]
fn healthy_node_full_of_look_alikes_has_no_findings() {
    let r = analyze(&sample(HEALTHY));
    assert!(
        r.findings.is_empty(),
        "{:?}",
        r.findings.iter().map(|f| &f.rule).collect::<Vec<_>>()
    );
    assert_eq!(r.bundle.instance_type.as_deref(), Some("m5.large"));
    assert_eq!(
        r.bundle.kubelet_version.as_deref(),
        Some("v1.30.4-eks-a737599")
    );
    assert_eq!(r.bundle.cluster_version.as_deref(), Some("v1.30"));
    assert_eq!(r.bundle.vpc_cni_version.as_deref(), Some("v1.18.3"));
    assert_eq!(
        r.bundle.kube_proxy_version.as_deref(),
        Some("v1.30.3-eksbuild.5")
    );
    assert_eq!(r.bundle.os.as_deref(), Some("al2"));
    assert!(r.skipped_checks.is_empty(), "{:?}", r.skipped_checks);
}

#[test]
fn monday_scale_up_names_the_io_stall_first() {
    let r = analyze(&sample(INCIDENT));
    let mut rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules[0], "ebs-io-throttling", "likely root cause first");
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "ebs-io-throttling",
            "ec2-api-throttling",
            "image-pull-qps-exceeded",
            "ipamd-apiserver-unreachable",
            "ipamd-grpc-unavailable",
            "iptables-rules-flushed",
            "max-pods-exceeds-ip-capacity",
            "pod-ip-assignment-failed",
        ]
    );
    let rc = r.root_cause.as_ref().expect("chain");
    assert_eq!(
        rc.chain,
        [
            "ebs-io-throttling",
            "ipamd-grpc-unavailable",
            "pod-ip-assignment-failed"
        ]
    );
    let ebs = r.finding("ebs-io-throttling").expect("ebs");
    let since_boot = ebs.first_seen_since_boot_s.expect("boot known");
    assert!(
        (25.0..26.0).contains(&since_boot),
        "hung task reported at +147 s after 122 s blocked: {since_boot}"
    );
    let kinds: Vec<&str> = r.timeline.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "boot",
        "kubelet-start",
        "ipamd-start",
        "apiserver-reachable",
        "first-seen",
        "collected",
    ] {
        assert!(kinds.contains(&k), "timeline lacks {k}");
    }
    assert!(
        r.timeline.windows(2).all(|w| w[0].at <= w[1].at),
        "timeline is ordered"
    );
}

#[test]
fn committed_archives_match_their_fixture_trees() {
    for (archive, tree) in [(INCIDENT, "monday-scale-up"), (HEALTHY, "healthy-node")] {
        let a = analyze(&sample(archive));
        let t = analyze(&fixtures_dir().join("bundles").join(tree));
        let key = |r: &Report| {
            r.findings
                .iter()
                .map(|f| (f.rule.clone(), f.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&t), "{archive} is stale: repack with `gen-bundle pack tests/fixtures/bundles/{tree} {archive}`");
    }
}

#[test]
fn snapshots_of_every_format() {
    let r = analyze(&sample(INCIDENT));
    insta::assert_snapshot!("incident.json", render(&r, Format::Json, false));
    insta::assert_snapshot!("incident.txt", render(&r, Format::Text, false));
    insta::assert_snapshot!("incident.md", render(&r, Format::Markdown, false));
    let html = render(&r, Format::Html, false);
    assert!(html.contains("<svg") && html.contains("</svg>") && html.ends_with("</html>\n"));
    assert!(!html.contains("<script"), "self-contained, no scripts");
    assert!(!html.contains("src=\"http"), "no external assets");
    let healthy = analyze(&sample(HEALTHY));
    insta::assert_snapshot!("healthy.txt", render(&healthy, Format::Text, false));
}

#[test]
fn json_round_trips() {
    let r = analyze(&sample(INCIDENT));
    let json = render(&r, Format::Json, false);
    let back: Report = serde_json::from_str(&json).expect("the contract deserializes");
    assert_eq!(back, r);
}
