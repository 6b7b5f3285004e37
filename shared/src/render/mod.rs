//! Output formats: text for people at a terminal, JSON (the contract), Markdown for tickets, and a
//! single self-contained HTML file with the timeline drawn as SVG, for attaching to incidents.

mod html;
mod markdown;
mod text;

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::escape;
use crate::report::Report;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text (colour optional).
    Text,
    /// The JSON contract.
    Json,
    /// Markdown.
    Markdown,
    /// Self-contained HTML.
    Html,
}

/// Renders `report`; `color` applies to text only.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
    }
}

/// The JSON contract, pretty-printed.
pub fn json(report: &Report) -> String {
    // Serialising plain data to a String cannot fail; fall back to an error object rather than panic.
    let text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    escape::json(&text) + "\n"
}

/// `2026-10-19 05:12:13Z`.
pub(crate) fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `Before this boot: 2 events from … to …`: what every format says of the node events the timeline
/// leaves out (each format adds the labels, escaped its own way).
pub(crate) fn earlier_events(e: &crate::timeline::Earlier) -> String {
    format!(
        "{}: {} event{} from {} to {}",
        if e.before_boot {
            "Before this boot"
        } else {
            "Before the first finding"
        },
        e.count,
        if e.count == 1 { "" } else { "s" },
        when(Some(e.first)),
        when(Some(e.last)),
    )
}

/// `+12.5s`, `+3m04s`, `+2h05m`.
pub(crate) fn offset(secs: Option<f64>) -> String {
    let Some(s) = secs else { return String::new() };
    let sign = if s < 0.0 { "-" } else { "+" };
    let a = s.abs();
    if a < 60.0 {
        format!("{sign}{a:.1}s")
    } else if a < 3600.0 {
        format!("{sign}{}m{:02}s", (a / 60.0) as u64, (a % 60.0) as u64)
    } else {
        format!(
            "{sign}{}h{:02}m",
            (a / 3600.0) as u64,
            ((a % 3600.0) / 60.0) as u64
        )
    }
}

/// `123.4 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// One line describing the node.
pub(crate) fn node_line(r: &Report) -> String {
    let b = &r.bundle;
    let mut parts = Vec::new();
    let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_string());
    parts.push(or(&b.instance_id, "unknown instance"));
    let mut place = or(&b.instance_type, "type unknown");
    if let Some(r) = &b.region {
        let _ = write!(place, ", {r}");
    }
    parts.push(place);
    if let Some(os) = &b.os {
        parts.push(os.to_uppercase());
    }
    if let Some(v) = &b.kubelet_version {
        parts.push(format!("kubelet {v}"));
    }
    if let Some(v) = &b.cluster_version {
        parts.push(format!("cluster {v}"));
    }
    if let Some(v) = &b.vpc_cni_version {
        parts.push(format!("VPC CNI {v}"));
    }
    parts.join(" · ")
}

/// One line describing what was read.
pub(crate) fn read_line(r: &Report) -> String {
    let b = &r.bundle;
    let mut s = format!(
        "{} read from {} members",
        bytes(b.bytes_read),
        b.members_read
    );
    if b.members_skipped.total() > 0 {
        let _ = write!(
            s,
            ", {} skipped (links, devices, unsafe paths, limits)",
            b.members_skipped.total()
        );
    }
    if !b.members_truncated.is_empty() {
        let _ = write!(s, ", {} cut at the member limit", b.members_truncated.len());
    }
    if b.lines_cut > 0 {
        let _ = write!(s, ", {} over-long lines cut", b.lines_cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert_eq!(offset(Some(12.54)), "+12.5s");
        assert_eq!(offset(Some(184.0)), "+3m04s");
        assert_eq!(offset(Some(7500.0)), "+2h05m");
        assert_eq!(offset(None), "");
    }
}
