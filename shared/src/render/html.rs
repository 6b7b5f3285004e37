//! One self-contained HTML file: no scripts, no external assets; the timeline is inline SVG.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::escape::html as escape;
use super::{node_line, offset, read_line, when};
use crate::report::{Report, Severity};

fn color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#b00020",
        Severity::High => "#d9480f",
        Severity::Medium => "#e8a200",
        Severity::Low => "#1971c2",
        Severity::Info => "#868e96",
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}.meta{color:#555}\
.f{border-left:5px solid #ccc;padding:.4em 1em;margin:1em 0;background:#fafafa}\
.sev{display:inline-block;color:#fff;border-radius:3px;padding:0 .4em;font-size:.85em;font-weight:600}\
code,pre{font:12px/1.4 ui-monospace,monospace;background:#f1f3f5;padding:.1em .3em}pre{padding:.5em;overflow-x:auto}\
.ev{white-space:pre-wrap;word-break:break-all}.rc{font-weight:600;background:#fff4e6;padding:.6em 1em;border-radius:4px}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #e9ecef;padding:.2em .6em;text-align:left;vertical-align:top}";

pub(super) fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>eks-remedy · {}</title><style>{STYLE}</style></head><body>",
        escape(r.bundle.instance_id.as_deref().unwrap_or("report"))
    );
    let _ = write!(
        o,
        "<h1>eks-remedy report</h1><p class=\"meta\">{}<br>{} · {}</p>",
        escape(&node_line(r)),
        escape(&r.bundle.source),
        escape(&read_line(r))
    );
    if let Some(rc) = &r.root_cause {
        let _ = write!(o, "<p class=\"rc\">{}</p>", escape(&rc.summary));
    }
    if r.findings.is_empty() {
        let _ = write!(o, "<p>No findings.</p>");
    }
    if !r.timeline.is_empty() {
        let _ = write!(o, "<h2>Timeline</h2>{}", svg(r));
    }
    for f in &r.findings {
        let c = color(f.severity);
        let _ = write!(
            o,
            "<div class=\"f\" id=\"{}\" style=\"border-color:{c}\">",
            escape(&f.rule)
        );
        let _ = write!(
            o,
            "<h2><span class=\"sev\" style=\"background:{c}\">{}</span> {} — {}{}</h2>",
            f.severity.as_str(),
            escape(&f.rule),
            escape(&f.title),
            if f.root_cause {
                " <small>(likely root cause)</small>"
            } else {
                ""
            }
        );
        let _ = write!(
            o,
            "<p>{}</p><p class=\"meta\">{}× · first {} {} · last {}</p>",
            escape(&f.summary),
            f.count,
            when(f.first_seen),
            offset(f.first_seen_since_boot_s),
            when(f.last_seen)
        );
        if !f.caused_by.is_empty() {
            let links: Vec<String> = f
                .caused_by
                .iter()
                .map(|c| format!("<a href=\"#{0}\">{0}</a>", escape(c)))
                .collect();
            let _ = write!(o, "<p>Caused by: {}</p>", links.join(", "));
        }
        let _ = write!(o, "<p><em>Why it matters:</em> {}</p>", escape(&f.why));
        if !f.evidence.is_empty() {
            let _ = write!(o, "<table><tr><th>where</th><th>line</th></tr>");
            for e in &f.evidence {
                let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                let _ = write!(
                    o,
                    "<tr><td><code>{}{at}</code></td><td class=\"ev\"><code>{}</code></td></tr>",
                    escape(&e.file),
                    escape(&e.excerpt)
                );
            }
            if f.evidence_omitted > 0 {
                let _ = write!(
                    o,
                    "<tr><td colspan=\"2\">… and {} more</td></tr>",
                    f.evidence_omitted
                );
            }
            let _ = write!(o, "</table>");
        }
        if !f.fix.is_empty() {
            let _ = write!(o, "<h3>Fix</h3><ul>");
            for fx in &f.fix {
                let target = fx.target.as_str();
                let _ = write!(
                    o,
                    "<li><strong>{}</strong>: {}",
                    escape(target),
                    escape(&fx.instruction)
                );
                if let Some(s) = &fx.snippet {
                    let _ = write!(o, "<pre>{}</pre>", escape(s));
                }
                let _ = write!(o, "</li>");
            }
            let _ = write!(o, "</ul>");
        }
        for d in &f.docs {
            let _ = write!(o, "<a href=\"{0}\">{0}</a><br>", escape(d));
        }
        let _ = write!(o, "</div>");
    }
    if !r.skipped_checks.is_empty() {
        let _ = write!(o, "<h2>Checks that could not decide</h2><ul>");
        for s in &r.skipped_checks {
            let _ = write!(
                o,
                "<li><code>{}</code>: {}</li>",
                escape(&s.rule),
                escape(&s.reason)
            );
        }
        let _ = write!(o, "</ul>");
    }
    let _ = writeln!(o, "<p class=\"meta\">{}</p></body></html>", escape(&r.tool));
    o
}

/// The timeline: node events as vertical marks, each finding as a bar from first to last occurrence.
fn svg(r: &Report) -> String {
    let times: Vec<DateTime<Utc>> = r.timeline.iter().map(|e| e.at).collect();
    let (Some(&t0), Some(&t1)) = (times.iter().min(), times.iter().max()) else {
        return String::new();
    };
    let span = ((t1 - t0).num_milliseconds() as f64).max(1000.0);
    let (left, width, lane) = (190.0, 860.0, 22.0);
    let x = |t: DateTime<Utc>| left + (t - t0).num_milliseconds() as f64 / span * width;
    let lanes: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.first_seen.is_some())
        .collect();
    let marks: Vec<_> = r.timeline.iter().filter(|e| e.rule.is_none()).collect();
    let height = 40.0 + lane * (lanes.len() as f64 + 1.0) + 40.0;
    let mut o = String::new();
    let _ = write!(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-size=\"11\" role=\"img\" aria-label=\"timeline\">", left + width + 20.0);
    let _ = write!(
        o,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#999\"/>",
        height - 30.0,
        left + width
    );
    let _ = write!(
        o,
        "<text x=\"{left}\" y=\"{}\">{}</text>",
        height - 14.0,
        escape(&when(Some(t0)))
    );
    let _ = write!(
        o,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        left + width,
        height - 14.0,
        escape(&when(Some(t1)))
    );
    for (i, m) in marks.iter().enumerate() {
        let mx = x(m.at);
        let _ = write!(o, "<line x1=\"{mx:.1}\" y1=\"20\" x2=\"{mx:.1}\" y2=\"{:.1}\" stroke=\"#adb5bd\" stroke-dasharray=\"3 3\"/>", height - 30.0);
        let _ = write!(
            o,
            "<text x=\"{:.1}\" y=\"{}\" fill=\"#495057\"><title>{}</title>{}</text>",
            mx + 2.0,
            12.0 + (i % 2) as f64 * 10.0,
            escape(&format!("{} {}", when(Some(m.at)), m.label)),
            escape(&m.kind)
        );
    }
    for (i, f) in lanes.iter().enumerate() {
        let y = 40.0 + lane * i as f64;
        let (Some(a), b) = (f.first_seen, f.last_seen) else {
            continue;
        };
        let (xa, xb) = (x(a), x(b.unwrap_or(a)));
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 11.0,
            escape(&f.rule)
        );
        let _ = write!(
            o,
            "<rect x=\"{xa:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\" rx=\"3\" fill=\"{}\"><title>{}</title></rect>",
            (xb - xa).max(4.0),
            color(f.severity),
            escape(&format!("{}: {}× from {} to {}", f.rule, f.count, when(f.first_seen), when(f.last_seen)))
        );
    }
    o.push_str("</svg>");
    o
}
