#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), creates or reuses the test venv (the pinned test-only
# Python packages of tests/requirements.txt, in build/dev/venv: needs PyPI the first time and after
# the pins change) and runs every test: unit, integration and e2e, Python ones included (ctest).
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout in the cache's keys: a clone elsewhere reuses what was compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

bash scripts/setup.sh dev
cmake --build --preset dev --target test_venv
ctest --preset dev -j2
