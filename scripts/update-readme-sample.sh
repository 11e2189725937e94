#!/usr/bin/env bash
# Regenerates the README's sample run (between <!-- sample-run --> and <!-- /sample-run -->) from a
# real run of the Quick start's command: its header, its first results, the not-run groups and
# hints, the start of the recap, and the counts, as upfault printed them.
# tests/readme_sample_test.sh checks that the README still shows what a run prints.
# Usage: update-readme-sample.sh [UPFAULT] (default: build/release/bin/upfault)
set -euo pipefail
cd "$(dirname "$0")/.."
upfault=${1:-build/release/bin/upfault}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
NO_COLOR=1 "$upfault" run scenarios --proxy nginx > "$out" 2>&1 || true
python3 - "$out" README.md <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
recap = next(i for i, l in enumerate(lines) if l.endswith("failed or could not be judged:"))
results = [i for i, l in enumerate(lines[:recap]) if re.match(r"(PASS|FAIL|ERROR|STRICTER|UNSTABLE) ", l)]
groups = [l for l in lines[results[-1] + 1:recap] if l.strip()]
# The header, the results up to the second failure with its reason, the not-run groups and hints,
# the recap's first three lines, and the counts.
fails = [i for i in results if lines[i].startswith("FAIL")]
end = fails[1] + 2 if len(fails) > 1 else results[0] + 6
sample = lines[:end] + ["…"] + groups + [""] + lines[recap:recap + 4] + ["…"]
sample += lines[next(i for i, l in enumerate(lines) if re.match(r"\d+ passed, \d+ failed", l)):]
readme = open(sys.argv[2]).read()
begin, finish = "<!-- sample-run -->\n```text\n", "```\n<!-- /sample-run -->"
a, b = readme.index(begin) + len(begin), readme.index(finish)
open(sys.argv[2], "w").write(readme[:a] + "\n".join(sample) + "\n" + readme[b:])
print(f"README.md: the sample run updated ({len(sample)} lines)")
PY
