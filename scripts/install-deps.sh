#!/usr/bin/env bash
# Installs everything upfault needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: packages already installed are left as they are. As root it runs apt-get itself;
# as a user it runs apt-get through sudo.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libtomlplusplus-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev
  # proxies under test (each has a profile under proxies/), and tools for checks and benchmarks
  nginx-light haproxy apache2 caddy varnish squid trafficserver h2o nghttp2-proxy lighttpd nodejs
  curl wrk python3 python3-yaml chromium libxml2-utils stress-ng
)

# Debian's nodejs has no npm of its own; a nodesource nodejs bundles it (and conflicts with Debian's).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} Debian packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # The proxies' packages may start system services; upfault never uses them: it starts its own
  # instances, in the foreground, on loopback ports the kernel picks.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Node.js proxy under test comes from the npm registry, pinned by its package-lock.json.
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -d "$here/proxies/node-http-proxy/node_modules/http-proxy" ]]; then
  (cd "$here/proxies/node-http-proxy" && npm ci --no-audit --no-fund --silent)
fi
echo "install-deps: done"
