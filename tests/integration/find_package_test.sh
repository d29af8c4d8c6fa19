#!/usr/bin/env bash
# Installs the node API (component "node") into a scratch prefix, builds examples/cpp-node as an
# out-of-tree project with find_package(dora) (shared and static), and runs it with `dora run`.
#   find_package_test.sh <build dir> <source dir> <dora binary>
set -euo pipefail
build=$1 source=$2 dora=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --component node --prefix "$tmp/prefix" >/dev/null
mkdir "$tmp/example"
(cd "$source/examples/cpp-node" && cp CMakeLists.txt counter.cpp dataflow.yml "$tmp/example/")
cmake -S "$tmp/example" -B "$tmp/example/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    >/dev/null
cmake --build "$tmp/example/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
cd "$tmp/example"
"$dora" run dataflow.yml --stop-after 1 >out.txt 2>&1 || {
    cat out.txt
    exit 1
}
if ! grep -q "printer: stdout    count 5$" out.txt; then
    echo "the example's printer did not print the counter's numbers:"
    cat out.txt
    exit 1
fi
echo "find_package(dora) example built and ran"
