#!/usr/bin/env bash
# `eks-remedy plan` on the shipped incident sample's report (issue: plan ≤ 20 ms wall), against the
# same binary's `--version` in the same run (process start, the floor any command pays).
# Usage: bench/plan.sh [RUNS]   (default 50; medians in ms)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
cargo build --release -q -p eks-remedy-cli
bin=${CARGO_TARGET_DIR:-target}/release/eks-remedy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" analyze --format json --out "$tmp/report.json" \
  samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz

# Median wall time in ms of N runs of a command (output discarded).
median_ms() {
  local i t0 t1
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    "$@" > /dev/null
    t1=$(date +%s%N)
    echo $(( t1 - t0 ))
  done | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1e6 }'
}

# Interleaved rounds, so drift on a noisy machine hits both alike.
plan=$(median_ms "$bin" plan --format json "$tmp/report.json")
base=$(median_ms "$bin" --version)
plan2=$(median_ms "$bin" plan "$tmp/report.json")
echo "plan --format json: ${plan} ms  plan (text): ${plan2} ms  baseline --version: ${base} ms (medians of $runs)"
awk -v p="$plan" -v b="$base" 'BEGIN { printf "ratio plan/--version: %.2f; target plan <= 20 ms: %s\n", p / b, (p <= 20 ? "met" : "NOT met") }'
