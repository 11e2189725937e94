#!/usr/bin/env bash
# A proxy whose routes reach upfault's TLS ports in plain HTTP (proxy_pass http:// where https://
# was meant): pre-flight names each of those routes, with the port and the fix, and nothing runs
# (exit 3) — the TLS fault would never reach the proxy as written, and a certificate scenario would
# otherwise pass on the 502 of a failed plain exchange. The same scenarios through routes over
# TLS are judged as usual. The proxy: upfault's reference proxy, routed by --route.
# Usage: plain_on_tls_test.sh UPFAULT REFERENCE_PROXY SCENARIOS_DIR
set -euo pipefail
upfault=$1 refproxy=$2 scenarios=$3
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
proxy_pid=
stop_proxy() {
  [[ -z $proxy_pid ]] || { kill "$proxy_pid" 2> /dev/null || true; wait "$proxy_pid" 2> /dev/null || true; }
  proxy_pid=
}
cleanup() { stop_proxy; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/ports.sh"
test_argv=("$@")
upstream=$(port)
pick_endpoints
for ((i = 0; i < ${#endpoint_opts[@]}; i += 2)); do  # the two TLS ports the routes name
  [[ ${endpoint_opts[i]} == --tls-port ]] && tls=${endpoint_opts[i + 1]}
  [[ ${endpoint_opts[i]} == --tls-expired-port ]] && expired=${endpoint_opts[i + 1]}
done

# judge SCHEME OUT: the two scenarios through a reference proxy whose TLS routes use SCHEME.
judge() {
  local scheme=$1 out=$2
  local log=$work/log.${scheme%%:*}
  mkfifo "$log"
  "$refproxy" --listen 127.0.0.1:0 --upstream "127.0.0.1:$upstream" --ca "$work/ca/ca.pem" \
    --route "/__tls/=${scheme}127.0.0.1:$tls" --route "/__tls_expired/=${scheme}127.0.0.1:$expired" \
    2> "$log" &
  proxy_pid=$!
  exec 3< "$log"
  read -r -u 3 line || fail "the reference proxy did not start"
  cat <&3 > /dev/null &
  exec 3<&-
  local listen=${line##*:}
  rc=0
  "$upfault" run "$scenarios/tls/tls-ok-200-passthrough.toml" "$scenarios/tls/tls-cert-expired.toml" \
    --proxy-url "http://127.0.0.1:$listen" --upstream-port "$upstream" "${endpoint_opts[@]}" \
    --upstream-protocols http/1.1,https --tls-dir "$work/ca" --proxy-name "our ref" --json "$out" > "$out.txt" 2>&1 || rc=$?
  again_if_taken "$out.txt"
  stop_proxy
}
"$upfault" routes nginx --upstream-port "$upstream" --tls-dir "$work/ca" > /dev/null  # makes the CA

judge "" "$work/plain.json"
[[ $rc == 3 ]] || { cat "$work/plain.json.txt"; fail "plain routes to the TLS ports: exit $rc, not 3"; }
grep -Eq "^(PASS|FAIL|ERROR) " "$work/plain.json.txt" && fail "scenarios ran although pre-flight failed"
grep -q "pre-flight: 2 route(s)" "$work/plain.json.txt" || { cat "$work/plain.json.txt"; fail "not 2 routes named"; }
for want in "/__tls/: the proxy sent plain HTTP to upfault's TLS port for /__tls/ (127.0.0.1:$tls, --tls-port)" \
            "/__tls_expired/: the proxy sent plain HTTP to upfault's TLS port for /__tls_expired/ (127.0.0.1:$expired, --tls-expired-port)"; do
  grep -qF -- "$want" "$work/plain.json.txt" || { cat "$work/plain.json.txt"; fail "pre-flight did not say: $want"; }
done
echo "ok: plain HTTP to the TLS ports: pre-flight names both routes and their ports; nothing ran"

judge "https://" "$work/tls.json"
[[ $rc == 0 ]] || { cat "$work/tls.json.txt"; fail "routes over TLS: exit $rc, not 0"; }
grep -q "plain HTTP" "$work/tls.json" && fail "a setup error through routes over TLS"
grep -q '"name": *"our ref"' "$work/tls.json" || fail "the report does not call the proxy by --proxy-name"
echo "ok: through routes over TLS both pass"
echo PASS
