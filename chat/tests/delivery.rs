//! Delivery against a recording server on 127.0.0.1: retries and back-off, 429 `Retry-After`,
//! permanent 4xx, timeouts, Slack's `ok:false`, update in place, catch-up after an outage, and no
//! secret in any error or log line.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use eks_remedy_chat::http::{Clock, HttpClient, HttpRequest, Jitter, RetryPolicy, Sleeper};
use eks_remedy_chat::outbox::{Outbox, Outcome};
use eks_remedy_chat::secret::{Endpoint, Secret};
use eks_remedy_chat::signing;
use eks_remedy_chat::target::{
    Hook, MessageRef, PublishError, Publisher, QTarget, SlackBot, Target, TargetConfig, TargetKind,
    TargetSecret, Webhook,
};
use eks_remedy_chat::testing::{RecordingServer, Reply};
use eks_remedy_chat::{BoxFuture, DeliveryError};
use eks_remedy_core::notify::{Change, FindingView, IncidentView, NodeView, Status};
use eks_remedy_core::report::Severity;

const TOKEN: &str = "xoxb-000000000-SECRET-TOKEN";
const NOW: u64 = 1_793_000_000;

/// Records the delays instead of sleeping.
#[derive(Default)]
struct FakeSleeper(Mutex<Vec<Duration>>);

impl Sleeper for FakeSleeper {
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        self.0.lock().expect("delays").push(d);
        Box::pin(async {})
    }
}

impl FakeSleeper {
    fn delays(&self) -> Vec<u64> {
        self.0
            .lock()
            .expect("delays")
            .iter()
            .map(|d| d.as_millis() as u64)
            .collect()
    }
}

/// Always the ceiling, so the schedule is exact.
struct MaxJitter;

impl Jitter for MaxJitter {
    fn pick(&self, max: Duration) -> Duration {
        max
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(300),
        max_retry_after: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        // Only the hanging-server test waits for it.
        timeout: Duration::from_millis(300),
    }
}

fn client(sleeper: &Arc<FakeSleeper>) -> HttpClient {
    HttpClient::new(policy())
        .expect("client")
        .with_sleeper(sleeper.clone())
        .with_jitter(Arc::new(MaxJitter))
        .with_clock(Arc::new(FixedClock))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn finding(rule: &str, severity: Severity, node: &str) -> FindingView {
    FindingView {
        rule: rule.into(),
        severity,
        title: format!("{rule} title"),
        summary: format!("{rule} summary"),
        root_cause: false,
        nodes: BTreeMap::from([(node.to_string(), 3)]),
        evidence: Some("kubelet: failed to assign an IP address".into()),
        fix: None,
        source: None,
    }
}

fn view() -> IncidentView {
    let mut v = IncidentView::new("111122223333-us-east-1:prod:scale-up:20261019T0500");
    v.cluster = Some("prod".into());
    v.nodes.insert(
        "i-0abc".into(),
        NodeView {
            analyzed: true,
            ..NodeView::default()
        },
    );
    v.findings
        .push(finding("ipamd-ip-exhaustion", Severity::High, "i-0abc"));
    v
}

fn teams(server: &RecordingServer, path: &str, sleeper: &Arc<FakeSleeper>) -> Hook {
    Hook::teams("teams-ops", &Secret::new(server.url(path)), client(sleeper)).expect("teams")
}

fn slack_bot(server: &RecordingServer, c: HttpClient) -> SlackBot {
    SlackBot::new("slack-ops", Secret::new(TOKEN), "C0123", c)
        .expect("bot")
        .with_api_base(&server.url("/api/"))
        .expect("api base")
}

#[test]
fn server_errors_are_retried_with_doubling_capped_back_off_then_given_up() {
    let server = RecordingServer::start();
    server.set_default(Reply::status(500));
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = teams(&server, "/flow/SECRET-SIG", &sleeper);
    let err = rt()
        .block_on(hook.deliver(&view(), &[Change::Opened], &mut None))
        .expect_err("every attempt fails");
    assert_eq!(server.requests().len(), 4);
    assert_eq!(sleeper.delays(), vec![100, 200, 300]);
    assert!(err.is_retryable());
    assert_eq!(err.target(), "teams-ops");
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert!(!err.to_string().contains("SECRET-SIG"), "{err}");
}

#[test]
fn a_retry_that_succeeds_delivers_once_more_and_stops() {
    let server = RecordingServer::start();
    server.script([
        Reply::status(503),
        Reply::status(502),
        Reply::Status(202, String::new(), "text/plain"),
    ]);
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = teams(&server, "/flow", &sleeper);
    rt().block_on(hook.deliver(&view(), &[], &mut None))
        .expect("third attempt succeeds");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(sleeper.delays(), vec![100, 200]);
    // Every attempt is the same Teams envelope.
    for r in &reqs {
        let j = r.json();
        assert_eq!(j["type"], "message");
        assert_eq!(
            j["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(j["attachments"][0]["content"]["type"], "AdaptiveCard");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let server = RecordingServer::start();
    server.script([
        Reply::RetryAfter(3),
        Reply::RetryAfter(3600),
        Reply::ok("ok"),
    ]);
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = Hook::slack_webhook(
        "slack-hook",
        &Secret::new(server.url("/services/T/B/X")),
        client(&sleeper),
    )
    .expect("hook");
    rt().block_on(hook.deliver(&view(), &[], &mut None))
        .expect("delivered after the waits");
    // 3 s as asked; an hour cut to the 10 s cap.
    assert_eq!(sleeper.delays(), vec![3000, 10_000]);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn client_errors_are_permanent_at_once_and_name_the_target_not_the_url() {
    for code in [400u16, 403, 404, 410] {
        let server = RecordingServer::start();
        server.set_default(Reply::status(code));
        let sleeper = Arc::new(FakeSleeper::default());
        let url = server.url("/services/T000/B000/XXXXSECRETXXXX");
        let hook =
            Hook::slack_webhook("slack-hook", &Secret::new(&url), client(&sleeper)).expect("hook");
        let err = rt()
            .block_on(hook.deliver(&view(), &[], &mut None))
            .expect_err("rejected");
        assert_eq!(
            err,
            DeliveryError::Permanent {
                target: "slack-hook".into(),
                reason: format!("HTTP {code}")
            }
        );
        assert_eq!(server.requests().len(), 1, "no retry of a {code}");
        assert!(sleeper.delays().is_empty());
        assert!(!format!("{err} {err:?}").contains("XXXXSECRETXXXX"));
    }
}

#[test]
fn send_hands_refusals_to_the_caller_with_their_body_and_retries_server_errors() {
    let server = RecordingServer::start();
    server.script([
        Reply::status(503),
        Reply::Status(
            409,
            r#"{"error":"already decided"}"#.into(),
            "application/json",
        ),
    ]);
    let sleeper = Arc::new(FakeSleeper::default());
    let req = HttpRequest {
        endpoint: Endpoint::parse("approval", &Secret::new(server.url("/"))).expect("loopback"),
        headers: Vec::new(),
        content_type: "application/json",
        body: bytes::Bytes::from_static(b"{}"),
    };
    let resp = rt()
        .block_on(client(&sleeper).send("approval", &req))
        .expect("a refusal is an answer, not an error");
    assert_eq!(resp.status.as_u16(), 409);
    assert_eq!(&resp.body[..], br#"{"error":"already decided"}"#);
    assert_eq!(
        server.requests().len(),
        2,
        "the 503 was retried, the 409 not"
    );
    assert_eq!(sleeper.delays(), vec![100]);
}

#[test]
fn a_server_that_hangs_times_out_and_is_retried() {
    let server = RecordingServer::start();
    server.script([Reply::Hang]);
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = teams(&server, "/flow", &sleeper);
    rt().block_on(hook.deliver(&view(), &[], &mut None))
        .expect("the second attempt is answered");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(sleeper.delays(), vec![100]);
}

#[test]
fn a_refused_connection_is_retryable_and_says_so_without_the_url() {
    // A port nothing listens on: take one from a server, then stop it.
    let url = {
        let s = RecordingServer::start();
        s.url("/hook?token=SECRET")
    };
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = Hook::teams("teams-ops", &Secret::new(&url), client(&sleeper)).expect("teams");
    let err = rt()
        .block_on(hook.deliver(&view(), &[], &mut None))
        .expect_err("nobody listens");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("connection failed"), "{err}");
    assert!(!err.to_string().contains("SECRET") && !err.to_string().contains("127.0.0.1"));
}

#[test]
fn slack_bot_posts_then_updates_in_place_and_replies_in_the_thread_on_state_changes() {
    let server = RecordingServer::start();
    server.script([Reply::slack_posted("C0123", "1793000000.000100")]);
    server.set_default(Reply::json(
        &serde_json::json!({"ok": true, "ts": "1793000000.000100"}),
    ));
    let sleeper = Arc::new(FakeSleeper::default());
    let bot = slack_bot(&server, client(&sleeper));
    let rt = rt();
    let mut outbox = Outbox::default();
    let targets: [&dyn Target; 1] = [&bot];

    let v1 = view();
    let out = rt.block_on(outbox.deliver(&targets, &v1, &v1.changes_since(None)));
    assert_eq!(out, vec![("slack-ops".to_string(), Outcome::Sent)]);

    // A new finding: the same message is edited, no thread reply (detail, not state).
    let mut v2 = v1.clone();
    v2.findings.push(finding(
        "kubelet-pleg-unhealthy",
        Severity::Medium,
        "i-0abc",
    ));
    let out = rt.block_on(outbox.deliver(&targets, &v2, &v2.changes_since(Some(&v1))));
    assert_eq!(out[0].1, Outcome::Sent);

    // Resolved: edited again, and a thread reply.
    let mut v3 = v2.clone();
    v3.status = Status::Resolved;
    rt.block_on(outbox.deliver(&targets, &v3, &v3.changes_since(Some(&v2))));

    // The same state again: nothing sent.
    let out = rt.block_on(outbox.deliver(&targets, &v3, &[]));
    assert_eq!(out[0].1, Outcome::Unchanged);

    let reqs = server.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/api/chat.postMessage",
            "/api/chat.update",
            "/api/chat.update",
            "/api/chat.postMessage"
        ]
    );
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let post = reqs[0].json();
    assert_eq!(post["channel"], "C0123");
    assert_eq!(post["unfurl_links"], false);
    assert!(post["blocks"].is_array() && post["text"].as_str().is_some_and(|t| !t.is_empty()));
    for u in &reqs[1..3] {
        let j = u.json();
        assert_eq!(j["ts"], "1793000000.000100");
        assert_eq!(j["channel"], "C0123");
    }
    assert!(reqs[1].json()["blocks"]
        .to_string()
        .contains("kubelet-pleg-unhealthy"));
    let reply = reqs[3].json();
    assert_eq!(reply["thread_ts"], "1793000000.000100");
    assert!(reply["text"].as_str().unwrap_or("").contains("resolved"));
    assert_eq!(
        outbox.targets["slack-ops"].message,
        Some(MessageRef {
            channel: "C0123".into(),
            ts: "1793000000.000100".into()
        })
    );
}

#[test]
fn slack_ok_false_maps_ratelimited_to_retry_and_the_rest_to_permanent() {
    let server = RecordingServer::start();
    server.script([
        Reply::slack_error("ratelimited"),
        Reply::slack_posted("C0123", "1.2"),
    ]);
    let sleeper = Arc::new(FakeSleeper::default());
    let bot = slack_bot(&server, client(&sleeper));
    let mut msg = None;
    rt().block_on(bot.deliver(&view(), &[Change::Opened], &mut msg))
        .expect("retried");
    assert_eq!(sleeper.delays(), vec![100]);
    assert_eq!(msg.map(|m| m.ts), Some("1.2".to_string()));

    for code in [
        "invalid_auth",
        "channel_not_found",
        "msg_too_long",
        "not_in_channel",
    ] {
        let server = RecordingServer::start();
        server.set_default(Reply::slack_error(code));
        let bot = slack_bot(&server, client(&sleeper));
        let err = rt()
            .block_on(bot.deliver(&view(), &[Change::Opened], &mut None))
            .expect_err("permanent");
        assert_eq!(
            err,
            DeliveryError::Permanent {
                target: "slack-ops".into(),
                reason: format!("Slack error `{code}`")
            }
        );
        assert_eq!(server.requests().len(), 1);
        assert!(!err.to_string().contains(TOKEN));
    }
}

#[test]
fn a_deleted_slack_message_is_posted_anew() {
    let server = RecordingServer::start();
    server.script([
        Reply::slack_error("message_not_found"),
        Reply::slack_posted("C0123", "2.0"),
    ]);
    let sleeper = Arc::new(FakeSleeper::default());
    let bot = slack_bot(&server, client(&sleeper));
    let mut msg = Some(MessageRef {
        channel: "C0123".into(),
        ts: "1.0".into(),
    });
    rt().block_on(bot.deliver(&view(), &[], &mut msg))
        .expect("reposted");
    assert_eq!(msg.map(|m| m.ts), Some("2.0".to_string()));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(paths, vec!["/api/chat.update", "/api/chat.postMessage"]);
}

#[test]
fn after_an_outage_the_next_success_sends_the_current_state_and_every_missed_change() {
    let server = RecordingServer::start();
    let sleeper = Arc::new(FakeSleeper::default());
    let bot = slack_bot(&server, client(&sleeper));
    let teams = teams(&server, "/flow", &sleeper);
    let rt = rt();
    let mut outbox = Outbox::default();
    let targets: [&dyn Target; 2] = [&bot, &teams];

    // Opened: both delivered.
    server.script([Reply::slack_posted("C0123", "1.0"), Reply::ok("")]);
    let v1 = view();
    let out = rt.block_on(outbox.deliver(&targets, &v1, &v1.changes_since(None)));
    assert!(out.iter().all(|(_, o)| *o == Outcome::Sent), "{out:?}");

    // Outage: everything answers 503 while a node fails and a plan is proposed.
    server.set_default(Reply::status(503));
    let mut v2 = v1.clone();
    v2.nodes.insert(
        "i-0def".into(),
        NodeView {
            collection_failed: true,
            ..NodeView::default()
        },
    );
    let out = rt.block_on(outbox.deliver(&targets, &v2, &v2.changes_since(Some(&v1))));
    assert!(out
        .iter()
        .all(|(_, o)| matches!(o, Outcome::Failed(e) if e.is_retryable())));
    assert!(Outbox::should_retry(&out));
    let mut v3 = v2.clone();
    v3.findings
        .push(finding("ebs-attach-limit", Severity::Critical, "i-0abc"));
    rt.block_on(outbox.deliver(&targets, &v3, &v3.changes_since(Some(&v2))));
    assert_eq!(outbox.targets["teams-ops"].failures, 2);
    let err = outbox.targets["slack-ops"]
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(
        err.starts_with("slack-ops:") && !err.contains(TOKEN),
        "{err}"
    );

    // Back: the next delivery (no new change of its own) carries v3 and both missed changes.
    let before = server.requests().len();
    server.set_default(Reply::json(&serde_json::json!({"ok": true, "ts": "1.0"})));
    let out = rt.block_on(outbox.deliver(&targets, &v3, &[]));
    assert!(out.iter().all(|(_, o)| *o == Outcome::Sent), "{out:?}");
    let sent: Vec<_> = server.requests().split_off(before);
    let update = sent
        .iter()
        .find(|r| r.url == "/api/chat.update")
        .expect("update");
    assert_eq!(update.json()["ts"], "1.0");
    assert!(update.json()["blocks"]
        .to_string()
        .contains("ebs-attach-limit"));
    let reply = sent
        .iter()
        .find(|r| r.url == "/api/chat.postMessage")
        .expect("thread reply");
    assert!(reply.json()["text"]
        .as_str()
        .unwrap_or("")
        .contains("i-0def"));
    let card = sent.iter().find(|r| r.url == "/flow").expect("teams post");
    assert!(card.json().to_string().contains("ebs-attach-limit"));
    assert_eq!(outbox.targets["teams-ops"].failures, 0);
    assert!(outbox.targets.values().all(|s| s.pending.is_empty()));
    assert_eq!(
        outbox.targets["teams-ops"].fingerprint.as_deref(),
        Some(v3.fingerprint().as_str())
    );
}

#[test]
fn targets_that_cannot_edit_post_only_on_open_and_state_changes() {
    let server = RecordingServer::start();
    let sleeper = Arc::new(FakeSleeper::default());
    let teams = teams(&server, "/flow", &sleeper);
    let hook = Webhook::new(
        "pager",
        &Secret::new(server.url("/hook")),
        Secret::new("whsec"),
        client(&sleeper),
    )
    .expect("webhook");
    let rt = rt();
    let mut outbox = Outbox::default();
    let targets: [&dyn Target; 2] = [&teams, &hook];
    let v1 = view();
    rt.block_on(outbox.deliver(&targets, &v1, &v1.changes_since(None)));
    let mut v2 = v1.clone();
    v2.findings.push(finding(
        "kubelet-pleg-unhealthy",
        Severity::Medium,
        "i-0abc",
    ));
    let out = rt.block_on(outbox.deliver(&targets, &v2, &v2.changes_since(Some(&v1))));
    assert_eq!(
        out,
        vec![
            ("teams-ops".to_string(), Outcome::Deferred),
            ("pager".to_string(), Outcome::Sent)
        ]
    );
    let mut v3 = v2.clone();
    v3.status = Status::Resolved;
    let out = rt.block_on(outbox.deliver(&targets, &v3, &v3.changes_since(Some(&v2))));
    assert!(out.iter().all(|(_, o)| *o == Outcome::Sent));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(paths, vec!["/flow", "/hook", "/hook", "/flow", "/hook"]);
}

#[test]
fn the_generic_webhook_is_signed_over_timestamp_and_body() {
    let server = RecordingServer::start();
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = Webhook::new(
        "pager",
        &Secret::new(server.url("/hook")),
        Secret::new("whsec-123"),
        client(&sleeper),
    )
    .expect("webhook");
    rt().block_on(hook.deliver(&view(), &[], &mut None))
        .expect("sent");
    let r = &server.requests()[0];
    let ts = r.header(signing::TIMESTAMP_HEADER).expect("timestamp");
    let sig = r.header(signing::SIGNATURE_HEADER).expect("signature");
    assert_eq!(ts, NOW.to_string());
    assert_eq!(
        signing::verify(b"whsec-123", ts, sig, &r.body, FixedClock.now()),
        Ok(())
    );
    let j = r.json();
    assert_eq!(j["type"], "eks-remedy.incident");
    assert_eq!(j["fingerprint"], view().fingerprint());
}

struct FakeSns {
    messages: Mutex<Vec<String>>,
    fail: Option<PublishError>,
}

impl Publisher for FakeSns {
    fn publish<'a>(&'a self, message: &'a str) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            if let Some(e) = &self.fail {
                return Err(e.clone());
            }
            self.messages.lock().expect("messages").push(message.into());
            Ok(())
        })
    }
}

#[test]
fn the_q_target_publishes_the_q_format_threaded_by_incident() {
    let sns = Arc::new(FakeSns {
        messages: Mutex::new(Vec::new()),
        fail: None,
    });
    let q = QTarget::new("q-ops", sns.clone());
    rt().block_on(q.deliver(&view(), &[], &mut None))
        .expect("published");
    let m: serde_json::Value =
        serde_json::from_str(&sns.messages.lock().expect("messages")[0]).expect("json");
    assert_eq!(m["version"], "1.0");
    assert_eq!(m["source"], "custom");
    assert_eq!(m["metadata"]["threadId"], view().incident_id);

    let failing = QTarget::new(
        "q-ops",
        Arc::new(FakeSns {
            messages: Mutex::new(Vec::new()),
            fail: Some(PublishError::Retryable("Throttling".into())),
        }),
    );
    let e = rt()
        .block_on(failing.deliver(&view(), &[], &mut None))
        .expect_err("throttled");
    assert!(e.is_retryable() && e.target() == "q-ops");
}

#[test]
fn configs_build_targets_and_their_debug_never_shows_secrets() {
    let sleeper = Arc::new(FakeSleeper::default());
    let c = client(&sleeper);
    let cfg = TargetConfig {
        name: "pager".into(),
        kind: TargetKind::Webhook,
        channel: None,
        secret: Some("arn:aws:secretsmanager:us-east-1:111122223333:secret:pager".into()),
        api_base: None,
    };
    let secret = TargetSecret::parse(
        TargetKind::Webhook,
        &Secret::new(
            r#"{"url":"https://hooks.example.com/in/SECRETPATH","signing_secret":"SIGNSECRET"}"#,
        ),
    );
    let t = cfg.build(&secret, &c, None).expect("builds");
    assert_eq!((t.name(), t.kind()), ("pager", TargetKind::Webhook));
    let bot = SlackBot::new("slack-ops", Secret::new(TOKEN), "C0123", c.clone()).expect("bot");
    let webhook = Webhook::new(
        "pager",
        &Secret::new("https://hooks.example.com/in/SECRETPATH"),
        Secret::new("SIGNSECRET"),
        c.clone(),
    )
    .expect("webhook");
    let dump = format!("{bot:?} {webhook:?} {secret:?} {cfg:?} {c:?}");
    for s in [TOKEN, "SECRETPATH", "SIGNSECRET"] {
        assert!(!dump.contains(s), "{s} in {dump}");
    }
    // Missing parts are named.
    let e = cfg
        .build(&TargetSecret::default(), &c, None)
        .err()
        .expect("no URL");
    assert_eq!(e.to_string(), "pager: the webhook URL is missing");
}

/// A `tracing` writer into a buffer, to read what the crate logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_of_retries_and_rejections_carry_the_target_name_but_no_secret() {
    let server = RecordingServer::start();
    server.script([
        Reply::status(500),
        Reply::RetryAfter(1),
        Reply::slack_error("invalid_auth"),
    ]);
    let sleeper = Arc::new(FakeSleeper::default());
    let bot = slack_bot(&server, client(&sleeper));
    let hook_url = server.url("/services/T000/B000/HOOKSECRET");
    let hook =
        Hook::slack_webhook("slack-hook", &Secret::new(&hook_url), client(&sleeper)).expect("hook");
    let log = Captured::default();
    let w = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = rt();
        let e = rt
            .block_on(bot.deliver(&view(), &[Change::Opened], &mut None))
            .expect_err("invalid_auth");
        assert!(!e.is_retryable());
        server.set_default(Reply::status(404));
        rt.block_on(hook.deliver(&view(), &[], &mut None))
            .expect_err("404");
    });
    let text = String::from_utf8(log.0.lock().expect("log").clone()).expect("utf-8");
    assert!(
        text.contains("slack-ops") && text.contains("slack-hook"),
        "{text}"
    );
    assert!(
        text.contains("invalid_auth") && text.contains("HTTP 404"),
        "{text}"
    );
    for s in [TOKEN, "HOOKSECRET", "/services/"] {
        assert!(!text.contains(s), "{s} logged:\n{text}");
    }
}

#[test]
fn an_oversized_answer_to_a_delivered_message_is_not_a_failure() {
    let server = RecordingServer::start();
    server.set_default(Reply::ok(&"x".repeat(200_000)));
    let sleeper = Arc::new(FakeSleeper::default());
    let hook = teams(&server, "/flow", &sleeper);
    rt().block_on(hook.deliver(&view(), &[], &mut None))
        .expect("delivered");
    assert_eq!(server.requests().len(), 1, "no retry, so no second post");
}
