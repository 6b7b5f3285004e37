//! The `eks-remedy` binary from the outside: exit codes, formats, `--out`, one-line errors.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use common::*;

#[test]
fn analyze_sample_as_text() {
    let o = run(&["analyze", INCIDENT]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "Likely chain: EBS IO stall → CNI plugin could not reach ipamd → pods without IPs."
        ),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn colour_on_request() {
    let o = run(&["analyze", INCIDENT, "--color", "always"]);
    assert!(stdout(&o).contains("\x1b[1;31m"));
}

#[test]
fn json_contract() {
    let o = run(&["analyze", INCIDENT, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let findings = v["findings"].as_array().expect("findings array");
    assert_eq!(findings.len(), 8);
    for f in findings {
        for key in [
            "rule", "severity", "title", "why", "count", "evidence", "fix", "actions", "docs",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}");
        }
    }
    let b = &v["bundle"];
    assert_eq!(b["instance_id"], "i-0abc12345def67890");
    assert_eq!(b["instance_type"], "m5.large");
    assert!(b["bytes_read"].as_u64().unwrap() > 0);
    assert!(b["members_skipped"].is_object());
    assert_eq!(v["root_cause"]["chain"][0], "ebs-io-throttling");
}

#[test]
fn html_to_file_is_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report.html");
    let o = run(&[
        "analyze",
        INCIDENT,
        "--format",
        "html",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let html = std::fs::read_to_string(out).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg"));
}

#[test]
fn markdown() {
    let o = run(&["analyze", INCIDENT, "--format", "markdown"]);
    assert!(stdout(&o).starts_with("# eks-remedy report"));
}

#[test]
fn log_text_is_escaped_in_html_and_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bundle/kubelet");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("kubelet.log"),
        "Oct 19 05:13:03 ip-10-0-1-23 kubelet[1]: E1019 05:13:03.291420 1 x.go:1] <script>alert(1)</script> | pull QPS exceeded\n",
    )
    .unwrap();
    let bundle = tmp.path().join("bundle");
    let html = stdout(&run(&[
        "analyze",
        bundle.to_str().unwrap(),
        "--format",
        "html",
    ]));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"));
    let md = stdout(&run(&[
        "analyze",
        bundle.to_str().unwrap(),
        "--format",
        "markdown",
    ]));
    assert!(md.contains("\\| pull QPS exceeded"), "table pipes escaped");
}

#[test]
fn unusable_input_exits_2_with_one_line() {
    for (args, says) in [
        (
            vec!["analyze", "no/such/bundle.tar.gz"],
            "cannot open no/such/bundle.tar.gz",
        ),
        (vec!["analyze", "Cargo.toml"], "is not a log bundle"),
        (vec!["analyze", "cli"], "holds no EKS Logs Collector files"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(says), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn bad_flags_exit_2() {
    assert_eq!(
        run(&["analyze", INCIDENT, "--format", "pdf"]).status.code(),
        Some(2)
    );
    let o = run(&["analyze", INCIDENT, "--max-line-bytes", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line limit"));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn limits_are_overridable() {
    let o = run(&[
        "analyze",
        INCIDENT,
        "--format",
        "json",
        "--max-total-bytes",
        "10K",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["bundle"]["limits"]["max_total_bytes"], 10240);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "bundle-incomplete"));
}

#[test]
fn instance_type_flag_decides_max_pods() {
    let fixture = root().join("tests/fixtures/rules/max-pods-exceeds-ip-capacity/hit");
    let o = run(&[
        "analyze",
        fixture.to_str().unwrap(),
        "--format",
        "json",
        "--instance-type",
        "m5.4xlarge",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["bundle"]["instance_type"], "m5.4xlarge");
    assert!(
        v["findings"].as_array().unwrap().is_empty(),
        "m5.4xlarge has IPs for 29 pods even with custom networking"
    );
}

#[test]
fn rules_lists_the_catalogue() {
    let out = stdout(&run(&["rules"]));
    assert_eq!(out.lines().count(), eks_remedy_core::rules::ids().len());
    assert!(out.contains("ipamd-grpc-unavailable"));
}

#[test]
fn rules_literals_are_what_the_scanner_searches() {
    let out = stdout(&run(&["rules", "--literals"]));
    let printed: Vec<&str> = out.lines().collect();
    assert_eq!(printed, eks_remedy_core::rules::literals());
    assert!(printed.contains(&"RequestLimitExceeded"));
}
