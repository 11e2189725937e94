#!/usr/bin/env bash
# nginx proxying to an HTTPS upstream, three upstreams side by side in one run (issue 27):
#   upfault-resumable        upfault serve's tls port (valid certificate, sessions resumable)
#   nginx-origin             nginx as the origin (`return 200`, ssl_session_cache), the anchor
#   upfault-full-handshakes  upfault serve's tls-expired port (a full handshake on every connection;
#                            nginx's proxy_ssl_verify is off by default, so it is served)
# Each proxy is its own nginx (1 worker); proxies and upstreams on core 0, wrk (-t1 -c16) on core 1;
# runs alternate. KEEPALIVE=1 pools upstream connections (keepalive 64); else a connection, and a
# handshake, per request. Prints one line per run: "run N UPSTREAM REQ/S ERRORS USER_TICKS
# SYSTEM_TICKS" (the upstream's CPU during the run, nginx's master and worker together; the two
# upfault ports are one process, so its ticks in a run count only that run's port's traffic).
#
#   bench/tls_upstream.sh [BUILD_DIR]   (default build/release)   RUNS=5 SECS=5 KEEPALIVE=0|1
#
# Loopback only, ports from the kernel; stops only what it started, by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UF=${1:-$ROOT/build/release}/bin/upfault
RUNS=${RUNS:-5}; SECS=${SECS:-5}; KEEPALIVE=${KEEPALIVE:-0}
W=$(mktemp -d /tmp/tlsb.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf $W' EXIT
source "$ROOT/bench/upstream_lib.sh"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $W/key.pem -out $W/cert.pem -days 2 -subj /CN=origin 2>/dev/null
UP=$(port); UPF=$(port); OR=$(port); PX1=$(port); PX2=$(port); PX3=$(port)
taskset -c 0 $UF serve --quiet --threads 1 $ROOT/scenarios/tls --tls-port $UP --tls-expired-port $UPF >$W/serve.log 2>&1 & PIDS+=($!); SERVE_PID=$!
ka=""; [[ $KEEPALIVE == 1 ]] && ka="keepalive 64;"
kah=""; [[ $KEEPALIVE == 1 ]] && kah='proxy_http_version 1.1; proxy_set_header Connection "";'
mkdir -p $W/o $W/p1 $W/p2 $W/p3
cat > $W/o/nginx.conf <<C
daemon off; worker_processes 1; error_log $W/o/err.log; pid $W/o/pid;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$OR ssl; ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem;
  ssl_session_cache shared:S:1m; keepalive_requests 100000;
  location / { default_type text/plain; add_header X-Origin upfault-tls; return 200 "hello over TLS\n"; } } }
C
for i in 1 2 3; do pp=PX$i; cat > $W/p$i/nginx.conf <<C
daemon off; worker_processes 1; error_log $W/p$i/err.log; pid $W/p$i/pid;
events { worker_connections 4096; }
http { access_log off; upstream u { server 127.0.0.1:$(case $i in 1) echo $UP;; 2) echo $OR;; 3) echo $UPF;; esac); $ka }
  server { listen 127.0.0.1:${!pp}; location / { proxy_pass https://u; $kah proxy_ssl_session_reuse on; } } }
C
done
taskset -c 0 nginx -p $W/o -c $W/o/nginx.conf -e $W/o/err.log & PIDS+=($!); ORIGIN_PID=$!
taskset -c 0 nginx -p $W/p1 -c $W/p1/nginx.conf -e $W/p1/err.log & PIDS+=($!)
taskset -c 0 nginx -p $W/p2 -c $W/p2/nginx.conf -e $W/p2/err.log & PIDS+=($!)
taskset -c 0 nginx -p $W/p3 -c $W/p3/nginx.conf -e $W/p3/err.log & PIDS+=($!)
for p in $UP $UPF $OR $PX1 $PX2 $PX3; do wait_port $p; done
PATHQ=/__tls/__upfault/tls-ok-200-passthrough/
PATHF=/__tls_expired/__upfault/tls-cert-expired/
curl -s -o /dev/null -w "check upfault %{http_code}\n" http://127.0.0.1:$PX1$PATHQ
curl -s -o /dev/null -w "check nginx %{http_code}\n" http://127.0.0.1:$PX2$PATHQ
curl -s -o /dev/null -w "check full %{http_code}\n" http://127.0.0.1:$PX3$PATHF
UPIDS=($SERVE_PID $ORIGIN_PID $SERVE_PID)
for r in $(seq $RUNS); do
  for i in 1 2 3; do pp=PX$i
    p=$PATHQ; [[ $i == 3 ]] && p=$PATHF
    echo "run $r $(case $i in 1) echo upfault-resumable;; 2) echo nginx-origin;; 3) echo upfault-full-handshakes;; esac) $(measure http://127.0.0.1:${!pp}$p ${UPIDS[$((i - 1))]})"
  done
done
