#!/usr/bin/env bash
# Builds the Debian package of dora-cpp: sets up and builds the release preset (scripts/setup.sh),
# then `cpack -G DEB` makes build/release/dora-cpp_<version>_<arch>.deb (packaging/CMakeLists.txt):
# dora, dora-runtime, libdora-node, headers, the CMake package, the Python package, and systemd
# units (dora-coordinator, dora-daemon@<machine>, dora-router) reading /etc/dora/*.env. Install it
# on a machine with `apt install ./dora-cpp_<version>_<arch>.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh release
(cd build/release && cpack -G DEB)
ls build/release/dora-cpp_*.deb
