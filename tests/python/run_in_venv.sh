#!/usr/bin/env bash
# Runs a test command in the test venv, as if it were activated: VENV/bin first on PATH (so
# `python3`, in the test and in every Python node a `dora` it starts spawns, is the venv's).
# Exits 77 (ctest's SKIP_RETURN_CODE for these tests) when the venv was not created, or is out of
# date with the requirements file, saying how to create it.
#   tests/python/run_in_venv.sh VENV_DIR REQUIREMENTS_FILE COMMAND [ARGS...]
set -euo pipefail
venv=$1
requirements=$2
shift 2
stamp=$venv/.dora-test-venv
how="create it with: cmake --build <build dir> --target test_venv (bash scripts/test.sh does)"
if [[ ! -x $venv/bin/python || ! -f $stamp ]]; then
    echo "skipped: no test venv at $venv; $how"
    exit 77
fi
if [[ "$(cut -d' ' -f1 "$stamp")" != "$(sha256sum <"$requirements" | cut -d' ' -f1)" ]]; then
    echo "skipped: the test venv at $venv is older than $requirements; $how"
    exit 77
fi
export VIRTUAL_ENV=$venv
export PATH=$venv/bin:$PATH
unset PYTHONHOME
exec "$@"
