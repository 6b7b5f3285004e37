#!/usr/bin/env bash
# The HTML report's timeline, checked in headless Chromium (tests/browser/timeline_test.py): labels
# never overlap and stay inside the drawing, links lead to the findings, no horizontal scroll at
# 1300 px and 800 px. Installs what it needs when missing: Debian's chromium and chromium-driver
# (apt-get), Selenium (pinned, in tests/browser/.venv). Skips, saying why, only where Chromium cannot
# be installed. Screenshots go to tests/browser/out/ (ignored by git).
#
#   scripts/browser-test.sh                        # run the browser tests
#   UPDATE_README_IMAGE=1 scripts/browser-test.sh  # also refresh docs/img/timeline.png (README)
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "browser: SKIPPED, $*" >&2
  echo "browser: 0 passed, 0 failed (skipped: Chromium cannot be installed here)"
  exit 0
}

chromium=${CHROMIUM:-/usr/bin/chromium}
chromedriver=${CHROMEDRIVER:-/usr/bin/chromedriver}
if [ ! -x "$chromium" ] || [ ! -x "$chromedriver" ]; then
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    skip "no $chromium / $chromedriver, and no root to install them (apt-get install chromium chromium-driver)"
  fi
  command -v apt-get >/dev/null || skip "no $chromium / $chromedriver, and no apt-get to install them"
  echo "browser: installing chromium and chromium-driver (apt-get)" >&2
  "${as_root[@]}" apt-get update -qq >&2 || skip "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium chromium-driver >&2 \
    || skip "apt-get could not install chromium chromium-driver"
  [ -x "$chromium" ] && [ -x "$chromedriver" ] || skip "chromium installed, but $chromium / $chromedriver missing"
fi

command -v python3 >/dev/null || { echo "needs python3 (with venv and pip)" >&2; exit 2; }
venv=tests/browser/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp=$venv/.requirements.sha
want=$(sha256sum tests/browser/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/browser/requirements.txt
  echo "$want" > "$stamp"
fi

# The CLI renders the bundles; render-report (tests crate) the reports no bundle can produce.
cargo build --locked --quiet -p eks-remedy-cli -p eks-remedy-tests --bins
bin=${CARGO_TARGET_DIR:-target}/debug
set +e
CHROMIUM=$chromium CHROMEDRIVER=$chromedriver EKS_REMEDY=$bin/eks-remedy \
  RENDER_REPORT=$bin/render-report "$venv/bin/python" tests/browser/timeline_test.py
status=$?
set -e
if [ "$status" = 0 ] && [ -n "${UPDATE_README_IMAGE:-}" ]; then
  mkdir -p docs/img
  cp tests/browser/out/sample-incident-timeline-1300.png docs/img/timeline.png
  echo "browser: docs/img/timeline.png refreshed" >&2
fi
exit "$status"
