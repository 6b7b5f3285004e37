//! Chat notifications end to end, without a network: bus events (the committed sample incident,
//! three nodes of the shipped sample) folded into the incident view, every target's payload
//! snapshotted per scenario, each checked against its platform's limits (Slack Block Kit, the
//! official Adaptive Card 1.5 schema, SNS's size) and for log text that could mention, link or
//! format; then noise control over thousands of events.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_core::notify::event::{
    ApprovalDetail, CollectionFailedDetail, FindingEntry, FindingsDetail, PlanDetail,
    ResolvedDetail, Verdict,
};
use eks_remedy_core::notify::noise::{
    self, Decision, Delivered, Limiter, Outgoing, RateLimit, Target,
};
use eks_remedy_core::notify::slack::SlackOptions;
use eks_remedy_core::notify::{q, slack, teams, webhook, IncidentView, NotifyEvent};
use eks_remedy_core::plan::{self, Settings};
use eks_remedy_core::report::{Report, Severity};
use eks_remedy_tests::fixtures_dir;
use proptest::prelude::*;
use serde_json::{json, Value};

const INCIDENT: &str = "prod:scale-up:20261019T0800";
const REPORT_URL: &str = "https://eks-remedy-bundles-111122223333.s3.us-east-1.amazonaws.com/bundles/prod/i-0abc12345def67890/prod%3Ascale-up%3A20261019T0800/report.html?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=86400&X-Amz-Signature=0f0f";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join("notify").join(name)).unwrap()
}

fn report() -> Report {
    serde_json::from_str(&fixture("sample-report.json")).unwrap()
}

/// The sample incident's bus events, as EventBridge delivers them.
fn events() -> Vec<NotifyEvent> {
    let envelopes: Vec<Value> =
        serde_json::from_str(&fixture("sample-incident.events.json")).unwrap();
    envelopes
        .iter()
        .map(|e| NotifyEvent::from_eventbridge(e).unwrap())
        .collect()
}

/// The sample incident's events with every finding changed by `edit`.
fn events_with(edit: impl Fn(&mut FindingEntry)) -> Vec<NotifyEvent> {
    let mut ev = events();
    for e in &mut ev {
        if let NotifyEvent::Findings(d) = e {
            d.findings.iter_mut().for_each(&edit);
        }
    }
    ev
}

fn at(minute: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(1_792_397_640 + minute * 60, 0) // 2026-10-19T08:14:00Z
}

fn fold(events: &[NotifyEvent]) -> IncidentView {
    let mut v = IncidentView::new(INCIDENT);
    for e in events {
        v.apply(e);
    }
    // The notifier pre-signs the report's key before rendering.
    v.report_url = v.report_key().map(|_| REPORT_URL.to_string());
    v
}

fn sample() -> IncidentView {
    fold(&events())
}

fn plan_event(approve: bool) -> NotifyEvent {
    let mut s = Settings::default();
    if approve {
        s.set_mode("ebs-volume=approve").unwrap();
        s.set_mode("vpc-cni-addon=approve").unwrap();
    }
    s.guards.allow.accounts = vec!["*".into()];
    s.guards.allow.clusters = vec!["*".into()];
    s.guards.allow.node_groups = vec!["*".into()];
    let r = report();
    // What the pipeline reads at run time: the node's root volume.
    let mut ctx = plan::Context::from_report(&r);
    ctx.incident_id = Some(INCIDENT.into());
    ctx.account = Some("111122223333".into());
    ctx.cluster = Some("prod".into());
    ctx.cluster_info.endpoint =
        Some("https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com".into());
    ctx.cluster_info.private_access = Some(true);
    ctx.volumes = vec![plan::ebs::VolumeFacts {
        volume_id: "vol-0123456789abcdef0".into(),
        instance_id: Some("i-0abc12345def67890".into()),
        volume_type: Some("gp2".into()),
        size_gib: Some(80),
        iops: Some(240),
        ..Default::default()
    }];
    let p = plan::plan(&r.findings, &ctx, &s, &plan::guards::GuardState::default());
    NotifyEvent::Plan(PlanDetail {
        incident_id: INCIDENT.into(),
        plan: p,
        at: at(5),
    })
}

/// Every target's payload for `v`.
fn payloads(v: &IncidentView) -> Value {
    json!({
        "slack": slack::render(v, SlackOptions { buttons: true }),
        "slack-webhook": slack::render(v, SlackOptions { buttons: false }),
        "teams": teams::render(v),
        "q": q::render(v),
        "webhook": webhook::render(v),
    })
}

fn card_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(&fixture("adaptive-card-1.5.schema.json")).unwrap();
        jsonschema::draft6::new(&schema).unwrap()
    })
}

/// Schema errors of a Teams webhook body's card.
fn card_errors(body: &Value) -> Vec<String> {
    let card = &body["attachments"][0]["content"];
    let mut errs: Vec<String> = card_schema()
        .iter_errors(card)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if card["version"] != "1.5" {
        errs.push(format!("version {}", card["version"]));
    }
    errs
}

/// Every string in `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// A control, bidi or zero-width character: what could hide, reorder or break a chat layout.
fn invisible(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// What must hold for every chat payload, whatever the log text: the platform's limits, no `<`
/// in Slack or Q text but the links we made (mrkdwn's mentions and links all start with it), no
/// invisible characters, the Teams card valid against the 1.5 schema.
fn check_chat(v: &IncidentView, p: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let ours: Vec<String> = [v.report_url.as_deref(), v.console_url.as_deref()]
        .into_iter()
        .flatten()
        .flat_map(|u| [format!("<{u}|Report>"), format!("<{u}|Console>")])
        .collect();
    for target in ["slack", "slack-webhook"] {
        if let Err(e) = slack::check(&p[target]) {
            errs.push(format!("{target}: {e:?}"));
        }
    }
    for target in ["slack", "slack-webhook", "q"] {
        let mut all = Vec::new();
        strings(&p[target], &mut all);
        for s in all {
            let rest = ours.iter().fold(s.clone(), |s, link| s.replace(link, ""));
            if rest.contains('<') {
                errs.push(format!(
                    "{target}: unescaped < in {}",
                    &s[..s.len().min(200)]
                ));
            }
        }
    }
    for target in ["slack", "slack-webhook", "teams", "q"] {
        let mut all = Vec::new();
        strings(&p[target], &mut all);
        if let Some(s) = all.iter().find(|s| s.chars().any(invisible)) {
            errs.push(format!("{target}: invisible character in {s:?}"));
        }
    }
    let teams_len = p["teams"].to_string().len();
    if teams_len > teams::MAX_BYTES {
        errs.push(format!("teams: {teams_len} bytes"));
    }
    errs.extend(
        card_errors(&p["teams"])
            .into_iter()
            .map(|e| format!("teams: {e}")),
    );
    let q_len = p["q"].to_string().len();
    if q_len > q::MAX_BYTES {
        errs.push(format!("q: {q_len} bytes"));
    }
    if p["q"]["version"] != "1.0" || p["q"]["source"] != "custom" {
        errs.push("q: not the custom notification format".into());
    }
    errs
}

fn checked(v: &IncidentView) -> Value {
    let p = payloads(v);
    let errs = check_chat(v, &p);
    assert!(errs.is_empty(), "{errs:#?}");
    p
}

#[test]
fn the_sample_events_are_the_reports_findings_on_three_nodes() {
    let from_report = FindingsDetail::from_report(&report(), INCIDENT);
    let ev = events();
    assert_eq!(ev.len(), 3);
    for e in &ev {
        let NotifyEvent::Findings(d) = e else {
            panic!("{e:?}")
        };
        assert_eq!(d.findings, from_report.findings);
        assert_eq!(d.account.as_deref(), Some("111122223333"));
    }
    let v = sample();
    assert_eq!((v.findings.len(), v.nodes.len()), (8, 3));
    assert!(v.findings[0].root_cause);
    assert!(v.findings.iter().all(|f| f.nodes.len() == 3));
}

#[test]
fn one_finding() {
    let mut ev = events();
    ev.truncate(1);
    if let NotifyEvent::Findings(d) = &mut ev[0] {
        d.findings.truncate(1);
        d.root_cause = None;
    }
    insta::assert_json_snapshot!(checked(&fold(&ev)));
}

#[test]
fn full_sample_incident() {
    insta::assert_json_snapshot!(checked(&sample()));
}

#[test]
fn an_update() {
    let before = sample();
    let mut ev = events();
    // A fourth node's collection timed out, and a later bundle of the third shows a worse fault.
    ev.push(NotifyEvent::CollectionFailed(CollectionFailedDetail {
        incident_id: INCIDENT.into(),
        instance_id: "i-0abc12345def67893".into(),
        reason: "SSM command timed out after 600 s".into(),
        at: at(3),
    }));
    let mut later = ev[2].clone();
    if let NotifyEvent::Findings(d) = &mut later {
        d.at = at(4);
        d.findings[5].severity = Severity::Critical;
    }
    ev.push(later);
    let after = fold(&ev);
    let changes = after.changes_since(Some(&before));
    let sent = Delivered::of(&before, Some("1792397640.000100".into()));
    let decisions: BTreeMap<&str, Vec<Decision>> = Target::ALL
        .iter()
        .map(|t| (t.as_str(), noise::decide(*t, &after, Some(&sent))))
        .collect();
    let mut p = checked(&after);
    p["thread-reply"] = slack::render_reply(&after, &changes);
    insta::assert_json_snapshot!(
        json!({"changes": changes, "decisions": decisions, "payloads": p})
    );
}

#[test]
fn a_resolve() {
    let mut ev = events();
    ev.push(NotifyEvent::Resolved(ResolvedDetail {
        incident_id: INCIDENT.into(),
        at: at(45),
    }));
    let v = fold(&ev);
    let mut p = checked(&v);
    p["thread-reply"] = slack::render_reply(&v, &v.changes_since(Some(&sample())));
    insta::assert_json_snapshot!(p);
}

#[test]
fn a_plan_waiting_for_approval() {
    let mut ev = events();
    ev.push(plan_event(true));
    let v = fold(&ev);
    let waiting: Vec<usize> = v.awaiting_approval().map(|a| a.index).collect();
    assert!(!waiting.is_empty(), "{:?}", v.plan);
    let p = checked(&v);
    let buttons: Vec<&Value> = p["slack"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .collect();
    assert_eq!(buttons.len(), 2 * waiting.len());
    let plan_id = &v.plan.as_ref().unwrap().plan_id;
    for (b, i) in buttons.chunks(2).zip(&waiting) {
        assert_eq!(b[0]["action_id"], format!("approve:{i}"));
        assert_eq!(b[1]["action_id"], format!("reject:{i}"));
        assert_eq!(b[0]["value"], format!("{plan_id}:{i}"));
    }
    let command = format!("eks-remedy approve {plan_id} --action {}", waiting[0]);
    for target in ["slack-webhook", "teams", "q"] {
        assert!(p[target].to_string().contains(&command), "{target}");
    }
    // Approving the first one takes its buttons away and says who decided.
    let mut approved = ev.clone();
    approved.push(NotifyEvent::Approval(ApprovalDetail {
        incident_id: INCIDENT.into(),
        plan_id: plan_id.clone(),
        action: waiting[0],
        verdict: Verdict::Approved,
        by: "U024BE7LH".into(),
        at: at(6),
    }));
    let after = fold(&approved);
    assert_eq!(after.awaiting_approval().count(), waiting.len() - 1);
    let approved_payload = checked(&after);
    assert!(approved_payload["slack"]
        .to_string()
        .contains("approved by U024BE7LH"));
    insta::assert_json_snapshot!(p);
}

#[test]
fn a_rate_limited_summary() {
    let mut limiter = Limiter::new(RateLimit {
        messages: 3,
        per_seconds: 60,
    });
    let t0 = at(0).unwrap();
    let clusters = ["prod-eu", "prod-us", "staging"];
    let mut sent = 0;
    for i in 0..15 {
        let id = format!("incident-{i}");
        let out = Outgoing {
            incident_id: &id,
            cluster: clusters[i % 3],
            messages: 1,
            first: true,
        };
        if limiter.admit(t0, &out) {
            sent += 1;
        }
    }
    assert_eq!((sent, limiter.held()), (3, 12));
    assert_eq!(limiter.summary(t0), None);
    let summary = limiter.summary(t0 + TimeDelta::seconds(20)).unwrap();
    assert_eq!(summary.incidents, 12);
    let p = json!({
        "slack": slack::render_summary(&summary),
        "teams": teams::render_summary(&summary),
        "q": q::render_summary(&summary),
        "webhook": webhook::render_summary(&summary),
    });
    slack::check(&p["slack"]).unwrap();
    assert!(
        card_errors(&p["teams"]).is_empty(),
        "{:?}",
        card_errors(&p["teams"])
    );
    assert!(p["slack"]["text"]
        .as_str()
        .unwrap()
        .starts_with("12 more incidents on 3 clusters"));
    insta::assert_json_snapshot!(p);
}

/// Log text written to do harm in a chat: mentions, links, emphasis, code fences, terminal
/// escapes, bidi overrides, zero-width characters, non-ASCII, and a 10 KB line.
fn hostile_text() -> String {
    format!(
        "<!channel> <!here> <!everyone> <@U024BE7LH> <!subteam^S1|ops> <http://x|y> [click](https://evil.example) \
         *bold* _it_ ~strike~ `tick` ```fence``` &amp; &lt; > \u{1b}[31mred\u{1b}[0m \u{1b}]8;;https://evil.example\u{7}osc \
         \u{202e}desrever\u{202c} \u{2067}isolate\u{2069} zero\u{200b}width \u{5d0}\u{5d1}\u{5d2} 日本語 é 💥 {}",
        "A".repeat(10 * 1024)
    )
}

fn hostile_view() -> IncidentView {
    let h = hostile_text();
    let mut ev = events_with(|f| {
        f.evidence = Some(h.clone());
        f.summary = h.clone();
        f.title = h.chars().take(300).collect();
        if let Some(fix) = &mut f.fix {
            fix.instruction = h.clone();
        }
    });
    ev.push(NotifyEvent::CollectionFailed(CollectionFailedDetail {
        incident_id: INCIDENT.into(),
        instance_id: "i-0abc12345def67893".into(),
        reason: h,
        at: at(3),
    }));
    fold(&ev)
}

#[test]
fn hostile_evidence() {
    let v = hostile_view();
    let p = checked(&v);
    let s = p["slack"].to_string();
    assert!(s.contains("&lt;!channel&gt;"), "escaped, still readable");
    assert!(s.contains("see the report"), "evidence was cut with a note");
    assert!(
        !s.contains("more finding"),
        "every finding stays: its evidence and text go first"
    );
    // Teams: log text never reaches Markdown (TextBlock text, FactSet values).
    let markdown = teams::markdown_strings(&p["teams"]);
    assert!(
        markdown
            .iter()
            .all(|m| !m.contains("evil.example") && !m.contains('<') && !m.contains('`')),
        "{markdown:?}"
    );
    let q = p["q"]["content"].to_string();
    assert!(
        q.contains("\\\\[click\\\\](https://evil.example)"),
        "Q escapes Markdown: {q}"
    );
    insta::assert_json_snapshot!(p);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever a log line holds, no chat payload breaks a limit or lets it mention or link.
    #[test]
    fn arbitrary_evidence_never_breaks_a_payload(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("<!channel>".to_string()),
                Just("<http://x|y>".to_string()),
                Just("<".to_string()),
                Just("&".to_string()),
                Just("`".to_string()),
                Just("*".to_string()),
                Just("\u{1b}[".to_string()),
                Just("\u{202e}".to_string()),
                "\\PC{0,40}",
                any::<String>(),
            ],
            0..40,
        ),
        repeat in 1usize..400,
    ) {
        let text: String = pieces.concat().repeat(repeat);
        let v = fold(&events_with(|f| {
            f.evidence = Some(text.clone());
            f.summary = text.clone();
        }));
        let p = payloads(&v);
        let errs = check_chat(&v, &p);
        prop_assert!(errs.is_empty(), "{:#?}", errs);
    }
}

/// Sends what [`noise::decide`] says to every target through its channel's limiter, as the
/// notifier does, and counts what went out.
#[derive(Default)]
struct Counts {
    events: usize,
    real_changes: usize,
    state_changes: usize,
    post: BTreeMap<Target, usize>,
    update: BTreeMap<Target, usize>,
    reply: BTreeMap<Target, usize>,
    summaries: BTreeMap<Target, usize>,
    held: usize,
}

struct Notifier {
    views: BTreeMap<String, IncidentView>,
    delivered: BTreeMap<(Target, String), Delivered>,
    limiters: BTreeMap<Target, Limiter>,
    counts: Counts,
}

impl Notifier {
    fn new(limit: RateLimit) -> Notifier {
        Notifier {
            views: BTreeMap::new(),
            delivered: BTreeMap::new(),
            limiters: Target::ALL
                .iter()
                .map(|t| (*t, Limiter::new(limit)))
                .collect(),
            counts: Counts::default(),
        }
    }

    fn event(&mut self, e: &NotifyEvent, now: DateTime<Utc>) {
        self.counts.events += 1;
        let id = e.incident_id().to_string();
        let view = self
            .views
            .entry(id.clone())
            .or_insert_with(|| IncidentView::new(&id));
        let (before, state) = (view.fingerprint(), view.state_key());
        view.apply(e);
        if view.fingerprint() != before {
            self.counts.real_changes += 1;
        }
        if view.state_key() != state {
            self.counts.state_changes += 1;
        }
        self.send(&id, now);
    }

    /// The scheduled check, once a minute for `minutes`: summaries due, incidents caught up as
    /// far as each channel's rate allows.
    fn tick(&mut self, from: DateTime<Utc>, minutes: i64) {
        let ids: Vec<String> = self.views.keys().cloned().collect();
        for m in 0..minutes {
            for id in &ids {
                self.send(id, from + TimeDelta::minutes(m));
            }
        }
    }

    fn send(&mut self, id: &str, now: DateTime<Utc>) {
        let view = &self.views[id];
        for t in Target::ALL {
            let limiter = self.limiters.get_mut(&t).unwrap();
            if limiter.summary(now).is_some() {
                *self.counts.summaries.entry(t).or_default() += 1;
            }
            let key = (t, id.to_string());
            let decisions = noise::decide(t, view, self.delivered.get(&key));
            if decisions == [Decision::Nothing] {
                continue;
            }
            if !limiter.admit(
                now,
                &Outgoing::of(view, self.delivered.get(&key), &decisions),
            ) {
                self.counts.held += 1;
                continue;
            }
            let mut message_ref = self.delivered.get(&key).and_then(|d| d.message_ref.clone());
            for d in decisions {
                let counter = match d {
                    Decision::Post => {
                        message_ref = (t == Target::SlackBot).then(|| format!("ts-{id}"));
                        &mut self.counts.post
                    }
                    Decision::Update => &mut self.counts.update,
                    Decision::ThreadReply => &mut self.counts.reply,
                    Decision::Nothing => continue,
                };
                *counter.entry(t).or_default() += 1;
            }
            self.delivered.insert(key, Delivered::of(view, message_ref));
        }
    }

    fn messages(&self, t: Target) -> usize {
        [
            &self.counts.post,
            &self.counts.update,
            &self.counts.reply,
            &self.counts.summaries,
        ]
        .iter()
        .map(|m| m.get(&t).copied().unwrap_or(0))
        .sum()
    }

    fn print(&self, title: &str) {
        let c = &self.counts;
        println!(
            "{title}: {} events, {} real changes ({} state changes), {} sends held by the rate limit",
            c.events, c.real_changes, c.state_changes, c.held
        );
        for t in Target::ALL {
            let n = |m: &BTreeMap<Target, usize>| m.get(&t).copied().unwrap_or(0);
            println!(
                "  {:<14} posts {:>3}  updates {:>3}  thread replies {:>3}  summaries {:>2}",
                t.as_str(),
                n(&c.post),
                n(&c.update),
                n(&c.reply),
                n(&c.summaries)
            );
        }
    }

    /// Nothing lost: after catching up, every target received the current state.
    fn assert_current(&self) {
        for (id, view) in &self.views {
            for t in Target::ALL {
                assert_eq!(
                    noise::decide(t, view, self.delivered.get(&(t, id.clone()))),
                    vec![Decision::Nothing],
                    "{} behind on {id}",
                    t.as_str()
                );
            }
        }
    }
}

/// A deterministic stream of findings events as a storm makes them: `incidents` incidents of 3 to
/// 5 nodes, each event a node's (re-)analysis with its own rules from the sample, new counts and
/// new text every time; now and then a node shows one more rule or a rule one severity up.
fn storm(incidents: usize, events: usize, seed: u64) -> Vec<(NotifyEvent, DateTime<Utc>)> {
    let base = FindingsDetail::from_report(&report(), "");
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // What each node shows so far: rule index → severity.
    let mut shown: BTreeMap<(usize, u64), BTreeMap<usize, Severity>> = BTreeMap::new();
    let t0 = at(0).unwrap();
    (0..events)
        .map(|i| {
            let inc = (next() % incidents as u64) as usize;
            let node = next() % (3 + inc as u64 % 3);
            let rules = shown.entry((inc, node)).or_insert_with(|| {
                (0..base.findings.len())
                    .filter(|r| (r + inc + node as usize) % 3 != 0)
                    .map(|r| (r, base.findings[r].severity))
                    .collect()
            });
            match next() % 100 {
                0 => {
                    let r = (next() % base.findings.len() as u64) as usize;
                    rules.entry(r).or_insert(base.findings[r].severity);
                }
                1 => {
                    let r = (next() % base.findings.len() as u64) as usize;
                    if let Some(s) = rules.get_mut(&r) {
                        *s = Severity::Critical;
                    }
                }
                _ => {}
            }
            let mut d = base.clone();
            d.incident_id = format!("incident-{inc}");
            d.cluster = Some(format!("cluster-{}", inc % 7));
            d.account = Some("111122223333".into());
            d.instance_id = format!("i-{inc:04}{node:04}");
            d.findings = rules
                .iter()
                .map(|(r, sev)| {
                    let mut f = base.findings[*r].clone();
                    f.severity = *sev;
                    f.count = next() % 1000;
                    f.summary = format!("{} (run {i})", f.summary);
                    f
                })
                .collect();
            let now = t0 + TimeDelta::milliseconds(i as i64 * 100);
            d.at = Some(now);
            (NotifyEvent::Findings(d), now)
        })
        .collect()
}

#[test]
fn a_thousand_finding_events_of_one_incident_stay_within_the_rate() {
    let limit = RateLimit {
        messages: 10,
        per_seconds: 60,
    };
    let mut n = Notifier::new(limit);
    let stream = storm(1, 1000, 0x9e37_79b9_7f4a_7c15);
    let (first, last) = (stream[0].1, stream[stream.len() - 1].1);
    for (e, now) in &stream {
        n.event(e, *now);
    }
    n.print("1,000 finding events, one incident, 10 messages a minute");
    // A token bucket of 10 a minute: at most 10 plus what refills over the storm.
    let bound = limit.messages as i64 + (last - first).num_seconds() / 6;
    for t in Target::ALL {
        assert!(
            n.messages(t) as i64 <= bound,
            "{}: {} > {bound}",
            t.as_str(),
            n.messages(t)
        );
    }
    assert_eq!(
        n.counts.post[&Target::SlackBot],
        1,
        "one message per incident"
    );
    assert!(
        n.counts.real_changes < 60,
        "counts and summaries are not changes"
    );
    n.tick(last + TimeDelta::minutes(1), 10);
    n.assert_current();
}

#[test]
fn ten_thousand_events_of_twenty_incidents_post_at_most_twenty_messages() {
    let mut n = Notifier::new(RateLimit::default());
    let stream = storm(20, 10_000, 0x2545_f491_4f6c_dd1d);
    let last = stream[stream.len() - 1].1;
    for (e, now) in &stream {
        n.event(e, *now);
    }
    n.tick(last + TimeDelta::minutes(1), 30);
    n.print("10,000 events, 20 incidents (then the scheduled check)");
    n.assert_current();
    assert!(n.counts.post[&Target::SlackBot] <= 20);
    // Updates only on real changes: never more than the changes folded in.
    let real = n.counts.real_changes;
    for t in [Target::SlackBot, Target::Webhook] {
        let sent = n.counts.update.get(&t).copied().unwrap_or(0)
            + n.counts.post.get(&t).copied().unwrap_or(0);
        assert!(
            sent <= real,
            "{}: {sent} messages for {real} real changes",
            t.as_str()
        );
    }
    // Targets that cannot edit post on open and on state changes only, far fewer than changes.
    let opens_and_state_changes = 20 + n.counts.state_changes;
    for t in [Target::SlackWebhook, Target::Teams, Target::Q] {
        assert!(
            n.counts.post[&t] <= opens_and_state_changes,
            "{}",
            t.as_str()
        );
        assert_eq!(n.counts.update.get(&t), None, "{} cannot edit", t.as_str());
    }
}

#[test]
fn replaying_the_sample_changes_nothing_and_sends_nothing() {
    let v = sample();
    let sent: BTreeMap<Target, Delivered> = Target::ALL
        .iter()
        .map(|t| (*t, Delivered::of(&v, Some("ts".into()))))
        .collect();
    let mut again = v.clone();
    for e in events().iter().chain(events().iter().rev()) {
        again.apply(e);
    }
    assert_eq!(again, v);
    for t in Target::ALL {
        assert_eq!(
            noise::decide(t, &again, Some(&sent[&t])),
            vec![Decision::Nothing]
        );
    }
}
