#!/usr/bin/env bash
# Installs this build into a temporary prefix, then configures, builds and runs
# examples/consumer against it exactly as a user's project would (find_package(upfault)).
# Usage: consumer_example_test.sh BUILD_DIR EXAMPLE_DIR
set -euo pipefail
build=$1 example=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
cmake -S "$example" -B "$tmp/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure.log" 2>&1 \
  || { cat "$tmp/configure.log"; fail "configuring the example against the installed package"; }
cmake --build "$tmp/build" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "building the example"; }

# One GoogleTest test per scenario file of the example.
want=$(find "$example/scenarios" -name '*.toml' | wc -l)
listed=$("$tmp/build/proxy_conformance" --gtest_list_tests | grep -c '^  ')
[[ "$listed" == "$want" ]] || fail "the example lists $listed tests for $want scenarios"
(cd "$tmp/build" && ctest --output-on-failure) > "$tmp/ctest.log" 2>&1 || { cat "$tmp/ctest.log"; fail "the example's tests"; }
"$tmp/build/proxy_conformance" --gtest_output="xml:$tmp/out.xml" > /dev/null || fail "the example's gtest run"
grep -q '<testcase name="ok_passthrough"' "$tmp/out.xml" || fail "gtest XML lacks the scenario's testcase"
grep -E 'tests passed' "$tmp/ctest.log"
echo "consumer example: $listed tests, one per scenario, built and passed against the installed package"
