#!/usr/bin/env bash
# Dynamic nodes (`path: dynamic`) on a coordinator and a daemon on loopback: the dataflow starts
# and waits; a Python process started by hand joins as Node("py-relay") and a C++ one as
# Node::from_id("cpp-relay") through the daemon's local listen port (DORA_DAEMON_PORT); data flows
# through both to a spawned consumer; the dataflow finishes when the producer is done and the
# dynamic nodes have left. Joining twice, an unknown id, a spawned node's id and a daemon that is
# not there are refused with clear errors. A dynamic node that never joins does not block `dora
# stop`.
#   dynamic_node_test.sh <dora binary> <test node binary> <python package dir> <fixtures dir>
set -euo pipefail
DORA=$1
NODE=$2
export PYTHONPATH=$3${PYTHONPATH:+:$PYTHONPATH}
FIXTURES=$4
source "$(dirname "$0")/cluster_lib.sh"
start_coordinator
start_dynamic_daemon
wait_for_daemons 1

cat >"$WORK/flow.yml" <<YAML
nodes:
  - {id: source, path: $NODE, args: producer --count 30 --size 64 --interval-ms 100, outputs: [out]}
  - {id: py-relay, path: dynamic, inputs: {in: {source: source/out, queue_size: 100}}, outputs: [out]}
  - {id: cpp-relay, path: dynamic, inputs: {in: {source: py-relay/out, queue_size: 100}}, outputs: [out]}
  - {id: sink, path: $NODE, args: consumer, inputs: {in: {source: cpp-relay/out, queue_size: 100}}}
YAML
"$DORA" start "$WORK/flow.yml" --name dyn >"$WORK/start.out" 2>&1 &
PIDS+=($!)
START=$!
wait_for 20 grep -q "node cpp-relay is dynamic: waiting for its process to join" "$WORK/start.out" ||
    fail "the attached CLI did not say the dynamic node waits"
grep -q "DORA_DAEMON_PORT=$LPORT" "$WORK/start.out" || fail "the waiting note does not say how to join"
wait_for 10 bash -c "\"$DORA\" list | grep -q 'py-relay (waiting), cpp-relay (waiting)'" ||
    { "$DORA" list; fail "dora list does not show the dynamic nodes as waiting"; }
"$DORA" list --format json | grep -q '"waiting":\["cpp-relay","py-relay"\]' ||
    { "$DORA" list --format json; fail "dora list --format json does not list the waiting nodes"; }

python3 "$FIXTURES/dynamic_relay.py" py-relay >"$WORK/py-relay.out" 2>&1 &
PIDS+=($!)
PY=$!
DORA_TEST_DYNAMIC_ID=cpp-relay "$NODE" relay >"$WORK/cpp-relay.out" 2>&1 &
PIDS+=($!)
CPP=$!
wait_for 20 grep -q "dynamic node cpp-relay joined" "$WORK/start.out" || fail "cpp-relay did not join"
wait_for 20 grep -q "dynamic node py-relay joined" "$WORK/start.out" || fail "py-relay did not join"
wait_for 10 bash -c "! \"$DORA\" list | grep -q '(waiting)'" || fail "joined nodes still shown waiting"

wait "$START" || { cat "$WORK/start.out"; fail "the dataflow did not finish successfully"; }
wait "$PY" || fail "the Python dynamic node failed"
wait "$CPP" || fail "the C++ dynamic node failed"
py=$(grep -o "forwarded [0-9]*" "$WORK/py-relay.out" | grep -o "[0-9]*")
cpp=$(grep -o "relay forwarded [0-9]*" "$WORK/cpp-relay.out" | grep -o "[0-9]*$")
got=$(grep -o "sink: stdout    received in [0-9]*" "$WORK/start.out" | grep -o "[0-9]*$")
[[ $py -gt 0 && $py == "$cpp" && $cpp == "$got" ]] ||
    fail "py-relay forwarded $py, cpp-relay $cpp, the sink got $got (every one that entered must arrive)"
grep -q "sink: stdout    input closed in" "$WORK/start.out" || fail "the sink got no INPUT_CLOSED"

# A long-running dataflow for the refusals: `ghost` joins and stays, `never` never joins.
cat >"$WORK/lonely.yml" <<YAML
nodes:
  - {id: ticker, path: $NODE, args: consumer, inputs: {tick: dora/timer/millis/50}}
  - {id: ghost, path: dynamic, inputs: {tick: dora/timer/millis/50}, outputs: [out]}
  - {id: never, path: dynamic, inputs: {tick: dora/timer/millis/50}}
YAML
"$DORA" start "$WORK/lonely.yml" --name lonely --detach >"$WORK/lonely.out" 2>&1 || fail "start lonely"
wait_for 20 bash -c "\"$DORA\" list | grep -q 'ghost (waiting)'" || fail "ghost not shown waiting"
python3 "$FIXTURES/dynamic_relay.py" ghost >"$WORK/ghost.out" 2>&1 &
PIDS+=($!)
GHOST=$!
wait_for 20 bash -c "! \"$DORA\" list | grep -q 'ghost (waiting)'" || fail "ghost did not join"

refused() {  # <expected text> <command...>: the command fails and says so
    local want=$1
    shift
    if "$@" >"$WORK/refused.out" 2>&1; then fail "$* joined"; fi
    grep -qF -- "$want" "$WORK/refused.out" || { cat "$WORK/refused.out"; fail "$*: no \"$want\""; }
}
refused "is already running (started twice?)" python3 "$FIXTURES/dynamic_relay.py" ghost
refused "has a node \`nope\`" python3 "$FIXTURES/dynamic_relay.py" nope
refused "is not dynamic: the daemon spawns it" python3 "$FIXTURES/dynamic_relay.py" ticker
refused "cannot reach the dora daemon at 127.0.0.1:1" env DORA_DAEMON_PORT=1 \
    python3 "$FIXTURES/dynamic_relay.py" ghost

# `dora stop` ends it successfully: ghost gets STOP and leaves, `never` never joined.
"$DORA" stop lonely --grace-duration 5 >"$WORK/stop.out" 2>&1 || { cat "$WORK/stop.out"; fail "stop lonely"; }
wait "$GHOST" || fail "ghost did not exit cleanly after STOP"

# `dora run` has no daemon to join: it refuses dynamic nodes up front, saying what to do.
if (cd "$WORK" && "$DORA" run lonely.yml >"$WORK/run.out" 2>&1); then fail "dora run took a dynamic node"; fi
grep -q "dynamic nodes join a daemon; run the dataflow with \`dora up\` and \`dora start\`" \
    "$WORK/run.out" || { cat "$WORK/run.out"; fail "dora run's refusal"; }
echo "dynamic nodes: Python and C++ joined by hand, data flowed, errors were clear, stop works"
