//! Hostile bundles (issue 7): built here, in the test, from a few bytes each. Every case must give a
//! report (or a clean "not a bundle" error), bounded in size, with no escape or markup from log text
//! in any format.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::io::Write;
use std::path::{Path, PathBuf};

use eks_remedy_core::bundle::{MAX_HEADER_EXTENSION_BYTES, PIPE_CHUNK_BYTES};
use eks_remedy_core::render::{render, Format};
use eks_remedy_core::report::{Report, MAX_EVIDENCE_PER_FINDING, MAX_REPORT_JSON_BYTES};
use eks_remedy_core::{Analyzer, BundleError, Limits, Options};
use eks_remedy_tests::{append_file, gzip};
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;

const PULL_QPS: &str = "Oct 19 05:13:03 ip-10-0-1-23.ec2.internal kubelet[3214]: E1019 05:13:03.291420    3214 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"api\\\" with ErrImagePull: \\\"pull QPS exceeded\\\"\"\n";

fn analyze_opts(path: &Path, opts: &Options) -> Result<Report, BundleError> {
    Analyzer::new().expect("catalogue").analyze(path, opts)
}

fn analyze_with(path: &Path, limits: Limits) -> Report {
    analyze_opts(
        path,
        &Options {
            limits,
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn analyze(path: &Path) -> Report {
    analyze_with(path, Limits::default())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

/// A tar built from regular members (helper of the crate) and raw entries written byte for byte.
struct Tar(Vec<u8>);

impl Tar {
    fn new() -> Self {
        Tar(Vec::new())
    }
    fn file(mut self, name: &str, data: &[u8]) -> Self {
        let mut b = tar::Builder::new(Vec::new());
        append_file(&mut b, name, data).expect("append");
        let bytes = b.into_inner().expect("tar");
        // `into_inner` adds the two end blocks; keep only the entry.
        self.0.extend_from_slice(&bytes[..bytes.len() - 1024]);
        self
    }
    /// One entry with a header of `kind` and `data`, as a hostile tool would write it.
    fn raw(mut self, name: &[u8], kind: tar::EntryType, data: &[u8]) -> Self {
        let mut h = tar::Header::new_gnu();
        let n = name.len().min(100);
        h.as_gnu_mut().expect("gnu").name[..n].copy_from_slice(&name[..n]);
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        self.0
            .resize(self.0.len() + (512 - data.len() % 512) % 512, 0);
        self
    }
    fn bytes(mut self) -> Vec<u8> {
        self.0.resize(self.0.len() + 1024, 0);
        self.0
    }
    fn gz(self) -> Vec<u8> {
        gzip(&self.bytes()).expect("gzip")
    }
}

/// Lines whose timestamps no clock can place, in every dated source the analyzer reads.
fn absurd_bundle() -> Vec<u8> {
    let dmesg = "[9999999999999.5] Linux version 5.10\n[inf] Out of memory: Killed process 1 (x)\n\
                 [1e30] Killed process 2 (y)\n[-1e30] Killed process 3 (z)\n[NaN] Killed process 4 (w)\n\
                 [  5.0] Killed process 5 (v)\n";
    let human = "[Tue Nov 20 22:30:22 2018] Linux version 5.10\n[Tue Nov 20 22:30:22 99999] Linux version\n";
    let kubelet = format!(
        "Feb 30 99:99:99 ip-1 kubelet[1]: E1399 99:99:99.999999999999 1 x.go:1] pull QPS exceeded\n{PULL_QPS}"
    );
    let ipamd = "{\"level\":\"error\",\"ts\":\"99999-99-99T99:99:99.999Z\",\"msg\":\"api error RequestLimitExceeded: Request limit exceeded.\"}\n\
                 {\"level\":\"error\",\"ts\":\"0000-01-01T00:00:00-99:99\",\"msg\":\"api error RequestLimitExceeded: Request limit exceeded.\"}\n\
                 {\"level\":\"error\",\"ts\":\"9999-12-31T23:59:60+00:00\",\"msg\":\"api error RequestLimitExceeded: Request limit exceeded.\"}\n";
    let plugin = "{\"level\":\"error\",\"ts\":\"9999-12-31T23:59:59.999999-23:59\",\"msg\":\"rpc error: code = Unavailable desc = connection error: dial tcp 127.0.0.1:50051: connect: connection refused\"}\n";
    let messages = "Dec 31 23:59:59 ip-1 kernel: [1e308] Killed process 9 (q)\n\
                    Dec 31 23:59:59 ip-1 containerd[1]: time=\"0000-01-01T00:00:00Z\" level=error msg=\"failed to setup network for sandbox\"\n";
    Tar::new()
        .file("./kernel/dmesg.current", dmesg.as_bytes())
        .file("./kernel/dmesg.human.current", human.as_bytes())
        .file("./kernel/dmesg.boot", dmesg.as_bytes())
        .file("./kubelet/kubelet.log", kubelet.as_bytes())
        .file("./var_log/messages", messages.as_bytes())
        .file("./var_log/aws-routed-eni/ipamd.log", ipamd.as_bytes())
        .file("./var_log/aws-routed-eni/plugin.log", plugin.as_bytes())
        .file(
            "./system/io_throttling.txt",
            b"PID Name Block IO Delay\n1 (x) 99999999999999999999999999\n2 (y) 1844674407370955161\n",
        )
        .file(
            "./ipamd/metrics.json",
            b"awscni_aws_api_error_count{api=\"A\",error=\"E\"} 1e308\nawscni_aws_api_error_count{api=\"A\",error=\"E\"} 1e308\n",
        )
        .gz()
}

#[test]
fn absurd_timestamps_in_every_dated_source_are_undated_not_fatal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = write(
        tmp.path(),
        "eks_i-0abc_9999-12-31_2359-UTC_0.7.9.tar.gz",
        &absurd_bundle(),
    );
    let r = analyze(&path);
    assert!(r.finding("image-pull-qps-exceeded").is_some());
    for format in [Format::Text, Format::Json, Format::Markdown, Format::Html] {
        assert!(!render(&r, format, true).is_empty());
    }
}

fn dated_line() -> impl Strategy<Value = (usize, String)> {
    let tail = "[ -~]{0,40}";
    (
        0usize..5,
        prop_oneof![
            ("-?[0-9]{0,22}(\\.[0-9]{0,9})?(e[0-9]{1,3})?|inf|NaN", tail)
                .prop_map(|(n, t)| format!("[{n}] Killed process {t}")),
            (
                "[0-9]{1,6}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}",
                tail
            )
                .prop_map(|(ts, t)| format!(
                    "{{\"level\":\"error\",\"ts\":\"{ts}\",\"msg\":\"RequestLimitExceeded {t}\"}}"
                )),
            (
                "(Jan|Feb|Dec) [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
                "[IWEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{0,12}"
            )
                .prop_map(|(j, k)| format!("{j} ip-1 kubelet[1]: {k} 1 x.go:1] pull QPS exceeded")),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn arbitrary_dated_lines_in_every_source_never_fail_the_analysis(lines in proptest::collection::vec(dated_line(), 1..8)) {
        const PATHS: [&str; 5] = [
            "./kernel/dmesg.current",
            "./var_log/aws-routed-eni/ipamd.log",
            "./kubelet/kubelet.log",
            "./var_log/messages",
            "./var_log/aws-routed-eni/plugin.log",
        ];
        let mut tar = Tar::new().file("./kernel/dmesg.human.current", b"[Tue Nov 20 22:30:22 2018] Linux version\n");
        for (i, line) in &lines {
            tar = tar.file(PATHS[*i], format!("{line}\n").as_bytes());
        }
        let tmp = tempfile::tempdir().expect("tmp");
        let r = analyze(&write(tmp.path(), "b.tar.gz", &tar.gz()));
        prop_assert!(serde_json::from_str::<serde_json::Value>(&render(&r, Format::Json, false)).is_ok());
    }
}

#[test]
fn oversized_long_name_and_pax_headers_skip_their_member_and_are_counted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let big = (MAX_HEADER_EXTENSION_BYTES + 1) as usize;
    let mut pax = Vec::new();
    let record_len = big + 20;
    let record = format!("{record_len} path=");
    pax.extend_from_slice(record.as_bytes());
    pax.resize(record_len - 1, b'p');
    pax.push(b'\n');
    let bytes = Tar::new()
        .raw(
            b"././@LongLink",
            tar::EntryType::GNULongName,
            &vec![b'a'; big],
        )
        .raw(
            b"./kubelet/kubelet.log",
            tar::EntryType::Regular,
            PULL_QPS.as_bytes(),
        )
        .raw(b"./PaxHeaders/x", tar::EntryType::XHeader, &pax)
        .raw(
            b"./kubelet/kubelet.log",
            tar::EntryType::Regular,
            PULL_QPS.as_bytes(),
        )
        // A small long name is read and used.
        .raw(
            b"././@LongLink",
            tar::EntryType::GNULongName,
            b"./var_log/messages\0",
        )
        .raw(b"ignored", tar::EntryType::Regular, PULL_QPS.as_bytes())
        .gz();
    let r = analyze(&write(tmp.path(), "b.tar.gz", &bytes));
    assert_eq!(r.bundle.members_skipped.oversized_headers, 2);
    assert_eq!(r.bundle.members_read, 1, "only the member with a sane name");
    let f = r
        .finding("image-pull-qps-exceeded")
        .expect("the member named by the small long name is read");
    assert_eq!(f.evidence[0].file, "var_log/messages");
    assert!(
        r.bundle.inflated_bytes >= 2 * big as u64,
        "skipped bytes count"
    );
}

#[test]
fn small_pax_headers_name_and_size_their_member() {
    let tmp = tempfile::tempdir().expect("tmp");
    let record = |k: &str, v: &str| {
        let body = format!(" {k}={v}\n");
        let mut n = body.len() + 1;
        while n.to_string().len() + body.len() != n {
            n += 1;
        }
        format!("{n}{body}")
    };
    let pax =
        record("path", "./kubelet/kubelet.log") + &record("size", &PULL_QPS.len().to_string());
    let bytes = Tar::new()
        .raw(b"./PaxHeaders/x", tar::EntryType::XHeader, pax.as_bytes())
        .raw(b"short-name", tar::EntryType::Regular, PULL_QPS.as_bytes())
        .gz();
    let r = analyze(&write(tmp.path(), "b.tar.gz", &bytes));
    let f = r
        .finding("image-pull-qps-exceeded")
        .expect("read under its PAX name");
    assert_eq!(f.evidence[0].file, "kubelet/kubelet.log");
    assert_eq!(r.bundle.members_skipped.oversized_headers, 0);
}

#[test]
fn repeated_values_are_bounded_and_the_report_stays_small() {
    // `system/ps.txt` 16 times over, each a wall of kubelet command lines with distinct values.
    let mut ps = String::new();
    for i in 0..20_000 {
        ps.push_str(&format!(
            "root {i} /usr/bin/kubelet --max-pods={i} --hostname-override=custom-host-{i}-\x1b]0;pwn\x07 --node-ip=10.0.0.1\n"
        ));
    }
    let mut tar = Tar::new().file("./kubelet/kubelet.log", PULL_QPS.as_bytes());
    for _ in 0..16 {
        tar = tar.file("./system/ps.txt", ps.as_bytes());
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let r = analyze_opts(
        &write(tmp.path(), "b.tar.gz", &tar.gz()),
        &Options {
            instance_type: Some("m5.large".into()),
            ..Options::default()
        },
    )
    .expect("analyze");
    let json = render(&r, Format::Json, false);
    assert!(json.len() <= MAX_REPORT_JSON_BYTES, "{} bytes", json.len());
    for f in &r.findings {
        assert!(f.evidence.len() <= MAX_EVIDENCE_PER_FINDING, "{}", f.rule);
    }
    let names = r
        .finding("node-name-mismatch")
        .expect("custom names are still reported");
    assert!(names.details["names"].as_array().expect("names").len() <= 16);
    for format in [Format::Text, Format::Markdown, Format::Html] {
        let out = render(&r, format, false);
        assert!(
            out.len() <= 4 * MAX_REPORT_JSON_BYTES,
            "{format:?}: {}",
            out.len()
        );
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{format:?}");
    }
}

#[test]
fn report_bound_to_meets_a_tight_budget() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut r = analyze(&write(tmp.path(), "b.tar.gz", &absurd_bundle()));
    r.findings.iter_mut().for_each(|f| {
        f.summary = "x".repeat(100_000);
        f.evidence = vec![
            f.evidence.first().cloned().unwrap_or_else(|| {
                eks_remedy_core::report::Evidence {
                    file: "f".repeat(10_000),
                    line: None,
                    excerpt: "e".repeat(10_000),
                    timestamp: None,
                }
            });
            1000
        ];
    });
    r.bound_to(64 << 10);
    let json = render(&r, Format::Json, false);
    assert!(json.len() <= 64 << 10, "{}", json.len());
    assert!(r.findings.iter().all(|f| f.evidence_omitted > 0));
}

/// Writes `total` zero bytes in one member, gzipped, without holding them in memory.
fn zero_bomb(path: &Path, member: &str, total: u64) {
    let file = std::fs::File::create(path).expect("create");
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    append_file(&mut tar, "./kubelet/kubelet.log", PULL_QPS.as_bytes()).expect("append");
    // Written raw: `tar::Builder` refuses the unsafe paths a hostile archive may hold.
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().expect("gnu").name[..member.len()].copy_from_slice(member.as_bytes());
    h.set_size(total);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    tar.append(&h, std::io::Read::take(std::io::repeat(0), total))
        .expect("append bomb");
    let gz = tar.into_inner().expect("tar");
    gz.finish().expect("gz").flush().expect("flush");
}

#[test]
fn every_inflated_byte_counts_against_the_total() {
    let tmp = tempfile::tempdir().expect("tmp");
    // The big member has an unsafe path: skipped, yet every byte of it is inflated.
    let path = tmp.path().join("b.tar.gz");
    zero_bomb(&path, "/etc/evil", 32 << 20);
    let limits = Limits {
        max_total_bytes: 1 << 20,
        ..Limits::default()
    };
    let r = analyze_with(&path, limits);
    assert!(r.bundle.inflated_bytes <= (1 << 20) + PIPE_CHUNK_BYTES as u64);
    assert_eq!(r.bundle.stopped_by.as_deref(), Some("max-total-bytes"));
    let inc = r.finding("bundle-incomplete").expect("incomplete");
    assert!(inc.summary.contains("max-total-bytes"), "{}", inc.summary);
    assert_eq!(inc.details["stopped_by"], "max-total-bytes");
    // The rest of a member cut at --max-member-bytes counts too.
    zero_bomb(&path, "./var_log/messages", 32 << 20);
    let limits = Limits {
        max_total_bytes: 2 << 20,
        max_member_bytes: 64 << 10,
        ..Limits::default()
    };
    let r = analyze_with(&path, limits);
    assert!(r.bundle.inflated_bytes <= (2 << 20) + PIPE_CHUNK_BYTES as u64);
    assert_eq!(r.bundle.stopped_by.as_deref(), Some("max-total-bytes"));
}

#[test]
fn gzip_bomb_stops_at_the_ratio_limit() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("bomb.tar.gz");
    zero_bomb(&path, "./var_log/messages", 160 << 20);
    let r = analyze(&path);
    assert_eq!(r.bundle.stopped_by.as_deref(), Some("max-ratio"));
    assert!(r.bundle.inflated_bytes < 160 << 20);
    assert!(
        r.finding("image-pull-qps-exceeded").is_some(),
        "what came before is analysed"
    );
    // With the guard off, the same bundle is read whole.
    let r = analyze_with(
        &path,
        Limits {
            max_ratio: 0,
            ..Limits::default()
        },
    );
    assert_eq!(r.bundle.stopped_by, None);
}

/// A healthy node's iptables-save with its nat table (where the VPC CNI's chains live) past 8 MiB.
fn big_iptables() -> Vec<u8> {
    let mut t = String::from("*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n");
    while t.len() < 9 << 20 {
        t.push_str("-A KUBE-FIREWALL -s 10.0.0.0/8 -p tcp -m comment --comment \"padding rule\" -j ACCEPT\n");
    }
    t.push_str("COMMIT\n*nat\n:AWS-SNAT-CHAIN-0 - [0:0]\n:AWS-CONNMARK-CHAIN-0 - [0:0]\n:KUBE-SERVICES - [0:0]\n-A AWS-SNAT-CHAIN-0 -j RETURN\nCOMMIT\n");
    t.into_bytes()
}

#[test]
fn cut_iptables_save_is_not_a_false_finding() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bytes = Tar::new()
        .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
        .file("./networking/iptables-save.txt", &big_iptables())
        .gz();
    let path = write(tmp.path(), "b.tar.gz", &bytes);
    let r = analyze(&path);
    assert!(
        r.finding("iptables-rules-flushed").is_none(),
        "a 9 MB healthy iptables-save is parsed whole, streaming"
    );
    // Cut by a reader limit: the rule says why it cannot decide instead of concluding.
    let r = analyze_with(
        &path,
        Limits {
            max_member_bytes: 1 << 20,
            ..Limits::default()
        },
    );
    assert!(r.finding("iptables-rules-flushed").is_none());
    let skipped = r
        .skipped_checks
        .iter()
        .find(|s| s.rule == "iptables-rules-flushed")
        .expect("skipped");
    assert!(
        skipped.reason.contains("networking/iptables-save.txt"),
        "{}",
        skipped.reason
    );
}

#[test]
fn oversized_json_config_is_reported_not_concluded_from() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut env = String::from("{\"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG\":\"true\",\"PAD\":\"");
    env.push_str(&"x".repeat(9 << 20));
    env.push_str("\"}");
    let bytes = Tar::new()
        .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
        .file(
            "./kubelet/kubelet-config.json",
            b"{\n  \"maxPods\": 110\n}\n",
        )
        .file("./ipamd/ipamd-env-settings.json", env.as_bytes())
        .gz();
    let r = analyze_opts(
        &write(tmp.path(), "b.tar.gz", &bytes),
        &Options {
            instance_type: Some("t3.small".into()),
            ..Options::default()
        },
    )
    .expect("analyze");
    assert!(r.finding("max-pods-exceeds-ip-capacity").is_none());
    let s = r
        .skipped_checks
        .iter()
        .find(|s| s.rule == "max-pods-exceeds-ip-capacity")
        .expect("skipped");
    assert!(
        s.reason.contains("ipamd/ipamd-env-settings.json"),
        "{}",
        s.reason
    );
}

#[test]
fn gzip_of_something_else_is_not_a_bundle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = write(
        tmp.path(),
        "x.tar.gz",
        &gzip(&b"just some text, no tar\n".repeat(100)).expect("gz"),
    );
    let e = analyze_opts(&path, &Options::default()).expect_err("not a bundle");
    assert!(matches!(e, BundleError::NotABundle { .. }), "{e}");
}

#[cfg(unix)]
#[test]
fn fifo_input_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fifo = tmp.path().join("in.tar.gz");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(ok.success());
    let e = analyze_opts(&fifo, &Options::default()).expect_err("refused");
    assert!(matches!(e, BundleError::NotABundle { .. }), "{e}");
}

/// Hostile text: terminal escapes (OSC title, clear screen, C1 CSI, BEL), HTML, Markdown emphasis,
/// links and backticks.
const EVIL: &str = "\x1b]0;pwned\x07\x1b[2J\u{9b}31m<img src=x onerror=alert(1)></table><script>alert(2)</script>[click](javascript:alert(3))**bold**_em_``tick`";

/// Markdown with code spans removed (CommonMark: a run of N backticks closes at the next run of N).
fn outside_code_spans(md: &str) -> String {
    let b = md.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii_punctuation() {
            // A backslash escape outside code: the next character is literal (also a backtick) and
            // has no Markdown meaning; it is replaced so the checks below see only live syntax.
            out.push_str("\\lit");
            i += 2;
        } else if b[i] == b'`' {
            let n = b[i..].iter().take_while(|&&c| c == b'`').count();
            let fence = "`".repeat(n);
            let mut j = i + n;
            let mut closed = None;
            while let Some(k) = md[j..].find(&fence) {
                let at = j + k;
                let run = b[at..].iter().take_while(|&&c| c == b'`').count();
                if run == n {
                    closed = Some(at + n);
                    break;
                }
                j = at + run;
            }
            match closed {
                Some(end) => {
                    out.push_str(" CODE ");
                    i = end;
                }
                None => {
                    out.push_str(&fence);
                    i += n;
                }
            }
        } else {
            let c = md[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Text with the renderer's own SGR colour codes (`ESC [ digits ; m`) removed.
fn without_our_colours(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let params = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        if tail[params..].starts_with('m') {
            rest = &tail[params + 1..];
        } else {
            out.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn no_escapes(out: &str, what: &str) {
    for bad in ['\x1b', '\x07', '\u{9b}'] {
        assert!(!out.contains(bad), "{what}: raw {bad:?} survived");
    }
}

#[test]
fn hostile_text_is_escaped_in_every_field_of_every_format() {
    let tmp = tempfile::tempdir().expect("tmp");
    // One "word" (no whitespace, short) for files read word by word.
    let word = "\x1b]0;t\x07<img/src=x/onerror=alert(1)><script>x</script>**b**";
    let version = format!("v1.30{}", EVIL.replace('"', "'"));
    let kubelet = format!(
        "Oct 19 05:10:40 ip-1 kubelet[1]: I1019 05:10:40.000000 1 server.go:1] \"Kubelet version\" kubeletVersion=\"{version}\"\n{PULL_QPS}Oct 19 05:13:04 ip-1 kubelet[1]: E1019 05:13:04.000000 1 x.go:1] pull QPS exceeded {EVIL}\n"
    );
    let ps = format!("root 1 /usr/bin/kubelet --hostname-override={word} --max-pods=110\n");
    let name = format!("./var_log/containers/{}.log", EVIL.replace('/', "∕"));
    let bytes = Tar::new()
        .file("./kubelet/kubelet.log", kubelet.as_bytes())
        .file("./system/ps.txt", ps.as_bytes())
        // A full timestamp, so year-less kubelet lines (and the timeline) can be placed.
        .file(
            "./var_log/aws-routed-eni/ipamd.log",
            b"{\"level\":\"error\",\"ts\":\"2026-10-19T05:11:09.877Z\",\"msg\":\"api error RequestLimitExceeded: Request limit exceeded.\"}\n",
        )
        .file("./system/instance-id.txt", word.as_bytes())
        .file("./system/region.txt", word.as_bytes())
        .file("./system/availability-zone.txt", word.as_bytes())
        .file(&name, format!("{EVIL}\n").as_bytes())
        .file(
            "./ipamd/ipamd-env-settings.json",
            format!("{{\"X\":{}}}", serde_json::to_string(EVIL).expect("json")).as_bytes(),
        )
        .gz();
    let file_name = format!("{}.tar.gz", EVIL.replace('/', "∕"));
    let path = write(tmp.path(), &file_name, &bytes);
    let r = analyze_opts(
        &path,
        &Options {
            // The flag's value reaches a skipped-check reason (unknown instance type).
            instance_type: Some(format!("x9{word}")),
            ..Options::default()
        },
    )
    .expect("analyze");
    // The hostile text did reach the report's fields.
    assert!(r.bundle.source.contains("<img"));
    assert!(r
        .bundle
        .instance_id
        .as_deref()
        .is_some_and(|i| i.contains("<script>")));
    assert!(r
        .bundle
        .kubelet_version
        .as_deref()
        .is_some_and(|v| v.contains('\x1b')));
    assert!(r.timeline.iter().any(|e| e.label.contains("<img")));
    assert!(r
        .skipped_checks
        .iter()
        .any(|s| s.reason.contains("<script>")));
    assert!(r
        .finding("node-name-mismatch")
        .is_some_and(|f| f.summary.contains("<img")));

    let text = render(&r, Format::Text, false);
    no_escapes(&text, "text");
    let colour = render(&r, Format::Text, true);
    no_escapes(&without_our_colours(&colour), "coloured text");

    let json = render(&r, Format::Json, false);
    no_escapes(&json, "json");
    let back: Report = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(
        back.bundle.source, r.bundle.source,
        "JSON keeps the text, escaped"
    );

    let md = render(&r, Format::Markdown, false);
    no_escapes(&md, "markdown");
    let prose = outside_code_spans(&md);
    for bad in [
        "<img",
        "<script",
        "</table>",
        "](javascript:",
        "**bold**",
        "_em_",
        "\x1b",
    ] {
        assert!(
            !prose.contains(bad),
            "markdown: {bad:?} outside code spans:\n{prose}"
        );
    }

    let html = render(&r, Format::Html, false);
    no_escapes(&html, "html");
    for bad in [
        "<img",
        "<script",
        "</table><script",
        "javascript:alert(3)\"",
    ] {
        assert!(!html.contains(bad), "html: {bad:?} survived");
    }
}
