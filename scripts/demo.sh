#!/usr/bin/env bash
# The distributed sensor network on one machine: installs what is needed (Debian 12, as root),
# builds the release preset, then starts a coordinator and four daemons on loopback (edge1,
# edge2, edge3, cloud: one per "machine") and runs examples/sensor-network/dataflow.yml on
# them, attached: three Python sensors send readings over Zenoh to the cloud aggregator, which
# prints them and a summary every 10 s. Ctrl-C stops the dataflow (the aggregator prints its
# final summary), then the daemons and the coordinator; nothing is left running.
#   scripts/demo.sh [--duration SECONDS] [--dataflow FILE] [--dora BINARY]
#     --duration S   stop after S seconds (default: run until Ctrl-C)
#     --dataflow F   another dataflow for the same machines (e.g. dataflow_cpp.yml, built first)
#     --dora B       use this dora binary; skips installing and building (what the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

duration=0
dataflow=$root/examples/sensor-network/dataflow.yml
dora=
while (($#)); do
    case $1 in
        --duration) duration=$2; shift 2 ;;
        --dataflow) dataflow=$(realpath "$2"); shift 2 ;;
        --dora) dora=$(realpath "$2"); shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "demo: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
if ! [[ $duration =~ ^[0-9]+$ ]]; then
    echo "demo: --duration takes whole seconds, not '$duration'" >&2
    exit 2
fi

if [[ -z $dora ]]; then
    bash scripts/setup.sh release
    dora=$root/build/release/src/cli/dora
fi

machines=(edge1 edge2 edge3 cloud)
logs=$(mktemp -d /tmp/dora-demo.XXXXXX)
coordinator_pid=
daemon_pids=()
start_pid=
stop_requested=0
trap 'stop_requested=1' INT TERM

say() { echo "demo: $*" >&2; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# Waits up to $2 seconds for process $1 to exit; returns 1 if it still runs.
wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1 || true  # a Ctrl-C kills the sleep; the trap notes it
    done
}

# Stops what this script started, by the PIDs it recorded: the attached CLI first (so the
# dataflow stops and the aggregator prints its last summary), then daemons, then coordinator.
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap '' INT TERM
    if alive "$start_pid"; then
        kill -INT "$start_pid" 2>/dev/null || true
        wait_gone "$start_pid" 20 || { kill -INT "$start_pid" 2>/dev/null || true; }
        wait_gone "$start_pid" 5 || kill -KILL "$start_pid" 2>/dev/null || true
    fi
    local pid
    for pid in "${daemon_pids[@]}" $coordinator_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${daemon_pids[@]}" $coordinator_pid; do
        if ! wait_gone "$pid" 15; then
            say "process $pid ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    if ((rc != 0)); then
        say "logs of the coordinator and daemons: $logs"
    else
        rm -rf "$logs"
    fi
    exit "$rc"
}
trap cleanup EXIT

# Each runtime process gets its own session, so a Ctrl-C in the terminal reaches only this
# script, which then stops everything in order.
setsid "$dora" coordinator --interface 127.0.0.1 --port 0 --control-port 0 \
    >"$logs/coordinator.log" 2>&1 &
coordinator_pid=$!
deadline=$((SECONDS + 20))
until grep -q '^coordinator listening' "$logs/coordinator.log"; do
    if ! alive "$coordinator_pid" || ((SECONDS >= deadline)); then
        say "the coordinator did not start:"; cat "$logs/coordinator.log" >&2; exit 1
    fi
    sleep 0.05 || true
done
line=$(grep -m1 '^coordinator listening' "$logs/coordinator.log")
daemon_port=$(sed -E 's/.*daemons on [^ ]*:([0-9]+),.*/\1/' <<<"$line")
control_port=$(sed -E 's/.*control on [^ ]*:([0-9]+).*/\1/' <<<"$line")
say "coordinator on 127.0.0.1: port $daemon_port for daemons, $control_port for the CLI"

for machine in "${machines[@]}"; do
    setsid "$dora" daemon --machine-id "$machine" --coordinator-addr 127.0.0.1 \
        --coordinator-port "$daemon_port" --local-listen-port 0 >"$logs/daemon-$machine.log" 2>&1 &
    daemon_pids+=($!)
done
deadline=$((SECONDS + 20))
while :; do
    listing=$("$dora" list --coordinator-port "$control_port" 2>/dev/null || true)
    connected=0
    for machine in "${machines[@]}"; do
        grep -Eq "^$machine +connected" <<<"$listing" && connected=$((connected + 1))
    done
    ((connected == ${#machines[@]})) && break
    if ((SECONDS >= deadline || stop_requested)); then
        say "not every daemon registered with the coordinator:"; echo "$listing" >&2
        tail -n 5 "$logs"/daemon-*.log >&2; exit 1
    fi
    sleep 0.1 || true
done
say "daemons ${machines[*]} registered; starting $dataflow"
if ((duration > 0)); then
    say "stopping after $duration s"
else
    say "Ctrl-C stops the dataflow, the daemons and the coordinator"
fi

setsid "$dora" start "$dataflow" --attach --name sensor-network \
    --coordinator-port "$control_port" &
start_pid=$!
deadline=$((SECONDS + duration))
while alive "$start_pid" && ((stop_requested == 0)); do
    ((duration == 0 || SECONDS < deadline)) || break
    sleep 0.2 || true
done
if alive "$start_pid"; then
    kill -INT "$start_pid"
    wait_gone "$start_pid" 20 || { say "the dataflow is slow to stop"; kill -INT "$start_pid"; }
fi
rc=0
wait "$start_pid" || rc=$?
start_pid=
say "dataflow ended (exit status $rc); stopping the daemons and the coordinator"
exit "$rc"
