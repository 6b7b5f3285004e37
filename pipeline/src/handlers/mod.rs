//! The five functions' logic. Each handler is a struct generic over the ports it uses, built once per
//! Lambda container (so its caches survive between invocations) and called per event.

pub mod analyzer;
pub mod collector;
pub mod ebs;
pub mod scaleup;
pub mod throttle;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};

use crate::{HandlerError, Outcome};

/// When state about events of `window` expires: `days` after the window or after now, whichever is
/// later (late or replayed events must not create already-expired state).
pub fn expires_at(window: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    window.max(Utc::now()) + chrono::Duration::days(i64::from(days))
}

/// [`expires_at`] as epoch seconds (the DynamoDB TTL attribute).
pub fn expiry(window: DateTime<Utc>, days: u32) -> i64 {
    expires_at(window, days).timestamp()
}

/// Logs an error with its outcome and says whether the event must be reported failed.
pub fn settle(what: &str, id: &str, e: &HandlerError) -> bool {
    let outcome = Outcome::of(e);
    match outcome {
        Outcome::Acknowledge => {
            tracing::info!(event = id, error = %e, "{what}: acknowledged without action")
        }
        Outcome::Retry => tracing::warn!(event = id, error = %e, "{what}: will retry"),
        Outcome::DeadLetter => {
            tracing::error!(event = id, error = %e, "{what}: unusable, to the dead-letter queue")
        }
    }
    outcome.fails()
}

/// A partial batch response failing these message ids.
pub fn batch_response(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    r
}

/// (message id, body) of each record; a record without an id cannot be reported and is skipped.
pub fn records(event: &SqsEvent) -> Vec<(String, Option<&str>)> {
    event
        .records
        .iter()
        .filter_map(|m| m.message_id.clone().map(|id| (id, m.body.as_deref())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events from weeks ago (a late delivery, a replay, the fixtures) once created state whose TTL
    /// had already passed, so DynamoDB reads treated it as absent and node locks never held.
    #[test]
    fn regression_old_events_do_not_create_expired_state() {
        let old = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert!(expiry(old, 14) > Utc::now().timestamp() + 13 * 86_400);
        let later = Utc::now() + chrono::Duration::days(30);
        assert_eq!(expires_at(later, 1), later + chrono::Duration::days(1));
    }
}
