#!/usr/bin/env bash
# Zenoh benchmark: two dora-cpp Zenoh sessions over loopback (peer to peer, and both as clients
# of a router session), throughput and ping round trips for 8 B .. 1 MiB; and in the same run
# Cyclone DDS `ddsperf` (Debian cyclonedds-tools) pinned to loopback with multicast off, as the
# anchor. Prints tables; it is not a test.
# Usage: bench/zenoh/run.sh [--seconds S] [--rounds N]     (BUILD=dir to use an existing build)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_SIZE=2
ROUNDS=2000
while (($#)); do
    case $1 in
        --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z "${BUILD:-}" ]]; then
    cmake --preset release >/dev/null && cmake --build --preset release --target dora_zenoh_bench >/dev/null
    BUILD=$PWD/build/release
fi
"$BUILD/bench/zenoh/dora_zenoh_bench" --seconds "$SECONDS_PER_SIZE" --rounds "$ROUNDS"

if ! command -v ddsperf >/dev/null; then
    echo "ddsperf not found (apt-get install cyclonedds-tools): no anchor figures"
    exit 0
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
export CYCLONEDDS_URI=file://$PWD/bench/cyclonedds-loopback.xml
median_of() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
D=$((SECONDS_PER_SIZE + 3))
echo
echo "== Cyclone DDS ddsperf, same machine, loopback (medians of per-second lines after 2) =="
printf "%-10s %12s %10s %12s %12s\n" size "msg/s" "Gbit/s" "rtt p50 us" "rtt p99 us"
for size in 12 1024 65536 1048576; do
    ddsperf -D $((D + 1)) sub >"$WORK/sub.txt" 2>&1 &
    PIDS+=($!)
    ddsperf -D "$D" pub size "$size" >/dev/null 2>&1 || true
    wait "${PIDS[-1]}" 2>/dev/null || true
    rates=$(grep -E "rate" "$WORK/sub.txt" | tail -n +3 || true)
    ks=$(sed -n 's/.*rate \([0-9.]*\) kS\/s.*/\1/p' <<<"$rates" | median_of)
    ddsperf -D $((D + 1)) pong >/dev/null 2>&1 &
    PIDS+=($!)
    out=$(ddsperf -D "$D" ping size "$size" 2>/dev/null || true)
    wait "${PIDS[-1]}" 2>/dev/null || true
    lines=$(grep -E " size $size mean" <<<"$out" | tail -n +3 || true)
    p50=$(sed -n 's/.* 50% \([0-9.]*\)us.*/\1/p' <<<"$lines" | median_of)
    p99=$(sed -n 's/.* 99% \([0-9.]*\)us.*/\1/p' <<<"$lines" | median_of)
    awk -v s="$size B" -v n="$size" -v ks="$ks" -v p50="$p50" -v p99="$p99" 'BEGIN {
        if (ks == "-") printf "%-10s %12s %10s %12s %12s\n", s, "-", "-", p50, p99;
        else printf "%-10s %12.0f %10.2f %12s %12s\n", s, ks * 1000, ks * 1000 * n * 8 / 1e9, p50, p99 }'
done
