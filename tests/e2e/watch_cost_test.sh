#!/usr/bin/env bash
# Zero-cost watching, measured: a coordinator and a daemon in a network namespace of their own
# (its loopback carries nothing else), a producer sending 1 KiB every 10 ms to a consumer on the
# same machine (shared memory). The bytes on the namespace's loopback are counted for 3 s with
# nobody watching, for 3 s while `dora topic echo` watches the output, and for 3 s after it left:
# unwatched and after, only the control plane's heartbeats cross (a few hundred bytes a second);
# watched, the output's 100 KB/s do. Prints the three figures.
#   watch_cost_test.sh <dora binary> <test node binary>
# Exit 77 (skipped) when not root or `ip netns` is unavailable.
set -euo pipefail
DORA=$1
NODE=$2
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "SKIP: needs root and ip netns"
    exit 77
fi
source "$(dirname "$0")/../integration/cluster_lib.sh"  # WORK, fail, wait_for, own XDG dirs
NS=dora-watch-$$
# Everything inside the namespace is ours: ended by PID before it is removed, then WORK.
netns_cleanup() {
    set +e
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    for pid in $pids; do kill "$pid" 2>/dev/null; done
    for pid in $pids; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    ip netns del "$NS" 2>/dev/null
    cluster_cleanup
}
trap netns_cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
in_ns "$DORA" coordinator --port 0 --control-port 0 >"$WORK/coordinator.log" 2>&1 &
wait_for 10 grep -q "coordinator listening" "$WORK/coordinator.log" || fail "coordinator start"
DPORT=$(grep -o "daemons on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
CPORT=$(grep -o "control on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
export DORA_COORDINATOR_PORT=$CPORT
in_ns "$DORA" daemon --coordinator-port "$DPORT" --local-listen-port 0 \
    --work-dir "$WORK/work" >"$WORK/daemon.log" 2>&1 &
wait_for 20 bash -c "ip netns exec $NS env DORA_COORDINATOR_PORT=$CPORT \"$DORA\" list | grep -q ' connected'" ||
    fail "daemon registration"

cat >"$WORK/flow.yml" <<YAML
nodes:
  - id: source
    path: $NODE
    args: producer --count 0 --size 1024 --interval-ms 10 --for-ms 60000
    outputs: [out]
  - id: sink
    path: $NODE
    args: consumer
    inputs: {in: source/out}
YAML
in_ns "$DORA" start "$WORK/flow.yml" --name local --detach >"$WORK/start.log" 2>&1 ||
    fail "start: $(cat "$WORK/start.log")"
# The start-up's own traffic passes: both nodes joined.
wait_for 20 grep -q "node \`sink\` is ready" "$WORK/daemon.log" || fail "sink not ready"
wait_for 20 grep -q "node \`source\` is ready" "$WORK/daemon.log" || fail "source not ready"

lo_bytes() { ip netns exec "$NS" cat /sys/class/net/lo/statistics/tx_bytes; }
measure() {  # prints the loopback bytes per second over 3 s
    local before after
    before=$(lo_bytes)
    sleep 3
    after=$(lo_bytes)
    echo $(((after - before) / 3))
}
unwatched=$(measure)
in_ns "$DORA" topic echo local source/out --duration 6 --format json >"$WORK/echo.out" 2>"$WORK/echo.log" &
echo_pid=$!
wait_for 5 grep -q '"node":"source"' "$WORK/echo.out" || fail "the watcher saw nothing"
watched=$(measure)
wait "$echo_pid" || fail "topic echo failed"
wait_for 10 grep -q "no watcher of source/out any more" "$WORK/daemon.log" ||
    fail "the daemon did not stop publishing"
after=$(measure)
echo "loopback bytes/s: unwatched $unwatched, watched $watched, after the watcher left $after"
seen=$(grep -c '"node":"source"' "$WORK/echo.out")
echo "messages the watcher saw: $seen"
# 1 KiB at 100 Hz is ~100 KB/s plus framing while watched; heartbeats only otherwise.
((watched > 50000)) || fail "watched: $watched B/s, expected the output's ~100 KB/s"
((unwatched < 5000)) || fail "unwatched: $unwatched B/s, expected heartbeats only"
((after < 5000 && after <= unwatched + 1000)) ||
    fail "after the watcher left: $after B/s, expected heartbeats only (as unwatched: $unwatched)"
echo "watch_cost_test: ok"
