//! The generic JSON webhook (PagerDuty, Opsgenie, in-house tools): the incident view itself, in a
//! versioned envelope. The notifier signs the exact body it sends (HMAC-SHA256 in a header).

use serde_json::{json, Value};

use super::noise::Summary;
use super::IncidentView;

/// Version of this envelope; fields are added, never renamed or removed.
pub const VERSION: u32 = 1;

/// The body for `view`.
pub fn render(view: &IncidentView) -> Value {
    json!({
        "version": VERSION,
        "type": "eks-remedy.incident",
        "fingerprint": view.fingerprint(),
        "headline": view.headline(),
        "incident": view,
    })
}

/// The body sent instead of the incidents a rate limit held.
pub fn render_summary(summary: &Summary) -> Value {
    json!({
        "version": VERSION,
        "type": "eks-remedy.summary",
        "headline": summary.text(),
        "incidents": summary.incidents,
        "clusters": summary.clusters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample_view;

    #[test]
    fn the_envelope_carries_the_whole_view() {
        let v = sample_view();
        let b = render(&v);
        assert_eq!(b["version"], 1);
        let back: IncidentView = serde_json::from_value(b["incident"].clone()).unwrap();
        assert_eq!(back, v);
    }
}
