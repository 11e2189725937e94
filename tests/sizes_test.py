#!/usr/bin/env python3
"""Keeps harness/ readable: no file over 450 lines, no function over 80 (issue 13's bar).

A function is a definition whose signature line ends with `) ... {` and whose body ends at the
first `}` indented no deeper than that line (the tree is clang-formatted, so that holds).
Usage: sizes_test.py HARNESS_DIR
"""
import pathlib
import re
import sys

MAX_FILE, MAX_FUNCTION = 450, 80
KEYWORDS = re.compile(r"^\s*(\}\s*)?(if|for|while|switch|else|catch|do|try|return|case)\b")
SIGNATURE = re.compile(r"^(\s*)\S.*\)\s*(const\s*)?(override\s*)?(noexcept\s*)?(->\s*[^{]+)?\{\s*(//.*)?$")

root = pathlib.Path(sys.argv[1])
problems = []
files = sorted(p for p in root.rglob("*") if p.suffix in (".cpp", ".hpp"))
for path in files:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > MAX_FILE:
        problems.append(f"{path}: {len(lines)} lines (at most {MAX_FILE})")
    for i, line in enumerate(lines):
        m = SIGNATURE.match(line)
        if not m or KEYWORDS.match(line) or "[" in line.split("(")[0] or "=" in line.split("(")[0]:
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            closing = lines[j].lstrip()
            if closing.startswith("}") and len(lines[j]) - len(closing) <= len(indent):
                if j - i + 1 > MAX_FUNCTION:
                    problems.append(f"{path}:{i + 1}: a function of {j - i + 1} lines (at most {MAX_FUNCTION}): {line.strip()[:70]}")
                break
print(f"{len(files)} files checked")
for p in problems:
    print("FAIL:", p)
print("PASS" if not problems else f"{len(problems)} problems")
sys.exit(1 if problems else 0)
