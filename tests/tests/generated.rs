//! The benchmark's generated bundles: the look-alike variant must be detected exactly like the
//! plain one, or `bench/analyzer.sh` would compare two different analyses.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::io::Read;
use std::path::Path;

use eks_remedy_core::{Analyzer, Options};
use eks_remedy_tests::generate::{write_big_bundle, write_big_bundle_with};

fn findings(path: &Path) -> Vec<(String, u64)> {
    let report = Analyzer::new()
        .unwrap()
        .analyze(path, &Options::default())
        .unwrap();
    let mut f: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.count))
        .collect();
    f.sort();
    f
}

/// How many lines of the bundle's members hold `needle`.
fn lines_with(path: &Path, needle: &str) -> usize {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    let mut n = 0;
    for entry in archive.entries().unwrap() {
        let mut text = String::new();
        if entry.unwrap().read_to_string(&mut text).is_ok() {
            n += text.lines().filter(|l| l.contains(needle)).count();
        }
    }
    n
}

#[test]
fn lookalike_lines_change_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.tar.gz");
    let look = dir.path().join("lookalike.tar.gz");
    write_big_bundle(&plain, 4 << 20, 7).unwrap();
    // 20 % instead of the benchmark's 2 %, so a small bundle has thousands of them.
    write_big_bundle_with(&look, 4 << 20, 7, 200).unwrap();
    assert!(lines_with(&look, "job blocked for more than") > 500);
    assert!(lines_with(&look, "desc = connection error") > 500);
    assert_eq!(lines_with(&plain, "job blocked for more than"), 0);
    let expected = findings(&plain);
    assert!(
        expected.len() >= 4,
        "the plain bundle's faults are found: {expected:?}"
    );
    assert_eq!(findings(&look), expected);
}
