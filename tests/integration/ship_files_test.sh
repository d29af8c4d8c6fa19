#!/usr/bin/env bash
# Node files travel with the dataflow (issue 15): a coordinator and two daemons on loopback, each
# daemon with its own empty work directory and its own machine identity (as on other machines:
# DORA_MACHINE_IDENTITY), run Python nodes from a directory only the CLI reads. Checks: the nodes
# run in the daemons' copies and read their data files there; a second start sends nothing; a
# changed file is the only one sent again; old copies and the stored files only they used are
# removed (--keep-copies); .doraignore, .git and out/ stay behind; an absolute
# `working_dir` that exists on the machine is used as before; a daemon on the CLI's machine uses
# the directory itself; a symlink out of the directory, a directory over --ship-limit, and (as
# root, in a private mount namespace) a daemon whose disk is full are refused with clear errors;
# `dora build` sends the files too, and a start runs what the build made from them.
#   ship_files_test.sh <dora binary>
set -euo pipefail
DORA=$1
source "$(dirname "$0")/cluster_lib.sh"

start_coordinator
remote_daemon() {  # <machine> [flags]: a daemon that does not share the CLI's files
    local machine=$1
    shift
    DORA_MACHINE_IDENTITY=ship-test-$machine "$DORA" daemon --machine-id "$machine" \
        --coordinator-port "$DPORT" --local-listen-port 0 --work-dir "$WORK/work-$machine" "$@" \
        >"$WORK/daemon-$machine.log" 2>&1 &
    PIDS+=($!)
    LAST=$!
}
remote_daemon edge --keep-copies 1
EDGE=$LAST
remote_daemon cloud
start_daemon here
wait_for_daemons 3

SRC=$(mktemp -d)
ABS=$(mktemp -d)
BUILT=$(mktemp -d)
trap 'rm -rf "$SRC" "$ABS" "$BUILT"; cluster_cleanup' EXIT
mkdir -p "$SRC/nodes" "$SRC/data" "$SRC/.git" "$SRC/out"
cat >"$SRC/nodes/show.py" <<'PY'
import os
import sys

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        with open("data/greeting.txt") as f:
            greeting = f.read().strip()
        here = os.path.dirname(os.path.abspath(__file__))
        print(f"{sys.argv[1]} cwd={os.getcwd()} file={here} says {greeting}", flush=True)
        print(f"{sys.argv[1]} sees secret={os.path.exists('secret.txt')} "
              f"git={os.path.exists('.git')} old_log={os.path.exists('out/old.txt')}", flush=True)
        break
PY
echo "hello" >"$SRC/data/greeting.txt"
echo "do not ship" >"$SRC/secret.txt"
echo "secret.txt" >"$SRC/.doraignore"
echo "ref" >"$SRC/.git/HEAD"
echo "old" >"$SRC/out/old.txt"
mkdir -p "$ABS/data"
echo "from the machine" >"$ABS/data/greeting.txt"
cat >"$SRC/flow.yml" <<YAML
nodes:
  - {id: e, path: nodes/show.py, args: e, inputs: {tick: dora/timer/millis/50}, deploy: {machine: edge}}
  - {id: c, path: nodes/show.py, args: c, inputs: {tick: dora/timer/millis/50}, deploy: {machine: cloud}}
  - {id: h, path: nodes/show.py, args: h, inputs: {tick: dora/timer/millis/50}, deploy: {machine: here}}
  - {id: a, path: nodes/show.py, args: a, inputs: {tick: dora/timer/millis/50}, deploy: {machine: edge, working_dir: $ABS}}
YAML

run() {  # <name> [start flags]: a start that must succeed, output in $WORK/<name>.out
    local name=$1
    shift
    "$DORA" start "$SRC/flow.yml" "$@" >"$WORK/$name.out" 2>&1 || { cat "$WORK/$name.out"; fail "$name"; }
}
expect() {  # <name> <fixed text>
    grep -qF -- "$2" "$WORK/$1.out" || { cat "$WORK/$1.out"; fail "$1: no \`$2\`"; }
}

# First start: every file goes to both remote machines (4 files: flow.yml, .doraignore,
# nodes/show.py, data/greeting.txt).
run first
expect first 'sending 4 of the dataflow'"'"'s 4 file(s)'
expect first 'to `cloud`, `edge`'
expect first 'machine(s) `here` run nodes in '"$SRC"' (this machine)'
id=$(grep -o 'dataflow start triggered: .*' "$WORK/first.out" | awk '{print $4}')
expect first "e cwd=$WORK/work-edge/$id file=$WORK/work-edge/$id/nodes says hello"
expect first "c cwd=$WORK/work-cloud/$id file=$WORK/work-cloud/$id/nodes says hello"
expect first "h cwd=$SRC file=$SRC/nodes says hello"
expect first "a cwd=$ABS file=$WORK/work-edge/$id/nodes says from the machine"
expect first "e sees secret=False git=False old_log=False"
expect first "c sees secret=False git=False old_log=False"
[[ -f $WORK/work-edge/$id/data/greeting.txt && ! -e $WORK/work-edge/$id/secret.txt ]] ||
    fail "the edge copy is not what was shipped"
grep -q "received 4 files" "$WORK/daemon-edge.log" || fail "the edge daemon did not count 4 files"

# Second start: everything is cached on both machines.
run second
expect second 'nothing to send: `cloud`, `edge` have the dataflow'"'"'s 4 file(s) already'
expect second "says hello"

# A changed file: only it moves.
echo "hello again" >"$SRC/data/greeting.txt"
run third
expect third 'sending 1 of the dataflow'"'"'s 4 file(s) (12 bytes) to `cloud`, `edge`'
expect third "e cwd=$WORK/work-edge/"
expect third "says hello again"
# Old copies go: edge keeps the last finished one (--keep-copies 1), so the first two starts'
# copies are removed, and the old greeting from its store (no kept copy uses it); cloud keeps 3.
second_id=$(grep -o 'dataflow start triggered: .*' "$WORK/second.out" | awk '{print $4}')
third_id=$(grep -o 'dataflow start triggered: .*' "$WORK/third.out" | awk '{print $4}')
old_sha=$(printf 'hello\n' | sha256sum | cut -d' ' -f1)
new_sha=$(sha256sum <"$SRC/data/greeting.txt" | cut -d' ' -f1)
removed() { grep -qF "removed $WORK/work-edge/$1, the copy of finished dataflow $1" "$WORK/daemon-edge.log"; }
wait_for 10 removed "$second_id" || fail "edge did not say it removed the second start's copy"
removed "$id" || fail "edge did not say it removed the first start's copy"
[[ ! -e $WORK/work-edge/$id && ! -e $WORK/work-edge/$second_id && -d $WORK/work-edge/$third_id ]] ||
    fail "edge's copies: $(ls "$WORK/work-edge")"
[[ ! -e $WORK/work-edge/files/$old_sha && -f $WORK/work-edge/files/$new_sha ]] ||
    fail "edge's store still has the old greeting, or lost the new one"
grep -qF "removed 1 file (6 bytes) from the file store $WORK/work-edge/files: no kept copy uses" \
    "$WORK/daemon-edge.log" || fail "edge did not say what it removed from its store"
[[ -d $WORK/work-cloud/$id && -d $WORK/work-cloud/$third_id && -f $WORK/work-cloud/files/$old_sha ]] ||
    fail "cloud (keeping 3) removed a copy: $(ls "$WORK/work-cloud")"
# The logs of a removed copy: said so, with the option that keeps more; cloud's are still there.
if "$DORA" logs "$id" e >"$WORK/logs-removed.out" 2>&1; then fail "logs of a removed copy"; fi
grep -qF "machine \`edge\`: the logs of dataflow $id went with its copy $WORK/work-edge/$id, removed after it finished" \
    "$WORK/logs-removed.out" || { cat "$WORK/logs-removed.out"; fail "the removed copy's logs are not explained"; }
grep -qF -- "--keep-copies N" "$WORK/logs-removed.out" || fail "no --keep-copies hint"
"$DORA" logs "$id" c >"$WORK/logs-kept.out" 2>&1 || { cat "$WORK/logs-kept.out"; fail "cloud's logs"; }

# A large file: 17 chunks over the control connection, a few in flight, with progress lines
# (stderr is not a terminal: one per quarter), and it arrives whole.
head -c $((17 * 1024 * 1024)) /dev/urandom >"$SRC/data/big.bin"
run big
expect big 'sending 1 of the dataflow'"'"'s 5 file(s) (17825792 bytes) to `cloud`, `edge`'
expect big "sending files: 17.0 MiB of 17.0 MiB"
expect big "sent 17.0 MiB in"
big_id=$(grep -o 'dataflow start triggered: .*' "$WORK/big.out" | awk '{print $4}')
cmp "$SRC/data/big.bin" "$WORK/work-edge/$big_id/data/big.bin" || fail "big.bin changed on the way"
cmp "$SRC/data/big.bin" "$WORK/work-cloud/$big_id/data/big.bin" || fail "big.bin changed on the way"
rm "$SRC/data/big.bin"

# --no-ship: today's behaviour, the remote machines have an empty directory.
if "$DORA" start "$SRC/flow.yml" --no-ship >"$WORK/noship.out" 2>&1; then
    cat "$WORK/noship.out"
    fail "--no-ship started nodes whose files are not on their machines"
fi
expect noship "nodes/show.py does not exist"

# Refusals at the CLI: a symlink out of the directory, a directory over the limit.
ln -s /etc/hostname "$SRC/data/outside"
if "$DORA" start "$SRC/flow.yml" >"$WORK/symlink.out" 2>&1; then fail "a symlink out was shipped"; fi
expect symlink "$SRC/data/outside is a symlink to"
expect symlink "outside the dataflow's directory"
rm "$SRC/data/outside"
head -c 3000 /dev/zero >"$SRC/data/big.bin"
if "$DORA" start "$SRC/flow.yml" --ship-limit 2K >"$WORK/limit.out" 2>&1; then fail "over the limit"; fi
expect limit "more than the limit of 2048 bytes; the largest files: data/big.bin (3000 bytes)"
if "$DORA" start "$SRC/flow.yml" --ship-limit 2X >"$WORK/badlimit.out" 2>&1; then fail "2X taken"; fi
expect badlimit "--ship-limit: \`2X\` is not a size"
rm "$SRC/data/big.bin"
[[ $("$DORA" list | grep -c 'running' || true) -eq 0 ]] || fail "a refused start left a dataflow"

# `dora build` sends the files too: edge builds a node's program from a source file only this
# machine has, into `build/` (output: never shipped), in its copy of the files; the start then
# runs what the build made there. Without the files (--no-ship) the same build fails on edge.
mkdir -p "$BUILT/src"
cat >"$BUILT/src/template.py" <<'PY'
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print("made by the build from SOURCE", flush=True)
        break
PY
cat >"$BUILT/flow.yml" <<'YAML'
nodes:
  - id: b
    build: mkdir -p build && sed s/SOURCE/src.template.py/ src/template.py >build/node.py
    path: build/node.py
    inputs: {tick: dora/timer/millis/50}
    deploy: {machine: edge}
YAML
if "$DORA" build "$BUILT/flow.yml" --no-ship >"$WORK/build-noship.out" 2>&1; then
    cat "$WORK/build-noship.out"
    fail "a build without its source file succeeded"
fi
expect build-noship 'machine `edge`'
"$DORA" build "$BUILT/flow.yml" >"$WORK/build.out" 2>&1 || { cat "$WORK/build.out"; fail "build"; }
expect build 'sending 2 of the dataflow'"'"'s 2 file(s)'
expect build 'to `edge`'
expect build 'build finished'
[[ ! -e $BUILT/build ]] || fail "the build ran on this machine"
built=$(echo "$WORK"/work-edge/builds/*/build/node.py)
[[ -f $built ]] || fail "edge has no build/node.py in its build copy: $(ls -R "$WORK/work-edge/builds")"
"$DORA" start "$BUILT/flow.yml" >"$WORK/built.out" 2>&1 || { cat "$WORK/built.out"; fail "built"; }
expect built 'nothing to send: `edge` have the dataflow'"'"'s 2 file(s) already'
expect built "made by the build from src.template.py"
grep -q "with 2 entries \`dora build\` made in $WORK/work-edge/builds/" "$WORK/daemon-edge.log" ||
    fail "edge did not add the build's output to the start's copy"
echo "dora build: built on edge from the files it was sent; the start ran the result"

# A daemon started on a work dir with copies left (here with --keep-copies 0) removes them and
# the stored files, at once.
kill "$EDGE"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 20 gone "$EDGE" || fail "edge's daemon did not stop"
[[ -n $(ls "$WORK/work-edge/files") ]] || fail "edge's store is empty before the restart"
remote_daemon edge --keep-copies 0
wait_for_daemons 3
wait_for 10 grep -q "no kept copy uses them" "$WORK/daemon-edge.log" ||
    fail "the restarted edge daemon did not prune its store"
left=$(cd "$WORK/work-edge" && ls -d ????????-????-????-????-???????????? manifests/* files/* 2>/dev/null || true)
[[ -z $left ]] || fail "left in edge's work dir after a restart with --keep-copies 0: $left"

# A daemon whose disk is full (root only: a 256 KiB tmpfs in its own mount namespace).
if [[ $(id -u) -eq 0 ]] && unshare --mount true 2>/dev/null; then
    mkdir -p "$WORK/work-tiny"
    DORA_MACHINE_IDENTITY=ship-test-tiny unshare --mount sh -c \
        'mount -t tmpfs -o size=256k tmpfs "$1" && exec "$2" daemon --machine-id tiny --coordinator-port "$3" --local-listen-port 0 --work-dir "$1"' \
        sh "$WORK/work-tiny" "$DORA" "$DPORT" >"$WORK/daemon-tiny.log" 2>&1 &
    PIDS+=($!)
    wait_for_daemons 4
    head -c $((1024 * 1024)) /dev/urandom >"$SRC/data/big.bin"
    cat >"$SRC/tiny.yml" <<YAML
nodes:
  - {id: t, path: nodes/show.py, args: t, inputs: {tick: dora/timer/millis/50}, deploy: {machine: tiny}}
YAML
    if "$DORA" start "$SRC/tiny.yml" >"$WORK/tiny.out" 2>&1; then fail "a full disk took the files"; fi
    expect tiny 'machine `tiny`: file data/big.bin of dataflow'
    expect tiny "no space left on the device of $WORK/work-tiny/files"
    rm "$SRC/data/big.bin"
else
    echo "skipped the full-disk check: needs root and unshare --mount"
fi
echo "ship files test passed"
