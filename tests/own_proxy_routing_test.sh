#!/usr/bin/env bash
# A user's own nginx whose config routes only `/` to upfault's upstream. Pre-flight names every
# route the run needs and lacks (/__tls/ and the six TLS endpoints', /__refused/, /__blackhole/,
# /__accept_close/, /__accept_reset/), each with the port to route it to, in one message before any scenario runs
# (exit 3), so none is judged as nginx's failure. Without --upstream-protocols the protocols are
# detected: /__tls/ is not routed, so the https scenarios are `not run` saying so. The scenarios
# the config does route are judged exactly as through the nginx profile (the same config with the
# routes).
# Usage: own_proxy_routing_test.sh UPFAULT SCENARIOS_DIR PROXIES_DIR
set -euo pipefail
upfault=$1 scenarios=$2 proxies=$3
fail() { echo "FAIL: $*"; exit 1; }
command -v nginx > /dev/null || fail "nginx is not installed (scripts/install-deps.sh installs it)"
work=$(mktemp -d)
nginx_pid=
cleanup() {
  if [[ -n $nginx_pid ]]; then
    kill -TERM "$nginx_pid" 2> /dev/null || true
    wait "$nginx_pid" 2> /dev/null || true  # the master exits after its workers
  fi
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/ports.sh"
listen=$(port) upstream=$(port)
pick_endpoints
# own_run OUT ARGS…: upfault run through the user's nginx, its exit code in $rc, its output in OUT.
# A port taken back from the kernel is free only until someone else binds it (any connect of a
# test running beside this one may get it as its local port): when upfault cannot listen on an
# endpoint port for that reason, the run never started, and it is made again on fresh ports.
own_run() {
  local out=$1; shift
  for attempt in 1 2 3; do
    rc=0
    "$upfault" run "$@" --proxy-url "http://127.0.0.1:$listen" --upstream-port "$upstream" "${endpoint_opts[@]}" \
      --read-timeout 1s --connect-timeout 1s > "$out" 2>&1 || rc=$?
    if [[ $rc == 3 ]] && grep -q "cannot listen on .*-port): Address already in use" "$out"; then
      echo "note: $(grep -m1 'cannot listen' "$out"); again on fresh ports (attempt $attempt)"
      pick_endpoints
      continue
    fi
    return 0
  done
}

# The profile's config without the endpoint routes (its {routes_locations}), as a user would write it.
python3 - "$proxies/nginx/nginx.conf.in" "$work/nginx.conf" <<PY
import re, sys
text = open(sys.argv[1]).read()
text = "\n".join(l for l in text.splitlines() if not l.startswith("error_log "))
assert "{routes_locations}" in text, "the nginx template no longer includes its routes as {routes_locations}"
text = text.replace("daemon off;", "daemon off;\nerror_log stderr notice;")
for k, v in {"workdir": "$work", "listen_port": "$listen", "upstream_port": "$upstream", "user": "$(id -un)",
             "read_timeout_ms": "1000", "connect_timeout_ms": "1000", "routes_locations": ""}.items():
    text = text.replace("{" + k + "}", v)
open(sys.argv[2], "w").write(text)
PY
grep -q "__refused" "$work/nginx.conf" && fail "the endpoint routes were not removed"
# nginx logs "start worker processes" once its listening sockets are open: its log is read as it
# is written (a FIFO), and that line, or the log's end when nginx exits, is the event waited for.
mkfifo "$work/log" "$work/ready"
exec 3<> "$work/ready"  # opened read-write: never blocks; the reader below always writes a word
nginx -c "$work/nginx.conf" -p "$work" -e stderr 2> "$work/log" &
nginx_pid=$!
{ tee "$work/error.log" | { if grep -q -m1 "start worker processes"; then echo ready; else echo ended; fi >&3; cat > /dev/null; }; } \
  < "$work/log" &
read -r -u 3 said
exec 3>&-
[[ $said == ready ]] || fail "nginx did not start: $(tail -5 "$work/error.log")"

own_run "$work/own.txt" "$scenarios" --upstream-protocols http/1.1,https -q --json "$work/own.json"
[[ $rc == 3 ]] || { tail "$work/own.txt"; fail "the run through the user's nginx exited $rc, not 3"; }
grep -Eq "^(PASS|FAIL|ERROR) " "$work/own.txt" && fail "scenarios ran although pre-flight failed"
grep -q "pre-flight: 11 route(s) of the proxy at 127.0.0.1:$listen to fix before a run" "$work/own.txt" ||
  { cat "$work/own.txt"; fail "pre-flight did not name 11 routes to fix"; }
# Each missing route, with the port it must go to (endpoint_opts: --NAME-port PORT pairs).
declare -A port_of
for ((i = 0; i < ${#endpoint_opts[@]}; i += 2)); do port_of[${endpoint_opts[i]}]=${endpoint_opts[i+1]}; done
for want in "/__tls/ reached upfault's plain upstream port: route /__tls/ to https://127.0.0.1:${port_of[--tls-port]} over TLS" \
            "/__refused/ reached upfault's plain upstream port: route /__refused/ to http://127.0.0.1:${port_of[--refused-port]}" \
            "/__blackhole/ reached upfault's plain upstream port: route /__blackhole/ to http://127.0.0.1:${port_of[--blackhole-port]}" \
            "/__accept_close/ reached upfault's plain upstream port: route /__accept_close/ to http://127.0.0.1:${port_of[--accept-close-port]}" \
            "/__accept_reset/ reached upfault's plain upstream port: route /__accept_reset/ to http://127.0.0.1:${port_of[--accept-reset-port]}" \
            "/__tls_expired/ reached upfault's plain upstream port: route /__tls_expired/ to https://127.0.0.1:${port_of[--tls-expired-port]} over TLS"; do
  grep -qF -- "  - $want" "$work/own.txt" || { cat "$work/own.txt"; fail "pre-flight did not say: $want"; }
done
echo "ok: pre-flight named the 11 missing routes with their ports, and nothing ran"

# Detected: /__tls/ is not routed, so https is not run, and saying why; the endpoints still lack routes.
own_run "$work/detect.txt" "$scenarios" -q
[[ $rc == 3 ]] || { tail "$work/detect.txt"; fail "the detecting run exited $rc, not 3"; }
grep -q "pre-flight: 4 route(s)" "$work/detect.txt" && ! grep -q "/__tls/" "$work/detect.txt" ||
  { cat "$work/detect.txt"; fail "detecting the protocols, pre-flight should name the 4 endpoint routes, not /__tls/"; }
# What the config routes (scripted scenarios in HTTP/1.1 and https) runs; https is not run, and says why.
python3 - "$scenarios" > "$work/routed.list" <<'PY'
import pathlib, sys, tomllib
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.toml")):
    up = tomllib.loads(f.read_text()).get("upstream", {})
    if up.get("endpoint", "scripted") == "scripted" and up.get("protocol", "http/1.1") in ("http/1.1", "https"):
        print(f)
PY
mapfile -t routed < "$work/routed.list"
own_run "$work/own2.txt" "${routed[@]}" --json "$work/own.json"
grep -q "NOT-RUN .*needs upstream protocol https.*pre-flight: /__tls/ reached upfault's plain upstream port" \
  "$work/own2.txt" || { grep NOT-RUN "$work/own2.txt"; fail "the https scenarios are not 'not run' with pre-flight's reason"; }
"$upfault" run "${routed[@]}" --proxy nginx -q --json "$work/profile.json" > /dev/null 2>&1 || true

python3 - "$work/own.json" "$work/profile.json" <<'PY'
import json, sys
own = {r["scenario"]: r for r in json.load(open(sys.argv[1]))["results"]}
profile = {r["scenario"]: r for r in json.load(open(sys.argv[2]))["results"]}
bad, judged, https = [], 0, 0
for name, r in own.items():
    if r["verdict"] == "not-run":
        https += 1
        continue
    if r["verdict"] != profile[name]["verdict"]:
        bad.append(f"{name}: {r['verdict']} here, {profile[name]['verdict']} through the profile: {r['reason']}")
    judged += 1
for b in bad:
    print("FAIL:", b)
if judged < 50 or https < 15:
    print(f"FAIL: {judged} judged, {https} not run: the corpus changed under this test")
    sys.exit(1)
if not bad:
    print(f"ok: {judged} scenarios judged as through the profile; {https} https ones not run (not routed)")
sys.exit(1 if bad else 0)
PY
echo PASS
