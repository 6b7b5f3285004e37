//! Chat delivery for eks-remedy, without the AWS SDK.
//!
//! The renderers in [`eks_remedy_core::notify`] turn one incident view into each platform's
//! payload; this crate sends those payloads and keeps each message current:
//!
//! - [`http::HttpClient`]: HTTPS with connect and total timeouts, bounded retries with exponential
//!   back-off and full jitter, `429 Retry-After` honoured (capped), other 4xx permanent, 5xx and
//!   timeouts retried. Sleeping, jitter and the clock are injected so tests never wait.
//! - [`target::Target`]: one small trait over the Slack bot (post, then update in place, thread
//!   replies), Slack incoming webhooks, Teams Workflows webhooks, a signed generic JSON webhook and
//!   SNS in the Amazon Q Developer format (through the [`target::Publisher`] trait, implemented
//!   with the SDK elsewhere).
//! - [`outbox::Outbox`]: what each target last received (fingerprint, Slack `ts`, changes not yet
//!   announced), so a delivery that fails loses nothing and the next success sends the current
//!   state.
//! - [`interactivity`]: verification of Slack's signed interactivity callbacks into a typed
//!   approval [`interactivity::Decision`].
//! - [`signing`]: the generic webhook's HMAC-SHA256 signature, for senders and receivers.
//!
//! Secrets (tokens, webhook URLs, signing secrets) are [`secret::Secret`]s: their `Debug` is
//! redacted and no error or log line carries them; errors name the target instead.

use std::future::Future;
use std::pin::Pin;

pub mod error;
pub mod http;
pub mod interactivity;
pub mod outbox;
pub mod preview;
pub mod secret;
pub mod signing;
pub mod target;
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::DeliveryError;

/// A boxed future, so the crate's traits stay object-safe (`dyn Target`, `dyn Publisher`, …).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
