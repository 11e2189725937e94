#!/usr/bin/env bash
# The matrix page in a real headless browser (Debian's chromium), at 1400 px (a desktop) and
# 400 px (a phone). A matrix run of the reference proxy and the blind relay gives two real results
# files; eleven more columns are made from them with failures of known classes, and the page is
# built from the lot with `upfault matrix --from`. Checked in the DOM: the ranking's order, every
# proxy's column and card, the failures-only filter and the search box (set by the URL); and,
# measured in the browser: no proxy column off-screen at 1400 px, no horizontal overflow at 400 px,
# the first column and the header row sticky. Screenshots at both widths: produced, of that width,
# not blank. SHOTS=DIR keeps them.
# Usage: matrix_page_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1
scenarios=$2
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v chromium >/dev/null; then
  if [[ "${UPFAULT_REQUIRE_PROXIES:-}" == 1 ]]; then echo "FAIL: chromium is not installed"; exit 1; fi
  echo "SKIP: chromium is not installed"; exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

browse() {  # browse URL LOG [extra flags]: headless chromium, as the probe runs it, offline
  local url=$1 log=$2; shift 2
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$out/profile-$RANDOM" --enable-logging=stderr --v=0 "$@" "$url" 2>"$log"
}

# The console check must be able to fail: a page that logs an error is caught.
echo '<!doctype html><script>console.error("deliberate")</script>' > "$out/bad.html"
browse "file://$out/bad.html" "$out/bad.log" --dump-dom >/dev/null
grep -q 'CONSOLE' "$out/bad.log" || fail "console errors are not detected"

"$upfault" matrix "$scenarios" --proxies reference,blind --lanes 8 --out "$out/run" >/dev/null
[[ -s "$out/run/index.html" && -s "$out/run/results/reference.json" ]] || fail "the matrix run wrote no page"

# Eleven more proxies, made from the reference's results, so the page has the width of the real
# one (13 columns, the real names) and a ranking whose every step is known: one wrong error
# (haproxy), one valid response lost (squid), one response with broken framing passed on (nginx),
# and blind's real failures. The others tie at none, in name order, but varnish: its 503 for a
# refused connect is a configurable default of its profile (not ranked, but the tie-break).
mkdir -p "$out/m/results"
cp "$out/run/results/"*.json "$out/m/results/"
python3 - "$out/m/results" <<'PY'
import copy, json, sys
d = sys.argv[1]
ref = json.load(open(f"{d}/reference.json"))
def fail(results, scenario, status, ended="complete"):
    for r in results:
        if r["scenario"] == scenario:
            r.update(verdict="fail", status=status, ended=ended, reason=f"made up: {status}")
            return
    raise SystemExit(f"no scenario {scenario}")
made = {"apache": "2.4.71", "caddy": "2.6.2", "h2o": "2.2.5", "haproxy": "2.6.12", "lighttpd": "1.4.69",
        "nghttpx": "1.52.0", "nginx": "1.22.1", "node-http-proxy": "1.18.1", "squid": "5.7",
        "trafficserver": "9.2.9", "varnish": "7.1.1"}
for name, version in made.items():
    r = copy.deepcopy(ref)
    r["proxy"].update(name=name, version=version, profile=name, config=[f"{name}.conf.in"])
    if name == "haproxy": fail(r["results"], "silent-upstream", 502)
    if name == "squid": fail(r["results"], "upstream-503-passthrough", 502)
    if name == "nginx": fail(r["results"], "duplicate-content-length", 200)
    if name == "varnish": fail(r["results"], "connection-refused", 503)
    json.dump(r, open(f"{d}/{name}.json", "w"))
PY
"$upfault" matrix --from "$out/m" "$scenarios" > "$out/from.log" 2>&1 || { cat "$out/from.log"; fail "matrix --from"; }
page="$out/m/index.html"
grep -qE '<(script|link|img)[^>]+(src|href)="https?://' "$page" && fail "the page loads external assets"
grep -q 'http' "$page" || fail "the page links nothing"
want_rows=$("$upfault" check "$scenarios" | grep -oE '^[0-9]+')
want_rank="apache caddy h2o lighttpd nghttpx node-http-proxy trafficserver varnish haproxy squid nginx blind"

dom() {  # dom URL WIDTH: the DOM after the page's script ran, at that window width
  browse "$1" "$out/dom.log" --window-size="$2,1000" --dump-dom
  ! grep 'CONSOLE' "$out/dom.log" || fail "the page logs to the console ($1)"
}
visible_rows() { grep -o '<tr class="scenario"[^>]*>' | grep -vc ' hidden=""' || true; }

# The DOM does not depend on the width (the layout does: measured below).
dom "file://$page" 1400 > "$out/dom.html"
d="$out/dom.html"
rank=$(grep -o '<tr class="standing" data-proxy="[^"]*"' "$d" | sed 's/.*data-proxy="//; s/"$//' | tr '\n' ' ')
[[ "$rank" == "$want_rank " ]] || fail "the ranking is '$rank', want '$want_rank'"
cols=$(grep -o '<th class="proxy"' "$d" | wc -l)
[[ "$cols" == 13 ]] || fail "$cols proxy columns, want 13"
rows=$(grep -o '<tr class="scenario"' "$d" | wc -l)
[[ "$rows" == "$want_rows" ]] || fail "$rows rows for $want_rows scenarios"
[[ $(visible_rows < "$d") == "$want_rows" ]] || fail "rows are hidden with no filter set"
grep -q "How the ranking works" "$d" || fail "the page does not say how it ranks"
grep -q "reference (upfault.*s own, not ranked)" "$d" || fail "the reference proxy is not shown apart"
grep -q "What this does and does not show" "$d" || fail "the page does not say what it does not show"
grep -q 'href="../../proxies/haproxy/profile.toml"' "$d" || fail "haproxy's name does not link its profile"
grep -q 'href="../../proxies/haproxy/haproxy.conf.in"' "$d" || fail "haproxy's name does not link its config"
grep -q 'to change: in the VCL' "$d" || fail "varnish's configurable default does not say what changes it"

# Filter and search, set by the URL as a reader's link would: the rows shown are those a script
# outside the page counts in the results files.
# The search matches a scenario's name, summary, category, risk, level and tags, as its file says.
read -r want_fail want_q want_both < <(python3 - "$out/m/results" "$scenarios" <<'PY'
import glob, json, pathlib, sys, tomllib
failing = set()
for f in glob.glob(sys.argv[1] + "/*.json"):
    for r in json.load(open(f))["results"]:
        if r["verdict"] not in ("pass", "stricter", "not-run"): failing.add(r["scenario"])  # not run: no failure
q = set()
for path in pathlib.Path(sys.argv[2]).rglob("*.toml"):
    s = tomllib.load(open(path, "rb"))
    words = [s["name"], s["summary"], path.parent.name, s.get("risk", "unclassified"), s["level"]] + s.get("tags", [])
    if "content-length" in " ".join(words).lower(): q.add(s["name"])
print(len(failing), len(q), len(q & failing))
PY
)
[[ "$want_fail" -gt 0 && "$want_fail" -lt "$want_rows" ]] || fail "the made-up results fail $want_fail scenarios"
check_filter() {  # check_filter SUFFIX WANT
  dom "file://$page$1" 1400 > "$out/f.html"
  local got; got=$(visible_rows < "$out/f.html")
  [[ "$got" == "$2" ]] || fail "$1 shows $got scenarios, want $2"
  grep -q "$2 of $want_rows scenarios shown" "$out/f.html" || fail "$1 does not say $2 of $want_rows shown"
}
check_filter "#failures" "$want_fail"
check_filter "?q=content-length" "$want_q"
check_filter "#failures&q=content-length" "$want_both"
check_filter "#q=no-such-scenario-anywhere" 0

# Geometry, measured in the browser: a copy of the page with a probe script that scrolls the matrix
# and writes what it measures into the DOM. Headless Chromium's windows are at least 500 px wide,
# so the 400 px page runs in a 400 px frame, whose probe posts its figures to the frame's parent.
python3 - "$page" "$out/probe.html" <<'PY'
import sys
page = open(sys.argv[1], encoding="utf-8").read()
probe = """<script>
(function () {
  var out = {}, root = document.documentElement, wrap = document.querySelector(".wrap");
  var table = document.getElementById("matrix");
  out.viewport = root.clientWidth; out.scrollWidth = root.scrollWidth;
  out.offscreen = Array.prototype.filter.call(document.querySelectorAll("#matrix th.proxy"), function (th) {
    var r = th.getBoundingClientRect(); return r.left < 0 || r.right > root.clientWidth + 0.5;
  }).map(function (th) { return th.getAttribute("data-proxy"); });
  out.cards = Array.prototype.filter.call(document.querySelectorAll("#ranking tr.standing"), function (tr) {
    var r = tr.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= root.clientWidth + 0.5;
  }).length;
  var scroller = wrap.scrollWidth > wrap.clientWidth + 1 ? wrap : null;
  var first = document.querySelector("#matrix tbody tr.scenario th.name");
  out.scrollsInBox = !!scroller;
  if (scroller) {
    var before = first.getBoundingClientRect().left;
    scroller.scrollLeft = 250;
    out.stickyLeft = scroller.scrollLeft > 0 && Math.abs(first.getBoundingClientRect().left - before) < 1;
    scroller.scrollTop = 500;
    out.stickyTop = scroller.scrollTop > 0 &&
      Math.abs(table.tHead.rows[0].cells[1].getBoundingClientRect().top - wrap.getBoundingClientRect().top) < 2;
  } else {
    window.scrollTo(0, window.scrollY + table.getBoundingClientRect().top + 900);
    out.stickyTop = window.scrollY > 0 && Math.abs(table.tHead.rows[0].cells[1].getBoundingClientRect().top) < 2;
    out.stickyLeft = getComputedStyle(first).position === "sticky";
  }
  var text = JSON.stringify(out);
  if (window.parent !== window) window.parent.postMessage(text, "*");
  else document.body.insertAdjacentHTML("beforeend", "<pre id=\\"geometry\\">" + text + "</pre>");
})();
</script>"""
open(sys.argv[2], "w", encoding="utf-8").write(page.replace("</body>", probe + "</body>"))
PY
frame() {  # frame PAGE OUT HEIGHT: PAGE in a 400 px frame; the frame's messages land in #geometry
  cat > "$2" <<HTML
<!doctype html><html><body style="margin:0"><iframe src="$1" style="border:0;display:block;width:400px;height:$3px"></iframe>
<pre id="geometry"></pre><script>addEventListener("message", function (e) { document.getElementById("geometry").textContent = e.data; });</script>
</body></html>
HTML
}
frame probe.html "$out/phone-probe.html" 900
geometry() {  # geometry URL WIDTH: the probe's figures
  browse "$1" "$out/geo.log" --window-size="$2,900" --virtual-time-budget=5000 --dump-dom \
    | grep -o '<pre id="geometry">[^<]*' | sed 's/.*>//; s/&quot;/"/g'
  ! grep 'CONSOLE' "$out/geo.log" || fail "the page logs to the console ($1)"
}
g1400=$(geometry "file://$out/probe.html" 1400)
g400=$(geometry "file://$out/phone-probe.html" 500)
[[ -n "$g1400" && -n "$g400" ]] || fail "the probe measured nothing ('$g1400', '$g400')"
python3 - "$g1400" "$g400" <<'PY' || fail "geometry"
import json, sys
wide, phone = json.loads(sys.argv[1]), json.loads(sys.argv[2])
problems = []
if wide["viewport"] < 1350: problems.append(f"the 1400 px window is {wide['viewport']} px wide")
if wide["offscreen"]: problems.append(f"at 1400 px proxy columns are off-screen: {wide['offscreen']}")
if wide["scrollWidth"] > wide["viewport"]: problems.append(f"at 1400 px the page is {wide['scrollWidth']} px wide")
if not wide["stickyTop"]: problems.append("at 1400 px the header row does not stay at the top")
if not wide["stickyLeft"]: problems.append("at 1400 px the first column is not sticky")
if phone["viewport"] != 400: problems.append(f"the 400 px frame is {phone['viewport']} px wide")
if phone["scrollWidth"] > phone["viewport"]:
    problems.append(f"at 400 px the page overflows: {phone['scrollWidth']} px for {phone['viewport']}")
if phone["cards"] != 12: problems.append(f"at 400 px {phone['cards']} of 12 proxy cards fit the screen (the reference is a line apart)")
if not phone["scrollsInBox"]: problems.append("at 400 px the matrix does not scroll in its own box")
if not phone["stickyLeft"]: problems.append("at 400 px the first column scrolls away")
if not phone["stickyTop"]: problems.append("at 400 px the header row scrolls away")
for p in problems: print("FAIL:", p)
sys.exit(1 if problems else 0)
PY

# Screenshots: produced, of the width asked, not blank. The phone's is shot in a 400 px frame of a
# 500 px window, and cropped to the frame.
shots=${SHOTS:-$out/shots}
mkdir -p "$shots"
frame index.html "$out/m/phone.html" 1600
shoot() {  # shoot URL WINDOW OUT WIDTH
  browse "$1" "$out/shot.log" --window-size="$2" --virtual-time-budget=3000 --screenshot="$3.raw.png" >/dev/null
  [[ -s "$3.raw.png" ]] || fail "no screenshot at $4 px"
  local stats; stats=$(python3 "$here/png_stats.py" "$3.raw.png" --crop "$4" "$3")
  rm -f "$3.raw.png"
  python3 -c 'import json,sys; s=json.loads(sys.argv[1]); w=int(sys.argv[2]); sys.exit(0 if s["width"]==w and s["colours"]>=8 and s["ink"]>0.02 else 1)' \
    "$stats" "$4" || fail "the $4 px screenshot is wrong or blank: $stats"
}
shoot "file://$page" 1400,1800 "$shots/matrix-1400.png" 1400
shoot "file://$out/m/phone.html" 500,1600 "$shots/matrix-400.png" 400
echo "matrix page: $want_rows rows, 13 proxy columns ranked as expected, filter and search work, geometry $g1400 / $g400, screenshots in $shots"
