//! A plan for people: one block per action, guards marked, before → after as compact JSON.

use std::fmt::Write;

use serde_json::Value;

use super::{Decision, Plan};
use crate::escape::terminal as clean;

/// Renders `plan` as plain text (no colour, no control characters from any field).
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · incident {} · {} action{}",
        plan.plan_id,
        plan.incident_id
            .as_deref()
            .map(clean)
            .unwrap_or_else(|| "–".into()),
        plan.actions.len(),
        if plan.actions.len() == 1 { "" } else { "s" }
    );
    for (i, a) in plan.actions.iter().enumerate() {
        let decision = match a.decision {
            Decision::Execute => "executes",
            Decision::AwaitApproval => "waits for approval",
            Decision::RecordOnly => "recorded only",
            Decision::Held => "held by a guard",
        };
        let _ = writeln!(
            out,
            "\n{}. {:<15} {} · {} · from {}",
            i + 1,
            a.kind.as_str(),
            a.mode.as_str(),
            decision,
            a.findings.join(", ")
        );
        let _ = writeln!(out, "   {}", clean(&a.summary));
        let _ = writeln!(out, "   target: {}", compact(&a.target));
        if !a.change.before.is_null() {
            let _ = writeln!(out, "   before: {}", compact(&a.change.before));
        }
        match a.change.after.get("body").and_then(Value::as_str) {
            Some(body) => {
                let _ = writeln!(
                    out,
                    "   subject: {}",
                    a.change.after["subject"]
                        .as_str()
                        .map(clean)
                        .unwrap_or_default()
                );
                for line in body.lines() {
                    let _ = writeln!(out, "   | {}", clean(line));
                }
            }
            None if a.steps.is_empty() => {
                let _ = writeln!(out, "   after:  {}", compact(&a.change.after));
            }
            None => {}
        }
        for s in &a.steps {
            let _ = writeln!(
                out,
                "   - [{}] {}",
                s.target.as_str(),
                clean(&s.instruction)
            );
            if let Some(snippet) = &s.snippet {
                for line in snippet.lines() {
                    let _ = writeln!(out, "       {}", clean(line));
                }
            }
        }
        for g in &a.guards {
            let _ = writeln!(
                out,
                "   {} {}: {}",
                if g.ok { "✓" } else { "✗" },
                g.guard,
                clean(&g.detail)
            );
        }
    }
    for n in &plan.notes {
        let _ = writeln!(out, "\nnote: {}", clean(n));
    }
    out
}

fn compact(v: &Value) -> String {
    clean(&serde_json::to_string(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            clean("a\u{1b}]0;pwned\u{7}b\u{9b}c"),
            "a\u{fffd}]0;pwned\u{fffd}b\u{fffd}c"
        );
    }
}
