#!/usr/bin/env bash
# The live web view in a real browser: a coordinator with --web on a free loopback port and four
# daemons (edge1, edge2, edge3, cloud) run the sensor network; web_view_test.cjs drives Debian's
# chromium through playwright-core (the test set-up's npm packages) against it. Then the view's
# Zenoh session is checked to have closed once the page left (nothing is watched any more), and
# requests a stranger could send are refused. The screenshot is kept as an artifact next to the
# test log: <build dir>/web_view_test.png.
#   web_view_test.sh <dora binary> <source dir> <npm dir> <screenshot path>
# Exit 77 (skipped) when chromium or the npm packages are missing.
set -euo pipefail
DORA=$1
SRC=$2
NPM=$3
SHOT=$4
if [[ ! -x /usr/bin/chromium && -z ${CHROMIUM:-} ]]; then
    echo "SKIP: no /usr/bin/chromium (scripts/setup.sh dev installs it)"
    exit 77
fi
if [[ ! -d $NPM/node_modules/playwright-core ]]; then
    echo "SKIP: no playwright-core in $NPM (cmake --build <build dir> --target test_venv)"
    exit 77
fi
source "$SRC/tests/integration/cluster_lib.sh"
OUT_ID=""
cleanup_all() {
    [[ -n $OUT_ID ]] && rm -rf "$SRC/examples/sensor-network/out/$OUT_ID"
    cluster_cleanup
}
trap cleanup_all EXIT

"$DORA" coordinator --port 0 --control-port 0 --web 127.0.0.1:0 >"$WORK/coordinator.log" 2>&1 &
COORDINATOR=$!
PIDS+=($!)
wait_for 10 grep -q "web view on http://" "$WORK/coordinator.log" || fail "coordinator start"
DPORT=$(grep -o "daemons on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
CPORT=$(grep -o "control on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
URL=$(grep -o "web view on http://[0-9.]*:[0-9]*/" "$WORK/coordinator.log" | grep -o "http://.*")
WPORT=$(echo "$URL" | grep -o ':[0-9]\+/' | tr -d ':/')
export DORA_COORDINATOR_PORT=$CPORT
for m in edge1 edge2 edge3 cloud; do start_daemon "$m"; done
wait_for_daemons 4
"$DORA" start "$SRC/examples/sensor-network/dataflow.yml" --name sensor-network --detach \
    >"$WORK/start.out" 2>&1 || fail "start: $(cat "$WORK/start.out")"
OUT_ID=$(grep -o '[0-9a-f-]\{36\}' "$WORK/start.out" | head -1)

NODE_PATH=$NPM/node_modules node "$SRC/tests/web/web_view_test.cjs" "$URL" "$SHOT" \
    >"$WORK/browser.log" 2>&1 || { cat "$WORK/browser.log"; fail "the browser test failed"; }
cat "$WORK/browser.log"
[[ -s $SHOT ]] || fail "no screenshot"

# The page is gone: the view's Zenoh session to the daemons closed with its last value stream.
grep -q "web view: watching values" "$WORK/coordinator.log" || fail "the view never watched"
wait_for 10 grep -q "web view: nobody watches a value any more" "$WORK/coordinator.log" ||
    fail "the view's Zenoh session stayed open after the page left"

# What a stranger may not do.
code() { curl -s -o /dev/null -w "%{http_code}" "$@"; }
[[ $(code -H "Host: attacker.example" "$URL") == 403 ]] || fail "a foreign Host name was served"
[[ $(code -X POST "$URL") == 405 ]] || fail "POST was not refused"
[[ $(code --path-as-is "${URL}api/dataflow/../../etc/passwd") == 404 ]] || fail "a path outside the API"
[[ $(code "${URL}assets/../../etc/passwd" --path-as-is) == 404 ]] || fail "a file outside the assets"
head=$(printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: %s\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)")
reply=$(printf '%s' "$head" | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$WPORT; cat >&3; cat <&3" 2>/dev/null |
    head -1 | tr -d '\r' || true)
[[ $reply == "HTTP/1.1 431 "* ]] || fail "a 20 kB request head got: $reply"
kill -0 "$COORDINATOR" || fail "the coordinator died"
"$DORA" stop sensor-network >/dev/null 2>&1 || fail "stop"
echo "web view: ok"
