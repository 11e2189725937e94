#!/usr/bin/env bash
# The reports a CI system reads: JUnit XML valid against tests/junit.xsd with counts equal to
# the JSON report's, a Markdown summary, and shards that partition the suite.
# Usage: reports_test.sh UPFAULT SCENARIOS_DIR XSD
set -euo pipefail
upfault=$1 scenarios=$2 xsd=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The blind relay gives failures as well as passes, so every part of the report is exercised.
"$upfault" run "$scenarios" --proxy blind --quiet --json "$out/r.json" --junit "$out/r.xml" --summary "$out/r.md" \
  > "$out/stdout" || [[ $? == 1 ]] || fail "upfault run exited $?"
command -v xmllint >/dev/null || fail "xmllint (libxml2-utils) is not installed"
xmllint --noout --schema "$xsd" "$out/r.xml" 2> "$out/xmllint.log" || { cat "$out/xmllint.log"; fail "JUnit XML is not valid"; }
# The schema check must be able to fail: a report with a testcase missing its name is rejected.
sed '0,/<testcase classname="[^"]*" name="[^"]*"/s//<testcase classname="x"/' "$out/r.xml" > "$out/broken.xml"
! xmllint --noout --schema "$xsd" "$out/broken.xml" 2>/dev/null || fail "the schema accepts a testcase without a name"

python3 - "$out/r.json" "$out/r.xml" "$out/r.md" "$out/stdout" <<'PY' || fail "JUnit, JSON and summary disagree"
import json, sys, xml.etree.ElementTree as ET
j = json.load(open(sys.argv[1])); x = ET.parse(sys.argv[2]).getroot()
s = j["summary"]
cases = x.findall(".//testcase")
assert len(cases) == s["total"] + s["not_run"] == len(j["results"]), (len(cases), s["total"], s["not_run"])
assert len(x.findall(".//testcase/skipped")) == s["not_run"] == int(x.get("skipped")), "skipped (not run)"
assert len(x.findall(".//testcase/failure")) == s["fail"] == int(x.get("failures")), "failures"
assert len(x.findall(".//testcase/error")) == s["error"] == int(x.get("errors")), "errors"
assert s["fail"] > 0 and s["pass"] > 0, "the blind relay should both pass and fail"
for c, r in zip(sorted(cases, key=lambda c: c.get("name")), sorted(j["results"], key=lambda r: r["scenario"])):
    assert c.get("name") == r["scenario"] and c.get("classname") == r["category"], (c.get("name"), r["scenario"])
    f = c.find("failure")
    assert (f is not None) == (r["verdict"] == "fail")
    if f is not None: assert f.get("message") == r["reason"]
md = open(sys.argv[3]).read()
line = f'{s["pass"] + s["stricter"]} passed, {s["fail"] + s["error"]} failed'
assert f"**{line}**" in md, md[:200]
assert line in open(sys.argv[4]).read().splitlines(), "the final count line"
print(f'junit: {len(cases)} testcases, {s["fail"]} failures, valid; json and summary agree')
PY

# Shards partition the suite: every scenario in exactly one of three shards.
for i in 1 2 3; do
  "$upfault" run "$scenarios" --proxy reference --quiet --shard "$i/3" --json "$out/s$i.json" > /dev/null || fail "shard $i/3"
done
python3 - "$out"/s1.json "$out"/s2.json "$out"/s3.json "$out/r.json" <<'PY' || fail "shards do not partition the suite"
import json, sys
shards = [[r["scenario"] for r in json.load(open(f))["results"]] for f in sys.argv[1:4]]
whole = sorted(r["scenario"] for r in json.load(open(sys.argv[4]))["results"])
assert sorted(sum(shards, [])) == whole, "union"
assert all(shards), "an empty shard"
print("shards:", [len(s) for s in shards], "of", len(whole))
PY
"$upfault" run "$scenarios" --proxy reference --shard 4/3 > /dev/null 2>&1 && fail "--shard 4/3 was accepted"
echo "reports: ok"
