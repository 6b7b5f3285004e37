//! What a rule asks the scanner to count: [`Signature`]s, and the groups of members they apply to.
//!
//! A signature is a literal that makes a line a candidate (all literals of all rules and of the
//! facts go into one automaton, so a gigabyte of log is searched once), the members it applies to,
//! and optional regexes that confirm or reject a candidate (look-alikes). It sits below both
//! [`crate::facts`] (whose marker lines are signatures too) and [`crate::rule`].

use crate::source::SourceKind;

/// A log line pattern a rule counts.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// Name, unique within its rule.
    pub name: &'static str,
    /// Case-sensitive literal that makes a line a candidate.
    pub literal: &'static str,
    /// Members whose lines are searched.
    pub sources: &'static [SourceKind],
    /// A regex the candidate line must also match.
    pub confirm: Option<&'static str>,
    /// A regex that disqualifies the candidate line (a look-alike).
    pub reject: Option<&'static str>,
    /// A regex whose first capture group is tallied per value (e.g. the throttled API).
    pub tally: Option<&'static str>,
    /// Lines within this many seconds after the latest kubelet start in the same member are counted
    /// apart (`Occurrences::in_grace`), not as hits.
    pub grace_after_kubelet_start: Option<u32>,
    /// A regex whose first capture is a number of seconds the event began before the line was
    /// written (`blocked for more than 122 seconds`); the line's time is moved back by it.
    pub backdate: Option<&'static str>,
}

impl Signature {
    /// A signature matching `literal` in `sources`.
    pub const fn new(
        name: &'static str,
        literal: &'static str,
        sources: &'static [SourceKind],
    ) -> Self {
        Signature {
            name,
            literal,
            sources,
            confirm: None,
            reject: None,
            tally: None,
            grace_after_kubelet_start: None,
            backdate: None,
        }
    }

    /// Also require `regex` to match.
    pub const fn confirm(mut self, regex: &'static str) -> Self {
        self.confirm = Some(regex);
        self
    }

    /// Drop lines matching `regex`.
    pub const fn reject(mut self, regex: &'static str) -> Self {
        self.reject = Some(regex);
        self
    }

    /// Tally capture group 1 of `regex`.
    pub const fn tally(mut self, regex: &'static str) -> Self {
        self.tally = Some(regex);
        self
    }

    /// Move the line's time back by the seconds in capture group 1 of `regex`.
    pub const fn backdate(mut self, regex: &'static str) -> Self {
        self.backdate = Some(regex);
        self
    }

    /// Count lines within `secs` of a kubelet start apart.
    pub const fn grace_after_kubelet_start(mut self, secs: u32) -> Self {
        self.grace_after_kubelet_start = Some(secs);
        self
    }
}

/// Kubelet logs: its journal and syslog.
pub const KUBELET: &[SourceKind] = &[SourceKind::KubeletLog, SourceKind::Messages];
/// Where sandbox / CNI errors surface: kubelet, containerd, syslog.
pub const RUNTIME: &[SourceKind] = &[
    SourceKind::KubeletLog,
    SourceKind::Messages,
    SourceKind::ContainerdLog,
    SourceKind::DockerLog,
];
/// VPC CNI logs.
pub const CNI: &[SourceKind] = &[
    SourceKind::IpamdLog,
    SourceKind::CniPluginLog,
    SourceKind::CniOtherLog,
];
/// Kernel views.
pub const KERNEL: &[SourceKind] = &[
    SourceKind::Dmesg,
    SourceKind::DmesgHuman,
    SourceKind::DmesgBoot,
    SourceKind::Messages,
];
/// User-data and cloud-init output.
pub const USER_DATA: &[SourceKind] = &[
    SourceKind::CloudInitOutput,
    SourceKind::UserDataLog,
    SourceKind::CloudInitLog,
];
