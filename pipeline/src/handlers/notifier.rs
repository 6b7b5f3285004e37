//! Notifier: the pipeline's bus events (findings, failed collections, plans, approvals, audit
//! records, quota statuses, resolves), delivered through an SQS queue → one incident view per
//! incident, kept current in every configured chat target.
//!
//! The events of one incident in a batch are handled together: load the incident's
//! [`NotifyState`] (view and outbox), apply each event (a replayed or overtaken event changes
//! nothing), hide what the mutes hide, and bring each target up to date through its outbox record
//! within its channel's rate limit ([`noise::Limiter`], kept in the store). The state is then
//! written conditionally; on a conflict (another invocation wrote the same incident meanwhile) it
//! is reloaded, the events applied again and the deliveries already made kept, so nothing is sent
//! twice for this invocation's part.
//!
//! A target that fails keeps its changes pending and fails the incident's messages (SQS retries
//! them, then moves them to the dead-letter queue); the view is saved either way, so the next
//! delivery that gets through sends the incident as it is then and announces what was missed.
//!
//! A schedule runs the resolve check ([`Notifier::resolve_check`]): the incidents whose latest
//! event is older than the quiet period (found through the store's index, never a scan) get a
//! resolve folded in and delivered like any other change; a later event opens them again. An
//! incident that still owes a target a change stays in the index, so the next check retries it.
//!
//! The report's pre-signed link is added when rendering, never stored (it changes with every
//! signature, and is no part of the fingerprint).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_chat::outbox::{Outbox, Outcome, TargetState};
use eks_remedy_chat::target::{is_state_change, Target, TargetKind};
use eks_remedy_chat::DeliveryError;
use eks_remedy_core::notify::event::ResolvedDetail;
use eks_remedy_core::notify::noise::{self, Limiter, Mute, Outgoing, RateLimit, Summary};
use eks_remedy_core::notify::{Change, IncidentView, NotifyEvent};
use serde::Serialize;
use tracing::Instrument;

use super::{expiry, unexpected};
use crate::events::{Inbound, Task};
use crate::function::{settle, Handler, Invocation};
use crate::metrics::Metric;
use crate::ports::{Channels, NoPresigner, NotifyState, Presigner, Saved, ViewStore};
use crate::telemetry::{event_span, record, EventField};
use crate::{HandlerError, PortError};

/// Rounds of load, apply and conditional write before an incident is left to an SQS retry.
const MAX_ROUNDS: usize = 4;

/// Most changes kept pending for a target whose messages the rate limit holds (the message it
/// gets later shows the whole state; these only feed its thread reply).
const MAX_HELD_CHANGES: usize = 100;

/// Most incidents one resolve check takes; the rest wait for the next check.
const MAX_RESOLVES_PER_CHECK: usize = 25;

/// Time after which a resolve check starts no further incident (half the function's timeout: a
/// target that times out costs about half a minute per incident).
const CHECK_BUDGET: Duration = Duration::from_secs(60);

/// Longest life of a report link: SigV4 pre-signed URLs last at most 7 days.
pub const MAX_REPORT_LINK_HOURS: u32 = 168;

/// The notifier's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Mutes by cluster, account or rule.
    pub mutes: Vec<Mute>,
    /// Each channel's rate.
    pub rate: RateLimit,
    /// Days the incident's state is kept after its last event.
    pub ttl_days: u32,
    /// Minutes without a new event after which the resolve check resolves an incident.
    pub quiet_minutes: u32,
    /// Hours a report link stays valid (at most [`MAX_REPORT_LINK_HOURS`]; a link signed with
    /// the function's temporary credentials stops working when they expire, if that is sooner).
    pub report_link_hours: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            mutes: Vec::new(),
            rate: RateLimit::default(),
            ttl_days: crate::Config::default().ttl_days,
            quiet_minutes: 60,
            report_link_hours: 24,
        }
    }
}

impl Settings {
    /// Reads `NOTIFY_MUTES` (a JSON list of mutes: `[{"cluster": "dev-*", "until":
    /// "2026-12-01T00:00:00Z"}]`), `RATE_LIMIT_MESSAGES` and `RATE_LIMIT_SECONDS` (per channel),
    /// `TTL_DAYS`, `QUIET_MINUTES` (up to 30 days) and `REPORT_LINK_HOURS` (1 to 168) through
    /// `get`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings, HandlerError> {
        let d = Settings::default();
        let mutes = match get("NOTIFY_MUTES").filter(|v| !v.trim().is_empty()) {
            None => Vec::new(),
            Some(v) => serde_json::from_str(&v).map_err(|e| {
                HandlerError::Config(format!("NOTIFY_MUTES: expected a JSON list of mutes: {e}"))
            })?,
        };
        let num = |k: &str, default: u32, max: u32| {
            crate::setting(k, get(k).as_deref(), default, 1..=max)
        };
        Ok(Settings {
            mutes,
            rate: RateLimit {
                messages: num("RATE_LIMIT_MESSAGES", d.rate.messages, 10_000)?,
                per_seconds: num("RATE_LIMIT_SECONDS", d.rate.per_seconds, 86_400)?,
            },
            ttl_days: num("TTL_DAYS", d.ttl_days, 365)?,
            quiet_minutes: num("QUIET_MINUTES", d.quiet_minutes, 43_200)?,
            report_link_hours: num(
                "REPORT_LINK_HOURS",
                d.report_link_hours,
                MAX_REPORT_LINK_HOURS,
            )?,
        })
    }
}

/// What handling an incident's events did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notified {
    /// The incident.
    pub incident_id: String,
    /// Events applied.
    pub events: usize,
    /// Every finding (or the whole incident) is muted: nothing was sent.
    pub muted: bool,
    /// Targets that received the current state.
    pub sent: Vec<String>,
    /// Targets whose message waits for the channel's rate limit.
    pub held: Vec<String>,
    /// Targets that failed (name and reason, never a secret).
    pub failed: Vec<String>,
    /// Targets that got the summary of the incidents their rate limit held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub summaries: Vec<String>,
}

/// What one resolve check did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// Each quiet incident taken, as handling its resolve left it.
    pub incidents: Vec<Notified>,
    /// Incidents that could not be handled (a store error), with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// More quiet incidents wait for the next check.
    pub more: bool,
}

/// The notifier's answer: to bus events, or to a scheduled resolve check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// An incident's events.
    Notified(Notified),
    /// A resolve check.
    Checked(Checked),
}

/// The current time, injectable so tests control the rate limit.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The handler; `P` signs the report links (none: messages carry no report link).
pub struct Notifier<S, C, P = NoPresigner> {
    store: S,
    channels: C,
    settings: Settings,
    clock: Clock,
    presigner: Option<P>,
}

/// What one target got.
enum Delivery {
    Sent,
    Held,
    Failed(DeliveryError),
    Nothing,
}

/// What a channel's limiter said.
struct Admission {
    /// The message may go.
    admitted: bool,
    /// The summary of the incidents it held, due before that message.
    summary: Option<Summary>,
}

impl<S: ViewStore, C: Channels> Notifier<S, C> {
    /// Builds the handler, without report links.
    pub fn new(store: S, channels: C, settings: Settings) -> Self {
        Notifier {
            store,
            channels,
            settings,
            clock: Arc::new(Utc::now),
            presigner: None,
        }
    }

    /// Links each message to its report, pre-signed by `presigner`.
    pub fn with_presigner<P: Presigner>(self, presigner: P) -> Notifier<S, C, P> {
        Notifier {
            store: self.store,
            channels: self.channels,
            settings: self.settings,
            clock: self.clock,
            presigner: Some(presigner),
        }
    }
}

impl<S: ViewStore, C: Channels, P: Presigner> Notifier<S, C, P> {
    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The store, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The targets, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn channels(&self) -> &C {
        &self.channels
    }

    /// The presigner, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn presigner(&self) -> Option<&P> {
        self.presigner.as_ref()
    }

    /// Resolves the incidents that went quiet: each whose latest event is older than the quiet
    /// period gets a resolve, dated by that event (so an event the index has not seen yet keeps
    /// the incident open), delivered like any other change. At most
    /// [`MAX_RESOLVES_PER_CHECK`] incidents, and none started after [`CHECK_BUDGET`]: the rest
    /// waits for the next check. A delivery that fails leaves the incident owing its target,
    /// which keeps it in the index for the next check; it fails nothing else.
    pub async fn resolve_check(&self, inv: &Invocation) -> Result<Checked, HandlerError> {
        let started = Instant::now();
        let now = (self.clock)();
        let before = now - TimeDelta::minutes(i64::from(self.settings.quiet_minutes));
        let mut quiet = self
            .store
            .quiet_views(before, MAX_RESOLVES_PER_CHECK + 1)
            .await?;
        let mut done = Checked {
            more: quiet.len() > MAX_RESOLVES_PER_CHECK,
            ..Checked::default()
        };
        quiet.truncate(MAX_RESOLVES_PER_CHECK);
        for (i, q) in quiet.iter().enumerate() {
            if started.elapsed() > CHECK_BUDGET {
                done.more = true;
                tracing::info!(
                    left = quiet.len() - i,
                    "resolve check out of time; the rest waits"
                );
                break;
            }
            let event = NotifyEvent::Resolved(ResolvedDetail {
                incident_id: q.incident_id.clone(),
                at: Some(q.last_event_at),
            });
            let span = event_span(inv.function, "resolve-check");
            record(&span, EventField::IncidentId, &q.incident_id);
            match self
                .notify(&q.incident_id, std::slice::from_ref(&event), inv)
                .instrument(span)
                .await
            {
                Ok((n, _)) => done.incidents.push(n),
                Err(e) => {
                    tracing::warn!(error = %e, incident = %q.incident_id, "resolve not recorded; the next check retries");
                    done.errors.push(format!("{}: {e}", q.incident_id));
                }
            }
        }
        Ok(done)
    }

    /// Adds the report's link to `view` (when a presigner is set and the view has a
    /// `report.html` to link). The console link needs no signature: the fold builds it from
    /// checked names.
    async fn link(&self, view: &mut IncidentView) {
        view.report_url = None;
        let Some(p) = &self.presigner else { return };
        // Only the reports the function may read (its role grants `*/report.html`): a link
        // signed for anything else would only answer 403.
        let Some((bucket, key)) = view
            .report_key()
            .filter(|(_, k)| k.ends_with("/report.html"))
            .cloned()
        else {
            return;
        };
        let expires = Duration::from_secs(u64::from(self.settings.report_link_hours) * 3600);
        match p.presign_get(&bucket, &key, expires).await {
            Ok(url) => view.report_url = Some(url),
            Err(e) => {
                tracing::warn!(error = %e, "report link not signed; the message goes without it")
            }
        }
    }

    /// Folds `events` (all of `incident_id`) into the incident and brings every target up to
    /// date. `Ok` with the first delivery failure, if any: the state is saved either way.
    pub async fn notify(
        &self,
        incident_id: &str,
        events: &[NotifyEvent],
        inv: &Invocation,
    ) -> Result<(Notified, Option<DeliveryError>), HandlerError> {
        let targets = self.channels.targets().await?;
        // Deliveries made in an earlier round: kept over a reloaded state, never made again.
        let mut kept: BTreeMap<String, TargetState> = BTreeMap::new();
        for _ in 0..MAX_ROUNDS {
            let now = (self.clock)();
            let loaded = self.store.load_view(incident_id).await?;
            let (mut state, version) = match loaded {
                Some(v) => (v.value, Some(v.version)),
                None => (
                    NotifyState {
                        view: IncidentView::new(incident_id),
                        outbox: Outbox::default(),
                    },
                    None,
                ),
            };
            // What was read, to skip the write when nothing changed (a replay).
            let read = version.map(|_| state.clone());
            for (name, t) in &kept {
                state.outbox.targets.insert(name.clone(), t.clone());
            }
            // A first view, or one muted until now, announces itself as opened.
            let before = version.and_then(|_| self.seen(&state.view, now));
            for e in events {
                state.view.apply(e);
            }
            let span = tracing::Span::current();
            if let Some(c) = &state.view.cluster {
                record(&span, EventField::Cluster, c);
            }
            let mut seen = self.seen(&state.view, now);
            if let Some(v) = &mut seen {
                self.link(v).await;
            }
            let mut done = Notified {
                incident_id: incident_id.to_string(),
                events: events.len(),
                muted: seen.is_none(),
                sent: kept.keys().cloned().collect(),
                ..Notified::default()
            };
            let mut failure = None;
            if let Some(seen) = &seen {
                let changes = seen.changes_since(before.as_ref());
                for t in targets {
                    let t = t.as_ref();
                    let (delivery, summed) = self
                        .deliver(t, &mut state.outbox, seen, &changes, now)
                        .await?;
                    if summed {
                        done.summaries.push(t.name().to_string());
                    }
                    match delivery {
                        Delivery::Sent => {
                            if let Some(s) = state.outbox.targets.get(t.name()) {
                                kept.insert(t.name().to_string(), s.clone());
                            }
                            if !done.sent.iter().any(|n| n == t.name()) {
                                done.sent.push(t.name().to_string());
                            }
                        }
                        Delivery::Held => done.held.push(t.name().to_string()),
                        Delivery::Failed(e) => {
                            tracing::warn!(error = %e, "chat delivery failed; the view is kept");
                            done.failed.push(e.to_string());
                            failure.get_or_insert(e);
                        }
                        Delivery::Nothing => {}
                    }
                }
            }
            let count = |done: &Notified| {
                inv.metric(|m| {
                    let sent = done.sent.len() + done.summaries.len();
                    m.count(Metric::NotificationsSent, sent as u64);
                    m.count(Metric::NotificationsFailed, done.failed.len() as u64);
                    m.count(Metric::NotificationsHeld, done.held.len() as u64);
                });
            };
            if read.as_ref() == Some(&state) {
                count(&done);
                return Ok((done, failure));
            }
            let expires = expiry(now, self.settings.ttl_days);
            match self
                .store
                .save_view(incident_id, &state, version, expires)
                .await?
            {
                Saved::Written => {
                    count(&done);
                    return Ok((done, failure));
                }
                Saved::Conflict => {
                    tracing::info!("the incident's state changed meanwhile; applying again");
                }
            }
        }
        Err(PortError::Transient {
            service: "dynamodb",
            message: format!("notifier state of {incident_id} kept changing"),
        }
        .into())
    }

    /// The view as the mutes active at `now` let it be seen.
    fn seen(&self, view: &IncidentView, now: DateTime<Utc>) -> Option<IncidentView> {
        noise::apply_mutes(view, &self.settings.mutes, now)
    }

    /// Brings one target up to date; also says whether its channel's summary went out first.
    async fn deliver(
        &self,
        t: &dyn Target,
        outbox: &mut Outbox,
        view: &IncidentView,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<(Delivery, bool), HandlerError> {
        let name = t.name();
        let state = outbox.targets.get(name);
        let first = state.and_then(|s| s.fingerprint.as_ref()).is_none();
        // Nothing to show yet (no finding, failure or plan), or resolved before any message: the
        // first message, when it comes, shows the whole state.
        if first && noise::decide(noise_target(t.kind()), view, None) == [noise::Decision::Nothing]
        {
            return Ok((Delivery::Nothing, false));
        }
        let messages = messages_due(t.kind(), state, &view.fingerprint(), changes);
        if messages > 0 {
            let out = Outgoing {
                incident_id: &view.incident_id,
                cluster: view.cluster.as_deref().unwrap_or(""),
                messages,
                first,
            };
            let admission = self.admit(name, &out, now).await?;
            let summed = match &admission.summary {
                Some(s) => self.send_summary(name, s).await,
                None => false,
            };
            if !admission.admitted {
                let state = outbox.targets.entry(name.to_string()).or_default();
                for c in changes {
                    if !state.pending.contains(c) && state.pending.len() < MAX_HELD_CHANGES {
                        state.pending.push(c.clone());
                    }
                }
                return Ok((Delivery::Held, summed));
            }
            return Ok((self.send(t, outbox, view, changes).await, summed));
        }
        Ok((self.send(t, outbox, view, changes).await, false))
    }

    async fn send(
        &self,
        t: &dyn Target,
        outbox: &mut Outbox,
        view: &IncidentView,
        changes: &[Change],
    ) -> Delivery {
        let outcome = outbox.deliver(&[t], view, changes).await.pop();
        match outcome.map(|(_, o)| o) {
            Some(Outcome::Sent) => Delivery::Sent,
            Some(Outcome::Failed(e)) => Delivery::Failed(e),
            _ => Delivery::Nothing,
        }
    }

    /// Sends a channel's summary. A summary that fails is only logged: the incidents it counts
    /// are in the table, and each gets its own message once the rate allows.
    async fn send_summary(&self, target: &str, summary: &Summary) -> bool {
        match self.channels.summary(target, summary).await {
            Ok(sent) => sent,
            Err(e) => {
                tracing::warn!(error = %e, "rate-limit summary not delivered");
                false
            }
        }
    }

    /// Takes `out`'s messages from the channel's limiter, kept in the store; the summary of the
    /// incidents it held comes first when the rate allows one.
    async fn admit(
        &self,
        channel: &str,
        out: &Outgoing<'_>,
        now: DateTime<Utc>,
    ) -> Result<Admission, HandlerError> {
        for _ in 0..MAX_ROUNDS {
            let (mut limiter, version) = match self.store.load_limiter(channel).await? {
                Some(v) => (v.value, Some(v.version)),
                None => (Limiter::new(self.settings.rate), None),
            };
            // The configured rate wins over the stored one (the parameter may have changed).
            limiter.limit = self.settings.rate;
            let summary = limiter.summary(now);
            let admitted = limiter.admit(now, out);
            let expires = expiry(now, self.settings.ttl_days);
            if self
                .store
                .save_limiter(channel, &limiter, version, expires)
                .await?
                == Saved::Written
            {
                return Ok(Admission { admitted, summary });
            }
        }
        Err(PortError::Transient {
            service: "dynamodb",
            message: format!("rate limiter of {channel} kept changing"),
        }
        .into())
    }
}

/// Messages sending `changes` to a target whose record is `state` takes now (the outbox's own
/// rules: nothing when it already shows this fingerprint, nothing for detail alone on a target
/// that cannot edit; a Slack thread reply for state changes after the first).
fn messages_due(
    kind: TargetKind,
    state: Option<&TargetState>,
    fingerprint: &str,
    changes: &[Change],
) -> u32 {
    let (delivered, pending) = state.map_or((None, &[][..]), |s| {
        (s.fingerprint.as_deref(), s.pending.as_slice())
    });
    if delivered == Some(fingerprint) {
        return 0;
    }
    let mut all = pending.iter().chain(changes);
    if delivered.is_some() && !kind.every_change() && !all.clone().any(is_state_change) {
        return 0;
    }
    if kind == TargetKind::Slack && all.any(|c| is_state_change(c) && *c != Change::Opened) {
        2
    } else {
        1
    }
}

/// The noise module's name for a kind of target.
fn noise_target(kind: TargetKind) -> noise::Target {
    match kind {
        TargetKind::Slack => noise::Target::SlackBot,
        TargetKind::SlackWebhook => noise::Target::SlackWebhook,
        TargetKind::Teams => noise::Target::Teams,
        TargetKind::Q => noise::Target::Q,
        TargetKind::Webhook => noise::Target::Webhook,
    }
}

/// A delivery failure as the pipeline classifies it: a retryable one is retried by SQS, a
/// permanent one (a revoked token, a deleted channel) goes to the dead-letter queue at once.
pub fn delivery_error(e: DeliveryError) -> HandlerError {
    let message = e.to_string();
    HandlerError::Port(if e.is_retryable() {
        PortError::Transient {
            service: "chat",
            message,
        }
    } else {
        PortError::Refused {
            service: "chat",
            message,
        }
    })
}

impl<S: ViewStore, C: Channels, P: Presigner> Handler for Notifier<S, C, P> {
    type Answer = Answer;

    async fn handle(&self, event: Inbound, inv: &Invocation) -> Result<Answer, HandlerError> {
        let e = match event {
            Inbound::Notify(e) => e,
            Inbound::Scheduled(Task::ResolveCheck) => {
                return Ok(Answer::Checked(self.resolve_check(inv).await?));
            }
            other => return Err(unexpected(&other)),
        };
        record(
            &tracing::Span::current(),
            EventField::IncidentId,
            e.incident_id(),
        );
        match self
            .notify(e.incident_id(), std::slice::from_ref(&*e), inv)
            .await?
        {
            (done, None) => Ok(Answer::Notified(done)),
            (_, Some(failure)) => Err(delivery_error(failure)),
        }
    }

    /// One load and one write per incident of the batch, whatever its number of events; the
    /// messages of an incident fail together.
    async fn handle_batch(&self, batch: Vec<(String, Inbound)>, inv: &Invocation) -> Vec<String> {
        let mut failed = Vec::new();
        let mut groups: Vec<(String, Vec<String>, Vec<NotifyEvent>)> = Vec::new();
        for (id, event) in batch {
            let Inbound::Notify(e) = event else {
                if settle(&id, &unexpected(&event)) {
                    failed.push(id);
                }
                continue;
            };
            let incident = e.incident_id().to_string();
            match groups.iter_mut().find(|(i, _, _)| *i == incident) {
                Some((_, ids, events)) => {
                    ids.push(id);
                    events.push(*e);
                }
                None => groups.push((incident, vec![id], vec![*e])),
            }
        }
        for (incident, ids, events) in groups {
            let span = event_span(inv.function, &ids.join(","));
            record(&span, EventField::IncidentId, &incident);
            let error = match self
                .notify(&incident, &events, inv)
                .instrument(span.clone())
                .await
            {
                Ok((_, None)) => None,
                Ok((_, Some(f))) => Some(delivery_error(f)),
                Err(e) => Some(e),
            };
            let Some(e) = error else { continue };
            let n = ids.len() as u64;
            if span.in_scope(|| settle(&incident, &e)) {
                inv.count(Metric::EventsFailed, n);
                failed.extend(ids);
            } else {
                inv.count(Metric::EventsIgnored, n);
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_mutes_and_rates() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = Settings::from_env(env(&[
            ("NOTIFY_MUTES", r#"[{"cluster": "dev-*"}]"#),
            ("RATE_LIMIT_MESSAGES", "3"),
        ]))
        .unwrap();
        assert_eq!(s.mutes.len(), 1);
        assert_eq!((s.rate.messages, s.rate.per_seconds), (3, 60));
        assert_eq!(Settings::from_env(env(&[])).unwrap(), Settings::default());
        let e = Settings::from_env(env(&[("NOTIFY_MUTES", "dev-*")])).unwrap_err();
        assert!(e.to_string().contains("NOTIFY_MUTES"), "{e}");
        assert!(Settings::from_env(env(&[("RATE_LIMIT_SECONDS", "0")])).is_err());
    }

    #[test]
    fn settings_read_the_quiet_period_and_the_link_life_within_sigv4s_week() {
        let get = |k: &'static str, v: &'static str| move |n: &str| (n == k).then(|| v.to_string());
        let d = Settings::default();
        assert_eq!((d.quiet_minutes, d.report_link_hours), (60, 24));
        let s = Settings::from_env(get("QUIET_MINUTES", "15")).unwrap();
        assert_eq!(s.quiet_minutes, 15);
        let s = Settings::from_env(get("REPORT_LINK_HOURS", "168")).unwrap();
        assert_eq!(s.report_link_hours, MAX_REPORT_LINK_HOURS);
        for (k, v) in [
            ("REPORT_LINK_HOURS", "169"),
            ("REPORT_LINK_HOURS", "0"),
            ("QUIET_MINUTES", "0"),
            ("QUIET_MINUTES", "an hour"),
        ] {
            let e = Settings::from_env(get(k, v)).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
        }
    }

    #[test]
    fn messages_due_follow_the_outbox() {
        let fp = "f";
        let new_node = [Change::NewNode { node: "i-1".into() }];
        let resolved = [Change::Resolved];
        let sent = TargetState {
            fingerprint: Some("old".into()),
            ..TargetState::default()
        };
        let same = TargetState {
            fingerprint: Some(fp.into()),
            ..TargetState::default()
        };
        assert_eq!(
            messages_due(TargetKind::Teams, None, fp, &[Change::Opened]),
            1
        );
        assert_eq!(
            messages_due(TargetKind::Slack, None, fp, &[Change::Opened]),
            1
        );
        assert_eq!(
            messages_due(TargetKind::Teams, Some(&same), fp, &resolved),
            0
        );
        assert_eq!(
            messages_due(TargetKind::Teams, Some(&sent), fp, &new_node),
            0
        );
        assert_eq!(
            messages_due(TargetKind::Slack, Some(&sent), fp, &new_node),
            1
        );
        assert_eq!(
            messages_due(TargetKind::Slack, Some(&sent), fp, &resolved),
            2
        );
        assert_eq!(messages_due(TargetKind::Q, Some(&sent), fp, &resolved), 1);
    }
}
