#!/usr/bin/env bash
# scripts/install-deps.sh installs what is asked for and nothing more (checked with --dry-run,
# which installs nothing): --proxies adds the named profiles' packages to the build's,
# --build-only the build's alone, the default everything CI needs.
# Usage: install_deps_test.sh REPO_DIR
set -euo pipefail
script="$1/scripts/install-deps.sh"
fail() { echo "FAIL: $*"; exit 1; }
has() { grep -qx -- "$2" <<< "$1" || fail "$3: $2 is missing"; }
lacks() { ! grep -qx -- "$2" <<< "$1" || fail "$3: $2 is there"; }

some=$(bash "$script" --dry-run --proxies nginx,haproxy)
for p in cmake libboost1.81-dev nginx-light haproxy; do has "$some" "$p" "--proxies nginx,haproxy"; done
for p in apache2 varnish chromium stress-ng; do lacks "$some" "$p" "--proxies nginx,haproxy"; done
echo "ok: --proxies nginx,haproxy → $(wc -l <<< "$some") packages"

build=$(bash "$script" --dry-run --build-only)
has "$build" libtomlplusplus-dev "--build-only"
lacks "$build" nginx-light "--build-only"
echo "ok: --build-only → $(wc -l <<< "$build") packages"

all=$(bash "$script" --dry-run)
for p in nginx-light apache2 squid trafficserver chromium stress-ng python3-yaml; do has "$all" "$p" "the default"; done
echo "ok: the default → $(wc -l <<< "$all") packages"

rc=0
bash "$script" --dry-run --proxies nosuch 2> /tmp/install_deps_err.$$ || rc=$?
[[ $rc == 2 ]] || fail "an unknown profile: exit $rc, not 2"
grep -q 'no profile named "nosuch"' /tmp/install_deps_err.$$ || fail "no word of the unknown profile"
rm -f /tmp/install_deps_err.$$
echo "ok: an unknown profile → 2"
echo PASS
