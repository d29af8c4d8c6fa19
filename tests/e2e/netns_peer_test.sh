#!/usr/bin/env bash
# Multi-machine e2e: three hosts as network namespaces (edge1, edge2, cloud) joined by veth pairs
# to a bridge that lives in a fourth namespace, so nothing is added to this machine's own network.
# A coordinator and a daemon run on cloud, a daemon on each edge; the daemons find each other
# through the coordinator (no multicast) and exchange data peer to peer over Zenoh. The cluster
# token is required because the daemons are not on the coordinator's loopback.
#   netns_peer_test.sh <dora binary> <test node binary>
# Exit 77 (skipped) when not root or `ip netns` is unavailable.
set -euo pipefail
DORA=$1
NODE=$2
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "SKIP: needs root and ip netns"
    exit 77
fi

tag=$$
SW=dora-sw-$tag
HOSTS=(cloud edge1 edge2)
declare -A ADDR=([cloud]=10.77.$((tag % 200)).1 [edge1]=10.77.$((tag % 200)).2 [edge2]=10.77.$((tag % 200)).3)
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    set +e
    # Everything inside our namespaces is ours; ip netns del alone would leave it running.
    for h in "${HOSTS[@]}"; do
        for pid in $(ip netns pids "dora-$h-$tag" 2>/dev/null); do PIDS+=("$pid"); done
    done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    for h in "${HOSTS[@]}"; do ip netns del "dora-$h-$tag" 2>/dev/null; done
    ip netns del "$SW" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$SW"
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
i=0
for h in "${HOSTS[@]}"; do
    ns=dora-$h-$tag
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "v$tag$i" netns "$ns" type veth peer name "p$i" netns "$SW"
    ip -n "$SW" link set "p$i" master br0 up
    ip -n "$ns" link set "v$tag$i" name eth0
    ip -n "$ns" addr add "${ADDR[$h]}/24" dev eth0
    ip -n "$ns" link set eth0 up
    i=$((i + 1))
done
# Foreground helper only: a backgrounded shell function would record the subshell's PID, not the
# process's, so background processes are started with `ip netns exec` directly.
on() { local h=$1; shift; ip netns exec "dora-$h-$tag" "$@"; }

fail() {
    echo "FAILED: $*"
    for f in "$WORK"/*.log; do echo "== $f"; tail -20 "$f"; done
    exit 1
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 at the deadline.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# The user's token file and Zenoh settings stay out of the test.
export XDG_CONFIG_HOME=$WORK/config XDG_RUNTIME_DIR=$WORK/run XDG_STATE_HOME=$WORK/state
mkdir -p "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
unset ZENOH_CONFIG
export DORA_TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ip netns exec "dora-cloud-$tag" "$DORA" coordinator >"$WORK/coordinator.log" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q "coordinator listening" "$WORK/coordinator.log" || fail "coordinator start"
for h in "${HOSTS[@]}"; do
    ip netns exec "dora-$h-$tag" "$DORA" daemon --machine-id "$h" --coordinator-addr "${ADDR[cloud]}" \
        --work-dir "$WORK/work-$h" >"$WORK/daemon-$h.log" 2>&1 &
    PIDS+=($!)
done
three_connected() { (($(on cloud "$DORA" list 2>/dev/null | grep -c " connected") >= 3)); }
wait_for 10 three_connected || fail "the three daemons did not register"

cat >"$WORK/flow.yml" <<YAML
nodes:
  - {id: p1, path: $NODE, args: producer --count 30 --interval-ms 10, outputs: [out], _unstable_deploy: {machine: edge1}}
  - {id: p2, path: $NODE, args: producer --count 20 --interval-ms 10, outputs: [out], _unstable_deploy: {machine: edge2}}
  - id: sink
    path: $NODE
    args: consumer --expect 50
    inputs:
      one: {source: p1/out, queue_size: 100}
      two: {source: p2/out, queue_size: 100}
    _unstable_deploy: {machine: cloud}
YAML
status=0
on cloud timeout 60 "$DORA" start "$WORK/flow.yml" >"$WORK/start.out" 2>&1 || status=$?
cat "$WORK/start.out"
[[ $status -eq 0 ]] || fail "dora start exited with $status"
grep -q 'sink on daemon `cloud`: stdout    received one 30' "$WORK/start.out" || fail "edge1's data"
grep -q 'sink on daemon `cloud`: stdout    received two 20' "$WORK/start.out" || fail "edge2's data"
grep -q 'p1 on daemon `edge1`: stdout    producer sent 30' "$WORK/start.out" || fail "edge1 logs"
echo "netns peer-to-peer: 3 hosts, fan-in across machines: ok"
cleanup
trap - EXIT
for h in "${HOSTS[@]}"; do
    if ip netns list | grep -q "dora-$h-$tag"; then echo "FAILED: namespace dora-$h-$tag left behind"; exit 1; fi
done
# Every process this test started (and everything that ran in its namespaces) is gone.
for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid") != Z* ]]; then
        echo "FAILED: process $pid outlived the test: $(ps -o cmd= -p "$pid")"
        exit 1
    fi
done
