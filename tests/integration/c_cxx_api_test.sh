#!/usr/bin/env bash
# dora's C and C++ node and operator APIs as a user meets them: installs dora-cpp (the node API,
# component "node", and the programs) into a scratch prefix, builds examples/c-dataflow (C nodes
# on dora/node_api.h, a C operator on dora/operator_api.h) and examples/cxx-dataflow (C++ nodes on
# dora-node-api.h and on the C API, a C++ operator on the C operator API) out of tree with
# find_package(dora), runs both with `dora run` (c-dataflow with the installed one), and checks
# every message arrived in order, transformed by the operators. Also compiles the C++ API nodes
# as C++17 (as dora builds them), links a C node by hand with dora's library name
# (-ldora_node_api_c), and builds the C operator by hand as its header says.
#   c_cxx_api_test.sh <build dir> <source dir> <dora binary>
set -euo pipefail
build=$1 source=$2 dora=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

cmake --install "$build" --component node --prefix "$tmp/prefix" >/dev/null
# The programs too: c-dataflow runs with the installed `dora`, whose daemon must find the installed
# dora-runtime beside it.
cmake --install "$build" --component Unspecified --prefix "$tmp/prefix" >/dev/null
[[ -x $tmp/prefix/bin/dora-runtime ]] || fail "the installation has no bin/dora-runtime"
for lib in dora_node_api_c dora_node_api_cxx; do
    [[ -e $tmp/prefix/lib/lib$lib.so ]] || fail "the installation has no lib$lib.so (dora's name)"
done

run_example() {  # <example dir name> <dora>: builds it out of tree, runs it; output in $tmp/<name>.out
    local name=$1 run_dora=$2
    cp -r "$source/examples/$name" "$tmp/$name"
    rm -rf "$tmp/$name/build" "$tmp/$name/out"
    cmake -S "$tmp/$name" -B "$tmp/$name/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
        >"$tmp/$name.cmake.log" 2>&1 || { cat "$tmp/$name.cmake.log"; fail "$name: cmake"; }
    cmake --build "$tmp/$name/build" >"$tmp/$name.build.log" 2>&1 ||
        { cat "$tmp/$name.build.log"; fail "$name: build"; }
    (cd "$tmp/$name" && timeout 60 "$run_dora" run dataflow.yml >"$tmp/$name.out" 2>&1) ||
        { cat "$tmp/$name.out"; fail "$name: dora run"; }
}

# C: ten ticks as text, counted by the C operator (a shared library in dora-runtime), in order,
# then the operator sees its input close and STOP, and the sink sees INPUT_CLOSED.
run_example c-dataflow "$tmp/prefix/bin/dora"
[[ -e $tmp/c-dataflow/build/liboperator.so ]] || fail "c-dataflow: no build/liboperator.so"
expected=$(for i in $(seq 1 10); do echo "[c sink] counter: tick $i, counted by the C operator: $i"
    done
    echo "[c sink] input closed after 10 messages")
got=$(grep -o '\[c sink\].*' "$tmp/c-dataflow.out")
[[ $got == "$expected" ]] || { cat "$tmp/c-dataflow.out"; fail "c-dataflow: the sink got: $got"; }
grep -q '\[c node\] sent 10 messages' "$tmp/c-dataflow.out" || fail "c-dataflow: node summary"
expected=$'[c operator] input `message` closed\n[c operator] stop after 10 messages'
got=$(grep -o '\[c operator\].*' "$tmp/c-dataflow.out")
[[ $got == "$expected" ]] || { cat "$tmp/c-dataflow.out"; fail "c-dataflow: the operator said: $got"; }

# C++: counters through the C++ API, doubled through the C API, halved by the C++ operator on the
# C operator API, read back as Arrow. The operator returns STOP after 15 values: the runtime node
# ends, so the sink sees 15 values and then its input closed.
run_example cxx-dataflow "$dora"
expected=$(for i in $(seq 1 15); do echo "[sink] C[1] = $i"; done
    echo "[sink] input closed after 15 messages")
got=$(grep -o '\[sink\].*' "$tmp/cxx-dataflow.out")
[[ $got == "$expected" ]] || { cat "$tmp/cxx-dataflow.out"; fail "cxx-dataflow: the sink got: $got"; }
expected=$(for i in $(seq 1 15); do echo "[operator] $((2 * i)) -> $i"; done
    echo "[operator] 15 values halved, stopping"
    echo "[operator] dropped after 15 values")
got=$(grep -o '\[operator\].*' "$tmp/cxx-dataflow.out")
[[ $got == "$expected" ]] ||
    { cat "$tmp/cxx-dataflow.out"; fail "cxx-dataflow: the operator said: $got"; }

# dora builds its C++ nodes as C++17: the C++ API header needs no more.
for f in node_rust_api sink; do
    c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I"$tmp/prefix/include" \
        "$source/examples/cxx-dataflow/$f.cc" || fail "$f.cc does not compile as C++17"
done

# A C node linked by hand the way dora's build links its C examples (CFLAGS/LDFLAGS honoured like
# any build's: scripts/check.sh passes the sanitizer flags through them).
# shellcheck disable=SC2086  # flags are words
cc ${CFLAGS:-} "$source/examples/c-dataflow/c_sink.c" -I"$tmp/prefix/include" -L"$tmp/prefix/lib" \
    ${LDFLAGS:-} -ldora_node_api_c -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/c_sink_by_hand" ||
    fail "cc ... -ldora_node_api_c"
out=$("$tmp/c_sink_by_hand" 2>&1 || true)
grep -q "started outside a dataflow" <<<"$out" || fail "a C node outside a dataflow said: $out"
# The C operator built by hand as dora/operator_api.h says: linked against nothing of dora's, its
# dora_* calls left for dora-runtime to provide.
cc -shared -fPIC -Wall -Wextra -Werror -I"$tmp/prefix/include" \
    "$source/examples/c-dataflow/operator.c" -o "$tmp/liboperator_by_hand.so" ||
    fail "cc -shared operator.c"
if readelf -d "$tmp/liboperator_by_hand.so" | grep NEEDED | grep -q dora; then
    fail "the operator library needs a dora library"
fi
nm -D --undefined-only "$tmp/liboperator_by_hand.so" | grep -q ' dora_send_operator_output$' ||
    fail "the operator library does not leave dora_send_operator_output to the runtime"
echo "dora's C and C++ APIs: examples (nodes and operators) built with find_package(dora) and ran;" \
    "-ldora_node_api_c links"
