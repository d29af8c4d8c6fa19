#!/usr/bin/env bash
# Open-file limits: a daemon holds a few descriptors per running node (its output pipes), so
# under the usual soft limit (1024) it could run only a few hundred nodes at once. dora raises
# its soft limit to the hard one at start, and gives the nodes it spawns the limit it was started
# with (many programs assume 1024). Here: 300 nodes alive together under `dora run` started with
# a soft limit of 256 (at least 600 pipe ends: over 256) all start and finish, and each sees 256.
#   open_files_test.sh <dora binary>
# Exit 77 (skipped) when the hard limit is too low to show anything.
set -euo pipefail
DORA=$(realpath "$1")
NODES=300
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() {
    echo "FAILED: $*"
    tail -20 "$WORK/run.out" 2>/dev/null || true
    exit 1
}
if (($(ulimit -Hn) < 4 * NODES)); then
    echo "hard open-file limit $(ulimit -Hn) is below $((4 * NODES)): skipped"
    exit 77
fi
{
    echo "nodes:"
    for i in $(seq "$NODES"); do
        echo "  - {id: n$i, path: /bin/sh, args: '-c \"ulimit -Sn; sleep 3\"'}"
    done
} >"$WORK/flow.yml"
status=0
(ulimit -Sn 256 && cd "$WORK" && exec timeout 120 "$DORA" run flow.yml) >"$WORK/run.out" 2>&1 ||
    status=$?
((status == 0)) || fail "dora run exited with $status under a soft limit of 256"
seen=$(grep -cE '^n[0-9]+: stdout +256$' "$WORK/run.out" || true)
((seen == NODES)) || fail "$seen of $NODES nodes printed their soft limit as 256"
other=$(grep -E '^n[0-9]+: stdout' "$WORK/run.out" | grep -vcE ' 256$' || true)
((other == 0)) || fail "$other node(s) got another limit than the one dora was started with"
echo "$NODES nodes at once under a soft limit of 256: all ran, each with 256: ok"
