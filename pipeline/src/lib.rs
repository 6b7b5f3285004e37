//! # eks-remedy pipeline
//!
//! The serverless pipeline's logic, free of AWS SDKs so it builds fast and tests with fakes:
//!
//! | module | what |
//! |---|---|
//! | [`events`] | inbound event JSON (EventBridge, SQS bodies, manual payloads) → typed events, never panicking |
//! | [`model`] | incidents, windows, the fold of a storm into one incident |
//! | [`ports`] | one small trait per AWS capability; adapters live in `eks-remedy-aws` |
//! | [`function`] | one shape for every function: the table, the handler trait, the one entry point |
//! | [`handlers`] | the five functions' logic, generic over the ports |
//! | [`fakes`] | in-memory ports for tests and benchmarks (feature `test-support`) |
//! | [`metrics`] | the pipeline's own metrics, as CloudWatch Embedded Metric Format lines on stdout |
//! | [`remedy`] | remediation: the executor of a plan on the observe / dry-run / approve / auto ladder, its guards, ledger and audit |
//! | [`telemetry`] | JSON logs, one span per event carrying its incident, cluster and instance |
//!
//! ## What happens to an event
//!
//! Decided in one place, [`Outcome::of`], for every function (the test `error_taxonomy` holds the
//! code to this table):
//!
//! | input or failure | error | outcome |
//! |---|---|---|
//! | an event of another source or type, or of a kind the function does not take | none | acknowledged with a log line |
//! | malformed: not JSON, a field missing or mistyped, an empty SQS body | [`HandlerError::Event`] | dead-letter: a Lambda error (EventBridge targets retry, then their DLQ) or a batch item failure (SQS redrives it to the DLQ after `maxReceiveCount`) |
//! | AWS throttling, 5xx, timeout, connection failure | [`PortError::Throttled`], [`PortError::Transient`] | retry |
//! | AWS refusal (4xx: access denied, invalid request) | [`PortError::Refused`] | dead-letter, the reason in the log |
//! | the resource is gone (terminated node, deleted object, unknown command) | [`PortError::NotFound`] | acknowledged |
//! | an object that is not a bundle, one without collector files, or one over the size limit | [`HandlerError::Bundle`], [`HandlerError::TooLarge`] | acknowledged (the incident carries an `analysis-skipped:` note) |
//! | the object's stream failed while reading (S3 reset, timeout) | [`HandlerError::Bundle`] (open / read) | retry |
//! | a setting missing or wrong | [`HandlerError::Config`] | dead-letter: redrive once the setting is fixed |
//! | an internal failure (a panicked or cancelled task) | [`HandlerError::Internal`] | retry |

pub mod events;
#[cfg(any(test, feature = "test-support"))]
pub mod fakes;
pub mod function;
pub mod handlers;
pub mod metrics;
pub mod model;
pub mod ports;
pub mod remedy;
pub mod telemetry;

use std::time::Duration;

/// An AWS call failed. Adapters map SDK errors into these kinds, keeping the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Rate-limited (`ThrottlingException`, `RequestLimitExceeded`, `TooManyRequests`): retry later.
    #[error("{service} throttled: {message}")]
    Throttled {
        /// AWS service.
        service: &'static str,
        /// The error's message.
        message: String,
    },
    /// A transient fault (5xx, timeout, connection): retry.
    #[error("{service} unavailable: {message}")]
    Transient {
        /// AWS service.
        service: &'static str,
        /// The error's message.
        message: String,
    },
    /// The resource does not exist (unknown instance, object, command).
    #[error("{service}: not found: {message}")]
    NotFound {
        /// AWS service.
        service: &'static str,
        /// What.
        message: String,
    },
    /// Refused for good: access denied, invalid request, unsupported.
    #[error("{service} refused: {message}")]
    Refused {
        /// AWS service.
        service: &'static str,
        /// The error's message.
        message: String,
    },
}

impl PortError {
    /// Whether trying again later can help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PortError::Throttled { .. } | PortError::Transient { .. }
        )
    }
}

/// Why a handler could not finish an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event itself is unusable.
    #[error(transparent)]
    Event(#[from] events::EventError),
    /// An AWS call failed.
    #[error(transparent)]
    Port(#[from] PortError),
    /// The bundle could not be analysed.
    #[error("bundle: {0}")]
    Bundle(#[from] eks_remedy_core::BundleError),
    /// A setting is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The handler itself failed (a panicked or cancelled task).
    #[error("internal: {0}")]
    Internal(String),
    /// The input is over a configured size: handled by a note, never by trying anyway.
    #[error("{what} is {bytes} bytes, over the limit of {limit}")]
    TooLarge {
        /// What was measured (e.g. the object's URL).
        what: String,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// What to do with an event that failed, decided in one place for every function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done with it: log and acknowledge (retrying cannot help and nothing is lost by dropping it).
    Acknowledge,
    /// Transient: report it failed so SQS / Lambda retries it with back-off.
    Retry,
    /// Unusable input: fail it so it lands in the dead-letter queue for a person to look at.
    DeadLetter,
}

impl Outcome {
    /// The outcome for an error (the table in the crate's documentation).
    pub fn of(e: &HandlerError) -> Outcome {
        match e {
            HandlerError::Event(_) => Outcome::DeadLetter,
            HandlerError::Port(p) if p.is_retryable() => Outcome::Retry,
            // Gone for good: nothing to act on, nothing a person could redrive.
            HandlerError::Port(PortError::NotFound { .. }) => Outcome::Acknowledge,
            // A refusal will not change on retry, but a person can fix the cause and redrive.
            HandlerError::Port(_) => Outcome::DeadLetter,
            // The stream from S3 broke: reading again can succeed.
            HandlerError::Bundle(
                eks_remedy_core::BundleError::Open { .. }
                | eks_remedy_core::BundleError::Read { .. },
            ) => Outcome::Retry,
            // The object itself is not a bundle: the same bytes next time.
            HandlerError::Bundle(_) => Outcome::Acknowledge,
            // Retrying will not make it smaller; the incident carries the note.
            HandlerError::TooLarge { .. } => Outcome::Acknowledge,
            HandlerError::Config(_) => Outcome::DeadLetter,
            HandlerError::Internal(_) => Outcome::Retry,
        }
    }

    /// Whether the event must be reported as failed (SQS partial batch failure, or a Lambda error).
    pub fn fails(self) -> bool {
        !matches!(self, Outcome::Acknowledge)
    }
}

/// How collection is run on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionMethod {
    /// SSM Run Command with the stack's collection document (the collector script).
    RunCommand,
    /// The `AWSSupport-CollectEKSInstanceLogs` automation.
    Automation,
}

/// Settings, read from the function's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Bundle bucket.
    pub bucket: String,
    /// Incident window.
    pub window_minutes: u32,
    /// Most nodes collected per incident and window.
    pub max_collections: u32,
    /// New nodes sampled per Auto Scaling group and window.
    pub sample_per_group: u32,
    /// Delay between launch and collection (faults show in the first minutes of boot; SQS allows ≤ 900).
    pub settle_delay: Duration,
    /// Incident lifetime (DynamoDB TTL).
    pub ttl_days: u32,
    /// Run Command or automation.
    pub method: CollectionMethod,
    /// Largest bundle (compressed, as stored) the analyzer reads.
    pub max_bundle_bytes: u64,
    /// The analyzer reads at most this many times a bundle's compressed size.
    pub max_inflation_ratio: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bucket: String::new(),
            window_minutes: 30,
            max_collections: 3,
            sample_per_group: 2,
            settle_delay: Duration::from_secs(300),
            ttl_days: 14,
            method: CollectionMethod::RunCommand,
            max_bundle_bytes: DEFAULT_MAX_BUNDLE_BYTES,
            max_inflation_ratio: DEFAULT_MAX_INFLATION_RATIO,
        }
    }
}

/// Default largest bundle analysed: 1 GiB compressed (collector bundles are tens of MB; 1 GiB
/// inflates to several GB, about what the analyzer reads within its 10-minute timeout at 512 MB).
pub const DEFAULT_MAX_BUNDLE_BYTES: u64 = 1 << 30;
/// Default inflation bound: log text compresses 5-20x, a gzip bomb about 1000x.
pub const DEFAULT_MAX_INFLATION_RATIO: u64 = 100;

/// One numeric setting: `default` when unset, else a number within `range`, or a configuration
/// error naming the variable, what it holds and what it should. NaN and infinities are never in a
/// range, so a float setting cannot switch a comparison off.
pub fn setting<T>(
    key: &str,
    value: Option<&str>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, HandlerError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(v) = value else {
        return Ok(default);
    };
    v.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            HandlerError::Config(format!(
                "{key}={v:?}: expected a number from {} to {}",
                range.start(),
                range.end()
            ))
        })
}

impl Config {
    /// Reads `BUCKET`, `WINDOW_MINUTES`, `MAX_COLLECTIONS`, `SAMPLE_PER_GROUP`, `SETTLE_DELAY_SECONDS`,
    /// `TTL_DAYS`, `COLLECTION_METHOD` (`run-command` | `automation`), `MAX_BUNDLE_BYTES`,
    /// `MAX_INFLATION_RATIO` through `get`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, HandlerError> {
        let d = Config::default();
        let big = |k: &str, default: u64, max: u64| setting(k, get(k).as_deref(), default, 1..=max);
        let num = |k: &str, default: u32, max: u32| setting(k, get(k).as_deref(), default, 1..=max);
        let method = match get("COLLECTION_METHOD").as_deref() {
            None | Some("run-command") => CollectionMethod::RunCommand,
            Some("automation") => CollectionMethod::Automation,
            Some(other) => {
                return Err(HandlerError::Config(format!(
                    "COLLECTION_METHOD={other:?}: expected run-command or automation"
                )))
            }
        };
        Ok(Config {
            bucket: get("BUCKET").unwrap_or_default(),
            window_minutes: num("WINDOW_MINUTES", d.window_minutes, 24 * 60)?,
            max_collections: num("MAX_COLLECTIONS", d.max_collections, 50)?,
            sample_per_group: num("SAMPLE_PER_GROUP", d.sample_per_group, 50)?,
            settle_delay: Duration::from_secs(u64::from(num("SETTLE_DELAY_SECONDS", 300, 900)?)),
            ttl_days: num("TTL_DAYS", d.ttl_days, 365)?,
            method,
            max_bundle_bytes: big("MAX_BUNDLE_BYTES", d.max_bundle_bytes, 5 << 40)?,
            max_inflation_ratio: big("MAX_INFLATION_RATIO", d.max_inflation_ratio, 1100)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_env_validates() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = Config::from_env(env(&[("BUCKET", "b"), ("MAX_COLLECTIONS", "5")])).unwrap();
        assert_eq!(
            (c.bucket.as_str(), c.max_collections, c.window_minutes),
            ("b", 5, 30)
        );
        let e = Config::from_env(env(&[("SETTLE_DELAY_SECONDS", "3600")])).unwrap_err();
        assert!(e.to_string().contains("SETTLE_DELAY_SECONDS"), "{e}");
        assert!(Config::from_env(env(&[("COLLECTION_METHOD", "carrier-pigeon")])).is_err());
    }

    /// The crate documentation's table, row by row.
    #[test]
    fn error_taxonomy() {
        let port = |p: PortError| HandlerError::Port(p);
        let (svc, m) = ("ec2", String::from("x"));
        let rows: Vec<(HandlerError, Outcome)> = vec![
            (
                HandlerError::Event(events::EventError::Invalid {
                    what: "x",
                    reason: "y".into(),
                }),
                Outcome::DeadLetter,
            ),
            (
                HandlerError::Event(events::parse("not json").expect_err("not JSON")),
                Outcome::DeadLetter,
            ),
            (
                port(PortError::Throttled {
                    service: svc,
                    message: m.clone(),
                }),
                Outcome::Retry,
            ),
            (
                port(PortError::Transient {
                    service: svc,
                    message: m.clone(),
                }),
                Outcome::Retry,
            ),
            (
                port(PortError::Refused {
                    service: svc,
                    message: m.clone(),
                }),
                Outcome::DeadLetter,
            ),
            (
                port(PortError::NotFound {
                    service: svc,
                    message: m.clone(),
                }),
                Outcome::Acknowledge,
            ),
            (
                HandlerError::TooLarge {
                    what: m.clone(),
                    bytes: 2,
                    limit: 1,
                },
                Outcome::Acknowledge,
            ),
            (HandlerError::Config(m.clone()), Outcome::DeadLetter),
            (
                HandlerError::Bundle(eks_remedy_core::BundleError::NotABundle { path: m.clone() }),
                Outcome::Acknowledge,
            ),
            (
                HandlerError::Bundle(eks_remedy_core::BundleError::Read {
                    path: m.clone(),
                    source: std::io::Error::other("connection reset"),
                }),
                Outcome::Retry,
            ),
            (HandlerError::Internal(m), Outcome::Retry),
        ];
        for (e, want) in rows {
            assert_eq!(Outcome::of(&e), want, "{e}");
        }
        assert!(
            Outcome::DeadLetter.fails() && Outcome::Retry.fails() && !Outcome::Acknowledge.fails()
        );
    }
}
