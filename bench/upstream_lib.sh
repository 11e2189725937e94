# Shared by bench/tls_upstream.sh and bench/h2_upstream.sh (sourced): ports, readiness, wrk, CPU.
# Loopback only, ports from the kernel.

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {  # until 127.0.0.1:$1 accepts: no fixed sleep
  for _ in $(seq 200); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listens on 127.0.0.1:$1" >&2; exit 3
}

cpu_ticks() {  # user and system CPU ticks of process $1 and its children (nginx's master and worker)
  local u=0 s=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    read -r pu ps < <(awk '{print $14, $15}' "/proc/$p/stat" 2>/dev/null || echo "0 0")
    u=$((u + pu)); s=$((s + ps))
  done
  echo "$u $s"
}

# wrk -t1 -c16 for $SECS s on core 1 against URL $1, the upstream being process $2; prints
# "REQ/S ERRORS USER_TICKS SYSTEM_TICKS" (errors: non-2xx responses and socket errors; ticks: the
# upstream's CPU during the run).
measure() {
  local u0 s0 u1 s1 out
  read -r u0 s0 < <(cpu_ticks "$2")
  out=$(taskset -c 1 wrk -t1 -c16 -d"${SECS}s" "$1")
  read -r u1 s1 < <(cpu_ticks "$2")
  echo "$(awk '/Requests\/sec/{print $2}' <<<"$out") \
$(awk '/Non-2xx/{n+=$NF} /Socket errors/{gsub(",","");n+=$4+$6+$8+$10} END{print n+0}' <<<"$out") \
$((u1 - u0)) $((s1 - s0))"
}
