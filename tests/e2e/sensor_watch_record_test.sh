#!/usr/bin/env bash
# The sensor network seen from outside (issue "see the running system"): four daemons (edge1,
# edge2, edge3, cloud) on loopback run examples/sensor-network. Then:
#   - `dora topic echo sensor-network sensor-temp/reading` prints readings from another machine
#     (decoded: the JSON text the sensor sends as bytes);
#   - `dora topic hz` shows the sensor's 1 s timer rate; `dora top` every node with its pid, CPU
#     and memory;
#   - `dora record` writes 8 s of every output into an MCAP file, which the independent `mcap`
#     Python package reads back (channels, counts, the readings' JSON, HLC timestamps in order);
#   - `dora replay` of that file feeds the aggregator (everything on this machine, as `dora run`):
#     it prints the recorded readings, each sensor's values in the recorded order.
# Runs in the test venv (the `mcap` package).
#   sensor_watch_record_test.sh <dora binary> <source dir>
set -euo pipefail
DORA=$1
SRC=$2
source "$SRC/tests/integration/cluster_lib.sh"
# The nodes' logs go to the example's out/<dataflow id>/: removed with the rest, whatever failed.
OUT_DIRS=()
cleanup_all() {
    for d in "${OUT_DIRS[@]}"; do rm -rf "$SRC/examples/sensor-network/out/$d"; done
    cluster_cleanup
}
trap cleanup_all EXIT

start_coordinator
for m in edge1 edge2 edge3 cloud; do start_daemon "$m"; done
wait_for_daemons 4
FLOW=$SRC/examples/sensor-network/dataflow.yml
"$DORA" start "$FLOW" --name sensor-network --detach >"$WORK/start.out" 2>&1 ||
    fail "start: $(cat "$WORK/start.out")"
ID=$(grep -o '[0-9a-f-]\{36\}' "$WORK/start.out" | head -1)
OUT_DIRS+=("$ID")
wait_for 20 bash -c "cat '$SRC'/examples/sensor-network/out/$ID/log_cloud-aggregator.txt 2>/dev/null | grep -q 'Received from sensor_temp'" ||
    fail "the aggregator received nothing"

# echo: readings of the sensor on edge1, decoded.
timeout 20 "$DORA" topic echo sensor-network sensor-temp/reading --count 2 --compact \
    >"$WORK/echo.out" 2>"$WORK/echo.err" || fail "topic echo: $(cat "$WORK/echo.err")"
[[ $(grep -cE '^sensor-temp/reading: \{"sensor_id":"sensor_temp","sensor_type":"temperature","unit":"celsius","value":[0-9.]+\}$' "$WORK/echo.out") == 2 ]] ||
    fail "topic echo printed: $(cat "$WORK/echo.out")"

# hz: the 1 s timer.
timeout 30 "$DORA" topic hz sensor-network sensor-temp/reading --window 4 --duration 5 \
    >"$WORK/hz.out" 2>&1 || fail "topic hz"
rate=$(grep -oE 'average rate: [0-9.]+' "$WORK/hz.out" | tail -1 | grep -oE '[0-9.]+$')
python3 -c "import sys; r=float(sys.argv[1]); sys.exit(0 if 0.7 <= r <= 1.3 else 1)" "${rate:-0}" ||
    fail "topic hz: expected about 1 Hz, got '${rate:-none}': $(cat "$WORK/hz.out")"

# top: every node of the four machines with its pid, CPU and memory (two refreshes, plain).
timeout 30 "$DORA" top sensor-network -n 2 --refresh-interval 1 >"$WORK/top.out" 2>&1 ||
    fail "top: $(cat "$WORK/top.out")"
for node in sensor-temp sensor-humidity sensor-pressure cloud-aggregator; do
    grep -qE "^$node +(edge[123]|cloud) +[0-9]+ +running .*[0-9.]+ +[0-9.]+ (KiB|MiB)" "$WORK/top.out" ||
        fail "top lacks $node with pid, CPU and memory: $(cat "$WORK/top.out")"
done

# record 8 s of every output.
timeout 30 "$DORA" record sensor-network -o "$WORK/rec.mcap" --duration 8 2>"$WORK/record.err" ||
    fail "record: $(cat "$WORK/record.err")"
grep -qE 'recording 3 output\(s\) of sensor-network .*: [0-9]+ message\(s\)' "$WORK/record.err" ||
    fail "no progress line: $(cat "$WORK/record.err")"
"$DORA" stop sensor-network >"$WORK/stop.out" 2>&1 || fail "stop: $(cat "$WORK/stop.out")"

python3 - "$WORK/rec.mcap" "$WORK/expected.txt" <<'PY' || fail "the recording does not read back"
import json, struct, sys
from mcap.reader import make_reader

counts, expected, last = {}, [], {}
with open(sys.argv[1], "rb") as f:
    reader = make_reader(f)
    summary = reader.get_summary()
    topics = sorted(c.topic for c in summary.channels.values())
    assert topics == ["sensor-humidity/reading", "sensor-pressure/reading",
                      "sensor-temp/reading"], topics
    for schema, channel, message in reader.iter_messages(log_time_order=False):
        assert channel.message_encoding == "dora-arrow", channel.message_encoding
        assert channel.metadata["dataflow_name"] == "sensor-network", channel.metadata
        n = struct.unpack_from("<I", message.data)[0]
        data = message.data[4 + n:]
        # The sensor sends its JSON as bytes (a UInt8 array at the region's start).
        reading = json.loads(bytes(data).rstrip(b"\0").decode())
        sensor = reading["sensor_id"]
        assert channel.topic.startswith(sensor.replace("_", "-")), (channel.topic, sensor)
        assert message.publish_time >= last.get(sensor, 0), "HLC timestamps go back"
        last[sensor] = message.publish_time
        counts[sensor] = counts.get(sensor, 0) + 1
        expected.append(f"{sensor} {reading['sensor_type']}={reading['value']}")
# 8 s of 1 s, 1.5 s and 2 s timers.
assert 6 <= counts.get("sensor_temp", 0) <= 10, counts
assert 4 <= counts.get("sensor_humidity", 0) <= 7, counts
assert 3 <= counts.get("sensor_pressure", 0) <= 6, counts
open(sys.argv[2], "w").write("\n".join(expected) + "\n")
print("recorded:", counts)
PY

# replay into the aggregator, 4 times as fast; it must print the recorded readings in order.
timeout 60 "$DORA" replay "$WORK/rec.mcap" --dataflow "$FLOW" --rate 4 --stop-after 6 \
    >"$WORK/replay.out" 2>&1 || fail "replay: $(tail -20 "$WORK/replay.out")"
OUT_DIRS+=("$(grep -o '[0-9a-f]\{8\}-[0-9a-f-]\{27\}' "$WORK/replay.out" | head -1)")
grep -oE 'Received from [a-z_]+: [a-z]+=[0-9.]+' "$WORK/replay.out" |
    sed -E 's/Received from ([a-z_]+): /\1 /' >"$WORK/replayed.txt"
for sensor in sensor_temp sensor_humidity sensor_pressure; do
    diff <(grep "^$sensor " "$WORK/expected.txt") <(grep "^$sensor " "$WORK/replayed.txt") ||
        fail "$sensor: the aggregator did not get the recorded readings in order"
done
echo "sensor watch/record/replay: ok ($(wc -l <"$WORK/replayed.txt") readings replayed)"
