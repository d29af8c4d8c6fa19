#!/usr/bin/env bash
# e2e: the sensor network across separate networks, joined only by a router host.
#
#   edge LAN 10.77.1.0/24: edge1 .11, edge2 .12, edge3 .13, router .1
#   cloud LAN 10.77.2.0/24: cloud .10, router .1
#
# Every host is a network namespace; each LAN is a bridge in a private "switch" namespace,
# joined to the hosts by veth pairs, so nothing touches this machine's own network. The router
# host does not forward IP: an edge can reach the cloud only through the Zenoh router
# (`dora router`) running there, which is also where the coordinator runs (with a cluster
# token, since no daemon is on its loopback). Every daemon uses ZENOH_CONFIG in client mode with
# the router as its endpoint, and multicast scouting off. Asserts the cloud aggregator gets all
# three sensors and `dora zenoh sub 'dora/**'` on the router host sees their readings.
#   sensor_netns_router_test.sh <dora binary> <source dir>
# Exit 77 (skipped) when not root or `ip netns` is unavailable.
set -euo pipefail
DORA=$1
SRC=$2
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
netns_test netns

netns_router_hosts dsn 10.77
if ip netns exec "$(ns edge1)" ip route get "${ADDR[cloud]}" >/dev/null 2>&1; then
    fail "edge1 has a route to the cloud; the test needs separate networks"
fi

# The cluster token, the example's Zenoh config with the router's address on each LAN.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/token"
for lan in edge cloud; do
    sed "s#203.0.113.10#${ROUTER_ADDR[$lan]}#" "$SRC/examples/sensor-network/zenoh_config.json5" \
        >"$WORK/zenoh-$lan.json5"
    grep -q "tcp/${ROUTER_ADDR[$lan]}:7447" "$WORK/zenoh-$lan.json5" || fail "zenoh config"
done

on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
ip netns exec "$(ns router)" "$DORA" router --listen tcp/0.0.0.0:7447 --no-multicast-scouting \
    >"$WORK/router.log" 2>&1 &
ip netns exec "$(ns router)" "$DORA" coordinator --token-file "$WORK/token" \
    >"$WORK/coordinator.log" 2>&1 &
listening() { grep -q "$2" "$WORK/$1.log"; }
wait_for 20 listening router 'listening on tcp/0.0.0.0:7447' || fail "router: $(cat "$WORK/router.log")"
wait_for 20 listening coordinator 'coordinator listening' || fail "coordinator did not start"
ip netns exec "$(ns router)" "$DORA" zenoh sub 'dora/**' -m client -e tcp/127.0.0.1:7447 \
    --no-multicast-scouting >"$WORK/sub.log" 2>&1 &
for h in edge1 edge2 edge3 cloud; do
    ZENOH_CONFIG=$WORK/zenoh-${LAN[$h]}.json5 ip netns exec "$(ns "$h")" "$DORA" daemon \
        --machine-id "$h" --coordinator-addr "${ROUTER_ADDR[${LAN[$h]}]}" \
        --token-file "$WORK/token" --local-listen-port 0 >"$WORK/daemon-$h.log" 2>&1 &
done
all_connected() {
    (($(on router "$DORA" list --token-file "$WORK/token" 2>/dev/null | grep -c ' connected ') == 4))
}
wait_for 30 all_connected || { tail -n 5 "$WORK"/daemon-*.log >&2; fail "daemons did not register"; }

start_stamped "$OUT" ip netns exec "$(ns router)" "$DORA" start \
    "$SRC/examples/sensor-network/dataflow.yml" --attach --token-file "$WORK/token"
received_all() {
    local s
    for s in sensor_temp sensor_humidity sensor_pressure; do
        grep -q "Received from $s:" "$OUT" || return 1
        grep -q "output/sensor-${s#sensor_}/reading" "$WORK/sub.log" || return 1
    done
}
wait_for 30 received_all || { show; tail -n 3 "$WORK/sub.log" >&2; fail "not every sensor arrived"; }
has_summary() { (($(summaries_in "$OUT") >= 1)); }
wait_for 20 has_summary || { show; fail "no summary"; }
[[ $(active_sensors "$OUT" 1) == 3 ]] || { show; fail "3 active sensors"; }
grep -m1 'output/sensor-temp/reading' "$WORK/sub.log"

stop_attached
echo "netns router e2e: ok (edges -> router host -> cloud; zenoh sub on the router saw the data)"
