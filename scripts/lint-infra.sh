#!/usr/bin/env bash
# Lints the SAM template: SAM's own linter, then cfn-lint and checkov over the translated
# CloudFormation (which catches broken references and event properties that linting raw SAM misses,
# and lets checkov see the roles, rules and permissions SAM generates). checkov's exceptions are
# reasoned in infra/README.md: stack-wide ones in infra/checkov.yaml, per-resource ones in the
# resource's Metadata.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SAM_CLI_TELEMETRY=0
.venv/bin/sam validate --lint --template-file infra/template.yaml --region us-east-1
out=$(mktemp --suffix .json)
trap 'rm -f "$out"' EXIT
.venv/bin/python infra/translate.py infra/template.yaml > "$out"
.venv/bin/cfn-lint "$out"

# checkov pins its own versions of libraries moto, SAM and cfn-lint also pin (boto3, jsonschema,
# networkx...), so it lives in its own venv, created and updated here (idempotent, pinned).
if [ ! -x .venv-lint/bin/python ]; then
  python3 -m venv .venv-lint
fi
stamp=.venv-lint/.requirements.sha
want=$(sha256sum infra/checkov-requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv-lint/bin/pip install --quiet --disable-pip-version-check -r infra/checkov-requirements.txt
  echo "$want" > "$stamp"
fi
# --skip-download: no guideline lookups online; the checks themselves ship with checkov.
.venv-lint/bin/checkov --file "$out" --config-file infra/checkov.yaml --skip-download
echo "infra: sam validate --lint, cfn-lint and checkov passed"
