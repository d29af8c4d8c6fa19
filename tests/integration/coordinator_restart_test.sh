#!/usr/bin/env bash
# A coordinator and daemons edge1 and cloud on loopback; a dataflow crossing them started attached.
# Mid-run the coordinator is killed with SIGKILL and started again on the same ports: the nodes run
# on, the attached `dora start` says it lost and regained the coordinator and goes on printing,
# `dora list` shows the dataflow with its name and nodes, `dora logs` and `dora stop` reach it. The
# coordinator is then killed once more and the attached CLI interrupted while it is away: the stop
# is sent once the coordinator is back, the dataflow ends and the CLI exits 0 with "finished
# successfully". Nothing of the dataflow is left running.
#   coordinator_restart_test.sh <dora binary> <test node binary>
set -euo pipefail
DORA=$1
NODE=$2
source "$(dirname "$0")/cluster_lib.sh"
FIXED_DPORT=$(free_port)
FIXED_CPORT=$(free_port)
start_coordinator "$FIXED_DPORT" "$FIXED_CPORT"
start_daemon edge1
start_daemon cloud
wait_for_daemons 2

cat >"$WORK/flow.yml" <<YAML
nodes:
  - {id: relay, path: $NODE, args: relay, inputs: {in: dora/timer/millis/50}, outputs: [out], _unstable_deploy: {machine: edge1}}
  - {id: sink, path: $NODE, args: ticks --print 1, inputs: {in: relay/out}, _unstable_deploy: {machine: cloud}}
YAML
"$DORA" start "$WORK/flow.yml" --name survivor >"$WORK/start.out" 2>&1 &
START=$!
PIDS+=($START)
TICK="sink on daemon \`cloud\`: stdout    tick in"
wait_for 20 grep -q "$TICK 3\$" "$WORK/start.out" || fail "the dataflow does not run"
ID=$(grep -o "dataflow start triggered: [0-9a-f-]*" "$WORK/start.out" | grep -o "[0-9a-f-]*$")
node_pid() { grep -o "$1 on daemon \`$2\`: stdout    pid [0-9]*" "$WORK/start.out" | grep -o "[0-9]*$"; }
RELAY_PID=$(node_pid relay edge1)
SINK_PID=$(node_pid sink cloud)
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^Z' <(ps -o stat= -p "$1"); }

# 1. SIGKILL the coordinator: the CLI waits, the nodes run on.
kill -9 "$COORDINATOR"
wait_for 10 grep -q "lost the coordinator at 127.0.0.1:$FIXED_CPORT" "$WORK/start.out" ||
    fail "the attached CLI did not say it lost the coordinator"
grep -q "waiting for it to come back (Ctrl-C stops the dataflow once it is back)" \
    "$WORK/start.out" || fail "the attached CLI did not say it waits"
kill -0 "$START" || fail "the attached CLI exited when the coordinator was lost"
alive "$RELAY_PID" && alive "$SINK_PID" || fail "the nodes stopped with the coordinator"

# 2. The same coordinator comes back: the CLI re-attaches and streams again.
start_coordinator "$FIXED_DPORT" "$FIXED_CPORT"
wait_for 30 grep -q "re-attached to dataflow $ID" "$WORK/start.out" ||
    fail "the attached CLI did not re-attach"
after_reattach() { sed -n "/re-attached to dataflow/,\$p" "$WORK/start.out"; }
wait_for 10 bash -c "sed -n '/re-attached to dataflow/,\$p' '$WORK/start.out' | grep -q 'tick in'" ||
    fail "no node output after the re-attach"
after_reattach | grep -q "tick in" || fail "no node output after the re-attach"

"$DORA" list >"$WORK/list.out" || fail "dora list"
row=$(grep "$ID" "$WORK/list.out") || fail "dora list does not show the dataflow"
[[ $row == *survivor*running* ]] || fail "dora list: name or status: $row"
[[ $row == *"cloud: sink"* && $row == *"edge1: relay"* ]] || fail "dora list: nodes: $row"
[[ $row != *"?"* ]] || fail "dora list shows unknown nodes: $row"
"$DORA" logs "$ID" sink >"$WORK/logs.out" 2>&1 || fail "dora logs after the restart"
grep -q "tick in" "$WORK/logs.out" || fail "dora logs: no node output"

# 3. SIGKILL it again and interrupt the CLI while it is away: the stop waits for the coordinator.
kill -9 "$COORDINATOR"
wait_for 10 bash -c "[[ \$(grep -c 'lost the coordinator' '$WORK/start.out') -ge 2 ]]" ||
    fail "the attached CLI did not notice the second loss"
kill -INT "$START"
wait_for 10 grep -q "dataflow $ID is stopped once it is back" "$WORK/start.out" ||
    fail "the CLI did not say the stop waits for the coordinator"
alive "$RELAY_PID" || fail "the dataflow stopped before the coordinator was back"
start_coordinator "$FIXED_DPORT" "$FIXED_CPORT"
wait_for 40 bash -c "! kill -0 $START 2>/dev/null" || fail "dora start did not end after the stop"
status=0
wait "$START" || status=$?
[[ $status -eq 0 ]] || fail "dora start exited with $status after a clean stop"
grep -q "dataflow $ID finished successfully" "$WORK/start.out" || fail "no finished line"
grep -q "sink on daemon \`cloud\`: stdout    ticks in " "$WORK/start.out" ||
    fail "the sink's last lines (after the stop) did not stream"
wait_for 10 bash -c "! kill -0 $RELAY_PID 2>/dev/null && ! kill -0 $SINK_PID 2>/dev/null" ||
    fail "nodes are left running"
"$DORA" list | grep "$ID" | grep -q "finished" || fail "dora list: the dataflow did not finish"
echo "coordinator killed and restarted under an attached start: ok"
