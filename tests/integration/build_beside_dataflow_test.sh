#!/usr/bin/env bash
# A long, quiet `dora build` (60 s without output, longer than the coordinator's 10 s heartbeat
# timeout) runs while a dataflow runs on the same daemon: the daemon keeps serving the dataflow
# (its output keeps streaming to the attached CLI), stays connected (`dora list`), answers other
# requests (`dora logs`) meanwhile, and the build ends successfully.
#   build_beside_dataflow_test.sh <dora binary> [build seconds, default 60]
set -euo pipefail
DORA=$1
BUILD_SECONDS=${2:-60}
source "$(dirname "$0")/cluster_lib.sh"
start_coordinator
start_daemon edge1
wait_for_daemons 1

mkdir "$WORK/flow"
cat >"$WORK/flow/ticker.yml" <<'YAML'
nodes:
  - id: ticker
    path: shell
    args: "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo tick $i; sleep 0.2; done"
    _unstable_deploy: {machine: edge1}
YAML
cat >"$WORK/flow/slow-build.yml" <<YAML
nodes:
  - {id: slow, path: shell, args: "true", build: "sleep $BUILD_SECONDS; echo built", _unstable_deploy: {machine: edge1}}
YAML

"$DORA" start "$WORK/flow/ticker.yml" --name ticker --coordinator-port "$CPORT" \
    >"$WORK/start.out" 2>&1 &
START=$!
PIDS+=($START)
wait_for 20 grep -q "tick 3" "$WORK/start.out" || fail "the ticker did not start"

"$DORA" build "$WORK/flow/slow-build.yml" --coordinator-port "$CPORT" >"$WORK/build.out" 2>&1 &
BUILD=$!
PIDS+=($BUILD)

ticks() { grep -c "ticker on daemon \`edge1\`: stdout" "$WORK/start.out" || true; }
checks=0
end=$((SECONDS + BUILD_SECONDS - 5))
while ((SECONDS < end)); do
    before=$(ticks)
    sleep 3
    kill -0 "$BUILD" 2>/dev/null || fail "the build ended early: $(cat "$WORK/build.out")"
    after=$(ticks)
    ((after > before)) || fail "no ticker output for 3 s during the build ($before lines)"
    "$DORA" list --coordinator-port "$CPORT" >"$WORK/list.out" 2>&1 || fail "dora list failed"
    grep -q "edge1 .* connected" "$WORK/list.out" || fail "edge1 not connected during the build"
    grep -q "ticker .* running" "$WORK/list.out" || fail "the dataflow is not running"
    checks=$((checks + 1))
done
"$DORA" logs ticker ticker --coordinator-port "$CPORT" >"$WORK/logs.out" 2>&1 ||
    fail "dora logs failed during the build"
grep -q "tick 1" "$WORK/logs.out" || fail "dora logs returned no ticks"

wait "$BUILD" || fail "the build failed: $(cat "$WORK/build.out")"
grep -q 'slow on daemon `edge1`: build     built' "$WORK/build.out" || fail "no build output"
grep -q "build finished" "$WORK/build.out" || fail "no build result"
"$DORA" stop --name ticker --grace-duration 1s --coordinator-port "$CPORT" >"$WORK/stop.out" 2>&1 ||
    true  # the shell loop dies by signal after the grace: not a clean exit, and that is fine
echo "ok: $checks checks during a ${BUILD_SECONDS} s build, $(ticks) ticks"
