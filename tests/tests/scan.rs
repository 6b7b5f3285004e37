//! The scanner against the real catalogue: what the whole-buffer literal search may skip and what
//! it must not.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use eks_remedy_core::bundle::MemberSink;
use eks_remedy_core::scan::{Counted, Engine, Scanner};

fn counts(log: &[u8], path: &str) -> Counted {
    let rules = eks_remedy_core::rules::all();
    let engine = Engine::new(&rules).unwrap();
    let mut scanner = Scanner::new(&engine, 1 << 16);
    scanner.member(path, &mut &log[..]).unwrap();
    scanner.finish().0
}

fn count(c: &Counted, rule: &str, sig: &str) -> u64 {
    let i = eks_remedy_core::rules::ids()
        .iter()
        .position(|id| *id == rule)
        .unwrap();
    c.rules[i].get(sig).map_or(0, |o| o.count)
}

/// The buffer search stops at a line's leftmost literal only; a signature whose literal comes
/// later in the same line must still be counted.
#[test]
fn a_later_literal_on_a_candidate_line_is_counted() {
    let log = b"Oct 19 05:10:00 ip-1 kubelet[1]: I1019 05:10:00.000000 1 x.go:1] re-register: PLEG is not healthy: pleg was last seen active 3m0s ago\n\
                Oct 19 05:10:01 ip-1 kubelet[1]: I1019 05:10:01.000000 1 x.go:1] PLEG is not healthy: pleg was last seen active 3m1s ago";
    let c = counts(log, "kubelet/kubelet.log");
    assert_eq!(count(&c, "pleg-unhealthy", "pleg"), 2);
}

/// Look-alikes stop the buffer search but are not counted; the line numbers of later hits
/// still count every line.
#[test]
fn look_alike_lines_are_skipped_and_lines_still_numbered() {
    let log = b"Oct 19 05:10:00 ip-1 systemd[1]: job blocked for more than 30s waiting on a lock\n\
                plain line\n\
                Oct 19 05:10:02 ip-1 kernel: nf_conntrack: table full, dropping packet\n";
    let c = counts(log, "var_log/messages");
    assert_eq!(count(&c, "ebs-io-throttling", "hung-task"), 0);
    let hits = &c.rules[eks_remedy_core::rules::ids()
        .iter()
        .position(|id| *id == "conntrack-table-full")
        .unwrap()]["table-full"];
    assert_eq!(hits.count, 1);
    assert_eq!(hits.first_samples.first().map(|s| s.line), Some(3));
}
