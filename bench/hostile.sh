#!/usr/bin/env bash
# Hostile-bundle check (issue 7 targets), a script, not a timed test:
#   - peak RSS of `eks-remedy analyze` <= 64 MiB on every hostile case;
#   - inflated bytes never exceed --max-total-bytes plus one buffer (PIPE_CHUNK_BYTES, 1 MiB);
#   - the JSON report within its documented maximum (report::MAX_REPORT_JSON_BYTES, 1 MiB).
# Cases, built here (streamed, never held in memory):
#   long-name  a GNU long name of LONG_NAME bytes (default 1 GiB) in a ~1 MB .tar.gz
#   pax        the same as a PAX `path` record
#   repeated   system/ps.txt 16 times, each 40,000 kubelet command lines with distinct values
#   bomb       BOMB bytes (default 4 GiB) of zeros in one member: default limits (ratio guard)
#   bomb-total the same bomb with --max-ratio 0 --max-total-bytes 64M (total byte limit)
#   long-noratio, pax-noratio: the long-name and PAX cases with --max-ratio 0 (the header bound alone)
# Usage: bench/hostile.sh   (env: LONG_NAME, BOMB, BENCH_DIR). Needs GNU time and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_DIR:-bench-out}/hostile
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
cargo build --release -q -p eks-remedy-cli
bin=${CARGO_TARGET_DIR:-target}/release/eks-remedy
long_name=${LONG_NAME:-1073741824}
bomb=${BOMB:-4294967296}
name=eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz

python3 - "$out" "$name" "$long_name" "$bomb" <<'PY'
import os, sys, tarfile, zlib

out, name, long_name, bomb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
CHUNK = 1 << 20
PULL = (b'Oct 19 05:13:03 ip-10-0-1-23.ec2.internal kubelet[3214]: E1019 05:13:03.291420    3214 '
        b'pod_workers.go:1298] "Error syncing pod, skipping" err="pull QPS exceeded"\n')

class Gz:
    """A gzip file written member data by member data."""
    def __init__(self, path):
        self.f = open(path, "wb")
        self.z = zlib.compressobj(9, zlib.DEFLATED, 31)
    def write(self, b):
        self.f.write(self.z.compress(b))
    def close(self):
        self.f.write(self.z.flush())
        self.f.close()

def header(gz, name, size, kind):
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode, info.mtime = size, kind, 0o644, 1760861520
    gz.write(info.tobuf(format=tarfile.GNU_FORMAT))

def pad(gz, size):
    gz.write(b"\0" * ((512 - size % 512) % 512))

def stream(gz, size, byte):
    block = byte * CHUNK
    left = size
    while left:
        n = min(left, CHUNK)
        gz.write(block[:n])
        left -= n
    pad(gz, size)

def member(gz, name, data):
    header(gz, name, len(data), tarfile.REGTYPE)
    gz.write(data)
    pad(gz, len(data))

def end(gz):
    gz.write(b"\0" * 1024)
    gz.close()

def build(case, fill):
    path = os.path.join(out, case, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        gz = Gz(path + ".tmp")
        member(gz, "./kubelet/kubelet.log", PULL)
        fill(gz)
        end(gz)
        os.rename(path + ".tmp", path)
    print(f"{case}: {os.path.getsize(path)} bytes compressed", file=sys.stderr)

def long_gnu(gz):
    header(gz, "././@LongLink", long_name, tarfile.GNUTYPE_LONGNAME)
    stream(gz, long_name, b"a")
    member(gz, "ignored", PULL)

def long_pax(gz):
    digits = len(str(long_name))
    prefix = f"{long_name} path=".encode()
    header(gz, "./PaxHeaders/x", long_name, tarfile.XHDTYPE)
    gz.write(prefix)
    stream_body = long_name - len(prefix) - 1
    block = b"p" * CHUNK
    left = stream_body
    while left:
        n = min(left, CHUNK)
        gz.write(block[:n])
        left -= n
    gz.write(b"\n")
    pad(gz, long_name)
    member(gz, "./kubelet/kubelet.log", PULL)

def repeated(gz):
    ps = b"".join(
        b"root %d /usr/bin/kubelet --max-pods=%d --hostname-override=custom-host-%d --node-ip=10.0.%d.%d\n"
        % (i, i, i, i // 256 % 256, i % 256) for i in range(40000))
    for _ in range(16):
        member(gz, "./system/ps.txt", ps)

def zeros(gz):
    header(gz, "./var_log/messages", bomb, tarfile.REGTYPE)
    stream(gz, bomb, b"\0")

build("long-name", long_gnu)
build("pax", long_pax)
build("repeated", repeated)
build("bomb", zeros)
PY

printf '%-12s %8s %10s %14s %14s %12s %s\n' case exit wall_s peak_rss_mib inflated_bytes report_bytes stopped_by | tee "$out/results.txt"
run_case() { # case, bundle dir, extra flags...
  local case=$1 dir=$2; shift 2
  local code=0
  /usr/bin/time -f '%e %M' -o "$out/time.txt" "$bin" analyze "$out/$dir/$name" --format json "$@" \
    > "$out/$case.json" 2> "$out/$case.err" || code=$?
  tail -n 1 "$out/time.txt" > "$out/time.last"
  read -r wall rss < "$out/time.last"
  python3 - "$case" "$code" "$wall" "$rss" "$out/$case.json" "$*" <<'PY' | tee -a "$out/results.txt"
import json, os, sys
case, code, wall, rss, path, flags = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
size = os.path.getsize(path)
try:
    b = json.load(open(path))["bundle"]
    inflated, stopped, total = b["inflated_bytes"], b["stopped_by"], b["limits"]["max_total_bytes"]
except Exception:
    inflated, stopped, total = -1, "-", 0
checks = [code == 0, rss / 1024 <= 64, size <= 1 << 20, inflated <= total + (1 << 20)]
print(f"{case:<12} {code:>8} {wall:>10} {rss/1024:>14.1f} {inflated:>14} {size:>12} {stopped}  {'PASS' if all(checks) else 'FAIL'}")
PY
}
run_case long-name long-name
# Without the ratio guard the whole 1 GiB header is read through, bounded: skipped, never buffered.
run_case long-noratio long-name --max-ratio 0
run_case pax pax
run_case pax-noratio pax --max-ratio 0
run_case repeated repeated
run_case bomb bomb
run_case bomb-total bomb --max-ratio 0 --max-total-bytes 64M
grep -q FAIL "$out/results.txt" && { echo "some hostile case missed its target" >&2; exit 1; }
echo "all hostile cases within targets"
