#!/usr/bin/env bash
# `upfault routes NAME` is pasted into a real config that already proxies to an HTTPS upstream of
# its own (another CA, no verification): that route must answer exactly as before the paste. The
# routes' TLS settings (upfault's CA, its server name, verification) belong to upfault's own
# locations and backends; a server-level directive would be inherited by the user's route, whose
# origin then fails verification (nginx: 502 "upstream SSL certificate verify error").
# Each proxy runs twice from its profile's template with the user's HTTPS route added: without the
# routes, then with them; the origin is `openssl s_server -www` with a self-signed certificate.
# Usage: routes_paste_test.sh UPFAULT PROXIES_DIR [NAME…] (default: nginx haproxy apache)
set -euo pipefail
upfault=$(realpath "$1") proxies=$(realpath "$2")
shift 2
names=("$@")
(($# > 0)) || names=(nginx haproxy apache)
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/ports.sh"

# The user's own HTTPS origin: a certificate of its own, for 127.0.0.1 (mod_ssl checks the name
# even without verification). s_server prints ACCEPT once it listens (polled, at most 30 s).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=realapp.internal \
  -addext "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1" -keyout "$work/origin.key" -out "$work/origin.pem" 2> /dev/null
start_origin() {
  origin=$(port)
  openssl s_server -www -accept "127.0.0.1:$origin" -cert "$work/origin.pem" -key "$work/origin.key" \
    > "$work/origin.out" 2>&1 < /dev/null &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 300); do
    grep -q '^ACCEPT' "$work/origin.out" && return 0
    kill -0 "$pid" 2> /dev/null || return 1
    sleep 0.1
  done
  return 1
}
start_origin || start_origin || fail "openssl s_server did not start"

# render NAME WITH_ROUTES OUT: the profile's template with the user's HTTPS route, and with or
# without the routes as `upfault routes` prints them (each part in place of its {routes_PART}).
render() {
  local name=$1 with=$2 out=$3
  if [[ $with == 1 ]]; then
    "$upfault" routes "$name" --upstream-port "$upstream" "${endpoint_opts[@]}" --tls-dir "$work/ca" > "$work/routes.txt"
  else
    : > "$work/routes.txt"
  fi
  python3 - "$proxies/$name" "$name" "$work/routes.txt" "$out" "$work" "$listen" "$upstream" "$origin" <<'PY'
import glob, os, pathlib, re, sys
profile, name, routes, out, work, listen, upstream, origin = sys.argv[1:]
template = next(p for p in glob.glob(profile + "/*.in"))
text = pathlib.Path(template).read_text()
# The parts `upfault routes` printed: "# routes_PART: where" and the lines up to a blank one.
parts, current = {}, None
for line in pathlib.Path(routes).read_text().splitlines():
    m = re.match(r"# (routes_[a-z_]+): ", line)
    if m: current = m.group(1); parts[current] = []; continue
    if current and not line.strip(): current = None; continue
    if current: parts[current].append(line)
placeholders = set(re.findall(r"\{(routes_[a-z_]+)\}", text))
if parts and set(parts) != placeholders:
    sys.exit(f"FAIL: upfault routes printed {sorted(parts)}, the template has {sorted(placeholders)}")
# The user's own route to an HTTPS origin, no verification (each proxy's default), placed as a
# user would: beside their other routes, not inside what they pasted.
own = {
    "nginx": ("        location / { proxy_pass http://scripted; }",
              "        location /realapp/ { proxy_pass https://127.0.0.1:ORIGIN/; }\n"),
    "haproxy": ("{routes_frontend}",
                "    use_backend realapp if { path_beg /realapp/ }\n"),
    "apache": ("{routes_proxypass}",
               "SSLProxyEngine on\nProxyPass /realapp/ https://127.0.0.1:ORIGIN/ retry=0\n"),
}[name]
assert own[0] in text, f"the {name} template changed: no {own[0]!r}"
text = text.replace(own[0], own[1].replace("ORIGIN", origin) + own[0], 1)
if name == "haproxy":
    text += f"\nbackend realapp\n    server origin 127.0.0.1:{origin} ssl verify none\n"
os.makedirs(f"{work}/{name}", exist_ok=True)
values = {"workdir": f"{work}/{name}", "listen_port": listen, "upstream_port": upstream, "user": os.environ["USER_NAME"],
          "read_timeout_ms": "5000", "connect_timeout_ms": "5000", "read_timeout_s": "5", "connect_timeout_s": "5"}
for p in placeholders: values[p] = "\n".join(parts.get(p, [])) + "\n"
text = re.sub(r"\{([a-z_]+)\}", lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text)
left = re.findall(r"\{[a-z_]+\}", text)
if left: sys.exit(f"FAIL: placeholders left in the {name} config: {left}")
pathlib.Path(out).write_text(text)
PY
}

start_proxy() {  # start_proxy NAME CONF: in the foreground of its own, its pid in $proxy_pid
  case $1 in
    nginx) nginx -p "$work/nginx" -c "$2" -e "$work/nginx/error.log" > "$work/proxy.log" 2>&1 & ;;
    haproxy) haproxy -db -f "$2" > "$work/proxy.log" 2>&1 & ;;
    apache) apache2 -DFOREGROUND -f "$2" > "$work/proxy.log" 2>&1 & ;;
  esac
  proxy_pid=$!
  pids+=("$proxy_pid")
}
stop_proxy() { kill -TERM "$proxy_pid" 2> /dev/null || true; wait "$proxy_pid" 2> /dev/null || true; }

# ask: the status and body of GET /realapp/ through the proxy, once it accepts connections (curl
# exit 7: refused; the proxy is polled while it starts, at most 30 s, and must still be running).
ask() {
  local rc
  for _ in $(seq 300); do
    rc=0
    curl -s -o "$work/body" -w '%{http_code}' --max-time 20 "http://127.0.0.1:$listen/realapp/" > "$work/status" || rc=$?
    [[ $rc == 7 ]] || break
    kill -0 "$proxy_pid" 2> /dev/null || return 1
    sleep 0.1
  done
  [[ $rc == 0 ]]
}

# A relative --tls-dir (a CI workspace's) is printed as an absolute path: a proxy would resolve a
# relative one against its own prefix.
(cd "$work" && "$upfault" routes nginx --upstream-port 9000 --tls-dir ci-ca) > "$work/relative.txt"
grep -qF "proxy_ssl_trusted_certificate $work/ci-ca/ca.pem;" "$work/relative.txt" ||
  { grep -m1 trusted "$work/relative.txt"; fail "a relative --tls-dir is not printed as $work/ci-ca/ca.pem"; }
[[ -s $work/ci-ca/ca.pem ]] || fail "routes --tls-dir ci-ca made no CA there"

export USER_NAME=$(id -un)
for proxy in "${names[@]}"; do
  case $proxy in nginx) bin=nginx ;; haproxy) bin=haproxy ;; apache) bin=apache2 ;; *) fail "no such proxy here: $proxy" ;; esac
  if ! command -v "$bin" > /dev/null; then
    [[ "${UPFAULT_REQUIRE_PROXIES:-}" == 1 ]] && fail "$bin is not installed"
    echo "SKIP: $proxy ($bin is not installed)"; continue
  fi
  statuses=()
  for with in 0 1; do
    for attempt in 1 2 3; do  # a port from the kernel may be taken again before the proxy binds it
      listen=$(port) upstream=$(port)
      pick_endpoints
      render "$proxy" "$with" "$work/$proxy.conf"
      start_proxy "$proxy" "$work/$proxy.conf"
      if ask; then break; fi
      stop_proxy
      grep -qi "address already in use" "$work/proxy.log" "$work/$proxy"/*.log 2> /dev/null ||
        { cat "$work/proxy.log"; fail "$proxy did not start ($([[ $with == 1 ]] && echo with || echo without) the routes)"; }
    done
    status=$(cat "$work/status")
    # The origin's page echoes its command line: a 200 from anywhere else is not the route's.
    [[ $status != 200 ]] || grep -q "s_server" "$work/body" || { cat "$work/body"; fail "$proxy: a 200 not from the origin"; }
    stop_proxy
    statuses+=("$status")
  done
  [[ ${statuses[0]} == 200 ]] || fail "$proxy: the user's HTTPS route answers ${statuses[0]} before the paste (the test's config)"
  if [[ ${statuses[1]} != 200 ]]; then
    grep -i "ssl\|verif\|certif" "$work/$proxy"/*.log 2> /dev/null | tail -3
    fail "$proxy: the user's HTTPS route answered ${statuses[1]} after pasting upfault's routes (200 before)"
  fi
  echo "ok: $proxy: the user's HTTPS route answers 200 before and after pasting 'upfault routes $proxy'"
done
echo PASS
