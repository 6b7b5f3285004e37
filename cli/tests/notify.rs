//! `eks-remedy notify`, black box: dry runs for every target, the HTML preview, real deliveries to
//! a recording server on 127.0.0.1, and the errors a user meets first.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eks_remedy_chat::signing;
use eks_remedy_chat::testing::{RecordingServer, Reply};
use serde_json::Value;

/// Every variable `notify` reads, cleared so the developer's own environment cannot leak in.
const VARS: [&str; 6] = [
    "EKS_REMEDY_SLACK_TOKEN",
    "EKS_REMEDY_SLACK_API_URL",
    "EKS_REMEDY_SLACK_WEBHOOK_URL",
    "EKS_REMEDY_TEAMS_WEBHOOK_URL",
    "EKS_REMEDY_WEBHOOK_URL",
    "EKS_REMEDY_WEBHOOK_SECRET",
];

const TOKEN: &str = "xoxb-111-222-NOTIFYSECRET";

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eks-remedy"));
    c.args(args).current_dir(common::root());
    for v in VARS {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run eks-remedy")
}

/// The sample incident's report and a plan in which one action waits for approval.
struct Inputs {
    _dir: tempfile::TempDir,
    report: PathBuf,
    plan: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.json");
    let o = common::run(&[
        "analyze",
        common::INCIDENT,
        "--format",
        "json",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let o = common::run(&[
        "plan",
        report.to_str().unwrap(),
        "--format",
        "json",
        "--mode",
        "ebs-volume=approve",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    // Offline the guards hold every approve-mode action; make one wait for approval as it would
    // once its guards pass in the account.
    let mut plan: Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    let action = plan["actions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["kind"] == "ebs-volume")
        .expect("an ebs-volume action");
    action["decision"] = "await-approval".into();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    Inputs {
        _dir: dir,
        report,
        plan: plan_path,
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `notify` for the sample incident and its plan, on cluster `prod`, then `rest`.
fn notify<'a>(i: &'a Inputs, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "notify",
        "--report",
        p(&i.report),
        "--plan",
        p(&i.plan),
        "--cluster",
        "prod",
    ];
    args.extend_from_slice(rest);
    args
}

fn dry_run(i: &Inputs, target: &str) -> Value {
    let o = run_env(
        &notify(i, &["--target", target, "--channel", "C0123", "--dry-run"]),
        &[],
    );
    assert!(o.status.success(), "{target}: {}", common::stderr(&o));
    serde_json::from_slice(&o.stdout).expect("dry run prints JSON")
}

#[test]
fn dry_run_prints_each_targets_payload_without_any_secret() {
    let i = inputs();
    let slack = dry_run(&i, "slack");
    assert_eq!(slack["channel"], "C0123");
    assert_eq!(slack["unfurl_links"], false);
    assert!(slack["text"].as_str().unwrap().contains("prod"));
    let blocks = slack["blocks"].to_string();
    // Buttons name the action by its index in the plan, as `eks-remedy approve --action N` does.
    assert!(blocks.contains("\"action_id\":\"approve:1\""), "{blocks}");

    let hook = dry_run(&i, "slack-webhook");
    assert!(hook.get("channel").is_none());
    assert!(!hook["blocks"].to_string().contains("\"actions\""));
    assert!(hook["blocks"].to_string().contains("eks-remedy approve"));

    let teams = dry_run(&i, "teams");
    assert_eq!(teams["type"], "message");
    assert_eq!(teams["attachments"][0]["content"]["version"], "1.5");

    let q = dry_run(&i, "q");
    assert_eq!(q["version"], "1.0");
    assert_eq!(q["source"], "custom");

    let webhook = dry_run(&i, "webhook");
    assert_eq!(webhook["type"], "eks-remedy.incident");
    assert_eq!(webhook["incident"]["cluster"], "prod");
    assert_eq!(
        webhook["incident"]["plan"]["actions"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

#[test]
fn preview_writes_one_self_contained_page_with_every_target() {
    let i = inputs();
    let out = i.report.with_file_name("preview.html");
    let o = run_env(&notify(&i, &["--preview", p(&out)]), &[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for id in ["slack", "slack-webhook", "teams", "q", "webhook"] {
        assert!(page.contains(&format!("<h2 id=\"{id}\">")), "{id}");
    }
    assert!(page.contains("class=\"btn primary\">Approve"));
    assert!(!page.contains("<script") && !page.contains("src="));
}

#[test]
fn sends_to_the_slack_api_what_the_dry_run_shows_and_reports_the_ts() {
    let i = inputs();
    let server = RecordingServer::start();
    server.script([Reply::slack_posted("C0123", "1793000000.000200")]);
    let api = server.url("/api/");
    let o = run_env(
        &notify(&i, &["--target", "slack", "--channel", "C0123"]),
        &[
            ("EKS_REMEDY_SLACK_TOKEN", TOKEN),
            ("EKS_REMEDY_SLACK_API_URL", &api),
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(
        common::stdout(&o).trim(),
        "sent to slack (channel C0123, ts 1793000000.000200)"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url, "/api/chat.postMessage");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(reqs[0].json(), dry_run(&i, "slack"));
}

#[test]
fn sends_a_signed_webhook_and_a_teams_card() {
    let i = inputs();
    let server = RecordingServer::start();
    let hook = server.url("/in/hook");
    let o = run_env(
        &notify(&i, &["--target", "webhook"]),
        &[
            ("EKS_REMEDY_WEBHOOK_URL", &hook),
            ("EKS_REMEDY_WEBHOOK_SECRET", "whsec-1"),
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let teams = server.url("/workflows/abc/triggers/manual/paths/invoke?sig=SIG");
    server.script([Reply::Status(202, String::new(), "text/plain")]);
    let o = run_env(
        &notify(&i, &["--target", "teams"]),
        &[("EKS_REMEDY_TEAMS_WEBHOOK_URL", &teams)],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let w = &reqs[0];
    let ts = w.header(signing::TIMESTAMP_HEADER).unwrap();
    let sig = w.header(signing::SIGNATURE_HEADER).unwrap();
    assert_eq!(
        signing::verify(b"whsec-1", ts, sig, &w.body, std::time::SystemTime::now()),
        Ok(())
    );
    assert_eq!(w.json(), dry_run(&i, "webhook"));
    assert_eq!(
        reqs[1].url,
        "/workflows/abc/triggers/manual/paths/invoke?sig=SIG"
    );
    assert_eq!(reqs[1].json(), dry_run(&i, "teams"));
}

#[test]
fn a_missing_secret_is_a_clear_usage_error() {
    let i = inputs();
    for (target, var) in [
        ("slack", "EKS_REMEDY_SLACK_TOKEN"),
        ("slack-webhook", "EKS_REMEDY_SLACK_WEBHOOK_URL"),
        ("teams", "EKS_REMEDY_TEAMS_WEBHOOK_URL"),
        ("webhook", "EKS_REMEDY_WEBHOOK_URL"),
    ] {
        let o = run_env(
            &[
                "notify",
                "--report",
                p(&i.report),
                "--target",
                target,
                "--channel",
                "C1",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{target}");
        assert!(
            common::stderr(&o).contains(&format!("environment variable {var} is not set")),
            "{target}: {}",
            common::stderr(&o)
        );
    }
    // The webhook also needs its signing key.
    let o = run_env(
        &["notify", "--report", p(&i.report), "--target", "webhook"],
        &[("EKS_REMEDY_WEBHOOK_URL", "https://hooks.example.com/x")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("EKS_REMEDY_WEBHOOK_SECRET"));
    // Amazon Q goes through SNS: the CLI only shows the message.
    let o = run_env(&["notify", "--report", p(&i.report), "--target", "q"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("--dry-run"));
}

#[test]
fn a_rejected_delivery_exits_1_naming_the_target_never_the_url() {
    let i = inputs();
    let server = RecordingServer::start();
    server.set_default(Reply::status(404));
    let url = server.url("/services/T0/B0/HOOKSECRET");
    let o = run_env(
        &[
            "notify",
            "--report",
            p(&i.report),
            "--target",
            "slack-webhook",
        ],
        &[
            ("EKS_REMEDY_SLACK_WEBHOOK_URL", &url),
            ("EKS_REMEDY_LOG", "trace"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = common::stderr(&o);
    assert!(err.contains("slack-webhook: rejected: HTTP 404"), "{err}");
    assert!(
        !err.contains("HOOKSECRET") && !err.contains("/services/"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_sending() {
    let i = inputs();
    let o = run_env(
        &["notify", "--report", p(&i.report), "--target", "teams"],
        &[(
            "EKS_REMEDY_TEAMS_WEBHOOK_URL",
            "http://example.com/hook?sig=SECRETSIG",
        )],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = common::stderr(&o);
    assert!(err.contains("teams: the URL must use https"), "{err}");
    assert!(!err.contains("SECRETSIG"));
}

#[test]
fn the_secret_can_come_from_a_file() {
    let i = inputs();
    let server = RecordingServer::start();
    let secret_file = i.report.with_file_name("hook-url");
    std::fs::write(&secret_file, format!("{}\n", server.url("/hook"))).unwrap();
    let o = run_env(
        &[
            "notify",
            "--report",
            p(&i.report),
            "--target",
            "slack-webhook",
            "--secret-file",
            p(&secret_file),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(server.requests()[0].url, "/hook");
}

#[test]
fn help_documents_where_secrets_come_from() {
    let o = run_env(&["notify", "--help"], &[]);
    assert!(o.status.success());
    let help = common::stdout(&o);
    for v in VARS {
        assert!(help.contains(v), "{v} undocumented");
    }
}
