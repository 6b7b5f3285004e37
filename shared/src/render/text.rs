//! Text for people at a terminal.

use std::fmt::Write as _;

use super::{earlier_events, node_line, offset, read_line, when};
use crate::escape::terminal as clean;
use crate::report::{Report, Severity};
use crate::timeline::{self, duration, since_boot, Timeline};

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
    if let Some(t) = Timeline::build(r, timeline::DEFAULT_WIDTH) {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", p.bold("Timeline"));
        timeline_text(&mut o, r, &t, &p);
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

/// Columns of the lane chart.
const CHART: usize = 48;

/// The timeline drawn from the same model as the HTML: the window, what it leaves out, a lane
/// chart, and the node's events in the window.
fn timeline_text(o: &mut String, r: &Report, t: &Timeline, p: &Paint) {
    let mut head = format!("  {}", when(Some(t.start)));
    if t.boot == Some(t.start) {
        head.push_str(" (boot)");
    }
    let _ = write!(head, " → {}", when(Some(t.end)));
    if t.collected == Some(t.end) {
        head.push_str(" (logs collected)");
    }
    let cut: Vec<String> = t
        .breaks()
        .iter()
        .map(|(_, _, d)| duration(d.num_milliseconds() as f64 / 1000.0, 2))
        .collect();
    if !cut.is_empty() && !t.lanes.is_empty() {
        let _ = write!(head, "; quiet {} cut out of the chart (//)", cut.join(", "));
    }
    let _ = writeln!(o, "{}", p.dim(&head));
    if let Some(e) = &t.earlier {
        let _ = writeln!(
            o,
            "  {}",
            p.dim(&format!(
                "{} ({}), not drawn",
                earlier_events(e),
                clean(&e.labels.join("; "))
            ))
        );
    }
    if !t.lanes.is_empty() {
        let col = |x: f64| {
            let f = (x - t.plot_left) / (t.plot_right - t.plot_left).max(1.0);
            ((f * (CHART - 1) as f64).round().max(0.0) as usize).min(CHART - 1)
        };
        let breaks: Vec<usize> = t
            .breaks()
            .iter()
            .map(|(a, b, _)| col((a + b) / 2.0))
            .collect();
        let name_w = t
            .lanes
            .iter()
            .map(|l| l.rule.chars().count())
            .max()
            .unwrap_or(0)
            .min(32);
        let _ = writeln!(o);
        for l in &t.lanes {
            let mut row = vec![' '; CHART];
            for &b in &breaks {
                row[b] = '/';
            }
            for c in row.iter_mut().take(col(l.x1) + 1).skip(col(l.x0)) {
                *c = '━';
            }
            let name: String = clean(&l.rule).chars().take(name_w).collect();
            let span = l.last - l.first;
            let note = if span > chrono::Duration::zero() {
                format!(
                    "{}× in {}",
                    l.count,
                    duration(span.num_milliseconds() as f64 / 1000.0, 2)
                )
            } else {
                format!("{}×", l.count)
            };
            let _ = writeln!(
                o,
                "  {name:<name_w$} │{}│ {note}",
                row.into_iter().collect::<String>()
            );
        }
        // The axis and as many tick labels as fit, since boot when known.
        let mut axis = vec!['─'; CHART];
        let mut labels = vec![' '; CHART + 12];
        let mut free = 0;
        for k in &t.ticks {
            let c = col(k.x);
            axis[c] = '┴';
            let text = match t.boot {
                Some(b) => since_boot((k.at - b).num_milliseconds() as f64 / 1000.0),
                None => k.at.format("%H:%M:%SZ").to_string(),
            };
            let n = text.chars().count();
            if c >= free && c + n <= labels.len() {
                for (i, ch) in text.chars().enumerate() {
                    labels[c + i] = ch;
                }
                free = c + n + 1;
            }
        }
        for &b in &breaks {
            axis[b] = '/';
        }
        let _ = writeln!(
            o,
            "  {:name_w$} └{}┘",
            "",
            axis.into_iter().collect::<String>()
        );
        let _ = writeln!(
            o,
            "  {:name_w$}  {}",
            "",
            labels.into_iter().collect::<String>().trim_end()
        );
    }
    let _ = writeln!(o);
    for e in r
        .timeline
        .iter()
        .filter(|e| e.at >= t.start && e.at <= t.end)
    {
        let _ = writeln!(
            o,
            "  {}  {:>9}  {}",
            when(Some(e.at)),
            offset(e.since_boot_s),
            clean(&e.label)
        );
    }
}
