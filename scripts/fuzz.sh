#!/usr/bin/env bash
# Builds the `fuzz` preset (clang, libFuzzer, ASan; build/fuzz) and runs every libFuzzer target
# (every dora_fuzzer() of the CMake files, listed in build/fuzz/fuzzers.txt) for a fixed time, then
# prints one table: target, seconds, executions, exec/s, coverage (libFuzzer's final cov and ft),
# corpus files (seeds -> after the run), and findings. Installs the Debian packages it needs
# first, as scripts/setup.sh does (root on Debian 12).
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--keep-corpus] [--no-build] [target...]
#     --seconds N     run each target N seconds (default 60)
#     --jobs J        run J targets at once (default 1; the machine's cores bound what helps)
#     --keep-corpus   continue from the work corpus of the last run instead of the seeds alone
#     --no-build      run the targets as build/fuzz has them (no packages, configure or build)
#     target...       only these targets (default: all)
#
# The committed seed corpus (fuzz/corpus/<target>) is never written: each target runs on a work
# corpus, build/fuzz/fuzz-work/<target>/corpus, that starts as a copy of the seeds; what libFuzzer
# adds stays there (copy a file into fuzz/corpus/<target> by hand to keep it). Each target's
# output is in build/fuzz/fuzz-work/<target>/fuzz.log; a crash, leak, timeout (one input over
# 25 s) or out-of-memory (over 2 GiB) is saved as build/fuzz/fuzz-work/<target>/artifacts/
# <kind>-<sha1>, and the script names it with the command that reproduces it and exits 1.
# Ctrl-C stops the running targets (libFuzzer prints its stats) and still prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}

seconds=60
jobs=1
keep=0
build_first=1
wanted=()
while (($#)); do
    case $1 in
        --seconds) seconds=${2:-}; shift 2 ;;
        --jobs) jobs=${2:-}; shift 2 ;;
        --keep-corpus) keep=1; shift ;;
        --no-build) build_first=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        -*) echo "fuzz: unknown option $1 (try --help)" >&2; exit 2 ;;
        *) wanted+=("$1"); shift ;;
    esac
done
for pair in "seconds:$seconds" "jobs:$jobs"; do
    if ! [[ ${pair#*:} =~ ^[1-9][0-9]*$ ]]; then
        echo "fuzz: --${pair%%:*} takes a whole number above 0, not '${pair#*:}'" >&2
        exit 2
    fi
done

say() { echo "fuzz: $*" >&2; }

build=$root/build/fuzz
if ((build_first)); then
    bash scripts/setup.sh --packages-only
    # Only the fuzzers and what they link: no Python extension, no benchmarks.
    mkdir -p "$build"
    cmake --preset fuzz -DDORA_BUILD_PYTHON=OFF -DDORA_BUILD_BENCH=OFF -DDORA_SKIP_MODULES= \
        >"$build/configure.log" 2>&1 || {
        cat "$build/configure.log" >&2
        exit 1
    }
elif [[ ! -f $build/fuzzers.txt ]]; then
    say "--no-build: $build has no fuzz targets yet; run once without it"
    exit 2
fi
declare -A binary=()
all=()
while IFS=$'\t' read -r name path; do
    [[ -n $name ]] || continue
    binary[$name]=$path
    all+=("$name")
done <"$build/fuzzers.txt"
if ((${#wanted[@]} == 0)); then
    wanted=("${all[@]}")
fi
for name in "${wanted[@]}"; do
    if [[ -z ${binary[$name]:-} ]]; then
        say "no fuzz target '$name'; the targets are: ${all[*]}"
        exit 2
    fi
done
if ((build_first)); then
    say "building ${wanted[*]}"
    cmake --build "$build" --target "${wanted[@]}"
fi

work=$build/fuzz-work
declare -A pid_of=() started=() ended=() status=()
running=()
interrupted=0

# Starts target $1 in the background on its work corpus.
start_target() {
    local name=$1 dir=$work/$1
    if ((keep == 0)); then
        rm -rf "$dir"
    fi
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp -n "$root/fuzz/corpus/$name"/* "$dir/corpus/"
    ls "$root/fuzz/corpus/$name" | wc -l >"$dir/seeds"
    # Signals reach the fuzzer only through this script (its own process group), so a Ctrl-C
    # stops it once, through the trap below.
    setsid "${binary[$name]}" "$dir/corpus" -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" >"$dir/fuzz.log" 2>&1 &
    pid_of[$name]=$!
    started[$name]=$SECONDS
    running+=("$name")
    say "$name started (pid ${pid_of[$name]}, ${seconds} s)"
}

pids_running() {
    local name out=()
    for name in "${running[@]}"; do out+=("${pid_of[$name]}"); done
    echo "${out[@]}"
}

# Waits for any running target to end and records its exit status (returns early, recording
# nothing, when a trapped signal interrupts the wait).
reap_one() {
    local pid= rc=0 name rest=()
    # shellcheck disable=SC2046  # one word per PID
    wait -n -p pid $(pids_running) || rc=$?
    [[ -n $pid ]] || return 0
    for name in "${running[@]}"; do
        if [[ ${pid_of[$name]} == "$pid" ]]; then
            status[$name]=$rc
            ended[$name]=$SECONDS
        else
            rest+=("$name")
        fi
    done
    running=("${rest[@]}")
}

# shellcheck disable=SC2317  # invoked by the traps
stop_running() {
    local name
    for name in "${running[@]}"; do
        kill -INT "${pid_of[$name]}" 2>/dev/null || true
    done
}
trap 'interrupted=1; stop_running' INT TERM
trap 'stop_running' EXIT

for name in "${wanted[@]}"; do
    ((interrupted == 0)) || break
    while ((${#running[@]} >= jobs)); do
        reap_one
    done
    ((interrupted == 0)) || break
    start_target "$name"
done
while ((${#running[@]})); do
    reap_one
done
trap - EXIT

# One value of libFuzzer's output: the last `stat::$2:` line of log $1.
final_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1; }

failed=0
printf '\n%-22s %7s %12s %9s %8s %8s %13s  %s\n' target seconds executions exec/s cov ft \
    corpus findings
for name in "${wanted[@]}"; do
    dir=$work/$name
    log=$dir/fuzz.log
    if [[ -z ${status[$name]:-} ]]; then
        printf '%-22s %7s %12s %9s %8s %8s %13s  %s\n' "$name" - - - - - - "not run (stopped)"
        continue
    fi
    elapsed=$((ended[$name] - started[$name]))
    execs=$(final_stat "$log" number_of_executed_units)
    rate=$(final_stat "$log" average_exec_per_sec)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corpus="$(cat "$dir/seeds") -> $(find "$dir/corpus" -type f | wc -l)"
    findings=()
    for artifact in "$dir"/artifacts/{crash,leak,timeout,oom}-*; do
        [[ -e $artifact ]] && findings+=("$artifact")
    done
    result=none
    if ((${#findings[@]})); then
        result="${#findings[@]}: $(basename -a "${findings[@]}" | tr '\n' ' ')"
        failed=1
    elif ((status[$name] != 0)) && ((interrupted == 0)); then
        result="exit status ${status[$name]}, no artifact (see $log)"
        failed=1
    fi
    printf '%-22s %7s %12s %9s %8s %8s %13s  %s\n' "$name" "$elapsed" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$result"
done
echo
for name in "${wanted[@]}"; do
    for artifact in "$work/$name"/artifacts/{crash,leak,timeout,oom}-*; do
        [[ -e $artifact ]] || continue
        say "$name found $(basename "$artifact" | cut -d- -f1): reproducer $artifact"
        say "  reproduce: ${binary[$name]} $artifact   (report: $work/$name/fuzz.log)"
        say "  once fixed, add it to the seeds: cp $artifact fuzz/corpus/$name/"
    done
done
if ((interrupted)); then
    say "interrupted: the table shows how far each target got"
    exit 130
fi
if ((failed)); then
    say "FAILED: the targets above found a crash, leak, timeout or out-of-memory"
    exit 1
fi
say "every target ran ${seconds} s without a finding"
