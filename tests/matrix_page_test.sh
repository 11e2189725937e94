#!/usr/bin/env bash
# The matrix page in a real headless browser (Debian's chromium): it loads with no console
# errors, has one row per scenario and one column per proxy, and a screenshot is produced.
# Usage: matrix_page_test.sh UPFAULT SCENARIOS_DIR
set -euo pipefail
upfault=$1
scenarios=$2
if ! command -v chromium >/dev/null; then
  if [[ "${UPFAULT_REQUIRE_PROXIES:-}" == 1 ]]; then echo "FAIL: chromium is not installed"; exit 1; fi
  echo "SKIP: chromium is not installed"; exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

browse() {  # browse URL LOG [extra flags]: headless chromium, as the probe runs it, offline
  local url=$1 log=$2; shift 2
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$out/profile-$RANDOM" --enable-logging=stderr --v=0 "$@" "$url" 2>"$log"
}

# The console check must be able to fail: a page that logs an error is caught.
echo '<!doctype html><script>console.error("deliberate")</script>' > "$out/bad.html"
browse "file://$out/bad.html" "$out/bad.log" --dump-dom >/dev/null
grep -q 'CONSOLE' "$out/bad.log" || { echo "FAIL: console errors are not detected"; exit 1; }

"$upfault" matrix "$scenarios" --proxies reference,blind --lanes 8 --out "$out/m" >/dev/null
browse "file://$out/m/index.html" "$out/page.log" --dump-dom > "$out/dom.html"
if grep 'CONSOLE' "$out/page.log"; then echo "FAIL: the page logs to the console"; exit 1; fi
rows=$(grep -o '<tr class="scenario"' "$out/dom.html" | wc -l)
cols=$(grep -o '<th class="proxy"' "$out/dom.html" | wc -l)
want=$("$upfault" check "$scenarios" | grep -oE '^[0-9]+')
[[ "$rows" == "$want" ]] || { echo "FAIL: $rows rows for $want scenarios"; exit 1; }
[[ "$cols" == 2 ]] || { echo "FAIL: $cols proxy columns, want 2"; exit 1; }
grep -q 'http' "$out/m/index.html" && ! grep -qE '<(script|link|img)[^>]+(src|href)="https?://' "$out/m/index.html" \
  || { echo "FAIL: the page loads external assets"; exit 1; }

browse "file://$out/m/index.html" "$out/shot.log" --window-size=1200,1600 --screenshot="$out/shot.png" >/dev/null
[[ -s "$out/shot.png" ]] || { echo "FAIL: no screenshot"; exit 1; }
echo "matrix page: $rows rows, $cols proxy columns, no console errors, screenshot $(stat -c %s "$out/shot.png") bytes"
