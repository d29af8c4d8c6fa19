#!/usr/bin/env bash
# examples/python-operator as its README runs it: `dora run dataflow.yml --stop-after 3` prints
# the alerts of readings above 25.0, in order, and finishes successfully.
#   python_operator_example_test.sh <dora binary> <source dir>
set -euo pipefail
dora=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$2/examples/python-operator" "$work/example"
cd "$work/example"
timeout 60 "$dora" run dataflow.yml --stop-after 3 >"$work/run.out" 2>&1 ||
    { cat "$work/run.out"; echo "FAIL: dora run"; exit 1; }
alerts=$(grep -c '^printer: stdout    reading [0-9]*: 2[6-9]\.0 > 25\.0$' "$work/run.out" || true)
if ((alerts < 4)); then
    cat "$work/run.out"
    echo "FAIL: expected the alerts of at least one sawtooth (4), got $alerts"
    exit 1
fi
if grep '^printer: stdout' "$work/run.out" | grep -qv '> 25\.0$'; then
    echo "FAIL: the printer got a reading that is not above the limit"
    exit 1
fi
seqs=$(grep -o '^printer: stdout    reading [0-9]*' "$work/run.out" | grep -o '[0-9]*$')
sort -n -c <<<"$seqs" || { echo "FAIL: alerts out of order"; exit 1; }
echo "examples/python-operator: $alerts alerts in order"
