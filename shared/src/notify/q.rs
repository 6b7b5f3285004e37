//! Amazon Q Developer in chat applications (formerly AWS Chatbot): an SNS message in its custom
//! notification format, relayed to Slack or Teams. `threadId` is the incident id, so updates thread
//! under the first message where the channel allows it.

use serde_json::{json, Value};

use super::noise::Summary;
use super::{aws_name, cut, plain, IncidentView, Status};

/// SNS's message size limit.
pub const MAX_BYTES: usize = 256 * 1024;

/// The description stays far below SNS's limit: chat clients truncate long messages anyway.
const DESCRIPTION: usize = 3500;

/// Untrusted text for `client-markdown` (shown in Slack and in Teams): one line, Slack's three
/// control characters as entities (no mention, no Slack link), and the characters that open
/// emphasis, code or a Markdown link backslash-escaped (Teams honours the escapes; Slack shows them,
/// a small price for text that cannot format or link).
fn md(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in cut(&plain(s), max).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The SNS message body for `view`.
pub fn render(view: &IncidentView) -> Value {
    let mut lines = Vec::new();
    if !view.chain.is_empty() {
        lines.push(format!(
            "*Likely chain:* {}",
            md(&view.chain.join(" → "), 300)
        ));
    }
    for f in &view.findings {
        let mut l = format!(
            "• *{}* {} — {} ({}× on {} node{})",
            f.severity.as_str().to_uppercase(),
            md(&f.rule, 80),
            md(&f.title, 200),
            f.total(),
            f.nodes.len(),
            if f.nodes.len() == 1 { "" } else { "s" }
        );
        if f.root_cause {
            l.push_str(" — likely root cause");
        }
        lines.push(l);
    }
    let mut description = String::new();
    for (i, l) in lines.iter().enumerate() {
        if description.len() + l.len() + 1 > DESCRIPTION {
            description.push_str(&format!("\n… {} more: see the report.", lines.len() - i));
            break;
        }
        if !description.is_empty() {
            description.push('\n');
        }
        description.push_str(l);
    }
    let mut next_steps: Vec<String> = view
        .findings
        .iter()
        .filter_map(|f| {
            f.fix
                .as_ref()
                .map(|(i, _)| format!("{}: {}", md(&f.rule, 80), md(i, 300)))
        })
        .take(5)
        .collect();
    if let Some(p) = &view.plan {
        for a in view.awaiting_approval().take(3) {
            next_steps.push(format!(
                "Approve with `eks-remedy approve {} --action {}`",
                md(&p.plan_id, 40),
                a.index
            ));
        }
    }
    if let Some(u) = &view.report_url {
        next_steps.push(format!("Report: {}", plain(u)));
    }
    let mut keywords = vec![view
        .severity()
        .map(|s| s.as_str())
        .unwrap_or("info")
        .to_string()];
    keywords.extend(
        view.findings
            .iter()
            .take(5)
            .map(|f| cut(&plain(&f.rule), 60)),
    );
    let title = format!(
        "{}eks-remedy: {} finding{} on {} node{} in {}",
        if view.status == Status::Resolved {
            "Resolved: "
        } else {
            ""
        },
        view.findings.len(),
        if view.findings.len() == 1 { "" } else { "s" },
        view.nodes.len(),
        if view.nodes.len() == 1 { "" } else { "s" },
        md(view.cluster.as_deref().unwrap_or("EKS cluster"), 100)
    );
    json!({
        "version": "1.0",
        "source": "custom",
        "id": cut(&plain(&format!("{}:{}", view.incident_id, view.fingerprint())), 200),
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description,
            "nextSteps": next_steps,
            "keywords": keywords,
        },
        "metadata": {
            "threadId": cut(&plain(&view.incident_id), 200),
            "summary": cut(&view.headline(), 500),
            "eventType": "eks-remedy-incident",
            "relatedResources": cluster_arn(view).into_iter().collect::<Vec<_>>(),
            "additionalContext": {
                "incident": plain(&view.incident_id),
                "account": plain(view.account.as_deref().unwrap_or("")),
                "region": plain(view.region.as_deref().unwrap_or("")),
            },
        },
    })
}

/// The cluster's ARN, when account, region and cluster are plain names.
fn cluster_arn(view: &IncidentView) -> Option<String> {
    Some(format!(
        "arn:aws:eks:{}:{}:cluster/{}",
        aws_name(view.region.as_deref())?,
        aws_name(view.account.as_deref())?,
        aws_name(view.cluster.as_deref())?
    ))
}

/// The one message a channel gets instead of the incidents its rate limit held.
pub fn render_summary(summary: &Summary) -> Value {
    json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("eks-remedy-summary:{}:{}", summary.incidents, summary.clusters.len()),
        "content": {
            "textType": "client-markdown",
            "title": "eks-remedy: incidents held by the rate limit",
            "description": md(&summary.text(), DESCRIPTION),
        },
        "metadata": {
            "summary": md(&summary.text(), 500),
            "eventType": "eks-remedy-summary",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample_view;

    #[test]
    fn the_format_q_accepts_and_threads_by_incident() {
        let v = sample_view();
        let m = render(&v);
        assert_eq!(m["version"], "1.0");
        assert_eq!(m["source"], "custom");
        assert_eq!(m["content"]["textType"], "client-markdown");
        assert_eq!(m["metadata"]["threadId"], v.incident_id.as_str());
        assert!(m.to_string().len() < MAX_BYTES);
    }

    #[test]
    fn hostile_text_is_inert_and_the_message_stays_small() {
        let mut v = sample_view();
        for f in &mut v.findings {
            f.title = "<!channel> [x](https://evil.example) *b* `c` \u{1b}]0;t\u{7}".into();
        }
        for i in 0..500 {
            let mut f = v.findings[0].clone();
            f.rule = format!("rule-{i}");
            v.findings.push(f);
        }
        let m = render(&v);
        let d = m["content"]["description"].as_str().unwrap();
        assert!(!d.contains("<!channel>") && d.contains("&lt;!channel&gt;"));
        assert!(d.contains("\\[x\\](https://evil.example)"), "{d}");
        assert!(!d.contains('\u{1b}'));
        assert!(d.contains("more: see the report"));
        assert!(m.to_string().len() < 16 * 1024);
    }
}
