#!/usr/bin/env bash
# Zenoh benchmark: two dora-cpp Zenoh sessions over loopback (peer to peer, and both as clients
# of a router session), throughput and ping round trips for 8 B .. 1 MiB; and in the same run
# Cyclone DDS `ddsperf` (Debian cyclonedds-tools) pinned to loopback with multicast off, as the
# anchor. Prints tables; it is not a test.
# Usage: bench/zenoh/run.sh [--seconds S] [--rounds N] [--tls]   (BUILD=dir: an existing build)
# --tls: our sessions over tls/ links (a CA and a certificate for 127.0.0.1 made with openssl in a
# temp dir); the anchor is unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_SIZE=2
ROUNDS=2000
while (($#)); do
    case $1 in
        --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --tls) TLS=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z "${BUILD:-}" ]]; then
    cmake --preset release >/dev/null && cmake --build --preset release --target dora_zenoh_bench >/dev/null
    BUILD=$PWD/build/release
fi
TLS_ARGS=()
if [[ -n "${TLS:-}" ]]; then
    CERTS=$(mktemp -d)
    trap 'rm -rf "$CERTS"' EXIT
    ossl() { openssl "$@" >/dev/null 2>&1; }
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
        -keyout "$CERTS/ca-key.pem" -out "$CERTS/ca.pem" -addext basicConstraints=critical,CA:TRUE
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench \
        -keyout "$CERTS/key.pem" -out "$CERTS/cert.csr"
    printf 'subjectAltName=IP:127.0.0.1\n' >"$CERTS/ext"
    ossl x509 -req -in "$CERTS/cert.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca-key.pem" \
        -CAcreateserial -days 1 -extfile "$CERTS/ext" -out "$CERTS/cert.pem"
    TLS_ARGS=(--tls "$CERTS")
fi
"$BUILD/bench/zenoh/dora_zenoh_bench" --seconds "$SECONDS_PER_SIZE" --rounds "$ROUNDS" "${TLS_ARGS[@]}"

if ! command -v ddsperf >/dev/null; then
    echo "ddsperf not found (apt-get install cyclonedds-tools): no anchor figures"
    exit 0
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK" "${CERTS:-}"
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
