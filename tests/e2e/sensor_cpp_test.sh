#!/usr/bin/env bash
# e2e: the sensor network's C++ nodes, built out of tree against an installed node API
# (find_package(dora)), run by the demo on four loopback daemons until the aggregator has
# received from all three sensors (then stopped as Ctrl-C would): it prints the same lines as
# the Python one, and its final summary counts 3 active sensors.
#   sensor_cpp_test.sh <dora binary> <source dir> <build dir>
set -euo pipefail
DORA=$1
SRC=$2
BUILD=$3
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
e2e_workdir cpp

cmake --install "$BUILD" --component node --prefix "$WORK/prefix" >/dev/null
mkdir "$WORK/example"
(cd "$SRC/examples/sensor-network" &&
    cp CMakeLists.txt sensor_node.cpp cloud_node.cpp dataflow_cpp.yml "$WORK/example/")
cmake -S "$WORK/example" -B "$WORK/example/build" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
    >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; fail "configure"; }
cmake --build "$WORK/example/build" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "build"; }

# The demo runs until every sensor's reading has reached the aggregator, then is stopped as
# Ctrl-C would stop it; the aggregator prints its final summary on the stop.
start_stamped "$OUT" bash "$SRC/scripts/demo.sh" --dora "$DORA" \
    --dataflow "$WORK/example/dataflow_cpp.yml"
received_all() {
    local sensor
    for sensor in sensor_temp sensor_humidity sensor_pressure; do
        grep -Eq "cloud-aggregator on daemon \`cloud\`: stdout    >> \[[0-9]{5}\] Received from $sensor: " \
            "$OUT" || return 1
    done
}
wait_for 30 received_all || { show; fail "not every sensor reached the aggregator"; }
kill -TERM "$COMMAND_PID"
status=0
wait "$COMMAND_PID" || status=$?
wait "$STAMP_PID"
((status == 0)) || { show; fail "demo with the C++ nodes exited with $status"; }
grep -Eq 'sensor-temp on daemon `edge1`: stdout    \[[0-9]{4}\] Sent: temperature=[0-9.]+celsius' \
    "$OUT" || { show; fail "the C++ sensor's output line"; }
grep -q "Active sensors: 3/3" "$OUT" || { show; fail "no summary with 3 sensors"; }
left=$(marked_pids)
[[ -z $left ]] || { ps -o pid,cmd -p "${left//$'\n'/,}" >&2; fail "processes left behind"; }
echo "sensor network with C++ nodes: ok"
