//! The guards every executable action passes: allow-lists, budgets, a circuit breaker and
//! idempotency. Pure: the pipeline reads [`GuardState`] from its store (counts are kept with
//! conditional writes there, so two invocations cannot both take the last unit of a budget).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ActionKind, Context, Mode, PlannedAction};

/// One guard's verdict on one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardCheck {
    /// `allow-list`, `budget`, `circuit-breaker`, `idempotency`, or a kind's own (`cooldown`,
    /// `adjustable`, `open-request`, `prerequisite`, `ceiling`).
    pub guard: String,
    /// Whether it lets the action through.
    pub ok: bool,
    /// Why, with the figures.
    pub detail: String,
}

impl GuardCheck {
    /// A passing check.
    pub fn pass(guard: &str, detail: impl Into<String>) -> GuardCheck {
        GuardCheck {
            guard: guard.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    /// A failing check.
    pub fn fail(guard: &str, detail: impl Into<String>) -> GuardCheck {
        GuardCheck {
            guard: guard.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// Names an action may act on. Entries are exact names or `*` wildcards (`prod-*`). In `auto` an
/// empty list allows nothing; in `approve` an empty list leaves the choice to the approver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowLists {
    /// Account ids.
    pub accounts: Vec<String>,
    /// Cluster names.
    pub clusters: Vec<String>,
    /// Node group / Auto Scaling group names (EBS volumes of their nodes).
    pub node_groups: Vec<String>,
    /// Service Quotas quota codes (`L-1216C47A`).
    pub quota_codes: Vec<String>,
    /// EKS add-on names (`vpc-cni`).
    pub addons: Vec<String>,
}

/// At most this many executed actions of one kind, across incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Per rolling hour.
    pub per_hour: u32,
    /// Per rolling day.
    pub per_day: u32,
}

/// After `max_failures` failed executions of one kind within `window_minutes`, stop acting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    /// Failures that open the breaker.
    pub max_failures: u32,
    /// The window they are counted in.
    pub window_minutes: u32,
}

/// The guards' limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guards {
    /// Allow-lists.
    pub allow: AllowLists,
    /// Budget per kind.
    pub budget: Budget,
    /// Circuit breaker per kind.
    pub breaker: Breaker,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            allow: AllowLists::default(),
            budget: Budget {
                per_hour: 5,
                per_day: 20,
            },
            breaker: Breaker {
                max_failures: 3,
                window_minutes: 60,
            },
        }
    }
}

/// What the store knows when the plan is made (or re-checked before an approved execution).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardState {
    /// Actions executed per kind in the last hour.
    pub executed_last_hour: BTreeMap<ActionKind, u32>,
    /// Actions executed per kind in the last day.
    pub executed_last_day: BTreeMap<ActionKind, u32>,
    /// Failed executions per kind within the breaker's window.
    pub failures_in_window: BTreeMap<ActionKind, u32>,
    /// Ids of the actions already executed for this incident.
    pub done: BTreeSet<String>,
}

impl Guards {
    /// Every guard's verdict on `action` (none for recommendations: they never act).
    pub fn check(
        &self,
        action: &PlannedAction,
        ctx: &Context,
        state: &GuardState,
    ) -> Vec<GuardCheck> {
        if action.kind == ActionKind::Recommendation || action.mode == Mode::Recommend {
            return Vec::new();
        }
        let auto = action.mode == Mode::Auto;
        let mut out = Vec::new();
        let mut allow = |what: &str, list: &[String], value: Option<&str>| {
            out.push(allowed(what, list, value, auto));
        };
        allow("account", &self.allow.accounts, ctx.account.as_deref());
        allow("cluster", &self.allow.clusters, ctx.cluster.as_deref());
        match action.kind {
            ActionKind::ServiceQuota => allow(
                "quota code",
                &self.allow.quota_codes,
                action.target.get("quota_code").and_then(|v| v.as_str()),
            ),
            ActionKind::VpcCniAddon => allow("add-on", &self.allow.addons, Some("vpc-cni")),
            ActionKind::EbsVolume => allow(
                "node group",
                &self.allow.node_groups,
                action.target.get("node_group").and_then(|v| v.as_str()),
            ),
            ActionKind::SupportCase | ActionKind::Recommendation => {}
        }
        let kind = action.kind;
        let hour = state.executed_last_hour.get(&kind).copied().unwrap_or(0);
        let day = state.executed_last_day.get(&kind).copied().unwrap_or(0);
        out.push(if hour >= self.budget.per_hour {
            GuardCheck::fail(
                "budget",
                format!(
                    "{hour} {} actions in the last hour (budget {})",
                    kind.as_str(),
                    self.budget.per_hour
                ),
            )
        } else if day >= self.budget.per_day {
            GuardCheck::fail(
                "budget",
                format!(
                    "{day} {} actions in the last day (budget {})",
                    kind.as_str(),
                    self.budget.per_day
                ),
            )
        } else {
            GuardCheck::pass(
                "budget",
                format!(
                    "{hour} of {} this hour, {day} of {} today",
                    self.budget.per_hour, self.budget.per_day
                ),
            )
        });
        let failures = state.failures_in_window.get(&kind).copied().unwrap_or(0);
        out.push(if failures >= self.breaker.max_failures {
            GuardCheck::fail(
                "circuit-breaker",
                format!(
                    "open: {failures} failed {} actions in the last {} min; acting on this kind is stopped",
                    kind.as_str(),
                    self.breaker.window_minutes
                ),
            )
        } else {
            GuardCheck::pass(
                "circuit-breaker",
                format!("closed: {failures} failures (opens at {})", self.breaker.max_failures),
            )
        });
        out.push(if state.done.contains(&action.id) {
            GuardCheck::fail("idempotency", "already executed for this incident")
        } else {
            GuardCheck::pass("idempotency", "not yet executed for this incident")
        });
        out
    }
}

fn allowed(what: &str, list: &[String], value: Option<&str>, auto: bool) -> GuardCheck {
    let guard = "allow-list";
    match value {
        None if list.is_empty() && !auto => {
            GuardCheck::pass(guard, format!("{what}: no list; the approver decides"))
        }
        None => GuardCheck::fail(
            guard,
            format!("{what} not known, so it cannot be checked against the list"),
        ),
        Some(v) if list.is_empty() && auto => GuardCheck::fail(
            guard,
            format!("{what} `{v}`: the list is empty, which allows nothing in auto"),
        ),
        Some(v) if list.is_empty() => GuardCheck::pass(
            guard,
            format!("{what} `{v}`: no list; the approver decides"),
        ),
        Some(v) if list.iter().any(|p| matches(p, v)) => {
            GuardCheck::pass(guard, format!("{what} `{v}` is allowed"))
        }
        Some(v) => GuardCheck::fail(guard, format!("{what} `{v}` is not on the list")),
    }
}

/// `*` matches any run of characters; everything else literally.
fn matches(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Decision};
    use serde_json::json;

    fn action(kind: ActionKind, mode: Mode) -> PlannedAction {
        PlannedAction {
            id: format!("{}:prod", kind.as_str()),
            kind,
            mode,
            decision: Decision::RecordOnly,
            finding: "ec2-api-throttling".into(),
            findings: vec![],
            target: json!({"quota_code": "L-1216C47A", "node_group": "ng-a"}),
            change: Change {
                before: json!(null),
                after: json!(null),
            },
            guards: vec![],
            summary: String::new(),
            steps: vec![],
        }
    }

    fn ctx() -> Context {
        Context {
            account: Some("111122223333".into()),
            cluster: Some("prod".into()),
            ..Context::default()
        }
    }

    fn failed(checks: &[GuardCheck]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.guard.clone())
            .collect()
    }

    #[test]
    fn wildcards() {
        assert!(matches("prod-*", "prod-eu"));
        assert!(matches("*", "anything"));
        assert!(matches("a*c*e", "abcde"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(!matches("prod-*", "staging"));
        assert!(!matches("*-eu", "prod-us"));
        assert!(!matches("ab*ab", "ab"), "prefix and suffix may not overlap");
    }

    #[test]
    fn an_empty_allow_list_allows_nothing_in_auto_but_defers_to_the_approver() {
        let g = Guards::default();
        let st = GuardState::default();
        let auto = g.check(&action(ActionKind::VpcCniAddon, Mode::Auto), &ctx(), &st);
        assert_eq!(failed(&auto), ["allow-list", "allow-list", "allow-list"]);
        let approve = g.check(&action(ActionKind::VpcCniAddon, Mode::Approve), &ctx(), &st);
        assert!(failed(&approve).is_empty(), "{approve:?}");
    }

    #[test]
    fn lists_apply_per_kind() {
        let g = Guards {
            allow: AllowLists {
                accounts: vec!["111122223333".into()],
                clusters: vec!["prod*".into()],
                node_groups: vec!["ng-b".into()],
                quota_codes: vec!["L-1216C47A".into()],
                addons: vec!["vpc-cni".into()],
            },
            ..Guards::default()
        };
        let st = GuardState::default();
        assert!(
            failed(&g.check(&action(ActionKind::ServiceQuota, Mode::Auto), &ctx(), &st)).is_empty()
        );
        assert_eq!(
            failed(&g.check(&action(ActionKind::EbsVolume, Mode::Auto), &ctx(), &st)),
            ["allow-list"],
            "ng-a is not on the node-group list"
        );
        let unknown = Context::default();
        assert_eq!(
            failed(&g.check(&action(ActionKind::SupportCase, Mode::Auto), &unknown, &st)),
            ["allow-list", "allow-list"],
            "an unknown account or cluster never passes a list"
        );
    }

    #[test]
    fn budget_breaker_and_idempotency_stop_the_next_action() {
        let mut g = Guards::default();
        g.allow.accounts = vec!["*".into()];
        g.allow.clusters = vec!["*".into()];
        g.allow.addons = vec!["*".into()];
        let a = action(ActionKind::VpcCniAddon, Mode::Auto);
        let mut st = GuardState::default();
        st.executed_last_hour.insert(ActionKind::VpcCniAddon, 4);
        assert!(
            failed(&g.check(&a, &ctx(), &st)).is_empty(),
            "the 5th of 5 may run"
        );
        st.executed_last_hour.insert(ActionKind::VpcCniAddon, 5);
        assert_eq!(failed(&g.check(&a, &ctx(), &st)), ["budget"]);
        st.executed_last_hour.clear();
        st.executed_last_day.insert(ActionKind::VpcCniAddon, 20);
        assert_eq!(failed(&g.check(&a, &ctx(), &st)), ["budget"]);
        st.executed_last_day.clear();
        st.failures_in_window.insert(ActionKind::VpcCniAddon, 3);
        assert_eq!(failed(&g.check(&a, &ctx(), &st)), ["circuit-breaker"]);
        st.failures_in_window.insert(ActionKind::EbsVolume, 9);
        st.failures_in_window.remove(&ActionKind::VpcCniAddon);
        assert!(
            failed(&g.check(&a, &ctx(), &st)).is_empty(),
            "breakers are per kind"
        );
        st.done.insert(a.id.clone());
        assert_eq!(failed(&g.check(&a, &ctx(), &st)), ["idempotency"]);
    }
}
