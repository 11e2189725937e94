#!/usr/bin/env bash
# upfault bench end to end: through the reference proxy (exact shares, status counts, the JSON
# report's fields), through a real nginx with a silent share (504 from its read timeout), and its
# usage errors (exit 2). Usage: bench_cli_test.sh UPFAULT BENCH_SCENARIOS_DIR
set -euo pipefail
UF=$1
SCEN=$2
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
print("reference: json ok")
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

# 3. Usage errors exit 2 with a clear message.
expect_usage_error() {  # $1: what stderr must say; the rest: arguments
  local want=$1; shift
  set +e; "$UF" bench "$@" >/dev/null 2>"$out/err"; local rc=$?; set -e
  [[ $rc == 2 ]] || fail "upfault bench $* exited $rc, not 2"
  grep -qF -- "$want" "$out/err" || { cat "$out/err"; fail "upfault bench $*: stderr lacks '$want'"; }
}
expect_usage_error "give either --url URL" -n 1
expect_usage_error 'did you mean "ok"?' --proxy reference --scenarios "$SCEN" --mix okk=1 -n 1
expect_usage_error "the weight must be a whole number" --proxy reference --scenarios "$SCEN" --mix ok=0 -n 1
# A name in the reserved .invalid domain: never resolved, never reached; the check refuses it first.
expect_usage_error "not a loopback address" --url http://upfault.invalid:80/ -n 1
expect_usage_error "--duration" --url http://127.0.0.1:9/ -d soon
echo "usage errors: ok"
