#!/usr/bin/env bash
# e2e: the sensor network on machines that do not have its files (issue 15). Every host is a
# network namespace on one LAN (laptop .5, cloud .10, edge1 .11, edge2 .12, edge3 .13); each
# daemon also runs in a mount namespace of its own, with its own /etc/machine-id and the
# laptop's copy of the example hidden under an empty tmpfs, so only the laptop (where the CLI
# runs) has the dataflow's directory; every daemon starts with an empty work directory. `dora
# start` on the laptop sends each machine the files, the nodes run in the daemons' copies, the
# aggregator gets all three sensors; a second start sends nothing.
#   sensor_netns_ship_test.sh <dora binary> <source dir>
# Exit 77 (skipped) when not root, or without `ip netns` or `unshare --mount`.
set -euo pipefail
DORA=$(realpath "$1")
SRC=$(realpath "$2")
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
if [[ $(id -u) -eq 0 ]] && ! unshare --mount true 2>/dev/null; then
    echo "SKIP: needs unshare --mount"
    exit 77
fi
netns_test netns-ship

HOSTS=(laptop cloud edge1 edge2 edge3)
declare -A ADDR=([laptop]=10.78.1.5 [cloud]=10.78.1.10 [edge1]=10.78.1.11 [edge2]=10.78.1.12 [edge3]=10.78.1.13)
netns_hosts dsh "${HOSTS[@]}"
netns_lan lan
for h in "${HOSTS[@]}"; do netns_plug "$h" lan eth0 "${ADDR[$h]}"; done

# The laptop's copy of the example: the only one.
FLOW=$WORK/laptop/sensor-network
mkdir -p "$FLOW"
cp "$SRC"/examples/sensor-network/{dataflow.yml,sensor_node.py,cloud_node.py} "$FLOW/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/token"

on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
ip netns exec "$(ns cloud)" "$DORA" coordinator --token-file "$WORK/token" \
    >"$WORK/coordinator.log" 2>&1 &
listening() { grep -qs "$2" "$WORK/$1.log"; }
wait_for 20 listening coordinator 'coordinator listening' || fail "coordinator did not start"
for h in cloud edge1 edge2 edge3; do
    mkdir -p "$WORK/work-$h"
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/machine-id-$h"
    # The daemon's own machine: its /etc/machine-id, and no laptop directory.
    ip netns exec "$(ns "$h")" unshare --mount sh -c \
        'mount -t tmpfs -o size=64k tmpfs "$1" && mount --bind "$2" /etc/machine-id &&
         exec "$3" daemon --machine-id "$4" --coordinator-addr "$5" --token-file "$6" \
             --local-listen-port 0 --work-dir "$7"' \
        sh "$WORK/laptop" "$WORK/machine-id-$h" "$DORA" "$h" "${ADDR[cloud]}" "$WORK/token" \
        "$WORK/work-$h" >"$WORK/daemon-$h.log" 2>&1 &
done
all_connected() {
    (($(on cloud "$DORA" list --token-file "$WORK/token" 2>/dev/null | grep -c ' connected ') == 4))
}
wait_for 30 all_connected || { tail -n 5 "$WORK"/daemon-*.log >&2; fail "daemons did not register"; }
edge1_pid=$(marked_pid_with daemon --machine-id edge1) || fail "no edge1 daemon"
[[ -f /proc/$edge1_pid/root/etc/machine-id ]] || fail "cannot look into edge1's files"
[[ $(cat "/proc/$edge1_pid/root/etc/machine-id") == $(cat "$WORK/machine-id-edge1") ]] ||
    fail "edge1 has this machine's /etc/machine-id"
[[ ! -e /proc/$edge1_pid/root$FLOW/dataflow.yml ]] || fail "edge1 sees the laptop's directory"

cd "$FLOW"
start_stamped "$OUT" ip netns exec "$(ns laptop)" "$DORA" start dataflow.yml --attach \
    --coordinator-addr "${ADDR[cloud]}" --token-file "$WORK/token"
wait_for 40 all_sensors_received || { show; tail -n 5 "$WORK"/daemon-*.log >&2; fail "not every sensor arrived"; }
grep -q "sending 3 of the dataflow's 3 file(s)" "$OUT" || { show; fail "what was sent"; }
grep -q 'to `cloud`, `edge1`, `edge2`, `edge3`' "$OUT" || { show; fail "where it was sent"; }
id=$(grep -o 'dataflow start triggered: [0-9a-f-]*' "$OUT" | grep -o '[0-9a-f-]*$')
for h in cloud edge1 edge2 edge3; do
    [[ -f $WORK/work-$h/$id/sensor_node.py ]] || fail "$h has no copy of the files"
    grep -q "received 3 files" "$WORK/daemon-$h.log" || fail "$h did not receive the 3 files"
done
[[ -s $WORK/work-edge1/$id/out/$id/log_sensor-temp.txt ]] || fail "sensor-temp did not run in edge1's copy"
stop_attached

# Again: every machine has the files now.
on laptop "$DORA" start dataflow.yml --detach --coordinator-addr "${ADDR[cloud]}" \
    --token-file "$WORK/token" >"$WORK/second.out" 2>&1 || { cat "$WORK/second.out"; fail "second start"; }
grep -q 'nothing to send: `cloud`, `edge1`, `edge2`, `edge3` have the dataflow' "$WORK/second.out" ||
    { cat "$WORK/second.out"; fail "the second start sent files again"; }
running() {
    on laptop "$DORA" list --coordinator-addr "${ADDR[cloud]}" --token-file "$WORK/token" |
        grep -q ' running '
}
wait_for 30 running || fail "the second start did not run"
on laptop "$DORA" stop --coordinator-addr "${ADDR[cloud]}" --token-file "$WORK/token" >/dev/null
cd /
echo "netns ship e2e: ok (the sensor network ran from a directory only the CLI's machine has)"
