#!/usr/bin/env bash
# HAProxy proxying to an h2c upstream (`proto h2`), two upstreams side by side in one run (issue 27):
#   upfault        upfault serve's scripted port, scenario h2-ok-200-baseline
#   nginx-origin   nginx as the h2c origin (`listen … http2`, `return 200`), the anchor
# Each proxy is its own HAProxy (1 thread); proxies and upstreams on core 0, wrk (-t1 -c16) on
# core 1; runs alternate. HAProxy pools and multiplexes its h2 connections to the upstream.
# Prints one line per run: "run N UPSTREAM REQ/S ERRORS USER_TICKS SYSTEM_TICKS" (the upstream's CPU
# during the run, nginx's master and worker together).
#
#   bench/h2_upstream.sh [BUILD_DIR]   (default build/release)   RUNS=5 SECS=5
#
# Loopback only, ports from the kernel; stops only what it started, by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UF=${1:-$ROOT/build/release}/bin/upfault
RUNS=${RUNS:-5}; SECS=${SECS:-5}
W=$(mktemp -d /tmp/h2b.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf $W' EXIT
source "$ROOT/bench/upstream_lib.sh"
taskset -c 0 $UF serve --quiet --threads 1 $ROOT/scenarios/http2 >$W/serve.log 2>&1 & PIDS+=($!); SERVE_PID=$!
for _ in $(seq 200); do grep -q 'http://' $W/serve.log && break; sleep 0.05; done  # every port bound by then
UP=$(grep -o 'http://127.0.0.1:[0-9]*' $W/serve.log | head -1 | cut -d: -f3)
OR=$(port); PX1=$(port); PX2=$(port)
mkdir -p $W/o
cat > $W/o/nginx.conf <<C
daemon off; worker_processes 1; error_log $W/o/err.log; pid $W/o/pid;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$OR http2; keepalive_requests 100000;
  location / { default_type text/plain; add_header X-Upstream h2; return 200 "hello over h2\n"; } } }
C
for i in 1 2; do pp=PX$i; cat > $W/p$i.cfg <<C
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:${!pp}
  default_backend b
backend b
  server s 127.0.0.1:$(case $i in 1) echo $UP;; 2) echo $OR;; esac) proto h2
C
done
taskset -c 0 nginx -p $W/o -c $W/o/nginx.conf -e $W/o/err.log & PIDS+=($!); ORIGIN_PID=$!
taskset -c 0 haproxy -q -f $W/p1.cfg & PIDS+=($!)
taskset -c 0 haproxy -q -f $W/p2.cfg & PIDS+=($!)
for p in $UP $OR $PX1 $PX2; do wait_port $p; done
PATHQ=/__h2c/__upfault/h2-ok-200-baseline/
curl -s -o /dev/null -w "check upfault %{http_code}\n" http://127.0.0.1:$PX1$PATHQ
curl -s -o /dev/null -w "check nginx %{http_code}\n" http://127.0.0.1:$PX2$PATHQ
UPIDS=($SERVE_PID $ORIGIN_PID)
for r in $(seq $RUNS); do
  for i in 1 2; do pp=PX$i
    echo "run $r $(case $i in 1) echo upfault;; 2) echo nginx-origin;; esac) $(measure http://127.0.0.1:${!pp}$PATHQ ${UPIDS[$((i - 1))]})"
  done
done
