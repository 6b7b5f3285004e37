//! Arbitrary bytes as a bundle: the reader and every rule behind it must return, never panic,
//! and stay within the limits. Seeds: `fuzz/seeds/` (the shipped samples and fixtures).
#![no_main]

use std::sync::OnceLock;

use eks_remedy_core::{Analyzer, Limits, Options};
use libfuzzer_sys::fuzz_target;

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| Analyzer::new().expect("catalogue compiles"))
}

fuzz_target!(|data: &[u8]| {
    // Small limits so a fuzzer-made "4 GiB member" cannot stall the run; they are what is under test.
    let limits = Limits { max_total_bytes: 8 << 20, max_member_bytes: 1 << 20, max_line_bytes: 4096, max_members: 256, ..Limits::default() };
    let opts = Options { limits, ..Options::default() };
    if let Ok(report) = analyzer().analyze_stream(std::io::Cursor::new(data.to_vec()), "fuzz", "fuzz.tar.gz", &opts) {
        assert!(report.bundle.bytes_read <= limits.max_total_bytes);
        assert!(report.bundle.members_read <= limits.max_members);
    }
});
