#!/usr/bin/env bash
# The control plane with a cluster token is TLS after the coordinator's plain challenge, and the
# hello's proofs are bound to the TLS session:
#   - a relay on the daemon's and on the CLI's link sees the challenge and nothing else readable:
#     not the hello, not the dataflow file, not the node output the CLI prints;
#   - a party in the middle that runs its own TLS session with each side cannot pass a daemon's
#     hello on: the coordinator refuses it, the daemon says so and never registers;
#   - the challenge, the one plain message, names the protocol (4) and TLS, so a client of an
#     older protocol reports the version mismatch instead of hanging.
#   control_tls_test.sh <dora binary> <control_proxy.py>
set -euo pipefail
DORA=$1
PROXY=$2
source "$(dirname "$0")/cluster_lib.sh"
mkdir -p "$XDG_CONFIG_HOME/dora"
openssl rand -hex 32 >"$XDG_CONFIG_HOME/dora/token"
start_coordinator

proxy() {  # <mode> <target port> <name> [cert key] -> its port in $PROXY_PORT
    local mode=$1 target=$2 name=$3
    shift 3
    python3 "$PROXY" "$mode" "$target" "$WORK/$name.port" "$WORK/$name.bytes" "$@" \
        >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_for 10 test -s "$WORK/$name.port" || fail "proxy $name did not start"
    PROXY_PORT=$(cat "$WORK/$name.port")
}

# 1. Eavesdroppers on both links.
proxy record "$DPORT" daemon-link
DAEMON_VIA=$PROXY_PORT
proxy record "$CPORT" cli-link
CLI_VIA=$PROXY_PORT
"$DORA" daemon --machine-id edge1 --coordinator-port "$DAEMON_VIA" --local-listen-port 0 \
    --work-dir "$WORK/work-edge1" >"$WORK/daemon-edge1.log" 2>&1 &
PIDS+=($!)
wait_for_daemons 1
cat >"$WORK/flow.yml" <<'YAML'
nodes:
  - id: talker
    path: shell
    args: echo "node says $WORD"
    env: {WORD: SECRET-WORD-4f1c}
    _unstable_deploy: {machine: edge1}
YAML
"$DORA" start "$WORK/flow.yml" --attach --coordinator-port "$CLI_VIA" >"$WORK/start.out" 2>&1 ||
    fail "dataflow through the relay"
grep -q "node says SECRET-WORD-4f1c" "$WORK/start.out" || fail "the node's output did not arrive"
for link in daemon-link cli-link; do
    grep -aq "hello.challenge" "$WORK/$link.bytes" || fail "$link: no plain challenge seen"
    for secret in SECRET-WORD hello.hello hello.welcome daemon.register cli.start talker; do
        if grep -aq "$secret" "$WORK/$link.bytes"; then
            fail "$link: \`$secret\` crossed the link in the clear"
        fi
    done
done
echo "eavesdropper: only the challenge is readable on either link"

# 2. A party in the middle with its own TLS sessions.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mitm -days 1 \
    -keyout "$WORK/mitm-key.pem" -out "$WORK/mitm-cert.pem" >/dev/null 2>&1
proxy mitm "$DPORT" mitm "$WORK/mitm-cert.pem" "$WORK/mitm-key.pem"
"$DORA" daemon --machine-id edge2 --coordinator-port "$PROXY_PORT" --local-listen-port 0 \
    --work-dir "$WORK/work-edge2" >"$WORK/daemon-edge2.log" 2>&1 &
PIDS+=($!)
wait_for 15 grep -q "refused this daemon" "$WORK/daemon-edge2.log" ||
    fail "the daemon behind a party in the middle did not report a refusal"
grep -q "mitm: relayed the hello" "$WORK/mitm.bytes" || fail "the relay did not get as far as the hello"
grep -q "authentication failed" "$WORK/daemon-edge2.log" || fail "the refusal does not say why"
grep -q "closing the connection from .*authentication failed" "$WORK/coordinator.log" ||
    fail "the coordinator does not log the refused hello"
if "$DORA" list | grep -q edge2; then fail "edge2 registered through a party in the middle"; fi
echo "party in the middle: its relayed hello is refused"

# 3. A client of the previous protocol (plain hello) is told the versions differ.
python3 - "$CPORT" >"$WORK/old-client.out" 2>&1 <<'PY' || fail "old client probe"
import json, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
n = struct.unpack("<I", s.recv(4))[0]
body = b""
while len(body) < n:
    body += s.recv(n - len(body))
challenge = json.loads(body)
assert challenge["tls"] is True and challenge["token_required"] is True, challenge
print("challenge protocol", challenge["protocol"])
PY
grep -q "challenge protocol 4" "$WORK/old-client.out" || fail "the challenge does not carry protocol 4"
echo "control plane TLS: eavesdropper and party in the middle both fail"
