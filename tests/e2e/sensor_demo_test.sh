#!/usr/bin/env bash
# e2e: the README's demo (scripts/demo.sh) with --duration, on this build's dora: a coordinator
# and daemons edge1, edge2, edge3, cloud on loopback run the sensor network. Asserts what the
# user should see: readings from all three sensors within a few seconds, summaries every 10 s
# with 3 active sensors and growing counts, a final summary on stop, a clean exit, and no
# process left behind.
#   sensor_demo_test.sh <dora binary> <source dir>
set -euo pipefail
DORA=$1
SRC=$2
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"

e2e_workdir demo

DURATION=23
start_stamped "$OUT" bash "$SRC/scripts/demo.sh" --dora "$DORA" --duration "$DURATION"
status=0
wait "$COMMAND_PID" || status=$?
wait "$STAMP_PID"
((status == 0)) || { show; fail "demo.sh exited with $status"; }

# Readings from every sensor arrive within a few seconds of the start.
started=$(awk '/dataflow start triggered/ { print $1; exit }' "$OUT")
[[ -n $started ]] || { show; fail "no 'dataflow start triggered' line"; }
for sensor in sensor_temp sensor_humidity sensor_pressure; do
    first=$(awk -v s="Received from $sensor:" 'index($0, s) { print $1; exit }' "$OUT")
    [[ -n $first ]] || { show; fail "the aggregator never received from $sensor"; }
    delay=$(awk -v a="$started" -v b="$first" 'BEGIN { printf "%.1f", b - a }')
    awk -v d="$delay" 'BEGIN { exit !(d < 8) }' || fail "$sensor's first reading took $delay s"
    echo "first reading from $sensor after $delay s"
done

# Two periodic summaries (10 s, 20 s) and the final one, each with 3 active sensors and counts
# that grow from one to the next.
n=$(summaries_in "$OUT")
((n >= 3)) || { show; fail "expected at least 3 summaries, saw $n"; }
for ((i = 1; i <= n; i++)); do
    [[ $(active_sensors "$OUT" "$i") == 3 ]] ||
        { summary_block "$OUT" "$i" >&2; fail "summary $i does not have 3 active sensors"; }
done
for sensor in sensor_temp sensor_humidity sensor_pressure; do
    previous=0
    counts=()
    for ((i = 1; i <= n; i++)); do
        count=$(sensor_count "$OUT" "$i" "$sensor")
        [[ -n $count ]] || { summary_block "$OUT" "$i" >&2; fail "summary $i lacks $sensor"; }
        counts+=("$count")
        if ((i < n)); then
            ((count > previous)) || fail "$sensor's count did not grow: ${counts[*]}"
        else
            ((count >= previous)) || fail "$sensor's count went down: ${counts[*]}"
        fi
        previous=$count
    done
    echo "$sensor counts per summary: ${counts[*]}"
done

# The final summary comes after the stop, and the dataflow ends cleanly.
stop_line=$(grep -n 'received SIGINT: stopping dataflow' "$OUT" | head -1 | cut -d: -f1)
final_line=$(grep -n 'stdout    === Final Summary ===' "$OUT" | tail -1 | cut -d: -f1)
last_summary=$(grep -n 'Cloud Aggregator Summary - Total Messages: ' "$OUT" | tail -1 | cut -d: -f1)
[[ -n $stop_line ]] || { show; fail "the demo did not stop the dataflow"; }
[[ -n $final_line ]] && ((final_line > stop_line && last_summary > final_line)) ||
    { show; fail "no final summary after the stop"; }
grep -q 'finished successfully' "$OUT" || { show; fail "the dataflow did not finish successfully"; }

left=$(marked_pids)
[[ -z $left ]] || { ps -o pid,cmd -p "${left//$'\n'/,}" >&2; fail "processes left behind"; }
echo "demo e2e: ok ($n summaries, stopped cleanly, nothing left running)"
