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
# the router as its tls/ endpoint, and multicast scouting off: with the token every link is TLS
# with mutual authentication under the coordinator's cluster CA (the router, the daemons and the
# CLI's `dora zenoh sub` each get a certificate from it). Asserts the cloud aggregator gets all
# three sensors, `dora zenoh sub 'dora/**'` on the router host with the token sees their
# readings, and the same sub from an edge host without the token sees nothing.
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
    grep -q "tls/${ROUTER_ADDR[$lan]}:7447" "$WORK/zenoh-$lan.json5" || fail "zenoh config"
done

on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
listening() { grep -q "$2" "$WORK/$1.log"; }
ip netns exec "$(ns router)" "$DORA" coordinator --token-file "$WORK/token" \
    >"$WORK/coordinator.log" 2>&1 &
wait_for 20 listening coordinator 'coordinator listening' || fail "coordinator did not start"
# The router asks the coordinator for its certificate, and listens on tls/0.0.0.0:7447.
ip netns exec "$(ns router)" "$DORA" router --token-file "$WORK/token" --no-multicast-scouting \
    >"$WORK/router.log" 2>&1 &
wait_for 20 listening router 'listening on tls/0.0.0.0:7447' || fail "router: $(cat "$WORK/router.log")"
grep -q "certificate .dora-router. for .*${ROUTER_ADDR[edge]}.*" "$WORK/router.log" ||
    fail "the router's certificate does not name its edge address: $(cat "$WORK/router.log")"
ip netns exec "$(ns router)" "$DORA" zenoh sub 'dora/**' -m client -e tls/127.0.0.1:7447 \
    --token-file "$WORK/token" --no-multicast-scouting >"$WORK/sub.log" 2>&1 &
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
# A host of the edge LAN without the token reaches the router, and is refused in the handshake.
ip netns exec "$(ns edge1)" env -u DORA_TOKEN timeout 20 "$DORA" zenoh sub 'dora/**' -m client \
    -e "tls/${ROUTER_ADDR[edge]}:7447" --no-multicast-scouting --seconds 3 \
    >"$WORK/stranger-sub.log" 2>&1 || true
! grep -q "Received PUT" "$WORK/stranger-sub.log" || fail "a host without the token read the data"
grep -q "(handshake) closed: certificate verify failed" "$WORK/stranger-sub.log" ||
    fail "the stranger was not told why: $(cat "$WORK/stranger-sub.log")"

stop_attached
echo "netns router e2e: ok (edges -> router host -> cloud over TLS with mTLS; zenoh sub on the router saw the data, a stranger nothing)"
