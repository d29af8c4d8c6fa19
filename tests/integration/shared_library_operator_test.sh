#!/usr/bin/env bash
# Shared-library operators under `dora run` (dora-runtime): two operators of one node, the second
# reading the first's output; DORA_STATUS_STOP_ALL ending the node; and every way an operator
# fails the node, each named in the output with the reason: a library that is missing, that
# cannot be loaded (an unresolved symbol), that lacks an entry point, whose dora_init_operator
# or dora_on_event returns an error, or that sends on an output it did not declare. Also the
# parser's refusal of Python and shared-library operators in one node.
#   shared_library_operator_test.sh <dora binary> <dir of the fixture operators (libop_*.so)>
set -euo pipefail
dora=$1 ops=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

# run_flow <name> <expected status: ok|fails> <yaml>: runs it; the output is in $work/<name>.out
run_flow() {
    local name=$1 expect=$2 status=0
    printf '%s\n' "$3" >"$work/$name.yml"
    (cd "$work" && timeout 60 "$dora" run "$name.yml" >"$work/$name.out" 2>&1) || status=$?
    if [[ $expect == ok && $status -ne 0 ]] || [[ $expect == fails && $status -eq 0 ]]; then
        cat "$work/$name.out"
        fail "$name: dora run exited with $status (expected: $expect)"
    fi
    ((status != 124)) || { cat "$work/$name.out"; fail "$name: dora run timed out"; }
}

# expect_line <name> <fixed text>: the output of run <name> has a line containing the text.
expect_line() {
    grep -qF -- "$2" "$work/$1.out" || { cat "$work/$1.out"; fail "$1: no line with: $2"; }
}

# op <id> <library> <input> [outputs]: one entry of a runtime node's `operators:` list.
op() {
    printf '      - id: %s\n        shared-library: %s\n        inputs: {%s}\n        outputs: [%s]\n' \
        "$1" "$2" "$3" "${4:-}"
}
runtime_node=$'nodes:\n  - id: rt\n    operators:\n'

# Two operators in one node: `a` sends "a:" on each tick, `b` reads it as `rt/a/out` and ends the
# whole node (STOP_ALL) at its third input; both are dropped.
run_flow routing ok "$runtime_node$(op a "$ops/op_echo_a" "tick: dora/timer/millis/20" out)
$(op b "$ops/libop_echo_b.so" "in: rt/a/out" out)"
expect_line routing "[a] input tick: 0 bytes"
got=$(grep -o '\[b\] .*' "$work/routing.out")
expected=$'[b] input in: 2 bytes\n[b] input in: 2 bytes\n[b] input in: 2 bytes\n[b] stop all\n[b] dropped'
[[ $got == "$expected" ]] || { cat "$work/routing.out"; fail "routing: b saw: $got"; }
expect_line routing "[a] dropped"
if grep -q "read twice" "$work/routing.out"; then fail "routing: dora_read_data gave data twice"; fi

# Each failure: the node fails, and its output names the operator and the reason.
run_flow missing fails "nodes:
  - id: rt
    operator:
      shared-library: $work/nowhere/op
      inputs: {tick: dora/timer/millis/20}"
expect_line missing "operator \`op\`: no shared library at $work/nowhere/libop.so"

# one_operator <name> <operator id> <library> [outputs]: runs a node of that one operator on a
# timer, which must fail.
one_operator() {
    run_flow "$1" fails "$runtime_node$(op "$2" "$3" "tick: dora/timer/millis/20" "${4:-}")"
}

one_operator unresolved lonely "$ops/op_unresolved"
expect_line unresolved "operator \`lonely\`: cannot load its shared library:"
expect_line unresolved "not_a_dora_function"

one_operator no_drop partial "$ops/op_no_drop"
expect_line no_drop "operator \`partial\`: $ops/libop_no_drop.so has no \`dora_drop_operator\`"

one_operator init_error camera "$ops/op_init_error"
expect_line init_error "operator \`camera\`: dora_init_operator returned an error: no camera attached"

run_flow on_event_error fails "$runtime_node$(op flaky "$ops/op_failing" "tick: dora/timer/millis/20")
$(op a "$ops/op_echo_a" "tick: dora/timer/millis/1000" out)"
expect_line on_event_error \
    "operator \`flaky\`: dora_on_event returned an error (event INPUT tick): the sensor went away"
expect_line on_event_error "[a] dropped"  # the other operator is dropped on the way out
expect_line on_event_error "[flaky] dropped"

one_operator undeclared loose "$ops/op_undeclared" out
expect_line undeclared "operator \`loose\`: dora_on_event returned an error (event INPUT tick): operator \`loose\` has no output \`nope\` (its outputs: out)"

# One node cannot hold both kinds; the parser names both operators.
printf '%s\n' "nodes:
  - id: rt
    operators:
      - id: py
        python: op.py
      - id: native
        shared-library: $ops/op_echo_a" >"$work/mixed.yml"
touch "$work/op.py"
out=$("$dora" check --dataflow "$work/mixed.yml" 2>&1) && fail "mixed: dora check accepted it"
grep -qF "operator \`py\` (python) and operator \`native\` (shared-library) cannot run in one node" \
    <<<"$out" || fail "mixed: $out"
grep -qF "put them in two nodes" <<<"$out" || fail "mixed: $out"
echo "shared-library operators: routing, STOP_ALL and six failures named"
