#!/usr/bin/env bash
# Zero-cost watching through a router (the cross-network set-up): `dora router` on a free port and
# a daemon in client mode (ZENOH_CONFIG), running a producer whose output only a node on the same
# machine consumes. The daemon asks the router who subscribes (a Zenoh interest): nobody at
# first, so nothing is published; `dora topic echo` with the same client configuration gets the
# messages (the daemon says it publishes), and once it is gone the daemon stops. A watcher that
# is killed (SIGKILL, no goodbye) is noticed the same way.
#   watch_router_test.sh <dora binary> <test node binary>
set -euo pipefail
DORA=$1
NODE=$2
source "$(dirname "$0")/cluster_lib.sh"

RPORT=$(free_port)
"$DORA" router --listen "tcp/127.0.0.1:$RPORT" >"$WORK/router.log" 2>&1 &
PIDS+=($!)
echo "{mode: \"client\", connect: {endpoints: [\"tcp/127.0.0.1:$RPORT\"]}}" >"$WORK/client.json5"
start_coordinator
ZENOH_CONFIG=$WORK/client.json5 start_daemon a
wait_for_daemons 1
cat >"$WORK/flow.yml" <<YAML
nodes:
  - id: source
    path: $NODE
    args: producer --count 0 --size 64 --interval-ms 50 --for-ms 600000
    _unstable_deploy: {machine: a}
    outputs: [out]
  - id: sink
    path: $NODE
    args: consumer
    _unstable_deploy: {machine: a}
    inputs: {in: source/out}
YAML
"$DORA" start "$WORK/flow.yml" --name local --detach >"$WORK/start.out" 2>&1 ||
    fail "start: $(cat "$WORK/start.out")"
wait_for 20 grep -q "node \`source\` is ready" "$WORK/daemon-a.log" || fail "source not ready"
sleep 1
grep -q "a watcher subscribed" "$WORK/daemon-a.log" && fail "published before anyone watched"

ZENOH_CONFIG=$WORK/client.json5 timeout 20 "$DORA" topic echo local source/out --count 3 \
    >"$WORK/echo.out" 2>"$WORK/echo.err" || fail "topic echo through the router: $(cat "$WORK/echo.err")"
[[ $(grep -c "^source/out: bytes\[64\]" "$WORK/echo.out") == 3 ]] || fail "echo: $(cat "$WORK/echo.out")"
grep -q "a watcher subscribed to source/out: publishing it" "$WORK/daemon-a.log" ||
    fail "the daemon did not publish for the watcher"
wait_for 10 grep -q "no watcher of source/out any more" "$WORK/daemon-a.log" ||
    fail "the daemon kept publishing after the watcher left"

# A watcher killed without a goodbye.
ZENOH_CONFIG=$WORK/client.json5 "$DORA" topic echo local source/out >"$WORK/echo2.out" 2>&1 &
watcher=$!
PIDS+=($watcher)
wait_for 10 grep -q "^source/out: " "$WORK/echo2.out" || fail "the second watcher saw nothing"
kill -9 "$watcher"
wait_for 15 bash -c "[[ \$(grep -c 'no watcher of source/out any more' '$WORK/daemon-a.log') == 2 ]]" ||
    fail "the daemon kept publishing for a killed watcher"
echo "watch_router_test: ok"
