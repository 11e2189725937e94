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

# The Maintainer is the build's UPFAULT_PACKAGE_CONTACT (whoever ships it sets it); Recommends
# brings a proxy to test, never nodejs (only the node-http-proxy profile needs it).
contact=$(sed -n 's/^UPFAULT_PACKAGE_CONTACT:STRING=//p' "$build/CMakeCache.txt")
[[ -n $contact && $(dpkg-deb -f "$deb" Maintainer) == "$contact" ]] ||
  fail "Maintainer is '$(dpkg-deb -f "$deb" Maintainer)', the build's UPFAULT_PACKAGE_CONTACT '$contact'"
recommends=$(dpkg-deb -f "$deb" Recommends)
[[ $recommends == *nginx-light* && $recommends != *nodejs* ]] || fail "Recommends: $recommends"

root=$tmp/root
dpkg-deb -x "$deb" "$root"

# /usr/share/doc/upfault, and a man page per command that renders and lists that command's options.
doc=$root/usr/share/doc/upfault
for f in README.md copyright changelog.gz; do [[ -s $doc/$f ]] || fail "the package lacks /usr/share/doc/upfault/$f"; done
grep -q '^Upstream-Name: upfault' "$doc/copyright" || fail "copyright is not in Debian's copyright format"
zcat "$doc/changelog.gz" | grep -q '^## 0\.1\.0' || fail "the changelog has no entry for 0.1.0"
man1=$root/usr/share/man/man1
commands=$("$root/usr/bin/upfault" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
[[ $(wc -w <<< "$commands") -ge 8 ]] || fail "upfault --help lists only: $commands"
for cmd in "" $commands; do
  page=$man1/upfault${cmd:+-$cmd}.1.gz
  [[ -s $page ]] || fail "no man page $(basename "$page")"
  # Rendered as a reader sees it (ASCII, one line per paragraph, no hyphenation to split options).
  text=$(MANWIDTH=4000 man -E ascii --nh --nj -l "$page" 2> "$tmp/man.err") ||
    fail "man -l $(basename "$page"): $(cat "$tmp/man.err")"
  [[ $text == *"upfault${cmd:+-$cmd} - "* ]] || fail "$(basename "$page") has no NAME line"
  # Every long option the command's --help lists is in its page.
  for opt in $("$root/usr/bin/upfault" $cmd --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
    grep -qF -- "$opt" <<< "$text" || fail "$(basename "$page") lacks $opt"
  done
done
echo "/usr/share/doc/upfault and $(ls "$man1" | wc -l) man pages (upfault and upfault-{$(echo $commands | tr ' ' ,)})"
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
