#!/usr/bin/env bash
# Local data-plane benchmark: two C++ nodes under `dora run`, and in the same run Cyclone DDS
# `ddsperf` (Debian cyclonedds-tools) pinned to loopback with multicast off, for comparison.
# Prints tables; it is not a test. Usage: bench/run_local.sh [--rounds N] [--seconds S]
#   --rounds   ping-pong rounds per size (default 2000; 1/10 of that for >= 4 MiB)
#   --seconds  seconds of sending per size in the throughput run (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=2000
SECONDS_PER_SIZE=1
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

cmake --preset release -DDORA_SKIP_MODULES= >/dev/null && cmake --build --preset release --target dora_cli dora_bench_node >/dev/null
BUILD=$PWD/build/release
DORA=$BUILD/src/cli/dora
NODE=$BUILD/bench/cpp/dora_bench_node
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== dora-cpp, two C++ nodes, shared memory (one-way latency, in-place samples) =="
sed -e "s#BENCH_NODE#$NODE#" -e "s#ROUNDS#$ROUNDS#" bench/cpp/latency.yml >"$WORK/latency.yml"
"$DORA" run "$WORK/latency.yml" 2>/dev/null | sed -n 's/^pong: stdout    //p'
echo
echo "== dora-cpp throughput (receiver rate; payload not touched: zero-copy) =="
sed -e "s#BENCH_NODE#$NODE#" -e "s#SECONDS#$SECONDS_PER_SIZE#" bench/cpp/throughput.yml \
    >"$WORK/throughput.yml"
"$DORA" run "$WORK/throughput.yml" 2>/dev/null | sed -n 's/^sink: stdout    //p'

if ! command -v ddsperf >/dev/null; then
    echo "ddsperf not found (apt-get install cyclonedds-tools): no anchor figures"
    exit 0
fi
export CYCLONEDDS_URI=file://$PWD/bench/cyclonedds-loopback.xml
# Median of the per-second lines after the first two (warm-up).
median_of() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
echo
echo "== Cyclone DDS ddsperf, same machine, loopback (one-way = round trip / 2) =="
printf "%-10s %10s %10s\n" size "p50 (us)" "p99 (us)"
for size in 12 64 512 4096 65536 1048576; do
    ddsperf -D 7 pong >/dev/null 2>&1 &
    PIDS+=($!)
    out=$(ddsperf -D 6 ping size "$size" 2>/dev/null || true)
    wait "${PIDS[-1]}" 2>/dev/null || true
    lines=$(grep -E " size $size mean" <<<"$out" | tail -n +3 || true)
    p50=$(sed -n 's/.* 50% \([0-9.]*\)us.*/\1/p' <<<"$lines" | awk '{print $1/2}' | median_of)
    p99=$(sed -n 's/.* 99% \([0-9.]*\)us.*/\1/p' <<<"$lines" | awk '{print $1/2}' | median_of)
    printf "%-10s %10s %10s\n" "$size B" "$p50" "$p99"
done
echo
echo "== Cyclone DDS ddsperf throughput =="
printf "%-10s %12s %12s\n" size "kS/s" "Mb/s"
for size in 1024 65536 1048576; do
    ddsperf -D 7 sub >"$WORK/sub.txt" 2>&1 &
    sub=$!
    PIDS+=($sub)
    ddsperf -D 6 pub size "$size" >/dev/null 2>&1 || true
    wait "$sub" 2>/dev/null || true
    rates=$(grep -E "rate" "$WORK/sub.txt" | tail -n +3 || true)
    ks=$(sed -n 's/.* rate \([0-9.]*\) kS\/s.*/\1/p' <<<"$rates" | median_of)
    # From the per-second sample rate (the line's last Mb/s figure is cumulative).
    mb=$(awk -v k="$ks" -v s="$size" 'BEGIN { if (k == "-") print "-"; else printf "%.0f", k * s * 8 / 1000 }')
    printf "%-10s %12s %12s\n" "$size B" "$ks" "$mb"
done
