# shellcheck shell=bash
# Shared helpers of the sensor-network e2e tests (sourced, not run).
#
# Every process a test starts carries DORA_E2E_MARKER=<unique> in its environment, and so do
# all their descendants (coordinator, daemons, nodes): `marked_pids` finds exactly what this
# test started, however deep, without matching anyone else's processes by name.

E2E_MARKER=dora-e2e-$$-$RANDOM$RANDOM
export DORA_E2E_MARKER=$E2E_MARKER

# PIDs of live processes (not zombies) whose environment holds this test's marker.
marked_pids() {
    local dir pid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        if grep -qzx "DORA_E2E_MARKER=$E2E_MARKER" "$dir/environ" 2>/dev/null; then
            [[ $(awk '{print $3}' "$dir/stat" 2>/dev/null) == Z ]] || echo "$pid"
        fi
    done
}

# The marked process whose command line contains all of the given words, e.g.
# `marked_pid_with daemon --machine-id edge2`.
marked_pid_with() {
    local pid cmdline word
    for pid in $(marked_pids); do
        cmdline=" $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) "
        for word in "$@"; do
            [[ $cmdline == *" $word "* ]] || continue 2
        done
        echo "$pid"
        return 0
    done
    return 1
}

# Kills what is left of this test's processes (TERM, then KILL after 5 s).
kill_marked() {
    local pids pid
    pids=$(marked_pids)
    [[ -z $pids ]] && return 0
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        [[ -z $(marked_pids) ]] && return 0
        sleep 0.1
    done
    for pid in $(marked_pids); do kill -KILL "$pid" 2>/dev/null || true; done
}

# start_stamped OUT COMMAND...: runs COMMAND in the background with its output (stdout and
# stderr) written to OUT, each line prefixed with the time it was read (epoch seconds, µs).
# Sets COMMAND_PID and STAMP_PID.
# shellcheck disable=SC2034  # both PIDs are for the caller
start_stamped() {
    local out=$1 fifo
    shift
    fifo=$(mktemp -u "$out.fifo.XXXXXX")
    mkfifo "$fifo"
    (
        while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
    ) <"$fifo" >"$out" &
    STAMP_PID=$!
    "$@" >"$fifo" 2>&1 &
    COMMAND_PID=$!
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# The aggregator's summaries, laid out as in dora's python-distributed-zenoh example:
#
#   ======================================================================
#   Cloud Aggregator Summary - Total Messages: 23
#   Active Sensors: 3
#   ======================================================================
#   🟢 ACTIVE | sensor_humidity | humidity     |   89.50 percent  | Count:     7
#   ...
#   ======================================================================
#
# each line behind whatever prefix the output carries (a timestamp, ``<node> on daemon
# `<machine>`: stdout    ``). A summary is complete at its third rule. The summary the timer's
# first tick prints at the start (timers tick at once, as in dora), before any reading, says
# nothing about the network: summaries of 0 messages are not counted.
SUMMARY_RULE=$(printf '=%.0s' {1..70})

# summary_block FILE N: the lines of the N-th complete summary (1-based; -1 = the last), from
# its header line to its closing rule.
summary_block() {
    awk -v want="$2" -v rule="$SUMMARY_RULE" '
        function is_rule() { return length($0) >= 70 && substr($0, length($0) - 69) == rule }
        index($0, "Cloud Aggregator Summary - Total Messages: ") && !/Total Messages: 0$/ {
            n++; block = ""; rules = 1; inside = 1
        }
        inside { block = block $0 "\n" }
        inside && is_rule() && ++rules == 3 { blocks[n] = block; complete = n; inside = 0 }
        END { if (want < 0) want = complete; printf "%s", blocks[want] }' "$1"
}

# summaries_in FILE: the number of complete summaries in FILE (0 when there is no FILE).
summaries_in() {
    [[ -f $1 ]] || { echo 0; return; }
    awk -v rule="$SUMMARY_RULE" '
        function is_rule() { return length($0) >= 70 && substr($0, length($0) - 69) == rule }
        index($0, "Cloud Aggregator Summary - Total Messages: ") && !/Total Messages: 0$/ {
            rules = 1; inside = 1
        }
        inside && is_rule() && ++rules == 3 { complete++; inside = 0 }
        END { print complete + 0 }' "$1"
}

# sensor_field FILE N SENSOR FIELD: from SENSOR's line of the N-th summary (-1: the last),
# its status (ACTIVE or INACTIVE) or its count.
sensor_field() {
    summary_block "$1" "$2" | awk -F' [|] ' -v s="$3" -v field="$4" '
        NF == 5 && $2 == sprintf("%-15s", s) {
            if (field == "status") { n = split($1, words, " "); print words[n] }
            else { sub(/^Count: */, "", $5); print $5 }
            exit
        }'
}
# sensor_count FILE N SENSOR: the count of SENSOR in the N-th summary (-1: the last).
sensor_count() { sensor_field "$1" "$2" "$3" count; }
# sensor_status FILE N SENSOR: ACTIVE or INACTIVE in the N-th summary (-1: the last).
sensor_status() { sensor_field "$1" "$2" "$3" status; }
# active_sensors FILE N: the number after "Active Sensors:" in the N-th summary (-1: the last).
# True once $OUT holds a reading of each of the three sensors at the aggregator.
all_sensors_received() {
    local s
    for s in sensor_temp sensor_humidity sensor_pressure; do
        grep -qs "Received from $s:" "$OUT" || return 1
    done
}

active_sensors() { summary_block "$1" "$2" | sed -nE 's/.*Active Sensors: ([0-9]+)$/\1/p'; }

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# e2e_workdir NAME: makes WORK (a fresh directory) and OUT (the demo's output file in it), gives
# the test its own XDG dirs, and sets an EXIT trap that kills what is left of this test's
# processes and removes WORK, or keeps it for a look when the test failed.
# shellcheck disable=SC2034  # OUT is for the caller
e2e_workdir() {
    WORK=$(mktemp -d "/tmp/dora-e2e-$1.XXXXXX")
    OUT=$WORK/demo.out
    trap e2e_cleanup EXIT
    # The user's token and Zenoh settings stay out of the test (the demo's ports are ephemeral).
    export XDG_CONFIG_HOME=$WORK/config XDG_RUNTIME_DIR=$WORK/run XDG_STATE_HOME=$WORK/state
    mkdir -p "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
    unset DORA_TOKEN ZENOH_CONFIG DORA_COORDINATOR_ADDR DORA_COORDINATOR_PORT
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
e2e_cleanup() {
    local rc=$?
    kill_marked
    # The nodes' logs of the dataflows this test started (out/<uuid>/ next to the dataflow file,
    # where dora writes them) go too: a test leaves nothing in the source tree.
    if [[ -n ${SRC:-} && -f ${OUT:-} ]]; then
        local id
        for id in $(grep -o 'dataflow start triggered: [0-9a-f-]*' "$OUT" | grep -o '[0-9a-f-]*$'); do
            rm -rf "$SRC/examples/sensor-network/out/$id"
        done
    fi
    if ((rc == 0)); then rm -rf "$WORK"; else echo "output kept in $WORK" >&2; fi
}

# stop_attached: Ctrl-C (SIGTERM) to the attached `dora start` of start_stamped; fails unless it
# exits 0 with the dataflow finished successfully.
stop_attached() {
    local status=0
    kill -TERM "$COMMAND_PID"
    wait "$COMMAND_PID" || status=$?
    wait "$STAMP_PID"
    ((status == 0)) || { show; fail "dora start exited with $status"; }
    grep -q 'finished successfully' "$OUT" || { show; fail "the dataflow did not finish cleanly"; }
}

# show: the demo's output without the timestamps and the per-reading lines (for failures).
show() { sed -E 's/^[0-9.]+ //' "$OUT" | grep -v -e ': stdout    \[' -e 'Received from' >&2; }

# --- hosts as network namespaces (the tests across machines) ----------------------------------
# netns_test NAME: what a test across namespace hosts starts with: skipped (exit 77) unless root
# with `ip netns`; its WORK dir (e2e_workdir NAME); an EXIT trap that removes processes, then
# namespaces, then WORK, whatever failed.
netns_test() {
    if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
        echo "SKIP: needs root and ip netns"
        exit 77
    fi
    e2e_workdir "$1"
    trap netns_teardown EXIT
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
netns_teardown() {
    local rc=$?
    set +e
    netns_remove || rc=1
    (exit "$rc")
    e2e_cleanup
}

# netns_hosts PREFIX HOST...: one namespace per host, named by `ns HOST` (PREFIX-HOST-<pid>),
# loopback up, and a private "switch" namespace for the LANs' bridges, so nothing touches this
# machine's own network. Call netns_remove from the EXIT trap, set before this.
netns_hosts() {
    local h
    NETNS_PREFIX=$1
    shift
    NETNS_HOSTS=("$@")
    NETNS_PORTS=0
    ip netns add "$(ns sw)"
    for h in "$@"; do
        ip netns add "$(ns "$h")"
        ip -n "$(ns "$h")" link set lo up
    done
}
ns() { echo "$NETNS_PREFIX-$1-$$"; }
# netns_lan LAN: a bridge for LAN in the switch.
netns_lan() {
    ip -n "$(ns sw)" link add "br-$1" type bridge
    ip -n "$(ns sw)" link set "br-$1" up
}
# netns_plug HOST LAN IFNAME ADDRESS: a veth from HOST's IFNAME (ADDRESS/24) to LAN's bridge.
netns_plug() {
    local port=p$((NETNS_PORTS++))
    ip link add "$port" netns "$(ns sw)" type veth peer name "$3" netns "$(ns "$1")"
    ip -n "$(ns sw)" link set "$port" master "br-$2" up
    ip -n "$(ns "$1")" addr add "$4/24" dev "$3"
    ip -n "$(ns "$1")" link set "$3" up
}
# netns_remove: ends every process in the hosts (everything in them is the test's: TERM, then
# kill_marked, then KILL) and removes the namespaces with their veths; 1 (and a message) when
# a process or namespace is left behind.
# shellcheck disable=SC2317  # invoked by EXIT traps
netns_remove() {
    local h pid
    [[ -n ${NETNS_PREFIX:-} ]] || return 0
    for h in "${NETNS_HOSTS[@]}"; do
        for pid in $(ip netns pids "$(ns "$h")" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
    done
    kill_marked
    for h in "${NETNS_HOSTS[@]}"; do
        for pid in $(ip netns pids "$(ns "$h")" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$(ns "$h")" 2>/dev/null
    done
    ip netns del "$(ns sw)" 2>/dev/null
    if [[ -n $(marked_pids) ]] || ip netns list | grep -q -- "^$NETNS_PREFIX-.*-$$\b"; then
        echo "FAILED: processes or namespaces left behind" >&2
        return 1
    fi
}

# netns_router_hosts PREFIX NET: the hosts of the tests across separate networks, joined only by
# a router host that forwards no IP:
#   edge LAN  NET.1.0/24: edge1 .11, edge2 .12, edge3 .13, router .1
#   cloud LAN NET.2.0/24: cloud .10, router .1
# Sets HOSTS, ADDR[host], LAN[host] (edge or cloud) and ROUTER_ADDR[lan].
# shellcheck disable=SC2034  # the arrays are for the caller
netns_router_hosts() {
    local net=$2 h
    HOSTS=(router edge1 edge2 edge3 cloud)
    declare -gA ADDR=([edge1]=$net.1.11 [edge2]=$net.1.12 [edge3]=$net.1.13 [cloud]=$net.2.10)
    declare -gA LAN=([edge1]=edge [edge2]=edge [edge3]=edge [cloud]=cloud)
    declare -gA ROUTER_ADDR=([edge]=$net.1.1 [cloud]=$net.2.1)
    netns_hosts "$1" "${HOSTS[@]}"
    netns_lan edge
    netns_lan cloud
    ip netns exec "$(ns router)" sysctl -qw net.ipv4.ip_forward=0
    netns_plug router edge eth0 "${ROUTER_ADDR[edge]}"
    netns_plug router cloud eth1 "${ROUTER_ADDR[cloud]}"
    for h in edge1 edge2 edge3 cloud; do netns_plug "$h" "${LAN[$h]}" eth0 "${ADDR[$h]}"; done
}
