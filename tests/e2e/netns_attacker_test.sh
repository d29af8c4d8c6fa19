#!/usr/bin/env bash
# Issue 11's attacks, from a host without the cluster token against a cluster that has one. Three
# hosts as network namespaces (cloud, edge1, attacker) on a bridge in a fourth namespace; nothing is
# added to this machine's own network, so fixed ports inside the namespaces are free by
# construction.
#   1. Posing as the coordinator: a fake coordinator on the attacker's address (as if it had taken
#      the coordinator's) asks a daemon with the token for its proof, welcomes it with a made-up
#      proof of its own and orders a `touch` node. The daemon must register nothing and spawn
#      nothing, and say why; the same for a fake that claims to need no token.
#   2. Injecting: while a producer on edge1 feeds a consumer on cloud, the attacker publishes dora's
#      end-of-stream marker and garbage on the producer's key, straight to cloud's daemon. The
#      consumer must get every message and its input must close only at the real end; the refusals
#      are counted in its log.
#   3. Misrouting: node ids with key-expression wildcards are refused by `dora start` with file:line.
#   netns_attacker_test.sh <dora binary> <test node binary> <fake_coordinator.py>
# Exit 77 (skipped) when not root or `ip netns` is unavailable.
set -euo pipefail
DORA=$1
NODE=$2
FAKE=$3
source "$(dirname "$0")/sensor_lib.sh"  # netns_test, netns_hosts, netns_plug, ns, wait_for
netns_test attacker
net=10.78.$(($$ % 200))
declare -A ADDR=([cloud]=$net.1 [edge1]=$net.2 [attacker]=$net.66)
netns_hosts dora-attack cloud edge1 attacker
netns_lan lan
for h in cloud edge1 attacker; do netns_plug "$h" lan eth0 "${ADDR[$h]}"; done
on() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
# The attacker has no token.
attacker() { ip netns exec "$(ns attacker)" env -u DORA_TOKEN "$@"; }
fail() {
    echo "FAILED: $*" >&2
    for f in "$WORK"/*.log "$WORK"/*.out; do [[ -f $f ]] && { echo "== $f"; tail -30 "$f"; }; done
    exit 1
}
quiet() { "$@" >/dev/null 2>&1; }
export DORA_TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# --- 1. A fake coordinator cannot make a daemon with the token do anything.
impersonate() {  # PORT FLAG TEXT: the daemon's log must say TEXT
    local port=$1 flag=$2 text=$3 marker=$WORK/pwned-$1
    # Started directly (not through a shell function) so that $! is the process itself.
    ip netns exec "$(ns attacker)" env -u DORA_TOKEN python3 "$FAKE" 0.0.0.0 "$port" "$marker" \
        victim 6 $flag >"$WORK/fake-$port.log" 2>&1 &
    local fake=$!
    wait_for 5 quiet grep -q listening "$WORK/fake-$port.log" || fail "fake coordinator start"
    ip netns exec "$(ns edge1)" "$DORA" daemon --machine-id victim --coordinator-addr \
        "${ADDR[attacker]}" --coordinator-port "$port" --local-listen-port 0 \
        --work-dir "$WORK/work-victim-$port" >"$WORK/victim-$port.log" 2>&1 &
    local victim=$!
    wait_for 10 quiet grep -q "$text" "$WORK/victim-$port.log" || fail "the daemon did not say: $text"
    sleep 1  # time the fake would need to have the node spawned
    [[ ! -e $marker ]] || fail "the fake coordinator made the daemon spawn a node"
    ! grep -q "daemon.register" "$WORK/fake-$port.log" || fail "the daemon registered with a fake"
    kill "$victim" "$fake" 2>/dev/null || true
}
impersonate 53290 "" "did not prove the cluster token"
grep -q "hello.hello" "$WORK/fake-53290.log" || fail "the fake never got the daemon's hello"
impersonate 53291 --no-token "runs without one"
echo "posing as the coordinator: nothing registered, nothing spawned: ok"

# --- 2. The real cluster: what a stranger publishes cannot end or corrupt a stream.
cat >"$WORK/zenoh-cloud.json5" <<JSON
{ mode: "peer", listen: { endpoints: ["tcp/${ADDR[cloud]}:7447"] } }
JSON
on cloud "$DORA" coordinator >"$WORK/coordinator.log" 2>&1 &
wait_for 10 quiet grep -q "coordinator listening" "$WORK/coordinator.log" || fail "coordinator start"
ZENOH_CONFIG=$WORK/zenoh-cloud.json5 ip netns exec "$(ns cloud)" "$DORA" daemon \
    --machine-id cloud --coordinator-addr "${ADDR[cloud]}" --work-dir "$WORK/work-cloud" \
    >"$WORK/daemon-cloud.log" 2>&1 &
on edge1 "$DORA" daemon --machine-id edge1 --coordinator-addr \
    "${ADDR[cloud]}" --work-dir "$WORK/work-edge1" >"$WORK/daemon-edge1.log" 2>&1 &
two_connected() { (($(on cloud "$DORA" list 2>/dev/null | grep -c " connected") >= 2)); }
wait_for 15 two_connected || fail "the daemons did not register"

cat >"$WORK/flow.yml" <<YAML
nodes:
  - {id: source, path: $NODE, args: producer --count 150 --interval-ms 20, outputs: [out], _unstable_deploy: {machine: edge1}}
  - {id: sink, path: $NODE, args: consumer --expect 150, inputs: {in: {source: source/out, queue_size: 200}}, _unstable_deploy: {machine: cloud}}
YAML
on cloud timeout 60 "$DORA" start "$WORK/flow.yml" >"$WORK/start.out" 2>&1 &
start=$!
wait_for 15 quiet grep -q "dataflow start triggered" "$WORK/start.out" || fail "dora start"
uuid=$(grep -o "dataflow start triggered: [0-9a-f-]*" "$WORK/start.out" | awk '{print $4}')
key="dora/default/$uuid/output/source/out"
# The producer runs (3 s from its first message).
wait_for 15 quiet grep -q 'source on daemon `edge1`: stdout    pid' "$WORK/start.out" ||
    fail "the producer did not start"
# The attack of the issue: dora's end-of-stream byte as the attachment, then a payload whose
# metadata does not decode, published by a session that reached cloud's Zenoh port.
attacker timeout 20 "$DORA" zenoh pub "$key" x --attach $'\xfe' -n 3 --period 50 \
    -e "tcp/${ADDR[cloud]}:7447" --wait 3000 >"$WORK/attacker-pub.out" 2>&1 || true
attacker timeout 20 "$DORA" zenoh pub "$key" x --attach garbage -n 2 --period 50 \
    -e "tcp/${ADDR[cloud]}:7447" --wait 3000 >>"$WORK/attacker-pub.out" 2>&1 || true
status=0
wait "$start" || status=$?
cat "$WORK/start.out"
[[ $status -eq 0 ]] || fail "dora start exited with $status"
grep -q 'sink on daemon `cloud`: stdout    received in 150' "$WORK/start.out" ||
    fail "the consumer did not get all 150 messages"
grep -q "total 150" "$WORK/start.out" || fail "the consumer's total"
# Each refusal is counted; the last count is written when the dataflow ends.
grep -q "5 message(s) on $key refused so far" "$WORK/start.out" ||
    fail "the 5 refused messages were not all reported"
grep -q "claimed to end the stream without the dataflow's signature" "$WORK/start.out" ||
    fail "the forged end was not named"
echo "a stranger's end-of-stream and garbage: refused and counted, nothing lost: ok"

# --- 3. Ids that would misroute are refused before anything starts.
cat >"$WORK/wild.yml" <<YAML
nodes:
  - {id: "*", path: $NODE, args: producer --count 1, outputs: [reading], _unstable_deploy: {machine: edge1}}
YAML
status=0
on cloud "$DORA" start "$WORK/wild.yml" >"$WORK/wild.out" 2>&1 || status=$?
[[ $status -ne 0 ]] || fail "a node id '*' was started"
grep -q "wild.yml:2:[0-9]*: node \"\*\": the id \"\*\" contains '\*'" "$WORK/wild.out" ||
    fail "the refusal of id '*' does not name file:line: $(cat "$WORK/wild.out")"
echo "ids with wildcards refused with file:line: ok"

