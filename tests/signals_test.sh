#!/usr/bin/env bash
# Whatever upfault starts dies with it: on SIGINT, SIGTERM and SIGHUP during run, matrix, bench and
# serve (exit 128 + the signal, the proxy's whole process group gone, its work dir removed, the
# reports of what finished written), and on SIGKILL of upfault itself (its guardian kills the
# group and removes the dir). Every wait is for an event (a line of output, an exit, a process
# gone), bounded only so that a broken build fails instead of hanging.
# Usage: signals_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
out=$(mktemp -d)
export TMPDIR=$out/tmp   # the proxies' work dirs land here, so the test sees whether they are removed
mkdir -p "$TMPDIR"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Waits (up to 60 s) until `cmd` succeeds.
wait_for() {
  local what=$1; shift
  for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done
  fail "timed out waiting for $what"
}
# Process groups of upfault's children that are alive (zombies are dead: they hold nothing).
child_groups() { ps -eo ppid=,pgid=,stat= | awk -v p="$1" '$1 == p && $3 !~ /^Z/ { print $2 }' | sort -u; }
group_alive() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }
workdirs() { find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'upfault-*' | wc -l; }

# Starts `upfault ARGS…` in the background, waits until it printed `ready` and started a proxy;
# sets $upid and $pgroups.
start() {
  local ready=$1; shift
  "$upfault" "$@" > "$out/stdout" 2> "$out/stderr" &
  upid=$!
  pids+=("$upid")
  wait_for "upfault to print \"$ready\"" grep -q -- "$ready" "$out/stdout"
  pgroups=$(child_groups "$upid" | grep -vx "$(ps -o pgid= -p "$upid" | tr -d ' ')" || true)
}

stopped_cleanly() {  # name signal expected-exit
  local name=$1 sig=$2 want=$3 rc=0
  kill "-$sig" "$upid"
  wait "$upid" || rc=$?
  [[ $rc == "$want" ]] || { cat "$out/stderr"; fail "$name: exit $rc after SIG$sig, not $want"; }
  for g in $pgroups; do
    group_alive "$g" && fail "$name: process group $g still runs after SIG$sig"
  done
  [[ $(workdirs) == 0 ]] || fail "$name: a work dir is left after SIG$sig: $(ls "$TMPDIR")"
  echo "ok: $name stops on SIG$sig with exit $rc, its proxy groups ($(echo $pgroups)) gone, no work dir left"
}

for sig in INT TERM HUP; do
  want=$((128 + $(kill -l "$sig")))
  rm -f "$out/r.json"
  start "PASS\|FAIL" run "$scenarios" --proxy nginx --jobs 1 --json "$out/r.json"
  [[ -n $pgroups ]] || fail "run: no proxy process group found"
  stopped_cleanly "run" "$sig" "$want"
  python3 -c "
import json, sys
r = json.load(open('$out/r.json'))
n = r['summary']['total']
assert 0 < n < 88 and len(r['results']) == n, n
print('ok: the JSON report holds the', n, 'scenarios that finished')" || fail "run: the report of what finished is missing or wrong"
  grep -q "stopped by" "$out/stderr" || fail "run: no word of the interruption on stderr"
done

start "in front of" bench --proxy nginx -d 60s --json "$out/b.json"
stopped_cleanly "bench" INT 130
python3 -c "import json; json.load(open('$out/b.json'))" || fail "bench: no JSON report after SIGINT"

start "scenarios on" serve "$scenarios"
stopped_cleanly "serve" TERM 143

start "nginx\|haproxy" matrix "$scenarios" --proxies nginx,haproxy --out "$out/matrix"
stopped_cleanly "matrix" INT 130

# SIGKILL: upfault gets no say; its guardian must notice and clean up.
start "PASS\|FAIL" run "$scenarios" --proxy nginx --jobs 1
[[ -n $pgroups ]] || fail "kill: no proxy process group found"
kill -KILL "$upid"
wait "$upid" || true
for g in $pgroups; do wait_for "process group $g to die after upfault's SIGKILL" bash -c "! $(declare -f group_alive); ! group_alive $g"; done
wait_for "the work dir to be removed after upfault's SIGKILL" test "$(workdirs)" = 0
echo "ok: after SIGKILL of upfault its guardian killed the proxy groups ($(echo $pgroups)) and removed the work dir"
echo PASS
