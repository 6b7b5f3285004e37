//! Text for people at a terminal.

use std::fmt::Write as _;

use super::escape::terminal as clean;
use super::{node_line, offset, read_line, when};
use crate::report::{Report, Severity};

struct Paint(bool);

impl Paint {
    fn code(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.code("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.code("2", s)
    }
    fn severity(&self, s: Severity) -> String {
        let label = format!("{:<8}", s.as_str().to_uppercase());
        let code = match s {
            Severity::Critical => "1;41;97",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.code(code, &label)
    }
}

pub(super) fn render(r: &Report, color: bool) -> String {
    let p = Paint(color);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        p.bold(&format!("eks-remedy · {}", clean(&node_line(r))))
    );
    let _ = writeln!(
        o,
        "{}",
        p.dim(&format!("{} · {}", clean(&r.bundle.source), read_line(r)))
    );
    let _ = writeln!(o);
    if r.findings.is_empty() {
        let _ = writeln!(
            o,
            "No findings: none of the {} rules fired.",
            crate::rules::ids().len()
        );
    } else {
        let n = r.findings.len();
        let _ = writeln!(o, "{n} finding{}.", if n == 1 { "" } else { "s" });
    }
    if let Some(rc) = &r.root_cause {
        let _ = writeln!(o, "{}", p.bold(&clean(&rc.summary)));
    }
    for f in &r.findings {
        let _ = writeln!(o);
        let tag = if f.root_cause {
            p.bold(" [likely root cause]")
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "{} {} — {}{tag}",
            p.severity(f.severity),
            p.bold(&clean(&f.rule)),
            clean(&f.title)
        );
        let _ = writeln!(o, "  {}", clean(&f.summary));
        if f.first_seen.is_some() {
            let _ = writeln!(
                o,
                "  {}",
                p.dim(&format!(
                    "seen {}× · first {}{} · last {}",
                    f.count,
                    when(f.first_seen),
                    f.first_seen_since_boot_s
                        .map(|s| format!(" ({} after boot)", offset(Some(s))))
                        .unwrap_or_default(),
                    when(f.last_seen)
                ))
            );
        }
        if !f.caused_by.is_empty() {
            let _ = writeln!(o, "  caused by: {}", clean(&f.caused_by.join(", ")));
        }
        let _ = writeln!(o, "  {}", p.dim(&format!("why: {}", f.why)));
        if !f.evidence.is_empty() {
            let _ = writeln!(o, "  evidence:");
            for e in &f.evidence {
                let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                let _ = writeln!(o, "    {}{at}", p.dim(&clean(&e.file)));
                let _ = writeln!(o, "      {}", clean(&e.excerpt));
            }
            if f.evidence_omitted > 0 {
                let _ = writeln!(o, "    … and {} more", f.evidence_omitted);
            }
        }
        if !f.fix.is_empty() {
            let _ = writeln!(o, "  fix:");
            for fx in &f.fix {
                let target = fx.target.as_str();
                let _ = writeln!(o, "    [{target}] {}", fx.instruction);
                for line in fx.snippet.iter().flat_map(|s| s.lines()) {
                    let _ = writeln!(o, "        {}", p.code("36", line));
                }
            }
        }
        if !f.docs.is_empty() {
            let _ = writeln!(o, "  {}", p.dim(&format!("docs: {}", f.docs.join(" "))));
        }
    }
    if !r.timeline.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", p.bold("Timeline"));
        for e in &r.timeline {
            let _ = writeln!(
                o,
                "  {}  {:>9}  {}",
                when(Some(e.at)),
                offset(e.since_boot_s),
                clean(&e.label)
            );
        }
    }
    if !r.skipped_checks.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", p.bold("Checks that could not decide"));
        for s in &r.skipped_checks {
            let _ = writeln!(o, "  {}: {}", clean(&s.rule), clean(&s.reason));
        }
    }
    o
}
