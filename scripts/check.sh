#!/usr/bin/env bash
# Builds and runs every test under the sanitizers: AddressSanitizer + UndefinedBehaviorSanitizer
# (preset asan, build/asan) and ThreadSanitizer (preset tsan, build/tsan).
#   scripts/check.sh [asan|tsan|all]      (default: all)
#   JOBS=N        build and test parallelism (default 2)
#   TESTS=REGEX   only the ctest tests whose name matches (default: every test)
#
# Each test runs on its own (ctest -R ^name$), JOBS at a time, and every process it starts (the
# test, `dora`, the coordinator, the daemons, the nodes) writes its sanitizer report to a file
# under build/<preset>/sanitizer-reports/<test>/ (log_path): a report from a daemon or a node is
# seen even when the test never looks at that process's output or exit status. At the end the
# script prints every report with the test it came from and exits 1 if a test failed or any
# report was written.
#
# Options: halt_on_error everywhere (the first report ends the process: one finding at a time,
# never a flood); leak detection on under ASan; UBSan aborts on the first finding
# (-fno-sanitize-recover=undefined in the preset) and prints its stack.
#
# Python: the interpreter is not instrumented, the extension it loads is, and a sanitizer
# runtime must be the first library of a process. So Python runs with the runtime (and
# libstdc++, which python3 does not link: without it ASan cannot intercept C++ exceptions) in
# LD_PRELOAD, given in one of two ways so that nothing else is preloaded:
#   - tests whose program is Python (python_api_test, python_dataflow_test, python_install_test
#     and every test run in the test venv through run_in_venv.sh): the test runs with LD_PRELOAD;
#     what it starts (`dora run`, C++ and Python nodes) inherits it, which is harmless for our
#     instrumented binaries.
#   - every other test (shell scripts of bash, awk, sed, ...: preloading ASan into those finds
#     their bugs, not ours, e.g. a heap overflow in mawk) gets a `python3` wrapper first in PATH,
#     so only the Python nodes its daemons start are preloaded.
# Under ASan, leak detection is off inside Python processes (CPython leaves memory to the OS at
# exit by design; LSan would report that) and stays on for the C++ processes of the shell-script
# tests. TSan sees no synchronisation inside the uninstrumented interpreter; the GIL is a
# pthread mutex it intercepts, and these tests run clean with it, so they stay in.
#
# The test venv (pyarrow, numpy, eclipse-zenoh, pytest) is built for the preset too, so the
# tests that need it run instead of being skipped. The real Zenoh in it is Rust built without
# TSan: scripts/tsan.supp drops the reports whose stack is inside it (and says why).
#
# Out-of-tree builds (find_package_test, sensor_cpp_test) link the instrumented node library
# into a fresh CMake project: CXXFLAGS/LDFLAGS carry the sanitizer flags to that project.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
JOBS=${JOBS:-2}
TESTS=${TESTS:-.}

# Tests whose program is Python, besides those run through run_in_venv.sh (found by command).
export PYTHON_DRIVER_TESTS="python_api_test python_dataflow_test python_install_test"

in_list() { [[ " $2 " == *" $1 "* ]]; }

# runtime PRESET: the libraries a Python process of PRESET preloads.
runtime() {
    local sanitizer=asan
    [[ $1 == tsan ]] && sanitizer=tsan
    echo "$(gcc -print-file-name=lib$sanitizer.so) $(gcc -print-file-name=libstdc++.so)"
}

# python_wrapper DIR PRESET: DIR/python3 runs the real python3 with the runtime loaded first.
python_wrapper() {
    local dir=$1 python
    python=$(python3 -c 'import sys; print(sys.executable)')  # the interpreter, not a pyenv shim
    mkdir -p "$dir"
    {
        echo '#!/bin/sh'
        echo "# Written by scripts/check.sh: python3 with the $2 runtime loaded first."
        echo "runtime=\"$(runtime "$2")\""
        echo 'export LD_PRELOAD="$runtime${LD_PRELOAD:+ $LD_PRELOAD}"'
        echo 'export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"'
        echo "exec $python \"\$@\""
    } >"$dir/python3"
    chmod +x "$dir/python3"
}

# run_one PRESET TEST: runs one test with its own report directory; prints "PASS|FAIL|SKIP name".
run_one() {
    local preset=$1 test=$2 build=$root/build/$1
    local reports=$build/sanitizer-reports/$test
    rm -rf "$reports"
    mkdir -p "$reports"
    local preload='' leaks=1 path=$PATH
    if in_list "$test" "$PYTHON_DRIVER_TESTS $VENV_TESTS"; then
        preload=$(runtime "$preset")
        leaks=0
    else
        path=$build/sanitizer-python:$PATH
    fi
    local flags
    if [[ $preset == asan ]]; then
        flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
    else
        flags="-fsanitize=thread"
    fi
    # Processes run several times slower under the sanitizers: tests that stop a dataflow after
    # a time stretch it (tests/python/test_dataflows.py).
    local scale=2
    [[ $preset == tsan ]] && scale=5
    local status=0
    env DORA_TEST_TIME_SCALE=$scale ASAN_OPTIONS="halt_on_error=1:detect_leaks=$leaks:log_path=$reports/asan:log_exe_name=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:log_exe_name=1" \
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan:log_exe_name=1:suppressions=$root/scripts/tsan.supp" \
        ${preload:+LD_PRELOAD="$preload"} PATH="$path" \
        CXXFLAGS="$flags" CFLAGS="$flags" LDFLAGS="$flags" \
        ctest --test-dir "$build" -R "^$test\$" --output-on-failure \
        >"$reports/ctest.log" 2>&1 || status=$?
    if grep -q "Skipped\|Not Run" "$reports/ctest.log" && ((status == 0)); then
        echo "SKIP $test"
    elif ((status == 0)); then
        echo "PASS $test"
    else
        echo "FAIL $test"
    fi
}
export -f run_one in_list runtime
export root

check() {
    local preset=$1 build=$root/build/$1
    echo "== $preset: configure and build ($build)"
    # The interpreter itself, not a pyenv shim (a shell script that would be preloaded too).
    cmake --preset "$preset" \
        -DPython_EXECUTABLE="$(python3 -c 'import sys; print(sys.executable)')" \
        -DDORA_BUILD_PYTHON=ON -DDORA_SKIP_MODULES= >/dev/null
    cmake --build --preset "$preset" -j "$JOBS"
    cmake --build --preset "$preset" --target test_venv
    echo "== $preset: tests ($JOBS at a time; reports in $build/sanitizer-reports)"
    rm -rf "$build/sanitizer-reports"
    mkdir -p "$build/sanitizer-reports"
    python_wrapper "$build/sanitizer-python" "$preset"
    local tests
    tests=$(ctest --test-dir "$build" -N | sed -nE 's/^ *Test +#[0-9]+: (.*)$/\1/p' |
        grep -E -- "$TESTS" || true)
    [[ -n $tests ]] || { echo "no test matches $TESTS"; return 1; }
    if [[ $preset == tsan ]]; then
        # The interop pub/sub tests move up to 64 MiB through the real Zenoh (Rust) in their
        # Python processes; with the TSan runtime preloaded there, a 1 MiB sample did not arrive
        # within 30 s even through the uninstrumented router of build/dev: the slowdown is in the
        # Rust side, not ours. They run under ASan; under TSan the query and liveliness interop
        # tests and every test of our own Zenoh code (session, router, tools) still run.
        echo "(tsan: skipping interop_pubsub_*: see scripts/check.sh)"
        tests=$(printf '%s\n' $tests | grep -v '^interop_pubsub_' || true)
    fi
    VENV_TESTS=$(ctest --test-dir "$build" --show-only=json-v1 | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    if any(a.endswith("/run_in_venv.sh") for a in t.get("command", [])):
        print(t["name"])' | tr '\n' ' ')
    export VENV_TESTS
    local started=$SECONDS
    # shellcheck disable=SC2016  # expanded by the inner bash
    printf '%s\n' $tests | xargs -P "$JOBS" -I{} bash -c 'run_one "$0" "$1"' "$preset" {} |
        tee "$build/sanitizer-reports/summary.txt"
    echo "== $preset: tests took $((SECONDS - started)) s"

    local failed=0 reported=0 dir test file
    for dir in "$build"/sanitizer-reports/*/; do
        test=$(basename "$dir")
        for file in "$dir"/asan.* "$dir"/ubsan.* "$dir"/tsan.*; do
            [[ -f $file ]] || continue
            reported=$((reported + 1))
            echo
            echo "==== $preset report from test $test: $(basename "$file")"
            cat "$file"
        done
    done
    failed=$(grep -c '^FAIL' "$build/sanitizer-reports/summary.txt" || true)
    for test in $(sed -n 's/^FAIL //p' "$build/sanitizer-reports/summary.txt"); do
        echo
        echo "==== $preset: test $test failed; its ctest output (tail):"
        tail -n 60 "$build/sanitizer-reports/$test/ctest.log"
    done
    echo "== $preset: $failed failed test(s), $reported sanitizer report(s)"
    ((failed == 0 && reported == 0))
}

what=${1:-all}
case $what in
    asan | tsan) check "$what" ;;
    all)
        status=0
        check asan || status=1
        check tsan || status=1
        exit "$status"
        ;;
    *)
        echo "usage: scripts/check.sh [asan|tsan|all]" >&2
        exit 2
        ;;
esac
