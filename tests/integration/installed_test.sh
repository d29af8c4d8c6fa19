#!/usr/bin/env bash
# After the README's commands (scripts/setup.sh installs the build under /usr/local), as a new user
# would try it, from a fresh login shell: `dora` is on PATH and is this build, `import dora` works
# outside any dataflow, and a project made by `dora new` goes through its own README's steps
# (`dora check`, `dora build`, `dora run`, stopped with Ctrl-C) with the installed CMake package.
#   installed_test.sh <build dir>
# Fails, saying what to run, when this build is not the installed one (run scripts/setup.sh dev,
# as the README's test command does).
set -euo pipefail
BUILD=$(realpath "$1")
WORK=$(mktemp -d /tmp/dora-installed-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: setup installs only as root"
    exit 77
fi
mkdir "$WORK/home"
# A login shell with nothing of this environment: /etc/profile's PATH, an empty home.
fresh() { env -i HOME="$WORK/home" TERM=dumb LANG=C.UTF-8 bash -lc "$1"; }

where=$(fresh 'command -v dora') || fail "dora is not on a new shell's PATH (run scripts/setup.sh)"
[[ $where == /usr/local/bin/dora ]] || fail "a new shell finds dora at $where"
cmp -s "$where" "$BUILD/src/cli/dora" ||
    fail "$where is not this build's dora: run \`bash scripts/setup.sh dev\` (it installs the build)"
fresh 'cd / && python3 -c "import dora, sys; print(dora.__file__)"' >"$WORK/import.out" 2>&1 ||
    fail "import dora in a new shell: $(cat "$WORK/import.out")"
grep -q "^/usr/local/" "$WORK/import.out" || fail "dora imported from $(cat "$WORK/import.out")"

cd "$WORK/home"
fresh 'dora new proj' >"$WORK/new.out" 2>&1 || fail "dora new: $(cat "$WORK/new.out")"
# The commands of the scaffold's README, in its order, as written there.
mapfile -t steps < <(sed -n '/^```sh$/,/^```$/p' proj/README.md | grep '^dora ' | sed 's/ *#.*$//')
((${#steps[@]} == 3)) || fail "the scaffold's README lists ${#steps[@]} commands: ${steps[*]}"
for step in "${steps[@]}"; do
    echo "+ $step"
    if [[ $step == "dora run "* ]]; then
        # Ctrl-C after a few seconds, as the README says (to dora alone, not its process group).
        fresh "cd proj && timeout --foreground --preserve-status -s INT 8 $step" >"$WORK/run.out" 2>&1 ||
            fail "$step: $(tail -20 "$WORK/run.out")"
        grep -q "listener received message: hello from C++ #1" "$WORK/run.out" ||
            fail "$step: the listener got nothing: $(tail -20 "$WORK/run.out")"
    else
        fresh "cd proj && $step" >"$WORK/step.out" 2>&1 || fail "$step: $(tail -30 "$WORK/step.out")"
    fi
done
echo "installed: dora on PATH, import dora, and dora new's README steps from a new shell: ok"
