//! `eks-remedy approve <plan-id>`: approves (or rejects) the actions of a plan that wait for
//! approval, by a SigV4-signed POST to the remediation function's URL.
//!
//! The function URL has `AuthType: AWS_IAM`: AWS checks the signature and hands the function the
//! caller's ARN, which the function checks against its approver list. So the request is signed with
//! the caller's own credentials (the default chain: environment, profile, SSO, process, instance
//! role), for service `lambda` in the URL's Region, and the approver is whoever those credentials
//! belong to. Nothing here decides who may approve.
//!
//! Retries (5xx, 408, 429, timeouts, connection failures) resend the same signed request: an
//! approval is idempotent on the server, which refuses a second decision with 409, so a retry can
//! never act twice. A 409 after a retry may mean that the lost first attempt was recorded; the
//! message says so.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use eks_remedy_chat::http::{HttpClient, HttpRequest, RetryPolicy, Sleeper, TokioSleeper};
use eks_remedy_chat::secret::{Endpoint, EndpointError, Secret};
use eks_remedy_chat::{BoxFuture, DeliveryError};
use eks_remedy_core::escape;
use http::header::{HeaderName, HeaderValue, HOST};
use http::Uri;
use serde::{Deserialize, Serialize};

/// The approval endpoint when `--url` is not given (the stack's `ApprovalUrl` output).
pub const ENV_APPROVAL_URL: &str = "EKS_REMEDY_APPROVAL_URL";

/// The signing name of Lambda function URLs.
const SERVICE: &str = "lambda";

/// Name used for the endpoint in errors (never the URL itself).
const TARGET: &str = "approval";

/// The body's content type; signed, so it must be exactly what is sent.
const CONTENT_TYPE: &str = "application/json";

/// Longest plan id accepted (the planner's are `plan-` and 16 hex digits).
const MAX_PLAN_ID: usize = 128;

/// Longest error text shown from a refusal whose body is not the contract's JSON.
const MAX_ERROR_TEXT: usize = 300;

const AFTER_HELP: &str = "\
The URL is the stack's ApprovalUrl output (aws cloudformation describe-stacks ... --query
\"Stacks[0].Outputs[?OutputKey=='ApprovalUrl'].OutputValue\"), given with --url or in
EKS_REMEDY_APPROVAL_URL. It must be https (plain http only to 127.0.0.1 or localhost, for tests).

The request is signed (SigV4, service lambda, the Region in the URL's host) with your own AWS
credentials from the default chain (AWS_ACCESS_KEY_ID/..., AWS_PROFILE, SSO, credential_process,
instance role). Who may approve: the remediation function accepts the decision only when your IAM
identity (the ARN AWS reports for it: an IAM user, or an assumed-role session) is on its
approver list; it then re-checks the action's guards before acting.

Without --action every action of the plan that awaits approval is decided. An approval is recorded
once: a second one is refused (409), so running the command again is safe.

Exit status: 0 decided (one line per action with its outcome), 3 refused by the endpoint (400
malformed, 403 not an approver or not signed, 404 no such plan or action awaiting approval, 409
already decided), 2 unusable input (URL, Region, credentials), 1 not delivered (network, 5xx after
retries, unreadable answer).";

/// Arguments of `approve`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ApproveArgs {
    /// The plan id (plan-…), as the chat message and `eks-remedy plan` show it.
    plan_id: String,
    /// Decide only this action: its 0-based index in the plan, as the chat buttons name it.
    /// Default: every action of the plan awaiting approval.
    #[arg(long, value_name = "N")]
    action: Option<u32>,
    /// Reject instead of approving.
    #[arg(long)]
    reject: bool,
    /// The approval endpoint: the stack's ApprovalUrl output. Default: $EKS_REMEDY_APPROVAL_URL.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Region to sign for when the URL's host names none (default: AWS_REGION or the profile's).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Output: one line per decision, or the endpoint's JSON answer as it came.
    #[arg(long, value_enum, default_value = "text")]
    format: ApproveFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ApproveFormat {
    Text,
    Json,
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Execute the action (after the function's re-check of its guards).
    Approve,
    /// Record the rejection; the action never runs.
    Reject,
}

/// The request body: `{"approve":{"plan_id":…,"action":N,"verdict":…}}`, `action` absent for
/// every action awaiting approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    /// What is decided.
    pub approve: Approval,
}

/// The decision itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// The plan.
    pub plan_id: String,
    /// The action's 0-based index in the plan; `None` for every action awaiting approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<u32>,
    /// Approve or reject.
    pub verdict: Verdict,
}

/// The endpoint's 200 answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApprovalAnswer {
    /// The plan decided.
    pub plan_id: String,
    /// One per action decided.
    pub decisions: Vec<Decision>,
}

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Decision {
    /// The action's index in the plan.
    pub action: u32,
    /// The action's id (`vpc-cni-addon:prod/vpc-cni`).
    pub action_id: String,
    /// The audit outcome: executed, held, refused, failed, rejected, no-change, …
    pub outcome: String,
    /// Why, in words.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Why `approve` failed. No variant carries a credential, a signature or the URL's text.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// Neither `--url` nor the environment variable.
    #[error(
        "no approval URL: pass --url or set {ENV_APPROVAL_URL} (the stack's ApprovalUrl output)"
    )]
    NoUrl,
    /// The URL is not usable (not absolute, plain http to another host than loopback).
    #[error(transparent)]
    Url(#[from] EndpointError),
    /// The plan id cannot be one.
    #[error("'{0}' is not a plan id (plan-…, as `eks-remedy plan` and the chat message show it)")]
    PlanId(String),
    /// No Region from the URL, `--region` or the SDK configuration.
    #[error("no Region to sign for: the URL is not a Lambda function URL (<id>.lambda-url.<region>.on.aws); pass --region or set AWS_REGION")]
    NoRegion,
    /// `--region` contradicts the Region in the URL's host.
    #[error("the URL is a function URL in {url}, but --region says {flag}")]
    RegionMismatch {
        /// From the URL.
        url: String,
        /// From `--region`.
        flag: String,
    },
    /// The credential chain gave nothing.
    #[error("no AWS credentials: {0}")]
    Credentials(String),
    /// The request could not be signed or built.
    #[error("cannot sign the request: {0}")]
    Signing(String),
    /// The HTTP client could not start.
    #[error(transparent)]
    Client(#[from] eks_remedy_chat::http::ClientError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// No answer the contract allows, after the retries.
    #[error("not delivered after {attempts} attempt(s): {reason}; nothing was decided unless the endpoint recorded an attempt whose answer was lost: running the command again is safe (a decision already recorded answers 409)")]
    NotDelivered {
        /// Attempts made.
        attempts: u32,
        /// The last failure, in this program's words.
        reason: String,
    },
    /// The endpoint refused the decision (4xx).
    #[error("{status}: {message}{note}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The endpoint's `error` text.
        message: String,
        /// A hint of ours (a 409 after a retry).
        note: &'static str,
    },
    /// A status or body the contract does not have.
    #[error("{status}: unexpected answer: {message}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        message: String,
    },
}

impl ApproveError {
    /// The exit status: 3 refused, 2 unusable input, 1 not delivered or unreadable.
    pub fn exit_code(&self) -> u8 {
        match self {
            ApproveError::Refused { .. } => 3,
            ApproveError::NoUrl
            | ApproveError::Url(_)
            | ApproveError::PlanId(_)
            | ApproveError::NoRegion
            | ApproveError::RegionMismatch { .. }
            | ApproveError::Credentials(_) => 2,
            ApproveError::Signing(_)
            | ApproveError::Client(_)
            | ApproveError::Runtime(_)
            | ApproveError::NotDelivered { .. }
            | ApproveError::Unexpected { .. } => 1,
        }
    }
}

/// Runs `approve`: prints the decisions (or the answer as JSON), or `error: …` on stderr.
pub fn run(a: ApproveArgs) -> ExitCode {
    match approve(&a) {
        Ok(out) => match std::io::stdout().lock().write_all(out.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // The decision is recorded; only its report was lost.
                eprintln!("error: decided, but the answer could not be written: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            // Server text is untrusted: no terminal escape reaches the user's terminal. Line
            // breaks are kept (the credential chain explains itself over several lines).
            let text: Vec<String> = e.to_string().lines().map(escape::terminal).collect();
            eprintln!("error: {}", text.join("\n"));
            ExitCode::from(e.exit_code())
        }
    }
}

fn approve(a: &ApproveArgs) -> Result<String, ApproveError> {
    // Everything that needs no network first: a wrong URL is refused before credentials are
    // looked up, and nothing is sent.
    let url = match &a.url {
        Some(u) => Secret::new(u.clone()),
        None => Secret::from_env(ENV_APPROVAL_URL).map_err(|_| ApproveError::NoUrl)?,
    };
    let endpoint = Endpoint::parse(TARGET, &url)?;
    let body = request_body(
        &a.plan_id,
        a.action,
        if a.reject {
            Verdict::Reject
        } else {
            Verdict::Approve
        },
    )?;
    let url_region = region_of_host(endpoint.uri().host().unwrap_or_default());
    if let (Some(u), Some(f)) = (&url_region, &a.region) {
        if u != f {
            return Err(ApproveError::RegionMismatch {
                url: u.clone(),
                flag: f.clone(),
            });
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ApproveError::Runtime)?;
    let answer = rt.block_on(async {
        let sdk = eks_remedy_aws::load_config().await;
        let region = url_region
            .or_else(|| a.region.clone())
            .or_else(|| sdk.region().map(ToString::to_string))
            .ok_or(ApproveError::NoRegion)?;
        let creds = credentials(sdk.credentials_provider()).await?;
        let signed = sign_request(&endpoint, body, &creds, &region, SystemTime::now())?;
        send(&signed).await
    })?;
    match a.format {
        ApproveFormat::Json => Ok(format!("{}\n", escape::json(answer.raw.trim_end()))),
        ApproveFormat::Text => Ok(render(&answer.parsed)),
    }
}

/// The JSON body for `plan_id`, `action` and `verdict`, or why the plan id cannot be one.
pub fn request_body(
    plan_id: &str,
    action: Option<u32>,
    verdict: Verdict,
) -> Result<Bytes, ApproveError> {
    let plausible = !plan_id.is_empty()
        && plan_id.len() <= MAX_PLAN_ID
        && plan_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if !plausible {
        return Err(ApproveError::PlanId(
            plan_id.chars().take(MAX_PLAN_ID).collect(),
        ));
    }
    let req = ApprovalRequest {
        approve: Approval {
            plan_id: plan_id.to_string(),
            action,
            verdict,
        },
    };
    serde_json::to_vec(&req)
        .map(Bytes::from)
        .map_err(|e| ApproveError::Signing(format!("cannot serialise the request: {e}")))
}

/// The Region of a Lambda function URL host, `<url-id>.lambda-url.<region>.on.aws`.
pub fn region_of_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let rest = host.strip_suffix(".on.aws")?;
    let (id, region) = rest.split_once(".lambda-url.")?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    (ok(id) && ok(region)).then(|| region.to_string())
}

async fn credentials(
    provider: Option<SharedCredentialsProvider>,
) -> Result<Credentials, ApproveError> {
    let provider = provider
        .ok_or_else(|| ApproveError::Credentials("no credential provider is configured".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| ApproveError::Credentials(with_sources(&e)))
}

/// An error with its causes, `a: b: c` (the credential chain's top error alone says little).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = s.source();
    }
    text
}

/// The `Host` header for `uri`: the port only when it is not the scheme's default, as hyper
/// writes it and as SigV4 canonicalises it.
fn host_header(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    let default = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    Some(match uri.port_u16() {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host.to_string(),
    })
}

/// Signs a POST of `body` to `endpoint` (SigV4, service `lambda`, `region`, at `time`) and
/// returns the request to send: the `Host` and content type as signed, `x-amz-date`,
/// `x-amz-content-sha256`, `x-amz-security-token` when the credentials have a session token, and
/// `authorization`.
pub fn sign_request(
    endpoint: &Endpoint,
    body: Bytes,
    creds: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<HttpRequest, ApproveError> {
    let fail = |what: &str| ApproveError::Signing(what.to_string());
    let uri = endpoint.uri();
    let host = host_header(uri).ok_or_else(|| fail("the URL has no host"))?;
    let mut settings = SigningSettings::default();
    // Function URLs check the payload hash of a request with a body through this header
    // (required when the call comes through CloudFront, harmless directly): the body is signed.
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| ApproveError::Signing(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        uri.to_string(),
        [("host", host.as_str()), ("content-type", CONTENT_TYPE)].into_iter(),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| ApproveError::Signing(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| ApproveError::Signing(e.to_string()))?
        .into_parts();
    let mut headers = vec![(
        HOST,
        HeaderValue::from_str(&host).map_err(|_| fail("the URL's host is not a header value"))?,
    )];
    let (signing_headers, _) = instructions.into_parts();
    for h in signing_headers {
        let name = HeaderName::from_bytes(h.name().as_bytes())
            .map_err(|_| fail("the signer produced an invalid header name"))?;
        let mut value = HeaderValue::from_str(h.value())
            .map_err(|_| fail("the signer produced an invalid header value"))?;
        value.set_sensitive(h.sensitive() || name == http::header::AUTHORIZATION);
        headers.push((name, value));
    }
    Ok(HttpRequest {
        endpoint: endpoint.clone(),
        headers,
        content_type: CONTENT_TYPE,
        body,
    })
}

/// Retries with back-off on 5xx, 408, 429 and transport failures; up to three attempts of 30 s
/// each (the function re-checks guards and calls AWS APIs before it answers), all within
/// SigV4's five-minute window for the one signature they share.
fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(500),
        cap: Duration::from_secs(4),
        max_retry_after: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(30),
    }
}

/// Sleeps on Tokio and counts the retries, to explain a 409 that follows one.
#[derive(Default)]
struct CountingSleeper(AtomicU32);

impl Sleeper for CountingSleeper {
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        TokioSleeper.sleep(d)
    }
}

/// A 200 answer: its text as received and as read.
struct Answered {
    raw: String,
    parsed: ApprovalAnswer,
}

async fn send(req: &HttpRequest) -> Result<Answered, ApproveError> {
    let retries = Arc::new(CountingSleeper::default());
    let client = HttpClient::new(policy())?.with_sleeper(retries.clone());
    let resp = client.send(TARGET, req).await.map_err(|e| match e {
        DeliveryError::Retryable {
            attempts, reason, ..
        } => ApproveError::NotDelivered { attempts, reason },
        // `send` hands every non-retryable answer back, so this is only for completeness.
        DeliveryError::Permanent { reason, .. } => ApproveError::NotDelivered {
            attempts: 1,
            reason,
        },
    })?;
    let retried = retries.0.load(Ordering::Relaxed) > 0;
    interpret(resp.status.as_u16(), &resp.body, retried)
}

/// Reads an answer by the contract: 200 with the decisions, 4xx with `{"error":…}`.
fn interpret(status: u16, body: &[u8], retried: bool) -> Result<Answered, ApproveError> {
    let text = String::from_utf8_lossy(body);
    match status {
        200 => match serde_json::from_slice::<ApprovalAnswer>(body) {
            Ok(parsed) => Ok(Answered {
                raw: text.into_owned(),
                parsed,
            }),
            Err(e) => Err(ApproveError::Unexpected {
                status,
                message: format!("not the decisions the contract promises ({e}); the decision may have been recorded: check the incident's audit trail"),
            }),
        },
        400..=499 => Err(ApproveError::Refused {
            status,
            message: error_text(&text, status),
            note: if status == 409 && retried {
                " (an earlier attempt of this command timed out or failed: it may be the one recorded; check the incident's audit trail)"
            } else {
                ""
            },
        }),
        _ => Err(ApproveError::Unexpected {
            status,
            message: error_text(&text, status),
        }),
    }
}

/// The refusal's reason: the contract's `error`, AWS's own `Message` (a 403 from IAM auth never
/// reaches the function), else the start of the body, else the status's name.
fn error_text(body: &str, status: u16) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        for key in ["error", "Message", "message"] {
            if let Some(s) = v.get(key).and_then(serde_json::Value::as_str) {
                return s.to_string();
            }
        }
    }
    let t = body.trim();
    if t.is_empty() {
        return http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no reason given")
            .to_string();
    }
    t.chars().take(MAX_ERROR_TEXT).collect()
}

/// One line per decision: index, action id, outcome, detail.
fn render(a: &ApprovalAnswer) -> String {
    let t = escape::terminal;
    let mut out = format!(
        "{}: {} action(s) decided\n",
        t(&a.plan_id),
        a.decisions.len()
    );
    for d in &a.decisions {
        let detail = d.detail.as_deref().unwrap_or("");
        let line = format!(
            "action {:<3} {:<40} {:<10} {}",
            d.action,
            t(&d.action_id),
            t(&d.outcome),
            t(detail)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_a_function_url_host_only() {
        assert_eq!(
            region_of_host("abcdefghij0123456789abcdefghij01.lambda-url.eu-west-1.on.aws"),
            Some("eu-west-1".into())
        );
        assert_eq!(
            region_of_host("X1.LAMBDA-URL.US-EAST-2.ON.AWS"),
            Some("us-east-2".into())
        );
        assert_eq!(region_of_host("127.0.0.1"), None);
        assert_eq!(region_of_host("lambda-url.eu-west-1.on.aws"), None);
        assert_eq!(region_of_host("x.lambda-url..on.aws"), None);
        assert_eq!(
            region_of_host("x.lambda-url.eu-west-1.on.aws.evil.com"),
            None
        );
        assert_eq!(
            region_of_host("x.execute-api.eu-west-1.amazonaws.com"),
            None
        );
    }

    #[test]
    fn body_is_the_contract_and_omits_the_action_for_the_whole_plan() {
        let b = request_body("plan-0123abcd", Some(2), Verdict::Approve).unwrap();
        assert_eq!(
            &b[..],
            br#"{"approve":{"plan_id":"plan-0123abcd","action":2,"verdict":"approve"}}"#
        );
        let b = request_body("plan-0123abcd", None, Verdict::Reject).unwrap();
        assert_eq!(
            &b[..],
            br#"{"approve":{"plan_id":"plan-0123abcd","verdict":"reject"}}"#
        );
    }

    #[test]
    fn a_plan_id_with_quotes_spaces_or_controls_is_refused() {
        for bad in ["", "plan 1", "plan-\"x", "plan-\u{1b}[2J", &"p".repeat(200)] {
            assert!(
                matches!(
                    request_body(bad, None, Verdict::Approve),
                    Err(ApproveError::PlanId(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn host_header_omits_only_the_default_port() {
        let h = |u: &str| host_header(&u.parse::<Uri>().unwrap()).unwrap();
        assert_eq!(
            h("https://x.lambda-url.eu-west-1.on.aws/"),
            "x.lambda-url.eu-west-1.on.aws"
        );
        assert_eq!(h("https://x.example:443/"), "x.example");
        assert_eq!(h("https://x.example:8443/"), "x.example:8443");
        assert_eq!(h("http://127.0.0.1:9000/"), "127.0.0.1:9000");
    }

    #[test]
    fn refusals_show_the_contracts_error_then_aws_message_then_the_body() {
        assert_eq!(
            error_text(r#"{"error":"not an approver"}"#, 403),
            "not an approver"
        );
        assert_eq!(error_text(r#"{"Message":"Forbidden"}"#, 403), "Forbidden");
        assert_eq!(error_text("", 404), "Not Found");
        assert_eq!(error_text(&"x".repeat(1000), 400).len(), MAX_ERROR_TEXT);
    }

    #[test]
    fn a_409_after_a_retry_says_the_first_attempt_may_have_counted() {
        let e = interpret(409, br#"{"error":"already decided"}"#, true)
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 3);
        assert!(e
            .to_string()
            .starts_with("409: already decided (an earlier attempt"));
        let e = interpret(409, br#"{"error":"already decided"}"#, false)
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "409: already decided");
    }

    #[test]
    fn a_200_that_is_not_the_contract_is_an_error_not_silence() {
        let e = interpret(200, b"<html>", false).err().unwrap();
        assert_eq!(e.exit_code(), 1);
        let e = interpret(302, b"", false).err().unwrap();
        assert!(matches!(e, ApproveError::Unexpected { status: 302, .. }));
    }

    #[test]
    fn decisions_render_one_line_each_without_terminal_escapes() {
        let a: ApprovalAnswer = serde_json::from_str(
            r#"{"plan_id":"plan-1","decisions":[
                {"action":0,"action_id":"ebs-volume:vol-1","outcome":"held","detail":"budget spent \u001b[31m"},
                {"action":2,"action_id":"vpc-cni-addon:prod/vpc-cni","outcome":"executed"}]}"#,
        )
        .unwrap();
        let out = render(&a);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[1].starts_with("action 0") && lines[1].contains("held"));
        assert!(lines[2].contains("vpc-cni-addon:prod/vpc-cni") && lines[2].ends_with("executed"));
        assert!(!out.contains('\u{1b}'));
    }
}
