#!/usr/bin/env bash
# upfault bench end to end: through the reference proxy (exact shares, status counts, the JSON
# report's fields), through a real nginx with a silent share (504 from its read timeout), and its
# usage errors (exit 2); the faulty share judged (wrong answers) through nginx and the reference
# proxy. Usage: bench_cli_test.sh UPFAULT BENCH_SCENARIOS_DIR CORPUS_DIR
set -euo pipefail
UF=$1
SCEN=$2
CORPUS=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Reference proxy: 9 healthy to 1 reset upstream, one connection, exactly 200 requests.
"$UF" bench --proxy reference --scenarios "$SCEN" --mix ok=9,reset=1 -n 200 -c 1 -t 1 --json "$out/ref.json" >"$out/ref.txt"
cat "$out/ref.txt"
grep -q "status   200 × 180, 502 × 20" "$out/ref.txt" || fail "text report: expected 200 × 180, 502 × 20"
python3 - "$out/ref.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr); sys.exit(1)
check(d["schema"] == "upfault-bench/1", "schema")
check(d["mode"] == "closed-loop", "mode")
check(d["responses"] == 200, f"responses {d['responses']}")
check(d["status"] == {"200": 180, "502": 20}, f"status {d['status']}")
check(d["healthy"]["status"] == {"200": 180} and d["faulty"]["status"] == {"502": 20}, "healthy/faulty split")
check([m["name"] for m in d["mix"]] == ["ok", "reset"] and d["mix"][0]["healthy"] and not d["mix"][1]["healthy"], "mix")
lat = d["latency_ms"]
check(all(k in lat for k in ["p50", "p90", "p99", "p99.9", "max"]), "percentiles")
check(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], f"percentiles in order {lat}")
check(set(d["errors"]) == {"connect_refused", "connect_timeout", "reset", "closed_before_header",
                           "closed_mid_body", "parse_error", "timeout", "other"}, "error kinds")
check(d["errors_total"] == 0, "no errors")
check(d["requests_per_second"] > 0, "requests_per_second")
check(d["target"]["proxy"] == "reference", "target")
check(d["requests_sent"] == 200 and d["fail_if"] == [] and d["warnings"] == [], "requests_sent, fail_if, warnings")
print("reference: json ok")
PY
# The histograms, read with nothing but Python's zlib (the decoder docs/bench.md shows): each
# holds the block's responses, and the percentiles computed from it are the ones reported.
python3 - "$out/ref.json" <<'PY'
import base64, json, math, struct, sys, zlib
def hdr_counts(text):
    raw = base64.b64decode(text)
    assert struct.unpack(">I", raw[:4])[0] == 0x1c849314, "compressed cookie"
    plain = zlib.decompress(raw[8:])
    cookie, length, offset, digits, lowest = struct.unpack(">IIiiq", plain[:24])
    assert (cookie, offset, digits, lowest) == (0x1c849313, 0, 3, 1), "V2 header"
    counts, pos, payload = [], 40, plain[: 40 + length]
    while pos < len(payload):
        v = shift = 0
        for i in range(9):
            b = payload[pos]; pos += 1
            v |= (b << 56) if i == 8 else (b & 0x7F) << shift
            shift += 7
            if i == 8 or not b & 0x80: break
        n = (v >> 1) ^ -(v & 1)
        counts.extend([0] * -n if n < 0 else [n])
    return counts
def highest(i):
    if i < 2048: return i
    shift = i // 1024 - 1
    return ((i % 1024 + 1024) << shift) + (1 << shift) - 1
def percentile(counts, max_ns, p):
    rank = max(1, math.ceil(p * sum(counts) / 100.0))
    seen = 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= rank: return min(highest(i), max_ns)
d = json.load(open(sys.argv[1]))
for name, block in [("all", d), ("healthy", d["healthy"]), ("faulty", d["faulty"])] + [(m["name"], m) for m in d["mix"]]:
    h = block["histogram"]
    counts = hdr_counts(h["hdr"])
    if sum(counts) != block["responses"] or h["count"] != block["responses"]:
        print(f"FAIL: {name}: the histogram counts {sum(counts)}, not {block['responses']} responses"); sys.exit(1)
    for key, p in [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]:
        want = percentile(counts, h["max_ns"], p) / 1e6
        if abs(block["latency_ms"][key] - want) > 1e-9:
            print(f"FAIL: {name}: latency_ms.{key} is {block['latency_ms'][key]}, the histogram's is {want}"); sys.exit(1)
    if block["latency_ms"]["max"] != h["max_ns"] / 1e6:
        print(f"FAIL: {name}: max"); sys.exit(1)
s = d["series"]
if [e["second"] for e in s] != list(range(len(s))) or sum(e["responses"] for e in s) != d["responses"]:
    print("FAIL: the series does not add up to the responses"); sys.exit(1)
for e in s:
    if e["responses"] and sum(hdr_counts(e["histogram"])) != e["responses"]:
        print(f"FAIL: second {e['second']}: histogram"); sys.exit(1)
print("reference: histograms decode with zlib to the reported percentiles; the series adds up")
PY

# 2. nginx with a silent share: each silent request is answered 504 by nginx's 1 s read timeout,
#    on side connections, while the healthy ones go on.
if command -v nginx >/dev/null || [[ ${UPFAULT_REQUIRE_PROXIES:-0} == 1 ]]; then
  "$UF" bench --proxy nginx --scenarios "$SCEN" --mix ok=9,silent=1 -n 100 -c 1 -t 1 --json "$out/nginx.json" >"$out/nginx.txt"
  cat "$out/nginx.txt"
  python3 - "$out/nginx.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d["healthy"]["status"] != {"200": 90} or d["faulty"]["status"] != {"504": 10} or d["errors_total"] != 0:
    print("FAIL: nginx with 10 % silent:", d["healthy"]["status"], d["faulty"]["status"], d["errors"], file=sys.stderr)
    sys.exit(1)
if d["faulty"]["latency_ms"]["p50"] < 900:
    print("FAIL: a 504 for a silent upstream came before nginx's 1 s read timeout", file=sys.stderr); sys.exit(1)
if d["side_connections"] < 1:
    print("FAIL: the silent share did not go on side connections", file=sys.stderr); sys.exit(1)
print("nginx: json ok")
PY
else
  echo "nginx not installed: skipped the nginx part"
fi

# 3. --fail-if: each condition judged and printed with its value; any that holds exits 1.
set +e
"$UF" bench --proxy reference --scenarios "$SCEN" --mix ok=9,reset=1 -n 200 -c 1 -t 1 --json "$out/gate.json" \
  --fail-if 'status5xx>0' --fail-if 'responses < 1000' --fail-if 'p99>10s' --fail-if 'healthy.errors>0' \
  >"$out/gate.txt" 2>"$out/gate.err"
rc=$?
set -e
cat "$out/gate.txt" "$out/gate.err"
[[ $rc == 1 ]] || fail "--fail-if that holds: exit $rc, not 1"
grep -qE '^  fail-if  status5xx>0 +20 +FAILED$' "$out/gate.txt" || fail "the table lacks status5xx>0 with 20"
grep -qE '^ +responses<1000 +200 +FAILED$' "$out/gate.txt" || fail "the table lacks responses<1000 with 200"
grep -qE '^ +p99>10s +[0-9.]+s +ok$' "$out/gate.txt" || fail "the table lacks p99>10s ok"
grep -qF "failed --fail-if: status5xx>0 (20), responses<1000 (200)" "$out/gate.err" || fail "stderr lacks the conditions that held"
python3 - "$out/gate.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["fail_if"]
got = [(c["condition"], c["value"], c["unit"], c["failed"]) for c in f]
want = [("status5xx>0", 20, "", True), ("responses<1000", 200, "", True), ("healthy.errors>0", 0, "", False)]
if [g for g in got if g[0] != "p99>10s"] != want or not any(g[0] == "p99>10s" and g[2] == "s" and not g[3] for g in got):
    print("FAIL: fail_if in the JSON:", got, file=sys.stderr); sys.exit(1)
print("fail-if: json ok")
PY
"$UF" bench --proxy reference --scenarios "$SCEN" -n 50 -c 1 -t 1 --fail-if 'errors>0' --fail-if 'p99>10s' >"$out/pass.txt" \
  || fail "--fail-if that holds for none: exit $?, not 0"
grep -qE '^  fail-if  errors>0 +0 +ok$' "$out/pass.txt" || fail "the table lacks errors>0 ok"

# 4. A rate the load generator cannot reach on one connection is a warning, in the output and the JSON.
"$UF" bench --proxy reference --scenarios "$SCEN" --rate 1000000 -c 1 -t 1 -d 1s --json "$out/rate.json" >"$out/rate.txt" \
  || fail "a warning changed the exit code"
grep -qE '^  warning: achieved [0-9]+ requests/s, [0-9.]+ % of --rate 1000000: the load generator or the machine is the bottleneck' \
  "$out/rate.txt" || { cat "$out/rate.txt"; fail "no warning about the rate"; }
python3 - "$out/rate.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if len(d["warnings"]) != 1 or not d["warnings"][0].startswith("achieved ") or not 0 < d["achieved_rate"] < 950000:
    print("FAIL: the rate warning in the JSON:", d["warnings"], d["achieved_rate"], file=sys.stderr); sys.exit(1)
print("rate warning: ok")
PY

# 5. Usage errors exit 2 with a clear message.
expect_usage_error() {  # $1: what stderr must say; the rest: arguments
  local want=$1; shift
  set +e; "$UF" bench "$@" >/dev/null 2>"$out/err"; local rc=$?; set -e
  [[ $rc == 2 ]] || fail "upfault bench $* exited $rc, not 2"
  grep -qF -- "$want" "$out/err" || { cat "$out/err"; fail "upfault bench $*: stderr lacks '$want'"; }
}
expect_usage_error "give either --url URL" -n 1
# 4. The faulty share judged by its scenario: nginx (1.22) passes an upstream's duplicate
# Content-Length on as a 200, which duplicate-content-length does not accept (502); the reference
# proxy answers 502. wrong>0 gates on it; the JSON counts it per entry with what the entry accepts.
rc=0
"$UF" bench --proxy nginx --scenarios "$SCEN" --scenarios "$CORPUS" --mix ok=9,duplicate-content-length=1 -n 100 -c 1 \
  -t 1 --fail-if 'wrong>0' --json "$out/wrong.json" > "$out/wrong.txt" 2> "$out/wrong.err" || rc=$?
[[ $rc == 1 ]] || { cat "$out/wrong.txt" "$out/wrong.err"; fail "nginx with wrong>0: exit $rc, not 1"; }
grep -qF "wrong    10 of 10 complete faulty responses have a status their scenario does not accept: \
duplicate-content-length: 200 × 10 (it accepts 502)" "$out/wrong.txt" || { cat "$out/wrong.txt"; fail "no wrong line"; }
python3 - "$out/wrong.json" <<'PY2' || fail "the JSON report does not count the wrong answers"
import json, sys
b = json.load(open(sys.argv[1]))
dup = next(e for e in b["mix"] if e["name"] == "duplicate-content-length")
ok = next(e for e in b["mix"] if e["name"] == "ok")
assert dup["wrong"] == 10 and dup["accepts"] == [502], dup
assert ok["wrong"] == 0 and "accepts" not in ok, ok
assert b["faulty"]["wrong"] == 10 and b["wrong"] == 10, (b["faulty"]["wrong"], b["wrong"])
PY2
"$UF" bench --proxy reference --scenarios "$SCEN" --scenarios "$CORPUS" --mix ok=9,duplicate-content-length=1 -n 100 \
  -c 1 -t 1 --fail-if 'wrong>0' > "$out/right.txt" || { cat "$out/right.txt"; fail "reference proxy with wrong>0: exit $?"; }
grep -qE '^  fail-if  wrong>0 +0 +ok$' "$out/right.txt" || { cat "$out/right.txt"; fail "wrong>0 is not 0 through the reference proxy"; }
echo "wrong answers: ok"

expect_usage_error 'did you mean "ok"?' --proxy reference --scenarios "$SCEN" --mix okk=1 -n 1
expect_usage_error 'no scenario named "zzz"; the choices: ' --proxy reference --scenarios "$SCEN" --mix zzz=1 -n 1
expect_usage_error "the weight must be a whole number" --proxy reference --scenarios "$SCEN" --mix ok=0 -n 1
# A name in the reserved .invalid domain: never resolved, never reached; the check refuses it first.
expect_usage_error "not a loopback address" --url http://upfault.invalid:80/ -n 1
expect_usage_error "--duration" --url http://127.0.0.1:9/ -d soon
expect_usage_error "--fail-if 'p99>>5': one comparison" --url http://127.0.0.1:9/ -n 1 --fail-if 'p99>>5'
expect_usage_error "--fail-if 'p99>5': a latency needs a unit" --url http://127.0.0.1:9/ -n 1 --fail-if 'p99>5'
expect_usage_error "--fail-if 'wrong>0': the mix has no faulty scenario whose answers can be judged" --proxy reference \
  --scenarios "$SCEN" -n 1 --fail-if 'wrong>0'
expect_usage_error "--fail-if 'faulty.p99>1s': the mix has no faulty scenario" --proxy reference --scenarios "$SCEN" -n 1 --fail-if 'faulty.p99>1s'
echo "usage errors: ok"
