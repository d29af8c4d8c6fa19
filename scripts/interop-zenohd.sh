#!/usr/bin/env bash
# Against the real thing: the sensor network across two networks joined only by a real Eclipse
# `zenohd` (1.10.2, the Zenoh 1.x line our protocol speaks), with the commands of dora's
# python-distributed-zenoh example, on network-namespace hosts this script creates:
#
#   edge LAN  10.78.1.0/24: edge1 .11, edge2 .12, edge3 .13, router .1
#   cloud LAN 10.78.2.0/24: cloud .10, router .1
#
# router$ dora coordinator                             (the router host forwards no IP)
# router$ dora cert issue zenohd --alt-name 10.78.1.1 --alt-name 10.78.2.1 --alt-name 127.0.0.1
# router$ zenohd --config zenohd.json5   (tls/0.0.0.0:7447, mTLS, the certificate just issued)
# edgeN$ ZENOH_CONFIG=zenoh_config.json5 dora daemon --coordinator-addr 10.78.1.1 --machine-id edgeN
# cloud$ ZENOH_CONFIG=zenoh_config.json5 dora daemon --coordinator-addr 10.78.2.1 --machine-id cloud
# router$ dora build dataflow.yml && dora start dataflow.yml
#
# and three z_subs watching on the router host: ours as the README runs it, ours in its default
# (peer) mode, and eclipse-zenoh's (the Rust core from PyPI, scripts/interop/z_sub.py):
#
# router$ dora zenoh sub 'dora/**' -m client -e tls/127.0.0.1:7447
# router$ dora zenoh sub 'dora/**' -e tls/10.78.1.1:7447
# router$ z_sub.py 'dora/**' -m client -e tls/10.78.1.1:7447 --mtls ca.crt z_sub.crt z_sub.key
#
# zenoh_config.json5 is the example's (client mode, the router as its tls/ endpoint) with the
# router's address on that LAN; the cluster token is in each host's ~/.config/dora/token, so the
# commands are the example's, verbatim: with the token every link is TLS with mutual
# authentication under the coordinator's cluster CA, zenohd's and eclipse-zenoh's z_sub's
# certificates come from `dora cert issue`, and a z_sub without one is refused. Checks, and prints PASS or FAIL for each: the networks are
# separate; zenohd, the coordinator and the four daemons come up, each daemon linked to zenohd
# only; every sensor's readings reach the cloud aggregator; each z_sub sees the three sensors'
# keys; the aggregator's summaries show 3 active sensors; the dataflow stops cleanly; no reading
# was lost; zenohd is still up and logged no ERROR. Then figures (readings sent and received,
# time to the first one) and a sample of what each side saw. Removes every namespace and process
# it made, also on failure and on Ctrl-C.
#
# zenohd is built once with `cargo install zenohd --version 1.10.2 --locked` into a cache outside
# the clone (${XDG_CACHE_HOME:-~/.cache}/dora-cpp/zenohd-1.10.2/bin/zenohd) and reused after;
# the eclipse-zenoh venv lives beside it. The first build takes most of an hour on 2 cores, so CI
# (a fresh clone on a fresh machine) cannot afford it: its ctest entry (interop_zenohd_test)
# passes --if-cached and is skipped where no zenohd was built before. Needs root (ip netns), and
# for the one-time set-up cargo, python3 -m venv and pip's access to PyPI.
#   scripts/interop-zenohd.sh [--dora B] [--zenohd B] [--build-jobs N] [--if-cached] [--keep]
#     --dora B        the dora binary (default: build/dev/src/cli/dora, else build/release/...)
#     --zenohd B      this zenohd (or any router taking `--listen ENDPOINT`), not the cached one
#     --build-jobs N  cargo's jobs for the one-time zenohd build (default 2; run under nice 19)
#     --if-cached     build and install nothing: exit 77 (skipped) when zenohd, the eclipse-zenoh
#                     venv, root or ip netns is missing
#     --keep          keep the logs (zenohd's with RUST_LOG if set, the daemons', the z_subs') in
#                     /tmp/dora-e2e-zenohd.* when every check passed too
# Exit 0: every check passed; 1: a check failed; 2: usage, or something needed is missing;
# 77: skipped (--if-cached).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

ZENOH_VERSION=1.10.2
dora=
zenohd=
jobs=2
if_cached=0
keep=0
while (($#)); do
    case $1 in
        --dora) dora=$(realpath "$2"); shift 2 ;;
        --zenohd) zenohd=$(realpath "$2"); shift 2 ;;
        --build-jobs) jobs=$2; shift 2 ;;
        --if-cached) if_cached=1; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "interop-zenohd: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
need() { echo "interop-zenohd: $*" >&2; exit 2; }
skip() { echo "SKIP: $* (run scripts/interop-zenohd.sh once, as root, to set it up)"; exit 77; }
if [[ -z $dora ]]; then
    for dora in "$SRC/build/dev/src/cli/dora" "$SRC/build/release/src/cli/dora" ""; do
        [[ -x $dora ]] && break
    done
    [[ -n $dora ]] || need "no dora binary: build first (cmake --build --preset dev) or pass --dora"
fi
[[ -x $dora ]] || need "$dora is not an executable"
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    ((if_cached)) && skip "needs root and ip netns"
    need "needs root and ip netns (it makes network namespaces)"
fi

# --- zenohd and eclipse-zenoh, once, outside the clone -------------------------------------
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/dora-cpp
ZENOHD_ROOT=$CACHE/zenohd-$ZENOH_VERSION
ZENOHD=${zenohd:-$ZENOHD_ROOT/bin/zenohd}
VENV=$CACHE/zenoh-python-$ZENOH_VERSION
have_venv() { [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import zenoh' 2>/dev/null; }
if ((if_cached)); then
    [[ -x $ZENOHD ]] || skip "no zenohd $ZENOH_VERSION in $ZENOHD_ROOT"
    have_venv || skip "no eclipse-zenoh $ZENOH_VERSION venv in $VENV"
elif [[ ! -x $ZENOHD ]] || ! have_venv; then
    mkdir -p "$CACHE"
    exec 9>"$CACHE/interop-zenohd.lock"
    if ! flock -n 9; then  # one set-up at a time; a second run waits for the first one's
        echo "waiting for another run's zenohd build or venv set-up ($CACHE/interop-zenohd.lock)"
        flock 9
    fi
    if [[ ! -x $ZENOHD ]]; then
        cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
        [[ -x $cargo ]] || need "zenohd is not built yet and there is no cargo to build it"
        echo "building zenohd $ZENOH_VERSION with cargo into $ZENOHD_ROOT (once; slow)"
        start=$SECONDS
        nice -n 19 "$cargo" install zenohd --version "$ZENOH_VERSION" --locked \
            --root "$ZENOHD_ROOT" -j "$jobs" >"$CACHE/zenohd-build.log" 2>&1 ||
            need "cargo install zenohd failed; see $CACHE/zenohd-build.log"
        echo "built in $((SECONDS - start)) s with -j $jobs on $(nproc) cores, $(date -u +%F)" \
            >"$ZENOHD_ROOT/build-time.txt"
    fi
    if ! have_venv; then
        echo "installing eclipse-zenoh $ZENOH_VERSION from PyPI into $VENV (once)"
        python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "eclipse-zenoh==$ZENOH_VERSION" ||
            need "could not install eclipse-zenoh $ZENOH_VERSION into $VENV"
    fi
    exec 9>&-
fi
built=$(cat "$ZENOHD_ROOT/build-time.txt" 2>/dev/null || echo 'build time not recorded')
[[ -n $zenohd ]] && built="given with --zenohd"
# (zenohd prints its version twice: in a log line, then alone)
echo "zenohd:        $(timeout 10 "$ZENOHD" --version 2>/dev/null | tail -n1) ($ZENOHD; $built)"
echo "eclipse-zenoh: $("$VENV/bin/python" -c \
    'from importlib import metadata; print(metadata.version("eclipse-zenoh"))') ($VENV)"
echo "dora:          $dora ($("$dora" version 2>&1 | head -n1))"

# --- the hosts ---------------------------------------------------------------------------------
# shellcheck source=../tests/e2e/sensor_lib.sh
source "$SRC/tests/e2e/sensor_lib.sh"
e2e_workdir zenohd

SENSORS=(sensor_temp sensor_humidity sensor_pressure)

# Everything it made goes, whatever failed (netns_remove); then the verdict and e2e_cleanup.
# shellcheck disable=SC2317  # invoked by the EXIT trap
teardown() {
    local rc=$?
    set +e
    netns_remove || rc=1
    case $rc in
        0) ;;
        129 | 130 | 143) echo "interop-zenohd: interrupted; everything it started is gone" >&2 ;;
        *) echo "interop-zenohd: FAILED" >&2 ;;
    esac
    if ((keep && rc == 0)); then
        echo "logs kept in $WORK"
        return
    fi
    (exit "$rc")
    e2e_cleanup
}
trap teardown EXIT
# Ctrl-C, kill or a lost terminal: exit, so the EXIT trap tears everything down.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

netns_router_hosts dzi 10.78

# Each host's files: `dora` on PATH, the cluster token where dora looks by default, and (for
# the daemons) the example's zenoh_config.json5 with the router's address on its LAN. The
# router host runs the example from a copy of its directory.
mkdir -p "$WORK/bin" "$WORK/example"
ln -s "$dora" "$WORK/bin/dora"
ln -s "$ZENOHD" "$WORK/bin/zenohd"
export PATH=$WORK/bin:$PATH
mkdir -p "$XDG_CONFIG_HOME/dora"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$XDG_CONFIG_HOME/dora/token"
cp "$SRC"/examples/sensor-network/{sensor_node.py,cloud_node.py,dataflow.yml} "$WORK/example/"
for h in edge1 edge2 edge3 cloud; do
    mkdir -p "$WORK/$h"
    sed "s#203.0.113.10#${ROUTER_ADDR[${LAN[$h]}]}#" \
        "$SRC/examples/sensor-network/zenoh_config.json5" >"$WORK/$h/zenoh_config.json5"
done

# --- checks ------------------------------------------------------------------------------------
passed=0
failed=0
check() {  # check NAME COMMAND...: runs COMMAND once, prints and counts the verdict
    local name=$1
    shift
    if "$@"; then
        echo "PASS  $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name"
        failed=$((failed + 1))
    fi
}
within() { wait_for "$@"; }  # within SECONDS COMMAND...: reads better in a check
# tails LOG...: the last lines of these logs (in WORK), for a failure.
tails() {
    local f
    for f in "$@"; do
        echo "--- tail of $f" >&2
        tail -n 15 "$WORK/$f" >&2
    done
}
# give_up LOG...: after a failure that leaves the checks that follow nothing to check.
give_up() {
    tails "$@"
    echo "interop-zenohd: $passed passed, $failed failed (stopped: the other checks need these)"
    exit 1
}
# on HOST [VAR=VALUE...] COMMAND...: COMMAND on HOST, in HOST's directory, output to LOG.
on() {
    local h=$1 log=$2
    shift 2
    (cd "$WORK/${h/router/example}" && exec ip netns exec "$(ns "$h")" env "$@") \
        >"$WORK/$log" 2>&1 &
}
in_log() { grep -qs -- "$2" "$WORK/$1"; }
no_route_across() { ! ip netns exec "$(ns edge1)" ip route get "${ADDR[cloud]}" >/dev/null 2>&1; }
check "separate networks: edge1 has no route to the cloud (the router host forwards nothing)" \
    no_route_across
((failed == 0)) || give_up

on router coordinator.log dora coordinator
check "dora coordinator listens on the router host" \
    within 20 in_log coordinator.log 'coordinator listening'
((failed == 0)) || give_up coordinator.log
# Certificates of the cluster CA for zenohd (named by the addresses it is dialled at) and for
# eclipse-zenoh's z_sub, and zenohd's configuration: tls/ with mutual TLS under that CA.
issue() {  # issue NAME [--alt-name A]...: into $WORK/certs (one ca.crt for all: --force)
    (cd "$WORK/example" && ip netns exec "$(ns router)" dora cert issue "$@" --out "$WORK/certs" --force) \
        >>"$WORK/certs.log" 2>&1
}
check "dora cert issue: certificates for zenohd and eclipse-zenoh's z_sub" \
    eval 'issue zenohd --alt-name "${ROUTER_ADDR[edge]}" --alt-name "${ROUTER_ADDR[cloud]}" \
        --alt-name 127.0.0.1 && issue z_sub'
((failed == 0)) || give_up certs.log coordinator.log
cat >"$WORK/zenohd.json5" <<JSON
{
  listen: { endpoints: ["tls/0.0.0.0:7447"] },
  transport: { link: { tls: {
    root_ca_certificate: "$WORK/certs/ca.crt",
    listen_certificate: "$WORK/certs/zenohd.crt",
    listen_private_key: "$WORK/certs/zenohd.key",
    enable_mtls: true,
  } } },
}
JSON
on router zenohd.log zenohd --config "$WORK/zenohd.json5"
listens() { ip netns exec "$(ns router)" ss -Hltn "sport = :$1" | grep -q .; }
check "zenohd listens on tls/0.0.0.0:7447 on the router host (mTLS, dora's cluster CA)" \
    within 20 listens 7447
((failed == 0)) || give_up zenohd.log

# Three watchers of dora/** on the router host: our z_sub as the README runs it (client, over
# loopback), our z_sub in its default peer mode (which asks zenohd for its subscribers with
# INTEREST), and the eclipse-zenoh one (the Rust core, client).
on router sub.log dora zenoh sub 'dora/**' -m client -e tls/127.0.0.1:7447
on router sub-peer.log dora zenoh sub 'dora/**' -e "tls/${ROUTER_ADDR[edge]}:7447"
on router z_sub.log "$VENV/bin/python" "$SRC/scripts/interop/z_sub.py" 'dora/**' -m client \
    -e "tls/${ROUTER_ADDR[edge]}:7447" --seconds 600 \
    --mtls "$WORK/certs/ca.crt" "$WORK/certs/z_sub.crt" "$WORK/certs/z_sub.key"
# A stranger on the edge LAN: no token, so no certificate of the cluster.
on edge1 stranger.log DORA_TOKEN= XDG_CONFIG_HOME=/nonexistent dora zenoh sub 'dora/**' -m client \
    -e "tls/${ROUTER_ADDR[edge]}:7447" --seconds 20
for h in edge1 edge2 edge3 cloud; do
    on "$h" "daemon-$h.log" ZENOH_CONFIG=zenoh_config.json5 \
        dora daemon --coordinator-addr "${ROUTER_ADDR[${LAN[$h]}]}" --machine-id "$h"
done
all_registered() {
    (($(ip netns exec "$(ns router)" dora list 2>/dev/null | grep -c ' connected ') == 4))
}
check "the 4 daemons (edge1-3 on the edge LAN, cloud on the cloud LAN) registered" \
    within 30 all_registered
# The daemons' only Zenoh links: TCP connections to zenohd's port, seen from the router host.
zenohd_clients() {
    local h peers
    peers=$(ip netns exec "$(ns router)" ss -Htn state established "sport = :7447")
    for h in edge1 edge2 edge3 cloud; do
        grep -q " ${ADDR[$h]}:" <<<"$peers" || return 1
    done
}
check "every daemon is linked to zenohd (TLS to router:7447 from edge1-3 and cloud)" \
    within 20 zenohd_clients
# zenohd logs "Using ZID: <zid>"; each daemon logs "face 1 opened: router <zid> at ...". The two
# spell the same 16 bytes alike only since our ZIDs print as Rust prints them.
same_zid() {
    local zid h
    zid=$(sed -e 's/\x1b\[[0-9;]*m//g' -n -e 's/.*Using ZID: \([0-9a-f]*\).*/\1/p' \
        "$WORK/zenohd.log")
    [[ -n $zid ]] || return 1
    for h in edge1 edge2 edge3 cloud; do
        in_log "daemon-$h.log" "opened: router $zid at" || return 1
    done
}
check "every daemon names zenohd by the ZID zenohd logs (Rust's spelling of a ZID)" same_zid
((failed == 0)) || give_up zenohd.log daemon-edge1.log daemon-edge2.log daemon-edge3.log \
    daemon-cloud.log

built() { (cd "$WORK/example" && ip netns exec "$(ns router)" dora build dataflow.yml) \
    >"$WORK/build.log" 2>&1; }
check "dora build dataflow.yml on the router host" built
((failed == 0)) || give_up build.log
cd "$WORK/example"
start_stamped "$OUT" ip netns exec "$(ns router)" dora start dataflow.yml
cd "$SRC"
arrived() { grep -q "Received from $1:" "$OUT"; }
seen_by() { grep -q "output/sensor-${2#sensor_}/reading" "$WORK/$1"; }
for s in "${SENSORS[@]}"; do
    check "$s's readings reach the cloud aggregator through zenohd" within 40 arrived "$s"
done
for s in "${SENSORS[@]}"; do
    check "dora zenoh sub -m client (the README's) on the router host sees $s's key" \
        within 10 seen_by sub.log "$s"
done
for s in "${SENSORS[@]}"; do
    check "dora zenoh sub (peer) on the router host sees $s's key" \
        within 10 seen_by sub-peer.log "$s"
done
for s in "${SENSORS[@]}"; do
    check "eclipse-zenoh z_sub -m client on the router host sees $s's key" \
        within 10 seen_by z_sub.log "$s"
done
# The summaries come every 10 s; the second one is past zenohd's lease (10 s), so the links
# live on keep-alives by then.
three_active() { (($(summaries_in "$OUT") >= $1)) && [[ $(active_sensors "$OUT" "$1") == 3 ]]; }
check "the aggregator's first summary shows 3 active sensors" within 25 three_active 1
check "so does its second, 10 s later (past zenohd's 10 s lease)" within 25 three_active 2


kill -TERM "$COMMAND_PID"
status=0
wait "$COMMAND_PID" || status=$?
wait "$STAMP_PID"
stopped_cleanly() { ((status == 0)) && grep -q 'finished successfully' "$OUT"; }
check "dora start stops the dataflow cleanly (finished successfully)" stopped_cleanly
# What each sensor sent and what the aggregator printed as received, from the whole run; the
# reading a sensor sends while the dataflow stops may not be received before the aggregator ends.
sent() { grep -c "^[0-9.]* sensor-${1#sensor_} on daemon .*: stdout    \[[0-9]*\] Sent: " "$OUT"; }
received() { grep -c "Received from $1: " "$OUT"; }
none_lost() {
    local s
    for s in "${SENSORS[@]}"; do (($(received "$s") >= $(sent "$s") - 1)) || return 1; done
}
check "no reading lost on the way (each sensor: received >= sent - 1, the last one in flight)" \
    none_lost
zenohd_alive() { ip netns exec "$(ns router)" ss -Hltn "sport = :7447" | grep -q .; }
check "zenohd is still up after the run" zenohd_alive
stranger_refused() { in_log stranger.log "(handshake) closed" && ! in_log stranger.log "Received PUT"; }
check "a z_sub without a certificate of the cluster was refused by zenohd and saw nothing" \
    stranger_refused
quiet_zenohd() { ! grep -qE 'panicked|ERROR' "$WORK/zenohd.log"; }  # the word, coloured or not
check "zenohd logged no ERROR and no panic" quiet_zenohd

echo "--- figures"
# (the first reading's time includes starting the nodes)
stamp_of() { grep -m1 -- "$1" "$OUT" | cut -d' ' -f1; }
t0=$(stamp_of 'dataflow start triggered')
for s in "${SENSORS[@]}"; do
    t1=$(stamp_of "Received from $s: ")
    printf '%-16s sent %3d, received %3d; the first at the cloud %s s after the start\n' \
        "$s" "$(sent "$s")" "$(received "$s")" "$(awk -v a="$t0" -v b="$t1" \
        'BEGIN { if (a == "" || b == "") print "?"; else printf "%.2f", b - a }')"
done
# transit: from each reading's Sent line to its Received line, as the CLI read them (both come
# through their daemons and the coordinator): how many, the median and the largest, in ms.
transit() {
    awk '$2 ~ /^sensor-/ && / Sent: / { k = "sensor_" substr($2, 8) " " $NF; q[k] = q[k] " " $1 }
        / Received from sensor_/ {
            for (i = 1; i < NF && $i != "from"; i++) {}
            k = substr($(i + 1), 1, length($(i + 1)) - 1) " " $NF
            if (split(q[k], sent, " ") == 0) next
            d[++n] = ($1 - sent[1]) * 1000
            sub(/^ [^ ]+/, "", q[k])
        }
        END {
            for (i = 2; i <= n; i++) {  # insertion sort: mawk has no asort
                v = d[i]
                for (j = i - 1; j >= 1 && d[j] > v; j--) d[j + 1] = d[j]
                d[j + 1] = v
            }
            if (n) printf "%d readings, median %.1f ms, largest %.1f ms", n,
                d[int((n + 1) / 2)], d[n]
        }' "$OUT"
}
echo "sent -> received (Sent and Received lines): $(transit)"
# zenohd_lines LEVEL: how many of zenohd's log lines are at LEVEL (its colours taken out first).
zenohd_lines() { sed 's/\x1b\[[0-9;]*m//g' "$WORK/zenohd.log" | awk -v l="$1" '$2 == l' | wc -l; }
echo "zenohd log: $(zenohd_lines WARN) WARN, $(zenohd_lines ERROR) ERROR lines; daemons' logs:" \
    "$(cat "$WORK"/daemon-*.log | grep -ciE 'warn|error') warning or error lines"
echo "--- what they saw"
summary_block "$OUT" 2 | sed -E 's/^[0-9.]+ //'
grep -m1 'output/sensor-temp/reading' "$WORK/sub.log" | sed 's/^/dora zenoh sub: /' || true
grep -m1 'output/sensor-temp/reading' "$WORK/z_sub.log" | sed 's/^/eclipse-zenoh:  /' || true
echo "---"

echo "interop-zenohd: $passed passed, $failed failed"
if ((failed > 0)); then
    show
    tails zenohd.log sub.log sub-peer.log z_sub.log daemon-edge1.log daemon-cloud.log
    exit 1
fi
