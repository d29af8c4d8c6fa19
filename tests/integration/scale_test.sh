#!/usr/bin/env bash
# Scale edges: 5,000 `/bin/true` nodes, 4,000 of them feeding one node (4,096 inputs is a node's
# limit; the node's configuration is ~260 KB of JSON, over exec's 128 KiB limit for one environment string: the node library must
# find it through the small handle in DORA_NODE_CONFIG) under `dora run` and through a daemon;
# a node that cannot be executed fails the start naming the node and the errno text, and the
# daemon does not report it started; the coordinator and the daemon come back within 32 MiB of
# their RSS after the wide run and three checks of a 15 MB dataflow file; a dataflow file over the
# control channel's 16 MiB per message is refused by the CLI naming its size and the limit, and
# the coordinator keeps serving.
#   scale_test.sh <dora binary> <test node binary> [node count, default 5000]
set -euo pipefail
DORA=$1
NODE=$2
COUNT=${3:-5000}
INPUTS=$((COUNT < 4000 ? COUNT : 4000))  # the sink's inputs
source "$(dirname "$0")/cluster_lib.sh"

# <file>: COUNT producers that exit at once, and a consumer of the first INPUTS of them.
wide_flow() {
    python3 - "$1" "$NODE" "$COUNT" "$INPUTS" <<'PY'
import sys
path, node, count, inputs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path, "w") as f:
    f.write("nodes:\n")
    for i in range(count):
        f.write(f"  - {{id: t{i}, path: /bin/true, outputs: [out]}}\n")
    f.write(f"  - id: sink\n    path: {node}\n    args: consumer\n    inputs:\n")
    for i in range(inputs):
        f.write(f"      i{i}: t{i}/out\n")
PY
}

# <output file> <seconds taken>: every node started and finished, the sink saw every input close.
check_wide_run() {
    local out=$1
    grep -q "$((COUNT + 1)) node(s) started" "$out" || fail "not every node started ($out)"
    grep -q "finished successfully" "$out" || fail "the wide dataflow did not succeed ($out)"
    [[ $(grep -c "sink: stdout    input closed i" "$out") == "$INPUTS" ]] ||
        fail "the sink did not see its $INPUTS inputs close ($out)"
    grep -q "sink: stdout    stop all-inputs-closed" "$out" || fail "the sink did not stop ($out)"
}

wide_flow "$WORK/wide.yml"
T0=$(date +%s.%N)
timeout 300 "$DORA" run "$WORK/wide.yml" >"$WORK/run-wide.out" 2>&1 || fail "dora run of $COUNT nodes"
T1=$(date +%s.%N)
check_wide_run "$WORK/run-wide.out"
ls "$XDG_RUNTIME_DIR"/dora/*.config >/dev/null 2>&1 &&
    fail "node configuration files were left behind by dora run"
echo "dora run: $((COUNT + 1)) nodes in $(python3 -c "print(f'{$T1 - $T0:.1f}')") s"

# A node that passes the checks (an executable file) but cannot be executed (its interpreter is
# missing): the start fails naming it and the errno text; nothing else keeps running.
printf '#!/nonexistent/interpreter\necho never\n' >"$WORK/not-exec.sh"
chmod 0755 "$WORK/not-exec.sh"
cat >"$WORK/bad.yml" <<YAML
nodes:
  - {id: fine, path: $NODE, args: consumer, inputs: {tick: dora/timer/millis/50}}
  - {id: broken, path: $WORK/not-exec.sh}
YAML
"$DORA" run "$WORK/bad.yml" >"$WORK/run-bad.out" 2>&1 && fail "dora run of a non-executable node succeeded"
grep -q "node broken.*No such file or directory" "$WORK/run-bad.out" ||
    fail "dora run: the spawn failure does not name the node and errno text"

start_coordinator
"$DORA" daemon --coordinator-port "$DPORT" --local-listen-port 0 --work-dir "$WORK/work" \
    >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($!)
wait_for_daemons 1
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
COORDINATOR_BEFORE=$(rss_kib "$COORDINATOR")
DAEMON_BEFORE=$(rss_kib "$DAEMON")
"$DORA" start "$WORK/bad.yml" >"$WORK/start-bad.out" 2>&1 && fail "dora start of a non-executable node succeeded"
grep -q "node broken.*No such file or directory" "$WORK/start-bad.out" ||
    fail "dora start: the spawn failure does not name the node and errno text"
grep -q ": [0-9]* node(s) started$" "$WORK/daemon.log" &&
    fail "the daemon reported nodes started although the start failed"

# The wide dataflow through a coordinator and a daemon.
T0=$(date +%s.%N)
timeout 300 "$DORA" start "$WORK/wide.yml" --attach >"$WORK/start-wide.out" 2>&1 ||
    fail "dora start of $COUNT nodes"
T1=$(date +%s.%N)
grep -q "$((COUNT + 1)) node(s) started" "$WORK/daemon.log" ||
    fail "the daemon did not report $((COUNT + 1)) nodes started"
grep -q "finished successfully" "$WORK/start-wide.out" || fail "the wide dataflow did not succeed"
[[ $(grep -c "sink.*: stdout    input closed i" "$WORK/start-wide.out") == "$INPUTS" ]] ||
    fail "through the daemon, the sink did not see its $INPUTS inputs close"
echo "dora start: $((COUNT + 1)) nodes in $(python3 -c "print(f'{$T1 - $T0:.1f}')") s"

# Memory comes back after large dataflows: the coordinator after checking a 15 MB dataflow file
# (3,000 nodes) three times, and both after the wide run, are within 32 MiB of what they used
# before (a coordinator once kept 180 MB after one such file). Measured here: coordinator 9.6 MB
# before, 10.2 MB after the first check and 25 MB from the second on (it does not grow further).
python3 - "$WORK/big.yml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("nodes:\n")
    for i in range(3000):
        f.write(f"  - id: n{i}\n    path: /bin/true\n    outputs: [out]\n"
                f"    env: {{PAD: \"{'p' * 5000}\"}}\n")
PY
for _ in 1 2 3; do
    "$DORA" check --dataflow "$WORK/big.yml" >"$WORK/check-big.out" 2>&1 ||
        fail "dora check of a 15 MB dataflow file"
done
MARGIN_KIB=$((32 * 1024))
# <pid> <KiB before>: whether its RSS is back within the margin (it frees a request's memory
# after it replied).
rss_back() { (($(rss_kib "$1") <= $2 + MARGIN_KIB)); }
for who in COORDINATOR DAEMON; do
    before_var=${who}_BEFORE
    wait_for 10 rss_back "${!who}" "${!before_var}" || true
    now=$(rss_kib "${!who}")
    echo "$who RSS: ${!before_var} KiB before the wide run and the 15 MB checks, $now KiB after"
    ((now <= ${!before_var} + MARGIN_KIB)) ||
        fail "$who keeps $now KiB, over ${!before_var} KiB before + 32 MiB"
done

# A dataflow file over the limit: refused by the CLI before sending, naming size and limit.
python3 - "$WORK/huge.yml" "$NODE" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write(f"nodes:\n  - {{id: a, path: {sys.argv[2]}, args: consumer}}\n")
    line = "# " + "x" * 1000 + "\n"
    f.write(line * (17 * 1024))  # 17 MiB of comments: valid YAML, over 16 MiB
PY
"$DORA" start "$WORK/huge.yml" >"$WORK/start-huge.out" 2>&1 && fail "a 17 MiB dataflow file was started"
grep -q "dataflow file .*huge.yml is [0-9]* bytes ([0-9.]* MiB); the control channel carries at most 16 MiB" \
    "$WORK/start-huge.out" || fail "the over-limit error does not name the size and the limit"
grep -qi "broken pipe" "$WORK/start-huge.out" && fail "the over-limit start ended in a broken pipe"
"$DORA" list >"$WORK/list.out" 2>&1 || fail "the coordinator stopped serving after the huge file"
echo "ok"
