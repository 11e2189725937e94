#!/usr/bin/env bash
# A user's own proxy (--proxy-url) that dies during the run: upfault cannot see it die, so after
# the pass it asks whether the proxy still accepts connections. It must say so once (which
# scenarios lost their connection in flight), count what got no complete response as errors —
# never as the proxy's failures ("the request never reached the upstream") — and not try, one by
# one, to rerun them alone on a proxy that is gone (one line, not one per scenario).
# The proxy: upfault's reference proxy with --crash-on, which aborts on ok-200-baseline's request.
# Then the same proxy under a supervisor that restarts it: the reruns wait for it to accept again
# and judge each scenario alone.
# Usage: proxy_url_stopped_test.sh UPFAULT REFERENCE_PROXY SCENARIOS_DIR
set -euo pipefail
upfault=$1 refproxy=$2 scenarios=$3
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
proxy_pid= supervisor=
cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2> /dev/null || true
  [[ -n $supervisor ]] && kill -- "-$supervisor" 2> /dev/null || true  # its process group
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
# Under ASan the proxy's abort runs ASan's report first, and a dying process's listening socket
# still completes connects meanwhile: the abort is left to the kernel, as in a release build.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_abort=0"
source "$(dirname "$0")/ports.sh"

test_argv=("$@")
upstream=$(port)
pick_endpoints
# The proxy listens on a port the kernel picks and says which: that line is the event waited for.
mkfifo "$work/log"
"$refproxy" --listen 127.0.0.1:0 --upstream "127.0.0.1:$upstream" --crash-on /ok-200-baseline/ \
  --connect-timeout 1s --read-timeout 1s 2> "$work/log" &
proxy_pid=$!
exec 3< "$work/log"
read -r -u 3 line || fail "the reference proxy did not start"
listen=${line##*:}
[[ $line == *"reference proxy on 127.0.0.1:"* && -n $listen ]] || fail "unexpected first line: $line"
cat <&3 > /dev/null &  # keep draining its log
rc=0
"$upfault" run "$scenarios/passthrough" --proxy-url "http://127.0.0.1:$listen" --upstream-port "$upstream" \
  "${endpoint_opts[@]}" --upstream-protocols http/1.1 --json "$work/r.json" > "$work/out" 2> "$work/err" || rc=$?
again_if_taken "$work/err"
[[ $rc == 1 ]] || { cat "$work/out" "$work/err"; fail "the run exited $rc, not 1"; }
wait "$proxy_pid" 2> /dev/null || true  # it aborted on ok-200-baseline
proxy_pid=

[[ $(grep -c "stopped accepting connections during the run" "$work/err") == 1 ]] ||
  { cat "$work/err"; fail "the proxy's end was not named exactly once"; }
grep -q "lost their connection in flight (.*ok-200-baseline" "$work/err" ||
  { cat "$work/err"; fail "the scenario in flight when it stopped is not named"; }
[[ $(grep -c "not rerun alone" "$work/out") == 1 ]] ||
  { cat "$work/out"; fail "the reruns that cannot happen were not said in one line"; }
python3 - "$work/r.json" <<'PY' || fail "a result without a complete response was judged as the proxy's"
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
bad = [r for r in rows if r["verdict"] == "fail" and "never reached the upstream" in r["reason"]]
errors = [r for r in rows if r["verdict"] == "error"]
assert not bad, [r["scenario"] + ": " + r["reason"] for r in bad]
assert errors, "no scenario lost its answer: the proxy did not crash, and the test tests nothing"
print(f"ok: {len(errors)} errors, no failure blamed on a dead proxy")
PY

# The same proxy routes over TLS only the path of /__tls/'s pre-flight probe, so pre-flight passes
# and each TLS scenario's own request reaches the plain upstream: a setup error found in the run.
# The ones that need the same fix (route /__tls/) are printed in full once, then one line each
# pointing at the first. It says when it listens: that line, read from a FIFO, is the event waited for.
for ((i = 0; i < ${#endpoint_opts[@]}; i += 2)); do [[ ${endpoint_opts[i]} == --tls-port ]] && tls=${endpoint_opts[i + 1]}; done
"$upfault" routes nginx --upstream-port "$upstream" --tls-dir "$work/ca" > /dev/null  # makes the CA
mkfifo "$work/log.noroutes"
"$refproxy" --listen "127.0.0.1:$listen" --upstream "127.0.0.1:$upstream" --ca "$work/ca/ca.pem" \
  --route "/__tls/__upfault/upfault-preflight=https://127.0.0.1:$tls" 2> "$work/log.noroutes" &
proxy_pid=$!
exec 4< "$work/log.noroutes"
read -r -u 4 line || fail "the reference proxy without routes did not start"
[[ $line == *"reference proxy on 127.0.0.1:$listen"* ]] || fail "unexpected first line: $line"
cat <&4 > /dev/null &  # keep draining its log
rc=0
mapfile -t scripted_tls < <(grep -L "^endpoint" "$scenarios"/tls/*.toml)  # the TLS endpoints have other routes
"$upfault" run "${scripted_tls[@]}" --proxy-url "http://127.0.0.1:$listen" --upstream-port "$upstream" \
  "${endpoint_opts[@]}" --upstream-protocols http/1.1,https --tls-dir "$work/ca" \
  --json "$work/tls.json" > "$work/tls.out" 2>&1 || rc=$?
again_if_taken "$work/tls.out"
kill "$proxy_pid" 2> /dev/null || true
wait "$proxy_pid" 2> /dev/null || true
proxy_pid=
full=$(grep -c "must route /__tls/ to the tls port" "$work/tls.out" || true)
same=$(grep -c "setup: the same as for " "$work/tls.out" || true)
[[ $full == 1 && $same -ge 2 ]] ||
  { cat "$work/tls.out"; fail "the /__tls/ misroute was printed in full $full times, pointed at $same times"; }
echo "ok: one misroute printed in full once, then $same lines pointing at it"
# Nothing but errors is not green: nothing was judged about the proxy.
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]
sys.exit(0 if s["error"] > 0 and s["pass"] == 0 and s["fail"] == 0 else 1)' "$work/tls.json" ||
  fail "the misrouted TLS run is not errors only: $(tail -3 "$work/tls.out")"
[[ $rc == 1 ]] || fail "a run whose verdicts are all errors exited $rc, not 1"

# Supervised: restarted on the same port whenever it exits, as systemd or a process manager would.
setsid bash -c 'while :; do "$0" --listen "127.0.0.1:$1" --upstream "127.0.0.1:$2" --crash-on /ok-200-baseline/ \
  --connect-timeout 1s --read-timeout 1s 2>> "$3"; done' "$refproxy" "$listen" "$upstream" "$work/supervised.log" &
supervisor=$!
# Its first line says it listens: the log is followed as it is written (tail -f), and that line is
# the event waited for (bounded by read -t only in case it never comes).
exec 5< <(exec tail -n +1 -F "$work/supervised.log" 2> /dev/null)
follower=$!
said=
while read -r -t 10 -u 5 line; do
  [[ $line == *"reference proxy on"* ]] && { said=1; break; }
done
kill "$follower" 2> /dev/null || true
[[ -n $said ]] || fail "the supervised proxy did not say it listens"
rc=0
"$upfault" run "$scenarios/passthrough" --proxy-url "http://127.0.0.1:$listen" --upstream-port "$upstream" \
  "${endpoint_opts[@]}" --upstream-protocols http/1.1 --json "$work/s.json" > "$work/sout" 2> "$work/serr" || rc=$?
again_if_taken "$work/serr"
kill -- "-$supervisor" 2> /dev/null || true
supervisor=
[[ $rc == 1 ]] || { cat "$work/sout" "$work/serr"; fail "the supervised run exited $rc, not 1"; }
grep -Eq "^[0-9]+ scenario\(s\) rerun alone after the pass: [0-9]+ in flight when the proxy died" "$work/sout" ||
  { cat "$work/sout"; fail "the supervised proxy's scenarios were not rerun alone once it was back"; }
python3 - "$work/s.json" <<'PY' || fail "a rerun once the proxy was back did not replace the verdict"
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
errors = [r["scenario"] for r in rows if r["verdict"] == "error"]
assert not errors, errors
passed = [r for r in rows if r["verdict"] == "pass" and "rerun alone" in r.get("note", "")]
assert passed, "no rerun passed"
crash = next(r for r in rows if r["scenario"] == "ok-200-baseline")
assert crash["reason"].startswith("the proxy crashed while handling this scenario"), crash["reason"]
print(f"ok: supervised, {len(passed)} scenarios rerun alone once the proxy was back, no error")
PY
echo PASS
