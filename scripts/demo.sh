#!/usr/bin/env bash
# Sets everything up (Debian packages, release build), then runs the demo dataflow on this
# machine with `dora run`: a C++ counter node fed by a timer and a printer node, built as an
# out-of-tree project against the installed node API (find_package(dora)).
#   scripts/demo.sh [--duration SECONDS]     without --duration it runs until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."
duration=0
while (($#)); do
    case $1 in
        --duration) duration=$2; shift 2 ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "demo: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

bash scripts/setup.sh release
prefix=$PWD/build/install
cmake --install build/release --prefix "$prefix" >/dev/null
example=$PWD/examples/cpp-node
cmake -S "$example" -B "$example/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$example/build" >/dev/null

echo "demo: running $example/dataflow.yml (Ctrl-C stops it)"
args=(run "$example/dataflow.yml")
if [[ $duration != 0 ]]; then
    args+=(--stop-after "$duration")
fi
exec "$prefix/bin/dora" "${args[@]}"
