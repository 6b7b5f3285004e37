//! Test support for eks-remedy: packs fixture trees into bundles the way the EKS Logs Collector does,
//! and generates large realistic bundles for benchmarks and reader-limit tests.
//!
//! Fixture trees live in `tests/fixtures/` (`rules/<id>/{hit,miss}/`, `bundles/<name>/`); they are
//! readable text, and archives are made from them on demand so tests cover the archive paths too.

pub mod corpus;
pub mod generate;
pub mod moto;
pub mod runtime_api;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// Environment variable that `scripts/test.sh` sets to tag every process of one test run, so that it
/// can find, and fail on, any helper process that outlives the run.
pub const RUN_MARKER: &str = "EKS_REMEDY_TEST_RUN";

/// Carries the run marker into a child started with `env_clear()`: without it, a leaked function
/// process would be invisible to the run's leftover check.
pub fn keep_run_marker(cmd: &mut std::process::Command) {
    if let Some(v) = std::env::var_os(RUN_MARKER) {
        cmd.env(RUN_MARKER, v);
    }
}

/// Runs a function binary without its configuration: it must fail at once, name the missing
/// setting, and not panic. Each function crate calls this from its own test, which is also what
/// makes `cargo test --workspace` build every function binary.
pub fn assert_missing_configuration_is_reported(bin: &str) {
    let out = std::process::Command::new(bin)
        .env_clear()
        // No instance-metadata lookups (nothing in tests leaves loopback), and a region to load with.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .unwrap_or_else(|e| panic!("run {bin}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{bin} started without configuration");
    assert!(stderr.contains("is not set"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Member paths as the collector writes them: `./kubelet/kubelet.log`, or under one leading folder.
fn member_name(rel: &Path, leading: Option<&str>) -> String {
    let rel = rel.to_string_lossy().replace('\\', "/");
    match leading {
        Some(l) => format!("{l}/{rel}"),
        None => format!("./{rel}"),
    }
}

fn files_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Appends one regular file with fixed metadata, so archives are reproducible.
pub fn append_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, data: &[u8]) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_760_861_520); // 2025-10-19T08:12:00Z
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, name, data)
}

/// Packs `dir` into a gzip tar at `out`. Files named `*.gz` in the tree are gzipped on the way in
/// from their plain text (`x.log.gz` holds text in the tree, as the reader would see it inflated).
pub fn pack_dir(dir: &Path, out: &Path, leading: Option<&str>) -> io::Result<()> {
    let gz = GzEncoder::new(File::create(out)?, Compression::default());
    let mut tar = tar::Builder::new(gz);
    for path in files_under(dir)? {
        let rel = path.strip_prefix(dir).map_err(io::Error::other)?;
        let mut data = std::fs::read(&path)?;
        if rel.extension().is_some_and(|e| e == "gz") {
            data = gzip(&data)?;
        }
        append_file(&mut tar, &member_name(rel, leading), &data)?;
    }
    tar.into_inner()?.finish()?.sync_all()
}

/// Gzips `data`.
pub fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data)?;
    e.finish()
}

/// A temporary archive packed from a fixture tree (deleted on drop).
pub struct Packed {
    _dir: tempfile::TempDir,
    /// The archive.
    pub path: PathBuf,
}

/// Packs `dir` into a temporary `eks_..._0.7.9.tar.gz` (the collector's name, so the collection time
/// is read the same as for real bundles).
pub fn pack_temp(dir: &Path, leading: Option<&str>) -> io::Result<Packed> {
    let tmp = tempfile::TempDir::new()?;
    let path = tmp
        .path()
        .join("eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz");
    pack_dir(dir, &path, leading)?;
    Ok(Packed { _dir: tmp, path })
}
