#!/usr/bin/env bash
# dora-cpp beside the original dora (0.3.12 and 1.1.0, the latest 1.x on PyPI when written): the
# same Python nodes and dataflows on each, one table with ratios. Not a test.
#
#   bench/vs_dora.sh [--quick] [--rounds N] [--seconds S] [--watch S] [--starts K]
#                    [--only local,remote,sensor] [--runtimes cpp,0.3.12,1.1.0] [--build DIR]
#                    [--keep]
#
#   local     Python to Python through one daemon: one-way latency p50 (p99) at 8 B, 4 KiB,
#             1 MiB, 40 MiB (--rounds ping-pongs per size, fewer for the big ones) and
#             throughput (messages delivered per second, at most 8 unacknowledged; --seconds
#             per size)
#   remote    the same between two daemons (edge1 -> cloud) on this machine
#   sensor    examples/sensor-network's Python nodes, unchanged, on four daemons: `dora start
#             --detach` time and time from `dora start` to the first reading (median of
#             --starts starts), then CPU and RSS of coordinator, daemons and nodes over --watch s
#   --keep    keep the work directory (dataflows, node and daemon logs, results) and say where
#   --quick   --rounds 300 --seconds 1 --watch 15 --starts 2
#   defaults  --rounds 2000 --seconds 2 --watch 60 --starts 3 (about 12 minutes on 2 cores)
#
# The original dora comes from PyPI (dora-rs-cli + dora-rs, pinned in bench/vs_dora/
# requirements-*.txt) into venvs under ${XDG_CACHE_HOME:-~/.cache}/dora-cpp/vs-dora, made on
# first use; the benchmark nodes under dora-cpp get pyarrow from a venv there too. Every
# cluster runs in its own network namespace (needs root: `ip netns`), because the original
# listens on fixed ports; the script removes its processes and namespaces on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=2000
SECONDS_PER_SIZE=2
WATCH=60
STARTS=3
ONLY=local,remote,sensor
RUNTIMES=cpp,0.3.12,1.1.0
BUILD=
KEEP=
while (($#)); do
    case $1 in
        --quick) ROUNDS=300; SECONDS_PER_SIZE=1; WATCH=15; STARTS=2; shift ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
        --watch) WATCH=$2; shift 2 ;;
        --starts) STARTS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --runtimes) RUNTIMES=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
say() { echo "[vs_dora] $*" >&2; }

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/dora-cpp/vs-dora
WORK=$(mktemp -d /tmp/vs-dora.XXXXXX)
STATE=$WORK/state
mkdir -p "$STATE"
: >"$STATE/pids"
: >"$STATE/netns"
MEASURE_PID=

# Ends what this run started, by PID only: the measuring process, then every PID it recorded,
# every process left in its namespaces (nodes whose daemon died first), then the namespaces.
cleanup() {
    set +e
    trap - EXIT INT TERM
    [[ -n $MEASURE_PID ]] && kill "$MEASURE_PID" 2>/dev/null && wait "$MEASURE_PID" 2>/dev/null
    local pids=() pid
    # The recorded PIDs that still run a dora process (a PID could have been reused since).
    while read -r pid; do
        grep -qs dora "/proc/$pid/cmdline" && pids+=("$pid")
    done <"$STATE/pids"
    while read -r ns; do
        [[ -n $ns ]] || continue
        mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
    done <"$STATE/netns"
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null
        sleep 1
        kill -KILL "${pids[@]}" 2>/dev/null
    fi
    while read -r ns; do
        [[ -n $ns ]] && ip netns delete "$ns" 2>/dev/null
    done <"$STATE/netns"
    if [[ -n $KEEP ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# venv DIR REQUIREMENTS: a Python environment with exactly those pins, made once.
venv() {
    local dir=$1 requirements=$2
    if [[ -f $dir/.pins ]] && cmp -s "$dir/.pins" "$requirements"; then return; fi
    say "installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$dir/.pins"
}

if [[ $(id -u) -ne 0 ]] || ! ip netns list >/dev/null 2>&1; then
    say "needs root for 'ip netns' (each cluster runs in its own network namespace)"
    exit 1
fi

IFS=, read -r -a runtimes <<<"$RUNTIMES"
declare -A DORA PYBIN
for rt in "${runtimes[@]}"; do
    case $rt in
        cpp)
            venv "$CACHE/pyarrow" bench/vs_dora/requirements-pyarrow.txt
            if [[ -z $BUILD ]]; then
                say "building dora-cpp (release preset)"
                cmake --preset release -DDORA_BUILD_PYTHON=ON \
                    -DPython_EXECUTABLE="$(command -v python3)" >/dev/null
                cmake --build --preset release -j2 --target dora_cli dora_python_package >/dev/null
                BUILD=build/release
            fi
            DORA[cpp]=$(cd "$BUILD" && pwd)/src/cli/dora
            PYBIN[cpp]=$CACHE/pyarrow/bin
            ;;
        0.3.12 | 1.1.0)
            venv "$CACHE/dora-$rt" "bench/vs_dora/requirements-$rt.txt"
            DORA[$rt]=$CACHE/dora-$rt/bin/dora
            PYBIN[$rt]=$CACHE/dora-$rt/bin
            ;;
        *) say "unknown runtime $rt (cpp, 0.3.12, 1.1.0)"; exit 2 ;;
    esac
done

say "options: --rounds $ROUNDS --seconds $SECONDS_PER_SIZE --watch $WATCH --starts $STARTS" \
    "--only $ONLY; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
files=()
for rt in "${runtimes[@]}"; do
    say "measuring ${rt/cpp/dora-cpp}"
    python3 bench/vs_dora/run.py measure --runtime "$rt" --dora "${DORA[$rt]}" \
        --python-bin "${PYBIN[$rt]}" --work "$WORK/$rt" --state "$STATE" \
        --out "$WORK/results-$rt.jsonl" --only "$ONLY" --rounds "$ROUNDS" \
        --seconds "$SECONDS_PER_SIZE" --watch "$WATCH" --starts "$STARTS" &
    MEASURE_PID=$!
    wait "$MEASURE_PID" || say "measuring $rt failed (exit $?); its rows say what is missing"
    MEASURE_PID=
    [[ -s $WORK/results-$rt.jsonl ]] && files+=("$WORK/results-$rt.jsonl")
done
echo
echo "dora-cpp $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') beside dora" \
    "$(tr ',' ' ' <<<"${RUNTIMES//cpp,/}") on $(nproc) cores; bench/vs_dora.sh" \
    "--rounds $ROUNDS --seconds $SECONDS_PER_SIZE --watch $WATCH --starts $STARTS --only $ONLY"
echo
((${#files[@]})) && python3 bench/vs_dora/run.py table "${files[@]}"
