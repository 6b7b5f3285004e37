#!/usr/bin/env bash
# `sam build` of every function (cargo-lambda, release). CI builds x86_64 with the plain cargo
# compiler because the machine has no aarch64 standard library; deployments build arm64 (the
# template's default) with `rustup target add aarch64-unknown-linux-gnu` and cargo-lambda's zig linker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SAM_CLI_TELEMETRY=0
export PATH="$PWD/.venv/bin:$PATH"
arch=${SAM_ARCH:-x86_64}
if [ "$arch" = x86_64 ]; then
  export CARGO_LAMBDA_COMPILER=cargo
fi
sam build --template-file infra/template.yaml --parameter-overrides "Architecture=$arch" --build-dir "${SAM_BUILD_DIR:-.aws-sam/build}"
for f in .aws-sam/build/*Function/bootstrap; do
  [ -x "$f" ] || { echo "missing $f" >&2; exit 1; }
done
ls -l .aws-sam/build/*Function/bootstrap
