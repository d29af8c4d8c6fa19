#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test: unit, integration and e2e (ctest),
# then the Python tests. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}

bash scripts/setup.sh dev
ctest --preset dev -j2
