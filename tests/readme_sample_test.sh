#!/usr/bin/env bash
# The README's sample run (scripts/update-readme-sample.sh writes it) is what the Quick start's
# command prints today: the same run through nginx, and every line the README shows — header,
# results, not-run groups, hints, recap, counts — is a line of its output once times and ports are
# masked; the counts are the README's last lines. A changed verdict, message or layout fails here;
# `scripts/update-readme-sample.sh` brings the README up to date.
# Usage: readme_sample_test.sh UPFAULT README
set -euo pipefail
upfault=$1 readme=$2
fail() { echo "FAIL: $*"; exit 1; }
command -v nginx > /dev/null || fail "nginx is not installed (scripts/install-deps.sh installs it)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
(cd "$(dirname "$readme")" && NO_COLOR=1 "$upfault" run scenarios --proxy nginx) > "$out" 2>&1 || rc=$?
[[ $rc == 1 ]] || { tail "$out"; fail "the Quick start's run exited $rc, not 1 (nginx fails some scenarios)"; }
python3 - "$readme" "$out" <<'PY'
import re, sys
readme, run = open(sys.argv[1]).read(), open(sys.argv[2]).read().splitlines()
m = re.search(r"<!-- sample-run -->\n```text\n(.*?)```\n<!-- /sample-run -->", readme, re.S)
if not m: sys.exit("FAIL: the README has no sample run between <!-- sample-run --> and <!-- /sample-run -->")
shown = m.group(1).splitlines()
def mask(line):  # times and ports change from run to run
    line = re.sub(r"\b\d+(\.\d+)? (ms|s)\b", "T", line)
    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:P", line)
    return re.sub(r":\d{2,5}\b", ":P", line)
actual = [mask(l) for l in run]
def printed(line):
    # A line cut short with "…" (the recap's: the reason's first 160 bytes, where a time's length
    # moves the cut) is matched by its verdict and scenario; the reason itself is checked in full
    # on the result's own lines above it.
    if not line.endswith("…") or line == "…": return mask(line) in actual
    head = line.split(": ", 1)[0] + ": "
    return any(a.startswith(head) for a in actual)
missing = [l for l in shown if l != "…" and not printed(l)]
for l in missing[:5]: print("FAIL: the README shows a line this run does not print:", l[:160])
counts = [i for i, l in enumerate(run) if re.match(r"\d+ passed, \d+ failed", l)]
if not counts or [mask(l) for l in shown[-len(run[counts[0]:]):]] != actual[counts[0]:]:
    print("FAIL: the README's last lines are not this run's counts:", run[counts[0]:] if counts else "none")
    missing.append("counts")
if len(shown) < 20: missing.append("short"); print("FAIL: the sample shows", len(shown), "lines")
if missing: sys.exit("FAIL: run scripts/update-readme-sample.sh to bring the README's sample up to date")
print(f"ok: the README's {len(shown)} sample lines are what the run prints")
PY
echo PASS
