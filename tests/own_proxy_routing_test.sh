#!/usr/bin/env bash
# A user's own nginx whose config routes only `/` to upfault's upstream: every endpoint scenario
# (refused, blackhole, accept-close, accept-reset) reaches the scripted upstream instead of its
# endpoint, and must be an `error` naming the route to add, never a verdict about nginx; every
# other scenario is judged exactly as through the nginx profile (the same config with the routes).
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
[[ $rc == 1 ]] || { tail "$work/own.txt"; fail "the run through the user's nginx exited $rc, not 1"; }
"$upfault" run "$scenarios" --proxy nginx -q --json "$work/profile.json" > /dev/null 2>&1 || true
# HTTP/2 scenarios are not run here (http/1.1 and https only): the comparison is of the rest.

python3 - "$scenarios" "$work/own.json" "$work/profile.json" <<'PY'
import json, pathlib, sys, tomllib
endpoints = {}
for f in pathlib.Path(sys.argv[1]).rglob("*.toml"):
    t = tomllib.loads(f.read_text())
    up = t.get("upstream", {})
    e, proto = up.get("endpoint", "scripted"), up.get("protocol", "http/1.1")
    # The prefix the user's config does not route (their config routes only /), or None.
    endpoints[t["name"]] = ("/__" + e.replace("-", "_") + "/" if e != "scripted" else
                            {"https": "/__tls/", "h2c": "/__h2c/", "h2": "/__h2/"}.get(proto))
own = {r["scenario"]: r for r in json.load(open(sys.argv[2]))["results"]}
profile = {r["scenario"]: r for r in json.load(open(sys.argv[3]))["results"]}
bad, routed, judged = [], 0, 0
for name, r in own.items():
    prefix = endpoints[name]
    if r["verdict"] == "not-run":
        continue  # HTTP/2: not asked for
    if prefix:
        if r["verdict"] != "error" or f"must route {prefix}" not in r["reason"]:
            bad.append(f"{name}: {r['verdict']}: {r['reason']}")
        routed += 1
    else:
        if r["verdict"] != profile[name]["verdict"]:
            bad.append(f"{name}: {r['verdict']} here, {profile[name]['verdict']} through the profile: {r['reason']}")
        judged += 1
for b in bad:
    print("FAIL:", b)
if routed == 0 or judged == 0:
    bad.append("the corpus has no endpoint or no scripted scenario")
    print("FAIL: the corpus has no endpoint or no scripted scenario")
if not bad:
    print(f"{routed} endpoint scenarios are setup errors with the route to add; {judged} others judged as through the profile")
sys.exit(1 if bad else 0)
PY
# A run whose only non-passes are these setup errors is red (exit 1), never green.
own_run "$work/errors.txt" "$scenarios/connection/connection-refused.toml" -q --json "$work/errors.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if s["error"]==1 and s["fail"]==0 and s["pass"]==0 else 1)' \
  "$work/errors.json" || fail "the misrouted scenario was not a lone error"
[[ $rc == 1 ]] || { cat "$work/errors.txt" "$work/errors.json"; fail "a run of errors only exited $rc, not 1"; }
echo "ok: a run whose only non-pass is an error exits 1"
echo PASS
