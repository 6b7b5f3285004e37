//! What a rule is: metadata, the log signatures it asks the scanner to count, and a pure evaluation.
//!
//! Rules never read the bundle. They declare [`Signature`]s (see [`crate::signature`]).
//! After the bundle is read, [`Rule::evaluate`] gets the counted [`Occurrences`] and the parsed
//! [`Facts`] and returns at most one [`Finding`]. Adding a rule means one file in `rules/`, one line in
//! [`crate::rules::all`], and a hit and a miss fixture under `tests/fixtures/rules/<id>/`.

use std::collections::BTreeMap;

use crate::facts::Facts;
use crate::occurrences::Occurrences;
use crate::report::{Action, Evidence, Finding, Fix, Severity};
use crate::signature::Signature;
use crate::source::SourceKind;
use crate::stamp::Clock;

/// Fixed description of a rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable id.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// Documentation links.
    pub docs: &'static [&'static str],
}

/// Everything a rule may look at when it decides.
pub struct EvalCtx<'a> {
    /// The rule's own signatures' occurrences, by signature name.
    pub occurrences: &'a BTreeMap<&'static str, Occurrences>,
    /// Parsed structured files and log-derived facts.
    pub facts: &'a Facts,
    /// Resolves timestamps.
    pub clock: &'a Clock,
}

impl EvalCtx<'_> {
    /// Occurrences of the named signature (empty when none).
    pub fn occ(&self, name: &str) -> &Occurrences {
        static EMPTY: std::sync::OnceLock<Occurrences> = std::sync::OnceLock::new();
        self.occurrences
            .get(name)
            .unwrap_or_else(|| EMPTY.get_or_init(Occurrences::default))
    }
}

/// What a rule decides.
pub enum Verdict {
    /// The rule fired.
    Fire(Box<Finding>),
    /// Nothing wrong seen.
    Clear,
    /// The rule could not decide (missing data); the reason is reported.
    Skipped(String),
}

/// A rule of the catalogue.
pub trait Rule: Sync {
    /// Its metadata.
    fn meta(&self) -> &'static RuleMeta;
    /// Log signatures it counts.
    fn signatures(&self) -> &'static [Signature] {
        &[]
    }
    /// Structured files this rule may conclude absence from (a missing chain, a missing setting).
    /// When one of them was read only in part, the rule is skipped and the cut reported, never
    /// concluded from the part that was read.
    fn reads(&self) -> &'static [SourceKind] {
        &[]
    }
    /// Decides from the counted occurrences and facts. Pure.
    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict;
}

/// Builds a [`Finding`] from a rule's metadata; rules fill in the rest.
pub struct FindingBuilder {
    finding: Finding,
}

impl FindingBuilder {
    /// Starts a finding for `meta` with a summary.
    pub fn new(meta: &RuleMeta, summary: impl Into<String>) -> Self {
        FindingBuilder {
            finding: Finding {
                rule: meta.id.to_string(),
                severity: meta.severity,
                title: meta.title.to_string(),
                summary: summary.into(),
                why: meta.why.to_string(),
                count: 0,
                first_seen: None,
                last_seen: None,
                first_seen_since_boot_s: None,
                evidence: Vec::new(),
                evidence_omitted: 0,
                details: BTreeMap::new(),
                fix: Vec::new(),
                actions: Vec::new(),
                docs: meta.docs.iter().map(|d| d.to_string()).collect(),
                root_cause: false,
                caused_by: Vec::new(),
            },
        }
    }

    /// Adds the counts, times and sample lines of `occ`.
    pub fn occurrences(mut self, occ: &Occurrences, clock: &Clock) -> Self {
        self.finding.count += occ.count;
        let first = occ.first(clock);
        let last = occ.last(clock);
        self.finding.first_seen = min_opt(self.finding.first_seen, first);
        self.finding.last_seen = self.finding.last_seen.max(last);
        self.finding.evidence.extend(occ.evidence(clock));
        self
    }

    /// Replaces the summary (when it depends on figures computed after the occurrences).
    pub fn summary(mut self, s: impl Into<String>) -> Self {
        self.finding.summary = s.into();
        self
    }

    /// Adds one evidence item.
    pub fn evidence(mut self, e: Evidence) -> Self {
        self.finding.evidence.push(e);
        self
    }

    /// Sets the count when it is not a line count (e.g. rows of a table).
    pub fn count(mut self, n: u64) -> Self {
        self.finding.count = self.finding.count.max(n);
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.finding.severity = s;
        self
    }

    /// Adds a rule-specific figure.
    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.finding.details.insert(key.to_string(), value.into());
        self
    }

    /// Adds a fix.
    pub fn fix(mut self, fix: Fix) -> Self {
        self.finding.fix.push(fix);
        self
    }

    /// Adds an action.
    pub fn action(mut self, a: Action) -> Self {
        self.finding.actions.push(a);
        self
    }

    /// Done.
    pub fn fire(self) -> Verdict {
        Verdict::Fire(Box::new(self.finding))
    }
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A fix with a snippet.
pub fn fix(target: crate::report::FixTarget, instruction: &str, snippet: Option<&str>) -> Fix {
    Fix {
        target,
        instruction: instruction.to_string(),
        snippet: snippet.map(str::to_string),
    }
}
