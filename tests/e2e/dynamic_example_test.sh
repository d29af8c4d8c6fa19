#!/usr/bin/env bash
# examples/dynamic-node as its README runs it (on private ports instead of `dora up`'s defaults):
# start the dataflow, `dora list` shows the listener waiting, `python3 listener.py --count 5`
# joins, prints five increasing messages and leaves, `dora stop` ends the dataflow successfully.
#   dynamic_example_test.sh <dora binary> <source dir> <python package dir>
set -euo pipefail
DORA=$1
EXAMPLE=$2/examples/dynamic-node
export PYTHONPATH=$3${PYTHONPATH:+:$PYTHONPATH}
source "$2/tests/integration/cluster_lib.sh"
start_coordinator
start_dynamic_daemon
wait_for_daemons 1
cp -r "$EXAMPLE" "$WORK/example"
cd "$WORK/example"

"$DORA" start dataflow.yml --name dynamic --detach >"$WORK/start.out" 2>&1 || fail "dora start"
wait_for 20 bash -c "\"$DORA\" list | grep -q 'listener (waiting)'" || fail "listener not shown waiting"
timeout 60 python3 listener.py --count 5 >"$WORK/listener.out" 2>&1 ||
    { cat "$WORK/listener.out"; fail "the listener failed"; }
[[ $(grep -c '^listener received: hello #[0-9]*$' "$WORK/listener.out") == 5 ]] ||
    { cat "$WORK/listener.out"; fail "five messages expected"; }
grep -o '#[0-9]*' "$WORK/listener.out" | tr -d '#' | sort -n -c || fail "messages out of order"
grep -q '^listener leaves after 5 message(s)$' "$WORK/listener.out" || fail "the listener's last line"
"$DORA" list | grep -q 'listener (waiting)' && fail "the listener is still shown waiting"
"$DORA" stop dynamic --grace-duration 5 >"$WORK/stop.out" 2>&1 ||
    { cat "$WORK/stop.out"; fail "dora stop: the dataflow did not finish successfully"; }
echo "examples/dynamic-node: the README's steps work"
