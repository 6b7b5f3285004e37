//! Microsoft Teams through a Workflows flow ("When a Teams webhook request is received"): an
//! Adaptive Card 1.5 in the message envelope the trigger expects. Workflows cannot edit an earlier
//! post, so the notifier sends on open and on state changes only.
//!
//! Log text goes only into `TextRun`s of `RichTextBlock`s, which Teams never parses as Markdown, so
//! it cannot format, link or mention. Our own words use `TextBlock`s. Actions are `Action.OpenUrl`
//! only; approvals are shown as the `eks-remedy approve` command.

use serde_json::{json, Value};

use super::noise::Summary;
use super::{cut, plain, IncidentView, Status};
use crate::report::Severity;

/// The largest message a Workflows webhook accepts.
pub const MAX_BYTES: usize = 28 * 1024;

/// The card version declared (Teams renders up to 1.5).
pub const VERSION: &str = "1.5";

fn color(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "Attention",
        Severity::Medium => "Warning",
        Severity::Low | Severity::Info => "Default",
    }
}

/// Untrusted text as a plain run (no Markdown), one line, at most `max` characters.
fn run(s: &str, max: usize) -> Value {
    json!({"type": "TextRun", "text": cut(&plain(s), max)})
}

fn rich(runs: Vec<Value>) -> Value {
    json!({"type": "RichTextBlock", "inlines": runs})
}

/// The webhook body for `view`.
pub fn render(view: &IncidentView) -> Value {
    let mut evidence_budget = true;
    loop {
        let body = envelope(card(view, evidence_budget, usize::MAX));
        if body.to_string().len() <= MAX_BYTES {
            return body;
        }
        if evidence_budget {
            evidence_budget = false;
            continue;
        }
        // Still too large without evidence: keep as many findings as fit.
        let mut n = view.findings.len();
        while n > 0 {
            n /= 2;
            let body = envelope(card(view, false, n));
            if body.to_string().len() <= MAX_BYTES {
                return body;
            }
        }
        return envelope(card(view, false, 0));
    }
}

fn envelope(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// The one message a channel gets instead of the incidents its rate limit held.
pub fn render_summary(summary: &Summary) -> Value {
    envelope(json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": VERSION,
        "fallbackText": summary.text(),
        "body": [{"type": "TextBlock", "wrap": true, "text": summary.text()}],
    }))
}

fn card(view: &IncidentView, with_evidence: bool, max_findings: usize) -> Value {
    let sev = view.severity().unwrap_or(Severity::Info);
    let resolved = view.status == Status::Resolved;
    let mut body = vec![
        json!({
            "type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true,
            "color": if resolved { "Good" } else { color(sev) },
            "text": format!("{}{} finding{} on {} node{}", if resolved { "Resolved: " } else { "" },
                view.findings.len(), if view.findings.len() == 1 { "" } else { "s" },
                view.nodes.len(), if view.nodes.len() == 1 { "" } else { "s" }),
        }),
        json!({"type": "FactSet", "facts": [
            {"title": "Cluster", "value": cut(&plain(view.cluster.as_deref().unwrap_or("unknown")), 200)},
            {"title": "Account", "value": cut(&plain(view.account.as_deref().unwrap_or("unknown")), 40)},
            {"title": "Region", "value": cut(&plain(view.region.as_deref().unwrap_or("unknown")), 40)},
            {"title": "Severity", "value": sev.as_str()},
        ]}),
    ];
    // FactSet values are Markdown in Teams: the values above are names, and plain() plus the
    // fixed set of characters in AWS names keep them inert; anything longer lives in TextRuns.
    if !view.chain.is_empty() {
        body.push(rich(vec![
            json!({"type": "TextRun", "text": "Likely chain: ", "weight": "Bolder"}),
            run(&view.chain.join(" → "), 400),
        ]));
    }
    let shown = view.findings.len().min(max_findings);
    for f in view.findings.iter().take(shown) {
        let mut items = vec![rich(vec![
            json!({"type": "TextRun", "text": format!("{} ", f.severity.as_str().to_uppercase()), "weight": "Bolder", "color": color(f.severity)}),
            json!({"type": "TextRun", "text": cut(&plain(&f.rule), 80), "fontType": "Monospace"}),
            run(&format!(" — {}", f.title), 200),
            json!({"type": "TextRun", "text": if f.root_cause { " · likely root cause" } else { "" }, "italic": true}),
        ])];
        items.push(rich(vec![run(
            &format!(
                "{} ({}× on {} node{})",
                f.summary,
                f.total(),
                f.nodes.len(),
                if f.nodes.len() == 1 { "" } else { "s" }
            ),
            800,
        )]));
        if with_evidence {
            if let Some(e) = &f.evidence {
                items.push(rich(vec![json!({"type": "TextRun", "text": cut(&plain(e), 500), "fontType": "Monospace", "size": "Small"})]));
            }
        }
        if let Some((instruction, _)) = &f.fix {
            items.push(rich(vec![
                json!({"type": "TextRun", "text": "Fix: ", "weight": "Bolder"}),
                run(instruction, 500),
            ]));
        }
        body.push(json!({"type": "Container", "separator": true, "items": items}));
    }
    if shown < view.findings.len()
        || (!with_evidence && view.findings.iter().any(|f| f.evidence.is_some()))
    {
        body.push(
            json!({"type": "TextBlock", "wrap": true, "isSubtle": true, "text": format!(
                "{} more finding(s){}: the report has everything.",
                view.findings.len() - shown,
                if with_evidence { "" } else { ", evidence left out" }
            )}),
        );
    }
    if let Some(p) = &view.plan {
        let mut items = vec![
            json!({"type": "TextBlock", "weight": "Bolder", "text": format!("Plan ({} actions)", p.actions.len())}),
        ];
        for a in p.actions.iter().take(12) {
            items.push(rich(vec![
                json!({"type": "TextRun", "text": format!("{}. {} ({}): ", a.index, a.kind, a.mode), "fontType": "Monospace"}),
                run(&a.summary, 200),
                run(&format!(" — {}{}", a.state_words(), a.by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default()), 100),
            ]));
        }
        for a in view.awaiting_approval().take(5) {
            items.push(rich(vec![
                json!({"type": "TextRun", "text": "Waiting for approval: "}),
                json!({"type": "TextRun", "fontType": "Monospace", "text": cut(&plain(&format!("eks-remedy approve {} --action {}", p.plan_id, a.index)), 300)}),
            ]));
        }
        body.push(json!({"type": "Container", "separator": true, "items": items}));
    }
    for q in view.quotas.iter().take(10) {
        body.push(rich(vec![run(
            &format!("Quota request: {} → {}: {}", q.quota, q.desired, q.status),
            300,
        )]));
    }
    body.push(rich(vec![json!({"type": "TextRun", "isSubtle": true, "size": "Small", "text": cut(&plain(&format!("incident {}", view.incident_id)), 300)})]));
    let mut actions = Vec::new();
    if let Some(u) = view
        .report_url
        .as_deref()
        .filter(|u| u.starts_with("https://"))
    {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Report", "url": plain(u)}));
    }
    if let Some(u) = view
        .console_url
        .as_deref()
        .filter(|u| u.starts_with("https://"))
    {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Console", "url": plain(u)}));
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": VERSION,
        "fallbackText": view.headline(),
        "body": body,
        "actions": actions,
    })
}

/// The strings of a card that Teams reads as Markdown (`TextBlock` texts, `FactSet` values): the
/// renderer keeps log text out of them, and checks of that look here.
pub fn markdown_strings(v: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut walk = vec![v];
    while let Some(v) = walk.pop() {
        match v {
            Value::Object(o) => {
                match o.get("type").and_then(Value::as_str) {
                    Some("TextBlock") => out.push(o["text"].as_str().unwrap_or("")),
                    Some("FactSet") => out.extend(
                        o["facts"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|f| f["value"].as_str().unwrap_or("")),
                    ),
                    _ => {}
                }
                walk.extend(o.values());
            }
            Value::Array(a) => walk.extend(a),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample_view;

    #[test]
    fn the_sample_is_a_version_1_5_card_with_open_url_actions_only() {
        let p = render(&sample_view());
        let card = &p["attachments"][0]["content"];
        assert_eq!(card["version"], "1.5");
        assert_eq!(
            p["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert!(card["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["type"] == "Action.OpenUrl"));
        assert!(p.to_string().len() <= MAX_BYTES);
    }

    #[test]
    fn hostile_text_never_reaches_markdown_and_size_holds() {
        let mut v = sample_view();
        let hostile =
            "[click](https://evil.example) **bold** <at>everyone</at> \u{1b}[2J \u{202e}x";
        for f in &mut v.findings {
            f.evidence = Some(format!("{hostile}{}", "y".repeat(20_000)));
            f.summary = hostile.into();
            f.title = hostile.into();
        }
        for i in 0..200 {
            let mut f = v.findings[0].clone();
            f.rule = format!("rule-{i}");
            v.findings.push(f);
        }
        let p = render(&v);
        assert!(p.to_string().len() <= MAX_BYTES, "{}", p.to_string().len());
        let md = markdown_strings(&p);
        assert!(
            md.iter()
                .all(|s| !s.contains("evil.example") && !s.contains("<at>")),
            "{md:?}"
        );
        assert!(!p.to_string().contains('\u{202e}'));
        assert!(p.to_string().contains("the report has everything"));
    }
}
