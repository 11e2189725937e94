#!/usr/bin/env bash
# The README's "Test your own proxy" path, end to end, as a team would walk it: a plain nginx
# config for one's own app; the lines `upfault routes nginx` prints pasted into it; the suite run
# through it (every scenario judged: none is a setup error); a baseline recorded; a rerun green;
# the config changed the way a team might (an error page for 5xx); a rerun red, naming the
# scenario that changed. Then the same config as a profile (routes = "nginx", {routes_locations}):
# upfault starts it, and leaves the user's file as it was.
# Usage: adoption_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
fail() { echo "FAIL: $*"; exit 1; }
command -v nginx > /dev/null || fail "nginx is not installed (scripts/install-deps.sh --proxies nginx installs it)"
work=$(mktemp -d)
nginx_pid=
stop_nginx() {
  if [[ -n $nginx_pid ]]; then
    kill -TERM "$nginx_pid" 2> /dev/null || true
    wait "$nginx_pid" 2> /dev/null || true  # the master exits after its workers
    nginx_pid=
  fi
}
cleanup() { stop_nginx; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/ports.sh"
test_argv=("$@")
# Every port from the kernel; the endpoint ports given explicitly (the default, P+1…P+4, is
# tested in the unit tests: here nothing may depend on a neighbour port being free).
ports=($(python3 -c '
import socket
ss = [socket.socket() for _ in range(15)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
listen=${ports[0]} app=${ports[1]}
endpoint_opts=()
i=2
for name in refused blackhole accept-close accept-reset tls tls-h2 tls-stall tls-garbage tls-alert tls-expired \
            tls-wrong-name tls-untrusted; do
  endpoint_opts+=("--$name-port" "${ports[$i]}")
  i=$((i + 1))
done

# 1. The team's own config: its app behind nginx, nothing of upfault in it. ($1: extra lines.)
write_config() {
  cat > "$work/app.conf" <<CONF
daemon off;
worker_processes 1;
user $(id -un);
pid $work/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/client_body;
    proxy_temp_path $work/proxy_temp;
    fastcgi_temp_path $work/fastcgi_temp;
    uwsgi_temp_path $work/uwsgi_temp;
    scgi_temp_path $work/scgi_temp;
    upstream app { server 127.0.0.1:$app; keepalive 8; }
    server {
        listen 127.0.0.1:$listen;
        proxy_connect_timeout 1s;
        proxy_read_timeout 1s;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / { proxy_pass http://app; }
$1
# upfault routes go here
    }
}
CONF
  # 2. Paste what upfault routes prints where the marker is.
  python3 - "$work/app.conf" "$work/routes.txt" <<'PY'
import sys
conf, routes = sys.argv[1], open(sys.argv[2]).read()
text = open(conf).read()
assert "# upfault routes go here" in text
open(conf, "w").write(text.replace("# upfault routes go here", routes))
PY
}
start_nginx() {
  rm -f "$work/log" "$work/ready"
  mkfifo "$work/log" "$work/ready"
  exec 3<> "$work/ready"  # read-write: never blocks; the reader below always writes a word
  nginx -c "$work/app.conf" -p "$work" -e stderr 2> "$work/log" &
  nginx_pid=$!
  { tee "$work/error.log" | { if grep -q -m1 "start worker processes"; then echo ready; else echo ended; fi >&3
                              cat > /dev/null; }; } < "$work/log" &
  local said; read -r -u 3 said
  exec 3>&-
  [[ $said == ready ]] || fail "nginx did not start: $(tail -5 "$work/error.log")"
}
# run WANT WHAT ARGS…: upfault run through the team's nginx must exit WANT.
run() {
  local want=$1 what=$2 rc=0; shift 2
  "$upfault" run "$scenarios" --proxy-url "http://127.0.0.1:$listen" --upstream-port "$app" "${endpoint_opts[@]}" \
    --read-timeout 1s --connect-timeout 1s -q "$@" > "$work/out.txt" 2>&1 || rc=$?
  again_if_taken "$work/out.txt"
  [[ $rc == "$want" ]] || { tail -n 12 "$work/out.txt"; fail "$what: exit $rc, not $want"; }
  echo "ok: $what → $rc"
}

"$upfault" routes nginx --upstream-port "$app" "${endpoint_opts[@]}" > "$work/routes.txt" \
  || fail "upfault routes nginx failed"
grep -q "location /__refused/ .*127.0.0.1:${ports[2]};" "$work/routes.txt" || fail "no /__refused/ route to ${ports[2]}"
write_config ""
start_nginx

# 3. The suite through it: nginx fails some scenarios (findings), but none is a setup error.
run 0 "the first run through the team's nginx finds nginx's deviations, recorded as the baseline (exit 0)" \
  --json "$work/first.json" --write-baseline "$work/baseline.json"
python3 - "$work/first.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
errors = [f"{r['scenario']}: {r['reason']}" for r in results if r["verdict"] == "error"]
failed = [r for r in results if r["verdict"] == "fail"]
routed = [r for r in results if r["scenario"] in ("connection-refused", "accept-then-close", "blackhole-connect-timeout")]
if errors: sys.exit("FAIL: setup errors with the pasted routes: " + "; ".join(errors))
if len(routed) != 3 or any(r["verdict"] == "error" for r in routed): sys.exit("FAIL: the endpoint scenarios did not run")
if not failed: sys.exit("FAIL: nginx failed nothing, so the baseline below would prove nothing")
print(f"{len(results)} scenarios judged, {len(failed)} failures recorded, no setup error")
PY

# 4. Baseline: the same nginx is green, twice.
run 0 "the rerun against the baseline is green" --baseline "$work/baseline.json"
grep -q "known failures as recorded, 0 changes" "$work/out.txt" || fail "the green run does not say why"
run 0 "and stays green" --baseline "$work/baseline.json"

# 5. A change to the config: 5xx answers replaced by an error page of the team's own.
stop_nginx
write_config '        proxy_intercept_errors on;
        error_page 500 = @maintenance;
        location @maintenance { return 503 "down for maintenance\n"; }'
start_nginx
run 1 "the changed config is red against the baseline" --baseline "$work/baseline.json"
grep -q "baseline: new failure upstream-500-passthrough: pass → fail: 503" "$work/out.txt" \
  || { cat "$work/out.txt"; fail "the red run does not name upstream-500-passthrough and what it does now"; }
stop_nginx

# 6. The same config kept as the team's file, started by upfault through a profile that takes the
# nginx profile's routes: the file is read, rendered into upfault's work dir, never rewritten.
sed -e "s/127.0.0.1:$listen;/127.0.0.1:{listen_port};/" -e "s/127.0.0.1:$app;/127.0.0.1:{upstream_port};/" \
  -e "s|$work|{workdir}|g" "$work/app.conf" > "$work/app.conf.in"
python3 - "$work/app.conf.in" <<'PY'
import re, sys
p = sys.argv[1]
text = open(p).read()
start, end = text.index("# upfault's endpoint routes"), text.index("    }\n}")
open(p, "w").write(text[:start] + "{routes_locations}\n" + text[end:])
PY
cp "$work/app.conf.in" "$work/app.conf.in.orig"
cat > "$work/profile.toml" <<TOML
name = "our-nginx"
command = ["nginx", "-p", "{workdir}", "-c", "{workdir}/app.conf", "-e", "{workdir}/error.log"]
config = "$work/app.conf.in"
routes = "nginx"
error_log = "{workdir}/error.log"
[timeouts]
read = "1s"
connect = "1s"
TOML
rc=0
"$upfault" run "$scenarios" --proxy "$work/profile.toml" -f category:connection -q --json "$work/profile.json" \
  > "$work/out.txt" 2>&1 || rc=$?
[[ $rc == 0 || $rc == 1 ]] || { tail "$work/out.txt"; fail "the profile run exited $rc"; }
python3 - "$work/profile.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
errors = [f"{r['scenario']}: {r['reason']}" for r in results if r["verdict"] == "error"]
if not results or errors: sys.exit("FAIL: the profile run: " + ("; ".join(errors) or "no results"))
print(f"the profile with routes = \"nginx\" judged {len(results)} connection scenarios, no setup error")
PY
cmp -s "$work/app.conf.in" "$work/app.conf.in.orig" || fail "upfault rewrote the team's own config file"
echo PASS
