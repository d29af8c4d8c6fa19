#!/usr/bin/env bash
# e2e: the sensor network's C++ nodes, built out of tree against an installed node API
# (find_package(dora)):
#  1. the C++ float formatting (python_float.hpp) writes what Python's repr() writes, for
#     200,000 values (the sensors' range, whole numbers, random bit patterns, edge cases);
#  2. the C++ aggregator prints byte for byte the Python aggregator's lines when both get the
#     same scripted readings and summary ticks (`dora run`, one feeder node), a sensor that goes
#     silent included;
#  3. the demo runs the C++ dataflow on four loopback daemons until the aggregator has received
#     from all three sensors, then is stopped as Ctrl-C would stop it: its final summary counts
#     3 active sensors and nothing is left running.
#   sensor_cpp_test.sh <dora binary> <source dir> <build dir>
set -euo pipefail
DORA=$(realpath "$1")
SRC=$(realpath "$2")
BUILD=$(realpath "$3")
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
e2e_workdir cpp
EX=$WORK/example

cmake --install "$BUILD" --component node --prefix "$WORK/prefix" >/dev/null
mkdir "$EX"
(cd "$SRC/examples/sensor-network" &&
    cp CMakeLists.txt python_float.hpp sensor_node.cpp cloud_node.cpp cloud_node.py \
        dataflow_cpp.yml "$EX/")
cmake -S "$EX" -B "$EX/build" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
    >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$EX/build" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

# 1. python_float against repr(), values passed exactly as hex floats.
cat >"$WORK/repr.cpp" <<'CPP'
#include <cstdio>
#include <cstdlib>

#include "python_float.hpp"

int main() {
    char line[128];
    while (std::fgets(line, sizeof line, stdin)) {
        std::printf("%s\n", python_float(std::strtod(line, nullptr)).c_str());
    }
}
CPP
c++ -std=c++20 -O1 -I"$EX" "$WORK/repr.cpp" -o "$WORK/repr"
python3 - "$WORK/repr" <<'PY'
import random, struct, subprocess, sys
values = [0.0, -0.0, 1007.0, 21.7, 23.45, 1e16, 9999999999999998.0, 1e-4, 1e-5, 0.0001234,
          1e5, 1.5e300, 5e-324, 1.7976931348623157e308, 100.0, 0.1, 1e15, 1e22, 2.0**53]
random.seed(7)
for _ in range(100000):
    low, high = random.choice([(15, 35), (30, 90), (980, 1050), (0, 100)])
    values.append(round(random.uniform(low, high), 2))
    values.append(struct.unpack("<d", struct.pack("<Q", random.getrandbits(64)))[0])
values = [v for v in values if v == v and abs(v) != float("inf")]
values += [float("inf"), float("-inf"), float("nan")]
out = subprocess.run([sys.argv[1]], input="".join(v.hex() + "\n" for v in values),
                     capture_output=True, text=True, check=True).stdout.splitlines()
wrong = [(repr(v), got) for v, got in zip(values, out) if repr(v) != got]
if len(out) != len(values) or wrong:
    sys.exit(f"FAILED: python_float differs from repr() (expected, got): {wrong[:5]}")
print(f"python_float equals repr() for {len(values)} values")
PY

# 2. Both aggregators on the same scripted input. The feeder sends one reading per tick, a
# summary tick after each phase, and exits at the end (both aggregators then see their inputs
# close and print the final summary). In phase 2 only sensor_b speaks for 6 s, so sensor_a is
# INACTIVE in the second summary.
cat >"$EX/feeder.py" <<'PY'
import json
from dora import Node

def reading(sensor_id, sensor_type, value, unit):
    return ("reading", json.dumps({"sensor_id": sensor_id, "sensor_type": sensor_type,
                                   "value": value, "unit": unit}).encode())

script = [reading("sensor_a", "temperature", v, "celsius")
          for v in (23.45, 21.7, 15.0, 34.99, 0.1, -0.0, 20)]
script += [reading("sensor_b", "pressure", v, "hPa") for v in (1007.0, 1049.995, 980.01)]
script += [reading("a_sensor_with_a_long_id", "a_long_sensor_type", v, "units_long")
           for v in (1e-05, 1e16, 123456.789, 99999.99)]
script += [("summary", b"")]
script += [reading("sensor_b", "pressure", 1000.0 + i / 4, "hPa") for i in range(60)]
script += [("summary", b"")]
node = Node()
for event in node:
    if event["type"] == "INPUT":
        if not script:
            break
        output, data = script.pop(0)
        node.send_output(output, data)
PY
cat >"$EX/compare.yml" <<'YML'
nodes:
  - id: feeder
    path: feeder.py
    inputs:
      tick: dora/timer/millis/100
    outputs:
      - reading
      - summary
  # Room for every reading: an aggregator that starts slowly (a loaded machine, the sanitizers)
  # must not lose the first ones, or the two would compare different inputs.
  - id: cloud-py
    path: cloud_node.py
    inputs:
      readings: {source: feeder/reading, queue_size: 1000}
      summary: {source: feeder/summary, queue_size: 1000}
  - id: cloud-cpp
    path: build/cloud_node
    inputs:
      readings: {source: feeder/reading, queue_size: 1000}
      summary: {source: feeder/summary, queue_size: 1000}
YML
if [[ -f $BUILD/python/dora/__init__.py ]]; then
    (cd "$EX" && "$DORA" run compare.yml --stop-after 30 >"$WORK/compare.out" 2>&1) ||
        { tail -40 "$WORK/compare.out"; echo "FAILED: dora run compare.yml"; exit 1; }
    stdout_of() { cat "$EX"/out/*/"log_$1.txt"; }  # the aggregators write nothing to stderr
    stdout_of cloud-py >"$WORK/py.txt"
    stdout_of cloud-cpp >"$WORK/cpp.txt"
    if ! cmp -s "$WORK/py.txt" "$WORK/cpp.txt"; then
        diff "$WORK/py.txt" "$WORK/cpp.txt" | head -40
        echo "FAILED: the C++ aggregator's lines differ from the Python one's"
        exit 1
    fi
    for line in '>> [00002] Received from sensor_a: temperature=21.7celsius' \
        '>> [00008] Received from sensor_b: pressure=1007.0hPa' \
        '>> [00011] Received from a_sensor_with_a_long_id: a_long_sensor_type=1e-05units_long' \
        '🔴 INACTIVE | sensor_a        | temperature  |   20.00 celsius  | Count:     7' \
        '🟢 ACTIVE | sensor_b        | pressure     | 1014.75 hPa      | Count:    63' \
        '=== Final Summary ==='; do
        grep -qxF -- "$line" "$WORK/py.txt" ||
            { cat "$WORK/py.txt"; echo "FAILED: no line '$line'"; exit 1; }
    done
    echo "the C++ and Python aggregators print the same $(wc -l <"$WORK/py.txt") lines"
else
    echo "SKIPPED the comparison with the Python aggregator: no dora Python package in $BUILD"
fi

# 3. The demo with the C++ dataflow, until every sensor's reading has reached the aggregator,
# then stopped as Ctrl-C would stop it; the aggregator prints its final summary on the stop.
start_stamped "$OUT" bash "$SRC/scripts/demo.sh" --dora "$DORA" --dataflow "$EX/dataflow_cpp.yml"
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
[[ $(active_sensors "$OUT" -1) == 3 ]] || { show; fail "no final summary with 3 active sensors"; }
left=$(marked_pids)
[[ -z $left ]] || { ps -o pid,cmd -p "${left//$'\n'/,}" >&2; fail "processes left behind"; }
echo "sensor network with C++ nodes: ok"
