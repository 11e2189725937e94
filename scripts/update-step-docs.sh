#!/usr/bin/env bash
# Rewrites the generated Steps section of scenarios/README.md from the step registry
# (`upfault list --steps --markdown`). Usage: scripts/update-step-docs.sh [path/to/upfault]
set -euo pipefail
cd "$(dirname "$0")/.."
upfault=${1:-build/dev/bin/upfault}
python3 - "$upfault" <<'PY'
import subprocess, sys
md = subprocess.run([sys.argv[1], "list", "--steps", "--markdown"], check=True, capture_output=True, text=True).stdout
path = "scenarios/README.md"
text = open(path, encoding="utf-8").read()
begin = "by `upfault list --steps --markdown`; a test checks it -->\n"
end = "<!-- end of steps -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(path, "w", encoding="utf-8").write(text[:a] + md + text[b:])
PY
