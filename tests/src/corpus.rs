//! The real-world corpus: log lines users posted publicly, turned into bundles the analyzer can read.
//!
//! `tests/fixtures/real/*.jsonl` hold one record per line (see the README there): a case id, the
//! public source, the bundle member the line belongs in, the rules it shows (empty for a benign
//! look-alike) and the line itself, verbatim. The lines of one case form one bundle: the healthy-node
//! tree is the node around them (its kubelet start, ipamd start, metrics, iptables, config), and each
//! real line goes into its member where the node would have written it: in time order among the
//! member's lines (logs are chronological, and rules read order, e.g. what came after a kubelet
//! start), or at the end when the line carries no time (a fragment of a post). Real lines are mostly
//! older than the base node's, so they land before its lines, and the base's later version and start
//! lines stay the latest, as on a node that kept running. Scoring compares what fired with the union
//! of the case's faults.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One corpus line.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Case id; the lines of one case form one bundle.
    pub case: String,
    /// Public URL the line was taken from.
    pub source: String,
    /// Bundle member path, e.g. `var_log/aws-routed-eni/ipamd.log`.
    pub file: String,
    /// Rule ids the line shows; empty for a benign look-alike.
    pub faults: Vec<String>,
    /// The line, verbatim (account ids and IPs redacted).
    pub line: String,
    /// Free text: format, version, why it is (not) a fault.
    #[serde(default)]
    pub note: Option<String>,
}

/// The records of one case, and what the analyzer must report for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Case id.
    pub id: String,
    /// Its lines, in corpus order.
    pub records: Vec<Record>,
}

impl Case {
    /// The union of its lines' faults: exactly the rules the bundle must fire.
    pub fn expected(&self) -> BTreeSet<String> {
        self.records
            .iter()
            .flat_map(|r| r.faults.iter().cloned())
            .collect()
    }
}

/// `tests/fixtures/real`.
pub fn real_dir() -> PathBuf {
    crate::fixtures_dir().join("real")
}

/// Every record of every `*.jsonl` file in `dir`, files in name order. Blank lines are skipped; an
/// unreadable file or a line that is not a record is an error naming the file and line.
pub fn load(dir: &Path) -> anyhow::Result<Vec<Record>> {
    use anyhow::Context;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str(line)
                .with_context(|| format!("{}:{}", path.display(), i + 1))?;
            out.push(record);
        }
    }
    Ok(out)
}

/// Why `record` cannot be a line of its member, if it cannot: a Prometheus text member
/// (`ipamd/metrics.json`) holds only comments and samples (`name{labels} value`), so a post that
/// shows a label set alone cannot be placed in a bundle and is left out of scoring (and reported).
pub fn unplaceable(record: &Record) -> Option<String> {
    use eks_remedy_core::source::SourceKind;
    if SourceKind::classify(&record.file) != SourceKind::CniMetrics {
        return None;
    }
    let line = record.line.trim_start();
    if line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    let rest = &line[name_end..];
    let value = match rest.strip_prefix('{') {
        Some(labels) => labels.rfind('}').map(|i| &labels[i + 1..]),
        None => rest.starts_with(char::is_whitespace).then_some(rest),
    };
    let has_value = value.is_some_and(|v| v.split_whitespace().next().is_some());
    let name_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if name_ok && has_value {
        None
    } else {
        Some(format!(
            "not a Prometheus sample line (metric name and value required) in {}",
            record.file
        ))
    }
}

/// Groups records by case, cases in order of first appearance.
pub fn cases(records: &[Record]) -> Vec<Case> {
    let mut order: Vec<String> = Vec::new();
    let mut by_id: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for r in records {
        if !by_id.contains_key(&r.case) {
            order.push(r.case.clone());
        }
        by_id.entry(r.case.clone()).or_default().push(r.clone());
    }
    order
        .into_iter()
        .filter_map(|id| {
            let records = by_id.remove(&id)?;
            Some(Case { id, records })
        })
        .collect()
}

/// The healthy node whose logs surround the real lines.
pub fn base_tree() -> PathBuf {
    crate::fixtures_dir().join("bundles").join("healthy-node")
}

/// The folder name a bundle of `case` gets: the collector's naming, so the collection date is read
/// as for real bundles.
pub const BUNDLE_NAME: &str = "eks_i-0fedcba9876543210_2026-10-19_0815-UTC_0.7.9";

/// Writes the bundle of `case` under `out` (created): a copy of `base` with each real line placed in
/// its member (see the module docs).
pub fn write_bundle(case: &Case, base: &Path, out: &Path) -> io::Result<()> {
    copy_tree(base, out)?;
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &case.records {
        let rel = Path::new(&r.file);
        if rel.is_absolute() || rel.components().any(|c| c.as_os_str() == "..") {
            return Err(io::Error::other(format!(
                "case {}: member path {} leaves the bundle",
                case.id, r.file
            )));
        }
        members.entry(&r.file).or_default().push(&r.line);
    }
    for (file, real) in members {
        let path = out.join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let existing = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut lines: Vec<&str> = existing.lines().collect();
        for line in real {
            place(&mut lines, line);
        }
        let mut f = std::fs::File::create(&path)?;
        for l in lines {
            writeln!(f, "{l}")?;
        }
    }
    Ok(())
}

/// A line's place in time, as the analyzer reads it. Kinds compare only among themselves.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum When {
    /// Microseconds since the Unix epoch.
    At(i64),
    SinceBoot(f64),
}

fn when(line: &str) -> Option<When> {
    use eks_remedy_core::stamp::{parse_line, Clock, Stamp};
    let reference = eks_remedy_core::analyze::parse_bundle_name(BUNDLE_NAME).collected_at;
    let clock = Clock {
        reference,
        boot: None,
    };
    match parse_line(line.as_bytes())? {
        Stamp::SinceBoot(s) => Some(When::SinceBoot(s)),
        st => clock.resolve(st).map(|t| When::At(t.timestamp_micros())),
    }
}

/// Inserts `line` before the first line that is later than it (same kind of time); a line without a
/// time, or later than all, goes to the end.
fn place<'a>(lines: &mut Vec<&'a str>, line: &'a str) {
    let at = when(line).and_then(|t| {
        lines.iter().position(|l| {
            when(l).is_some_and(|u| {
                matches!(
                    (t, u),
                    (When::At(a), When::At(b)) if b > a
                ) || matches!((t, u), (When::SinceBoot(a), When::SinceBoot(b)) if b > a)
            })
        })
    });
    match at {
        Some(i) => lines.insert(i, line),
        None => lines.push(line),
    }
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// How one case came out.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Case id.
    pub case: String,
    /// Rules the case must fire.
    pub expected: BTreeSet<String>,
    /// Rules that fired.
    pub fired: BTreeSet<String>,
}

impl Outcome {
    /// Expected rules that did not fire.
    pub fn missed(&self) -> Vec<&String> {
        self.expected.difference(&self.fired).collect()
    }

    /// Rules that fired without being expected.
    pub fn false_positives(&self) -> Vec<&String> {
        self.fired.difference(&self.expected).collect()
    }
}

/// Per-rule tallies over the corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleScore {
    /// Cases that must fire the rule.
    pub positives: u32,
    /// Of those, cases where it fired.
    pub detected: u32,
    /// Cases where it fired without being expected.
    pub false_positives: u32,
}

/// Recall and false positives per rule, from the outcomes.
pub fn score(outcomes: &[Outcome]) -> BTreeMap<String, RuleScore> {
    let mut s: BTreeMap<String, RuleScore> = BTreeMap::new();
    for o in outcomes {
        for r in &o.expected {
            let e = s.entry(r.clone()).or_default();
            e.positives += 1;
            if o.fired.contains(r) {
                e.detected += 1;
            }
        }
        for r in o.false_positives() {
            s.entry(r.clone()).or_default().false_positives += 1;
        }
    }
    s
}

/// A table of the scores, for `--nocapture` output and reports.
pub fn summary(records: &[Record], outcomes: &[Outcome]) -> String {
    let scores = score(outcomes);
    let sources: BTreeSet<&str> = records.iter().map(|r| r.source.as_str()).collect();
    let benign = outcomes.iter().filter(|o| o.expected.is_empty()).count();
    let mut out = format!(
        "corpus: {} lines, {} sources, {} cases ({} benign), {} rules with positives\n",
        records.len(),
        sources.len(),
        outcomes.len(),
        benign,
        scores.values().filter(|s| s.positives > 0).count()
    );
    out.push_str(&format!(
        "{:<32} {:>9} {:>9} {:>7} {:>5}\n",
        "rule", "positives", "detected", "recall", "FP"
    ));
    let (mut pos, mut det, mut fp) = (0, 0, 0);
    for (rule, s) in &scores {
        pos += s.positives;
        det += s.detected;
        fp += s.false_positives;
        out.push_str(&format!(
            "{:<32} {:>9} {:>9} {:>7} {:>5}\n",
            rule,
            s.positives,
            s.detected,
            recall(s.detected, s.positives),
            s.false_positives
        ));
    }
    out.push_str(&format!(
        "{:<32} {:>9} {:>9} {:>7} {:>5}\n",
        "all",
        pos,
        det,
        recall(det, pos),
        fp
    ));
    out
}

fn recall(detected: u32, positives: u32) -> String {
    if positives == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", 100.0 * f64::from(detected) / f64::from(positives))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(case: &str, faults: &[&str]) -> Record {
        Record {
            case: case.into(),
            source: "https://example.com".into(),
            file: "var_log/messages".into(),
            faults: faults.iter().map(|s| s.to_string()).collect(),
            line: "x".into(),
            note: None,
        }
    }

    #[test]
    fn cases_keep_first_appearance_order_and_union_faults() {
        let rs = [rec("b", &["x"]), rec("a", &[]), rec("b", &["y", "x"])];
        let cs = cases(&rs);
        assert_eq!(
            cs.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(cs[0].expected().into_iter().collect::<Vec<_>>(), ["x", "y"]);
        assert!(cs[1].expected().is_empty());
    }

    #[test]
    fn scores_count_recall_and_false_positives_per_rule() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let outcomes = [
            Outcome {
                case: "1".into(),
                expected: set(&["a"]),
                fired: set(&["a", "b"]),
            },
            Outcome {
                case: "2".into(),
                expected: set(&["a"]),
                fired: set(&[]),
            },
        ];
        let s = score(&outcomes);
        assert_eq!(
            s["a"],
            RuleScore {
                positives: 2,
                detected: 1,
                false_positives: 0
            }
        );
        assert_eq!(s["b"].false_positives, 1);
    }

    #[test]
    fn real_lines_go_in_time_order_and_undated_ones_last() {
        let mut lines = vec![
            "-- Logs begin at Mon 2026-10-19 05:10:02 UTC --",
            "Oct 19 05:10:41 ip-1 kubelet[1]: I1019 05:10:41.000000 1 server.go:446] start",
            "Oct 19 06:00:00 ip-1 kubelet[1]: I1019 06:00:00.000000 1 x.go:1] later",
        ];
        place(
            &mut lines,
            "May 20 12:33:17 ip-2 kubelet[5]: I0520 12:33:17.590878 5 log.go:172] old",
        );
        place(&mut lines, "5740 log.go:194] undated fragment");
        place(
            &mut lines,
            "Oct 19 05:30:00 ip-1 kubelet[1]: I1019 05:30:00.000000 1 y.go:1] between",
        );
        assert_eq!(
            lines[1],
            "May 20 12:33:17 ip-2 kubelet[5]: I0520 12:33:17.590878 5 log.go:172] old"
        );
        assert_eq!(
            lines[3],
            "Oct 19 05:30:00 ip-1 kubelet[1]: I1019 05:30:00.000000 1 y.go:1] between"
        );
        assert_eq!(lines[5], "5740 log.go:194] undated fragment");
        let mut dmesg = vec!["[    0.000000] Linux version", "[ 2335.761203] Call Trace:"];
        place(
            &mut dmesg,
            "[  147.358790] oom-kill:constraint=CONSTRAINT_MEMCG",
        );
        assert_eq!(
            dmesg[1],
            "[  147.358790] oom-kill:constraint=CONSTRAINT_MEMCG"
        );
    }

    #[test]
    fn metric_members_take_samples_and_comments_only() {
        let mut r = rec("m", &[]);
        r.file = "ipamd/metrics.json".into();
        for ok in [
            "# HELP awscni_eni_max x",
            "awscni_eni_max 3",
            r#"awscni_ipamd_error_count{error="a } b",fn="f"} 2"#,
        ] {
            r.line = ok.into();
            assert_eq!(unplaceable(&r), None, "{ok}");
        }
        for bad in [r#"error="x",fn="f""#, r#"awscni_eni_max{fn="f"}"#] {
            r.line = bad.into();
            assert!(unplaceable(&r).is_some(), "{bad}");
        }
        r.file = "var_log/messages".into();
        assert_eq!(unplaceable(&r), None);
    }

    #[test]
    fn member_paths_cannot_leave_the_bundle() {
        let mut r = rec("c", &[]);
        r.file = "../escape".into();
        let case = Case {
            id: "c".into(),
            records: vec![r],
        };
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tmp: {e}"));
        let base = tmp.path().join("base");
        std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("mkdir: {e}"));
        assert!(write_bundle(&case, &base, &tmp.path().join("out")).is_err());
    }
}
