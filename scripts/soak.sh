#!/usr/bin/env bash
# Soak: the sensor network (examples/sensor-network, as scripts/demo.sh runs it: a coordinator and
# daemons edge1, edge2, edge3, cloud on loopback) plus a fast cross-daemon stream (node `blaster`
# on edge1 sends small messages as fast as it can to node `sink` on cloud), for a fixed time.
#   scripts/soak.sh [--minutes N | --seconds N] [options]
#     --minutes N / --seconds N   how long the blaster sends (default 10 minutes)
#     --size B          bytes per stream message (default 64)
#     --queue-size Q    the sink's input queue (default 100)
#     --rss-slack-mib M, --rss-slack-percent P   the RSS bound (default 32 MiB and 25%, below)
#     --dora B, --test-node T   binaries to use (default: build/dev's, built by scripts/setup.sh)
#
# It prints the RSS of every runtime process (coordinator, daemons, nodes, the attached CLI)
# every minute (every quarter of the run for runs under 2 minutes), and at the end, per stream
# and in all: messages sent (the nodes' own counts), received (the receivers' counts) and dropped
# as the runtime reports them (its per-place drop lines for the stream, and the dataflow's end
# line "finished with N message(s) dropped (...)"). It exits 1 unless
#   - sent = received + counted drops, for the stream and for the whole dataflow, and
#   - RSS stayed bounded: no process ends above its baseline (its RSS at the first sample taken a
#     quarter of the run, at most 1 minute, after the start) + max(slack MiB, slack % of it).
# Every process it starts is stopped by PID at the end, also on Ctrl-C or failure; the logs stay
# in the work directory it names when something failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

duration=600
size=64
queue_size=100
slack_mib=32
slack_percent=25
dora=
test_node=
while (($#)); do
    case $1 in
        --minutes) duration=$((${2:?--minutes takes a number} * 60)); shift 2 ;;
        --seconds) duration=${2:?--seconds takes a number}; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --queue-size) queue_size=$2; shift 2 ;;
        --rss-slack-mib) slack_mib=$2; shift 2 ;;
        --rss-slack-percent) slack_percent=$2; shift 2 ;;
        --dora) dora=$(realpath "$2"); shift 2 ;;
        --test-node) test_node=$(realpath "$2"); shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "soak: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
for pair in "seconds:$duration" "size:$size" "queue-size:$queue_size" \
    "rss-slack-mib:$slack_mib" "rss-slack-percent:$slack_percent"; do
    if ! [[ ${pair#*:} =~ ^[0-9]+$ ]] || ((${pair#*:} == 0)); then
        echo "soak: --${pair%%:*} takes a whole number above 0, not '${pair#*:}'" >&2
        exit 2
    fi
done

say() { echo "soak: $*" >&2; }

if [[ -z $dora || -z $test_node ]]; then
    bash scripts/setup.sh dev
    dora=${dora:-$root/build/dev/src/cli/dora}
    test_node=${test_node:-$root/build/dev/tests/dora_test_node}
fi
for binary in "$dora" "$test_node"; do
    [[ -x $binary ]] || { say "$binary is not an executable: build it or name another"; exit 2; }
done

machines=(edge1 edge2 edge3 cloud)
work=$(mktemp -d /tmp/dora-soak.XXXXXX)
# Every process started here, and all their descendants (the nodes), carry this in their
# environment: what is left at the end is found by it, never by name.
export DORA_SOAK_MARKER=soak-$$-$RANDOM$RANDOM
start_pid=
stop_requested=0
trap 'stop_requested=1' INT TERM
# shellcheck source=loopback_cluster.sh
source "$root/scripts/loopback_cluster.sh"

# PIDs of live processes (not zombies) carrying this run's marker.
marked_pids() {
    local dir pid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        if grep -qzx "DORA_SOAK_MARKER=$DORA_SOAK_MARKER" "$dir/environ" 2>/dev/null; then
            [[ $(awk '{print $3}' "$dir/stat" 2>/dev/null) == Z ]] || echo "$pid"
        fi
    done
}

# Stops what this script started: the attached CLI (which stops the dataflow), the daemons, the
# coordinator, then whatever marked process is still there (TERM, then KILL).
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$? pid
    trap '' INT TERM
    if alive "$start_pid"; then
        kill -INT "$start_pid" 2>/dev/null || true
        wait_gone "$start_pid" 20 || kill -KILL "$start_pid" 2>/dev/null || true
    fi
    cluster_stop
    for pid in $(marked_pids); do
        say "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) was left: stopping it"
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if ((rc != 0)); then
        say "logs: $work"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT

# The dataflow: the sensor network's nodes (paths made absolute) and the stream.
example=$root/examples/sensor-network
sed -E "s#^( +path: )([a-z_]+\.py)#\1$example/\2#" "$example/dataflow.yml" >"$work/dataflow.yml"
cat >>"$work/dataflow.yml" <<EOF

  - id: blaster
    _unstable_deploy:
      machine: edge1
    path: $test_node
    args: producer --count 0 --for-ms $((duration * 1000)) --size $size
    outputs:
      - out

  - id: sink
    _unstable_deploy:
      machine: cloud
    path: $test_node
    args: consumer
    inputs:
      in: {source: blaster/out, queue_size: $queue_size}
EOF

cluster_start "$dora" "$work" "${machines[@]}"
control_port=$cluster_control_port
coordinator_pid=$cluster_coordinator_pid
setsid "$dora" start "$work/dataflow.yml" --attach --name soak \
    --coordinator-port "$control_port" >"$work/run.log" 2>&1 &
start_pid=$!
say "coordinator and daemons ${machines[*]} on loopback; dataflow started (logs in $work)"

# The runtime processes now: "name pid" lines (coordinator, daemon:<machine>, node ids, cli).
runtime_processes() {
    local pid node machine
    echo "coordinator $coordinator_pid"
    for machine in "${machines[@]}"; do echo "daemon:$machine ${cluster_daemon_pids[$machine]}"; done
    for pid in $(marked_pids); do
        node=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^DORA_NODE_ID=//p')
        [[ -n $node ]] && echo "$node $pid"
    done
    echo "cli $start_pid"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# Wait until each runtime process has been seen (the blaster's time runs from its own start: on
# a loaded machine it may be done before the slowest Python node is up; its column then shows
# "-").
expected=$((6 + 6))  # coordinator, 4 daemons, cli; 6 nodes
declare -A pid_of=()
names=()
deadline=$((SECONDS + 120))
while ((${#names[@]} < expected)); do
    if ! alive "$start_pid" || ((SECONDS >= deadline || stop_requested)); then
        say "the dataflow did not start its nodes (seen: ${names[*]}):"
        tail -n 30 "$work/run.log" >&2
        exit 1
    fi
    # The counts below come from the logs, not from this table: a node not seen within 30 s only
    # loses its RSS column (said so); an unseen blaster is waited for by time.
    if ((SECONDS >= deadline - 90)); then
        say "not seen within 30 s (no RSS column): $((expected - ${#names[@]})) process(es)"
        break
    fi
    while read -r name pid; do
        [[ -n ${pid_of[$name]:-} ]] && continue
        pid_of[$name]=$pid
        names+=("$name")
    done < <(runtime_processes)
    sleep 0.2
done
t0=$SECONDS

interval=60
((duration >= 120)) || interval=$(((duration + 3) / 4))
baseline_at=$((duration / 4 < 60 ? duration / 4 : 60))
declare -A baseline=() last=() peak=()

row() {  # row LABEL: one line of the RSS table (MiB), and the bookkeeping
    local label=$1 name kib out
    out=$(printf '%-7s' "$label")
    for name in "${names[@]}"; do
        kib=$(rss_kib "${pid_of[$name]}")
        if [[ -z $kib ]]; then
            out+=$(printf ' %*s' "${#name}" -)
            continue
        fi
        out+=$(printf ' %*s' "$(( ${#name} > 6 ? ${#name} : 6 ))" "$(mib "$kib")")
        last[$name]=$kib
        ((kib > ${peak[$name]:-0})) && peak[$name]=$kib
        if [[ -z ${baseline[$name]:-} ]] && ((SECONDS - t0 >= baseline_at)); then
            baseline[$name]=$kib
        fi
    done
    echo "$out"
}

say "running $duration s; RSS in MiB every $interval s (baseline at $baseline_at s)"
header=$(printf '%-7s' time)
for name in "${names[@]}"; do header+=$(printf ' %*s' "$(( ${#name} > 6 ? ${#name} : 6 ))" "$name"); done
echo "$header"
row "0s"
next=$((t0 + interval))
blaster_running() {
    if [[ -n ${pid_of[blaster]:-} ]]; then alive "${pid_of[blaster]}"; else ((SECONDS < t0 + duration + 5)); fi
}
while blaster_running; do
    if ! alive "$start_pid" || ((stop_requested)); then
        say "the dataflow ended early or was interrupted:"; tail -n 30 "$work/run.log" >&2
        exit 1
    fi
    if ((SECONDS >= next)); then
        row "$((SECONDS - t0))s"
        next=$((next + interval))
    fi
    sleep 0.5
done
# The blaster is done: its last row is the one above. The sink drains its queue, sees its input
# closed and prints its counts.
deadline=$((SECONDS + 60))
until grep -q 'total [0-9]' "$work/run.log"; do
    ((SECONDS < deadline)) || { say "the sink never printed its counts"; exit 1; }
    sleep 0.2
done
row "end"

# Stop the dataflow as Ctrl-C would; the attached CLI prints how it ended.
kill -INT "$start_pid"
wait_gone "$start_pid" 30 || { say "the dataflow did not stop within 30 s"; exit 1; }
run_status=0
wait "$start_pid" || run_status=$?
start_pid=

log=$work/run.log
first_number() { grep -oE "$1" "$log" | grep -oE '[0-9]+' | tail -n 1; }
stream_sent=$(first_number 'producer sent [0-9]+')
stream_received=$(first_number 'received in [0-9]+')
api_queue=$(first_number 'dropped in [0-9]+')
egress=$(sed -nE 's/.*output out of node blaster: ([0-9]+) message\(s\) dropped at egress.*/\1/p' "$log" | sort -n | tail -n 1)
link=$(sed -nE 's/.*output out of node blaster: ([0-9]+) message\(s\) dropped on the link.*/\1/p' "$log" | sort -n | tail -n 1)
ingress=$(sed -nE 's/.*input in of node sink: ([0-9]+) message\(s\) dropped at ingress.*/\1/p' "$log" | sort -n | tail -n 1)
queue=$(sed -nE 's/.*sink.*input in dropped ([0-9]+) message\(s\) so far.*/\1/p' "$log" | sort -n | tail -n 1)
echo
echo "--- stream blaster/out (edge1) -> sink/in (cloud), $size-byte messages"
stream_drops=$((${egress:-0} + ${link:-0} + ${ingress:-0} + ${queue:-0}))
printf 'sent %s, received %s, dropped %s (egress %s, link %s, ingress %s, input queue %s; the sink'"'"'s API counted %s)\n' \
    "${stream_sent:-?}" "${stream_received:-?}" "$stream_drops" "${egress:-0}" "${link:-0}" \
    "${ingress:-0}" "${queue:-0}" "${api_queue:-0}"
rate=$((${stream_sent:-0} / duration))
echo "($rate messages/s sent)"

failed=0
# balance WHAT SENT RECEIVED DROPPED: prints whether sent = received + dropped; a missing count
# (the node or the runtime did not print it) fails too.
balance() {
    if [[ -z $2 || -z $3 || -z $4 ]]; then
        echo "$1: sent = received + counted drops: NO (a count is missing: sent '$2'," \
            "received '$3', dropped '$4')"
        failed=1
    elif (($2 == $3 + $4)); then
        echo "$1: sent = received + counted drops: yes"
    else
        echo "$1: sent = received + counted drops: NO ($2 != $3 + $4)"
        failed=1
    fi
}
balance stream "$stream_sent" "$stream_received" "$stream_drops"

echo "--- the whole dataflow (the sensors and the stream)"
sensors_sent=0
for sensor in sensor-temp sensor-humidity sensor-pressure; do
    n=$(sed -nE "s/.*$sensor.*\[0*([0-9]+)\] Sent: .*/\1/p" "$log" | sort -n | tail -n 1)
    sensors_sent=$((sensors_sent + ${n:-0}))
done
# The aggregator's final summary: its "Total Messages".
sensors_received=$(sed -nE 's/.*Total Messages: ([0-9]+).*/\1/p' "$log" | tail -n 1)
end_line=$(grep -E 'finished (successfully|with [0-9]+ message)' "$log" | tail -n 1 || true)
total_dropped=$(sed -nE 's/.*finished with ([0-9]+) message\(s\) dropped.*/\1/p' <<<"$end_line")
[[ $end_line == *"finished successfully"* ]] && total_dropped=0
echo "end line: ${end_line:-(none)}  [dora start exit status $run_status]"
all_sent=$((${stream_sent:-0} + sensors_sent))
all_received=$((${stream_received:-0} + ${sensors_received:-0}))
printf 'sent %s (stream %s, sensors %s), received %s (sink %s, aggregator %s), dropped %s\n' \
    "$all_sent" "${stream_sent:-?}" "$sensors_sent" "$all_received" "${stream_received:-?}" \
    "${sensors_received:-?}" "${total_dropped:-?}"
[[ -n $sensors_received ]] || all_received=
balance dataflow "$all_sent" "$all_received" "$total_dropped"

echo "--- RSS (MiB): baseline at ${baseline_at} s, end, peak; bound = baseline + max(${slack_mib} MiB, ${slack_percent}%)"
rss_ok=1
for name in "${names[@]}"; do
    b=${baseline[$name]:-}
    e=${last[$name]:-}
    [[ -n $b && -n $e ]] || { printf '%-18s (gone before a baseline)\n' "$name"; continue; }
    slack=$((slack_mib * 1024))
    ((b * slack_percent / 100 > slack)) && slack=$((b * slack_percent / 100))
    verdict=bounded
    if ((e > b + slack)); then verdict="GREW past the bound"; rss_ok=0; fi
    printf '%-18s %8s %8s %8s  %s\n' "$name" "$(mib "$b")" "$(mib "$e")" \
        "$(mib "${peak[$name]}")" "$verdict"
done
if ((rss_ok)); then echo "RSS bounded: yes"; else echo "RSS bounded: NO"; failed=1; fi

if ((failed)); then
    say "FAILED (logs kept: $work)"
    exit 1
fi
say "passed: sent = received + counted drops, RSS bounded"
