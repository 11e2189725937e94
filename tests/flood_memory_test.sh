#!/usr/bin/env bash
# A proxy that floods every response (a header promising 1 TB, then bytes until the client gives
# up) through the whole corpus at --jobs 16: upfault's peak memory stays bounded by what it keeps
# per result (64 KiB of raw bytes and of body), not by what the proxy sends or by the suite.
# Usage: flood_memory_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$out/flood"
cat > "$out/flood/profile.toml" <<'TOML'
name = "flood"
command = ["{bindir}/upfault-reference-proxy", "--misbehave", "flood", "--listen", "127.0.0.1:{listen_port}",
           "--upstream", "127.0.0.1:{upstream_port}"]
TOML
python3 - "$upfault" "$scenarios" "$out" <<'PY' || fail "see above"
import json, resource, subprocess, sys
upfault, scenarios, out = sys.argv[1:]
rc = subprocess.run([upfault, "run", scenarios, "--proxy", out + "/flood/profile.toml", "--jobs", "16", "--quiet",
                     "--json", out + "/r.json"], stdout=subprocess.DEVNULL).returncode
peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
r = json.load(open(out + "/r.json"))
received = sum(x["bytes_received"] for x in r["results"])
print(f"flood: exit {rc}, {len(r['results'])} scenarios, {received / 2**20:.0f} MiB received, peak RSS {peak_mib:.1f} MiB, "
      f"longest scenario {max(x['elapsed_ms'] for x in r['results'])} ms")
assert rc == 1, f"upfault run exited {rc}, not 1 (verdicts failed)"
assert len(r["results"]) > 80, "the corpus did not run"
assert received > 256 * 2**20, "the proxy did not flood: the test measures nothing"
assert peak_mib < 256, f"peak RSS {peak_mib:.1f} MiB is not under 256 MiB"
PY
echo "PASS"
