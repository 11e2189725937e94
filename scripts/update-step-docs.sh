#!/usr/bin/env bash
# Rewrites the generated Steps section and expectations table of scenarios/README.md from the
# step and check registries (`upfault list --steps|--checks --markdown`). Usage: scripts/update-step-docs.sh [path/to/upfault]
set -euo pipefail
cd "$(dirname "$0")/.."
upfault=${1:-build/dev/bin/upfault}
python3 - "$upfault" <<'PY'
import subprocess, sys
path = "scenarios/README.md"
text = open(path, encoding="utf-8").read()
for what in ("steps", "checks"):
    md = subprocess.run([sys.argv[1], "list", "--" + what, "--markdown"], check=True, capture_output=True, text=True).stdout
    begin = f"by `upfault list --{what} --markdown`; a test checks it -->\n"
    a, b = text.index(begin) + len(begin), text.index(f"<!-- end of {what} -->")
    text = text[:a] + md + text[b:]
open(path, "w", encoding="utf-8").write(text)
PY
