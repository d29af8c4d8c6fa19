#!/usr/bin/env bash
# e2e: the sensor network's C++ nodes, built out of tree against an installed node API
# (find_package(dora)), run by the demo on four loopback daemons: the aggregator receives from
# all three sensors and prints the same lines as the Python one.
#   sensor_cpp_test.sh <dora binary> <source dir> <build dir>
set -euo pipefail
DORA=$1
SRC=$2
BUILD=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cmake --install "$BUILD" --component node --prefix "$WORK/prefix" >/dev/null
mkdir "$WORK/example"
(cd "$SRC/examples/sensor-network" &&
    cp CMakeLists.txt sensor_node.cpp cloud_node.cpp dataflow_cpp.yml "$WORK/example/")
cmake -S "$WORK/example" -B "$WORK/example/build" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
    >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/example/build" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

status=0
bash "$SRC/scripts/demo.sh" --dora "$DORA" --dataflow "$WORK/example/dataflow_cpp.yml" \
    --duration 6 >"$WORK/demo.out" 2>&1 || status=$?
if ((status != 0)); then
    tail -40 "$WORK/demo.out"
    echo "FAILED: demo with the C++ nodes exited with $status"
    exit 1
fi
for sensor in sensor_temp sensor_humidity sensor_pressure; do
    grep -Eq "cloud-aggregator on daemon \`cloud\`: stdout    >> \[[0-9]{5}\] Received from $sensor: " \
        "$WORK/demo.out" || { tail -40 "$WORK/demo.out"; echo "FAILED: nothing from $sensor"; exit 1; }
done
grep -Eq 'sensor-temp on daemon `edge1`: stdout    \[[0-9]{4}\] Sent: temperature=[0-9.]+celsius' \
    "$WORK/demo.out" || { echo "FAILED: the C++ sensor's output line"; exit 1; }
grep -q "Active sensors: 3/3" "$WORK/demo.out" || { echo "FAILED: no summary with 3 sensors"; exit 1; }
echo "sensor network with C++ nodes: ok"
