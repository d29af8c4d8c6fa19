#!/usr/bin/env bash
# `dora build`: each node's build command runs on the daemon of its machine, in the node's
# working directory, with its output streamed; a failing build names the node, the machine and
# the exit status, and `dora build` fails. A dataflow that deploys nothing (or `--local`) is built
# here without any coordinator, as in dora 0.3.12.
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
# Without a coordinator: nothing deployed builds here; --local builds a deployed one here too.
mkdir "$WORK/local"
cat >"$WORK/local/plain.yml" <<'YAML'
nodes:
  - {id: a, path: shell, args: "true", build: "echo building a here; echo local > a.txt"}
  - {id: b, path: shell, args: "true", build: "echo building b here"}
YAML
nobody=$(free_port)
DORA_COORDINATOR_PORT=$nobody "$DORA" build "$WORK/local/plain.yml" >"$WORK/local.out" 2>&1 ||
    { cat "$WORK/local.out"; fail "a local build failed"; }
grep -q '^a: build     building a here$' "$WORK/local.out" || fail "the local build's output"
grep -q '^build finished$' "$WORK/local.out" || fail "the local build's result"
[[ $(cat "$WORK/local/a.txt") == local ]] || fail "the local build did not run in the node's directory"
DORA_COORDINATOR_PORT=$nobody "$DORA" build "$WORK/flow/good.yml" --local >"$WORK/forced.out" 2>&1 ||
    { cat "$WORK/forced.out"; fail "build --local failed"; }
grep -q '^b: build     building b$' "$WORK/forced.out" || fail "build --local did not build b here"
if DORA_COORDINATOR_PORT=$nobody "$DORA" build "$WORK/flow/bad.yml" --local >"$WORK/lbad.out" 2>&1; then
    fail "a failing local build succeeded"
fi
grep -q 'the build of node b (echo oops; exit 3) exited with status 3' "$WORK/lbad.out" ||
    { cat "$WORK/lbad.out"; fail "the failing local build does not say which node and status"; }
echo "dora build: ok"
