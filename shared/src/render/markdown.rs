//! Markdown for tickets and chat.

use std::fmt::Write as _;

use super::{earlier_events, node_line, offset, read_line, when};
use crate::escape::{markdown_code as code, markdown_text as text};
use crate::report::Report;

pub(super) fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# eks-remedy report\n");
    let _ = writeln!(o, "**Node:** {}  ", text(&node_line(r)));
    let _ = writeln!(
        o,
        "**Bundle:** {} — {}\n",
        code(&r.bundle.source),
        read_line(r)
    );
    if let Some(rc) = &r.root_cause {
        let _ = writeln!(o, "> **{}**\n", text(&rc.summary));
    }
    if r.findings.is_empty() {
        let _ = writeln!(o, "No findings.\n");
    } else {
        let _ = writeln!(
            o,
            "| severity | rule | summary | count | first seen |\n|---|---|---|---|---|"
        );
        for f in &r.findings {
            let rc = if f.root_cause { " (root cause)" } else { "" };
            let _ = writeln!(
                o,
                "| {} | {}{rc} | {} | {} | {} |",
                f.severity.as_str(),
                code(&f.rule),
                text(&f.summary),
                f.count,
                when(f.first_seen)
            );
        }
        let _ = writeln!(o);
    }
    for f in &r.findings {
        let _ = writeln!(o, "## {} — {}\n", text(&f.rule), text(&f.title));
        let _ = writeln!(o, "{}\n\n*Why it matters:* {}\n", text(&f.summary), f.why);
        if !f.caused_by.is_empty() {
            let _ = writeln!(
                o,
                "*Caused by:* {}\n",
                f.caused_by
                    .iter()
                    .map(|c| code(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !f.evidence.is_empty() {
            let _ = writeln!(o, "**Evidence**\n");
            for e in &f.evidence {
                let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                let _ = writeln!(
                    o,
                    "- {} {}",
                    code(&format!("{}{at}", e.file)),
                    code(&e.excerpt)
                );
            }
            if f.evidence_omitted > 0 {
                let _ = writeln!(o, "- … and {} more", f.evidence_omitted);
            }
            let _ = writeln!(o);
        }
        if !f.fix.is_empty() {
            let _ = writeln!(o, "**Fix**\n");
            for fx in &f.fix {
                let target = fx.target.as_str();
                let _ = writeln!(o, "- *{target}*: {}", fx.instruction);
                if let Some(s) = &fx.snippet {
                    let _ = writeln!(
                        o,
                        "  ```\n{}\n  ```",
                        s.lines()
                            .map(|l| format!("  {l}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                }
            }
            let _ = writeln!(o);
        }
        if !f.docs.is_empty() {
            let _ = writeln!(
                o,
                "Docs: {}\n",
                f.docs
                    .iter()
                    .map(|d| format!("<{d}>"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    // The same window as the HTML and text timelines: events of earlier boots are summarised, not
    // listed as if they belonged to this incident.
    if let Some(t) = crate::timeline::Timeline::build(r, crate::timeline::DEFAULT_WIDTH) {
        let _ = writeln!(o, "## Timeline\n");
        if let Some(e) = &t.earlier {
            let _ = writeln!(o, "{}, not listed.\n", earlier_events(e));
        }
        let _ = writeln!(o, "| time | since boot | event |\n|---|---|---|");
        for e in r
            .timeline
            .iter()
            .filter(|e| e.at >= t.start && e.at <= t.end)
        {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                when(Some(e.at)),
                offset(e.since_boot_s),
                text(&e.label)
            );
        }
        let _ = writeln!(o);
    }
    if !r.skipped_checks.is_empty() {
        let _ = writeln!(o, "## Checks that could not decide\n");
        for s in &r.skipped_checks {
            let _ = writeln!(o, "- {}: {}", code(&s.rule), text(&s.reason));
        }
    }
    o
}
