#!/usr/bin/env bash
# `dora new` as a user meets it: for each language (the default C++ + Python pair, python, c,
# cxx) scaffolds a dataflow project, builds it out of tree against an installed dora-cpp
# (component "node" in a scratch prefix, found with CMAKE_PREFIX_PATH as the README says), runs
# it with `dora run --stop-after`, and checks that the listener printed the talker's first
# messages. Also scaffolds single nodes (--kind node) and checks the refusals.
#   new_scaffold_test.sh <build dir> <dora binary> <python package dir>
set -euo pipefail
build=$1 dora=$2 pydir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
cmake --install "$build" --component node --prefix "$tmp/prefix" >/dev/null
export PYTHONPATH=$pydir${PYTHONPATH:+:$PYTHONPATH}
cd "$tmp"

for lang in default python c cxx; do
    project=flow-$lang
    args=(new "$project")
    [[ $lang == default ]] || args+=(--lang "$lang")
    "$dora" "${args[@]}" >"$tmp/new-$lang.out" 2>&1 || { cat "$tmp/new-$lang.out"; fail "dora ${args[*]}"; }
    if [[ -f $project/CMakeLists.txt ]]; then
        cmake -S "$project" -B "$project/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
            >"$tmp/cmake-$lang.log" 2>&1 || { cat "$tmp/cmake-$lang.log"; fail "$lang: cmake"; }
        cmake --build "$project/build" >"$tmp/build-$lang.log" 2>&1 ||
            { cat "$tmp/build-$lang.log"; fail "$lang: build"; }
    fi
    "$dora" check --dataflow "$project/dataflow.yml" >/dev/null 2>&1 || fail "$lang: dora check"
    (cd "$project" && timeout 60 "$dora" run dataflow.yml --stop-after 2 >"$tmp/run-$lang.out" 2>&1) ||
        { cat "$tmp/run-$lang.out"; fail "$lang: dora run"; }
    grep -Eq '^listener: stdout +listener received message: hello from (C\+\+|C|Python) #1$' \
        "$tmp/run-$lang.out" || { cat "$tmp/run-$lang.out"; fail "$lang: the listener got nothing"; }
done

for lang in python c cxx; do
    "$dora" new "node-$lang" --kind node --lang "$lang" >"$tmp/node-$lang.out" 2>&1 ||
        { cat "$tmp/node-$lang.out"; fail "new --kind node --lang $lang"; }
    grep -q "  - id: node-$lang" "$tmp/node-$lang.out" || fail "node $lang: no snippet printed"
done

refused() {  # <expected text> <args...>
    local want=$1
    shift
    if "$dora" "$@" >"$tmp/refused.out" 2>&1; then fail "dora $* succeeded"; fi
    grep -qF -- "$want" "$tmp/refused.out" || { cat "$tmp/refused.out"; fail "dora $*: no \"$want\""; }
}
refused "dora-cpp runs no Rust nodes" new r1 --lang rust
refused "not a node language" new r2 --lang cobol
refused "creates a \`dataflow\`" new r3 --kind operator
[[ ! -e r1 && ! -e r2 && ! -e r3 ]] || fail "a refused dora new left a directory behind"
echo "dora new: default, python, c and cxx projects built and ran; nodes scaffolded"
