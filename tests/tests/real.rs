//! The real-world corpus (`tests/fixtures/real/*.jsonl`): every case, built into a bundle around the
//! healthy node, must fire exactly the rules its lines show. The per-rule recall and false positives
//! are printed (`cargo test -p eks-remedy-tests --test real -- --nocapture`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeSet;

use eks_remedy_core::source::SourceKind;
use eks_remedy_core::{Analyzer, Options};
use eks_remedy_tests::corpus::{self, Case, Outcome, Record};

fn records() -> Vec<Record> {
    corpus::load(&corpus::real_dir()).unwrap_or_else(|e| panic!("corpus: {e:#}"))
}

fn outcome(analyzer: &Analyzer, case: &Case) -> Outcome {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join(corpus::BUNDLE_NAME);
    corpus::write_bundle(case, &corpus::base_tree(), &dir)
        .unwrap_or_else(|e| panic!("case {}: {e}", case.id));
    let report = analyzer
        .analyze(&dir, &Options::default())
        .unwrap_or_else(|e| panic!("case {}: {e}", case.id));
    Outcome {
        case: case.id.clone(),
        expected: case.expected(),
        fired: report.findings.iter().map(|f| f.rule.clone()).collect(),
    }
}

#[test]
fn records_are_well_formed() {
    let records = records();
    assert!(!records.is_empty(), "empty corpus");
    let ids: BTreeSet<&str> = eks_remedy_core::rules::ids().into_iter().collect();
    for r in &records {
        let at = format!("case {} ({})", r.case, r.source);
        assert!(!r.case.trim().is_empty(), "{at}: case id");
        assert!(r.source.starts_with("https://"), "{at}: source is a URL");
        assert!(
            !r.line.trim().is_empty() && !r.line.contains('\n'),
            "{at}: one non-empty line"
        );
        assert_ne!(
            SourceKind::classify(&r.file),
            SourceKind::Other,
            "{at}: {} is not a member the collector writes",
            r.file
        );
        for f in &r.faults {
            assert!(ids.contains(f.as_str()), "{at}: unknown rule {f}");
            assert_ne!(f, "bundle-incomplete", "{at}: not a log fault");
        }
    }
}

#[test]
fn the_base_node_alone_fires_nothing() {
    let analyzer = Analyzer::new().expect("catalogue");
    let empty = Case {
        id: "base".into(),
        records: Vec::new(),
    };
    let o = outcome(&analyzer, &empty);
    assert!(o.fired.is_empty(), "healthy base fired {:?}", o.fired);
}

#[test]
fn every_case_fires_exactly_its_rules() {
    let all = records();
    let (records, left_out): (Vec<Record>, Vec<Record>) = all
        .into_iter()
        .partition(|r| corpus::unplaceable(r).is_none());
    let analyzer = Analyzer::new().expect("catalogue");
    let outcomes: Vec<Outcome> = corpus::cases(&records)
        .iter()
        .map(|c| outcome(&analyzer, c))
        .collect();
    println!("{}", corpus::summary(&records, &outcomes));
    for r in &left_out {
        println!(
            "LEFT OUT {} ({}): {}",
            r.case,
            r.source,
            corpus::unplaceable(r).unwrap_or_default()
        );
    }
    let wrong: Vec<String> = outcomes
        .iter()
        .filter(|o| o.expected != o.fired)
        .map(|o| {
            format!(
                "{}: missed {:?}, false positives {:?}",
                o.case,
                o.missed(),
                o.false_positives()
            )
        })
        .collect();
    for w in &wrong {
        println!("WRONG {w}");
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
