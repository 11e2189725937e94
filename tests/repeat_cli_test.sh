#!/usr/bin/env bash
# --repeat keeps every outcome, end to end. A proxy whose answers change from run to run, by
# construction (no timing): the reference proxy on odd starts, the lenient one (which replaces an
# origin's 5xx with its own 502) on even ones. Through it, `upfault run --repeat 3` shows the 5xx
# passthrough scenarios as pass 2/3, fail 1/3 on the console, in the JSON, the JUnit file and the
# summary, and exits 1; the reference proxy alone, 3 runs, none varied, exit 0. `upfault matrix
# --repeat 3` shows the same cells on its page and in its results files, `--from` rebuilds the page
# from them byte for byte, and a damaged field in one is refused (exit 2, the file and the field).
# Usage: repeat_cli_test.sh UPFAULT SCENARIOS_DIR PROXIES_DIR XSD
set -euo pipefail
upfault=$1 scenarios=$2 proxies=$3 xsd=$4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The flip profile: the reference profile, started through flip.sh, which counts its starts. Each
# run starts it twice (pre-flight's instance, then a fresh one for the suite): every other run's
# pair is lenient.
mkdir -p "$out/proxies/flip" "$out/sc/passthrough"
cat > "$out/proxies/flip/flip.sh" <<'SH'
#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/starts" 2>/dev/null || echo 0)
echo $((n + 1)) > "$dir/starts"
proxy=$1
shift
if [ $((n / 2 % 2)) = 1 ]; then exec "$proxy" --lenient "$@"; else exec "$proxy" "$@"; fi
SH
sed -e 's|^name *= *"reference"|name = "flip"|' \
    -e 's|^command *= *\["{bindir}/upfault-reference-proxy",|command = ["/bin/sh", "{profile_dir}/flip.sh", "{bindir}/upfault-reference-proxy",|' \
    "$proxies/reference/profile.toml" > "$out/proxies/flip/profile.toml"
grep -q 'flip.sh' "$out/proxies/flip/profile.toml" || fail "the flip profile was not made from the reference profile"
for s in upstream-503-passthrough origin-502-passthrough ok-200-baseline; do
  cp "$scenarios/passthrough/$s.toml" "$out/sc/passthrough/"
done
export UPFAULT_PROXIES_DIR=$out/proxies

# upfault run --repeat 3 through the flip proxy: every report shows the distribution.
status=0
"$upfault" run "$out/sc" --proxy flip --repeat 3 --no-isolation --json "$out/r.json" --junit "$out/r.xml" \
  --summary "$out/r.md" > "$out/run.log" 2>&1 || status=$?
[[ $status == 1 ]] || { cat "$out/run.log"; fail "run --repeat through a proxy that varies: exit $status, want 1"; }
[[ $(cat "$out/proxies/flip/starts") == 6 ]] || fail "the flip proxy started $(cat "$out/proxies/flip/starts") times, not 3 × 2"
grep -q '^UNSTABLE passthrough/upstream-503-passthrough \[must\]' "$out/run.log" || { cat "$out/run.log"; fail "console"; }
grep -q '^         varied over 3 runs: pass 2/3, fail 1/3 (counted as fail, its worst)$' "$out/run.log" ||
  { cat "$out/run.log"; fail "console: no distribution"; }
grep -q '^         fail 1/3: expected passthrough of the upstream.s response, got 502' "$out/run.log" ||
  { cat "$out/run.log"; fail "console: no reason of the failed run"; }
grep -q '^repeat: 3 runs, 2 scenarios changed verdict$' "$out/run.log" || { cat "$out/run.log"; fail "repeat line"; }
command -v xmllint >/dev/null || fail "xmllint (libxml2-utils) is not installed"
xmllint --noout --schema "$xsd" "$out/r.xml" 2> "$out/xmllint.log" || { cat "$out/xmllint.log"; fail "JUnit XML invalid"; }
python3 - "$out/r.json" "$out/r.xml" "$out/r.md" <<'PY' || fail "the reports do not keep every outcome"
import json, sys, xml.etree.ElementTree as ET
r = json.load(open(sys.argv[1]))
assert r["repeat"] == {"runs": 3, "completed": 3}, r["repeat"]
rows = {row["scenario"]: row for row in r["results"]}
flaky = rows["upstream-503-passthrough"]
assert flaky["verdict"] == "fail" and flaky["unstable"] is True, flaky
assert [(o["verdict"], o["count"]) for o in flaky["runs"]] == [("pass", 2), ("fail", 1)], flaky["runs"]
assert flaky["runs"][0]["reason"].startswith("503 after"), flaky["runs"][0]
assert "runs" not in rows["ok-200-baseline"] and rows["ok-200-baseline"]["verdict"] == "pass"
assert r["summary"]["unstable"] == 2 and r["summary"]["fail"] == 2, r["summary"]
cases = {c.get("name"): c for c in ET.parse(sys.argv[2]).getroot().iter("testcase")}
message = cases["upstream-503-passthrough"].find("failure").get("message")
assert message.startswith("varied: pass 2/3, fail 1/3 (pass 2/3: 503 after"), message
assert cases["ok-200-baseline"].find("failure") is None
md = open(sys.argv[3]).read()
assert "| 🎲 unstable | `passthrough/upstream-503-passthrough` | must | varied: pass 2/3, fail 1/3" in md, md
assert "over 3 runs" in md, md
print("run --repeat 3: pass 2/3, fail 1/3 in the console, JSON, JUnit and summary")
PY

# The reference proxy alone: measured stable, exit 0, no distribution anywhere.
"$upfault" run "$out/sc" --proxy reference --repeat 3 --json "$out/ref.json" > "$out/ref.log" 2>&1 ||
  { cat "$out/ref.log"; fail "run --repeat 3 through the reference proxy exited $?"; }
grep -q '^repeat: 3 runs, 0 scenarios changed verdict$' "$out/ref.log" || { cat "$out/ref.log"; fail "reference varied"; }
! grep -q '"runs":\[' "$out/ref.json" || fail "a stable run lists outcomes: $(cat "$out/ref.json")"

# upfault matrix --repeat 3: the page and the results files keep the distribution.
rm -f "$out/proxies/flip/starts"
"$upfault" matrix "$out/sc" --proxies reference,flip --lanes 1 --repeat 3 --out "$out/m" > "$out/m.log" 2>&1 ||
  { cat "$out/m.log"; fail "matrix --repeat 3"; }
# The reference proxy is shown apart, after the ranked ones: flip's column comes first.
grep -q '| \[upstream-503-passthrough\](.*) | must | lost-information | ❌ 1/3 | ✅ |' "$out/m/README.md" ||
  { cat "$out/m/README.md"; fail "README.md: no 1/3 on the varied cell"; }
grep -q '3 runs, 2 unstable (each counted as its worst)' "$out/m/README.md" || fail "README.md: the proxy's note"
grep -q 'varied over 3 runs: pass 2/3, fail 1/3: pass 2/3: 503 after' "$out/m/README.md" || fail "README.md: outcomes"
grep -q '<td class="v fail varied right"><details><summary>fail 1/3</summary>' "$out/m/index.html" ||
  fail "index.html: no varied cell"
python3 - "$out/m/results/flip.json" <<'PY' || fail "results/flip.json does not keep every outcome"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["repeat"] == {"runs": 3, "completed": 3}, r.get("repeat")
rows = {row["scenario"]: row for row in r["results"]}
assert [(o["verdict"], o["count"]) for o in rows["origin-502-passthrough"]["runs"]] == [("pass", 2), ("fail", 1)]
PY
"$upfault" matrix --from "$out/m" "$out/sc" --out "$out/again" > "$out/again.log" 2>&1 ||
  { cat "$out/again.log"; fail "matrix --from of repeated results"; }
for f in README.md index.html; do cmp -s "$out/m/$f" "$out/again/$f" || fail "$f from --from differs"; done

# A damaged count in a results file: refused, the file and the field named, never an abort.
python3 - "$out/m/results/flip.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for row in r["results"]:
    if "runs" in row: row["runs"][0]["count"] = "2"; break
json.dump(r, open(sys.argv[1], "w"))
PY
status=0
"$upfault" matrix --from "$out/m" "$out/sc" --out "$out/x" > /dev/null 2> "$out/err" || status=$?
[[ $status == 2 ]] || fail "a damaged runs count: exit $status, want 2 ($(cat "$out/err"))"
grep -q 'flip.json: scenario "[a-z0-9-]*": runs\[0\].count is not a count' "$out/err" ||
  fail "the refusal names neither file nor field: $(cat "$out/err")"
echo "PASS: --repeat keeps every outcome in run and matrix reports, and matrix --from reads them back checked"
