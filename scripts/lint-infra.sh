#!/usr/bin/env bash
# Lints the SAM template twice: SAM's own linter, then cfn-lint over the translated CloudFormation
# (which catches broken references and event properties that linting raw SAM misses).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SAM_CLI_TELEMETRY=0
.venv/bin/sam validate --lint --template-file infra/template.yaml --region us-east-1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
.venv/bin/python infra/translate.py infra/template.yaml > "$out"
.venv/bin/cfn-lint "$out"
echo "infra: sam validate --lint and cfn-lint passed"
