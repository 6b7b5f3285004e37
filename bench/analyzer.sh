#!/usr/bin/env bash
# Analyzer benchmark (issue 12): `eks-remedy analyze` against anchors timed in the same run, round by
# round, on two bundles of SIZE uncompressed bytes:
#   plain      the generated busy node (faults near the end of each log)
#   lookalike  the same where 2 % of the scanned logs' lines hold a catalogue literal in a line that
#              matches no signature (every one stops the literal prefilter; none may be counted)
# each as the collector's .tar.gz and as the extracted folder. Anchors:
#   rg          `rg -j1 -a -c -F -f <catalogue literals>` over the folder (ripgrep from PyPI)
#   inflate     `inflate-only`: the analyzer's own reader and inflater, every member discarded
#   isal        `python -m isal.igzip -d -c` (ISA-L inflate from PyPI), for reference
#   gzip        `gzip -dc`
#   grep        `tar -xzf` + `grep -rF -f <catalogue literals>`, what one would do by hand
# Targets (medians of the rounds' ratios):
#   folder:  analyze wall <= 1.0 x rg                                  (both bundles)
#   .tar.gz: analyze wall <= 1.25 x inflate-only, <= 0.4 x gzip -dc;
#            analyze CPU (user + sys) <= 1.6 x inflate-only CPU       (both bundles)
#   peak RSS <= 64 MiB, and within +-10 % on a 4x smaller bundle (flat in bundle size)
# and the look-alike bundle's findings (rule ids and counts) equal the plain bundle's.
# Page cache: on the development VM the first read of a file after a pause costs several times the
# system time of the next one (3.5 s against 1.1 s for the same 1 GiB folder), so every input is read
# once, untimed, just before it is timed, and analyze and rg take turns going first.
# Usage: bench/analyzer.sh [ROUNDS] [SIZE]   (defaults: 3 rounds, 1G). Needs GNU time (/usr/bin/time),
# python3 with venv, and PyPI (first run: `pip install ripgrep isal` into $BENCH_DIR/venv).
# ANALYZER=path times that eks-remedy binary instead of this tree's (e.g. an older build, for a
# before/after in one session).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
size=${2:-1G}
out=${BENCH_DIR:-bench-out}
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }

# Anchors in their own venv, so the machine's Python is never touched.
venv=$out/venv
if [ ! -x "$venv/bin/rg" ] || ! "$venv/bin/python" -c 'import isal' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q ripgrep isal
fi
rg=$venv/bin/rg

cargo build --release -q -p eks-remedy-cli -p eks-remedy-tests --bin eks-remedy --bin gen-bundle --bin inflate-only
bin=${CARGO_TARGET_DIR:-target}/release
analyzer=${ANALYZER:-$bin/eks-remedy}
name=eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz
"$analyzer" rules --literals > "$out/literals.txt"

small_size=$(( $(numfmt --from=iec "$size") / 4 ))
declare -A per_mille=([plain]=0 [lookalike]=20)
for b in plain lookalike small; do
  gz=$out/$b/$name
  if [ ! -f "$gz" ]; then
    s=$size; [ "$b" = small ] && s=$small_size
    "$bin/gen-bundle" big --size "$s" --lookalikes "${per_mille[$b]:-0}" "$gz"
  fi
  if [ "$b" != small ] && [ ! -d "$out/$b/dir" ]; then
    mkdir -p "$out/$b/dir" && tar -xzf "$gz" -C "$out/$b/dir"
  fi
done

# The look-alikes must change nothing that is detected.
findings() { "$analyzer" analyze "$1" --format json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sorted((f["rule"], f["count"]) for f in r["findings"]))'; }
plain_findings=$(findings "$out/plain/$name")
look_findings=$(findings "$out/lookalike/$name")
if [ "$plain_findings" != "$look_findings" ]; then
  echo "FAIL look-alike lines changed the findings:" >&2
  echo " plain:     $plain_findings" >&2
  echo " lookalike: $look_findings" >&2
  exit 1
fi
echo "findings (both bundles): $plain_findings"

extract_grep() {
  local d; d=$(mktemp -d "$out/x.XXXXXX")
  tar -xzf "$1" -C "$d"
  grep -rF -f "$out/literals.txt" "$d" > /dev/null || true
  rm -rf "$d"
}
export -f extract_grep; export out

measure() { # prints "wall_s cpu_s peak_kib" of one run of "$@", stdout discarded
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" "$@" > /dev/null
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$out/time.txt"
}

results=$out/results.txt
echo "round bundle analyze_dir rg_dir analyze_gz analyze_gz_cpu inflate inflate_cpu isal gzip rss_kib extract_grep" | tee "$results"
warm() { find "$1" -type f -exec cat {} + > /dev/null; }
for r in $(seq "$rounds"); do
  for b in plain lookalike; do
    gz=$out/$b/$name dir=$out/$b/dir
    warm "$dir"
    if [ $((r % 2)) = 1 ]; then
      read -r ad _ _ < <(measure "$analyzer" analyze "$dir" --format json)
      read -r rd _ _ < <(measure "$rg" -j1 -a -c -F -f "$out/literals.txt" "$dir")
    else
      read -r rd _ _ < <(measure "$rg" -j1 -a -c -F -f "$out/literals.txt" "$dir")
      read -r ad _ _ < <(measure "$analyzer" analyze "$dir" --format json)
    fi
    warm "$gz"
    read -r ag agc rss < <(measure "$analyzer" analyze "$gz" --format json)
    read -r iw ic _ < <(measure "$bin/inflate-only" "$gz")
    read -r is _ _ < <(measure "$venv/bin/python" -m isal.igzip -d -c "$gz")
    read -r gw _ _ < <(measure gzip -dc "$gz")
    read -r xg _ _ < <(measure bash -c "extract_grep '$gz'")
    echo "$r $b $ad $rd $ag $agc $iw $ic $is $gw $rss $xg" | tee -a "$results"
  done
  read -r _ _ rss_small < <(measure "$analyzer" analyze "$out/small/$name" --format json)
  echo "$r small - - - - - - - - $rss_small -" | tee -a "$results"
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
med = statistics.median
checks = []
print()
for b in ("plain", "lookalike"):
    rs = [[float(x) for x in r[2:]] for r in rows if r[1] == b]
    col = lambda i: [r[i] for r in rs]
    ratio = lambda i, j: med([r[i] / r[j] for r in rs])
    ad, rd, ag, agc, iw, ic, isal, gw, rss, xg = (med(col(i)) for i in range(10))
    print(f"{b} (medians of {len(rs)} rounds): folder: analyze {ad:.2f} s, rg -j1 {rd:.2f} s | "
          f".tar.gz: analyze {ag:.2f} s wall {agc:.2f} s CPU, inflate-only {iw:.2f} s wall {ic:.2f} s CPU, "
          f"ISA-L {isal:.2f} s, gzip -dc {gw:.2f} s, tar -xzf + grep -rF {xg:.2f} s | peak RSS {rss / 1024:.1f} MiB")
    checks += [
        (f"{b}: folder analyze / rg = {ratio(0, 1):.2f} (target <= 1.0)", ratio(0, 1) <= 1.0),
        (f"{b}: .tar.gz analyze / inflate-only wall = {ratio(2, 4):.2f} (target <= 1.25)", ratio(2, 4) <= 1.25),
        (f"{b}: .tar.gz analyze / gzip -dc = {ratio(2, 7):.2f} (target <= 0.4)", ratio(2, 7) <= 0.4),
        (f"{b}: .tar.gz analyze CPU / inflate-only CPU = {ratio(3, 5):.2f} (target <= 1.6)", ratio(3, 5) <= 1.6),
        (f"{b}: .tar.gz analyze / ISA-L inflate = {ratio(2, 6):.2f} (reference)", True),
        (f"{b}: .tar.gz analyze / (tar -xzf + grep -rF) = {ratio(2, 9):.2f} (reference)", True),
        (f"{b}: peak RSS {rss / 1024:.1f} MiB (target <= 64)", rss / 1024 <= 64),
    ]
big = med([float(r[10]) for r in rows if r[1] == "plain"])
small = med([float(r[10]) for r in rows if r[1] == "small"])
checks.append((f"peak RSS on a 4x smaller bundle {small / 1024:.1f} MiB, {100 * (big - small) / big:+.1f} % (target within 10 %)",
               abs(big - small) <= 0.1 * big))
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
