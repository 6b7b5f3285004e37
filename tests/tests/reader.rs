//! The bundle reader on real archives: every input form, damage, every limit, unsafe members, and
//! arbitrary bytes (property tests). Archives are built here byte for byte where `tar` would refuse.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::io::Write;
use std::path::{Path, PathBuf};

use eks_remedy_core::report::Report;
use eks_remedy_core::{Analyzer, BundleError, Limits, Options};
use eks_remedy_tests::{append_file, gzip};
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;

const PULL_QPS: &str = "Oct 19 05:13:03 ip-10-0-1-23.ec2.internal kubelet[3214]: E1019 05:13:03.291420    3214 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"api\\\" with ErrImagePull: \\\"pull QPS exceeded\\\"\"\n";
const THROTTLED: &str = "{\"level\":\"error\",\"ts\":\"2026-10-19T05:11:09.877Z\",\"msg\":\"Failed to allocate a private IP/Prefix addresses on ENI eni-1: operation error EC2: AssignPrivateIpAddresses, https response error StatusCode: 503, api error RequestLimitExceeded: Request limit exceeded.\"}\n";

fn analyze_with(path: &Path, limits: Limits) -> Result<Report, BundleError> {
    Analyzer::new().expect("catalogue").analyze(
        path,
        &Options {
            limits,
            ..Options::default()
        },
    )
}

fn analyze(path: &Path) -> Report {
    analyze_with(path, Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn rules(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

/// Builds archives member by member.
struct Archive {
    tar: tar::Builder<Vec<u8>>,
}

impl Archive {
    fn new() -> Self {
        Archive {
            tar: tar::Builder::new(Vec::new()),
        }
    }
    fn file(mut self, name: &str, data: &[u8]) -> Self {
        append_file(&mut self.tar, name, data).expect("append");
        self
    }
    /// A header written as given: names and types `tar::Builder` would refuse.
    fn raw(mut self, name: &[u8], kind: tar::EntryType, link: Option<&[u8]>, data: &[u8]) -> Self {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
        if let Some(l) = link {
            h.as_gnu_mut().expect("gnu").linkname[..l.len()].copy_from_slice(l);
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        self.tar.append(&h, data).expect("append raw");
        self
    }
    fn tar_bytes(self) -> Vec<u8> {
        self.tar.into_inner().expect("finish")
    }
    fn gz_bytes(self) -> Vec<u8> {
        gzip(&self.tar_bytes()).expect("gzip")
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn plain_tar_is_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = write(
        tmp.path(),
        "bundle.tar",
        &Archive::new()
            .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
            .tar_bytes(),
    );
    assert_eq!(rules(&analyze(&p)), ["image-pull-qps-exceeded"]);
}

#[test]
fn rotated_gz_members_are_read_as_part_of_the_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rotated = gzip(THROTTLED.as_bytes()).expect("gz");
    let current = b"{\"level\":\"info\",\"msg\":\"ok\"}\n";
    let bytes = Archive::new()
        .file("./var_log/aws-routed-eni/ipamd.log", current)
        .file(
            "./var_log/aws-routed-eni/ipamd-2026-10-19T05-12-40.512.log.gz",
            &rotated,
        )
        .gz_bytes();
    let r = analyze(&write(tmp.path(), "b.tar.gz", &bytes));
    let f = r
        .finding("ec2-api-throttling")
        .expect("found inside the rotated log");
    assert_eq!(
        f.evidence[0].file,
        "var_log/aws-routed-eni/ipamd-2026-10-19T05-12-40.512.log.gz"
    );
    assert_eq!(f.evidence[0].line, Some(1));
    assert_eq!(
        r.bundle.bytes_read as usize,
        current.len() + THROTTLED.len(),
        "bytes are counted inflated"
    );
}

#[test]
fn corrupt_rotated_member_is_reported_and_the_rest_is_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut bad = gzip(THROTTLED.as_bytes()).expect("gz");
    let mid = bad.len() / 2;
    bad[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
    let bytes = Archive::new()
        .file("./var_log/aws-routed-eni/ipamd-old.log.gz", &bad)
        .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
        .gz_bytes();
    let r = analyze(&write(tmp.path(), "b.tar.gz", &bytes));
    assert!(
        r.finding("image-pull-qps-exceeded").is_some(),
        "members after the damage are read"
    );
    let inc = r.finding("bundle-incomplete").expect("damage reported");
    assert_eq!(inc.details["stopped"], false);
    assert_eq!(
        inc.evidence[0].file,
        "var_log/aws-routed-eni/ipamd-old.log.gz"
    );
}

#[test]
fn truncated_archive_is_analysed_up_to_the_damage() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut noise = Vec::new();
    let mut x = 1u64;
    while noise.len() < 400_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        writeln!(noise, "Oct 19 05:20:00 ip-10-0-1-23 systemd: noise {x:x}").expect("write");
    }
    let full = Archive::new()
        .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
        .file("./var_log/messages", &noise)
        .gz_bytes();
    let cut = &full[..full.len() * 2 / 3];
    let r = analyze(&write(tmp.path(), "b.tar.gz", cut));
    assert!(
        r.finding("image-pull-qps-exceeded").is_some(),
        "the fault before the damage is still found"
    );
    let inc = r.finding("bundle-incomplete").expect("incomplete");
    assert_eq!(inc.details["stopped"], true);
    assert!(
        inc.summary.contains("var_log/messages"),
        "says where: {}",
        inc.summary
    );
    assert!(inc.summary.contains("truncated"), "{}", inc.summary);
}

#[test]
fn corrupt_archive_never_panics_and_reports_damage() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut bytes = Archive::new()
        .file("./kubelet/kubelet.log", PULL_QPS.repeat(200).as_bytes())
        .gz_bytes();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 16].iter_mut().for_each(|b| *b = !*b);
    let r = analyze_with(&write(tmp.path(), "b.tar.gz", &bytes), Limits::default());
    match r {
        Ok(r) => assert!(r.finding("bundle-incomplete").is_some()),
        Err(e) => assert!(matches!(e, BundleError::NoKnownMembers { .. }), "{e}"),
    }
}

#[test]
fn links_devices_and_unsafe_paths_are_skipped_and_counted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bytes = Archive::new()
        .file("./kubelet/kubelet.log", b"ok\n")
        .raw(
            b"./var_log/messages",
            tar::EntryType::Symlink,
            Some(b"/etc/passwd"),
            b"",
        )
        .raw(
            b"./var_log/syslog",
            tar::EntryType::Link,
            Some(b"./kubelet/kubelet.log"),
            b"",
        )
        .raw(b"./dev/null", tar::EntryType::Char, None, b"")
        .raw(b"./fifo", tar::EntryType::Fifo, None, b"")
        .raw(
            b"/etc/cron.d/evil",
            tar::EntryType::Regular,
            None,
            PULL_QPS.as_bytes(),
        )
        .raw(
            b"./../../kubelet/kubelet.log",
            tar::EntryType::Regular,
            None,
            PULL_QPS.as_bytes(),
        )
        .gz_bytes();
    let r = analyze(&write(tmp.path(), "b.tar.gz", &bytes));
    let s = &r.bundle.members_skipped;
    assert_eq!(
        (s.symlinks, s.hard_links, s.special, s.unsafe_paths),
        (1, 1, 2, 2)
    );
    assert!(
        r.findings.is_empty(),
        "nothing from skipped members was read: {:?}",
        rules(&r)
    );
    assert_eq!(r.bundle.members_read, 1);
}

#[cfg(unix)]
#[test]
fn folder_symlinks_are_not_followed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let outside = tmp.path().join("outside.log");
    std::fs::write(&outside, PULL_QPS).expect("write");
    let root = tmp.path().join("bundle");
    std::fs::create_dir_all(root.join("kubelet")).expect("mkdir");
    std::fs::write(root.join("kubelet/kubelet_service.txt"), "[Service]\n").expect("write");
    std::os::unix::fs::symlink(&outside, root.join("kubelet/kubelet.log")).expect("symlink");
    let r = analyze(&root);
    assert_eq!(r.bundle.members_skipped.symlinks, 1);
    assert!(r.findings.is_empty());
}

#[test]
fn total_byte_limit_stops_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bytes = Archive::new()
        .file("./kubelet/kubelet.log", PULL_QPS.repeat(100).as_bytes())
        .file("./var_log/aws-routed-eni/ipamd.log", THROTTLED.as_bytes())
        .gz_bytes();
    let limits = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    let r = analyze_with(&write(tmp.path(), "b.tar.gz", &bytes), limits).expect("analyze");
    assert!(r.bundle.bytes_read <= 1000);
    assert!(
        r.finding("ec2-api-throttling").is_none(),
        "the member past the limit is not read"
    );
    let inc = r.finding("bundle-incomplete").expect("incomplete");
    assert!(inc.summary.contains("total byte limit"), "{}", inc.summary);
}

#[test]
fn member_byte_limit_cuts_one_member_and_reads_the_next() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut big = "x\n".repeat(10_000);
    big.push_str(PULL_QPS);
    let bytes = Archive::new()
        .file("./kubelet/kubelet.log", big.as_bytes())
        .file("./var_log/aws-routed-eni/ipamd.log", THROTTLED.as_bytes())
        .gz_bytes();
    let limits = Limits {
        max_member_bytes: 4096,
        ..Limits::default()
    };
    let r = analyze_with(&write(tmp.path(), "b.tar.gz", &bytes), limits).expect("analyze");
    assert_eq!(r.bundle.members_truncated, ["kubelet/kubelet.log"]);
    assert!(
        r.finding("image-pull-qps-exceeded").is_none(),
        "the fault sat past the member limit"
    );
    assert!(
        r.finding("ec2-api-throttling").is_some(),
        "the next member is read"
    );
}

#[test]
fn member_count_limit_stops_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut a = Archive::new();
    for i in 0..10 {
        a = a.file(
            &format!("./var_log/containers/c{i}.log"),
            b"2026-10-19T05:10:00Z stdout F hi\n",
        );
    }
    let bytes = a
        .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
        .gz_bytes();
    let limits = Limits {
        max_members: 5,
        ..Limits::default()
    };
    let r = analyze_with(&write(tmp.path(), "b.tar.gz", &bytes), limits).expect("analyze");
    assert_eq!(r.bundle.members_read, 5);
    assert_eq!(r.bundle.members_skipped.over_member_limit, 6);
    assert!(r
        .finding("bundle-incomplete")
        .expect("incomplete")
        .summary
        .contains("member limit"));
}

#[test]
fn long_lines_are_cut_not_buffered() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A 5 MiB line with the fault text at its end, then a normal faulty line.
    let mut log = "A".repeat(5 << 20);
    log.push_str(" pull QPS exceeded\n");
    log.push_str(PULL_QPS);
    let bytes = Archive::new()
        .file("./kubelet/kubelet.log", log.as_bytes())
        .gz_bytes();
    let limits = Limits {
        max_line_bytes: 4096,
        ..Limits::default()
    };
    let r = analyze_with(&write(tmp.path(), "b.tar.gz", &bytes), limits).expect("analyze");
    assert_eq!(r.bundle.lines_cut, 1);
    let f = r
        .finding("image-pull-qps-exceeded")
        .expect("the normal line is still found");
    assert_eq!(f.count, 1, "text past the cut is not searched");
    assert_eq!(
        f.evidence[0].line,
        Some(2),
        "line numbers stay right after a cut line"
    );
}

#[test]
fn non_utf8_and_crlf_lines_are_tolerated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut log = b"\xff\xfe garbage \x00\x01\r\n".to_vec();
    log.extend_from_slice(PULL_QPS.trim_end().as_bytes());
    log.extend_from_slice(b" \xc3\x28\r\n");
    let bytes = Archive::new()
        .file("./kubelet/kubelet.log", &log)
        .gz_bytes();
    let r = analyze(&write(tmp.path(), "b.tar.gz", &bytes));
    let f = r.finding("image-pull-qps-exceeded").expect("found");
    assert!(f.evidence[0].excerpt.contains('\u{fffd}'));
    assert!(!f.evidence[0].excerpt.ends_with('\r'));
}

#[test]
fn unusable_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = analyze_with(&tmp.path().join("nope.tar.gz"), Limits::default());
    assert!(matches!(missing, Err(BundleError::Open { .. })));
    let text = write(tmp.path(), "notes.txt", b"hello, this is not a bundle\n");
    let e = analyze_with(&text, Limits::default()).expect_err("error");
    assert!(e.to_string().contains("is not a log bundle"), "{e}");
    let foreign = write(
        tmp.path(),
        "other.tar.gz",
        &Archive::new()
            .file("./src/main.rs", b"fn main() {}\n")
            .gz_bytes(),
    );
    let e = analyze_with(&foreign, Limits::default()).expect_err("error");
    assert!(e.to_string().contains("no EKS Logs Collector files"), "{e}");
    let empty = write(tmp.path(), "empty.tar.gz", b"");
    assert!(matches!(
        analyze_with(&empty, Limits::default()),
        Err(BundleError::NotABundle { .. })
    ));
}

#[test]
fn multi_member_gzip_is_read_whole() {
    // `cat a.tar.gz b.gz` style concatenation: gzip says the stream continues.
    let tmp = tempfile::tempdir().expect("tmp");
    let tar = Archive::new()
        .file("./kubelet/kubelet.log", PULL_QPS.as_bytes())
        .tar_bytes();
    let (a, b) = tar.split_at(700);
    let mut bytes = gzip(a).expect("gz");
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(b).expect("write");
    bytes.extend(enc.finish().expect("finish"));
    assert!(analyze(&write(tmp.path(), "b.tar.gz", &bytes))
        .finding("image-pull-qps-exceeded")
        .is_some());
}

fn valid_archive() -> Vec<u8> {
    Archive::new()
        .file("./kubelet/kubelet.log", PULL_QPS.repeat(3).as_bytes())
        .file(
            "./var_log/aws-routed-eni/ipamd-1.log.gz",
            &gzip(THROTTLED.as_bytes()).expect("gz"),
        )
        .file(
            "./system/io_throttling.txt",
            b"PID Name Block IO Delay (centisconds)\n3127 (containerd) 4521\n",
        )
        .gz_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn reader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096), gz_header in any::<bool>()) {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut data = if gz_header { vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] } else { Vec::new() };
        data.extend(bytes);
        let _ = analyze_with(&write(tmp.path(), "b.tar.gz", &data), Limits::default());
    }

    #[test]
    fn reader_never_panics_on_mutated_archives(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut data = valid_archive();
        for (i, v) in flips {
            let at = i.index(data.len());
            data[at] ^= v;
        }
        let keep = cut.index(data.len() + 1).max(1);
        data.truncate(keep);
        let _ = analyze_with(&write(tmp.path(), "b.tar.gz", &data), Limits::default());
    }

    #[test]
    fn reader_never_panics_on_arbitrary_tar_members(content in proptest::collection::vec(any::<u8>(), 0..2048), which in 0usize..6) {
        let tmp = tempfile::tempdir().expect("tmp");
        let names = ["./kubelet/kubelet.log", "./system/io_throttling.txt", "./ipamd/metrics.json", "./cni/cni-configuration-variables-containerd.json", "./var_log/aws-routed-eni/ipamd-x.log.gz", "./networking/iptables-save.txt"];
        let data = Archive::new().file(names[which], &content).gz_bytes();
        let r = analyze_with(&write(tmp.path(), "b.tar.gz", &data), Limits::default());
        prop_assert!(r.is_ok());
    }
}

#[test]
fn streams_are_read_like_files() {
    // The pipeline streams S3 object bodies: same result as the file, without a path.
    let bytes = valid_archive();
    let analyzer = Analyzer::new().expect("catalogue");
    let r = analyzer
        .analyze_stream(
            std::io::Cursor::new(bytes),
            "s3://bucket/bundles/c/i-1/inc/b.tar.gz",
            "eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz",
            &Options::default(),
        )
        .expect("analyze");
    assert_eq!(r.bundle.source, "s3://bucket/bundles/c/i-1/inc/b.tar.gz");
    assert_eq!(r.bundle.collector_version.as_deref(), Some("0.7.9"));
    let mut fired = rules(&r);
    fired.sort_unstable();
    assert_eq!(
        fired,
        [
            "ebs-io-throttling",
            "ec2-api-throttling",
            "image-pull-qps-exceeded"
        ]
    );
    let short = analyzer.analyze_stream(
        std::io::Cursor::new(b"{}".to_vec()),
        "s3://b/k",
        "k",
        &Options::default(),
    );
    assert!(matches!(short, Err(BundleError::NotABundle { .. })));
}
