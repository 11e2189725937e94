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
# Process groups of upfault's children that are alive (zombies are dead: they hold nothing), but
# not its guardian (a fork of upfault itself, in a group of its own, which ends after upfault).
child_groups() { ps -eo ppid=,pgid=,stat=,comm= | awk -v p="$1" '$1 == p && $3 !~ /^Z/ && $4 != "upfault" { print $2 }' | sort -u; }
guardian_of() { ps -eo ppid=,pid=,stat=,comm= | awk -v p="$1" '$1 == p && $3 !~ /^Z/ && $4 == "upfault" { print $2 }'; }
alive() { ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }
group_alive() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }
workdirs() { find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'upfault-*' | wc -l; }
# Conditions for wait_for, evaluated again on every try.
no_workdirs() { [[ $(workdirs) == 0 ]]; }
group_dead() { ! group_alive "$1"; }
process_gone() { ! alive "$1"; }
upfault_running() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == upfault ]]; }

# Starts `upfault ARGS…` in the background, waits until it printed `ready` and started a proxy;
# sets $upid and $pgroups.
start() {
  local ready=$1; shift
  "$upfault" "$@" > "$out/stdout" 2> "$out/stderr" &
  upid=$!
  pids+=("$upid")
  wait_for "upfault to print \"$ready\"" grep -q -- "$ready" "$out/stdout"
  pgroups=$(child_groups "$upid" | grep -vx "$(ps -o pgid= -p "$upid" | tr -d ' ')" || true)
  guardian=$(guardian_of "$upid")
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
  # The guardian has nothing left to do: it ends once it sees upfault's end of their link close.
  [[ -z $guardian ]] || wait_for "the guardian $guardian to end after upfault" process_gone "$guardian"
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

# Two signals in a row: everything is killed at once, and still no work dir is left.
start "PASS\|FAIL" run "$scenarios" --proxy nginx --jobs 1
kill -INT "$upid"; kill -INT "$upid" 2>/dev/null || true
stopped_cleanly "run (second signal)" INT 130

# A signal at once, whatever upfault is doing then (loading, starting the proxy, running): exit
# 143, and the JSON report is valid (holding what finished, perhaps nothing).
rm -f "$out/r.json"
"$upfault" run "$scenarios" --proxy nginx --json "$out/r.json" > "$out/stdout" 2> "$out/stderr" &
upid=$!; pids+=("$upid")
# Signalled as soon as upfault runs (not before its exec: the shell's own fork would take it).
wait_for "upfault to start" upfault_running "$upid"
kill -TERM "$upid"
rc=0; wait "$upid" || rc=$?
[[ $rc == 143 ]] || fail "an immediate SIGTERM: exit $rc, not 143"
[[ ! -e $out/r.json ]] || python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$out/r.json" \
  || fail "an immediate SIGTERM left an invalid report"
wait_for "the work dir to be removed after an immediate SIGTERM" no_workdirs
echo "ok: an immediate SIGTERM exits 143 with no invalid report and no work dir left"

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
for g in $pgroups; do wait_for "process group $g to die after upfault's SIGKILL" group_dead "$g"; done
wait_for "the work dir to be removed after upfault's SIGKILL" no_workdirs
echo "ok: after SIGKILL of upfault its guardian killed the proxy groups ($(echo $pgroups)) and removed the work dir"
echo PASS
