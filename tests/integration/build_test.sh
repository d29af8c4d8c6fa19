#!/usr/bin/env bash
# `dora build`: each node's build command runs on the daemon of its machine, in the node's
# working directory, with its output streamed; a failing build names the node, the machine and
# the exit status, and `dora build` fails.
#   build_test.sh <dora binary>
set -euo pipefail
DORA=$1
source "$(dirname "$0")/cluster_lib.sh"
start_coordinator
start_daemon edge1
start_daemon cloud
wait_for_daemons 2

mkdir "$WORK/flow"
cat >"$WORK/flow/good.yml" <<'YAML'
nodes:
  - {id: a, path: shell, args: "true", build: "echo building a; echo artifact > a.txt", _unstable_deploy: {machine: edge1}}
  - {id: b, path: shell, args: "true", build: "echo building b", _unstable_deploy: {machine: cloud}}
YAML
"$DORA" build "$WORK/flow/good.yml" --coordinator-port "$CPORT" >"$WORK/good.out" 2>&1 ||
    fail "a good build failed"
grep -q 'a on daemon `edge1`: build     building a' "$WORK/good.out" || fail "edge1's output"
grep -q 'b on daemon `cloud`: build     building b' "$WORK/good.out" || fail "cloud's output"
[[ -f $WORK/flow/a.txt ]] || fail "the build did not run in the node's working directory"

cat >"$WORK/flow/bad.yml" <<'YAML'
nodes:
  - {id: b, path: shell, args: "true", build: "echo oops; exit 3", _unstable_deploy: {machine: cloud}}
YAML
if "$DORA" build "$WORK/flow/bad.yml" --coordinator-port "$CPORT" >"$WORK/bad.out" 2>&1; then
    fail "a failing build succeeded"
fi
grep -q 'build failed:' "$WORK/bad.out" && ! grep -q 'machine `cloud`: machine' "$WORK/bad.out" && grep -q 'machine `cloud`: the build of node b (echo oops; exit 3) exited with status 3' \
    "$WORK/bad.out" || fail "the failure does not name node, machine and status"
echo "dora build: ok"
