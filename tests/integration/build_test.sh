#!/usr/bin/env bash
# `dora build`: each node's build command runs on the daemon of its machine, in the node's
# working directory, with its output streamed; a failing build names the node, the machine and
# the exit status, and `dora build` fails.
#   build_test.sh <dora binary>
set -euo pipefail
DORA=$1
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; cat "$WORK"/*.out "$WORK"/*.log 2>/dev/null | tail -30; exit 1; }
wait_for() {
    local limit=$1; shift
    for _ in $(seq $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
"$DORA" coordinator --port 0 --control-port 0 >"$WORK/coordinator.log" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q "coordinator listening" "$WORK/coordinator.log" || fail "coordinator"
DPORT=$(grep -o "daemons on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
CPORT=$(grep -o "control on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
for m in edge1 cloud; do
    "$DORA" daemon --machine-id $m --coordinator-port "$DPORT" --local-listen-port 0 \
        --work-dir "$WORK/work-$m" >"$WORK/daemon-$m.log" 2>&1 &
    PIDS+=($!)
done
wait_for 10 bash -c "\"$DORA\" list --coordinator-port $CPORT | grep -c ' connected' | grep -q 2" ||
    fail "daemons"

mkdir "$WORK/flow"
cat >"$WORK/flow/good.yml" <<'YAML'
nodes:
  - {id: a, path: shell, args: "true", build: "echo building a; echo artifact > a.txt", _unstable_deploy: {machine: edge1}}
  - {id: b, path: shell, args: "true", build: "echo building b", _unstable_deploy: {machine: cloud}}
YAML
"$DORA" build "$WORK/flow/good.yml" --coordinator-port "$CPORT" >"$WORK/good.out" 2>&1 ||
    fail "a good build failed"
grep -q 'a on daemon `edge1`: build     building a' "$WORK/good.out" || fail "edge1's output"
grep -q 'b on daemon `cloud`: build     building b' "$WORK/good.out" || fail "cloud's output"
[[ -f $WORK/flow/a.txt ]] || fail "the build did not run in the node's working directory"

cat >"$WORK/flow/bad.yml" <<'YAML'
nodes:
  - {id: b, path: shell, args: "true", build: "echo oops; exit 3", _unstable_deploy: {machine: cloud}}
YAML
if "$DORA" build "$WORK/flow/bad.yml" --coordinator-port "$CPORT" >"$WORK/bad.out" 2>&1; then
    fail "a failing build succeeded"
fi
grep -q 'build failed:' "$WORK/bad.out" && ! grep -q 'machine `cloud`: machine' "$WORK/bad.out" && grep -q 'machine `cloud`: the build of node b (echo oops; exit 3) exited with status 3' \
    "$WORK/bad.out" || fail "the failure does not name node, machine and status"
echo "dora build: ok"
