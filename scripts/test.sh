#!/usr/bin/env bash
# Installs what the tests need and runs every test. This is the README's test command; CI runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "needs a Rust toolchain (https://rustup.rs)" >&2; exit 2; }
# moto (AWS API tests) and friends live in .venv; the Rust tests start moto themselves.
scripts/setup.sh
# Snapshots are compared, never rewritten, under CI.
export INSTA_UPDATE=${INSTA_UPDATE:-no}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --all-features --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole workspace (cargo prints one per test binary, the last often empty).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
