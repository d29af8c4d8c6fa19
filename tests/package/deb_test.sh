#!/usr/bin/env bash
# The Debian package (packaging/CMakeLists.txt): `cpack -G DEB` on the build tree makes
# dora-cpp_<version>_<arch>.deb; its Depends name the shared libraries and python3; it holds the
# dora executable, libdora-node, headers, the CMake package, the Python package where Debian's
# python3 finds it (a .pth), the systemd units and the maintainer scripts; the extracted dora runs,
# the extracted Python package imports, and the units pass `systemd-analyze verify`.
#   deb_test.sh <build dir>
set -euo pipefail
BUILD=$(realpath "$1")
WORK=$(mktemp -d /tmp/dora-deb-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
for tool in cpack dpkg-deb dpkg; do
    command -v "$tool" >/dev/null || fail "$tool is missing (Debian's cmake and dpkg provide it)"
done

version=$("$BUILD/src/cli/dora" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
(cd "$WORK" && cpack -G DEB -B "$WORK/out" --config "$BUILD/CPackConfig.cmake" >"$WORK/cpack.log" 2>&1) ||
    fail "cpack: $(tail -20 "$WORK/cpack.log")"
deb=$WORK/out/dora-cpp_${version}_${arch}.deb
[[ -f $deb ]] || fail "no $deb: $(ls "$WORK/out")"

depends=$(dpkg-deb -f "$deb" Depends)
for dep in libssl3 libyaml-cpp0.7 libfmt9 libstdc++6 "python3 (>= 3" adduser; do
    [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/dora ./usr/bin/dora-runtime ./usr/lib/libdora-node.so \
    ./usr/include/dora-node-api.h ./usr/include/dora/node.hpp ./usr/lib/cmake/dora/doraConfig.cmake \
    ./usr/lib/cmake/dora/doraTargets.cmake ./usr/lib/dora/python/dora/__init__.py \
    ./usr/lib/python3/dist-packages/dora-cpp.pth ./usr/lib/systemd/system/dora-coordinator.service \
    ./usr/lib/systemd/system/dora-daemon@.service ./usr/lib/systemd/system/dora-router.service \
    ./usr/share/doc/dora-cpp/examples/coordinator.env ./usr/share/doc/dora-cpp/examples/daemon.env \
    ./usr/share/doc/dora-cpp/examples/router.env; do
    grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
# Nothing outside /usr, and no second copy of the Python package off Debian's path.
! grep -v '^\./usr/' <<<"$contents" | grep -qv '^\./$' || fail "files outside /usr"
! grep -q '^\./usr/lib/python3\.[0-9]*/' <<<"$contents" || fail "a Python copy under python3.X"

mkdir "$WORK/control"
dpkg-deb -e "$deb" "$WORK/control"
for script in postinst prerm postrm; do
    [[ -x $WORK/control/$script ]] || fail "no executable $script"
    sh -n "$WORK/control/$script" || fail "$script does not parse"
done
grep -q "adduser --system" "$WORK/control/postinst" || fail "postinst makes no dora user"

root=$WORK/root
dpkg-deb -x "$deb" "$root"
[[ $("$root/usr/bin/dora" --version) == "dora-cpp $version" ]] || fail "the extracted dora"
pth=$(cat "$root/usr/lib/python3/dist-packages/dora-cpp.pth")
[[ $pth == /usr/lib/dora/python ]] || fail "the .pth points at $pth"
LD_LIBRARY_PATH=$root/usr/lib PYTHONPATH=$root$pth python3 -c \
    "import dora, sys; assert dora.__file__.startswith('$root'), dora.__file__; print('import dora: ok')" ||
    fail "the extracted Python package does not import"

if command -v systemd-analyze >/dev/null; then
    # Verified with ExecStart pointing at the extracted binary (verify checks it exists).
    mkdir "$WORK/units"
    for unit in "$root"/usr/lib/systemd/system/*.service; do
        sed "s|/usr/bin/dora|$root/usr/bin/dora|" "$unit" >"$WORK/units/$(basename "$unit")"
    done
    out=$(cd "$WORK/units" && systemd-analyze verify --man=no ./dora-coordinator.service \
        ./dora-router.service ./dora-daemon@edge1.service 2>&1) || fail "systemd-analyze: $out"
    [[ -z $out ]] || fail "systemd-analyze warns: $out"
    echo "systemd-analyze verify: ok"
else
    echo "systemd-analyze not installed: units not verified"
fi
echo "deb: $(basename "$deb") $(du -h "$deb" | cut -f1), Depends: $depends"
