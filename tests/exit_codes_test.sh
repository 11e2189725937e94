#!/usr/bin/env bash
# upfault's contract with CI, pinned: the exit code of every kind of run (0 all passed, 1 a verdict
# failed or was an error, 2 bad input or an output that cannot be written, 3 the proxy could not
# be started), reports whose rows match a run with passes, failures and errors, and names with
# control bytes or invalid UTF-8 that reach no report or terminal raw.
# Usage: exit_codes_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1 scenarios=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect_exit CODE WHAT ARGS…: runs upfault ARGS…, which must exit CODE.
expect_exit() {
  local want=$1 what=$2 rc=0; shift 2
  "$upfault" "$@" > "$out/stdout" 2> "$out/stderr" || rc=$?
  [[ $rc == "$want" ]] || { tail -n 5 "$out/stdout" "$out/stderr"; fail "$what: exit $rc, not $want"; }
  echo "ok: $what → $rc"
}
one="$scenarios/passthrough/ok-200-baseline.toml"   # the reference proxy passes it, the blind relay too
relay="$scenarios/framing/duplicate-content-length.toml"  # the blind relay fails it
[[ -f $one && -f $relay ]] || fail "the scenarios this test uses have moved"

expect_exit 0 "all passed" run "$one" --proxy reference
expect_exit 1 "a verdict failed" run "$relay" --proxy blind
# Nothing judged is not green: the blind relay is not set up to speak h2c.
expect_exit 2 "every scenario not run" run "$scenarios/http2/h2-ok-200-baseline.toml" --proxy blind
grep -q "nothing was judged" "$out/stderr" || fail "no word of why nothing was judged"
# A port that refuses connections for the whole test: held bound but never listening (as upfault's
# own refused endpoint is), so no other process can take it and answer the probe meanwhile.
mkfifo "$out/hold" "$out/held_port"
python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); sys.stdin.read()' \
  < "$out/hold" > "$out/held_port" &
exec 4> "$out/hold"  # the holder lives until this descriptor closes, when the test ends
read -r closed_port < "$out/held_port"
expect_exit 2 "--proxy-url without --upstream-port" run "$one" --proxy-url "http://127.0.0.1:$closed_port"
grep -q "needs --upstream-port" "$out/stderr" || fail "no word of --upstream-port"
# With --upstream-port P the endpoints default to P+1…P+12: here they come from the kernel too.
pick_ports() {
  free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  endpoints=($(python3 -c '
import socket
names = ["refused", "blackhole", "accept-close", "accept-reset", "tls", "tls-h2", "tls-stall", "tls-garbage",
         "tls-alert", "tls-expired", "tls-wrong-name", "tls-untrusted"]
ss = [socket.socket() for _ in names]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(f"--{n}-port {s.getsockname()[1]}" for n, s in zip(names, ss)))'))
}
# A port taken back from the kernel is free only until another process binds it (a test running
# beside this one may get it for a connection): when upfault could not listen for that reason, its
# probe never ran, and the case is made again on fresh ports.
for attempt in 1 2 3; do
  pick_ports
  echo '<testsuites name="an earlier, green run"/>' > "$out/stale.xml"
  expect_exit 3 "nothing listens at --proxy-url (the probe fails before the suite)" \
    run "$one" --proxy-url "http://127.0.0.1:$closed_port" --upstream-port "$free_port" "${endpoints[@]}" \
    --junit "$out/stale.xml" --summary "$out/stale.md"
  grep -q "cannot listen on .*Address already in use" "$out/stderr" || break
  echo "note: $(head -1 "$out/stderr"); again on fresh ports"
done
grep -q "nothing accepts connections at --proxy-url" "$out/stderr" || { cat "$out/stderr"; fail "no word of the failed probe"; }
# The report files say it too, in place of an earlier run's: one JUnit error, the summary's reason.
grep -q '<testsuites name="upfault" tests="1" failures="0" errors="1"' "$out/stale.xml" &&
  grep -q '<error message="nothing accepts connections at --proxy-url' "$out/stale.xml" ||
  { cat "$out/stale.xml"; fail "the JUnit file of a run that never started is not one error"; }
grep -q "Nothing was judged, a setup error" "$out/stale.md" || fail "the summary does not say nothing was judged"
expect_exit 2 "serve: --listen and --upstream-port name different ports" \
  serve "$one" --listen "127.0.0.1:$free_port" --upstream-port "$closed_port"
grep -q "give one" "$out/stderr" || fail "no word of the two ports"
# serve listens where --upstream-port says (it once took --listen's port 0 instead): its first line names the port.
mkfifo "$out/serve.fifo"
"$upfault" serve "$one" --upstream-port "$free_port" "${endpoints[@]}" > "$out/serve.fifo" 2>&1 &
serve_pid=$!
read -r first_line < "$out/serve.fifo"
kill "$serve_pid"; wait "$serve_pid" || true
[[ $first_line == *"http://127.0.0.1:$free_port"* ]] || fail "serve --upstream-port $free_port said: $first_line"
echo "ok: serve --upstream-port $free_port → $first_line"
# serve on IPv6 loopback names its address in brackets, as a URL must, the endpoints on it too.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2> /dev/null; then
  mkfifo "$out/serve6.fifo"
  "$upfault" serve "$one" --listen "[::1]:0" > "$out/serve6.fifo" 2>&1 &
  serve_pid=$!
  { read -r first_line; read -r second_line; } < "$out/serve6.fifo"
  kill "$serve_pid"; wait "$serve_pid" || true
  [[ $first_line =~ http://\[::1\]:[0-9]+$ ]] || fail "serve --listen [::1]:0 said: $first_line"
  [[ $second_line == *"upstream [::1]:"* ]] || fail "serve on [::1] described its ports as: $second_line"
  echo "ok: serve --listen [::1]:0 → $first_line"
fi
# --repeat stopped during its second run says how many runs completed, not that all five did.
mkfifo "$out/repeat.fifo"
"$upfault" run "$scenarios/timing/silent-upstream.toml" --proxy reference --repeat 5 --json "$out/repeat.json" \
  > "$out/repeat.fifo" 2>&1 &
repeat_pid=$!
exec 3< "$out/repeat.fifo"
while read -r line <&3; do
  echo "$line" >> "$out/repeat.out"
  [[ $line == "run 1/5:"* ]] && kill -INT "$repeat_pid"
done
exec 3<&-
wait "$repeat_pid" || true
grep -q "^repeat: 1 of 5 runs completed (stopped by a signal during run 2)" "$out/repeat.out" \
  || { cat "$out/repeat.out"; fail "--repeat stopped in run 2 did not say how many runs completed"; }
grep -q "^repeat: 5 runs" "$out/repeat.out" && fail "--repeat stopped in run 2 claimed 5 runs"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["repeat"]=={"runs":5,"completed":1} and "interrupted" in r else 1)' \
  "$out/repeat.json" || fail "the --repeat report does not say 1 of 5 runs completed: $(head -c 300 "$out/repeat.json")"
echo "ok: --repeat 5 stopped in run 2 → $(grep '^repeat:' "$out/repeat.out")"
expect_exit 2 "unknown flag" run --no-such-flag
expect_exit 2 "a broken scenario" check "$(dirname "$0")/data/bad"
expect_exit 2 "--shard 1/-1" run "$one" --proxy reference --shard 1/-1
expect_exit 2 "--shard 1/2xyz" run "$one" --proxy reference --shard 1/2xyz
expect_exit 2 "a name under .invalid is not loopback" run "$one" --proxy-url http://127.upfault.invalid:80/
grep -q "not a loopback address" "$out/stderr" || fail "no word of loopback for 127.upfault.invalid"
# The run command `routes` prints last keeps the ports it was given: without them, the run would
# expect the default ports, and pre-flight would call every route wrong.
"$upfault" routes nginx --upstream-port 9000 --refused-port 9500 | tail -n 1 | grep -q -- "--upstream-port 9000 --refused-port 9500 " ||
  fail "the printed run command drops --refused-port"
expect_exit 2 "--proxy-name with a terminal escape" run "$one" --proxy-url http://127.0.0.1:9/ --upstream-port 9 \
  --proxy-name "$(printf 'x\033[31m')"
expect_exit 2 "--json in a directory that does not exist (before the run)" run "$one" --proxy reference --json "$out/no/such/r.json"
grep -q "cannot write $out/no/such/r.json" "$out/stderr" || fail "no word of the unwritable --json path"
grep -q "PASS" "$out/stdout" && fail "the run went ahead with an unwritable --json path"
expect_exit 2 "the same file for two reports" run "$one" --proxy reference --json "$out/same" --junit "$out/./same"
echo '{"old": true}' > "$out/old.json"
expect_exit 2 "an unknown profile (the old report is left as it was)" run "$one" --proxy no-such-proxy --json "$out/old.json"
grep -q '"old"' "$out/old.json" || fail "a run that never started emptied an existing report"
mkfifo "$out/fifo"
expect_exit 2 "a FIFO nobody reads as --json (no wait)" run "$one" --proxy reference --json "$out/fifo"
expect_exit 2 "--junit to a full disk (/dev/full)" run "$one" --proxy reference --junit /dev/full
grep -q "cannot write /dev/full" "$out/stderr" || fail "a lost report was not reported"
expect_exit 2 "matrix --out under /proc" matrix "$one" --proxies reference --out /proc/upfault-cannot-write
grep -q "wrote" "$out/stdout" && fail "matrix said it wrote files it could not write"
cat > "$out/never.toml" <<'TOML'
command = ["sleep", "30"]
ready_timeout = "300ms"
TOML
expect_exit 3 "a proxy that never gets ready" run "$one" --proxy "$out/never.toml"
grep -q "never became ready" "$out/stderr" || fail "no word of readiness"
mkdir -p "$out/profiles/never"
cp "$out/never.toml" "$out/profiles/never/profile.toml"
UPFAULT_PROXIES_DIR=$out/profiles expect_exit 3 "a matrix with a proxy that never gets ready" \
  matrix "$one" --proxies never --out "$out/matrix"
grep -q "1 installed proxy could not be started" "$out/stderr" || fail "matrix: no word of the unstarted proxy"
grep -q "never became ready" "$out/matrix/README.md" || fail "matrix: the page does not show the unstarted proxy"
TMPDIR=$out/missing expect_exit 3 "TMPDIR that does not exist" run "$one" --proxy reference
grep -q "TMPDIR" "$out/stderr" || fail "no word of TMPDIR"

# A run with passes, failures and errors: a proxy that crashes on its 20th request, scenarios two at
# a time, no isolation reruns (no restart): the requests after the crash cannot connect.
cat > "$out/crash.toml" <<'TOML'
name = "crash"
command = ["{bindir}/upfault-reference-proxy", "--misbehave", "crash-after=20", "--listen", "127.0.0.1:{listen_port}",
           "--upstream", "127.0.0.1:{upstream_port}"]
TOML
expect_exit 1 "passes, failures and errors" run "$scenarios" --proxy "$out/crash.toml" --jobs 2 --quiet --no-isolation \
  --json "$out/r.json" --junit "$out/r.xml" --summary "$out/r.md"
python3 - "$out/r.json" "$out/r.xml" "$out/r.md" <<'PY' || fail "the reports disagree"
import json, sys, xml.etree.ElementTree as ET
j = json.load(open(sys.argv[1])); x = ET.parse(sys.argv[2]).getroot(); md = open(sys.argv[3]).read()
s = j["summary"]
assert s["pass"] > 0 and s["fail"] > 0 and s["error"] > 0, s
by = {r["scenario"]: r for r in j["results"]}
for case in x.iter("testcase"):
    r = by[case.get("name")]
    f, e = case.find("failure"), case.find("error")
    assert (f is not None) == (r["verdict"] == "fail"), r["scenario"]
    assert (e is not None) == (r["verdict"] == "error"), r["scenario"]
    if e is not None: assert e.get("message") == r["reason"]
rows = [l for l in md.splitlines() if l.startswith("| ❌") or l.startswith("| ⚠️")]
assert len(rows) == s["fail"] + s["error"], (len(rows), s)
for r in j["results"]:
    if r["verdict"] in ("fail", "error"):
        mark = "❌" if r["verdict"] == "fail" else "⚠️"
        assert any(l.startswith(f"| {mark} | `{r['category']}/{r['scenario']}`") for l in rows), r["scenario"]
print(f"ok: {s['pass']} pass, {s['fail']} fail, {s['error']} error: JUnit <failure>/<error> and every summary row match")
PY
grep -q "without --no-isolation (or with -j 1 or --lanes N), upfault restarts a crashed proxy" "$out/stderr" ||
  fail "no hint of the restart"
# With isolation reruns (the default) the same run leaves no error: each scenario the death may
# have decided is rerun alone on a fresh instance (whose count of requests starts again).
expect_exit 1 "a crashing proxy, isolation reruns" run "$scenarios" --proxy "$out/crash.toml" --jobs 2 --quiet \
  --json "$out/iso.json"
grep -Eq "^[0-9]+ scenario\(s\) rerun alone on a fresh proxy instance after the pass: [0-9]+ in flight when the proxy died" \
  "$out/stdout" || fail "no word of the isolation reruns"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; assert s["error"] == 0, s' "$out/iso.json" ||
  fail "isolation reruns left errors"
# One at a time, the crashed proxy is restarted and the rest judged; the run says how often.
expect_exit 1 "a crashing proxy, restarted" run "$scenarios" --proxy "$out/crash.toml" --jobs 1 --quiet
grep -Eq "^the proxy crashed [0-9]+ times? and was restarted" "$out/stdout" || fail "no count of the restarts"
grep -q "upfault restarts a crashed proxy" "$out/stderr" && fail "the restart hint where it restarted"

# A run whose only non-passes are errors is red too: a proxy that aborts on its first request, two
# scenarios side by side (no restart), leaves nothing judged as a pass or a failure.
cat > "$out/crash1.toml" <<'TOML'
name = "crash1"
command = ["{bindir}/upfault-reference-proxy", "--misbehave", "crash-after=1", "--listen", "127.0.0.1:{listen_port}",
           "--upstream", "127.0.0.1:{upstream_port}"]
TOML
expect_exit 1 "only error verdicts" run "$one" "$scenarios/passthrough/upstream-404-passthrough.toml" \
  --proxy "$out/crash1.toml" --jobs 2 --quiet --no-isolation --json "$out/e.json"
python3 - "$out/e.json" <<'PY' || fail "the run meant to hold only errors held something else"
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
assert s["error"] > 0 and s["fail"] == 0 and s["pass"] == 0, s
PY

# Hostile names: a scenario directory named with ESC and a 0xFF byte.
hostile=$(printf 'cat\033[31m\377')
mkdir -p "$out/suite/$hostile"
cp "$one" "$out/suite/$hostile/"
expect_exit 0 "a directory named with ESC and 0xFF" run "$out/suite" --proxy reference \
  --json "$out/h.json" --junit "$out/h.xml" --summary "$out/h.md"
python3 -c "import json,sys; json.load(open(sys.argv[1], encoding='utf-8', errors='strict'))" "$out/h.json" \
  || fail "the JSON report is not valid UTF-8 JSON"
xmllint --noout "$out/h.xml" || fail "the JUnit XML is malformed"
grep -q $'\033' "$out/stdout" "$out/h.md" "$out/h.json" "$out/h.xml" && fail "a raw ESC reached the output"
grep -qF 'cat\\x1b[31m\\xff' "$out/h.json" || fail "the category is not shown escaped in the JSON"
expect_exit 0 "list a suite in a hostile directory" list "$out/suite"
grep -q $'\033' "$out/stdout" && fail "upfault list printed a raw ESC"
echo "ok: hostile names are escaped in JSON, JUnit, the summary and on the terminal"
echo PASS
