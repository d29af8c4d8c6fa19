#!/usr/bin/env bash
# dora 1.x `deploy.labels` with `dora daemon --labels`: the coordinator places a node without a
# machine on a daemon that has all its labels, and every daemon routes to it there; a node with
# both a machine and labels needs them on that machine; labels nobody has are refused at start,
# naming the daemons' labels; `dora list` shows each daemon's labels.
#   labels_test.sh <dora binary> <test node binary>
set -euo pipefail
DORA=$1
NODE=$2
source "$(dirname "$0")/cluster_lib.sh"
start_coordinator
daemon_with_labels() {  # <machine> <labels>
    "$DORA" daemon --machine-id "$1" --labels "$2" --coordinator-port "$DPORT" \
        --local-listen-port 0 --work-dir "$WORK/work-$1" >"$WORK/daemon-$1.log" 2>&1 &
    PIDS+=($!)
}
daemon_with_labels edge1 zone=edge,gpu=false
daemon_with_labels cloud zone=cloud,gpu=true
wait_for_daemons 2
"$DORA" list | grep -Eq '^cloud +connected .*gpu=true,zone=cloud$' || { "$DORA" list; fail "list labels"; }

cat >"$WORK/placed.yml" <<YAML
nodes:
  - {id: source, path: $NODE, args: producer --count 20 --interval-ms 10, outputs: [out], deploy: {labels: {zone: edge}}}
  - {id: relay, path: $NODE, args: relay, inputs: {in: {source: source/out, queue_size: 100}}, outputs: [out], deploy: {labels: {gpu: true}}}
  - {id: sink, path: $NODE, args: consumer --expect 20, inputs: {in: {source: relay/out, queue_size: 100}}, deploy: {machine: cloud, labels: {zone: cloud}}}
YAML
"$DORA" start "$WORK/placed.yml" >"$WORK/placed.out" 2>&1 || { cat "$WORK/placed.out"; fail "placed run"; }
grep -q 'source on daemon `edge1`: stdout    producer sent 20' "$WORK/placed.out" || fail "source not on edge1"
grep -q 'relay on daemon `cloud`: stdout    relay forwarded 20' "$WORK/placed.out" || fail "relay not on cloud"
grep -q 'sink on daemon `cloud`: stdout    total 20' "$WORK/placed.out" || fail "the sink did not get all 20"

cat >"$WORK/nobody.yml" <<YAML
nodes:
  - {id: picky, path: $NODE, args: consumer, inputs: {tick: dora/timer/millis/50}, deploy: {labels: {gpu: "true", zone: edge}}}
YAML
if "$DORA" start "$WORK/nobody.yml" >"$WORK/nobody.out" 2>&1; then fail "labels nobody has were accepted"; fi
grep -q "no connected daemon has the labels gpu=true,zone=edge that node picky asks for (daemons: \`cloud\` (gpu=true,zone=cloud), \`edge1\` (gpu=false,zone=edge))" \
    "$WORK/nobody.out" || { cat "$WORK/nobody.out"; fail "the refusal does not say what is missing"; }

cat >"$WORK/mismatch.yml" <<YAML
nodes:
  - {id: pinned, path: $NODE, args: consumer, inputs: {tick: dora/timer/millis/50}, deploy: {machine: edge1, labels: {gpu: "true"}}}
YAML
if "$DORA" start "$WORK/mismatch.yml" >"$WORK/mismatch.out" 2>&1; then fail "a machine without the labels was accepted"; fi
grep -q 'node pinned wants machine `edge1` and labels gpu=true, but that daemon has gpu=false,zone=edge' \
    "$WORK/mismatch.out" || { cat "$WORK/mismatch.out"; fail "the mismatch is not named"; }

if "$DORA" daemon --labels gpu --coordinator-port "$DPORT" >"$WORK/bad.out" 2>&1; then fail "--labels gpu accepted"; fi
grep -q '"gpu" is not `name=value`' "$WORK/bad.out" || { cat "$WORK/bad.out"; fail "--labels syntax error"; }
echo "labels: placed by label, routed across daemons, refusals named"
