#!/usr/bin/env bash
# Installs everything upfault needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: packages already installed are left as they are. As root it runs apt-get itself;
# as a user it runs apt-get through sudo.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: install-deps.sh [--proxies NAME,NAME… | --build-only] [--dry-run]
  (default) everything: the build, every proxy with a profile, and the tools the tests use (what CI needs)
  --proxies nginx,haproxy   the build, plus the Debian packages those profiles list (their packages key)
  --build-only              the build only
  --dry-run                 print the packages it would install, install nothing"

build=(
  cmake ninja-build g++ pkg-config help2man
  libboost1.81-dev libboost-json1.81-dev libtomlplusplus-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev libssl-dev libnghttp2-dev
)
# Tools the test suite and the benchmarks use.
tools=(curl wrk openssl nghttp2-client python3 python3-yaml chromium libxml2-utils stress-ng)

mode=all proxies="" dry_run=0
while (($#)); do
  case $1 in
    --proxies) mode=some proxies=${2:?--proxies needs a list: nginx,haproxy}; shift ;;
    --proxies=*) mode=some proxies=${1#*=} ;;
    --build-only) mode=build ;;
    --dry-run) dry_run=1 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "install-deps: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
  shift
done

# The packages a profile lists: `packages = ["nginx-light"]` in proxies/NAME/profile.toml
# ("npm:NAME" entries come from the npm registry, below).
profile_packages() {
  sed -n 's/^packages *= *\[\(.*\)\].*/\1/p' "$here/proxies/$1/profile.toml" | tr -d '" ' | tr ',' '\n'
}
selected=()
case $mode in
  all) for f in "$here"/proxies/*/profile.toml; do selected+=("$(basename "$(dirname "$f")")"); done ;;
  some)
    IFS=, read -r -a selected <<< "$proxies"
    for name in "${selected[@]}"; do
      if [[ ! -f $here/proxies/$name/profile.toml ]]; then
        echo "install-deps: no profile named \"$name\"; profiles: $(cd "$here/proxies" && echo */ | tr -d /)" >&2
        exit 2
      fi
    done ;;
esac
packages=("${build[@]}")
[[ $mode == all ]] && packages+=("${tools[@]}")
want_npm=0
for name in "${selected[@]}"; do
  while read -r p; do
    [[ -z $p ]] && continue
    if [[ $p == npm:* ]]; then want_npm=1; else packages+=("$p"); fi
  done < <(profile_packages "$name")
done
# Debian's nodejs has no npm of its own; a nodesource nodejs bundles it (and conflicts with Debian's).
if ((want_npm)) && ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
if ((dry_run)); then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

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
if ((want_npm)) && [[ ! -d "$here/proxies/node-http-proxy/node_modules/http-proxy" ]]; then
  (cd "$here/proxies/node-http-proxy" && npm ci --no-audit --no-fund --silent)
fi
echo "install-deps: done"
