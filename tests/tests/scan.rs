//! The scanner against the real catalogue: what the whole-buffer literal search may skip and what
//! it must not.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::io::{self, BufRead};

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

/// Hands out `data` in buffers of `size` bytes, as a reader whose buffers end mid-line does.
struct Chunked<'a> {
    data: &'a [u8],
    size: usize,
}

impl io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.size).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.data[..self.size.min(self.data.len())])
    }

    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
    }
}

/// A signature's count, the line numbers of its first samples and of its last one.
type SigLines = (u64, Vec<u64>, Option<u64>);

/// [`SigLines`] per signature, and lines cut.
fn scanned(log: &[u8], size: usize, max_line: usize) -> (Vec<SigLines>, u64) {
    let rules = eks_remedy_core::rules::all();
    let engine = Engine::new(&rules).unwrap();
    let mut scanner = Scanner::new(&engine, max_line);
    scanner
        .member("var_log/messages", &mut Chunked { data: log, size })
        .unwrap();
    let (counted, _, cut) = scanner.finish();
    let per_sig = counted
        .rules
        .iter()
        .flat_map(|r| r.values())
        .chain(counted.markers.values())
        .map(|o| {
            let first = o.first_samples.iter().map(|s| s.line).collect();
            (o.count, first, o.last_sample.as_ref().map(|s| s.line))
        })
        .collect();
    (per_sig, cut)
}

#[test]
fn buffers_ending_mid_line_change_nothing() {
    let mut log = Vec::new();
    for i in 0..40 {
        log.extend_from_slice(b"Oct 19 05:10:00 ip-1 systemd[1]: Started session of user root.\n");
        if i % 3 == 0 {
            log.extend_from_slice(
                b"Oct 19 05:10:02 ip-1 kernel: nf_conntrack: table full, dropping packet\n",
            );
        }
        if i % 7 == 0 {
            log.extend_from_slice(b"Oct 19 05:10:03 ip-1 kernel: INFO: task containerd:3127 blocked for more than 122 seconds.\n");
        }
    }
    log.extend_from_slice(
        b"Oct 19 05:10:04 ip-1 kernel: nf_conntrack: table full, dropping packet",
    );
    let whole = scanned(&log, log.len(), 1 << 16);
    assert!(whole.0.iter().any(|(n, ..)| *n > 0));
    for size in [1, 2, 7, 64, 100, 4096] {
        assert_eq!(
            scanned(&log, size, 1 << 16),
            whole,
            "buffers of {size} bytes"
        );
    }
}

/// A line is cut when it is still unfinished at the end of a buffer past the limit (a line
/// wholly inside one buffer is already in memory and is searched whole).
#[test]
fn a_line_past_the_limit_across_buffers_is_cut_wherever_they_end() {
    let mut log =
        b"Oct 19 05:10:02 ip-1 kernel: nf_conntrack: table full, dropping packet\n".to_vec();
    log.extend_from_slice(&[b'A'; 1000]);
    // Past the 100-byte limit: not searched.
    log.extend_from_slice(b" nf_conntrack: table full, dropping packet\n");
    log.extend_from_slice(
        b"Oct 19 05:10:03 ip-1 kernel: nf_conntrack: table full, dropping packet\n",
    );
    for size in [1, 7, 64, 99, 100, 101, 512] {
        let (sigs, cut) = scanned(&log, size, 100);
        assert_eq!(cut, 1, "buffers of {size} bytes");
        assert!(
            sigs.contains(&(2, vec![1, 3], None)),
            "buffers of {size} bytes: {sigs:?}"
        );
    }
}
