#!/usr/bin/env bash
# `dora topic list|echo|hz|info` and `dora record` against a two-machine cluster on loopback (daemons a and b): a
# Python talker on a sends text, JSON text, an int64 array with a parameter, and raw bytes every
# 50 ms; `text` is consumed only on a (shared memory), `numbers` on b (Zenoh), `json` and `raw` by
# nobody. Checks the decoded values of each, the rate, the info, the errors (unknown output,
# unknown or ended dataflow, a topic where a dataflow was expected), and zero-cost watching as
# the daemon reports it: an output only a watcher wants is published while the watcher runs and
# no longer once it has gone.
#   topic_test.sh <dora binary>
set -euo pipefail
DORA=$1
source "$(dirname "$0")/cluster_lib.sh"

start_coordinator
start_daemon a
start_daemon b
wait_for_daemons 2

mkdir -p "$WORK/flow"
cat >"$WORK/flow/talker.py" <<'PY'
import json
from dora import Node

node = Node()
n = 0
for event in node:
    if event["type"] == "INPUT":
        n += 1
        node.send_output("text", [f"hello {n}"])
        node.send_output("json", [json.dumps({"n": n, "ok": True})])
        node.send_output("numbers", [n, n + 1, n + 2], {"unit": "apples"})
        node.send_output("raw", b"\xde\xad\xbe\xef")
PY
cat >"$WORK/flow/sink.py" <<'PY'
from dora import Node

for event in Node():
    pass
PY
cat >"$WORK/flow/flow.yml" <<'YAML'
nodes:
  - id: talker
    path: talker.py
    _unstable_deploy: {machine: a}
    inputs: {tick: dora/timer/millis/50}
    outputs: [text, json, numbers, raw]
  - id: local
    path: sink.py
    _unstable_deploy: {machine: a}
    inputs: {text: talker/text}
  - id: remote
    path: sink.py
    _unstable_deploy: {machine: b}
    inputs: {numbers: talker/numbers}
YAML
"$DORA" start "$WORK/flow/flow.yml" --name chatter --detach >"$WORK/start.out" 2>&1 ||
    fail "start: $(cat "$WORK/start.out")"
wait_for 20 bash -c "\"$DORA\" list --status running -q | grep -q ." || fail "chatter not running"

# Nobody watches yet: the daemon publishes none of the watcher-only outputs.
grep -q "a watcher subscribed" "$WORK/daemon-a.log" && fail "published before anyone watched"

# echo: text consumed on its own machine only.
timeout 20 "$DORA" topic echo chatter talker/text --count 3 >"$WORK/text.out" 2>"$WORK/text.err" ||
    fail "echo text: $(cat "$WORK/text.err")"
[[ $(grep -cE '^talker/text: hello [0-9]+$' "$WORK/text.out") == 3 ]] ||
    fail "echo text printed: $(cat "$WORK/text.out")"
grep -q "a watcher subscribed to talker/text: publishing it" "$WORK/daemon-a.log" ||
    fail "daemon a did not start publishing talker/text for the watcher"
wait_for 10 grep -q "no watcher of talker/text any more" "$WORK/daemon-a.log" ||
    fail "daemon a kept publishing talker/text after the watcher left"

# echo: JSON text, pretty and compact; -d spelling.
timeout 20 "$DORA" topic echo -d chatter talker/json --count 1 >"$WORK/json.out" ||
    fail "echo json"
grep -q '^  "ok": true' "$WORK/json.out" || fail "pretty JSON expected: $(cat "$WORK/json.out")"
timeout 20 "$DORA" topic echo chatter talker/json --count 1 --compact >"$WORK/compact.out" ||
    fail "echo json --compact"
grep -qE '^talker/json: \{"n":[0-9]+,"ok":true\}$' "$WORK/compact.out" ||
    fail "compact JSON expected: $(cat "$WORK/compact.out")"

# echo: bytes as a hex preview.
timeout 20 "$DORA" topic echo chatter talker/raw --count 1 >"$WORK/raw.out" || fail "echo raw"
grep -q '^talker/raw: bytes\[4\] de ad be ef$' "$WORK/raw.out" ||
    fail "hex preview expected: $(cat "$WORK/raw.out")"

# echo: a cross-machine output, as JSON lines with metadata.
timeout 20 "$DORA" topic echo chatter talker/numbers --count 2 --format json --metadata \
    >"$WORK/numbers.json" || fail "echo numbers"
python3 - "$WORK/numbers.json" <<'PY' || fail "echo --format json: $(cat "$WORK/numbers.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 2, lines
for l in lines:
    n = l["value"][0]
    assert l["value"] == [n, n + 1, n + 2], l
    assert l["type"] == "int64" and l["length"] == 3 and l["machine"] == "a", l
    assert l["metadata"] == {"unit": "apples"}, l
    assert l["timestamp_ns"] > 1.6e18, l
assert lines[1]["value"][0] > lines[0]["value"][0]
PY

# hz: the timer's 20 Hz.
timeout 30 "$DORA" topic hz chatter talker/text --window 3 --duration 5 >"$WORK/hz.out" ||
    fail "hz"
rate=$(grep -oE 'average rate: [0-9.]+' "$WORK/hz.out" | tail -1 | grep -oE '[0-9.]+$')
python3 -c "import sys; r=float(sys.argv[1]); sys.exit(0 if 14 <= r <= 26 else 1)" "${rate:-0}" ||
    fail "hz: expected about 20 Hz, got '${rate:-none}': $(cat "$WORK/hz.out")"
grep -qE 'min: [0-9.]+s max: [0-9.]+s std dev: [0-9.]+s window: [0-9]+' "$WORK/hz.out" ||
    fail "hz statistics line missing"

# info and list.
timeout 30 "$DORA" topic info chatter talker/numbers --duration 2 >"$WORK/info.out" || fail "info"
for want in "Publisher: talker (machine a)" "Subscribers: remote/numbers" "Type: int64" \
    "Key: dora/default/"; do
    grep -qF "$want" "$WORK/info.out" || fail "info lacks '$want': $(cat "$WORK/info.out")"
done
timeout 30 "$DORA" topic list chatter >"$WORK/list.out" || fail "list"
grep -qE '^talker/text +a +utf8 +[0-9.]+ Hz +local/text$' "$WORK/list.out" ||
    fail "list row of talker/text: $(cat "$WORK/list.out")"
grep -qE '^talker/raw +a +uint8 +[0-9.]+ Hz +-$' "$WORK/list.out" ||
    fail "list row of talker/raw: $(cat "$WORK/list.out")"
timeout 30 "$DORA" topic list --format json --no-sample >"$WORK/list.json" || fail "list json"
[[ $(grep -c '"node":"talker"' "$WORK/list.json") == 4 ]] || fail "list json: $(cat "$WORK/list.json")"

# record: a count of messages from a local and a remote output, then errors.
timeout 30 "$DORA" record chatter talker/text talker/numbers -o "$WORK/c.mcap" --count 10 \
    2>"$WORK/record.err" || fail "record: $(cat "$WORK/record.err")"
grep -qE ': 10 message\(s\), ' "$WORK/record.err" || fail "record: $(cat "$WORK/record.err")"
head -c 8 "$WORK/c.mcap" | od -c | grep -q 'M   C   A   P' || fail "record wrote no MCAP file"
if timeout 20 "$DORA" record chatter -o "$WORK/no/such/dir/x.mcap" >"$WORK/bad.out" 2>&1; then
    fail "record into a missing directory succeeded"
fi
grep -q "no/such/dir/x.mcap" "$WORK/bad.out" || fail "record error: $(cat "$WORK/bad.out")"

# Bad input: clear errors, the dataflow undisturbed.
expect_error() {  # <pattern> <args...>
    local pattern=$1
    shift
    if timeout 20 "$DORA" topic "$@" >"$WORK/bad.out" 2>&1; then
        fail "dora topic $* succeeded"
    fi
    grep -qE "$pattern" "$WORK/bad.out" || fail "dora topic $*: $(cat "$WORK/bad.out")"
}
expect_error "has no output .talker/nope." echo chatter talker/nope --count 1
grep -qx "  talker/numbers" "$WORK/bad.out" || fail "the dataflow's outputs are not listed"
expect_error "no running dataflow with id or name .nothere." echo nothere talker/text
expect_error "say which output" info chatter
"$DORA" stop chatter >"$WORK/stop.out" 2>&1 || fail "stop"
expect_error "has ended" echo chatter talker/text --count 1
grep -q "stopped" "$WORK/stop.out" || fail "stop: $(cat "$WORK/stop.out")"
echo "topic_test: ok"
