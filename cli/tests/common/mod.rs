//! What the CLI's black-box tests share: the shipped incident sample and running the binary from the
//! repository root.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shipped Monday scale-up sample, relative to the repository root.
pub const INCIDENT: &str = "samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz";

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `eks-remedy` with `args` from the repository root.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eks-remedy"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run eks-remedy")
}

/// Standard output, which must be UTF-8.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

/// Standard error, lossily.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
