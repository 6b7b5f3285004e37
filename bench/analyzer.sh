#!/usr/bin/env bash
# Analyzer benchmark (issue 2 targets), as paired ratios measured in the same run:
#   1. wall(eks-remedy analyze)  <= 0.8 x wall(gzip -dc bundle > /dev/null)      on a >= 1 GiB bundle
#   2. wall(eks-remedy analyze)  <= 0.5 x wall(tar -xzf + grep -rF -f patterns)
#   3. peak RSS <= 64 MiB, and within +-10 % between the 1 GiB bundle and a 4x smaller one
# Usage: bench/analyzer.sh [ROUNDS] [SIZE]   (defaults: 5 rounds, 1G). Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
size=${2:-1G}
out=${BENCH_DIR:-bench-out}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
cargo build --release -q -p eks-remedy-cli -p eks-remedy-tests
bin=${CARGO_TARGET_DIR:-target}/release
name=eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz
big=$out/big/$name
small=$out/small/$name
[ -f "$big" ] || "$bin/gen-bundle" big --size "$size" "$big"
small_size=$(( $(numfmt --from=iec "$size") / 4 ))
[ -f "$small" ] || "$bin/gen-bundle" big --size "$small_size" "$small"
"$bin/gen-bundle" patterns > "$out/patterns.txt"

extract_grep() {
  local d; d=$(mktemp -d "$out/x.XXXXXX")
  tar -xzf "$1" -C "$d"
  grep -rF -f "$out/patterns.txt" "$d" > /dev/null || true
  rm -rf "$d"
}
export -f extract_grep; export out

measure() { # prints "wall_s peak_kib" of one run of "$@"
  /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" > /dev/null
  cat "$out/time.txt"
}

echo "round analyze_s gzip_s extract_grep_s analyze/gzip analyze/grep rss_big_kib rss_small_kib" | tee "$out/results.txt"
for r in $(seq "$rounds"); do
  read -r a rss_big < <(measure "$bin/eks-remedy" analyze "$big" --format json)
  read -r g _ < <(measure sh -c "gzip -dc '$big' > /dev/null")
  read -r x _ < <(measure bash -c "extract_grep '$big'")
  read -r _ rss_small < <(measure "$bin/eks-remedy" analyze "$small" --format json)
  echo "$r $a $g $x $(awk "BEGIN{printf \"%.4f %.4f\", $a/$g, $a/$x}") $rss_big $rss_small" | tee -a "$out/results.txt"
done

python3 - "$out/results.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
col = lambda i: [float(r[i]) for r in rows]
med = statistics.median
a_g, a_x = med(col(4)), med(col(5))
big, small = med(col(6)) / 1024, med(col(7)) / 1024
print(f"\nmedians over {len(rows)} rounds: analyze {med(col(1)):.2f} s, gzip -dc {med(col(2)):.2f} s, extract+grep {med(col(3)):.2f} s")
checks = [
    (f"analyze / gzip -dc = {a_g:.3f} (target <= 0.8)", a_g <= 0.8),
    (f"analyze / extract+grep = {a_x:.3f}, {1/a_x:.2f}x faster (target >= 2x)", a_x <= 0.5),
    (f"peak RSS {big:.1f} MiB (target <= 64)", big <= 64),
    (f"peak RSS 4x smaller bundle {small:.1f} MiB, {100*(big-small)/big:+.1f} % (target within 10 %)", abs(big - small) <= 0.1 * big),
]
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
