#!/usr/bin/env bash
# Creates the test venv: a Python virtual environment with the pinned test-only packages of a
# requirements file (tests/requirements.txt), made with the interpreter the project was
# configured with. Reused as it is while the requirements file and the interpreter are unchanged
# (a stamp file records both); rebuilt from scratch otherwise. The stamp is written last, so a
# venv whose installation failed half-way is never taken for a usable one.
#   scripts/make_test_venv.sh PYTHON VENV_DIR REQUIREMENTS_FILE
# Usually run through CMake: `cmake --build --preset dev --target test_venv` (scripts/test.sh).
set -euo pipefail
if (($# != 3)); then
    echo "usage: $0 PYTHON VENV_DIR REQUIREMENTS_FILE" >&2
    exit 2
fi
python=$1
venv=$2
requirements=$3
stamp=$venv/.dora-test-venv

# What the venv is made of: the pins (hash of the file) and the base interpreter (version, path).
want="$(sha256sum <"$requirements" | cut -d' ' -f1) $("$python" -c \
    'import sys; print(sys.version.split()[0], sys.executable)')"
if [[ -x $venv/bin/python && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
    echo "test venv: $venv is up to date with $requirements"
    exit 0
fi

start=$SECONDS
echo "test venv: creating $venv from $requirements (with $python)"
rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
    rm -rf "$venv"
    echo "test venv: '$python -m venv' failed; on Debian it needs the python3-venv package" \
        "(scripts/setup.sh installs it)" >&2
    exit 1
fi
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
    --progress-bar off -q -r "$requirements"; then
    echo "test venv: installing $requirements failed (is PyPI reachable?); the venv at $venv" \
        "is left incomplete and tests that need it are skipped until this succeeds" >&2
    exit 1
fi
"$venv/bin/python" -m pip check --disable-pip-version-check
printf '%s\n' "$want" >"$stamp"
echo "test venv: ready in $((SECONDS - start)) s"
