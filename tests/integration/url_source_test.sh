#!/usr/bin/env bash
# `path: <http URL>` nodes: downloaded when the dataflow starts (or ahead by `dora build`), once,
# into the cache under XDG_CACHE_HOME, made executable and run from there: a `.py` with python3,
# anything else as an executable. A second run needs no server. A 404 fails naming node and URL
# and leaves nothing in the cache. Through a daemon, the download happens on the node's machine.
#   url_source_test.sh <dora binary>
set -euo pipefail
DORA=$1
source "$(dirname "$0")/cluster_lib.sh"
export XDG_CACHE_HOME=$WORK/cache
CACHE=$XDG_CACHE_HOME/dora-cpp/downloads
nobody=$(free_port)
run() { DORA_COORDINATOR_PORT=$nobody "$DORA" "$@"; }

mkdir "$WORK/www" "$WORK/flow"
printf 'import os\nprint("talker", os.environ["DORA_NODE_ID"], "from", __file__)\n' >"$WORK/www/talker.py"
printf '#!/bin/sh\necho "tool says $1 from $0"\n' >"$WORK/www/tool"
printf '#!/bin/sh\necho "prefetched runs"\n' >"$WORK/www/early"
printf '#!/bin/sh\necho "remote runs from $0"\n' >"$WORK/www/remote"
SERVER=
serve() {
    HPORT=$(free_port)
    python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    wait_for 10 curl -sf "http://127.0.0.1:$HPORT/tool" -o /dev/null || fail "the HTTP server"
    URL=http://127.0.0.1:$HPORT
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }
serve

cat >"$WORK/flow/url.yml" <<YAML
nodes:
  - {id: talker, path: "$URL/talker.py"}
  - {id: tool, path: "$URL/tool", args: hello}
YAML
run run "$WORK/flow/url.yml" >"$WORK/run1.out" 2>&1 || fail "the URL dataflow failed"
grep -q "^talker: stdout *talker talker from $CACHE/[0-9a-f]\{16\}/talker.py\$" "$WORK/run1.out" ||
    fail "the python node did not run from the cache"
grep -q "^tool: stdout *tool says hello from $CACHE/[0-9a-f]\{16\}/tool\$" "$WORK/run1.out" ||
    fail "the executable did not run from the cache"
[[ -x $(ls "$CACHE"/*/tool) ]] || fail "the downloaded file is not executable"
[[ $(grep -c 'GET /tool' "$WORK/http.log") == 2 ]] || fail "downloaded more than once (1 probe + 1)"

# Cached: runs with the server gone.
stop_server
run run "$WORK/flow/url.yml" >"$WORK/run2.out" 2>&1 || fail "the cached dataflow needed the server"
grep -q "^tool: stdout *tool says hello" "$WORK/run2.out" || fail "the cached run's output"

# A 404 names node and URL and leaves nothing in the cache.
serve
cat >"$WORK/flow/missing.yml" <<YAML
nodes:
  - {id: ghost, path: "$URL/missing.py"}
YAML
if run run "$WORK/flow/missing.yml" >"$WORK/missing.out" 2>&1; then fail "a 404 node ran"; fi
grep -q "node ghost: downloading $URL/missing.py to .*HTTP 404.*the server refused $URL/missing.py" \
    "$WORK/missing.out" || fail "the 404 message"
[[ $(find "$CACHE" -type f | wc -l) == 2 ]] || fail "the 404 left a file: $(find "$CACHE" -type f)"

# `dora build` downloads ahead of the start.
cat >"$WORK/flow/early.yml" <<YAML
nodes:
  - {id: early, path: "$URL/early"}
YAML
run build "$WORK/flow/early.yml" >"$WORK/build.out" 2>&1 || fail "the prefetching build failed"
grep -q "^early: build     downloaded $URL/early to $CACHE/" "$WORK/build.out" || fail "the build did not download"
stop_server
run run "$WORK/flow/early.yml" >"$WORK/early.out" 2>&1 || fail "the prefetched node failed"
grep -q "^early: stdout *prefetched runs" "$WORK/early.out" || fail "the prefetched node's output"

# Through a daemon: downloaded at the start, on the node's machine.
serve
start_coordinator
start_daemon edge1
wait_for_daemons 1
cat >"$WORK/flow/remote.yml" <<YAML
nodes:
  - {id: far, path: "$URL/remote", _unstable_deploy: {machine: edge1}}
YAML
"$DORA" start "$WORK/flow/remote.yml" --attach >"$WORK/remote.out" 2>&1 || fail "the remote URL node failed"
grep -q "far on daemon \`edge1\`: stdout *remote runs from $CACHE/[0-9a-f]\{16\}/remote\$" "$WORK/remote.out" ||
    fail "the remote URL node did not run from edge1's cache"
grep -q "node far: downloaded $URL/remote" "$WORK/daemon-edge1.log" || fail "edge1 did not download it"
echo "URL sources: ok"
