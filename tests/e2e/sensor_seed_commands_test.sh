#!/usr/bin/env bash
# e2e: the one-machine commands of dora's python-distributed-zenoh example, verbatim, as
# examples/sensor-network/README.md shows them: `dora coordinator`, `dora daemon --machine-id
# edge1`, `... edge2 --local-listen-port 53291` (the port edge1 already has: a warning, not an
# exit), `... edge3 ... 53292`, `... cloud ... 53293`, `dora build dataflow.yml`, `dora start
# dataflow.yml`, each "terminal" a process whose SIGINT acts as Ctrl-C does. They run in a
# private network namespace, so the default ports are free whatever else runs on this machine.
# Asserts edge2's warning, the four registrations, readings from all three sensors, a summary
# with 3 active sensors, and that Ctrl-C in the start terminal prints the final summary and
# ends the dataflow cleanly, and in every other terminal ends that process.
#   sensor_seed_commands_test.sh <dora binary> <source dir>
# Exit 77 (skipped) when not root or `ip netns` is unavailable.
set -euo pipefail
DORA=$(realpath "$1")
SRC=$(realpath "$2")
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "SKIP: needs root and ip netns"
    exit 77
fi
# shellcheck source=sensor_lib.sh
source "$(dirname "$0")/sensor_lib.sh"
e2e_workdir seed

NS=dsn-seed-$$
# shellcheck disable=SC2317  # invoked by the EXIT trap
teardown() {
    local rc=$?
    kill_marked
    ip netns del "$NS" 2>/dev/null
    (exit "$rc")
    e2e_cleanup
}
trap teardown EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

# `dora` on PATH as the user types it; the example's files in a directory of their own.
mkdir "$WORK/bin" "$WORK/example"
ln -s "$DORA" "$WORK/bin/dora"
export PATH=$WORK/bin:$PATH
cp "$SRC"/examples/sensor-network/{sensor_node.py,cloud_node.py,dataflow.yml} "$WORK/example/"
cd "$WORK/example"

# terminal LOG COMMAND...: COMMAND in the namespace with SIGINT at its default, as a terminal's
# foreground job has it (a background job of a script inherits it ignored); sets COMMAND_PID.
terminal() {
    local log=$1
    shift
    start_stamped "$WORK/$log" ip netns exec "$NS" python3 -c \
        'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
        "$@"
}
has() { grep -qs -- "$2" "$WORK/$1"; }

terminal coordinator.log dora coordinator
pids=("$COMMAND_PID")
wait_for 10 has coordinator.log 'coordinator listening' || fail "coordinator: $(cat "$WORK/coordinator.log")"
terminal edge1.log dora daemon --machine-id edge1
pids+=("$COMMAND_PID")
wait_for 10 has edge1.log 'connected to the coordinator' || fail "edge1 did not connect"
terminal edge2.log dora daemon --machine-id edge2 --local-listen-port 53291
pids+=("$COMMAND_PID")
terminal edge3.log dora daemon --machine-id edge3 --local-listen-port 53292
pids+=("$COMMAND_PID")
terminal cloud.log dora daemon --machine-id cloud --local-listen-port 53293
pids+=("$COMMAND_PID")
all_connected() {
    (($(ip netns exec "$NS" dora list 2>/dev/null | grep -cE '^(edge[123]|cloud) +connected') == 4))
}
wait_for 20 all_connected || { tail -n 3 "$WORK"/*.log >&2; fail "not every daemon registered"; }
has edge2.log 'warning: cannot listen on 127.0.0.1:53291: Address already in use' ||
    { cat "$WORK/edge2.log" >&2; fail "edge2 did not warn about the port edge1 has"; }
echo "edge2: $(sed -E 's/^[0-9.]+ //' "$WORK/edge2.log" | head -1 | cut -c1-90)..."

ip netns exec "$NS" dora build dataflow.yml >"$WORK/build.out" 2>&1 ||
    { cat "$WORK/build.out" >&2; fail "dora build dataflow.yml failed"; }
terminal start.log dora start dataflow.yml
start_pid=$COMMAND_PID
start_stamp_pid=$STAMP_PID
OUT=$WORK/start.log
received_all() {
    local s
    for s in sensor_temp sensor_humidity sensor_pressure; do has start.log "Received from $s:" || return 1; done
}
wait_for 15 received_all || { show; fail "not every sensor arrived"; }
has_summary() { (($(summaries_in "$OUT") >= 1)); }
wait_for 20 has_summary || { show; fail "no summary"; }
[[ $(active_sensors "$OUT" 1) == 3 ]] || { show; fail "the first summary lacks 3 active sensors"; }

# Ctrl-C in the start terminal: the final summary, a clean end.
kill -INT "$start_pid"
status=0
wait "$start_pid" || status=$?
wait "$start_stamp_pid"
((status == 0)) || { show; fail "dora start exited with $status after Ctrl-C"; }
stop_line=$(grep -n 'received SIGINT: stopping dataflow' "$OUT" | head -1 | cut -d: -f1)
final_line=$(grep -n 'stdout    === Final Summary ===' "$OUT" | tail -1 | cut -d: -f1)
[[ -n $stop_line && -n $final_line ]] && ((final_line > stop_line)) ||
    { show; fail "no final summary after Ctrl-C"; }
[[ $(active_sensors "$OUT" -1) == 3 ]] || { show; fail "the final summary lacks 3 active sensors"; }
has start.log 'finished successfully' || { show; fail "the dataflow did not finish successfully"; }

# Ctrl-C in the other terminals ends every process.
for pid in "${pids[@]}"; do kill -INT "$pid"; done
gone() { [[ -z $(marked_pids) ]]; }
wait_for 10 gone || { ps -o pid,cmd -p "$(marked_pids | paste -sd, -)" >&2; fail "processes left after Ctrl-C"; }
echo "seed commands e2e: ok ($(summaries_in "$OUT") summaries, Ctrl-C ended the dataflow and every process)"
