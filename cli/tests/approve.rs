//! `eks-remedy approve`, black box: the real binary against a recording server on 127.0.0.1, with
//! static test credentials and AWS config files pointed at an empty temporary folder, so nothing of
//! the machine's own AWS setup is read. The SigV4 signature is verified by recomputing it from the
//! request as the server received it.

#![cfg(feature = "aws")]
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4;
use eks_remedy_chat::testing::{Recorded, RecordingServer, Reply};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY_ID: &str = "AKIDAPPROVETEST0KEY1";
const SECRET_KEY: &str = "approveTestSecret/0123456789+abcdefghijKLMN";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjApproveTestSessionToken0123456789";
const REGION: &str = "us-west-2";
const PLAN: &str = "plan-0123456789abcdef";

/// Runs `eks-remedy approve <args>` with only the variables given here (and test credentials
/// unless `creds` is false): no developer profile, SSO cache or instance role can leak in.
fn run_with(args: &[&str], extra: &[(&str, &str)], creds: bool) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    let mut c = Command::new(env!("CARGO_BIN_EXE_eks-remedy"));
    c.arg("approve")
        .args(args)
        .current_dir(common::root())
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if creds {
        c.env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    }
    for (k, v) in extra {
        c.env(k, v);
    }
    c.output().expect("run eks-remedy")
}

fn run(args: &[&str]) -> Output {
    run_with(args, &[("AWS_REGION", REGION)], true)
}

fn decided(action: u64, id: &str, outcome: &str, detail: &str) -> Value {
    json!({"action": action, "action_id": id, "outcome": outcome, "detail": detail})
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Neither credential nor signature may appear in what the user sees.
fn assert_no_secrets(o: &Output, r: Option<&Recorded>) {
    let all = format!(
        "{}{}",
        common::stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut secrets = vec![SECRET_KEY, SESSION_TOKEN];
    let signature;
    if let Some(r) = r {
        signature = r
            .header("authorization")
            .and_then(|a| a.split("Signature=").nth(1))
            .unwrap_or("")
            .to_string();
        secrets.push(&signature);
    }
    for s in secrets.into_iter().filter(|s| !s.is_empty()) {
        assert!(!all.contains(s), "a secret leaked into the output:\n{all}");
    }
    assert!(
        !all.to_ascii_lowercase().contains("aws4-hmac-sha256"),
        "{all}"
    );
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
struct Authorization {
    key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_authorization(value: &str) -> Authorization {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_else(|| panic!("not SigV4: {value}"));
    let parts: Vec<&str> = rest.split(", ").collect();
    assert_eq!(parts.len(), 3, "{value}");
    let credential = parts[0].strip_prefix("Credential=").expect("Credential=");
    let scope: Vec<&str> = credential.split('/').collect();
    assert_eq!(scope.len(), 5, "{credential}");
    assert_eq!(scope[4], "aws4_request");
    let signed = parts[1]
        .strip_prefix("SignedHeaders=")
        .expect("SignedHeaders=");
    let signature = parts[2].strip_prefix("Signature=").expect("Signature=");
    Authorization {
        key_id: scope[0].into(),
        date: scope[1].into(),
        region: scope[2].into(),
        service: scope[3].into(),
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature: signature.into(),
    }
}

/// The SigV4 signature of `r` as the server received it (method, path, the signed headers' values,
/// the body), computed here from the canonical request: what AWS does before it invokes the
/// function. Only the key derivation and the final HMAC come from `aws-sigv4`.
fn expected_signature(r: &Recorded, body: &[u8], auth: &Authorization) -> String {
    let amz_date = r.header("x-amz-date").expect("x-amz-date");
    let (path, query) = r.url.split_once('?').unwrap_or((&r.url, ""));
    let mut canonical = format!("{}\n{path}\n{query}\n", r.method);
    for h in &auth.signed_headers {
        let v = r
            .header(h)
            .unwrap_or_else(|| panic!("signed header {h} not sent"));
        canonical.push_str(&format!("{h}:{}\n", v.trim()));
    }
    canonical.push_str(&format!(
        "\n{}\n{}",
        auth.signed_headers.join(";"),
        sha256_hex(body)
    ));
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .expect("x-amz-date format")
        .and_utc();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(time.timestamp() as u64);
    let key = v4::generate_signing_key(SECRET_KEY, time, &auth.region, &auth.service);
    v4::calculate_signature(key, string_to_sign.as_bytes())
}

/// Checks the request's SigV4 signature from scratch; returns the parsed header.
fn verify_signed(r: &Recorded, region: &str) -> Authorization {
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let auth = parse_authorization(r.header("authorization").expect("authorization header"));
    assert_eq!(auth.key_id, KEY_ID);
    assert_eq!(auth.region, region);
    assert_eq!(auth.service, "lambda");
    let amz_date = r.header("x-amz-date").expect("x-amz-date");
    assert_eq!(
        &amz_date[..8],
        auth.date,
        "scope date is the request's date"
    );
    for h in [
        "content-type",
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amz-security-token",
    ] {
        assert!(
            auth.signed_headers.iter().any(|s| s == h),
            "{h} not signed: {:?}",
            auth.signed_headers
        );
    }
    assert_eq!(r.header("x-amz-security-token"), Some(SESSION_TOKEN));
    assert_eq!(
        r.header("x-amz-content-sha256"),
        Some(sha256_hex(&r.body).as_str())
    );
    assert_eq!(auth.signature.len(), 64);
    assert!(auth
        .signature
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(
        auth.signature,
        expected_signature(r, &r.body, &auth),
        "the signature does not verify over the request as received"
    );
    // The check is not vacuous: one changed byte of the body no longer verifies.
    let mut tampered = r.body.clone();
    tampered[0] ^= 1;
    assert_ne!(auth.signature, expected_signature(r, &tampered, &auth));
    auth
}

#[test]
fn approving_one_action_posts_the_contract_signed_with_the_callers_credentials() {
    let server = RecordingServer::start();
    server.set_default(Reply::json(&json!({
        "plan_id": PLAN,
        "decisions": [decided(2, "vpc-cni-addon:prod/vpc-cni", "executed", "UpdateAddon update 4f1c… in progress")],
    })));
    let url = server.url("/");
    let o = run(&[PLAN, "--action", "2", "--url", &url]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.url, "/");
    assert_eq!(
        String::from_utf8(r.body.clone()).unwrap(),
        format!(r#"{{"approve":{{"plan_id":"{PLAN}","action":2,"verdict":"approve"}}}}"#)
    );
    verify_signed(r, REGION);
    assert_eq!(
        r.header("host"),
        Some(url.trim_start_matches("http://").trim_end_matches('/'))
    );
    let out = common::stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains(PLAN) && lines[0].contains("1 action(s) decided"));
    for part in [
        "action 2",
        "vpc-cni-addon:prod/vpc-cni",
        "executed",
        "UpdateAddon update 4f1c… in progress",
    ] {
        assert!(lines[1].contains(part), "{part} missing: {}", lines[1]);
    }
    assert_no_secrets(&o, Some(r));
}

#[test]
fn rejecting_a_whole_plan_omits_the_action_and_signs_for_the_given_region() {
    let server = RecordingServer::start();
    server.set_default(Reply::json(&json!({
        "plan_id": PLAN,
        "decisions": [
            decided(0, "ebs-volume:vol-0abc", "rejected", "rejected by arn:aws:iam::111122223333:user/ops"),
            decided(3, "service-quota:ec2/L-1216C47A", "rejected", ""),
        ],
    })));
    // The URL from the environment, the Region from --region (a loopback URL names none), and no
    // AWS_REGION at all.
    let o = run_with(
        &[PLAN, "--reject", "--region", "eu-central-1"],
        &[("EKS_REMEDY_APPROVAL_URL", &server.url("/approve"))],
        true,
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let r = &server.requests()[0];
    assert_eq!(r.url, "/approve");
    let body = r.json();
    assert_eq!(
        body,
        json!({"approve": {"plan_id": PLAN, "verdict": "reject"}})
    );
    assert!(body["approve"].get("action").is_none());
    verify_signed(r, "eu-central-1");
    let out = common::stdout(&o);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("action 0"));
    assert!(out.lines().nth(2).unwrap().starts_with("action 3"));
    assert_no_secrets(&o, Some(r));
}

#[test]
fn json_format_prints_the_answer_as_it_came() {
    let server = RecordingServer::start();
    let answer = json!({
        "plan_id": PLAN,
        "decisions": [decided(1, "ebs-volume:vol-0abc", "held", "budget: 5 an hour spent")],
        "approver": "arn:aws:iam::111122223333:role/oncall",
    });
    server.set_default(Reply::json(&answer));
    let o = run(&[PLAN, "--url", &server.url("/"), "--format", "json"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let printed: Value = serde_json::from_str(&common::stdout(&o)).expect("JSON");
    assert_eq!(printed, answer);
}

#[test]
fn every_refusal_prints_the_servers_error_and_exits_3_without_retrying() {
    for (status, error) in [
        (400, "malformed approval: verdict must be approve or reject"),
        (403, "arn:aws:iam::111122223333:user/dev is not an approver"),
        (404, "no action 7 of plan-0123456789abcdef awaits approval"),
        (409, "action 2 of plan-0123456789abcdef was already approved by arn:aws:iam::111122223333:user/ops"),
    ] {
        let server = RecordingServer::start();
        server.set_default(Reply::Status(
            status,
            json!({"error": error}).to_string(),
            "application/json",
        ));
        let o = run(&[PLAN, "--action", "2", "--url", &server.url("/")]);
        assert_eq!(o.status.code(), Some(3), "{status}: {}", common::stderr(&o));
        assert_eq!(common::stderr(&o).trim_end(), format!("error: {status}: {error}"));
        assert!(common::stdout(&o).is_empty());
        let reqs = server.requests();
        assert_eq!(reqs.len(), 1, "a {status} is final");
        assert_no_secrets(&o, Some(&reqs[0]));
    }
}

#[test]
fn aws_own_403_for_a_bad_signature_is_shown_too() {
    // IAM auth rejects before the function runs, with AWS's own body.
    let server = RecordingServer::start();
    server.set_default(Reply::Status(
        403,
        r#"{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}"#.into(),
        "application/json",
    ));
    let o = run(&[PLAN, "--url", &server.url("/")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        common::stderr(&o).starts_with("error: 403: Forbidden. For troubleshooting"),
        "{}",
        common::stderr(&o)
    );
}

#[test]
fn a_server_error_is_retried_with_the_same_signed_request() {
    let server = RecordingServer::start();
    server.script([Reply::status(503)]);
    server.set_default(Reply::json(&json!({
        "plan_id": PLAN,
        "decisions": [decided(2, "vpc-cni-addon:prod/vpc-cni", "executed", "")],
    })));
    let o = run(&[PLAN, "--action", "2", "--url", &server.url("/")]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body);
    assert_eq!(
        reqs[0].header("authorization"),
        reqs[1].header("authorization")
    );
    verify_signed(&reqs[1], REGION);
}

#[test]
fn a_409_after_a_retry_says_the_lost_attempt_may_have_decided() {
    let server = RecordingServer::start();
    server.script([Reply::status(502)]);
    server.set_default(Reply::Status(
        409,
        json!({"error": "already decided"}).to_string(),
        "application/json",
    ));
    let o = run(&[PLAN, "--action", "0", "--url", &server.url("/")]);
    assert_eq!(o.status.code(), Some(3));
    let err = common::stderr(&o);
    assert!(
        err.starts_with("error: 409: already decided (an earlier attempt"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn server_errors_until_the_attempts_run_out_are_not_delivered_exit_1() {
    let server = RecordingServer::start();
    server.set_default(Reply::Status(
        500,
        json!({"error": "internal"}).to_string(),
        "application/json",
    ));
    let o = run(&[PLAN, "--url", &server.url("/")]);
    assert_eq!(o.status.code(), Some(1), "{}", common::stderr(&o));
    let err = common::stderr(&o);
    assert!(
        err.starts_with("error: not delivered after 3 attempt(s): HTTP 500"),
        "{err}"
    );
    assert!(err.contains("running the command again is safe"), "{err}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_no_secrets(&o, Some(&reqs[0]));
}

#[test]
fn a_refused_connection_is_retried_then_reported_without_the_url() {
    let url = {
        let s = RecordingServer::start();
        s.url("/approve")
    };
    let o = run(&[PLAN, "--url", &url]);
    assert_eq!(o.status.code(), Some(1));
    let err = common::stderr(&o);
    assert!(err.contains("connection failed"), "{err}");
    assert!(!err.contains("127.0.0.1"), "{err}");
    assert_no_secrets(&o, None);
}

#[test]
fn plain_http_to_another_host_is_refused_before_anything_else() {
    // No credentials and no Region either: the URL is checked first, so the refusal is about the
    // URL and nothing is looked up or sent.
    let o = run_with(
        &[PLAN, "--url", "http://approvals.example.com/"],
        &[],
        false,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        common::stderr(&o).trim_end(),
        "error: approval: the URL must use https"
    );
    assert!(common::stdout(&o).is_empty());
}

#[test]
fn no_url_names_the_variable_and_the_stack_output() {
    let o = run(&[PLAN]);
    assert_eq!(o.status.code(), Some(2));
    let err = common::stderr(&o);
    assert!(
        err.contains("EKS_REMEDY_APPROVAL_URL") && err.contains("ApprovalUrl"),
        "{err}"
    );
}

#[test]
fn without_credentials_nothing_is_sent() {
    let server = RecordingServer::start();
    let o = run_with(
        &[PLAN, "--url", &server.url("/")],
        &[("AWS_REGION", REGION)],
        false,
    );
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).starts_with("error: no AWS credentials"),
        "{}",
        common::stderr(&o)
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_plan_id_that_cannot_be_one_is_refused_before_sending() {
    let server = RecordingServer::start();
    let o = run(&[
        "plan-1\"}, \"verdict\":\"approve",
        "--url",
        &server.url("/"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("is not a plan id"));
    assert!(server.requests().is_empty());
}

#[test]
fn help_says_where_the_url_comes_from_and_who_may_approve() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let help = common::stdout(&o);
    for s in [
        "ApprovalUrl",
        "EKS_REMEDY_APPROVAL_URL",
        "approver list",
        "--action",
        "--reject",
        "409",
    ] {
        assert!(help.contains(s), "{s} missing from --help:\n{help}");
    }
}
