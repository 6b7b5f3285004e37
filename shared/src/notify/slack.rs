//! Slack Block Kit, for the bot (`chat.postMessage` / `chat.update`) and incoming webhooks.
//!
//! In mrkdwn only `&`, `<` and `>` are control characters; every untrusted string is escaped for
//! them (so it can never form `<!channel>`, a user mention or a link), made single-line, and cut to
//! the platform's limits before it is placed. Evidence goes in code spans, with backticks replaced so
//! it cannot close its span.

use serde_json::{json, Value};

use super::noise::Summary;
use super::{cut, plain, plural, Change, IncidentView, Status};
use crate::report::Severity;

/// Block Kit's limits, as the API enforces them.
pub mod limits {
    /// Blocks per message.
    pub const BLOCKS: usize = 50;
    /// Characters of a section's text.
    pub const SECTION: usize = 3000;
    /// Characters of a header (plain text).
    pub const HEADER: usize = 150;
    /// Elements of a context block.
    pub const CONTEXT: usize = 10;
    /// Fields of a section.
    pub const FIELDS: usize = 10;
    /// Characters of a field.
    pub const FIELD: usize = 2000;
    /// Characters of a button's text.
    pub const BUTTON: usize = 75;
    /// Characters of a button's value.
    pub const VALUE: usize = 2000;
    /// Characters of an `action_id` or `block_id`.
    pub const ID: usize = 255;
    /// Elements of an actions block.
    pub const ACTIONS: usize = 25;
    /// Characters of all blocks' text together: more than about 13k fails with
    /// `msg_blocks_too_long`, so messages stay below this.
    pub const TOTAL: usize = 12_000;
    /// Characters of the top-level `text`.
    pub const TEXT: usize = 3000;
}

/// Plan actions listed (the rest are counted).
const MAX_ACTIONS: usize = 12;
/// Changes listed in a thread reply.
const MAX_REPLY_LINES: usize = 10;
/// Actions with buttons (or the command) in one message.
const MAX_APPROVALS: usize = 5;

/// What the target can do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlackOptions {
    /// The bot can receive button clicks (interactivity); incoming webhooks cannot.
    pub buttons: bool,
}

/// Escapes mrkdwn's three control characters in text that is already [`plain`].
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Untrusted text for mrkdwn: single line, escaped, at most `max` characters after escaping.
fn text(s: &str, max: usize) -> String {
    let p = plain(s);
    let mut n = max;
    loop {
        let e = escape(&cut(&p, n));
        if e.chars().count() <= max || n == 0 {
            return e;
        }
        n = n.saturating_sub(e.chars().count() - max).min(n - 1);
    }
}

/// Untrusted text in an inline code span: a backtick would end the span, so it becomes `ˋ`.
fn code(s: &str, max: usize) -> String {
    format!("`{}`", text(&s.replace('`', "ˋ"), max.saturating_sub(2)))
}

fn severity_word(s: Option<Severity>) -> String {
    s.map(|s| s.as_str().to_uppercase())
        .unwrap_or_else(|| "INFO".into())
}

/// The message for `view`.
pub fn render(view: &IncidentView, opts: SlackOptions) -> Value {
    let mut head: Vec<Value> = Vec::new();
    let state = if view.status == Status::Resolved {
        "Resolved: "
    } else {
        ""
    };
    head.push(json!({
        "type": "header",
        "text": {"type": "plain_text", "emoji": false, "text": cut(&plain(&format!(
            "{state}[{}] {} · {} finding{}",
            severity_word(view.severity()),
            view.cluster.as_deref().unwrap_or("EKS cluster"),
            view.findings.len(),
            if view.findings.len() == 1 { "" } else { "s" }
        )), limits::HEADER)}
    }));
    let analyzed = view.nodes.values().filter(|n| n.analyzed).count();
    let failed = view.nodes.values().filter(|n| n.collection_failed).count();
    let mut fields = vec![
        field("Cluster", view.cluster.as_deref().unwrap_or("unknown")),
        field(
            "Nodes",
            &format!(
                "{} ({analyzed} analyzed{})",
                view.nodes.len(),
                if failed > 0 {
                    format!(", {failed} collection failed")
                } else {
                    String::new()
                }
            ),
        ),
        field("Account", view.account.as_deref().unwrap_or("unknown")),
        field("Region", view.region.as_deref().unwrap_or("unknown")),
    ];
    fields.truncate(limits::FIELDS);
    head.push(json!({"type": "section", "fields": fields}));
    if !view.chain.is_empty() {
        let chain: Vec<String> = view.chain.iter().map(|r| code(r, 80)).collect();
        head.push(section(&format!("*Likely chain:* {}", chain.join(" → "))));
    }
    head.push(json!({"type": "divider"}));

    // Each finding in decreasing detail: the fitting below walks down these tiers.
    let findings: Vec<[String; TIERS]> = view
        .findings
        .iter()
        .map(|f| {
            let nodes = if f.nodes.len() > 1 {
                format!(" on {} nodes", f.nodes.len())
            } else {
                String::new()
            };
            let rc = if f.root_cause {
                " · *likely root cause*"
            } else {
                ""
            };
            let body = |title: usize, summary: usize, fix: usize| {
                let mut b = format!(
                    "*{}* {} — {}{rc}\n{} ({}×{nodes})",
                    f.severity.as_str().to_uppercase(),
                    code(&f.rule, 80),
                    text(&f.title, title),
                    text(&f.summary, summary),
                    f.total()
                );
                if let Some((instruction, _)) = &f.fix {
                    b.push_str(&format!("\n*Fix:* {}", text(instruction, fix)));
                }
                b
            };
            let full = body(200, 900, 700);
            let evidence = |max: usize| match &f.evidence {
                Some(e) => format!("{full}\n> {}", code(e, max)),
                None => full.clone(),
            };
            let compact = body(100, 200, 200);
            [evidence(1000), evidence(200), full, compact]
        })
        .collect();

    let mut tail: Vec<Value> = Vec::new();
    if let Some(p) = &view.plan {
        let lines: Vec<String> = p
            .actions
            .iter()
            .take(MAX_ACTIONS)
            .map(|a| {
                format!(
                    "{}. {} ({}): {} — _{}{}_",
                    a.index,
                    code(&a.kind, 40),
                    text(&a.mode, 20),
                    text(&a.summary, 180),
                    a.state_words(),
                    a.by.as_deref()
                        .map(|b| format!(" by {}", text(b, 60)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let more = p.actions.len().saturating_sub(MAX_ACTIONS);
        tail.push(section(&format!(
            "*Plan* {} · {} action{}\n{}{}",
            code(&p.plan_id, 40),
            p.actions.len(),
            plural(p.actions.len()),
            lines.join("\n"),
            if more > 0 {
                format!("\n… {more} more in the report")
            } else {
                String::new()
            }
        )));
        for a in view.awaiting_approval().take(MAX_APPROVALS) {
            if opts.buttons {
                // A plain id (`<plan-id>:<index>`): the callback's signature, not this value,
                // is what makes a click trustworthy, and the approval path re-checks the guards.
                let value = format!("{}:{}", p.plan_id, a.index);
                tail.push(json!({
                    "type": "actions",
                    "block_id": format!("approval:{}", a.index),
                    "elements": [
                        button(&format!("Approve {}. {}", a.index, a.kind), &format!("approve:{}", a.index), &value, "primary"),
                        button(&format!("Reject {}.", a.index), &format!("reject:{}", a.index), &value, "danger"),
                    ],
                }));
            } else {
                tail.push(section(&format!(
                    "Waiting for approval: {}",
                    code(
                        &format!("eks-remedy approve {} --action {}", p.plan_id, a.index),
                        300
                    )
                )));
            }
        }
    }
    if !view.quotas.is_empty() {
        let lines: Vec<String> = view
            .quotas
            .iter()
            .take(10)
            .map(|q| {
                format!(
                    "• {} → {}: *{}*",
                    text(&q.quota, 150),
                    q.desired,
                    text(&q.status, 30)
                )
            })
            .collect();
        tail.push(section(&format!("*Quota requests*\n{}", lines.join("\n"))));
    }
    let mut context: Vec<Value> = Vec::new();
    if let Some(u) = &view.report_url {
        context.push(mrkdwn(&format!("<{}|Report>", link_target(u))));
    }
    if let Some(u) = &view.console_url {
        context.push(mrkdwn(&format!("<{}|Console>", link_target(u))));
    }
    if !view.notes.is_empty() {
        context.push(mrkdwn(&format!(
            "{} note{}: {}",
            view.notes.len(),
            if view.notes.len() == 1 { "" } else { "s" },
            text(&view.notes.join("; "), 300)
        )));
    }
    context.push(mrkdwn(&format!(
        "incident {}",
        code(&view.incident_id, 200)
    )));
    context.truncate(limits::CONTEXT);
    tail.push(json!({"type": "context", "elements": context}));

    let blocks = fit(head, findings, tail);
    json!({
        // The top-level text is mrkdwn too (and what notifications show).
        "text": text(&view.headline(), limits::TEXT),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// The short thread reply saying what changed (Slack bot, under the incident's message).
pub fn render_reply(view: &IncidentView, changes: &[Change]) -> Value {
    let lines: Vec<String> = changes
        .iter()
        .take(MAX_REPLY_LINES)
        .map(|c| format!("• {}", text(&c.describe(), 300)))
        .collect();
    let more = changes.len().saturating_sub(MAX_REPLY_LINES);
    let mut body = lines.join("\n");
    if more > 0 {
        body.push_str(&format!("\n… and {more} more"));
    }
    let head = text(&view.headline(), 500);
    json!({
        "text": cut(&format!("{head}\n{body}"), limits::TEXT),
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// The one message a channel gets instead of the incidents its rate limit held.
pub fn render_summary(summary: &Summary) -> Value {
    let t = text(&summary.text(), limits::SECTION);
    json!({
        "text": t,
        "blocks": [section(&t)],
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// Detail tiers of a finding's section: evidence, shorter evidence, no evidence, shorter text.
const TIERS: usize = 4;

/// Fits the message within the block and character budgets: evidence is shortened, then left
/// out, then the findings' text shortened (each from the last finding up), then whole findings
/// dropped from the last, with a note pointing to the report.
fn fit(head: Vec<Value>, findings: Vec<[String; TIERS]>, tail: Vec<Value>) -> Vec<Value> {
    let size = |b: &[Value]| b.iter().map(chars).sum::<usize>();
    let fixed = size(&head) + size(&tail) + 200;
    let room_blocks = limits::BLOCKS.saturating_sub(head.len() + tail.len() + 1);
    let mut keep = findings.len().min(room_blocks);
    let mut tier = vec![0usize; findings.len()];
    // Sections are built only for the tiers chosen: counting their text is enough to choose.
    let overhead = chars(&section(""));
    let sizes: Vec<[usize; TIERS]> = findings
        .iter()
        .map(|t| {
            t.each_ref()
                .map(|s| overhead + s.chars().count().min(limits::SECTION))
        })
        .collect();
    let total = |keep: usize, tier: &[usize]| -> usize {
        (0..keep).map(|i| sizes[i][tier[i]]).sum::<usize>() + fixed
    };
    'shrink: for level in 1..TIERS {
        for i in (0..keep).rev() {
            if total(keep, &tier) <= limits::TOTAL {
                break 'shrink;
            }
            tier[i] = level;
        }
    }
    while total(keep, &tier) > limits::TOTAL && keep > 0 {
        keep -= 1;
    }
    let mut out = head;
    for (i, t) in findings.iter().take(keep).enumerate() {
        out.push(section(&t[tier[i]]));
    }
    let shrunk = |level: usize| tier[..keep].iter().any(|&t| t >= level);
    let more = findings.len() - keep;
    let mut note = Vec::new();
    if more > 0 {
        note.push(format!("{more} more finding{}", plural(more)));
    }
    if shrunk(2) {
        note.push("evidence left out".to_string());
    } else if shrunk(1) {
        note.push("evidence shortened".to_string());
    }
    if shrunk(3) {
        note.push("text shortened".to_string());
    }
    if !note.is_empty() {
        out.push(json!({"type": "context", "elements": [mrkdwn(&format!("{}: see the report for everything.", note.join(", ")))]}));
    }
    out.extend(tail);
    out
}

/// Characters Slack counts for a block: every string in it.
fn chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(chars).sum(),
        Value::Object(o) => o.values().map(chars).sum(),
        _ => 0,
    }
}

fn section(mrkdwn_text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(&cut(mrkdwn_text, limits::SECTION))})
}

fn mrkdwn(s: &str) -> Value {
    json!({"type": "mrkdwn", "text": s})
}

fn field(label: &str, value: &str) -> Value {
    mrkdwn(&format!(
        "*{label}*\n{}",
        text(value, limits::FIELD - label.len() - 4)
    ))
}

fn button(label: &str, action_id: &str, value: &str, style: &str) -> Value {
    json!({
        "type": "button",
        "text": {"type": "plain_text", "text": cut(label, limits::BUTTON)},
        "action_id": cut(action_id, limits::ID),
        "value": cut(value, limits::VALUE),
        "style": style,
    })
}

/// A URL we made (pre-signed S3, console) as a link target: `|` and `>` would end it early.
fn link_target(u: &str) -> String {
    plain(u)
        .replace('|', "%7C")
        .replace('>', "%3E")
        .replace('<', "%3C")
}

/// Every Block Kit limit this module promises, checked on a payload (used by tests and by the
/// notifier before sending, so a violation is a bug report, not a rejected message).
pub fn check(payload: &Value) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let text = payload["text"].as_str().unwrap_or("");
    if text.trim().is_empty() {
        errs.push("no top-level text".to_string());
    }
    let blocks = payload["blocks"].as_array().cloned().unwrap_or_default();
    if blocks.len() > limits::BLOCKS {
        errs.push(format!("{} blocks > {}", blocks.len(), limits::BLOCKS));
    }
    let total = chars(&payload["blocks"]);
    if total > limits::TOTAL + 1000 {
        errs.push(format!("{total} characters in blocks"));
    }
    for (i, b) in blocks.iter().enumerate() {
        let len = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
        match b["type"].as_str() {
            Some("header") if len(&b["text"]["text"]) > limits::HEADER => {
                errs.push(format!("block {i}: header too long"))
            }
            Some("section") => {
                if len(&b["text"]["text"]) > limits::SECTION {
                    errs.push(format!("block {i}: section text over {}", limits::SECTION));
                }
                let fields = b["fields"].as_array().map(Vec::len).unwrap_or(0);
                if fields > limits::FIELDS {
                    errs.push(format!("block {i}: {fields} fields"));
                }
                for f in b["fields"].as_array().into_iter().flatten() {
                    if len(&f["text"]) > limits::FIELD {
                        errs.push(format!("block {i}: field over {}", limits::FIELD));
                    }
                }
            }
            Some("context") => {
                let n = b["elements"].as_array().map(Vec::len).unwrap_or(0);
                if n > limits::CONTEXT || n == 0 {
                    errs.push(format!("block {i}: {n} context elements"));
                }
            }
            Some("actions") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                if elements.is_empty() || elements.len() > limits::ACTIONS {
                    errs.push(format!("block {i}: {} action elements", elements.len()));
                }
                for e in &elements {
                    if len(&e["text"]["text"]) > limits::BUTTON
                        || len(&e["action_id"]) > limits::ID
                        || len(&e["value"]) > limits::VALUE
                    {
                        errs.push(format!("block {i}: button over its limits: {e}"));
                    }
                }
            }
            _ => {}
        }
        if len(&b["block_id"]) > limits::ID {
            errs.push(format!("block {i}: block_id over {}", limits::ID));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample_view;
    use crate::plan::{self, Settings};

    /// Every string a Slack client would interpret, outside what this module built on purpose.
    fn mentions_or_links(payload: &Value) -> Vec<String> {
        let mut found = Vec::new();
        let mut walk = vec![payload.clone()];
        while let Some(v) = walk.pop() {
            match v {
                Value::String(s) => {
                    for token in [
                        "<!channel>",
                        "<!here>",
                        "<!everyone>",
                        "<@U",
                        "<http",
                        "<!subteam",
                    ] {
                        if s.contains(token) && !s.contains("|Report>") && !s.contains("|Console>")
                        {
                            found.push(s.clone());
                        }
                    }
                    if s.chars().any(|c| c.is_control() && c != '\n') {
                        found.push(format!("control character in {s:?}"));
                    }
                }
                Value::Array(a) => walk.extend(a),
                // plain_text is shown as typed: Slack parses no mention or link in it.
                Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("plain_text") => {
                }
                Value::Object(o) => walk.extend(o.into_values()),
                _ => {}
            }
        }
        found
    }

    #[test]
    fn the_sample_incident_fits_block_kit_and_leads_with_the_root_cause() {
        let v = sample_view();
        let p = render(&v, SlackOptions::default());
        check(&p).unwrap();
        assert!(
            p["text"]
                .as_str()
                .unwrap()
                .starts_with("[HIGH] prod: 8 findings on 3 nodes."),
            "{}",
            p["text"]
        );
        let blocks = p["blocks"].as_array().unwrap();
        let first_finding = blocks
            .iter()
            .find(|b| {
                b["text"]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("*HIGH*"))
            })
            .unwrap();
        assert!(first_finding["text"]["text"]
            .as_str()
            .unwrap()
            .contains("likely root cause"));
        assert_eq!(p["unfurl_links"], false);
    }

    #[test]
    fn approvals_are_buttons_for_the_bot_and_a_command_for_webhooks() {
        let mut v = sample_view();
        let mut s = Settings::default();
        s.set_mode("ebs-volume=approve").unwrap();
        s.guards.allow.accounts = vec!["*".into()];
        v.set_plan(&plan::plan_report(
            &crate::notify::tests::sample_report(),
            &s,
        ));
        let waiting: Vec<String> = v.awaiting_approval().map(|a| a.id.clone()).collect();
        let bot = render(&v, SlackOptions { buttons: true });
        check(&bot).unwrap();
        let actions: Vec<&Value> = bot["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .collect();
        assert_eq!(actions.len(), waiting.len());
        let hook = render(&v, SlackOptions { buttons: false });
        assert!(hook["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] != "actions"));
        if !waiting.is_empty() {
            assert!(hook.to_string().contains("eks-remedy approve"));
        }
    }

    #[test]
    fn hostile_evidence_cannot_mention_link_or_break_out() {
        let mut v = sample_view();
        let hostile = "<!channel> <!here|here> <@U123> <http://evil.example|click> *bold* _it_ ~s~ `tick` ```block``` &amp; \u{1b}[2J \u{202e}reversed \u{5d0}\u{5d1} é 💥";
        for f in &mut v.findings {
            f.evidence = Some(format!("{hostile}{}", "x".repeat(10_000)));
            f.summary = hostile.into();
            f.title = hostile.into();
        }
        v.cluster = Some("<!channel>".into());
        v.notes.push(hostile.into());
        let p = render(&v, SlackOptions { buttons: true });
        check(&p).unwrap();
        assert!(
            mentions_or_links(&p).is_empty(),
            "{:?}",
            mentions_or_links(&p)
        );
        let s = p.to_string();
        assert!(s.contains("&lt;!channel&gt;"));
        assert!(!s.contains("\u{202e}"));
    }

    #[test]
    fn many_findings_shed_evidence_first_then_findings_with_a_note() {
        let mut v = sample_view();
        let template = v.findings[0].clone();
        for i in 0..60 {
            let mut f = template.clone();
            f.rule = format!("rule-{i}");
            f.root_cause = false;
            f.evidence = Some("e".repeat(900));
            v.findings.push(f);
        }
        let p = render(&v, SlackOptions::default());
        check(&p).unwrap();
        let s = p.to_string();
        assert!(s.contains("more findings"), "dropped findings are counted");
        assert!(s.contains("evidence left out"));
        assert!(
            s.contains("text shortened"),
            "text is shortened before findings go"
        );
        assert!(s.contains("see the report"));
    }

    #[test]
    fn check_catches_each_limit() {
        let ok = render(&sample_view(), SlackOptions { buttons: true });
        check(&ok).unwrap();
        let broken = |what: &str, edit: &dyn Fn(&mut Value)| {
            let mut p = ok.clone();
            edit(&mut p);
            assert!(check(&p).is_err(), "{what} not caught");
        };
        broken("text", &|p| p["text"] = json!(" "));
        broken("blocks", &|p| {
            p["blocks"] = json!(vec![json!({"type": "divider"}); 51])
        });
        broken("header", &|p| {
            p["blocks"][0]["text"]["text"] = json!("h".repeat(151))
        });
        broken("section", &|p| {
            p["blocks"][2] = json!({"type": "section", "text": mrkdwn(&"s".repeat(3001))})
        });
        broken("context", &|p| {
            p["blocks"][2] = json!({"type": "context", "elements": vec![mrkdwn("c"); 11]})
        });
        broken("block_id", &|p| {
            p["blocks"][2] = json!({"type": "actions", "block_id": "b".repeat(256),
                "elements": [button("Approve", "approve:0", "plan:0", "primary")]})
        });
        broken("button", &|p| {
            p["blocks"][2] = json!({"type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x".repeat(76)}}]})
        });
        broken("total", &|p| {
            p["blocks"][2] = section(&"s".repeat(2900));
            p["blocks"][3] = section(&"s".repeat(2900));
            p["blocks"][4] = section(&"s".repeat(2900));
            p["blocks"][5] = section(&"s".repeat(2900));
            p["blocks"][6] = section(&"s".repeat(2900));
        });
    }

    #[test]
    fn escaping_touches_only_the_three_characters() {
        assert_eq!(
            escape("a & b < c > d * _ ~ é"),
            "a &amp; b &lt; c &gt; d * _ ~ é"
        );
        let t = text(&"<".repeat(5000), 3000);
        assert!(
            t.chars().count() <= 3000 && !t.ends_with("&l"),
            "an entity is never cut in half"
        );
    }
}
