# Shared by the shell integration tests that run a coordinator and daemons on loopback.
# Source it after setting DORA; it sets WORK (a scratch dir) and an EXIT trap that stops every
# process recorded in PIDS (by PID) and removes WORK.
#   start_coordinator [DP CP]    -> DPORT (daemons), CPORT (CLI, also DORA_COORDINATOR_PORT),
#                                COORDINATOR (its PID); on ports DP and CP when given (from
#                                free_port: a test can start it again on the same ones); log in
#                                $WORK/coordinator.log, then coordinator-2.log, ...
#   start_daemon MACHINE [TAG]   -> LAST (its PID); log in $WORK/daemon-MACHINE[-TAG].log
#   start_dynamic_daemon         the default daemon with a free local listen port for dynamic
#                                nodes -> LPORT, also exported as DORA_DAEMON_PORT
#   free_port                    prints a TCP port on 127.0.0.1 that was free a moment ago
#   wait_for SECONDS CMD...      until CMD succeeds
#   wait_for_daemons N           until N daemons are connected
#   fail MESSAGE                 print logs and exit 1
WORK=$(mktemp -d)
PIDS=()
# Only this test's coordinator, token and Zenoh settings: nothing of the user's or of other dora
# processes on the machine (6012/53290/53291) can meet the test.
export XDG_RUNTIME_DIR=$WORK/run XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
unset DORA_TOKEN ZENOH_CONFIG
cluster_cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cluster_cleanup EXIT

fail() {
    echo "FAILED: $*"
    for f in "$WORK"/*.log "$WORK"/*.out; do
        [[ -f $f ]] && { echo "== $f"; tail -15 "$f"; }
    done
    exit 1
}

wait_for() {
    local limit=$1
    shift
    for _ in $(seq $((limit * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

COORDINATOR_STARTS=0
start_coordinator() {
    COORDINATOR_STARTS=$((COORDINATOR_STARTS + 1))
    local log=$WORK/coordinator.log
    [[ $COORDINATOR_STARTS -eq 1 ]] || log=$WORK/coordinator-$COORDINATOR_STARTS.log
    "$DORA" coordinator --port "${1:-0}" --control-port "${2:-0}" >"$log" 2>&1 &
    COORDINATOR=$!
    PIDS+=($!)
    wait_for 10 grep -q "coordinator listening" "$log" || fail "coordinator start"
    DPORT=$(grep -o "daemons on [0-9.]*:[0-9]*" "$log" | grep -o "[0-9]*$")
    CPORT=$(grep -o "control on [0-9.]*:[0-9]*" "$log" | grep -o "[0-9]*$")
    # CLI verbs reach this coordinator even where a test forgets --coordinator-port.
    export DORA_COORDINATOR_ADDR=127.0.0.1 DORA_COORDINATOR_PORT=$CPORT
}

start_daemon() {
    local machine=$1 tag=${2:+-$2}
    "$DORA" daemon --machine-id "$machine" --coordinator-port "$DPORT" --local-listen-port 0 \
        --work-dir "$WORK/work-$machine" >"$WORK/daemon-$machine$tag.log" 2>&1 &
    PIDS+=($!)
    LAST=$!
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_dynamic_daemon() {
    LPORT=$(free_port)
    "$DORA" daemon --coordinator-port "$DPORT" --local-listen-port "$LPORT" \
        --work-dir "$WORK/work" >"$WORK/daemon.log" 2>&1 &
    PIDS+=($!)
    export DORA_DAEMON_PORT=$LPORT
}

connected_daemons() { "$DORA" list --coordinator-port "$CPORT" 2>/dev/null | grep -c " connected"; }
wait_for_daemons() {
    local n=$1
    for _ in $(seq 100); do
        [[ $(connected_daemons || true) -ge $n ]] && return 0
        sleep 0.1
    done
    fail "$n daemons did not register"
}
