#!/usr/bin/env bash
# The CLI habits of dora users against a quiet coordinator and daemon on loopback: `--quiet`
# (nothing printed, everything in the log file), `daemon -c ADDR`, `dora start --name`,
# `dora list --format json` / `-q` / `--status` / `--name`, `dora stop NAME` (positional name),
# `dora stop --force`, `dora stop --all`, `dora logs` of a finished dataflow (with --tail, --grep,
# --since and --all-nodes), and `dora down` (destroy's dora 1.x name).
#   cli_habits_test.sh <dora binary> <test node binary>
set -euo pipefail
DORA=$1
NODE=$2
source "$(dirname "$0")/cluster_lib.sh"

"$DORA" coordinator --port 0 --control-port 0 --quiet --log-file "$WORK/coord-quiet.log" \
    >"$WORK/coordinator.out" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q "coordinator listening" "$WORK/coord-quiet.log" || fail "quiet coordinator start"
DPORT=$(grep -o "daemons on [0-9.]*:[0-9]*" "$WORK/coord-quiet.log" | grep -o "[0-9]*$")
CPORT=$(grep -o "control on [0-9.]*:[0-9]*" "$WORK/coord-quiet.log" | grep -o "[0-9]*$")
export DORA_COORDINATOR_ADDR=127.0.0.1 DORA_COORDINATOR_PORT=$CPORT
"$DORA" daemon -c 127.0.0.1 --coordinator-port "$DPORT" --local-listen-port 0 \
    --work-dir "$WORK/work" --quiet >"$WORK/daemon.out" 2>&1 &
PIDS+=($!)
wait_for_daemons 1
wait_for 10 grep -q "connected to the coordinator" "$WORK/work/daemon.log" ||
    fail "the quiet daemon's log file has no connection line"

flow() {  # <file> : a dataflow that runs until stopped
    cat >"$1" <<YAML
nodes:
  - {id: ticker, path: $NODE, args: consumer, inputs: {tick: dora/timer/millis/50}}
  - {id: sink, path: $NODE, args: consumer, inputs: {tick: dora/timer/millis/100}}
YAML
}
for n in alpha beta gamma; do
    flow "$WORK/$n.yml"
    "$DORA" start "$WORK/$n.yml" --name "$n" --detach >"$WORK/start-$n.out" 2>&1 || fail "start $n"
done
wait_for 20 bash -c "[[ \$(\"$DORA\" list --status running -q | wc -l) == 3 ]]" ||
    fail "three running dataflows expected"

# JSON lines as dora 1.x prints them.
"$DORA" list --format json >"$WORK/list.json" || fail "list --format json"
python3 - "$WORK/list.json" <<'PY' || fail "list --format json is not one JSON object per dataflow"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = sorted(l["name"] for l in lines)
assert names == ["alpha", "beta", "gamma"], names
for l in lines:
    assert l["status"] == "Running" and l["nodes"] == 2 and len(l["uuid"]) == 36, l
PY
[[ $("$DORA" list -q --name 'be*') == $("$DORA" list --format json | python3 -c \
    'import json,sys; print(*[j["uuid"] for j in map(json.loads, sys.stdin) if j["name"] == "beta"])') ]] ||
    fail "list -q --name"
"$DORA" list --format yaml >"$WORK/bad.out" 2>&1 && fail "--format yaml was accepted"
grep -q "use \`table\` (the default) or \`json\`" "$WORK/bad.out" || fail "--format error message"

# A positional name, then --force, then --all for the rest.
"$DORA" stop alpha --grace-duration 5 >"$WORK/stop-alpha.out" 2>&1 || fail "stop alpha"
grep -q "stopped" "$WORK/stop-alpha.out" || fail "stop alpha printed no result"
"$DORA" stop -n beta --force >"$WORK/stop-beta.out" 2>&1 || true  # killed nodes fail: allowed
grep -q "stopped" "$WORK/stop-beta.out" || fail "stop --force"
"$DORA" stop --all --grace-duration 5 >"$WORK/stop-all.out" 2>&1 || fail "stop --all"
grep -q "stopped" "$WORK/stop-all.out" || fail "stop --all stopped nothing"
[[ $("$DORA" list --status running -q | wc -l) == 0 ]] || fail "dataflows still running"
"$DORA" stop --all >"$WORK/stop-none.out" 2>&1 || fail "stop --all with nothing running"
grep -q "no running dataflows" "$WORK/stop-none.out" || fail "stop --all with nothing running says so"
"$DORA" stop alpha --all >"$WORK/bad.out" 2>&1 && fail "stop NAME --all was accepted"
# A finished dataflow's logs: the daemon keeps where they are, not the whole dataflow.
"$DORA" logs alpha ticker >"$WORK/logs-alpha.out" 2>&1 || { cat "$WORK/logs-alpha.out"; fail "dora logs of a finished dataflow"; }
grep -q "tick" "$WORK/logs-alpha.out" || fail "dora logs of a finished dataflow printed no ticks"
"$DORA" logs alpha nosuch >"$WORK/bad.out" 2>&1 && fail "dora logs of a node that does not exist succeeded"
# --tail N: the last N lines; --grep TEXT: the lines with TEXT in any case (dora 1.x's flags).
(($(wc -l <"$WORK/logs-alpha.out") > 2)) || fail "alpha's ticker logged too little to test --tail"
grep -qvi tick "$WORK/logs-alpha.out" || fail "alpha's ticker logged only ticks: nothing for --grep to leave out"
"$DORA" logs alpha ticker --tail 2 >"$WORK/logs-tail.out" 2>&1 || fail "dora logs --tail"
[[ $(wc -l <"$WORK/logs-tail.out") == 2 ]] || { cat "$WORK/logs-tail.out"; fail "--tail 2 did not print 2 lines"; }
[[ $(tail -2 "$WORK/logs-alpha.out") == $(cat "$WORK/logs-tail.out") ]] || fail "--tail 2 is not the last 2 lines"
"$DORA" logs alpha ticker --grep TICK >"$WORK/logs-grep.out" 2>&1 || fail "dora logs --grep"
[[ -s $WORK/logs-grep.out ]] || fail "--grep TICK found nothing"
[[ $(grep -ic tick "$WORK/logs-alpha.out") == $(wc -l <"$WORK/logs-grep.out") ]] ||
    fail "--grep TICK did not keep exactly the lines with 'tick' in any case"
"$DORA" logs alpha ticker --until 5m >"$WORK/bad.out" 2>&1 && fail "dora logs --until was accepted"
grep -q "\`dora logs --until\` is a dora 1.x option that dora-cpp does not have yet" "$WORK/bad.out" ||
    { cat "$WORK/bad.out"; fail "dora logs --until: no reason given"; }
# --since D: the lines written in the last D (every line of a dataflow that just ran; none of a
# moment ago); --all-nodes: every node's lines, prefixed with the node, in time order.
"$DORA" logs alpha ticker --since 10m >"$WORK/logs-since.out" 2>&1 || fail "dora logs --since"
cmp -s "$WORK/logs-since.out" "$WORK/logs-alpha.out" || fail "--since 10m did not keep every line"
sleep 1.2
"$DORA" logs alpha ticker --since 1 >"$WORK/logs-since.out" 2>&1 || fail "dora logs --since 1"
[[ ! -s $WORK/logs-since.out ]] || { cat "$WORK/logs-since.out"; fail "--since 1 kept old lines"; }
"$DORA" logs alpha ticker --since soon >"$WORK/bad.out" 2>&1 && fail "--since soon was accepted"
grep -q "is not a duration" "$WORK/bad.out" || fail "--since soon: $(cat "$WORK/bad.out")"
"$DORA" logs alpha --all-nodes >"$WORK/logs-all.out" 2>&1 || fail "dora logs --all-nodes"
[[ $(grep -c "^ticker: " "$WORK/logs-all.out") == $(wc -l <"$WORK/logs-alpha.out") ]] ||
    fail "--all-nodes lacks ticker lines: $(head "$WORK/logs-all.out")"
grep -q "^sink: " "$WORK/logs-all.out" || fail "--all-nodes lacks sink lines"
[[ $(grep -c "" "$WORK/logs-all.out") == $(grep -cE "^(ticker|sink): " "$WORK/logs-all.out") ]] ||
    fail "--all-nodes printed a line without its node"
# Interleaved: both nodes tick from the start, so the first lines are not all one node's.
head -6 "$WORK/logs-all.out" | grep -q "^sink: " && head -6 "$WORK/logs-all.out" | grep -q "^ticker: " ||
    fail "--all-nodes did not interleave: $(head -6 "$WORK/logs-all.out")"
"$DORA" logs alpha ticker --all-nodes >"$WORK/bad.out" 2>&1 && fail "--all-nodes with a node was accepted"
"$DORA" logs alpha ticker --grep TICK --tail 1 >"$WORK/logs-both.out" 2>&1 || fail "--grep with --tail"
[[ $(cat "$WORK/logs-both.out") == $(grep -i tick "$WORK/logs-alpha.out" | tail -1) ]] ||
    fail "--grep --tail 1 is not the last matching line"

# Quiet means quiet: nothing on the terminal, everything in the log files.
"$DORA" down >"$WORK/down.out" 2>&1 || fail "dora down"
wait_for 10 bash -c "! \"$DORA\" list >/dev/null 2>&1" || fail "the coordinator is still up after down"
for out in coordinator.out daemon.out; do
    [[ ! -s $WORK/$out ]] || { cat "$WORK/$out"; fail "--quiet printed on the terminal ($out)"; }
done
grep -q "dataflow" "$WORK/coord-quiet.log" || fail "the quiet coordinator logged nothing"
# dora's verbs that dora-cpp lacks say so, and what to use instead, whatever follows them.
for verb in "self update" "runtime" "doctor --json"; do
    # shellcheck disable=SC2086  # the verb and its arguments are words
    if "$DORA" $verb >"$WORK/verb.out" 2>&1; then fail "dora $verb succeeded"; fi
    grep -q "error: \`dora ${verb%% *}\` is a dora command that dora-cpp does not have; " "$WORK/verb.out" ||
        { cat "$WORK/verb.out"; fail "dora $verb: no reason given"; }
done
"$DORA" --help | grep -q "^  self" && fail "the refused verbs are listed in --help"
# dora 1.x's cluster verbs that `dora cluster up|down` cover are refused by name.
for verb in "install cluster.yml" "uninstall cluster.yml" "upgrade cluster.yml" "restart flow"; do
    # shellcheck disable=SC2086  # the verb and its arguments are words
    if "$DORA" cluster $verb >"$WORK/verb.out" 2>&1; then fail "dora cluster $verb succeeded"; fi
    grep -q "error: \`dora cluster ${verb%% *}\` is a dora 1.x command that dora-cpp does not have; " \
        "$WORK/verb.out" || { cat "$WORK/verb.out"; fail "dora cluster $verb: no reason given"; }
done
# dora 1.x's `dora topic pub` is refused by name (publishing from outside a node is not ours).
if "$DORA" topic pub some/output 1 >"$WORK/verb.out" 2>&1; then fail "dora topic pub succeeded"; fi
grep -q "dora topic pub. is not supported" "$WORK/verb.out" || fail "topic pub: $(cat "$WORK/verb.out")"
echo "CLI habits: dora's missing verbs refused with a reason; quiet logs, -c, list formats and filters, stop NAME/--force/--all, down"
