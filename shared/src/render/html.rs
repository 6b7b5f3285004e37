//! One self-contained HTML file: no scripts, no external assets; the timeline is inline SVG.

use std::fmt::Write as _;

use super::{earlier_events, node_line, offset, read_line, when};
use crate::escape::html as escape;
use crate::report::{Report, Severity};
use crate::timeline::{self, duration, Role, Timeline};

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
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;overflow-wrap:anywhere}.meta{color:#555}\
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

/// The timeline section: a caption, the SVG drawn from the [`Timeline`] model (scaled to the page by
/// its viewBox), and notes for what the drawing leaves out. Lanes and their labels link to the
/// findings' sections; every bundle-derived string is escaped.
fn svg(r: &Report) -> String {
    let Some(t) = Timeline::build(r, timeline::DEFAULT_WIDTH) else {
        return String::new();
    };
    let mut o = String::from("<div class=\"timeline\" style=\"overflow-wrap:anywhere\">");
    let from = match t.boot {
        Some(b) if b == t.start => format!("{} (boot)", when(Some(t.start))),
        _ => when(Some(t.start)),
    };
    let to = match t.collected {
        Some(c) if c == t.end => format!("{} (logs collected)", when(Some(t.end))),
        _ => when(Some(t.end)),
    };
    let cut: Vec<String> = t
        .breaks()
        .iter()
        .map(|(_, _, d)| duration(d.num_milliseconds() as f64 / 1000.0, 2))
        .collect();
    let _ = write!(o, "<p class=\"meta\">{} → {}", escape(&from), escape(&to));
    if !cut.is_empty() {
        let _ = write!(
            o,
            " · quiet stretches cut out of the axis (//): {}",
            cut.join(", ")
        );
    }
    let ticks = if t.boot.is_some() {
        "time since boot above UTC"
    } else {
        "UTC (no boot seen)"
    };
    let _ = write!(o, " · ticks: {ticks}</p>");
    // Laid out twice, for wide and narrow pages; CSS shows one (no script needed).
    let _ = write!(
        o,
        "<style>.tl-n{{display:none}}@media (max-width:{NARROW_BELOW}px){{.tl-w{{display:none}}.tl-n{{display:block}}}}</style>"
    );
    drawing(&mut o, &t, "tl-w");
    if let Some(narrow) = Timeline::build(r, NARROW_WIDTH) {
        drawing(&mut o, &narrow, "tl-n");
    }
    if let Some(e) = &t.earlier {
        let _ = write!(
            o,
            "<p class=\"meta\">{} ({}), not drawn.</p>",
            escape(&earlier_events(e)),
            escape(&e.labels.join("; "))
        );
    }
    if t.undated > 0 {
        let _ = write!(
            o,
            "<p class=\"meta\">{} finding{} without a time, not drawn.</p>",
            t.undated,
            if t.undated == 1 { "" } else { "s" }
        );
    }
    o.push_str("</div>");
    o
}

/// Pages narrower than this get the narrow layout.
const NARROW_BELOW: u32 = 900;
/// Drawing width of the narrow layout: about its size on an 800 px page, so labels keep their size.
const NARROW_WIDTH: f64 = 740.0;

/// One laid-out timeline: the SVG and, when markers are numbered, their key.
fn drawing(o: &mut String, t: &Timeline, class: &str) {
    let (w, h) = (t.width, t.height);
    let _ = write!(
        o,
        "<div class=\"{class}\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"100%\" \
         style=\"display:block;max-width:{w:.0}px;height:auto\" \
         font-family=\"DejaVu Sans Mono,Menlo,Consolas,monospace\" font-size=\"{}\" role=\"img\" \
         aria-label=\"timeline\">",
        timeline::FONT
    );
    let band = t.axis_y - t.plot_top + 2.0;
    for s in &t.segments {
        let _ = write!(
            o,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{band:.1}\" fill=\"#f8f9fa\"/>\
             <line x1=\"{0:.1}\" y1=\"{3:.1}\" x2=\"{4:.1}\" y2=\"{3:.1}\" stroke=\"#868e96\"/>",
            s.x0,
            t.plot_top - 2.0,
            s.x1 - s.x0,
            t.axis_y,
            s.x1
        );
    }
    for (a, b, _) in t.breaks() {
        let (c, y) = ((a + b) / 2.0, t.axis_y);
        let _ = write!(
            o,
            "<line x1=\"{a:.1}\" y1=\"{y:.1}\" x2=\"{b:.1}\" y2=\"{y:.1}\" stroke=\"#adb5bd\" stroke-dasharray=\"2 2\"/>\
             <path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" stroke=\"#495057\" fill=\"none\"/>",
            c - 5.0,
            y + 6.0,
            c - 1.0,
            y - 6.0,
            c + 1.0,
            y + 6.0,
            c + 5.0,
            y - 6.0
        );
    }
    for k in &t.ticks {
        let _ = write!(
            o,
            "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#e9ecef\"/>\
             <line x1=\"{0:.1}\" y1=\"{2:.1}\" x2=\"{0:.1}\" y2=\"{3:.1}\" stroke=\"#868e96\"/>",
            k.x,
            t.plot_top - 2.0,
            t.axis_y,
            t.axis_y + 4.0
        );
    }
    for m in &t.markers {
        let _ = write!(
            o,
            "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#868e96\" stroke-dasharray=\"3 3\"><title>{3}</title></line>",
            m.x,
            m.line_top,
            t.axis_y,
            escape(&format!("{} {} {}", m.number, when(Some(m.at)), m.label))
        );
    }
    for l in &t.lanes {
        let _ = write!(
            o,
            "<a href=\"#{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{}\"><title>{}</title></rect></a>",
            escape(&l.rule),
            l.x0,
            l.y,
            l.x1 - l.x0,
            l.h,
            color(l.severity),
            escape(&format!(
                "{}: {}× from {} to {}",
                l.rule,
                l.count,
                when(Some(l.first)),
                when(Some(l.last))
            ))
        );
    }
    for l in &t.labels {
        let fill = match (l.role, &l.target) {
            (_, Some(_)) => "#0b5cad",
            (Role::TickUtc, _) => "#868e96",
            _ => "#343a40",
        };
        let title = l
            .title
            .as_deref()
            .map(|s| format!("<title>{}</title>", escape(s)))
            .unwrap_or_default();
        let text = format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" textLength=\"{:.1}\" lengthAdjust=\"spacing\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{title}{}</text>",
            l.x,
            l.y,
            l.width,
            escape(&l.text)
        );
        match &l.target {
            Some(rule) => {
                let _ = write!(o, "<a href=\"#{}\">{text}</a>", escape(rule));
            }
            None => o.push_str(&text),
        }
    }
    o.push_str("</svg>");
    if t.keyed {
        let _ = write!(
            o,
            "<ol class=\"meta\" style=\"columns:2 24em;font-size:.9em\">"
        );
        for m in &t.markers {
            let _ = write!(
                o,
                "<li value=\"{}\">{} {} {}</li>",
                m.number,
                m.at.format("%Y-%m-%d %H:%M:%S%.3fZ"),
                escape(&offset(m.since_boot_s)),
                escape(&m.label)
            );
        }
        let _ = write!(o, "</ol>");
    }
    o.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::{escape, svg};
    use crate::report::{BundleInfo, Finding, Report, TimelineEvent};

    fn hostile_report() -> Report {
        let evil = "a\"><script>x</script>";
        let finding: Finding = serde_json::from_value(serde_json::json!({
            "rule": evil, "severity": "high", "title": evil, "summary": "", "why": "", "count": 2,
            "first_seen": "2026-10-19T05:10:00Z", "last_seen": "2026-10-19T05:11:00Z",
            "first_seen_since_boot_s": null, "evidence": [], "details": {}, "fix": [], "actions": [],
            "docs": [], "root_cause": false, "caused_by": []
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let at = finding.first_seen.unwrap_or_default() + chrono::Duration::seconds(30);
        Report {
            schema_version: 1,
            tool: "test".into(),
            bundle: BundleInfo::default(),
            findings: vec![finding],
            root_cause: None,
            timeline: vec![TimelineEvent {
                at,
                since_boot_s: None,
                kind: "kubelet-start".into(),
                rule: None,
                label: evil.into(),
            }],
            skipped_checks: Vec::new(),
        }
    }

    #[test]
    fn timeline_scales_links_lanes_and_escapes_bundle_text() {
        let s = svg(&hostile_report());
        assert!(
            s.contains("viewBox=\"0 0 1000 ") && s.contains("width=\"100%\""),
            "{s}"
        );
        assert!(!s.contains("<script"), "{s}");
        assert!(s.contains("&lt;script&gt;"), "{s}");
        assert!(
            s.contains("<a href=\"#a&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">"),
            "{s}"
        );
        assert!(
            s.contains("textLength="),
            "labels pinned to their computed width"
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
