//! HTTPS delivery with timeouts and bounded retries.
//!
//! One attempt is classified as done, retryable or permanent: 2xx goes to the caller's check (Slack
//! answers 200 with `{"ok":false}`), 429 is retried after its `Retry-After` (capped), other 4xx are
//! permanent, 5xx, timeouts and connection failures are retried with exponential back-off and full
//! jitter (`random(0, min(cap, base·2^n))`, as in the AWS Architecture Blog's "Exponential Backoff
//! And Jitter"), which keeps many notifiers from retrying in step.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::DeliveryError;
use crate::secret::Endpoint;
use crate::BoxFuture;

/// Answers are read up to this size (a chat API answer is small; anything bigger is cut).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Waits between attempts. Injected so tests record the delays instead of sleeping.
pub trait Sleeper: Send + Sync {
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()>;
}

/// Sleeps on the Tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// The current time. Injected so tests control `Retry-After` dates and signature windows.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Picks a back-off delay in `[0, max]`.
pub trait Jitter: Send + Sync {
    /// A delay between zero and `max`.
    fn pick(&self, max: Duration) -> Duration;
}

/// Full jitter: uniformly random in `[0, max]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FullJitter;

impl Jitter for FullJitter {
    fn pick(&self, max: Duration) -> Duration {
        let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ms))
    }
}

/// Timeouts and retry bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first included); at least 1.
    pub max_attempts: u32,
    /// Back-off before the second attempt, before jitter; doubles each time.
    pub base: Duration,
    /// Longest back-off, before jitter.
    pub cap: Duration,
    /// Longest wait a `Retry-After` may impose; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Connecting (TCP and TLS handshake are both within `timeout`).
    pub connect_timeout: Duration,
    /// One attempt from sending to the whole answer read.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts within about half a minute: within a Lambda function's usual timeout, and
    /// the SQS redelivery takes over after that.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The back-off ceiling before attempt `attempt + 1` (`attempt` counts from 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// One request: POST of a body with headers. Header values may carry secrets (a bearer token);
/// they are never logged.
#[derive(Clone)]
pub struct HttpRequest {
    /// Where to.
    pub endpoint: Endpoint,
    /// Extra headers (the content type is set from `content_type`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body, sent as is (signatures are computed over these bytes).
    pub body: Bytes,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("endpoint", &self.endpoint)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (its first 64 KiB).
    pub body: Bytes,
}

/// How the caller judges a 2xx answer (e.g. Slack's `{"ok":false,"error":"ratelimited"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<T> {
    /// Delivered.
    Done(T),
    /// Try again, after `after` when the answer says so.
    Retry {
        /// Why.
        reason: String,
        /// The server's requested wait.
        after: Option<Duration>,
    },
    /// Retrying cannot help.
    Fail(String),
}

/// The HTTP client every HTTP target shares.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    jitter: Arc<dyn Jitter>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No root certificates could be loaded from the system.
    #[error("cannot load the system's root certificates: {0}")]
    Roots(#[from] std::io::Error),
}

impl HttpClient {
    /// A client with `policy`, real sleeping, full jitter and the system clock. TLS is rustls on
    /// aws-lc-rs with the system's root certificates.
    pub fn new(policy: RetryPolicy) -> Result<HttpClient, ClientError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(policy.connect_timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())?
            // Plain http is refused by `Endpoint::parse` except to loopback (tests).
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(HttpClient {
            client,
            policy,
            sleeper: Arc::new(TokioSleeper),
            jitter: Arc::new(FullJitter),
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the sleeper (tests record delays instead of waiting).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> HttpClient {
        self.sleeper = sleeper;
        self
    }

    /// Replaces the jitter (tests pick the ceiling to get a fixed schedule).
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> HttpClient {
        self.jitter = jitter;
        self
    }

    /// Replaces the clock (used for `Retry-After` dates).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> HttpClient {
        self.clock = clock;
        self
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// POSTs `req` until `judge` accepts a 2xx answer, a permanent failure, or the attempts run
    /// out. Errors name `target`, never the URL or headers.
    pub async fn post<T>(
        &self,
        target: &str,
        req: &HttpRequest,
        judge: impl Fn(&HttpResponse) -> Verdict<T>,
    ) -> Result<T, DeliveryError> {
        self.attempts(target, req, false, judge).await
    }

    /// POSTs `req` with the same retries as [`HttpClient::post`] (5xx, 408, 429, timeouts and
    /// connection failures), but hands every other answer, 4xx included, to the caller with its
    /// body: for APIs whose refusals carry the reason the user must see (the approval endpoint's
    /// `{"error":…}`).
    pub async fn send(
        &self,
        target: &str,
        req: &HttpRequest,
    ) -> Result<HttpResponse, DeliveryError> {
        self.attempts(target, req, true, |r| Verdict::Done(r.clone()))
            .await
    }

    async fn attempts<T>(
        &self,
        target: &str,
        req: &HttpRequest,
        refusals_to_caller: bool,
        judge: impl Fn(&HttpResponse) -> Verdict<T>,
    ) -> Result<T, DeliveryError> {
        let max = self.policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (reason, after) = match self.once(req).await {
                Ok(resp) => match classify(&resp, self.clock.now()) {
                    Class::Retry { reason, after } => (reason, after),
                    Class::Fail(reason) if !refusals_to_caller => {
                        tracing::warn!(target_name = target, %reason, "delivery rejected");
                        return Err(DeliveryError::permanent(target, reason));
                    }
                    Class::Ok | Class::Fail(_) => match judge(&resp) {
                        Verdict::Done(t) => return Ok(t),
                        Verdict::Retry { reason, after } => (reason, after),
                        Verdict::Fail(reason) => {
                            tracing::warn!(target_name = target, %reason, "delivery rejected");
                            return Err(DeliveryError::permanent(target, reason));
                        }
                    },
                },
                Err(reason) => (reason, None),
            };
            if attempt >= max {
                tracing::warn!(target_name = target, attempt, %reason, "delivery failed, attempts used up");
                return Err(DeliveryError::Retryable {
                    target: target.to_string(),
                    attempts: attempt,
                    reason,
                });
            }
            let delay = match after {
                Some(a) => a.min(self.policy.max_retry_after),
                None => self.jitter.pick(self.policy.ceiling(attempt)),
            };
            tracing::info!(
                target_name = target,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                %reason,
                "delivery failed, retrying"
            );
            self.sleeper.sleep(delay).await;
        }
    }

    /// One attempt. The error is a reason of this crate's own words: a transport error's text can
    /// quote the URL, so it is never passed on.
    async fn once(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        let mut b = http::Request::builder()
            .method(Method::POST)
            .uri(req.endpoint.uri().clone())
            .header(CONTENT_TYPE, req.content_type)
            .header(
                USER_AGENT,
                concat!("eks-remedy/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        let request = b
            .body(Full::new(req.body.clone()))
            .map_err(|_| "the request could not be built".to_string())?;
        let timeout = self.policy.timeout;
        let work = async {
            let resp = self.client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    "connection failed".to_string()
                } else {
                    "the connection broke before an answer".to_string()
                }
            })?;
            let (parts, mut body) = resp.into_parts();
            // Read up to the limit and drop the rest: an oversized answer to a delivered message
            // must not turn into an error (and a retry that posts twice).
            let mut buf = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| "the answer could not be read".to_string())?;
                if let Ok(data) = frame.into_data() {
                    let room = MAX_RESPONSE_BYTES - buf.len();
                    buf.extend_from_slice(&data[..data.len().min(room)]);
                    if buf.len() == MAX_RESPONSE_BYTES {
                        break;
                    }
                }
            }
            Ok(HttpResponse {
                status: parts.status,
                headers: parts.headers,
                body: Bytes::from(buf),
            })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
        }
    }
}

enum Class {
    Ok,
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Fail(String),
}

fn classify(resp: &HttpResponse, now: SystemTime) -> Class {
    let s = resp.status;
    if s.is_success() {
        Class::Ok
    } else if s == StatusCode::TOO_MANY_REQUESTS {
        Class::Retry {
            reason: "HTTP 429 (rate limited)".into(),
            after: resp
                .headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, now)),
        }
    } else if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT {
        Class::Retry {
            reason: format!("HTTP {}", s.as_u16()),
            after: None,
        }
    } else {
        // Other 4xx (and unexpected 1xx/3xx: redirects are not followed, a webhook that
        // redirects is misconfigured).
        Class::Fail(format!("HTTP {}", s.as_u16()))
    }
}

/// `Retry-After`: delay seconds, or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::try_from(at.timestamp()).ok()?))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(700),
            ..RetryPolicy::default()
        };
        let c: Vec<u128> = (1..=6).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(c, vec![100, 200, 400, 700, 700, 700]);
        assert_eq!(p.ceiling(200), Duration::from_millis(700));
    }

    #[test]
    fn full_jitter_stays_within_the_ceiling() {
        for _ in 0..1000 {
            assert!(FullJitter.pick(Duration::from_millis(50)) <= Duration::from_millis(50));
        }
        assert_eq!(FullJitter.pick(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:57 GMT", now),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
