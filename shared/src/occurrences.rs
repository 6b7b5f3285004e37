//! Bounded bookkeeping of the lines one signature matched.
//!
//! A signature can match millions of lines in a big bundle; we keep counts, the time range, the first
//! few and the last line as evidence, and a capped tally of extracted values. Nothing grows with input.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::report::Evidence;
use crate::stamp::{Clock, NoYear, Stamp};

/// Sample lines kept from the start of the occurrences.
pub const FIRST_SAMPLES: usize = 3;
/// Distinct tally values kept; further values are counted under `other`.
pub const MAX_TALLY_KEYS: usize = 32;
/// Longest tallied value kept, in characters.
pub const MAX_TALLY_VALUE_CHARS: usize = 253;

/// One kept line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Member path.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The excerpt (already cut to the excerpt limit).
    pub excerpt: String,
    /// Its timestamp, unresolved.
    pub stamp: Option<Stamp>,
}

/// Smallest and largest stamp of each kind: kinds only compare among themselves until resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StampRange {
    full: Option<(DateTime<Utc>, DateTime<Utc>)>,
    no_year: Option<(NoYear, NoYear)>,
    since_boot: Option<(f64, f64)>,
}

fn widen<T: PartialOrd + Copy>(r: &mut Option<(T, T)>, v: T) {
    *r = Some(match *r {
        None => (v, v),
        Some((lo, hi)) => (if v < lo { v } else { lo }, if v > hi { v } else { hi }),
    });
}

impl StampRange {
    /// Includes `s`.
    pub fn add(&mut self, s: Stamp) {
        match s {
            Stamp::Full(t) => widen(&mut self.full, t),
            Stamp::NoYear(n) => widen(&mut self.no_year, n),
            Stamp::SinceBoot(b) => widen(&mut self.since_boot, b),
        }
    }

    /// Includes another range.
    pub fn merge(&mut self, o: &StampRange) {
        if let Some((a, b)) = o.full {
            widen(&mut self.full, a);
            widen(&mut self.full, b);
        }
        if let Some((a, b)) = o.no_year {
            widen(&mut self.no_year, a);
            widen(&mut self.no_year, b);
        }
        if let Some((a, b)) = o.since_boot {
            widen(&mut self.since_boot, a);
            widen(&mut self.since_boot, b);
        }
    }

    fn resolved(&self, clock: &Clock) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let full = self
            .full
            .into_iter()
            .flat_map(|(a, b)| [Stamp::Full(a), Stamp::Full(b)]);
        let ny = self
            .no_year
            .into_iter()
            .flat_map(|(a, b)| [Stamp::NoYear(a), Stamp::NoYear(b)]);
        let sb = self
            .since_boot
            .into_iter()
            .flat_map(|(a, b)| [Stamp::SinceBoot(a), Stamp::SinceBoot(b)]);
        let clock = *clock;
        full.chain(ny)
            .chain(sb)
            .filter_map(move |s| clock.resolve(s))
    }

    /// The latest complete (year-bearing) timestamp.
    pub fn latest_full(&self) -> Option<DateTime<Utc>> {
        self.full.map(|(_, hi)| hi)
    }

    /// Earliest resolvable time.
    pub fn first(&self, clock: &Clock) -> Option<DateTime<Utc>> {
        self.resolved(clock).min()
    }

    /// Latest resolvable time.
    pub fn last(&self, clock: &Clock) -> Option<DateTime<Utc>> {
        self.resolved(clock).max()
    }
}

/// What one signature matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Occurrences {
    /// Lines counted.
    pub count: u64,
    /// Lines within the kubelet start grace period (see `Signature::grace_after_kubelet_start`).
    pub in_grace: u64,
    /// Time range of counted lines.
    pub range: StampRange,
    /// The first few counted lines.
    pub first_samples: Vec<Sample>,
    /// The last counted line, when beyond the first samples.
    pub last_sample: Option<Sample>,
    /// Extracted value → lines.
    pub tally: BTreeMap<String, u64>,
    /// The last extracted value.
    pub last_value: Option<String>,
    /// The first extracted value.
    pub first_value: Option<String>,
}

impl Occurrences {
    /// Counts one line.
    pub fn record(&mut self, sample: impl FnOnce() -> Sample, stamp: Option<Stamp>) {
        self.count += 1;
        if let Some(s) = stamp {
            self.range.add(s);
        }
        if self.first_samples.len() < FIRST_SAMPLES {
            self.first_samples.push(sample());
        } else {
            self.last_sample = Some(sample());
        }
    }

    /// Tallies an extracted value.
    pub fn tally_value(&mut self, value: &str, by: u64) {
        // Values come from log text: keep them name-sized whatever the line length.
        let value = match value.char_indices().nth(MAX_TALLY_VALUE_CHARS) {
            Some((at, _)) => &value[..at],
            None => value,
        };
        if self.first_value.is_none() {
            self.first_value = Some(value.to_string());
        }
        self.last_value = Some(value.to_string());
        if self.tally.len() < MAX_TALLY_KEYS || self.tally.contains_key(value) {
            let n = self.tally.entry(value.to_string()).or_default();
            *n = n.saturating_add(by);
        } else {
            let n = self.tally.entry("other".to_string()).or_default();
            *n = n.saturating_add(by);
        }
    }

    /// Whether anything was counted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Earliest time.
    pub fn first(&self, clock: &Clock) -> Option<DateTime<Utc>> {
        self.range.first(clock)
    }

    /// Latest time.
    pub fn last(&self, clock: &Clock) -> Option<DateTime<Utc>> {
        self.range.last(clock)
    }

    /// Kept lines as evidence.
    pub fn evidence(&self, clock: &Clock) -> Vec<Evidence> {
        self.first_samples
            .iter()
            .chain(self.last_sample.iter())
            .map(|s| Evidence {
                file: s.file.clone(),
                line: Some(s.line),
                excerpt: s.excerpt.clone(),
                timestamp: s.stamp.and_then(|st| clock.resolve(st)),
            })
            .collect()
    }

    /// Adds `other` as a distinct set of lines (sum).
    pub fn absorb(&mut self, other: Occurrences) {
        self.count += other.count;
        self.in_grace += other.in_grace;
        self.range.merge(&other.range);
        for s in other.first_samples.into_iter().chain(other.last_sample) {
            if self.first_samples.len() < FIRST_SAMPLES {
                self.first_samples.push(s);
            } else {
                self.last_sample = Some(s);
            }
        }
        for (k, v) in other.tally {
            self.tally_value(&k, v);
        }
        if self.first_value.is_none() {
            self.first_value = other.first_value;
        }
        if other.last_value.is_some() {
            self.last_value = other.last_value;
        }
    }

    /// Tally as JSON, for finding details.
    pub fn tally_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.tally
                .iter()
                .map(|(k, v)| (k.clone(), (*v).into()))
                .collect(),
        )
    }
}
