#!/usr/bin/env bash
# A coordinator and daemons edge1 and cloud on loopback. Mid-run, edge1's daemon is killed with
# SIGKILL: its node dies with it, the attached CLI shows edge1 disconnected within 2 s, the
# consumer on cloud gets an ERROR (producer unreachable) and keeps running. A new edge1 daemon
# registers without the dataflow: the consumer's input closes (INPUT_CLOSED: its producer is gone
# for good), the consumer stops, and the dataflow ends reporting the lost node as failed.
#   daemon_restart_test.sh <dora binary> <test node binary>
set -euo pipefail
DORA=$1
NODE=$2
source "$(dirname "$0")/cluster_lib.sh"
start_coordinator
start_daemon edge1 a
EDGE=$LAST
start_daemon cloud a
wait_for_daemons 2

cat >"$WORK/flow.yml" <<YAML
nodes:
  - {id: source, path: $NODE, args: producer --count 100000 --interval-ms 20, outputs: [out], _unstable_deploy: {machine: edge1}}
  - {id: sink, path: $NODE, args: consumer, inputs: {in: {source: source/out, queue_size: 100}}, _unstable_deploy: {machine: cloud}}
YAML
"$DORA" start "$WORK/flow.yml" --coordinator-port "$CPORT" >"$WORK/start.out" 2>&1 &
PIDS+=($!)
START=$!
wait_for 20 grep -q "source on daemon \`edge1\`: stdout    pid" "$WORK/start.out" || fail "no start"
SOURCE_PID=$(grep -o "source on daemon \`edge1\`: stdout    pid [0-9]*" "$WORK/start.out" | grep -o "[0-9]*$")

kill -9 "$EDGE"
# Shown to the attached CLI within 2 s (its connection closes at once), and its consumer on cloud
# hears that the producer is unreachable (its Zenoh link closed), then that it is gone for good.
wait_for 2 grep -q "daemon \`edge1\` disconnected (nodes source)" "$WORK/start.out" ||
    fail "the attached CLI did not show the lost daemon within 2 s"
wait_for 10 grep -q "sink on daemon \`cloud\`: stdout    error input in: its producer runs on another machine that is unreachable" "$WORK/start.out" ||
    fail "the consumer was not told that its producer is unreachable"
wait_for 5 bash -c "! kill -0 $SOURCE_PID 2>/dev/null || grep -q '^Z' <(ps -o stat= -p $SOURCE_PID)" ||
    fail "the node of the killed daemon still runs"
wait_for 15 bash -c "\"$DORA\" list --coordinator-port $CPORT | grep -q 'edge1 *disconnected'" ||
    fail "the coordinator did not notice the lost daemon"
"$DORA" list --coordinator-port "$CPORT" | grep -q "running" || fail "the dataflow should keep running on cloud"

start_daemon edge1 b
wait_for 15 bash -c "\"$DORA\" list --coordinator-port $CPORT | grep -q 'edge1 *connected'" ||
    fail "the restarted daemon did not register"
# The new daemon runs nothing of the dataflow: its nodes are gone for good.
wait_for 10 grep -q "sink on daemon \`cloud\`: stdout    input closed in" "$WORK/start.out" ||
    fail "the consumer's input from the lost node did not close"
# Its only input closed, the sink stops and the dataflow ends by itself.
status=0
wait_for 20 bash -c "! kill -0 $START 2>/dev/null" || fail "dora start did not end"
wait "$START" || status=$?
[[ $status -ne 0 ]] || fail "the dataflow lost a node: dora start must not exit 0"
grep -q "node source on daemon \`edge1\` failed" "$WORK/start.out" || fail "lost node not reported"
grep -q "sink on daemon \`cloud\`: stdout    stop all-inputs-closed" "$WORK/start.out" || fail "cloud side not stopped"
echo "daemon killed and restarted mid-run: ok"
