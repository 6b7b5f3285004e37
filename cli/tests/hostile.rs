//! Hostile input through the `eks-remedy` binary (issue 7): exit codes, valid and bounded output,
//! no terminal escape or markup from log text. Every input is built here.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::write::GzEncoder;
use flate2::Compression;

const PULL_QPS: &str = "Oct 19 05:13:03 ip-10-0-1-23.ec2.internal kubelet[3214]: E1019 05:13:03.291420    3214 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"api\\\" with ErrImagePull: \\\"pull QPS exceeded\\\"\"\n";

/// Output of any format stays under this (the JSON report is bounded to 1 MiB; escaping may grow it).
const MAX_OUTPUT_BYTES: usize = 8 << 20;

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eks-remedy"))
        .args(args)
        .output()
        .expect("run eks-remedy")
}

fn analyze(bundle: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["analyze".as_ref(), bundle.as_os_str()];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    run(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `.tar.gz` of `(name, data)` members.
fn bundle(dir: &Path, file: &str, members: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join(file);
    let gz = GzEncoder::new(
        std::fs::File::create(&path).expect("create"),
        Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, *data).expect("append");
    }
    tar.into_inner()
        .expect("tar")
        .finish()
        .expect("gz")
        .flush()
        .expect("flush");
    path
}

#[test]
fn out_naming_the_input_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = bundle(
        tmp.path(),
        "b.tar.gz",
        &[("./kubelet/kubelet.log", PULL_QPS.as_bytes())],
    );
    let before = std::fs::read(&input).expect("read");
    std::fs::create_dir(tmp.path().join("sub")).expect("mkdir");
    let mut aliases = vec![
        input.clone(),
        tmp.path().join("sub/../b.tar.gz"),
        tmp.path().join("./b.tar.gz"),
    ];
    #[cfg(unix)]
    {
        let link = tmp.path().join("link.tar.gz");
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        let hard = tmp.path().join("hard.tar.gz");
        std::fs::hard_link(&input, &hard).expect("hard link");
        aliases.extend([link, hard]);
    }
    for out in aliases {
        let o = run(&[
            "analyze".as_ref(),
            input.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}: {}",
            out.display(),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("refusing to overwrite"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&input).expect("read"), before, "input intact");
    }
    // A new file next to it is fine.
    let fresh = tmp.path().join("report.txt");
    let o = run(&[
        "analyze".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        fresh.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn gzip_of_something_else_exits_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("notes.tar.gz");
    let mut gz = GzEncoder::new(
        std::fs::File::create(&path).expect("create"),
        Compression::fast(),
    );
    gz.write_all(&b"not a tar at all\n".repeat(1000))
        .expect("write");
    gz.finish().expect("gz");
    let o = analyze(&path, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a log bundle"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn fifo_input_exits_2_without_blocking() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fifo = tmp.path().join("in.tar.gz");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    // Nobody ever writes to the FIFO: opening it for reading would block forever.
    let o = analyze(&fifo, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn absurd_dmesg_uptime_is_undated_not_fatal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dmesg = b"[9999999999999.5] Killed process 1 (a)\n[inf] Killed process 2 (b)\n[1e30] Killed process 3 (c)\n[-1e30] Killed process 4 (d)\n[NaN] Killed process 5 (e)\n";
    let path = bundle(
        tmp.path(),
        "eks_i-0abc_2026-10-19_0812-UTC_0.7.9.tar.gz",
        &[
            ("./kernel/dmesg.current", dmesg),
            (
                "./kernel/dmesg.human.current",
                b"[Mon Oct 19 05:10:02 2026] Linux version 5.10\n",
            ),
            ("./kubelet/kubelet.log", PULL_QPS.as_bytes()),
        ],
    );
    let o = analyze(&path, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v["findings"].as_array().is_some_and(|f| !f.is_empty()));
}

#[test]
fn limits_are_reported_by_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let big = "Oct 19 05:13:03 ip-1 systemd: filler line\n".repeat(100_000);
    let path = bundle(
        tmp.path(),
        "b.tar.gz",
        &[
            ("./kubelet/kubelet.log", PULL_QPS.as_bytes()),
            ("./var_log/messages", big.as_bytes()),
        ],
    );
    let o = analyze(
        &path,
        &[
            "--format",
            "json",
            "--max-total-bytes",
            "1M",
            "--max-ratio",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["bundle"]["stopped_by"], "max-total-bytes");
    assert!(v["bundle"]["inflated_bytes"].as_u64().expect("n") <= (1 << 20) + (1 << 20));
    assert_eq!(v["bundle"]["limits"]["max_ratio"], 0);
    let bad = analyze(&path, &["--max-ratio", "lots"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn hostile_log_text_reaches_no_terminal_or_document() {
    let tmp = tempfile::tempdir().expect("tmp");
    let evil = "\x1b]0;pwned\x07\x1b[2J\u{9b}31m<img src=x onerror=alert(1)></table><script>alert(2)</script>[x](javascript:alert(3))**b**`";
    let word = "\x1b]0;t\x07<img/src=x/onerror=alert(1)><script>x</script>";
    let kubelet = format!(
        "Oct 19 05:10:40 ip-1 kubelet[1]: I1019 05:10:40.000000 1 server.go:1] \"Kubelet version\" kubeletVersion=\"v1.30{}\"\n{PULL_QPS}Oct 19 05:13:04 ip-1 kubelet[1]: E1019 05:13:04.000000 1 x.go:1] pull QPS exceeded {evil}\n",
        evil.replace('"', "'")
    );
    let ps = format!("root 1 /usr/bin/kubelet --hostname-override={word} --max-pods=110\n");
    let path = bundle(
        tmp.path(),
        "eks_i-0abc_2026-10-19_0812-UTC_0.7.9.tar.gz",
        &[
            ("./kubelet/kubelet.log", kubelet.as_bytes()),
            ("./system/ps.txt", ps.as_bytes()),
            ("./system/instance-id.txt", word.as_bytes()),
        ],
    );
    for format in ["text", "json", "markdown", "html"] {
        for color in ["never", "always"] {
            let o = analyze(&path, &["--format", format, "--color", color]);
            assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
            assert!(o.stdout.len() <= MAX_OUTPUT_BYTES);
            let out = String::from_utf8(o.stdout).expect("utf-8");
            assert!(
                out.contains("pull") || out.contains("image-pull"),
                "{format}"
            );
            let plain = if format == "text" && color == "always" {
                strip_sgr(&out)
            } else {
                out.clone()
            };
            for bad in ['\x1b', '\x07', '\u{9b}'] {
                assert!(!plain.contains(bad), "{format}/{color}: raw {bad:?}");
            }
            if format == "html" {
                assert!(!out.contains("<img") && !out.contains("<script"), "html");
            }
            if format == "json" {
                serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
            }
        }
    }
}

/// Text without the renderer's own colour codes (`ESC [ digits ; m`).
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let n = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        if tail[n..].starts_with('m') {
            rest = &tail[n + 1..];
        } else {
            out.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}
