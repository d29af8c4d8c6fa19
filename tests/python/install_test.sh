#!/usr/bin/env bash
# `cmake --install --prefix P` puts the dora Python package under P (never into the system's
# site-packages), where the interpreter imports it from with PYTHONPATH=P/<site dir>.
#   install_test.sh <build dir> <python> <site dir relative to the prefix>
set -euo pipefail
build=$1 python=$2 site=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Two components: python (lib/dora/python, the daemon's copy; in the Debian package) and python_site
# (the interpreter's site dir).
for component in python python_site; do
    cmake --install "$build" --component $component --prefix "$tmp/prefix" >>"$tmp/install.log"
done
if grep -v "$tmp/prefix" "$tmp/install.log" | grep -E "^-- (Installing|Up-to-date):"; then
    echo "the python components installed files outside the prefix (above)"
    exit 1
fi
for f in "$site/dora/__init__.py" "$site/dora/__init__.pyi" "lib/dora/python/dora/__init__.py"; do
    [[ -f $tmp/prefix/$f ]] || { echo "missing $f under the prefix"; cat "$tmp/install.log"; exit 1; }
done
ls "$tmp/prefix/$site/dora/"_dora*.so >/dev/null

found=$(cd "$tmp" && PYTHONPATH="$tmp/prefix/$site" "$python" -c \
    'import dora, dora._dora; print(dora.__file__); print(dora._dora.__file__)')
case $found in
    "$tmp/prefix/$site/dora/__init__.py"*"$tmp/prefix/$site/dora/_dora"*) ;;
    *) echo "python imported dora from elsewhere:"; echo "$found"; exit 1 ;;
esac
# The installed daemon (here `dora run`, the same code) puts its own installed package first on a
# Python node's PYTHONPATH, found next to its executable wherever the prefix went.
cmake --install "$build" --component Unspecified --prefix "$tmp/prefix" >>"$tmp/install.log"
mkdir "$tmp/flow"
cat >"$tmp/flow/where.py" <<'PY'
import dora
print("dora from", dora.__file__, flush=True)
PY
printf 'nodes:\n  - {id: where, path: where.py}\n' >"$tmp/flow/flow.yml"
(cd "$tmp/flow" && "$tmp/prefix/bin/dora" run flow.yml >"$tmp/run.out" 2>&1) ||
    { cat "$tmp/run.out"; echo "the installed dora could not run a Python node"; exit 1; }
grep -q "dora from $tmp/prefix/lib/dora/python/dora/__init__.py" "$tmp/run.out" ||
    { cat "$tmp/run.out"; echo "the node did not import the installed package"; exit 1; }
echo "dora installed under the prefix at $site and imported from there, also by nodes"
