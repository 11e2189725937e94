#!/usr/bin/env bash
# Nothing a proxy starts outlives upfault, not even what leaves its process group (Squid's pinger
# calls setsid): the "proxy" here starts a setsid-ed sleeper with a token in its environment, then
# runs the reference proxy. After a run that ends and a run stopped by SIGINT, upfault itself
# stopped it (not its guardian, which would too once upfault is gone); after a run whose upfault
# is SIGKILLed, its guardian did. No process with the token is left.
# Usage: orphans_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
out=$(mktemp -d)
token="upfault-orphan-test-$$-$RANDOM"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in $(marked); do kill -KILL "$p" 2>/dev/null || true; done  # what a failed run left
  rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)

# Live processes whose environment holds the token (a zombie's reads empty: it holds nothing).
marked() {
  local f
  for f in /proc/[0-9]*/environ; do
    grep -qaF "UPFAULT_ORPHAN_TEST=$token" "$f" 2>/dev/null && { f=${f#/proc/}; echo "${f%/environ}"; }
  done
  return 0
}
left() { local m; m=$(marked); [[ -z $m ]] || { ps -o pid,ppid,pgid,sid,args -p "$(echo $m | tr ' ' ,)"; fail "$1: left $m"; }; }

# The sleeper writes down who stopped it (SIGTERM's sender): upfault itself when upfault lives to
# stop it, its guardian when upfault was killed.
cat > "$out/orphan.py" <<'PY'
import signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
open(sys.argv[2], "w").write("up\n")  # the proxy starts once the sleeper is ready
info = signal.sigwaitinfo({signal.SIGTERM})
open(sys.argv[1], "a").write(f"{info.si_pid}\n")
PY
# stopped_by WHAT PID: the last sleeper was stopped by process PID.
stopped_by() { [[ $(tail -n 1 "$out/killers" 2>/dev/null) == "$2" ]] || fail "$1: the sleeper was stopped by $(tail -n 1 "$out/killers" 2>/dev/null || echo nobody), not $2"; }
cat > "$out/orphaning.toml" <<TOML
name = "orphaning"
command = ["sh", "-c", "mkfifo {workdir}/up; UPFAULT_ORPHAN_TEST=$token setsid python3 $out/orphan.py $out/killers {workdir}/up & read said < {workdir}/up; exec \"\$0\" --listen 127.0.0.1:{listen_port} --upstream 127.0.0.1:{upstream_port} --route /__refused/=127.0.0.1:{refused_port} --route /__blackhole/=127.0.0.1:{blackhole_port} --route /__accept_close/=127.0.0.1:{accept_close_port} --route /__accept_reset/=127.0.0.1:{accept_reset_port}",
           "{bindir}/upfault-reference-proxy"]
ready_timeout = "10s"
TOML
one="$scenarios/passthrough/ok-200-baseline.toml"

rc=0
"$upfault" run "$one" --proxy "$out/orphaning.toml" > "$out/stdout" 2> "$out/stderr" &
upid=$!
wait "$upid" || rc=$?
[[ $rc == 0 ]] || { cat "$out/stdout" "$out/stderr"; fail "the run exited $rc"; }
left "a run that ended"
stopped_by "a run that ended" "$upid"
echo "ok: a run that ended left no process its proxy started with setsid"

# Starts `upfault run` over the corpus and returns once it printed its first verdict (read as it is
# written, through a FIFO): its proxy, and the setsid-ed sleeper, run then.
start() {
  local said=""
  rm -f "$out/output" "$out/ready"
  mkfifo "$out/output" "$out/ready"
  exec 3<>"$out/ready"
  "$upfault" run "$scenarios" --proxy "$out/orphaning.toml" --jobs 1 > "$out/output" 2> "$out/stderr" &
  upid=$!
  pids+=("$upid")
  { if grep -q -m1 "PASS\|FAIL"; then echo ready; else echo ended; fi >&3; cat > /dev/null; } < "$out/output" &
  read -r -u 3 said
  exec 3>&-
  [[ $said == ready ]] || { cat "$out/stderr"; fail "upfault ended without a verdict"; }
  [[ -n $(marked) ]] || fail "the proxy's setsid-ed sleeper is not running: the test tests nothing"
  guardian=$(ps -eo ppid=,pid=,comm= | awk -v p="$upid" '$1 == p && $3 == "upfault" { print $2 }')
}

start
kill -INT "$upid"
rc=0; wait "$upid" || rc=$?
[[ $rc == 130 ]] || { cat "$out/stderr"; fail "SIGINT: exit $rc, not 130"; }
left "a run stopped by SIGINT"
stopped_by "a run stopped by SIGINT" "$upid"
echo "ok: a run stopped by SIGINT left no process its proxy started with setsid"

start
kill -KILL "$upid"
wait "$upid" || true
python3 "$here/wait_exit.py" "$guardian" || fail "the guardian could not be waited for"
left "a run whose upfault was SIGKILLed"
stopped_by "a run whose upfault was SIGKILLed" "$guardian"
echo "ok: after SIGKILL of upfault its guardian stopped the process its proxy started with setsid"
echo PASS
