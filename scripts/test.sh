#!/usr/bin/env bash
# Installs what the tests need and runs every test. This is the README's test command; CI runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "needs a Rust toolchain (https://rustup.rs)" >&2; exit 2; }
# Snapshots are compared, never rewritten, under CI.
export INSTA_UPDATE=${INSTA_UPDATE:-no}
cargo test --workspace --locked "$@"
