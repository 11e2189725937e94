#!/usr/bin/env bash
# What `upfault run` prints after the results, through a real proxy (upfault's reference proxy in
# its lenient variant, whose upstream read timeout is 1 s, reached with --proxy-url):
# - the scenarios not run are one NOT-RUN line per reason, after the results (each one with -v);
# - a 504 after 1 s while the run declares --read-timeout 5s is hinted at as a setup problem, and
#   not when the declared timeout is the proxy's;
# - a 500 the upstream did not send (nginx with a rewrite cycle in its config, started from a
#   profile) is hinted at as the proxy's own error, with its error log's lines; not the origin's 500;
# - every failure is printed again at the end, one line each (not with -q, which prints failures only).
# Usage: console_test.sh UPFAULT REFERENCE_PROXY SCENARIOS_DIR
set -euo pipefail
upfault=$1 refproxy=$2 scenarios=$3
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
proxy_pid=
cleanup() {
  [[ -z $proxy_pid ]] || { kill "$proxy_pid" 2> /dev/null || true; wait "$proxy_pid" 2> /dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/ports.sh"
test_argv=("$@")
upstream=$(port)
pick_endpoints
mkfifo "$work/log"
"$refproxy" --listen 127.0.0.1:0 --upstream "127.0.0.1:$upstream" --lenient --connect-timeout 1s --read-timeout 1s \
  2> "$work/log" &
proxy_pid=$!
exec 3< "$work/log"
read -r -u 3 line || fail "the reference proxy did not start"
listen=${line##*:}
[[ $line == *"reference proxy on 127.0.0.1:"* && -n $listen ]] || fail "unexpected first line: $line"
cat <&3 > /dev/null &  # keep draining its log

# run OUT DECLARED_READ_TIMEOUT [options]: three scenarios: a timeout (504 from the proxy after its
# 1 s), a passthrough the lenient proxy fails (it replaces the origin's 503), an HTTP/2 one not run.
run() {
  local out=$1 read=$2; shift 2
  rc=0
  "$upfault" run "$scenarios/timing/silent-upstream.toml" "$scenarios/passthrough/upstream-503-passthrough.toml" \
    "$scenarios/http2/h2-ok-200-baseline.toml" --proxy-url "http://127.0.0.1:$listen" --upstream-port "$upstream" \
    "${endpoint_opts[@]}" --upstream-protocols http/1.1 --read-timeout "$read" --connect-timeout 1s "$@" \
    > "$out" 2> "$out.err" || rc=$?
  again_if_taken "$out.err"
  [[ $rc == 1 ]] || { cat "$out" "$out.err"; fail "the run exited $rc, not 1 (one failure)"; }
}
after() { grep -n -m1 -- "$2" "$1" | cut -d: -f1; }  # after FILE PATTERN: the first matching line's number

run "$work/slow" 5s
o=$work/slow
[[ $(grep -c '^NOT-RUN' "$o") == 1 ]] || { cat "$o"; fail "the not-run scenario is not one grouped line"; }
grep -q '^NOT-RUN  1 scenario (http2): needs upstream protocol h2c' "$o" || { cat "$o"; fail "no NOT-RUN group line"; }
grep -q '^hint: 1 response was 504 after 1\.[0-9]* s, well before the declared --read-timeout 5\.00 s' "$o" ||
  { cat "$o"; fail "no hint for a 504 after 1 s with --read-timeout 5s"; }
grep -q '^1 of 2 scenarios judged failed or could not be judged:$' "$o" || { cat "$o"; fail "no recap heading"; }
[[ $(grep -c 'upstream-503-passthrough' "$o") == 2 ]] ||  # its result's line and the recap's
  { cat "$o"; fail "the failure is not recapped once at the end"; }
recap=$(after "$o" '^FAIL     passthrough/upstream-503-passthrough: expected')
[[ -n $recap && $recap -gt $(after "$o" '^PASS     timing/silent-upstream') && $recap -gt $(after "$o" '^FAIL     passthrough/upstream-503-passthrough \[') ]] ||
  { cat "$o"; fail "the recap is not after the results"; }
[[ $(tail -1 "$o") == "wall time"* && $(tail -2 "$o" | head -1) == *"1 not run"* ]] ||
  { cat "$o"; fail "the counts are not last"; }
echo "ok: NOT-RUN grouped, the 504 hint, the recap of failures last"

run "$work/right" 1s
grep -q '^hint:' "$work/right" && { cat "$work/right"; fail "a hint when the declared timeout is the proxy's"; }
echo "ok: no hint when --read-timeout is the proxy's"

run "$work/quiet" 5s -q
grep -q 'scenarios judged failed' "$work/quiet" && { cat "$work/quiet"; fail "-q recaps the failures it already lists"; }
grep -q '^hint: ' "$work/quiet" || { cat "$work/quiet"; fail "-q drops the hint"; }
grep -q '^NOT-RUN' "$work/quiet" && { cat "$work/quiet"; fail "-q prints the not-run group"; }
run "$work/verbose" 1s -v
grep -q '^NOT-RUN  http2/h2-ok-200-baseline' "$work/verbose" || { cat "$work/verbose"; fail "-v does not list each not-run scenario"; }
echo "ok: -q prints failures and hints only; -v lists each not-run scenario"

# A misconfigured nginx: every request loops in rewrites and gets nginx's own 500.
if ! command -v nginx > /dev/null; then
  [[ "${UPFAULT_REQUIRE_PROXIES:-}" == 1 ]] && fail "nginx is not installed"
  echo "SKIP: nginx is not installed"; echo PASS; exit 0
fi
proxies=$(dirname "$(realpath "$scenarios")")/proxies
mkdir "$work/bad"
python3 - "$proxies/nginx/nginx.conf.in" "$work/bad/nginx.conf.in" <<'PY'
import sys
text = open(sys.argv[1]).read()
route = "location / { proxy_pass http://scripted; }"
assert route in text, "the nginx template changed"
open(sys.argv[2], "w").write(text.replace(route, "location / { rewrite ^ /loop/ last; }\n        location /loop/ { rewrite ^ / last; }"))
PY
sed -e 's/^name *=.*/name = "nginx-rewrite-cycle"\nroutes = "nginx"/' -e '/^packages/d' "$proxies/nginx/profile.toml" \
  > "$work/bad/profile.toml"
three=("$scenarios/passthrough/ok-200-baseline.toml" "$scenarios/framing/duplicate-content-length.toml"
       "$scenarios/passthrough/upstream-500-passthrough.toml")
rc=0
"$upfault" run "${three[@]}" --proxy "$work/bad/profile.toml" > "$work/bad.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || { cat "$work/bad.out"; fail "the misconfigured nginx's run exited $rc, not 1"; }
grep -q '^hint: the proxy answered 500 to 2 scenarios (ok-200-baseline, duplicate-content-length) whose upstream sent no 500' \
  "$work/bad.out" || { cat "$work/bad.out"; fail "no hint for nginx's own 500s (or the origin's 500 counted)"; }
grep -q '^      .*\[error\].*rewrite or internal redirection cycle' "$work/bad.out" ||
  { cat "$work/bad.out"; fail "the hint does not show nginx's error log lines"; }
rc=0
"$upfault" run "${three[@]}" --proxy nginx > "$work/good.out" 2>&1 || rc=$?
grep -q '^hint:' "$work/good.out" && { cat "$work/good.out"; fail "a hint through the shipped nginx profile"; }
echo "ok: a 500 of the proxy's own is hinted at with its error log; none through a sound config"
echo PASS
