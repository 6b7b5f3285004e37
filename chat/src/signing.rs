//! The generic webhook's signature, for the sender and for receivers.
//!
//! Every webhook request carries two headers:
//!
//! ```text
//! X-Eks-Remedy-Timestamp: 1793000000
//! X-Eks-Remedy-Signature: sha256=<hex of HMAC-SHA256(secret, "1793000000." + raw body)>
//! ```
//!
//! A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes exactly as
//! received (before any JSON parsing), compares in constant time, and rejects timestamps more than
//! five minutes from its clock so a captured request cannot be replayed later. [`verify`] does
//! all of that.

use std::time::{Duration, SystemTime};

use hmac::{KeyInit, Mac};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-eks-remedy-signature";
/// The timestamp header (Unix seconds), part of the signed string.
pub const TIMESTAMP_HEADER: &str = "x-eks-remedy-timestamp";
/// How far a timestamp may be from the receiver's clock.
pub const TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// HMAC-SHA256 of the parts, in order.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC hashes long keys and pads short ones: every length is valid.
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time check of `tag` against the HMAC of the parts.
pub(crate) fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(tag).is_ok()
}

/// The `X-Eks-Remedy-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret, &[ts.as_bytes(), b".", body]))
    )
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The timestamp is not Unix seconds.
    #[error("the timestamp header is not a number")]
    BadTimestamp,
    /// The timestamp is more than the tolerance away from now.
    #[error("the timestamp is outside the {0} s window")]
    Stale(u64),
    /// The signature is not `sha256=<hex>` or does not match.
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a webhook request: `timestamp` and `signature` are the two headers' values, `body` the
/// raw bytes received.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<(), SignatureError> {
    let ts: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if !within(ts, now, TOLERANCE) {
        return Err(SignatureError::Stale(TOLERANCE.as_secs()));
    }
    let tag = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Mismatch)?;
    let ts = ts.to_string();
    if hmac_sha256_verify(secret, &[ts.as_bytes(), b".", body], &tag) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Whether Unix time `ts` is within `window` of `now`, either side.
pub(crate) fn within(ts: u64, now: SystemTime, window: Duration) -> bool {
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    now.abs_diff(ts) <= window.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_793_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let body = br#"{"version":1}"#;
        let sig = sign(b"s3cret", NOW, body);
        assert!(sig.starts_with("sha256="));
        assert_eq!(
            verify(b"s3cret", &NOW.to_string(), &sig, body, now()),
            Ok(())
        );
        assert_eq!(
            verify(
                b"s3cret",
                &NOW.to_string(),
                &sig,
                br#"{"version":2}"#,
                now()
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &NOW.to_string(), &sig, body, now()),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the signature.
        assert_eq!(
            verify(b"s3cret", &(NOW + 1).to_string(), &sig, body, now()),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &NOW.to_string(), "sha256=zz", body, now()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_or_future_timestamps_are_refused() {
        let body = b"{}";
        let old = NOW - 301;
        let sig = sign(b"k", old, body);
        assert_eq!(
            verify(b"k", &old.to_string(), &sig, body, now()),
            Err(SignatureError::Stale(300))
        );
        let fut = NOW + 301;
        let sig = sign(b"k", fut, body);
        assert_eq!(
            verify(b"k", &fut.to_string(), &sig, body, now()),
            Err(SignatureError::Stale(300))
        );
        assert_eq!(
            verify(b"k", "yesterday", &sig, body, now()),
            Err(SignatureError::BadTimestamp)
        );
    }
}
