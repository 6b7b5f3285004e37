//! The delivery error: retry later, or give up (with the target's name and a reason, never a
//! secret).

/// Why a message did not reach a target. The text names the target (its configured name) and a
/// reason built by this crate (an HTTP status, a Slack error code, "timed out"): never the target's
/// URL, token or a transport error's own text, which may quote the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (5xx, 429, timeout, connection failure, Slack `ratelimited`): the
    /// attempts were used up. The notifier leaves the event to be retried (SQS, then the DLQ).
    #[error("{target}: not delivered after {attempts} attempt(s), will retry later: {reason}")]
    Retryable {
        /// The target's configured name.
        target: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// Retrying cannot help (4xx other than 429, Slack `invalid_auth`, `channel_not_found`, a
    /// configuration error): someone has to fix the target.
    #[error("{target}: rejected: {reason}")]
    Permanent {
        /// The target's configured name.
        target: String,
        /// What was rejected and why.
        reason: String,
    },
}

impl DeliveryError {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Retryable { .. })
    }

    /// The target's configured name.
    pub fn target(&self) -> &str {
        match self {
            DeliveryError::Retryable { target, .. } | DeliveryError::Permanent { target, .. } => {
                target
            }
        }
    }

    /// A permanent error for `target`.
    pub fn permanent(target: &str, reason: impl Into<String>) -> DeliveryError {
        DeliveryError::Permanent {
            target: target.to_string(),
            reason: reason.into(),
        }
    }
}
