//! `eks-remedy plan` from the outside: the JSON contract on the shipped sample, the ladder flags,
//! and one-line refusals of unusable input.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};

use common::{run, INCIDENT};
use serde_json::Value;

/// The sample's report, written where `plan` can read it.
fn sample_report(dir: &Path) -> PathBuf {
    let out = dir.join("report.json");
    let o = run(&[
        "analyze",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
        INCIDENT,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn plan_json(args: &[&str]) -> Value {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("plan JSON")
}

#[test]
fn the_sample_plan_follows_the_contract_and_changes_nothing_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let report = sample_report(dir.path());
    let p = plan_json(&["plan", "--format", "json", report.to_str().unwrap()]);
    assert!(p["plan_id"].as_str().unwrap().starts_with("plan-"));
    let actions = p["actions"].as_array().unwrap();
    let kinds: Vec<&str> = actions
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"vpc-cni-addon"), "{kinds:?}");
    assert!(kinds.contains(&"support-case"), "{kinds:?}");
    assert!(kinds.contains(&"ebs-volume"), "{kinds:?}");
    assert!(kinds.contains(&"recommendation"), "{kinds:?}");
    for a in actions {
        for key in ["kind", "mode", "finding", "target", "change", "guards"] {
            assert!(a.get(key).is_some(), "{key} missing in {a}");
        }
        assert!(a["change"].get("before").is_some() && a["change"].get("after").is_some());
        assert_ne!(a["decision"], "execute", "nothing executes by default: {a}");
        let mode = a["mode"].as_str().unwrap();
        assert!(
            ["dry-run", "recommend"].contains(&mode),
            "default ladder: {mode}"
        );
    }
    // Same input, same plan id: a replayed plan is recognised, not re-made.
    let again = plan_json(&["plan", "--format", "json", report.to_str().unwrap()]);
    assert_eq!(again["plan_id"], p["plan_id"]);
}

#[test]
fn modes_are_set_per_kind_and_auto_without_allow_lists_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let report = sample_report(dir.path());
    let p = plan_json(&[
        "plan",
        "--format",
        "json",
        "--mode",
        "ebs-volume=auto",
        "--mode",
        "vpc-cni-addon=approve",
        report.to_str().unwrap(),
    ]);
    let by_kind = |k: &str| {
        p["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == k)
            .cloned()
            .unwrap()
    };
    let ebs = by_kind("ebs-volume");
    assert_eq!(ebs["mode"], "auto");
    assert_eq!(
        ebs["decision"], "held",
        "an empty allow-list allows nothing in auto"
    );
    assert_eq!(by_kind("vpc-cni-addon")["mode"], "approve");
}

#[test]
fn text_output_shows_the_support_case_subject() {
    let dir = tempfile::tempdir().unwrap();
    let report = sample_report(dir.path());
    let o = run(&["plan", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("subject: Request an increase in my Amazon EC2 API throttling limits"),
        "{out}"
    );
}

#[test]
fn unusable_input_and_settings_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{\"foo\": 1}").unwrap();
    for args in [
        vec!["plan", "/nonexistent/report.json"],
        vec!["plan", not_json.to_str().unwrap()],
        vec!["plan", dir.path().to_str().unwrap()],
        vec![
            "plan",
            "--mode",
            "ebs-volume=maybe",
            not_json.to_str().unwrap(),
        ],
        vec![
            "plan",
            "--mode",
            "recommendation=auto",
            not_json.to_str().unwrap(),
        ],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn bundle_text_in_findings_reaches_neither_format_raw() {
    let dir = tempfile::tempdir().unwrap();
    let incident = dir.path().join("incident.json");
    let hostile = "x\u{1b}]0;owned\u{7}\u{9b}2J\u{202e}y";
    let finding = serde_json::json!({
        "rule": "iptables-rules-flushed", "severity": "high", "title": hostile, "summary": hostile,
        "why": "", "count": 1, "first_seen": null, "last_seen": null, "first_seen_since_boot_s": null,
        "evidence": [], "details": {}, "fix": [{"target": "user-data", "instruction": hostile, "snippet": hostile}],
        "actions": [{"kind": "user-data-review", "remove": [hostile]}], "docs": [],
        "root_cause": false, "caused_by": []
    });
    std::fs::write(
        &incident,
        serde_json::json!({"findings": [finding], "context": {"cluster": hostile}}).to_string(),
    )
    .unwrap();
    for format in ["text", "json"] {
        let o = run(&["plan", "--format", format, incident.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{format}");
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            !out.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
            "{format}: {out:?}"
        );
    }
}
