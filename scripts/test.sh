#!/usr/bin/env bash
# Installs what the tests need and runs every test. This is the README's test command; CI runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "needs a Rust toolchain (https://rustup.rs)" >&2; exit 2; }
# moto (AWS API tests) and friends live in .venv; the Rust tests start moto themselves.
scripts/setup.sh
# Snapshots are compared, never rewritten, under CI.
export INSTA_UPDATE=${INSTA_UPDATE:-no}
# Every process of this run carries a marker: an interrupted run ends them all, and a finished run
# fails if any helper (moto, a function binary, a browser) is still alive.
. scripts/procs.sh
run_procs_begin
log=$(mktemp)
trap 'run_procs_stop; rm -f "$log"' EXIT
trap 'echo "test run interrupted: ending its processes" >&2; exit 130' INT TERM
# Output goes to the log file, not through a pipe, and is shown from there: a leaked helper that keeps
# the output open can then never stall the run (the leftover check below names it instead).
run_logged() {
  local from pid shown st
  from=$(( $(stat -c %s "$log") + 1 ))
  "$@" >> "$log" 2>&1 &
  pid=$!
  tail -c "+$from" -f --pid="$pid" "$log" &
  shown=$!
  # Waited for in the background, so a signal reaches the trap at once, not after the command ends.
  wait "$pid"
  st=$?
  wait "$shown"
  return "$st"
}
set +e
# The function binaries first, with the workspace's features: the tests run them as processes (one
# startup test covers all, `aws/tests/functions.rs`), and building them here reuses every crate the
# test build compiles.
run_logged cargo build --workspace --bins --all-features --locked
status=$?
[ "$status" -eq 0 ] && { run_logged cargo test --workspace --all-features --locked "$@"; status=$?; }
# The HTML report in a real browser (installs Chromium when missing; skips, saying why, only where it
# cannot be installed).
run_logged scripts/browser-test.sh || status=1
set -e
run_procs_check || status=1
# One closing line for the whole run (cargo prints one per test binary, the last often empty; the
# browser tests one of their own).
awk '/^test result:/ { p += $4; f += $6 }
     /^browser: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
