#!/usr/bin/env bash
# Installs the pinned test-only npm packages of a package.json (tests/web/package.json:
# playwright-core, which drives Debian's chromium in the web view's test) into a directory of the
# build tree. Reused while the package.json and Node.js are unchanged (a stamp records both);
# installed again from scratch otherwise. The stamp is written last.
#   scripts/make_test_npm.sh DIR PACKAGE_JSON
# Usually run through CMake with the test venv: `cmake --build --preset dev --target test_venv`.
set -euo pipefail
if (($# != 2)); then
    echo "usage: $0 DIR PACKAGE_JSON" >&2
    exit 2
fi
dir=$1
package=$2
stamp=$dir/.dora-test-npm
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "test npm: node and npm are needed for the web view's browser test (scripts/setup.sh dev" \
        "installs them)" >&2
    exit 1
fi
want="$(sha256sum <"$package" | cut -d' ' -f1) $(node --version)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -d $dir/node_modules ]]; then
    echo "test npm: $dir is up to date with $package"
    exit 0
fi
start=$SECONDS
echo "test npm: installing $package into $dir"
rm -rf "$dir"
mkdir -p "$dir"
cp "$package" "$dir/package.json"
if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >"$dir/install.log" 2>&1; then
    cat "$dir/install.log" >&2
    echo "test npm: npm install failed (is the npm registry reachable?)" >&2
    exit 1
fi
printf '%s\n' "$want" >"$stamp"
echo "test npm: ready in $((SECONDS - start)) s"
