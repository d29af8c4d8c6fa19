#!/usr/bin/env bash
# Issue 11's attacks, from a host without the cluster token against a cluster that has one. Three
# hosts as network namespaces (cloud, edge1, attacker) on a bridge in a fourth namespace; nothing is
# added to this machine's own network, so fixed ports inside the namespaces are free by
# construction.
#   1. Posing as the coordinator: a fake coordinator on the attacker's address (as if it had taken
#      the coordinator's) starts TLS with a certificate of its own as a real one does, asks a
#      daemon with the token for its proof, welcomes it with a made-up proof and orders a `touch`
#      node. The daemon must register nothing and spawn nothing, and say why; the same for a fake
#      that claims to need no token, and for one that keeps the link plain.
#   2. Reading and injecting: while a producer on edge1 feeds a consumer on cloud, the attacker's
#      `dora zenoh sub 'dora/**'` and `dora zenoh pub` (dora's end-of-stream marker on the
#      producer's key) dial cloud's Zenoh port over tls/ and over tcp/: the links are refused in
#      the TLS handshake (no certificate of the cluster CA), nothing is received, and cloud's
#      daemon log says who and why. A holder of the token that is not the producer's daemon (a
#      `dora zenoh pub` on cloud, which gets a certificate) reaches the daemon, but its forged
#      end-of-stream and garbage are refused and counted. The consumer gets every message and its
#      input closes only at the real end.
#   3. Starving: the attacker holds 400 idle connections to the coordinator's control port; `dora
#      list` from cloud still answers, and the coordinator's log stays short.
#   4. Misrouting: node ids with key-expression wildcards are refused by `dora start` with
#      file:line.
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
impersonate 53292 --no-tls "does not start TLS"
echo "posing as the coordinator: nothing registered, nothing spawned: ok"

# --- 2. The real cluster: a stranger reads nothing and injects nothing; an insider's forged
# control is refused.
cat >"$WORK/zenoh-cloud.json5" <<JSON
{ mode: "peer", listen: { endpoints: ["tls/${ADDR[cloud]}:7447"] } }
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
  - {id: source, path: $NODE, args: producer --count 250 --interval-ms 100, outputs: [out], _unstable_deploy: {machine: edge1}}
  - {id: sink, path: $NODE, args: consumer --expect 250, inputs: {in: {source: source/out, queue_size: 300}}, _unstable_deploy: {machine: cloud}}
YAML
on cloud timeout 90 "$DORA" start "$WORK/flow.yml" >"$WORK/start.out" 2>&1 &
start=$!
wait_for 15 quiet grep -q "dataflow start triggered" "$WORK/start.out" || fail "dora start"
uuid=$(grep -o "dataflow start triggered: [0-9a-f-]*" "$WORK/start.out" | awk '{print $4}')
key="dora/default/$uuid/output/source/out"
# The producer runs (25 s from its first message): the attacks below happen while it does.
wait_for 15 quiet grep -q 'source on daemon `edge1`: stdout    pid' "$WORK/start.out" ||
    fail "the producer did not start"
# An insider (the token, so a certificate of the cluster; not the producer's daemon): dora's
# end-of-stream byte as the attachment, then a payload whose metadata does not decode.
on cloud timeout 20 "$DORA" zenoh pub "$key" x --attach $'\xfe' -n 3 --period 50 \
    -e "tls/${ADDR[cloud]}:7447" --wait 3000 >"$WORK/insider-pub.out" 2>&1 || true
on cloud timeout 20 "$DORA" zenoh pub "$key" x --attach garbage -n 2 --period 50 \
    -e "tls/${ADDR[cloud]}:7447" --wait 3000 >>"$WORK/insider-pub.out" 2>&1 || true
# The stranger listens on every key: over tls/ without a certificate, over tls/ trusting the
# cluster CA (its certificate is no secret: any TLS client sees it) but without a certificate of
# its own, and over tcp/ to the TLS port.
cat >"$WORK/stranger-trusting.json5" <<JSON
{ transport: { link: { tls: { root_ca_certificate: "$(find "$WORK/state" -name ca.crt | head -1)" } } } }
JSON
for how in tls trusting tcp; do
    proto=$how config=()
    [[ $how == trusting ]] && proto=tls config=(--config "$WORK/stranger-trusting.json5")
    attacker timeout 20 "$DORA" zenoh sub 'dora/**' -e "$proto/${ADDR[cloud]}:7447" "${config[@]}" \
        --seconds 3 >"$WORK/attacker-sub-$how.out" 2>&1 || true
    ! grep -q "Received PUT" "$WORK/attacker-sub-$how.out" ||
        fail "the stranger's sub ($how) received data"
done
grep -q "requires a client certificate" "$WORK/attacker-sub-trusting.out" ||
    fail "the stranger's sub was not told that a client certificate is required"
cloud_log_says() { grep -q "link from ${ADDR[attacker]}:[0-9]* closed during the handshake: $1" \
    "$WORK/daemon-cloud.log" || fail "cloud's daemon log does not say: $1"; }
cloud_log_says "the client at .* presented no certificate"
cloud_log_says "the client at .* refused our certificate .* with TLS alert 'unknown CA'"
cloud_log_says "the peer at .* spoke plain TCP to a tls/ locator"
# The stranger's end-of-stream: refused in the handshake, never delivered.
attacker timeout 20 "$DORA" zenoh pub "$key" x --attach $'\xfe' -n 3 --period 50 \
    -e "tls/${ADDR[cloud]}:7447" --wait 2000 >"$WORK/attacker-pub.out" 2>&1 || true
echo "a stranger without the token: refused in the TLS handshake, read nothing: ok"
status=0
wait "$start" || status=$?
cat "$WORK/start.out"
[[ $status -eq 0 ]] || fail "dora start exited with $status"
grep -q 'sink on daemon `cloud`: stdout    received in 250' "$WORK/start.out" ||
    fail "the consumer did not get all 250 messages"
grep -q "total 250" "$WORK/start.out" || fail "the consumer's total"
# Each refusal is counted; the last count is written when the dataflow ends.
grep -q "5 message(s) on $key refused so far" "$WORK/start.out" ||
    fail "the 5 refused messages were not all reported"
grep -q "claimed to end the stream without the signature of the producer's daemon" "$WORK/start.out" ||
    fail "the forged end was not named"
echo "an insider's forged end-of-stream and garbage: refused and counted, nothing lost: ok"

# --- 3. Idle connections cannot starve the coordinator of descriptors.
lines_before=$(wc -l <"$WORK/coordinator.log")
ip netns exec "$(ns attacker)" python3 - "${ADDR[cloud]}" 6012 400 6 >"$WORK/flood.out" 2>&1 <<'PY' &
import socket, sys, time
host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
held = []
for _ in range(count):
    try:
        s = socket.create_connection((host, port), timeout=2)
        held.append(s)
    except OSError as e:
        print("connect:", e)
        break
print("holding", len(held), flush=True)
time.sleep(hold)
PY
flood=$!
wait_for 10 quiet grep -q holding "$WORK/flood.out" || fail "the flood did not start"
on cloud timeout 10 "$DORA" list >"$WORK/list-under-flood.out" 2>&1 ||
    fail "dora list failed while a stranger held idle connections: $(cat "$WORK/list-under-flood.out")"
grep -q "edge1" "$WORK/list-under-flood.out" || fail "dora list under the flood: no daemons listed"
wait "$flood" || true
lines=$(($(wc -l <"$WORK/coordinator.log") - lines_before))
((lines < 50)) || fail "the coordinator logged $lines lines for one flood"
echo "400 idle connections from a stranger: the coordinator still answers, $lines log lines: ok"

# --- 4. Ids that would misroute are refused before anything starts.
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

