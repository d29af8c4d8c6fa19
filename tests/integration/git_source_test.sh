#!/usr/bin/env bash
# `git:` nodes: `dora build` clones a local bare repository (file://) per dataflow, repository and
# revision (branch, tag, abbreviated rev, default branch), shares one clone between nodes naming
# the same revision, runs `build:` in it, updates it on a second build; the nodes then run from
# their clones. A start before any build, an unknown branch and an unreachable repository fail
# naming node and source, and leave no clone behind. Through a daemon, the build and the clone
# happen on the node's machine, and a clone a running dataflow uses is not rebuilt.
#   git_source_test.sh <dora binary>
set -euo pipefail
DORA=$1
source "$(dirname "$0")/cluster_lib.sh"
export GIT_CONFIG_GLOBAL=$WORK/gitconfig GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t \
    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
nobody=$(free_port)  # no coordinator listens here: the local verbs must not need one

# The repository: main at "two", tag v1 and branch stable at "one".
git init -q --bare -b main "$WORK/repo.git"
git init -q -b main "$WORK/src"
printf '#!/bin/sh\necho "%s runs $(cat built.txt) in $(pwd)"\n' '$DORA_NODE_ID' >"$WORK/src/node.sh"
chmod +x "$WORK/src/node.sh"
commit() { echo "$1" >"$WORK/src/version.txt"; git -C "$WORK/src" add -A; git -C "$WORK/src" commit -qm "$1"; }
commit one
git -C "$WORK/src" tag v1
git -C "$WORK/src" branch stable
rev1=$(git -C "$WORK/src" rev-parse --short=8 HEAD)
commit two
git -C "$WORK/src" push -q "$WORK/repo.git" main stable v1
REPO="file://$WORK/repo.git"

mkdir "$WORK/flow"
cat >"$WORK/flow/pinned.yml" <<YAML
nodes:
  - {id: on_main, path: node.sh, git: "$REPO", branch: main, build: "cp version.txt built.txt"}
  - {id: also_main, path: node.sh, git: "$REPO", branch: main, build: "cp version.txt built.txt"}
  - {id: on_stable, path: node.sh, git: "$REPO", branch: stable, build: "cp version.txt built.txt"}
  - {id: on_tag, path: node.sh, git: "$REPO", tag: v1, build: "cp version.txt built.txt"}
  - {id: on_rev, path: node.sh, git: "$REPO", rev: "$rev1", build: "cp version.txt built.txt"}
  - {id: on_default, path: node.sh, git: "$REPO", build: "cp version.txt built.txt"}
YAML
run() { DORA_COORDINATOR_PORT=$nobody "$DORA" "$@"; }
clones=$WORK/flow/out/git/pinned

# Never built: refused naming the node, the repository and the fix.
if run run "$WORK/flow/pinned.yml" >"$WORK/unbuilt.out" 2>&1; then fail "an unbuilt git node ran"; fi
grep -q "node on_tag: its source $REPO (tag v1) has not been fetched" "$WORK/unbuilt.out" &&
    grep -q 'run `dora build`' "$WORK/unbuilt.out" || fail "the unbuilt refusal"

run build "$WORK/flow/pinned.yml" >"$WORK/build1.out" 2>&1 || fail "the first build failed"
[[ $(grep -c "cloning $REPO" "$WORK/build1.out") == 5 ]] || fail "not one clone per revision"
[[ $(ls "$clones"/repo-*/ | sort | tr '\n' ' ') == "branch-main branch-stable default rev-$rev1 tag-v1 " ]] ||
    fail "clone directories: $(ls "$clones"/repo-*/)"
run run "$WORK/flow/pinned.yml" >"$WORK/run1.out" 2>&1 || fail "the built dataflow failed"
expect() { grep -q "^$1: stdout *$1 runs $2 in $clones/repo-[0-9a-f]*/$3\$" "$4" || fail "$1 should run $2 in $3 ($4)"; }
expect on_main two branch-main "$WORK/run1.out"
expect also_main two branch-main "$WORK/run1.out"
expect on_stable one branch-stable "$WORK/run1.out"
expect on_tag one tag-v1 "$WORK/run1.out"
expect on_rev one "rev-$rev1" "$WORK/run1.out"
expect on_default two default "$WORK/run1.out"

# A second build fetches and updates the checkouts in place.
commit three
git -C "$WORK/src" push -q "$WORK/repo.git" main
run build "$WORK/flow/pinned.yml" >"$WORK/build2.out" 2>&1 || fail "the second build failed"
! grep -q "cloning" "$WORK/build2.out" && grep -q "updating $clones" "$WORK/build2.out" ||
    fail "the second build did not reuse the clones"
run run "$WORK/flow/pinned.yml" >"$WORK/run2.out" 2>&1 || fail "the updated dataflow failed"
expect on_main three branch-main "$WORK/run2.out"
expect on_default three default "$WORK/run2.out"
expect on_tag one tag-v1 "$WORK/run2.out"
expect on_rev one "rev-$rev1" "$WORK/run2.out"

# An unknown branch and an unreachable repository: named, and nothing left behind.
#   refused NAME REPO REVISION_KEY EXPECTED_MESSAGE
refused() {
    printf 'nodes:\n  - {id: x, path: node.sh, git: "%s", %s, build: "true"}\n' "$2" "$3" \
        >"$WORK/flow/$1.yml"
    if run build "$WORK/flow/$1.yml" >"$WORK/$1.out" 2>&1; then fail "$1 built"; fi
    grep -q "$4" "$WORK/$1.out" || fail "$1's message"
    [[ -z $(find "$WORK/flow/out/git/$1" -mindepth 2 -maxdepth 2 2>/dev/null) ]] ||
        fail "$1 left $(find "$WORK/flow/out/git/$1")"
}
refused lost "$REPO" "branch: nope" \
    "node x: fetching $REPO (branch nope) into .*exited with status 123.*the repository has no branch \`nope\`"
refused gone "file://$WORK/no-such-repo.git" "tag: v1" \
    "node x: fetching file://$WORK/no-such-repo.git (tag v1).*cannot fetch from file://$WORK/no-such-repo.git: check that the URL is right"

# Through a daemon: built and cloned on the node's machine, then started there.
start_coordinator
start_daemon edge1
wait_for_daemons 1
cat >"$WORK/flow/remote.yml" <<YAML
nodes:
  - {id: edge_node, path: node.sh, git: "$REPO", tag: v1, build: "cp version.txt built.txt", _unstable_deploy: {machine: edge1}}
YAML
"$DORA" build "$WORK/flow/remote.yml" >"$WORK/rbuild.out" 2>&1 || fail "the build through the daemon failed"
grep -q "edge_node on daemon \`edge1\`: build     cloning $REPO" "$WORK/rbuild.out" ||
    fail "the clone did not happen on edge1"
"$DORA" start "$WORK/flow/remote.yml" --attach >"$WORK/rstart.out" 2>&1 || fail "the started git node failed"
grep -q "edge_node on daemon \`edge1\`: stdout *edge_node runs one in $WORK/flow/out/git/remote/repo-[0-9a-f]*/tag-v1\$" \
    "$WORK/rstart.out" || fail "the git node did not run from its clone on edge1"
# While a running dataflow runs from a clone, a rebuild of that clone is refused.
cat >"$WORK/flow/busy.yml" <<YAML
nodes:
  - {id: waiter, path: shell, args: "sleep 30", git: "$REPO", tag: v1, _unstable_deploy: {machine: edge1}}
YAML
"$DORA" build "$WORK/flow/busy.yml" >"$WORK/busy1.out" 2>&1 || fail "the busy dataflow's build failed"
"$DORA" start "$WORK/flow/busy.yml" --detach >"$WORK/busy-start.out" 2>&1 || fail "the busy dataflow's start"
if "$DORA" build "$WORK/flow/busy.yml" >"$WORK/busy2.out" 2>&1; then fail "a clone in use was rebuilt"; fi
grep -q "node waiter: .*/tag-v1 is in use by node waiter of running dataflow .*; stop it before rebuilding" \
    "$WORK/busy2.out" || fail "the in-use refusal"
"$DORA" stop --all --grace-duration 1 >/dev/null 2>&1 || true
echo "git sources: ok"
