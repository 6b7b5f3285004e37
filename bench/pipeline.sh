#!/usr/bin/env bash
# Pipeline benchmark (issue 3 targets): cold start of each deployable function binary through a
# local Runtime API (baseline: spawn of /bin/true), binary sizes, and the peak RSS of the
# bundle-analyzer streaming a ~200 MB bundle from moto S3 (baseline: the CLI on the same local file).
# The storm figures come from `cargo bench -p eks-remedy-pipeline --bench storm`.
# Usage: bench/pipeline.sh   (BENCH_S3_BUNDLE=1400M sets the uncompressed size of the S3 bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Like the tests: the bench's helpers (moto, function binaries) must not outlive it.
. scripts/procs.sh
run_procs_begin
trap run_procs_stop EXIT
trap 'exit 130' INT TERM
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
# The deployable artifacts (release, stripped) and the release CLI used as the RSS baseline are
# built here; the bench itself runs no cargo.
scripts/sam-build.sh > /dev/null
cargo build --release --quiet -p eks-remedy-cli
cargo bench --quiet -p eks-remedy-tests --bench pipeline
run_procs_check
