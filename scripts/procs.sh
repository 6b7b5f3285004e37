# Sourced by scripts/test.sh and the benchmarks: every process a run starts is tagged with
# $EKS_REMEDY_TEST_RUN (inherited, or passed on by `eks_remedy_tests::keep_run_marker` to children
# started with a cleared environment), so the run can find what outlives it, however it was started.

# Tags this shell's children with a marker unique to this run.
run_procs_begin() {
  export EKS_REMEDY_TEST_RUN="$$-$(date +%s%N)"
}

# PIDs of live processes carrying this run's marker. grep runs without the marker, so it never
# finds itself; bash's own /proc environ predates the export, so neither does the calling shell or
# its subshells (forks, not execs).
run_procs() {
  local f
  for f in $(env -u EKS_REMEDY_TEST_RUN grep -lszx "EKS_REMEDY_TEST_RUN=${EKS_REMEDY_TEST_RUN:?}" /proc/[0-9]*/environ); do
    f=${f#/proc/}
    echo "${f%/environ}"
  done
}

# Ends every process of this run: TERM, then KILL what is still there after 2 s.
run_procs_stop() {
  local pids
  pids=$(run_procs)
  [ -n "$pids" ] || return 0
  kill -TERM $pids 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(run_procs)
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  kill -KILL $pids 2>/dev/null || true
}

# Fails (status 1) when a helper process outlived the run, naming each, then ends them. Helpers get
# a few seconds: moto notices its parent's exit within one.
run_procs_check() {
  local pids
  for _ in $(seq 1 25); do
    pids=$(run_procs)
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  echo "FAILED: helper processes outlived the test run:" >&2
  ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)" >&2 || true
  run_procs_stop
  return 1
}
