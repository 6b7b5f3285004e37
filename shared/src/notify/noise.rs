//! Noise control: what to send now, to whom, and what not at all.
//!
//! Everything here is pure (the clock is a parameter) so the notifier and its tests take the same
//! decisions: [`decide`] compares the view with what a target last received, [`Mute`]s silence
//! clusters, accounts or rules for a while, a [`Limiter`] per channel holds messages over its rate
//! and sums them up in one message later, and [`resolve_due`] closes incidents that went quiet.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::event::{NotifyEvent, ResolvedDetail};
use super::{plural, IncidentView, Status};

/// A kind of destination, by what it can do with an earlier message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Slack Web API: updates its message in place and replies in its thread.
    SlackBot,
    /// Slack incoming webhook: posts only.
    SlackWebhook,
    /// Teams Workflows webhook: posts only.
    Teams,
    /// SNS in the Amazon Q Developer format: posts, threaded by incident.
    Q,
    /// Generic JSON webhook: gets every real change.
    Webhook,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 5] = [
        Target::SlackBot,
        Target::SlackWebhook,
        Target::Teams,
        Target::Q,
        Target::Webhook,
    ];

    /// The name used in configuration and on the incident.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::SlackBot => "slack",
            Target::SlackWebhook => "slack-webhook",
            Target::Teams => "teams",
            Target::Q => "q",
            Target::Webhook => "webhook",
        }
    }
}

/// What a target last received for an incident (kept on the incident, per target).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// [`IncidentView::fingerprint`] of what was sent.
    pub fingerprint: String,
    /// [`IncidentView::state_key`] of what was sent.
    pub state: String,
    /// The message to update (Slack's `ts`), when the target returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ref: Option<String>,
}

impl Delivered {
    /// The record of having sent `view`.
    pub fn of(view: &IncidentView, message_ref: Option<String>) -> Delivered {
        Delivered {
            fingerprint: view.fingerprint(),
            state: view.state_key(),
            message_ref,
        }
    }
}

/// One thing to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// A new message (the incident's first, or a new one on a target that cannot edit).
    Post,
    /// Edit the message in [`Delivered::message_ref`].
    Update,
    /// A short reply in that message's thread (what changed).
    ThreadReply,
    /// Nothing new for this target.
    Nothing,
}

/// What to send to `target` for `view`, given what it last received (`None`: nothing yet).
/// Never empty; `[Nothing]` when nothing is due. An incident that resolved before any message
/// went out, or has nothing to show, is not announced.
pub fn decide(target: Target, view: &IncidentView, last: Option<&Delivered>) -> Vec<Decision> {
    let Some(last) = last else {
        let something = !view.findings.is_empty()
            || view.nodes.values().any(|n| n.collection_failed)
            || view.plan.is_some();
        return vec![if view.status == Status::Open && something {
            Decision::Post
        } else {
            Decision::Nothing
        }];
    };
    let changed = view.fingerprint() != last.fingerprint;
    let state_changed = view.state_key() != last.state;
    match target {
        Target::SlackBot if last.message_ref.is_none() => vec![Decision::Post],
        Target::SlackBot if state_changed => vec![Decision::Update, Decision::ThreadReply],
        Target::SlackBot if changed => vec![Decision::Update],
        Target::SlackWebhook | Target::Teams | Target::Q if state_changed => vec![Decision::Post],
        Target::Webhook if changed => vec![Decision::Post],
        _ => vec![Decision::Nothing],
    }
}

/// `true` when `s` matches `pattern`, where `*` stands for any run of characters (`prod-*`,
/// `*-staging`, `*`) and everything else for itself.
pub fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Silence for a cluster, an account or a rule (or a combination: every field set must match),
/// until an expiry. A mute naming a rule hides that rule's findings; one without a rule silences
/// whole incidents. A mute with no field set matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// Cluster name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Account id pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Rule id pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Ends at (none: until removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

impl Mute {
    fn active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|u| now < u)
            && (self.cluster.is_some() || self.account.is_some() || self.rule.is_some())
    }

    fn scope_matches(&self, view: &IncidentView) -> bool {
        let one = |p: &Option<String>, v: &Option<String>| match p {
            None => true,
            Some(p) => glob(p, v.as_deref().unwrap_or("")),
        };
        one(&self.cluster, &view.cluster) && one(&self.account, &view.account)
    }
}

/// `view` as the mutes active at `now` let it be seen: `None` when the incident is muted as a
/// whole, or every finding of it is; otherwise the view without muted rules' findings (its
/// fingerprint then ignores them too, so a muted rule never causes a message).
pub fn apply_mutes(
    view: &IncidentView,
    mutes: &[Mute],
    now: DateTime<Utc>,
) -> Option<IncidentView> {
    let active: Vec<&Mute> = mutes
        .iter()
        .filter(|m| m.active(now) && m.scope_matches(view))
        .collect();
    if active.iter().any(|m| m.rule.is_none()) {
        return None;
    }
    if active.is_empty() {
        return Some(view.clone());
    }
    let muted = |rule: &str| {
        active
            .iter()
            .any(|m| m.rule.as_deref().is_some_and(|p| glob(p, rule)))
    };
    let mut v = view.clone();
    let before = v.findings.len();
    v.findings.retain(|f| !muted(&f.rule));
    if v.findings.is_empty() && before > 0 && !v.nodes.values().any(|n| n.collection_failed) {
        return None;
    }
    v.chain.retain(|r| !muted(r));
    for n in v.nodes.values_mut() {
        n.findings.retain(|r, _| !muted(r));
    }
    Some(v)
}

/// A rate: at most `messages` per `per_seconds`, in bursts of up to `messages` (a token bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Messages per period (the bucket's size).
    pub messages: u32,
    /// The period.
    pub per_seconds: u32,
}

impl Default for RateLimit {
    /// Slack's documented pace of about one message per second per channel, in bursts of 10 a
    /// minute: a storm of incidents turns into a summary, not a wall.
    fn default() -> RateLimit {
        RateLimit {
            messages: 10,
            per_seconds: 60,
        }
    }
}

/// Incidents whose messages a channel's limit held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// How many incidents.
    pub incidents: usize,
    /// Their clusters.
    pub clusters: BTreeSet<String>,
}

impl Summary {
    /// `12 more incidents on 3 clusters` (plain text: cluster names are not in it).
    pub fn text(&self) -> String {
        format!(
            "{} more incident{} on {} cluster{}: messages held by the rate limit, see the incident table for all.",
            self.incidents,
            plural(self.incidents),
            self.clusters.len(),
            plural(self.clusters.len())
        )
    }
}

/// What is about to be sent to a channel, for its [`Limiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// The incident.
    pub incident_id: &'a str,
    /// Its cluster (for the summary).
    pub cluster: &'a str,
    /// Messages it takes (an update and its thread reply are two).
    pub messages: u32,
    /// The incident's first message on this channel.
    pub first: bool,
}

impl<'a> Outgoing<'a> {
    /// What sending `decisions` for `view` takes, given what the channel last received of it.
    pub fn of(
        view: &'a IncidentView,
        last: Option<&Delivered>,
        decisions: &[Decision],
    ) -> Outgoing<'a> {
        Outgoing {
            incident_id: &view.incident_id,
            cluster: view.cluster.as_deref().unwrap_or(""),
            messages: u32::try_from(
                decisions
                    .iter()
                    .filter(|d| **d != Decision::Nothing)
                    .count(),
            )
            .unwrap_or(u32::MAX),
            first: last.is_none(),
        }
    }
}

/// One channel's rate limit, with the incidents it held (kept per channel by the notifier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limiter {
    /// The rate.
    pub limit: RateLimit,
    /// Messages that may go now.
    tokens: u32,
    /// When `tokens` was last topped up.
    refilled_at: Option<DateTime<Utc>>,
    /// Held incidents → their cluster.
    held: BTreeMap<String, String>,
    /// Incidents a summary already counted: held again, they would make a summary per refill
    /// that eats the tokens their own messages need.
    #[serde(default)]
    summed: BTreeSet<String>,
}

/// Most incidents remembered as summed up (past it the memory starts over: at worst one more
/// summary counts them again).
const MAX_SUMMED: usize = 1000;

impl Limiter {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            tokens: limit.messages,
            refilled_at: None,
            held: BTreeMap::new(),
            summed: BTreeSet::new(),
        }
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        let Some(last) = self.refilled_at else {
            self.refilled_at = Some(now);
            return;
        };
        let every_ms =
            i64::from(self.limit.per_seconds.max(1)) * 1000 / i64::from(self.limit.messages.max(1));
        let every_ms = every_ms.max(1);
        let elapsed = (now - last).num_milliseconds();
        // A clock that went back earns nothing.
        if elapsed <= 0 {
            return;
        }
        let earned = elapsed / every_ms;
        let tokens = i64::from(self.tokens) + earned;
        if tokens >= i64::from(self.limit.messages) {
            self.tokens = self.limit.messages;
            self.refilled_at = Some(now);
        } else {
            self.tokens = u32::try_from(tokens).unwrap_or(self.limit.messages);
            self.refilled_at = Some(last + TimeDelta::milliseconds(earned * every_ms));
        }
    }

    /// May `out` go out at `now`? It costs one token per message, all or none. A refused first
    /// message of an incident is held for the next [`Limiter::summary`]; a refused update just
    /// waits: the incident's next admitted message carries the whole current state.
    pub fn admit(&mut self, now: DateTime<Utc>, out: &Outgoing<'_>) -> bool {
        self.refill(now);
        if self.tokens >= out.messages {
            self.tokens -= out.messages;
            self.held.remove(out.incident_id);
            self.summed.remove(out.incident_id);
            true
        } else {
            if out.first && !self.summed.contains(out.incident_id) {
                self.held
                    .insert(out.incident_id.to_string(), out.cluster.to_string());
            }
            false
        }
    }

    /// The one message summing up the held incidents, once the rate allows a message again;
    /// `None` when nothing is held or the channel is still over its rate. Ask before sending
    /// anything else, so the summary goes out before newer messages.
    pub fn summary(&mut self, now: DateTime<Utc>) -> Option<Summary> {
        if self.held.is_empty() {
            return None;
        }
        self.refill(now);
        if self.tokens == 0 {
            return None;
        }
        self.tokens -= 1;
        let held = std::mem::take(&mut self.held);
        if self.summed.len() + held.len() > MAX_SUMMED {
            self.summed.clear();
        }
        self.summed.extend(held.keys().cloned());
        Some(Summary {
            incidents: held.len(),
            clusters: held.into_values().collect(),
        })
    }

    /// Incidents held so far.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

/// The resolve event for `view` when it had no event for `quiet` by `now`; `None` while it is
/// still active or already resolved.
pub fn resolve_due(
    view: &IncidentView,
    now: DateTime<Utc>,
    quiet: TimeDelta,
) -> Option<NotifyEvent> {
    let last = view.last_event_at?;
    (view.status == Status::Open && now - last >= quiet).then(|| {
        NotifyEvent::Resolved(ResolvedDetail {
            incident_id: view.incident_id.clone(),
            at: Some(now),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample_view;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_792_387_200 + s, 0).unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(glob("prod-*", "prod-eu"));
        assert!(glob("prod-*", "prod-"));
        assert!(!glob("prod-*", "staging-prod-eu"));
        assert!(glob("*-staging", "eu-staging"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("*", ""));
        assert!(glob("ipamd-*", "ipamd-grpc-unavailable"));
        assert!(!glob("oom-kill", "oom-kills"));
    }

    #[test]
    fn mutes_by_cluster_rule_and_account_expire() {
        let v = sample_view();
        let cluster = Mute {
            cluster: Some("pro*".into()),
            until: Some(at(100)),
            ..Mute::default()
        };
        assert!(apply_mutes(&v, std::slice::from_ref(&cluster), at(0)).is_none());
        assert!(apply_mutes(&v, std::slice::from_ref(&cluster), at(100)).is_some());
        let account = Mute {
            account: Some("9999*".into()),
            ..Mute::default()
        };
        assert_eq!(apply_mutes(&v, &[account], at(0)).as_ref(), Some(&v));
        let rule = Mute {
            rule: Some("ipamd-*".into()),
            ..Mute::default()
        };
        let seen = apply_mutes(&v, &[rule], at(0)).unwrap();
        assert!(seen.findings.iter().all(|f| !f.rule.starts_with("ipamd-")));
        assert!(seen.findings.len() < v.findings.len());
        assert_ne!(seen.fingerprint(), v.fingerprint());
        let all = Mute {
            rule: Some("*".into()),
            ..Mute::default()
        };
        assert!(apply_mutes(&v, &[all], at(0)).is_none());
        assert_eq!(
            apply_mutes(&v, &[Mute::default()], at(0)).as_ref(),
            Some(&v),
            "an empty mute matches nothing"
        );
    }

    #[test]
    fn decisions_per_target() {
        let v = sample_view();
        for t in Target::ALL {
            assert_eq!(decide(t, &v, None), vec![Decision::Post]);
        }
        let sent = Delivered::of(&v, Some("1.0".into()));
        for t in Target::ALL {
            assert_eq!(decide(t, &v, Some(&sent)), vec![Decision::Nothing]);
        }
        // A new node: a real change, not a state change.
        let mut w = v.clone();
        w.nodes.entry("i-0new".into()).or_default().analyzed = true;
        assert_eq!(
            decide(Target::SlackBot, &w, Some(&sent)),
            vec![Decision::Update]
        );
        assert_eq!(
            decide(Target::Webhook, &w, Some(&sent)),
            vec![Decision::Post]
        );
        assert_eq!(
            decide(Target::Teams, &w, Some(&sent)),
            vec![Decision::Nothing]
        );
        // Resolving is a state change for everyone.
        let mut r = v.clone();
        r.status = Status::Resolved;
        assert_eq!(
            decide(Target::SlackBot, &r, Some(&sent)),
            vec![Decision::Update, Decision::ThreadReply]
        );
        for t in [
            Target::SlackWebhook,
            Target::Teams,
            Target::Q,
            Target::Webhook,
        ] {
            assert_eq!(decide(t, &r, Some(&sent)), vec![Decision::Post]);
        }
        assert_eq!(decide(Target::Teams, &r, None), vec![Decision::Nothing]);
        // A bot message without ts (recorded by a webhook-like delivery) cannot be updated.
        let no_ts = Delivered::of(&v, None);
        assert_eq!(
            decide(Target::SlackBot, &w, Some(&no_ts)),
            vec![Decision::Post]
        );
    }

    #[test]
    fn the_limiter_holds_then_sums_up_once() {
        let mut l = Limiter::new(RateLimit {
            messages: 2,
            per_seconds: 60,
        });
        let first = |id: &'static str, cluster: &'static str| Outgoing {
            incident_id: id,
            cluster,
            messages: 1,
            first: true,
        };
        assert!(l.admit(at(0), &first("a", "prod")));
        assert!(l.admit(at(1), &first("b", "prod")));
        assert!(!l.admit(at(2), &first("c", "prod")));
        assert!(!l.admit(at(3), &first("d", "dev")));
        assert!(!l.admit(at(4), &first("c", "prod")));
        let update = Outgoing {
            first: false,
            ..first("a", "prod")
        };
        assert!(!l.admit(at(4), &update), "an update waits, unsummed");
        assert_eq!(l.summary(at(5)), None, "still over the rate");
        let s = l.summary(at(30)).unwrap();
        assert_eq!(s.incidents, 2);
        assert_eq!(s.text(), "2 more incidents on 2 clusters: messages held by the rate limit, see the incident table for all.");
        assert_eq!(l.summary(at(31)), None, "one summary");
        assert!(!l.admit(at(31), &first("c", "prod")));
        assert_eq!(l.held(), 0, "counted once: c is not summed up again");
        assert!(
            !l.admit(at(31), &first("e", "prod")),
            "the summary took the token"
        );
        let two = Outgoing {
            messages: 2,
            ..first("e", "prod")
        };
        assert!(
            l.admit(at(200), &two),
            "an update and its reply take both tokens"
        );
        assert!(!l.admit(at(200), &first("f", "prod")));
        assert_eq!(l.summary(at(200)), None);
        assert!(
            !l.admit(at(0), &first("g", "prod")),
            "a clock going back earns nothing"
        );
        assert_eq!(l.held(), 2, "f and g");
    }

    #[test]
    fn quiet_incidents_resolve_once() {
        let mut v = sample_view();
        v.last_event_at = Some(at(0));
        let quiet = TimeDelta::minutes(30);
        assert!(resolve_due(&v, at(29 * 60), quiet).is_none());
        let e = resolve_due(&v, at(30 * 60), quiet).unwrap();
        v.apply(&e);
        assert_eq!(v.status, Status::Resolved);
        assert!(resolve_due(&v, at(90 * 60), quiet).is_none());
    }
}
