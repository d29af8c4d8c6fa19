#!/usr/bin/env bash
# Cross-daemon benchmark: a coordinator and daemons edge1, edge2, edge3, cloud on loopback;
# one-way latency and throughput between C++ nodes on edge1 and cloud (data over Zenoh), and the
# time from `dora start` until all eight nodes of a four-daemon dataflow run; one-way latency
# between Python nodes across the daemons beside the same pair in C++; and the daemons' memory
# under a flood from a producer faster than the path (--flood S seconds, 0 leaves it out). Not a
# test. In the same run, the references: our Zenoh sessions peer to peer and through a router, and
# Cyclone DDS ddsperf (bench/zenoh/run.sh; NO_REFERENCES=1 leaves them out).
#   bench/run_distributed.sh [--rounds N] [--seconds S] [--starts K] [--flood S]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=1000
SECONDS_PER_SIZE=1
STARTS=5
FLOOD=60
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
        --starts) STARTS=$2; shift 2 ;;
        --flood) FLOOD=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
BUILD=${BUILD:-$PWD/build/release}
if [[ -z ${NO_BUILD:-} ]]; then
    cmake --preset release -DDORA_BUILD_TESTS=ON -DDORA_SKIP_MODULES= >/dev/null
    cmake --build "$BUILD" --target dora_cli dora_bench_node dora_test_node dora_zenoh_bench \
        dora_python_package dora_py_bench_cpp_node >/dev/null
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
# Python and C++ nodes of bench/python (the same program in both languages), ping on edge1 and pong
# on cloud. The Python ping also prints the max, the rounds its own garbage collector ran in and
# the p99 of the other rounds; `--gc off` freezes and disables the collector in both nodes.
python_pair() {  # <cpp|py> [extra args]
    local node=$BUILD/bench/python/dora_py_bench_cpp_node
    [[ $1 == py ]] && node=$PWD/bench/python/bench_node.py
    cat >"$WORK/pypair.yml" <<YML
nodes:
  - id: ping
    path: $node
    args: ping --sizes 8,4096 --rounds $ROUNDS ${2:-}
    inputs: {pong: pong/pong}
    outputs: [ping]
    _unstable_deploy: {machine: edge1}
  - id: pong
    path: $node
    args: pong ${2:-}
    inputs: {ping: ping/ping}
    outputs: [pong]
    _unstable_deploy: {machine: cloud}
YML
    "$DORA" start "$WORK/pypair.yml" --coordinator-port "$CPORT" 2>/dev/null |
        sed -n 's/^ping on daemon `edge1`: stdout *latency //p'
}
echo "== Python node to Python node across two daemons (edge1 -> cloud): one-way latency, us =="
printf "%-22s %-8s %8s %8s %8s %10s %14s\n" pair size p50 p99 max "gc rounds" "p99 w/o gc"
for pair in "cpp C++ -> C++" "py Py -> Py" "py Py -> Py, gc off"; do
    read -r lang label <<<"$pair"
    extra=""
    [[ $label == *"gc off" ]] && extra="--gc off"
    python_pair "$lang" "$extra" | while read -r size p50 p99 n max gcr quiet; do
        printf "%-22s %-8s %8s %8s %8s %10s %14s\n" "$label" "$size B" "$p50" "$p99" \
            "${max:--}" "${gcr:--}" "${quiet:--}"
    done
done
echo

# The daemons' memory while a source on edge1 floods a sink on cloud faster than the path
# carries (half the time 8 B messages, half 1 MiB): VmRSS of both daemons every 0.5 s, split into
# anonymous memory and shared memory (pool segments the daemon mapped).
rss_of() {  # pid -> "rss anon shmem" in KiB
    awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssShmem/ {s = $2} END {print r, a, s}' \
        "/proc/$1/status" 2>/dev/null || echo "0 0 0"
}
if ((FLOOD > 0)); then
    echo "== memory: a ${FLOOD} s flood edge1 -> cloud (source faster than the path; half 8 B, half 1 MiB) =="
    EDGE1_PID=${PIDS[1]}
    CLOUD_PID=${PIDS[4]}
    before_e=$(rss_of "$EDGE1_PID")
    before_c=$(rss_of "$CLOUD_PID")
    (
        while :; do
            echo "$(rss_of "$EDGE1_PID") $(rss_of "$CLOUD_PID")"
            sleep 0.5
        done
    ) >"$WORK/rss.txt" &
    SAMPLER=$!
    sed -e "s#BENCH_NODE#$BUILD/bench/cpp/dora_bench_node#" \
        -e "s#SECONDS#$(awk -v f="$FLOOD" 'BEGIN {print f / 2}')#" \
        -e "s#--sizes 8,1024,65536,1048576#--sizes 8,1048576#" \
        bench/distributed/throughput.yml >"$WORK/flood.yml"
    "$DORA" start "$WORK/flood.yml" --coordinator-port "$CPORT" 2>"$WORK/flood.err" |
        sed -n 's/^sink on daemon `cloud`: stdout    //p'
    grep -o "finished with.*\|finished successfully" "$WORK/flood.err" || true
    kill "$SAMPLER"
    wait "$SAMPLER" 2>/dev/null || true
    after_e=$(rss_of "$EDGE1_PID")
    after_c=$(rss_of "$CLOUD_PID")
    printf "%-16s %12s %12s %12s %12s %12s\n" daemon "RSS before" "RSS peak" "anon peak" \
        "shmem peak" "RSS after"
    for d in "edge1 (sends) 0 $before_e $after_e" "cloud (receives) 3 $before_c $after_c"; do
        read -r name role col b _ _ a _ _ <<<"$d"
        awk -v name="$name $role" -v c="$col" -v b="$b" -v a="$a" '
            $(c + 1) > r {r = $(c + 1)} $(c + 2) > an {an = $(c + 2)} $(c + 3) > s {s = $(c + 3)}
            END {printf "%-16s %9.1f MiB %9.1f MiB %9.1f MiB %9.1f MiB %9.1f MiB\n",
                 name, b / 1024, r / 1024, an / 1024, s / 1024, a / 1024}' "$WORK/rss.txt"
    done
    # The sender's bound, checked: shmem <= its shmem before + 256 MiB + 16 MiB of header and partial
    # pages per size class flooded (two here) + one 1.25 MiB segment; anon <= its anon before + 256 MiB +
    # one 1 MiB message.
    read -r _ anon_b shm_b <<<"$before_e"
    awk -v ab="$anon_b" -v sb="$shm_b" '
        $2 > an {an = $2} $3 > s {s = $3}
        END {sl = sb + (256 + 32 + 1.25) * 1024; al = ab + (256 + 1) * 1024
             printf "edge1 bound check: shmem peak %.1f <= %.1f MiB: %s; anon peak %.1f <= %.1f MiB: %s\n",
                 s / 1024, sl / 1024, s <= sl ? "yes" : "NO", an / 1024, al / 1024, an <= al ? "yes" : "NO"}' \
        "$WORK/rss.txt"
    echo "what bounds it (from the code): the receiver's daemon holds its base, its"
    echo "  ingress pool (per size class <= the receiving inputs' queue_size + the samples the node holds:"
    echo "  here 1024 + 1 of 1 MiB; idle pages given back each second), one message being reassembled per"
    echo "  link and one read of the links. The sender's shmem: pages of the node's pool its egress read,"
    echo "  <= EgressLimits::max_resident_bytes = 256 MiB of payload (least recently read dropped at once"
    echo "  past it; the samples in flight, <= 1024 and <= 128 MiB + one, are never dropped and fit in it)"
    echo "  + <= 2 pages per mapped segment (header, last partial page; <= 2 x 1024 + held segments per"
    echo "  size class: 16 MiB each) + its rings; the drain at the end drops each sample's pages once sent."
    echo "  The sender's anonymous memory: its base + the link's send queue (put while <= 256 MiB is"
    echo "  queued, kMaxPendingBytes, then dropped and counted); samples in flight are read in place"
    echo
fi

if [[ -z ${NO_REFERENCES:-} ]]; then
    echo "== references in the same run: our Zenoh sessions without daemons, and Cyclone DDS ddsperf =="
    BUILD=$BUILD bash bench/zenoh/run.sh --seconds "$SECONDS_PER_SIZE" --rounds "$ROUNDS"
fi
