#!/usr/bin/env bash
# The Debian package (cmake --build … --target package): built from this build, unpacked into a
# temporary root with dpkg-deb -x (no root, nothing installed on the machine), and run from there
# as a user would run the installed tool: the suite against the reference proxy, the package's own
# profiles and corpus (not the source tree's), and node-http-proxy with the npm modules it ships.
# Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

rm -f "$build"/upfault_*.deb
cmake --build "$build" --target package > "$tmp/package.log" 2>&1 || { tail -20 "$tmp/package.log"; fail "--target package"; }
debs=("$build"/upfault_*.deb)
[[ -f ${debs[0]} && ${#debs[@]} == 1 ]] || fail "no single upfault_*.deb in $build: ${debs[*]}"
deb=${debs[0]}
echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

# Its control fields: the runtime libraries it links, found by dpkg-shlibdeps.
dpkg-deb -f "$deb" Package Version Architecture Depends > "$tmp/control"
for lib in libc6 libstdc++6 libfmt9 libre2-9 libboost-json1.81.0; do
  grep -q "$lib" "$tmp/control" || { cat "$tmp/control"; fail "Depends does not name $lib"; }
done
echo "Depends: $(sed -n 's/^Depends: //p' "$tmp/control")"

root=$tmp/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/upfault usr/bin/upfault-reference-proxy usr/share/upfault/proxies/nginx/profile.toml \
         usr/share/upfault/proxies/nginx/routes.toml usr/share/upfault/scenarios/README.md \
         usr/share/upfault/proxies/node-http-proxy/node_modules/http-proxy/package.json \
         usr/include/upfault/gtest.hpp usr/lib/cmake/upfault/upfaultConfig.cmake; do
  [[ -e $root/$f ]] || fail "the package lacks /$f"
done

# Run from a directory with no scenarios/ in it: the suite and the profiles come from the package,
# which one scenario found only in the unpacked corpus proves.
cp "$root/usr/share/upfault/scenarios/passthrough/ok-200-baseline.toml" "$tmp/marker.toml"
sed -i -E 's/^name *= "ok-200-baseline"/name = "only-in-the-unpacked-package"/' "$tmp/marker.toml"
grep -q "only-in-the-unpacked-package" "$tmp/marker.toml" || fail "the marker scenario was not renamed"
cp "$tmp/marker.toml" "$root/usr/share/upfault/scenarios/passthrough/only-in-the-unpacked-package.toml"
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
rc=0
"$root/usr/bin/upfault" run --proxy reference -q --json "$tmp/run.json" > "$tmp/run.txt" 2>&1 || rc=$?
[[ $rc == 0 ]] || { tail -20 "$tmp/run.txt"; fail "upfault run --proxy reference from the package exited $rc"; }
python3 - "$tmp/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
names = {r["scenario"] for r in run["results"]}
if len(names) < 50: sys.exit(f"FAIL: only {len(names)} scenarios ran from the package")
if "only-in-the-unpacked-package" not in names: sys.exit("FAIL: the corpus did not come from the package")
print(f"{len(names)} scenarios from the package's corpus, all passed through its reference proxy")
PY
"$root/usr/bin/upfault" routes haproxy --upstream-port 9000 | grep -q "upfault_refused" || fail "routes from the package"

if command -v node > /dev/null; then
  rc=0
  "$root/usr/bin/upfault" run --proxy node-http-proxy -f name:ok-200-baseline > "$tmp/node.txt" 2>&1 || rc=$?
  [[ $rc == 0 ]] || { cat "$tmp/node.txt"; fail "node-http-proxy from the package exited $rc"; }
  grep -q "http-proxy 1\." "$tmp/node.txt" || { cat "$tmp/node.txt"; fail "node-http-proxy's version is not shown"; }
  echo "node-http-proxy runs from the package with its modules"
else
  echo "node is not installed: node-http-proxy from the package not tried"
fi
echo PASS
