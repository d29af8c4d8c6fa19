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
start_pid=
stop_requested=0
trap 'stop_requested=1' INT TERM
# shellcheck source=loopback_cluster.sh
source "$root/scripts/loopback_cluster.sh"

say() { echo "demo: $*" >&2; }

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
    cluster_stop
    wait 2>/dev/null || true
    if ((rc != 0)); then
        say "logs of the coordinator and daemons: $logs"
    else
        rm -rf "$logs"
    fi
    exit "$rc"
}
trap cleanup EXIT

cluster_start "$dora" "$logs" "${machines[@]}"
control_port=$cluster_control_port
say "coordinator on 127.0.0.1: port $cluster_daemon_port for daemons, $control_port for the CLI"
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
