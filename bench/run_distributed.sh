#!/usr/bin/env bash
# Cross-daemon benchmark: a coordinator and daemons edge1, edge2, edge3, cloud on loopback;
# one-way latency and throughput between C++ nodes on edge1 and cloud (data over Zenoh), and the
# time from `dora start` until all eight nodes of a four-daemon dataflow run. Not a test.
# In the same run, the references: our Zenoh sessions peer to peer and through a router, and
# Cyclone DDS ddsperf (bench/zenoh/run.sh; NO_REFERENCES=1 leaves them out).
#   bench/run_distributed.sh [--rounds N] [--seconds S] [--starts K]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=1000
SECONDS_PER_SIZE=1
STARTS=5
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
        --starts) STARTS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
BUILD=${BUILD:-$PWD/build/release}
if [[ -z ${NO_BUILD:-} ]]; then
    cmake --preset release -DDORA_BUILD_TESTS=ON -DDORA_SKIP_MODULES= >/dev/null
    cmake --build "$BUILD" --target dora_cli dora_bench_node dora_test_node dora_zenoh_bench >/dev/null
fi
DORA=$BUILD/src/cli/dora
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$DORA" coordinator --port 0 --control-port 0 >"$WORK/coordinator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening" "$WORK/coordinator.log" && break; sleep 0.1; done
DPORT=$(grep -o "daemons on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
CPORT=$(grep -o "control on [0-9.]*:[0-9]*" "$WORK/coordinator.log" | grep -o "[0-9]*$")
for m in edge1 edge2 edge3 cloud; do
    "$DORA" daemon --machine-id $m --coordinator-port "$DPORT" --local-listen-port 0 \
        --work-dir "$WORK/$m" >"$WORK/daemon-$m.log" 2>&1 &
    PIDS+=($!)
done
for _ in $(seq 100); do
    [[ $("$DORA" list --coordinator-port "$CPORT" 2>/dev/null | grep -c " connected") -ge 4 ]] && break
    sleep 0.1
done

subst() {
    sed -e "s#BENCH_NODE#$BUILD/bench/cpp/dora_bench_node#" -e "s#TEST_NODE#$BUILD/tests/dora_test_node#" \
        -e "s#ROUNDS#$ROUNDS#" -e "s#SECONDS#$SECONDS_PER_SIZE#" "$1" >"$2"
}
# Each start's time: from `dora start` until every node printed its pid (forwarded by the
# coordinator), then the dataflow is stopped.
time_starts() {
    subst "$1" "$WORK/startup.yml"
    for i in $(seq "$STARTS"); do
        python3 - "$DORA" "$WORK/startup.yml" "$CPORT" "$i" <<'PY'
import subprocess, sys, time
dora, flow, port, i = sys.argv[1:5]
t0 = time.monotonic()
p = subprocess.Popen([dora, "start", flow, "--coordinator-port", port], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True)
seen, uuid = set(), None
for line in p.stdout:
    if line.startswith("dataflow start triggered:"):
        uuid = line.split()[-1]
    if ": stdout    pid " in line:
        seen.add(line.split(" on daemon")[0])
        if len(seen) == 8:
            print(f"start {i}: all 8 nodes running after {(time.monotonic() - t0) * 1000:.0f} ms")
            break
subprocess.run([dora, "stop", uuid, "--coordinator-port", port], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
p.wait(timeout=30)
PY
    done
}
# First, while the daemons have just registered: the first start is the one the issue tracks.
echo "== time from dora start to all 8 nodes running, 4 daemons, 2 per daemon, timers only ($STARTS starts; the first right after the daemons registered) =="
time_starts bench/distributed/startup.yml
echo
echo "== the same, 8 nodes chained across the 4 daemons (each start waits for the remote subscribers) =="
time_starts bench/distributed/startup_chain.yml
echo
echo "== dora-cpp across two daemons (edge1 -> cloud, Zenoh over loopback): one-way latency =="
subst bench/distributed/latency.yml "$WORK/latency.yml"
"$DORA" start "$WORK/latency.yml" --coordinator-port "$CPORT" 2>/dev/null |
    sed -n 's/^pong on daemon `cloud`: stdout    //p'
echo
# One throughput dataflow: the sink's rows, then the daemons' count of every drop (egress, link,
# ingress, input queue), which equals sent - received.
throughput_run() {  # <dataflow in bench/distributed> <name>
    subst "bench/distributed/$1" "$WORK/$2.yml"
    "$DORA" start "$WORK/$2.yml" --coordinator-port "$CPORT" 2>"$WORK/$2.err" |
        sed -n 's/^sink on daemon `cloud`: stdout    //p'
    grep -o "finished with.*\|finished successfully" "$WORK/$2.err" || true
}
echo "== dora-cpp across two daemons: throughput (receiver rate) =="
throughput_run throughput.yml throughput
echo
echo "== the same with queue_policy: backpressure on the remote input (the source waits; 0 dropped expected) =="
throughput_run throughput_backpressure.yml throughput_bp
echo
if [[ -z ${NO_REFERENCES:-} ]]; then
    echo "== references in the same run: our Zenoh sessions without daemons, and Cyclone DDS ddsperf =="
    BUILD=$BUILD bash bench/zenoh/run.sh --seconds "$SECONDS_PER_SIZE" --rounds "$ROUNDS"
fi
