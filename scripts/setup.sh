#!/usr/bin/env bash
# Installs every Debian package dora-cpp needs (as root, on Debian 12), then configures and
# builds the project. Safe to run again: packages already present are not reinstalled.
#   scripts/setup.sh [preset]     preset: dev (default, with tests and their packages) or release
#   scripts/setup.sh --packages-only   only the packages (scripts/fuzz.sh, which builds `fuzz`)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config git clang clang-format libclang-rt-14-dev
    libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libexpected-dev
    libssl-dev libasio-dev libgtest-dev libgmock-dev libbenchmark-dev
    python3 python3-dev python3-venv pybind11-dev python3-pytest
    cyclonedds-tools iproute2 procps curl ca-certificates
)
# Test-only: the headless browser of the web view's test (driven by playwright-core from npm,
# installed with the test venv), and Node.js with npm to run it unless an npm is there already.
# The demo (release) needs neither. The sshd of `dora cluster`'s test hosts (the runtime only
# needs an ssh client, and only for `dora cluster`). systemd-nspawn boots the systemd of the test
# host that `dora cluster up` installs units on.
TEST_PACKAGES=(chromium openssh-server openssh-client systemd-container)
command -v npm >/dev/null 2>&1 || TEST_PACKAGES+=(nodejs npm)

wanted=("${PACKAGES[@]}")
[[ ${1:-dev} == dev ]] && wanted+=("${TEST_PACKAGES[@]}")
missing=()
for p in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: these Debian packages are missing and installing them needs root:" >&2
        echo "  apt-get install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[[ ${1:-} == --packages-only ]] && exit 0
preset=${1:-dev}
# Explicit values: a build directory configured by hand earlier must not silently lack a part.
cmake --preset "$preset" -DPython_EXECUTABLE="$(command -v python3)" -DDORA_BUILD_PYTHON=ON \
    -DDORA_SKIP_MODULES= >/dev/null
cmake --build --preset "$preset"

# Installed where a user's shell, CMake and Python find it (prefix /usr/local): `dora` on PATH,
# libdora-node for the linker, find_package(dora), `import dora` in Debian's python3. The last
# preset set up is the one installed.
if [[ $(id -u) -eq 0 ]]; then
    cmake --install "build/$preset" >/dev/null
    ldconfig
    echo "setup: installed $(/usr/local/bin/dora --version) under /usr/local"
else
    echo "setup: not root, so nothing was installed; dora is build/$preset/src/cli/dora (install" \
        "it with: sudo cmake --install build/$preset)"
fi
