//! One self-contained HTML page showing what every target would show for an incident, for
//! people who want to look before wiring a channel.
//!
//! Slack blocks and the Teams card are drawn as readable approximations (not pixel copies), each
//! followed by the exact JSON that would be sent. Everything that reaches the page is
//! HTML-escaped; the page has no script and loads nothing.

use std::fmt::Write as _;

use eks_remedy_core::escape::html as esc;
use eks_remedy_core::notify::IncidentView;
use serde_json::Value;

use crate::target::{first_payload, TargetKind};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1d1c1d}\
h1{font-size:1.4em}h2{margin-top:2.2em;border-bottom:1px solid #ddd}\
.msg{border:1px solid #ddd;border-radius:6px;padding:1em;background:#fff}\
.hdr{font-weight:700;font-size:1.15em}.ctx{color:#616061;font-size:.85em}\
.fields{display:grid;grid-template-columns:1fr 1fr;gap:.3em 1em}\
.btn{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:.1em .8em;margin:.2em .4em .2em 0}\
.primary{background:#007a5a;color:#fff}.danger{background:#e01e5a;color:#fff}\
code,pre{font-family:ui-monospace,monospace;background:#f6f6f6}pre{padding:.6em;overflow:auto;white-space:pre-wrap}\
table{border-collapse:collapse}td{padding:.1em .8em .1em 0;vertical-align:top}\
.subtle{color:#616061}hr{border:0;border-top:1px solid #eee}";

/// The preview page for `view`; `channel` is shown in the Slack bot's payload.
pub fn html(view: &IncidentView, channel: Option<&str>) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>eks-remedy chat preview: {}</title><style>{STYLE}</style></head><body>\
         <h1>Chat preview: {}</h1><p class=\"subtle\">What each target would receive for this incident \
         (fingerprint <code>{}</code>). Slack and Teams are approximations; the exact payload follows each.</p>",
        esc(&view.headline()),
        esc(&view.incident_id),
        esc(&view.fingerprint())
    );
    for kind in TargetKind::ALL {
        let p = first_payload(kind, view, channel);
        let (title, body) = match kind {
            TargetKind::Slack => ("Slack (bot, with approval buttons)", slack(&p)),
            TargetKind::SlackWebhook => ("Slack (incoming webhook)", slack(&p)),
            TargetKind::Teams => ("Microsoft Teams (Workflows, Adaptive Card)", teams(&p)),
            TargetKind::Q => ("Amazon Q Developer in chat (SNS)", q(&p)),
            TargetKind::Webhook => ("Generic webhook (signed JSON)", String::new()),
        };
        let _ = write!(
            o,
            "<h2 id=\"{}\">{}</h2>{}<details{}><summary>Payload ({} bytes)</summary><pre>{}</pre></details>",
            kind.as_str(),
            esc(title),
            if body.is_empty() {
                String::new()
            } else {
                format!("<div class=\"msg\">{body}</div>")
            },
            if body.is_empty() { " open" } else { "" },
            p.to_string().len(),
            esc_lines(&serde_json::to_string_pretty(&p).unwrap_or_default())
        );
    }
    o.push_str("</body></html>\n");
    o
}

/// Escapes keeping line breaks (`esc` folds them to spaces, right for attributes, not for `<pre>`).
fn esc_lines(s: &str) -> String {
    s.split('\n').map(esc).collect::<Vec<_>>().join("\n")
}

/// The elements of the array `v[key]` (none when it is absent or not an array).
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Slack mrkdwn to HTML, roughly: Slack's three entities back to characters, then HTML-escaped;
/// `*bold*`, `` `code` `` and `<url|label>` drawn as such (the link as text, not clickable).
fn mrkdwn(s: &str) -> String {
    s.split('\n')
        .map(mrkdwn_line)
        .collect::<Vec<_>>()
        .join("<br>")
}

fn mrkdwn_line(s: &str) -> String {
    let plain = s
        .replace("&lt;", "\u{1}")
        .replace("&gt;", "\u{2}")
        .replace("&amp;", "&");
    let mut out = String::new();
    let mut rest = plain.as_str();
    while let Some(i) = rest.find('<') {
        out.push_str(&inline(&rest[..i]));
        let after = &rest[i + 1..];
        match after.find('>') {
            Some(j) => {
                let inner = &after[..j];
                let (url, label) = inner.split_once('|').unwrap_or((inner, inner));
                let _ = write!(
                    out,
                    "<u>{}</u> <span class=\"subtle\">({})</span>",
                    esc(&restore(label)),
                    esc(&restore(url))
                );
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&inline("<"));
                rest = after;
            }
        }
    }
    out.push_str(&inline(rest));
    out
}

fn restore(s: &str) -> String {
    s.replace('\u{1}', "<").replace('\u{2}', ">")
}

/// `*bold*` and `` `code` `` spans of one mrkdwn run without links.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(&restore(part)));
            continue;
        }
        for (k, seg) in part.split('*').enumerate() {
            if k % 2 == 1 {
                let _ = write!(out, "<strong>{}</strong>", esc(&restore(seg)));
            } else {
                out.push_str(&esc(&restore(seg)));
            }
        }
    }
    out
}

fn text_obj(v: &Value) -> String {
    let t = str_at(v, "/text");
    if str_at(v, "/type") == "mrkdwn" {
        mrkdwn(t)
    } else {
        esc(t)
    }
}

fn slack(p: &Value) -> String {
    let mut o = format!(
        "<p class=\"subtle\">Notification text: {}</p>",
        mrkdwn(str_at(p, "/text"))
    );
    for b in items(p, "blocks") {
        match str_at(b, "/type") {
            "header" => {
                let _ = write!(
                    o,
                    "<div class=\"hdr\">{}</div>",
                    esc(str_at(b, "/text/text"))
                );
            }
            "section" => {
                if let Some(t) = b.get("text") {
                    let _ = write!(o, "<p>{}</p>", text_obj(t));
                }
                if let Some(fs) = b.get("fields").and_then(Value::as_array) {
                    o.push_str("<div class=\"fields\">");
                    for f in fs {
                        let _ = write!(o, "<div>{}</div>", text_obj(f));
                    }
                    o.push_str("</div>");
                }
            }
            "context" => {
                let parts: Vec<String> = items(b, "elements").map(text_obj).collect();
                let _ = write!(o, "<p class=\"ctx\">{}</p>", parts.join(" · "));
            }
            "actions" => {
                o.push_str("<p>");
                for e in items(b, "elements") {
                    let style = match str_at(e, "/style") {
                        "primary" => "primary",
                        "danger" => "danger",
                        _ => "",
                    };
                    let _ = write!(
                        o,
                        "<span class=\"btn {style}\">{}</span>",
                        esc(str_at(e, "/text/text"))
                    );
                }
                o.push_str("</p>");
            }
            "divider" => o.push_str("<hr>"),
            other => {
                let _ = write!(o, "<p class=\"subtle\">[{} block]</p>", esc(other));
            }
        }
    }
    o
}

fn teams(p: &Value) -> String {
    let card = p.pointer("/attachments/0/content").unwrap_or(&Value::Null);
    let mut o = String::new();
    for e in items(card, "body") {
        card_element(e, &mut o);
    }
    let actions: Vec<String> = items(card, "actions")
        .map(|a| format!("<span class=\"btn\">{}</span>", esc(str_at(a, "/title"))))
        .collect();
    if !actions.is_empty() {
        let _ = write!(o, "<p>{}</p>", actions.concat());
    }
    o
}

fn card_element(e: &Value, o: &mut String) {
    if e.get("separator").and_then(Value::as_bool) == Some(true) {
        o.push_str("<hr>");
    }
    match str_at(e, "/type") {
        "TextBlock" => {
            let strong = str_at(e, "/weight") == "Bolder";
            let t = esc(str_at(e, "/text"));
            if strong {
                let _ = write!(o, "<p><strong>{t}</strong></p>");
            } else {
                let _ = write!(o, "<p>{t}</p>");
            }
        }
        "RichTextBlock" => {
            o.push_str("<p>");
            for r in items(e, "inlines") {
                let t = esc(str_at(r, "/text"));
                match (
                    str_at(r, "/weight") == "Bolder",
                    str_at(r, "/fontType") == "Monospace",
                ) {
                    (_, true) => {
                        let _ = write!(o, "<code>{t}</code>");
                    }
                    (true, false) => {
                        let _ = write!(o, "<strong>{t}</strong>");
                    }
                    _ => o.push_str(&t),
                }
            }
            o.push_str("</p>");
        }
        "FactSet" => {
            o.push_str("<table>");
            for f in items(e, "facts") {
                let _ = write!(
                    o,
                    "<tr><td><strong>{}</strong></td><td>{}</td></tr>",
                    esc(str_at(f, "/title")),
                    esc(str_at(f, "/value"))
                );
            }
            o.push_str("</table>");
        }
        "Container" => {
            for i in items(e, "items") {
                card_element(i, o);
            }
        }
        other => {
            let _ = write!(o, "<p class=\"subtle\">[{}]</p>", esc(other));
        }
    }
}

fn q(p: &Value) -> String {
    let mut o = format!(
        "<p><strong>{}</strong></p><pre>{}</pre>",
        esc(str_at(p, "/content/title")),
        esc_lines(str_at(p, "/content/description"))
    );
    let steps: Vec<String> = p
        .pointer("/content/nextSteps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| format!("<li>{}</li>", esc(s)))
        .collect();
    if !steps.is_empty() {
        let _ = write!(o, "<p>Next steps:</p><ul>{}</ul>", steps.concat());
    }
    let _ = write!(
        o,
        "<p class=\"ctx\">thread {}</p>",
        esc(str_at(p, "/metadata/threadId"))
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use eks_remedy_core::notify::FindingView;
    use eks_remedy_core::report::Severity;

    fn hostile() -> IncidentView {
        let mut v = IncidentView::new("inc-1");
        v.cluster = Some("prod</title><script>alert(1)</script>".into());
        v.findings.push(FindingView {
            rule: "ipamd-ip-exhaustion".into(),
            severity: Severity::High,
            title: "<img src=x onerror=alert(1)>".into(),
            summary: "s".into(),
            root_cause: true,
            nodes: [("i-1".to_string(), 2)].into(),
            evidence: Some("<!channel> <http://evil.example|click> \"quoted\" & more".into()),
            fix: None,
            source: None,
        });
        v
    }

    #[test]
    fn every_target_is_shown_and_nothing_from_the_view_becomes_markup() {
        let page = html(&hostile(), Some("C0123"));
        for id in ["slack", "slack-webhook", "teams", "q", "webhook"] {
            assert!(page.contains(&format!("<h2 id=\"{id}\">")), "{id}");
        }
        assert!(!page.contains("<script"), "script tag leaked");
        assert!(!page.contains("<img"), "img tag leaked");
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("src=\"http"), "page loads nothing");
        assert!(page.contains("ipamd-ip-exhaustion"));
        // The exact payloads keep their lines.
        assert!(page.contains("{\n  &quot;"), "pretty JSON kept its lines");
    }

    #[test]
    fn mrkdwn_keeps_line_breaks() {
        assert_eq!(mrkdwn("*a*\nb <c"), "<strong>a</strong><br>b &lt;c");
    }

    #[test]
    fn mrkdwn_draws_bold_code_and_links_as_text() {
        assert_eq!(
            mrkdwn("*High* `r&amp;d` &lt;b&gt; <https://x.example/a?b=1&amp;c=2|Report>"),
            "<strong>High</strong> <code>r&amp;d</code> &lt;b&gt; <u>Report</u> \
             <span class=\"subtle\">(https://x.example/a?b=1&amp;c=2)</span>"
        );
    }
}
