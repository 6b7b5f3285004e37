//! Markdown for tickets and chat.

use std::fmt::Write as _;

use super::{node_line, offset, read_line, when};
use crate::report::Report;

/// Makes text safe inside a Markdown table cell or inline code.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "'")
        .replace(['\n', '\r'], " ")
}

pub(super) fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# eks-remedy report\n");
    let _ = writeln!(o, "**Node:** {}  ", cell(&node_line(r)));
    let _ = writeln!(
        o,
        "**Bundle:** `{}` — {}\n",
        cell(&r.bundle.source),
        read_line(r)
    );
    if let Some(rc) = &r.root_cause {
        let _ = writeln!(o, "> **{}**\n", cell(&rc.summary));
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
                "| {} | `{}`{rc} | {} | {} | {} |",
                f.severity.as_str(),
                f.rule,
                cell(&f.summary),
                f.count,
                when(f.first_seen)
            );
        }
        let _ = writeln!(o);
    }
    for f in &r.findings {
        let _ = writeln!(o, "## {} — {}\n", f.rule, cell(&f.title));
        let _ = writeln!(o, "{}\n\n*Why it matters:* {}\n", cell(&f.summary), f.why);
        if !f.caused_by.is_empty() {
            let _ = writeln!(
                o,
                "*Caused by:* {}\n",
                f.caused_by
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !f.evidence.is_empty() {
            let _ = writeln!(o, "**Evidence**\n");
            for e in &f.evidence {
                let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                let _ = writeln!(o, "- `{}{at}` `{}`", cell(&e.file), cell(&e.excerpt));
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
    if !r.timeline.is_empty() {
        let _ = writeln!(
            o,
            "## Timeline\n\n| time | since boot | event |\n|---|---|---|"
        );
        for e in &r.timeline {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                when(Some(e.at)),
                offset(e.since_boot_s),
                cell(&e.label)
            );
        }
        let _ = writeln!(o);
    }
    if !r.skipped_checks.is_empty() {
        let _ = writeln!(o, "## Checks that could not decide\n");
        for s in &r.skipped_checks {
            let _ = writeln!(o, "- `{}`: {}", s.rule, cell(&s.reason));
        }
    }
    o
}
