#!/usr/bin/env bash
# Side-by-side throughput and latency measurements on this machine, written to bench/RESULTS.md.
#
#   bench/compare.sh [BUILD_DIR]      (default: build/release; build it with
#                                      cmake --preset release && cmake --build --preset release)
#
# Environment: RUNS (runs per figure, median reported; default 5), SECONDS_PER_RUN (default 5),
# WARMUP (seconds of untimed load before each run; default 1), OUT (default bench/RESULTS.md).
#
# Everything listens on 127.0.0.1, on ports the kernel picks. Servers are pinned to core 0 and
# load generators to core 1 (taskset), so they do not share a core. Only processes this script
# started are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
UF=$BUILD/bin/upfault
RUNS=${RUNS:-5}
SECS=${SECONDS_PER_RUN:-5}
WARMUP=${WARMUP:-1}
OUT=${OUT:-$ROOT/bench/RESULTS.md}
NCPU=$(nproc)
SERVER_CPU=0
LOAD_CPU=$((NCPU > 1 ? 1 : 0))

for tool in "$UF" wrk nginx taskset python3; do
  command -v "$tool" >/dev/null || [[ -x "$tool" ]] || { echo "compare.sh: $tool is missing" >&2; exit 2; }
done
NGINX=$(command -v nginx)

WORK=$(mktemp -d /tmp/upfault-compare.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[compare] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:]]; print(statistics.median(v) if v else 0)' "$@"; }
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f"{a/b:.2f}" if b else "n/a")' "$1" "$2"; }
fmt_ms() { python3 -c 'import sys; v=float(sys.argv[1]); print(f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.3f}")' "$1"; }
fmt_int() { python3 -c 'import sys; print(f"{float(sys.argv[1]):,.0f}")' "$1"; }
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); 
for k in sys.argv[2].split("/"): d=d[k]
print(d)' "$1" "$2"; }

wait_port() {  # wait until 127.0.0.1:$1 accepts
  for _ in $(seq 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "compare.sh: nothing listens on 127.0.0.1:$1" >&2; exit 3
}

# upfault serve on core 0; sets SERVE_PID and SERVE_URL.
start_serve() {
  taskset -c $SERVER_CPU "$UF" serve --quiet --threads 1 "$ROOT/bench/scenarios" >"$WORK/serve.out" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  for _ in $(seq 100); do grep -q 'http://' "$WORK/serve.out" 2>/dev/null && break; sleep 0.05; done
  SERVE_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.out" | head -1)
}
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }  # user and system CPU ticks of a process
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# nginx with one worker answering `return 200` on core 0; sets NGINX_PID and NGINX_URL.
start_nginx() {
  local port; port=$(free_port)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "hello, world\n"; }
  }
}
EOF
  taskset -c $SERVER_CPU "$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_port "$port"
  NGINX_URL="http://127.0.0.1:$port"
}

# wrk on core 1: prints "requests_per_second p50_ms p99_ms".
run_wrk() {
  local url=$1
  taskset -c $LOAD_CPU wrk -t1 -c64 -d"${WARMUP}s" "$url" >/dev/null
  taskset -c $LOAD_CPU wrk -t1 -c64 -d"${SECS}s" --latency "$url" >"$WORK/wrk.out"
  python3 - "$WORK/wrk.out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p = {m.group(1): ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
print(rps, p.get("50", 0), p.get("99", 0))
EOF
}

# upfault bench on core 1 with the same shape as the wrk command: prints "rps p50_ms p99_ms".
run_upfault_bench() {
  local url=$1
  taskset -c $LOAD_CPU "$UF" bench --url "$url" -c 64 -t 1 -d "${SECS}s" --warmup "${WARMUP}s" -q --json "$WORK/b.json" >/dev/null
  echo "$(json_get "$WORK/b.json" requests_per_second) $(json_get "$WORK/b.json" latency_ms/p50) $(json_get "$WORK/b.json" latency_ms/p99)"
}

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
nginx_version=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
haproxy_version=$(haproxy -v 2>/dev/null | head -1 | awk '{print $3}' || echo "not installed")
wrk_version=$( (wrk -v 2>&1 || true) | head -1 | awk "{print \$2}")
uf_version=$("$UF" --version)

# --- 1. The fake upstream vs nginx `return 200`, the same wrk command against each -------------
log "1/6 fake upstream vs nginx return 200 (wrk -t1 -c64, $RUNS × ${SECS}s)"
start_serve
start_nginx
up_rps=(); nx_rps=(); up_sys=(); nx_sys=()
sys_share() {  # $1 pid, then the command: prints the share of the process's CPU time spent in the kernel
  local pid=$1; shift
  read -r u0 s0 < <(cpu_ticks "$pid")
  "$@" >"$WORK/cmd.out"
  read -r u1 s1 < <(cpu_ticks "$pid")
  python3 -c 'import sys; u,s=float(sys.argv[1]),float(sys.argv[2]); print(f"{100*s/max(u+s,1):.0f}")' $((u1 - u0)) $((s1 - s0))
}
for i in $(seq "$RUNS"); do  # alternate, so drift on a shared machine hits both alike
  up_sys+=("$(sys_share "$SERVE_PID" run_wrk "$SERVE_URL/__upfault/ok/")"); read -r r _ _ <"$WORK/cmd.out"; up_rps+=("$r")
  nx_sys+=("$(sys_share "$NGINX_PID" run_wrk "$NGINX_URL/")"); read -r r _ _ <"$WORK/cmd.out"; nx_rps+=("$r")
  log "  run $i: upfault serve ${up_rps[-1]} req/s, nginx ${nx_rps[-1]} req/s"
done
UP_RPS=$(median "${up_rps[@]}"); NX_RPS=$(median "${nx_rps[@]}")
RATIO1=$(ratio "$UP_RPS" "$NX_RPS")
UP_SYS=$(median "${up_sys[@]}"); NX_SYS=$(median "${nx_sys[@]}")
stop_pid "$SERVE_PID"

# Instructions per request in user space (callgrind counts instructions, so this does not depend
# on the machine's load): 2,000 requests of warm-up, then 20,000 counted.
UP_INSN=""; NX_INSN=""
if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  log "1b/6 callgrind: instructions per request, fake upstream and nginx"
  insn_per_request() {  # $1: URL path; the rest: the server command
    local path=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$@" >"$WORK/cg.serve" 2>/dev/null &
    local vg=$! url
    PIDS+=("$vg")
    for _ in $(seq 200); do grep -q 'http://' "$WORK/cg.serve" 2>/dev/null && break; [[ -n ${CG_PORT:-} ]] && break; sleep 0.1; done
    url=${CG_PORT:+http://127.0.0.1:$CG_PORT}
    [[ -z $url ]] && url=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/cg.serve" | head -1)
    [[ -n ${CG_PORT:-} ]] && wait_port "$CG_PORT"
    "$UF" bench --url "$url$path" -n 2000 -c 4 -t 1 -q >/dev/null
    callgrind_control -z "$vg" >/dev/null
    "$UF" bench --url "$url$path" -n 20000 -c 4 -t 1 -q >/dev/null
    callgrind_control -d "$vg" >/dev/null
    sleep 1
    kill -KILL "$vg" 2>/dev/null || true; wait "$vg" 2>/dev/null || true
    local f; f=$(ls -S "$WORK"/cg.* | grep -v serve | head -1)
    awk '/^(summary|totals):/ {print int($2 / 20000); exit}' "$f"
    rm -f "$WORK"/cg.*
  }
  UP_INSN=$(CG_PORT="" insn_per_request /__upfault/ok/ "$UF" serve --quiet --threads 1 "$ROOT/bench/scenarios")
  CG_PORT=${NGINX_URL##*:}
  stop_pid "$NGINX_PID"
  NX_INSN=$(CG_PORT=$CG_PORT insn_per_request / "$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log")
  CG_PORT=""
  start_nginx
fi

# --- 2. upfault bench vs wrk against the same nginx ---------------------------------------------
log "2/6 upfault bench vs wrk against nginx return 200 ($RUNS × ${SECS}s)"
ub=(); ub50=(); ub99=(); wk=(); wk50=(); wk99=()
for i in $(seq "$RUNS"); do
  read -r r a b < <(run_upfault_bench "$NGINX_URL/"); ub+=("$r"); ub50+=("$a"); ub99+=("$b")
  read -r r a b < <(run_wrk "$NGINX_URL/"); wk+=("$r"); wk50+=("$a"); wk99+=("$b")
  log "  run $i: upfault bench ${ub[-1]} req/s, wrk ${wk[-1]} req/s"
done
UB=$(median "${ub[@]}"); UB50=$(median "${ub50[@]}"); UB99=$(median "${ub99[@]}")
WK=$(median "${wk[@]}"); WK50=$(median "${wk50[@]}"); WK99=$(median "${wk99[@]}")
RATIO2=$(ratio "$UB" "$WK")
stop_pid "$NGINX_PID"

# --- 3. Constant rate: pacing, and a 1 s upstream stall (SIGSTOP) --------------------------------
RATE=${RATE:-2000}
STALL_SECS=10
log "3/6 constant rate $RATE/s for ${STALL_SECS}s: steady, then with a 1 s stall of the upstream"
start_serve
rate_run() {  # $1: extra args; $2: stall? (yes/no); writes $WORK/rate.json
  taskset -c $LOAD_CPU "$UF" bench --url "$SERVE_URL/__upfault/ok/" -c 16 -t 1 -d "${STALL_SECS}s" $1 -q \
    --json "$WORK/rate.json" >/dev/null &
  local bench=$!
  if [[ $2 == yes ]]; then
    sleep 4; kill -STOP "$SERVE_PID"; sleep 1; kill -CONT "$SERVE_PID"
  fi
  wait "$bench"
}
rate_run "--rate $RATE" no
R_STEADY=$(json_get "$WORK/rate.json" requests_per_second); R_STEADY50=$(json_get "$WORK/rate.json" latency_ms/p50)
R_STEADY99=$(json_get "$WORK/rate.json" latency_ms/p99)
rate_run "--rate $RATE" yes
R_STALL=$(json_get "$WORK/rate.json" requests_per_second); R_STALL50=$(json_get "$WORK/rate.json" latency_ms/p50)
R_STALL99=$(json_get "$WORK/rate.json" latency_ms/p99); R_STALLMAX=$(json_get "$WORK/rate.json" latency_ms/max)
rate_run "" yes  # closed loop, the same stall: latency from send time only
C_STALL50=$(json_get "$WORK/rate.json" latency_ms/p50); C_STALL99=$(json_get "$WORK/rate.json" latency_ms/p99)
C_STALLMAX=$(json_get "$WORK/rate.json" latency_ms/max)
stop_pid "$SERVE_PID"

# --- 4. 10,000 concurrent silent connections held by the fake upstream: peak RSS ----------------
SILENT=${SILENT:-10000}
log "4/6 $SILENT silent connections held by the fake upstream"
start_serve
RSS_IDLE=$(awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status")
taskset -c $LOAD_CPU "$UF" bench --url "$SERVE_URL/__upfault/silent/" -c "$SILENT" -t 1 -d 5s --timeout 60s \
  --connect-timeout 10s -q --json "$WORK/silent.json" >/dev/null
HELD=$(json_get "$WORK/silent.json" in_flight_at_end)
RSS_PEAK=$(awk '/VmHWM/ {print $2}' "/proc/$SERVE_PID/status")
stop_pid "$SERVE_PID"

# --- 5. nginx and HAProxy in front of the fake upstream: healthy traffic with a 10 % silent mix --
log "5/6 nginx and HAProxy: healthy alone, and with 10 % silent (closed loop and constant rate)"
PROXY_ROWS=""
MIX_RATE=${MIX_RATE:-15000}
for proxy in nginx haproxy; do
  if ! "$UF" bench --proxy "$proxy" -n 1 -c 1 -t 1 -q >/dev/null 2>&1; then
    log "  $proxy: not available, skipped"; continue
  fi
  h=(); h99=(); s_rps=(); s50=(); s99=(); m_rps=(); m50=(); m99=(); m504=(); merr=()
  for i in $(seq "$RUNS"); do
    "$UF" bench --proxy "$proxy" -c 64 -t 1 -d "${SECS}s" --warmup "${WARMUP}s" -q --json "$WORK/p.json" >/dev/null
    h+=("$(json_get "$WORK/p.json" healthy/requests_per_second)"); h99+=("$(json_get "$WORK/p.json" healthy/latency_ms/p99)")
    "$UF" bench --proxy "$proxy" --rate "$MIX_RATE" -c 64 -t 1 -d "${SECS}s" --warmup 2s -q --json "$WORK/p.json" >/dev/null
    s_rps+=("$(json_get "$WORK/p.json" healthy/requests_per_second)")
    s50+=("$(json_get "$WORK/p.json" healthy/latency_ms/p50)"); s99+=("$(json_get "$WORK/p.json" healthy/latency_ms/p99)")
    "$UF" bench --proxy "$proxy" --mix ok=90,silent=10 --rate "$MIX_RATE" --side-connections 4000 -c 64 -t 1 \
      -d "${SECS}s" --warmup 2s -q --json "$WORK/p.json" >/dev/null
    m_rps+=("$(json_get "$WORK/p.json" healthy/requests_per_second)")
    m50+=("$(json_get "$WORK/p.json" healthy/latency_ms/p50)"); m99+=("$(json_get "$WORK/p.json" healthy/latency_ms/p99)")
    m504+=("$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["faulty"]["status"].get("504", 0) / d["seconds"])' "$WORK/p.json")")
    merr+=("$(json_get "$WORK/p.json" errors_total)")
    log "  $proxy run $i: healthy alone ${h[-1]} req/s; at $MIX_RATE/s healthy ${s_rps[-1]}, with 10 % silent ${m_rps[-1]}"
  done
  pv=$(json_get "$WORK/p.json" target/proxy_version)
  PROXY_ROWS+="| $proxy $pv | $(fmt_int "$(median "${h[@]}")") | $(fmt_ms "$(median "${h99[@]}")") | $(fmt_int "$(median "${s_rps[@]}")") | $(fmt_ms "$(median "${s50[@]}")") | $(fmt_ms "$(median "${s99[@]}")") | $(fmt_int "$(median "${m_rps[@]}")") | $(fmt_ms "$(median "${m50[@]}")") | $(fmt_ms "$(median "${m99[@]}")") | $(fmt_int "$(median "${m504[@]}")") | $(fmt_int "$(median "${merr[@]}")") |"$'\n'
done

# --- 6. TLS and HTTP/2 upstreams: upfault's against nginx as the origin, through the same proxy --
log "6/6 TLS and h2c upstreams: bench/tls_upstream.sh (a connection per request, then pooled) and bench/h2_upstream.sh"
RUNS=$RUNS SECS=$SECS KEEPALIVE=0 "$ROOT/bench/tls_upstream.sh" "$BUILD" >"$WORK/tls0.out" 2>"$WORK/tls0.err"
RUNS=$RUNS SECS=$SECS KEEPALIVE=1 "$ROOT/bench/tls_upstream.sh" "$BUILD" >"$WORK/tls1.out" 2>"$WORK/tls1.err"
RUNS=$RUNS SECS=$SECS "$ROOT/bench/h2_upstream.sh" "$BUILD" >"$WORK/h2.out" 2>"$WORK/h2.err"
# One Markdown row from a script's "run N NAME REQ/S ERRORS USER SYS" lines: upfault's upstream
# NAME against the anchor, the ratio the median of each run's upfault ÷ anchor, and each upstream's
# CPU (kernel share, and microseconds per request).
upstream_row() {  # $1 label, $2 file, $3 upfault's NAME, $4 the anchor's NAME
  python3 - "$@" "$SECS" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
label, path, mine, anchor, secs, tck = sys.argv[1:7]
runs = {}
for line in open(path):
    f = line.split()
    if len(f) == 7 and f[0] == "run":
        runs.setdefault(f[2], {})[f[1]] = (float(f[3]), int(f[4]), int(f[5]), int(f[6]))
def med(name, i): return statistics.median(r[i] for r in runs[name].values())
def cpu(name):
    per = [(u + s) / float(tck) * 1e6 / max(rps * float(secs), 1) for rps, _, u, s in runs[name].values()]
    share = [100 * s / max(u + s, 1) for _, _, u, s in runs[name].values()]
    return f"{statistics.median(per):.0f} µs, {statistics.median(share):.0f} % kernel"
ratio = statistics.median(runs[mine][k][0] / runs[anchor][k][0] for k in runs[mine] if runs[anchor].get(k, (0,))[0])
errors = sum(r[1] for r in runs[mine].values())
print(f"| {label} | {med(mine, 0):,.0f} | {med(anchor, 0):,.0f} | **{ratio:.2f}** | {errors} | {cpu(mine)} | {cpu(anchor)} |")
PY
}
UPSTREAM_ROWS="$(upstream_row "nginx → HTTPS upstream, a connection (and a handshake) per request" "$WORK/tls0.out" upfault-resumable nginx-origin)
$(upstream_row "nginx → HTTPS upstream, pooled (\`keepalive 64\`)" "$WORK/tls1.out" upfault-resumable nginx-origin)
$(upstream_row "HAProxy → h2c upstream (\`proto h2\`), pooled and multiplexed" "$WORK/h2.out" upfault nginx-origin)"
UPSTREAM_FULL="$(upstream_row "nginx → HTTPS upstream, a connection per request: upfault's \`tls-expired\` port (a full handshake each)" "$WORK/tls0.out" upfault-full-handshakes nginx-origin)"
TLS_RATIO=$(awk -F'|' 'NR==1{gsub(/[* ]/,"",$5); print $5}' <<<"$UPSTREAM_ROWS")
TLSKA_RATIO=$(awk -F'|' 'NR==2{gsub(/[* ]/,"",$5); print $5}' <<<"$UPSTREAM_ROWS")
H2_RATIO=$(awk -F'|' 'NR==3{gsub(/[* ]/,"",$5); print $5}' <<<"$UPSTREAM_ROWS")

met() { python3 -c 'import sys; print("met" if float(sys.argv[1]) >= float(sys.argv[2]) else "**missed**")' "$1" "$2"; }
met_le() { python3 -c 'import sys; print("met" if float(sys.argv[1]) <= float(sys.argv[2]) else "**missed**")' "$1" "$2"; }
RSS_PEAK_MIB=$(python3 -c "print(f'{$RSS_PEAK/1024:.1f}')")
RSS_IDLE_MIB=$(python3 -c "print(f'{$RSS_IDLE/1024:.1f}')")
PER_CONN=$(python3 -c "print(f'{($RSS_PEAK-$RSS_IDLE)*1024/max($HELD,1)/1024:.1f}')")
STALL_SHOWN=$(python3 -c "print('yes' if $R_STALL99 >= 100 else '**no**')")

cat >"$OUT" <<EOF
# upfault benchmark results

Written by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Each figure is the median of $RUNS runs of
${SECS} s (after ${WARMUP} s of untimed warm-up), the compared tools alternating run by run.

- Machine: $NCPU × $cpu_model, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)
- Servers pinned to core $SERVER_CPU, load generators to core $LOAD_CPU (\`taskset\`); all traffic on 127.0.0.1
- upfault $uf_version (release build), nginx $nginx_version, HAProxy $haproxy_version, wrk $wrk_version

## Targets

| Figure | Result | Target | |
|---|---|---|---|
| fake upstream ÷ nginx \`return 200\` (same wrk command) | **$RATIO1** | ≥ 1.2 | $(met "$RATIO1" 1.2) |
| \`upfault bench\` ÷ wrk (same nginx) | **$RATIO2** | ≥ 1.0 | $(met "$RATIO2" 1.0) |
| constant rate $RATE/s: achieved | **$(fmt_int "$R_STEADY")/s** | $RATE/s | |
| a 1 s upstream stall shows in p99 (constant rate) | **p99 $(fmt_ms "$R_STALL99") ms** | the stall is visible | $STALL_SHOWN |
| peak RSS, $HELD silent connections held | **$RSS_PEAK_MIB MiB** | ≤ 64 MiB | $(met_le "$RSS_PEAK_MIB" 64) |
| HTTPS upstream ÷ nginx origin, a connection per request (through nginx) | **$TLS_RATIO** | ≥ 0.95 | $(met "$TLS_RATIO" 0.95) |
| HTTPS upstream ÷ nginx origin, pooled (through nginx) | **$TLSKA_RATIO** | ≥ 0.95 | $(met "$TLSKA_RATIO" 0.95) |
| h2c upstream ÷ nginx h2c origin (through HAProxy) | **$H2_RATIO** | ≥ 0.95 | $(met "$H2_RATIO" 0.95) |

## 1. The fake upstream against nginx \`return 200\`

\`wrk -t1 -c64 -d${SECS}s\` (core $LOAD_CPU) against \`upfault serve --quiet --threads 1\` (scenario \`ok\`: a 13-byte 200,
kept alive) and against nginx with one worker answering \`return 200 "hello, world\n"\` (core $SERVER_CPU).

| Server | requests/s (median) | runs |
|---|---:|---|
| upfault fake upstream | $(fmt_int "$UP_RPS") | ${up_rps[*]} |
| nginx $nginx_version \`return 200\` | $(fmt_int "$NX_RPS") | ${nx_rps[*]} |
| **ratio** | **$RATIO1** | |

Where the time goes: the server's core is mostly kernel work — loopback TCP, which both servers pay
alike per request. Share of each server's CPU time spent in the kernel (from /proc/PID/stat during
the runs): upfault serve $UP_SYS %, nginx $NX_SYS %. In user space (callgrind, instructions per request,
20,000 requests): upfault serve ${UP_INSN:-n/a}, nginx ${NX_INSN:-n/a}.

## 2. \`upfault bench\` against wrk, both driving the same nginx

Both with 64 connections on one thread (core $LOAD_CPU), keep-alive, closed loop.

| Load generator | requests/s (median) | p50 ms | p99 ms | runs (requests/s) |
|---|---:|---:|---:|---|
| upfault bench | $(fmt_int "$UB") | $(fmt_ms "$UB50") | $(fmt_ms "$UB99") | ${ub[*]} |
| wrk $wrk_version | $(fmt_int "$WK") | $(fmt_ms "$WK50") | $(fmt_ms "$WK99") | ${wk[*]} |
| **ratio** | **$RATIO2** | | | |

## 3. Constant rate, and a stall the latency must not hide

\`upfault bench --rate $RATE -c 16\` against the fake upstream for ${STALL_SECS} s. For the stall, the upstream process is
stopped (SIGSTOP) for 1 s at t = 4 s. In constant-rate mode latency counts from each request's intended send time,
so every request due during the stall is late; measured from the send time (closed loop, as wrk does) only the
requests in flight at that moment are.

| Run | achieved requests/s | p50 ms | p99 ms | max ms |
|---|---:|---:|---:|---:|
| constant rate $RATE/s, steady | $(fmt_int "$R_STEADY") | $(fmt_ms "$R_STEADY50") | $(fmt_ms "$R_STEADY99") | |
| constant rate $RATE/s, 1 s stall | $(fmt_int "$R_STALL") | $(fmt_ms "$R_STALL50") | $(fmt_ms "$R_STALL99") | $(fmt_ms "$R_STALLMAX") |
| closed loop, 1 s stall (latency from send time) | | $(fmt_ms "$C_STALL50") | $(fmt_ms "$C_STALL99") | $(fmt_ms "$C_STALLMAX") |

## 4. Ten thousand silent connections

\`upfault bench --url …/__upfault/silent/ -c $SILENT\` against \`upfault serve --quiet --threads 1\`: each connection's
request is read and never answered (\`hang = true\`). $HELD connections were held open at the end.

| | RSS |
|---|---:|
| upfault serve, idle | $RSS_IDLE_MIB MiB |
| upfault serve, peak with $HELD silent connections (VmHWM) | **$RSS_PEAK_MIB MiB** |
| per connection | $PER_CONN KiB |

## 5. nginx and HAProxy: healthy traffic with a 10 % silent upstream

\`upfault bench --proxy NAME\` starts the proxy's profile (proxies/NAME, 1 s upstream timeouts) in front of the fake
upstream; not pinned (proxy, upstream and load generator share both cores). Healthy = the \`ok\` scenario.
First the proxy's healthy throughput alone (closed loop, 64 connections). Then a constant $MIX_RATE requests/s,
without faults and with \`--mix ok=90,silent=10\`: every tenth request is held by the upstream until the proxy's
1 s read timeout answers 504, so the proxy holds about $((MIX_RATE / 10)) silent upstream requests at any moment
while it serves the healthy ones. The faulty requests go on side connections of their own, so the healthy
figures are the proxy's, not the load generator's head-of-line blocking. Latency counts from each request's
intended send time.

| Proxy | healthy alone, closed loop: req/s | p99 ms | at $MIX_RATE/s, no faults: healthy req/s | p50 ms | p99 ms | at $MIX_RATE/s, 10 % silent: healthy req/s | p50 ms | p99 ms | 504/s | errors |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$PROXY_ROWS
## 6. TLS and HTTP/2 upstreams: upfault's against nginx as the origin

The same proxy in front of upfault's upstream and of nginx as the origin (\`return 200\`, one worker), runs
alternating; proxies and upstreams on core $SERVER_CPU, \`wrk -t1 -c16\` on core $LOAD_CPU. \`bench/tls_upstream.sh\`
(nginx proxying to an HTTPS upstream; upfault's \`tls\` port resumes sessions under load, nginx's origin has a
session cache) and \`bench/h2_upstream.sh\` (HAProxy proxying to an h2c upstream with \`proto h2\`, which pools and
multiplexes: upfault's multiplexing HTTP/2 server). The ratio is the median of each run's upfault ÷ nginx; errors are
non-2xx responses and socket errors through upfault's upstream over all runs; CPU is each upstream process's
(nginx's master and worker together) per request, and its share in the kernel.

| Through the same proxy | upfault's upstream: req/s | nginx origin: req/s | ratio | errors | upfault's CPU per request | nginx's CPU per request |
|---|---:|---:|---:|---:|---|---|
$UPSTREAM_ROWS
$UPSTREAM_FULL

The last row is what every TLS port did before it resumed sessions, and what the certificate ports still do:
a full handshake on every connection.
EOF
log "wrote $OUT"
cat "$OUT"
