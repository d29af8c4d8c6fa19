#!/usr/bin/env bash
# e2e: a sensor's machine dies mid-run. The demo (scripts/demo.sh, no --duration) runs the
# sensor network on loopback daemons; once a summary shows 3 active sensors, edge2's daemon is
# killed (SIGKILL, as a power cut would). The aggregator must mark sensor_humidity INACTIVE and
# keep receiving from and reporting the other two; then demo.sh is stopped as Ctrl-C would stop
# it (SIGTERM here: a background job ignores SIGINT; the script traps both alike), and nothing
# is left running (edge2's sensor node included).
#   sensor_daemon_loss_test.sh <dora binary> <source dir>
set -euo pipefail
DORA=$1
SRC=$2
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"

e2e_workdir loss

start_stamped "$OUT" bash "$SRC/scripts/demo.sh" --dora "$DORA"
has_summaries() { (($(summaries_in "$OUT") >= $1)); }
wait_for 30 has_summaries 1 || { show; fail "no first summary within 30 s"; }
[[ $(active_sensors "$OUT" 1) == 3 ]] || { show; fail "3 sensors at first"; }

edge2=$(marked_pid_with daemon --machine-id edge2) || fail "edge2's daemon not found"
humidity_node=$(marked_pid_with sensor_humidity humidity) || fail "edge2's sensor node not found"
# Killed right after a summary: the next one comes 10 s later, well past the aggregator's 5 s
# INACTIVE_AFTER. (Killed at any moment, e.g. after slow PID lookups on a loaded machine, the next
# summary may come within 5 s of humidity's last reading and rightly still show it ACTIVE.)
seen=$(summaries_in "$OUT")
wait_for 30 has_summaries $((seen + 1)) || { show; fail "no summary after $seen"; }
kill -KILL "$edge2"
killed_after=$(summaries_in "$OUT")
echo "killed edge2's daemon (pid $edge2) after summary $killed_after"

# The next summaries: humidity INACTIVE, the other two ACTIVE with growing counts.
wait_for 30 has_summaries $((killed_after + 2)) || { show; fail "summaries stopped coming"; }
for ((i = killed_after + 1; i <= killed_after + 2; i++)); do
    block=$(summary_block "$OUT" "$i")
    [[ $(active_sensors "$OUT" "$i") == 2 ]] || { echo "$block" >&2; fail "summary $i: 2 active"; }
    [[ $(sensor_status "$OUT" "$i" sensor_humidity) == INACTIVE ]] ||
        { echo "$block" >&2; fail "summary $i: sensor_humidity should be INACTIVE"; }
    for sensor in sensor_temp sensor_pressure; do
        [[ $(sensor_status "$OUT" "$i" "$sensor") == ACTIVE ]] ||
            { echo "$block" >&2; fail "summary $i: $sensor should be ACTIVE"; }
        before=$(sensor_count "$OUT" $((i - 1)) "$sensor")
        now=$(sensor_count "$OUT" "$i" "$sensor")
        ((now > before)) || { echo "$block" >&2; fail "summary $i: $sensor stuck at $now"; }
    done
done
echo "after the loss: Active Sensors: $(active_sensors "$OUT" -1)," \
    "sensor_temp count $(sensor_count "$OUT" -1 sensor_temp)," \
    "sensor_humidity $(sensor_status "$OUT" -1 sensor_humidity)"
wait_for 10 bash -c "! kill -0 $humidity_node 2>/dev/null" ||
    fail "edge2's sensor node (pid $humidity_node) outlived its daemon"

# Stop: the demo stops the dataflow, the remaining daemons and the coordinator.
kill -TERM "$COMMAND_PID"
status=0
wait "$COMMAND_PID" || status=$?
wait "$STAMP_PID"
echo "demo.sh exited with $status after SIGTERM"
# demo.sh keeps its daemons' logs when the dataflow did not end with 0 (it may not here).
kept=$(sed -nE 's/.*demo: logs of the coordinator and daemons: (.*)$/\1/p' "$OUT")
[[ -n $kept && -d $kept ]] && cp -r "$kept" "$WORK/demo-logs" && rm -rf "$kept"
grep -q 'demo: dataflow ended' "$OUT" || { show; fail "demo.sh did not end the dataflow"; }
left=$(marked_pids)
[[ -z $left ]] || { ps -o pid,cmd -p "${left//$'\n'/,}" >&2; fail "processes left behind"; }
echo "daemon loss e2e: ok"
