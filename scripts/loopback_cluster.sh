# shellcheck shell=bash
# A coordinator and one daemon per machine id on loopback, for scripts that run a distributed
# dataflow on one host (demo.sh, soak.sh). Sourced, not run. Every process gets its own session
# (setsid), so a Ctrl-C in the terminal reaches only the calling script, which stops them in order.
#
#   cluster_start DORA LOGDIR MACHINE...   starts them; sets cluster_coordinator_pid,
#                                          cluster_daemon_pids (machine -> pid),
#                                          cluster_daemon_port and cluster_control_port; exits 1 (logs shown) if one does
#                                          not start or register within 20 s, or when the caller
#                                          sets stop_requested=1 meanwhile
#   cluster_stop                           SIGTERM to the daemons and the coordinator, SIGKILL to
#                                          one still running 15 s later
#   alive PID, wait_gone PID SECONDS       helpers

cluster_coordinator_pid=
declare -A cluster_daemon_pids=()
cluster_control_port=
cluster_daemon_port=
stop_requested=${stop_requested:-0}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# Waits up to $2 seconds for process $1 to exit; returns 1 if it still runs.
wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1 || true  # a Ctrl-C kills the sleep; the caller's trap notes it
    done
}

cluster_start() {
    local dora=$1 logs=$2 deadline line machine listing connected
    shift 2
    setsid "$dora" coordinator --interface 127.0.0.1 --port 0 --control-port 0 \
        >"$logs/coordinator.log" 2>&1 &
    cluster_coordinator_pid=$!
    deadline=$((SECONDS + 20))
    until grep -q "^coordinator listening" "$logs/coordinator.log" 2>/dev/null; do
        if ! alive "$cluster_coordinator_pid" || ((SECONDS >= deadline)); then
            echo "the coordinator did not start:" >&2
            cat "$logs/coordinator.log" >&2
            exit 1
        fi
        sleep 0.05 || true
    done
    line=$(grep -m1 '^coordinator listening' "$logs/coordinator.log")
    cluster_daemon_port=$(sed -E 's/.*daemons on [^ ]*:([0-9]+),.*/\1/' <<<"$line")
    cluster_control_port=$(sed -E 's/.*control on [^ ]*:([0-9]+).*/\1/' <<<"$line")
    for machine in "$@"; do
        setsid "$dora" daemon --machine-id "$machine" --coordinator-addr 127.0.0.1 \
            --coordinator-port "$cluster_daemon_port" --local-listen-port 0 \
            >"$logs/daemon-$machine.log" 2>&1 &
        cluster_daemon_pids[$machine]=$!
    done
    deadline=$((SECONDS + 20))
    while :; do
        listing=$("$dora" list --coordinator-port "$cluster_control_port" 2>/dev/null || true)
        connected=0
        for machine in "$@"; do
            grep -Eq "^$machine +connected" <<<"$listing" && connected=$((connected + 1))
        done
        ((connected == $#)) && break
        if ((SECONDS >= deadline || stop_requested)); then
            echo "not every daemon registered with the coordinator:" >&2
            echo "$listing" >&2
            tail -n 5 "$logs"/daemon-*.log >&2
            exit 1
        fi
        sleep 0.1 || true
    done
}

cluster_stop() {
    local pid
    for pid in "${cluster_daemon_pids[@]}" $cluster_coordinator_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${cluster_daemon_pids[@]}" $cluster_coordinator_pid; do
        if ! wait_gone "$pid" 15; then
            echo "process $pid ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}
