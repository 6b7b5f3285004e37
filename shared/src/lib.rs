//! # eks-remedy core
//!
//! Finds the node and networking faults that break Amazon EKS nodes when clusters scale, from the
//! bundle the EKS Logs Collector writes. No AWS SDK here: the analyzer runs anywhere.
//!
//! | module | what |
//! |---|---|
//! | [`bundle`] | streaming reader: `.tar.gz`, `.tar`, leading folder, extracted folder; limits; damage |
//! | [`source`] | what a member is, from its path |
//! | [`scan`] | one Aho-Corasick pass over all log lines for every rule's signatures |
//! | [`occurrences`] | bounded counts, times and sample lines per signature |
//! | [`stamp`] | the logs' timestamp formats, resolved to UTC |
//! | [`facts`] | parsed structured files (configs, iptables, io throttling) and marker lines |
//! | [`rule`] / [`rules`] | the rule model and the catalogue, one file per rule |
//! | [`eni`] | ENI/IP limits for the max-pods ceiling |
//! | [`correlate`] | cause-and-effect links, root cause, timeline |
//! | [`timeline`] | the timeline model: window, breaks, ticks, lanes, non-overlapping labels |
//! | [`report`] | the JSON contract |
//! | [`render`] | text, JSON, Markdown and HTML output |
//! | [`analyze`] | the whole analysis, tying the above together |
//! | [`notify`] | chat messages: the incident view and one renderer per target (Slack, Teams, Q, webhook) |
//! | [`plan`] | remediation plans: findings → changes, modes and guards (no AWS calls) |

pub mod analyze;
pub mod bundle;
pub mod correlate;
pub mod eni;
pub mod facts;
pub mod notify;
pub mod occurrences;
pub mod plan;
pub mod render;
pub mod report;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod source;
pub mod stamp;
pub mod timeline;

pub use analyze::{Analyzer, Options};
pub use bundle::{BundleError, Limits};
pub use report::{Finding, Report, Severity};

/// Longest evidence excerpt, in characters.
pub const MAX_EXCERPT_CHARS: usize = 300;

/// A log line as evidence: lossy UTF-8, control characters made visible, at most
/// [`MAX_EXCERPT_CHARS`] characters (cut lines end with `…`).
pub fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len().min(MAX_EXCERPT_CHARS * 4));
    let mut chars = text.trim_end().chars();
    for c in chars.by_ref().take(MAX_EXCERPT_CHARS) {
        out.push(if c.is_control() && c != '\t' {
            '\u{fffd}'
        } else {
            c
        });
    }
    if chars.next().is_some() {
        out.pop();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_lossy() {
        let long = vec![b'a'; 1000];
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), MAX_EXCERPT_CHARS);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"ok\xff\x1b[31m"), "ok\u{fffd}\u{fffd}[31m");
    }
}
