#!/usr/bin/env bash
# Whatever upfault starts dies with it: on SIGINT, SIGTERM and SIGHUP during run, matrix, bench and
# serve (exit 128 + the signal, the proxy's whole process group gone, its work dir removed, the
# reports of what finished written), and on SIGKILL of upfault itself (its guardian kills the
# group and removes the dir). Every wait is for an event (a line of output read as it is written,
# a process's exit through a pidfd), with no time limit of its own: ctest's per-test timeout ends
# a hung run.
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

here=$(cd "$(dirname "$0")" && pwd)
# Process groups of upfault's children that are alive (zombies are dead: they hold nothing), but
# not its guardian (a fork of upfault itself, in a group of its own, which ends after upfault).
child_groups() { ps -eo ppid=,pgid=,stat=,comm= | awk -v p="$1" '$1 == p && $3 !~ /^Z/ && $4 != "upfault" { print $2 }' | sort -u; }
guardian_of() { ps -eo ppid=,pid=,stat=,comm= | awk -v p="$1" '$1 == p && $3 !~ /^Z/ && $4 == "upfault" { print $2 }'; }
group_alive() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }
group_members() { ps -eo pgid=,pid= | awk -v g="$1" '$1 == g { print $2 }'; }
workdirs() { find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'upfault-*' | wc -l; }
# Waits for these processes' exit (an event, through pidfds).
wait_exit() { python3 "$here/wait_exit.py" "$@" || fail "$what: a process could not be waited for"; }

# Starts `upfault ARGS…` in the background and returns once it has printed a line matching `ready`:
# its output is read as it is written (through a FIFO, copied to $out/stdout), not polled. Sets
# $upid, $pgroups (its proxies' process groups) and $guardian.
start() {
  local ready=$1 said=""; shift
  rm -f "$out/output" "$out/ready"
  mkfifo "$out/output" "$out/ready"
  exec 3<>"$out/ready"  # opened read-write: never blocks; the reader below always writes a word
  "$upfault" "$@" > "$out/output" 2> "$out/stderr" &
  upid=$!
  pids+=("$upid")
  { tee "$out/stdout" | { if grep -q -m1 -- "$ready"; then echo ready; else echo ended; fi >&3; cat > /dev/null; }; } \
    < "$out/output" &
  read -r -u 3 said || fail "no word from the reader of upfault's output"
  exec 3>&-
  [[ $said == ready ]] || { cat "$out/stderr"; fail "upfault ended without printing \"$ready\""; }
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
  what="$name: the guardian" wait_exit $guardian
  echo "ok: $name stops on SIG$sig with exit $rc, its proxy groups ($(echo $pgroups)) gone, no work dir left"
}

for sig in INT TERM HUP; do
  want=$((128 + $(kill -l "$sig")))
  rm -f "$out/r.json"
  start "PASS\|FAIL" run "$scenarios" --proxy nginx --jobs 1 --json "$out/r.json"
  [[ -n $pgroups ]] || fail "run: no proxy process group found"
  stopped_cleanly "run" "$sig" "$want"
  grep -q "stopped by" "$out/stderr" || fail "run: no word of the interruption on stderr"
  # summary.total counts what was judged; the results hold those and the not-run rows (scenarios
  # needing an upstream protocol nginx's profile lacks) of every scenario the run got past.
  python3 -c "
import json, re, sys
r = json.load(open('$out/r.json'))
s = r['summary']
done, of = map(int, re.search(r'after (\d+) of (\d+) scenarios', open('$out/stderr').read()).groups())
assert 0 < s['total'] and done < of, (s, done, of)
assert len(r['results']) == s['total'] + s['not_run'] == done, (len(r['results']), s, done)
print('ok: the JSON report holds the', done, 'of', of, 'scenarios that finished,', s['not_run'], 'of them not run')" \
    || fail "run: the report of what finished is missing or wrong"
done

# Two signals in a row: everything is killed at once, and still no work dir is left.
start "PASS\|FAIL" run "$scenarios" --proxy nginx --jobs 1
kill -INT "$upid"; kill -INT "$upid" 2>/dev/null || true
stopped_cleanly "run (second signal)" INT 130

# A signal while the proxy is starting (it has started, it is not ready yet): exit 143, a valid
# JSON report that holds no scenario, the half-started proxy's group gone, no work dir left. The
# profile's "proxy" says on a FIFO that it runs, and then never listens.
mkfifo "$out/starting"
cat > "$out/slow.toml" <<TOML
name = "slow-start"
command = ["sh", "-c", "echo started > $out/starting; exec sleep 600"]
ready_timeout = "60s"
TOML
rm -f "$out/r.json"
exec 4<>"$out/starting"
"$upfault" run "$scenarios" --proxy "$out/slow.toml" --json "$out/r.json" > "$out/stdout" 2> "$out/stderr" &
upid=$!; pids+=("$upid")
# Whichever comes first: the proxy says it started, or upfault exits (then it never will).
{ python3 "$here/wait_exit.py" "$upid"; echo ended >&4; } &
read -r -u 4 said
exec 4>&-
[[ $said == started ]] || { cat "$out/stderr"; fail "upfault ended before the slow-starting proxy ran"; }
starting=$(child_groups "$upid")
[[ -n $starting ]] || fail "no process group for the starting proxy"
kill -TERM "$upid"
rc=0; wait "$upid" || rc=$?
[[ $rc == 143 ]] || { cat "$out/stderr"; fail "SIGTERM during proxy startup: exit $rc, not 143"; }
python3 -c "import json,sys; assert json.load(open(sys.argv[1]))['summary']['total'] == 0" "$out/r.json" \
  || fail "SIGTERM during proxy startup left no valid, empty report"
for g in $starting; do group_alive "$g" && fail "the starting proxy's group $g still runs"; done
[[ $(workdirs) == 0 ]] || fail "SIGTERM during proxy startup left a work dir: $(ls "$TMPDIR")"
echo "ok: SIGTERM during proxy startup exits 143 with a valid empty report, the proxy's group gone, no work dir left"

start "in front of" bench --proxy nginx -d 60s --json "$out/b.json"
stopped_cleanly "bench" INT 130
python3 -c "import json; assert json.load(open('$out/b.json')).get('interrupted') == 2" \
  || fail "bench: the JSON report after SIGINT does not say it was interrupted by signal 2"

start "scenarios on" serve "$scenarios"
stopped_cleanly "serve" TERM 143

start "nginx\|haproxy" matrix "$scenarios" --proxies nginx,haproxy --out "$out/matrix"
stopped_cleanly "matrix" INT 130

# SIGKILL: upfault gets no say; its guardian must notice and clean up. Its exit is the event: by
# then it has signalled every group and removed every work dir (it waits for its rm).
start "PASS\|FAIL" run "$scenarios" --proxy nginx --jobs 1
[[ -n $pgroups && -n $guardian ]] || fail "kill: no proxy process group or no guardian found"
members=$(for g in $pgroups; do group_members "$g"; done)
kill -KILL "$upid"
wait "$upid" || true
what="after upfault's SIGKILL: the guardian" wait_exit $guardian
what="after upfault's SIGKILL: the proxy" wait_exit $members
[[ $(workdirs) == 0 ]] || fail "the guardian left a work dir after upfault's SIGKILL: $(ls "$TMPDIR")"
echo "ok: after SIGKILL of upfault its guardian stopped the proxy groups ($(echo $pgroups)) and removed the work dir"
echo PASS
