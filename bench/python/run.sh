#!/usr/bin/env bash
# Python node benchmark: latency (ping-pong, one-way = RTT/2, p50/p99) and throughput for Python
# and C++ nodes under `dora run`, all pairs in one run, printed as tables. Not a test.
# Usage: bench/python/run.sh [--build DIR] [--rounds N] [--count N] [--sizes a,b,...]
#   --build   use an existing build tree (default: configure and build the release preset)
#   --rounds  ping-pong rounds per size (default 2000; 1/20 of that, at least 50, for >= 4 MiB)
#   --count   messages per size in the throughput run (default 20000; fewer for >= 1 MiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=""
ROUNDS=2000
COUNT=20000
SIZES=8,4096,1048576,41943040
while (($#)); do
    case $1 in
        --build) BUILD=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --count) COUNT=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z $BUILD ]]; then
    cmake --preset release -DDORA_SKIP_MODULES="${DORA_SKIP_MODULES:-}" >/dev/null
    cmake --build --preset release -j2 \
        --target dora_cli dora_python_package dora_py_bench_cpp_node >/dev/null
    BUILD=build/release
fi
BUILD=$(cd "$BUILD" && pwd)
DORA=$BUILD/src/cli/dora
CPP=$BUILD/bench/python/dora_py_bench_cpp_node
PY=$PWD/bench/python/bench_node.py
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

path_of() { if [[ $1 == py ]]; then echo "$PY"; else echo "$CPP"; fi; }
human() {
    local n=$1
    if ((n >= 1048576 && n % 1048576 == 0)); then echo "$((n / 1048576)) MiB"
    elif ((n >= 1024 && n % 1024 == 0)); then echo "$((n / 1024)) KiB"
    else echo "$n B"; fi
}

# pingpong PING PONG SEND -> "size p50 p99 n" lines
pingpong() {
    cat >"$WORK/pingpong.yml" <<YML
nodes:
  - id: ping
    path: $(path_of "$1")
    args: ping --sizes $SIZES --rounds $ROUNDS --send $3
    inputs: {pong: pong/pong}
    outputs: [ping]
  - id: pong
    path: $(path_of "$2")
    args: pong --send $3
    inputs: {ping: ping/ping}
    outputs: [pong]
YML
    "$DORA" run "$WORK/pingpong.yml" 2>/dev/null | sed -n 's/^ping: stdout *latency //p'
}

# stream SOURCE SINK SEND -> "size msg/s received sent" lines
stream() {
    cat >"$WORK/stream.yml" <<YML
nodes:
  - id: source
    path: $(path_of "$1")
    args: source --sizes $SIZES --count $COUNT --send $3
    inputs: {ack: sink/ack}
    outputs: [data, done]
  - id: sink
    path: $(path_of "$2")
    args: sink
    inputs:
      data: {source: source/data, queue_size: 1024}
      done: source/done
    outputs: [ack]
YML
    "$DORA" run "$WORK/stream.yml" 2>/dev/null | sed -n 's/^sink: stdout *throughput //p'
}

PAIRS=("cpp cpp sample" "py py sample" "py cpp sample" "cpp py sample" "py py bytes")
LABELS=("C++ -> C++" "Py -> Py" "Py -> C++" "C++ -> Py" "Py -> Py, bytes (1 copy)")

echo "== one-way latency, ping-pong RTT/2 (us), dora run, shared memory =="
printf "%-26s" "pair"
IFS=, read -ra SIZE_LIST <<<"$SIZES"
for s in "${SIZE_LIST[@]}"; do printf "%22s" "$(human "$s") p50/p99"; done
echo
declare -A P50
for i in "${!PAIRS[@]}"; do
    read -r a b send <<<"${PAIRS[$i]}"
    out=$(pingpong "$a" "$b" "$send")
    printf "%-26s" "${LABELS[$i]}"
    for s in "${SIZE_LIST[@]}"; do
        line=$(awk -v s="$s" '$1 == s {printf "%.1f / %.1f", $2, $3; exit}' <<<"$out")
        P50[$i,$s]=$(awk -v s="$s" '$1 == s {print $2; exit}' <<<"$out")
        printf "%22s" "${line:--}"
    done
    echo
done
printf "%-26s" "Py<->Py / C++<->C++ p50"
for s in "${SIZE_LIST[@]}"; do
    printf "%22s" "$(awk -v p="${P50[1,$s]:-0}" -v c="${P50[0,$s]:-0}" \
        'BEGIN {if (c > 0) printf "%.2fx", p / c; else print "-"}')"
done
echo
echo
echo "== throughput, back-to-back sends: receiver msg/s, nominal Gbit/s, received/sent =="
echo "   (samples are not touched: for large sizes this is the runtime's rate, not memory bandwidth)"
printf "%-26s" "pair"
for s in "${SIZE_LIST[@]}"; do printf "  %-30s" "$(human "$s")"; done
echo
for i in "${!PAIRS[@]}"; do
    read -r a b send <<<"${PAIRS[$i]}"
    out=$(stream "$a" "$b" "$send")
    printf "%-26s" "${LABELS[$i]}"
    for s in "${SIZE_LIST[@]}"; do
        cell=$(awk -v s="$s" '$1 == s {printf "%.0f/s %.2f Gb/s %d/%d", $2, $2 * s * 8 / 1e9, $3, $4; exit}' <<<"$out")
        printf "  %-30s" "${cell:--}"
    done
    echo
done
