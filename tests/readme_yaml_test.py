#!/usr/bin/env python3
"""Every ```yaml block of README.md parses (a CI example a user pastes must be valid YAML), and the
README's commands need no sudo (a root shell or a debian:12 container has none)."""
import re
import sys

import yaml

text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
if not blocks:
    print("FAIL: README.md has no yaml block")
    sys.exit(1)
failed = False
for i, block in enumerate(blocks, 1):
    try:
        yaml.safe_load(block)
        print(f"ok: yaml block {i} parses")
    except yaml.YAMLError as e:
        print(f"FAIL: yaml block {i} does not parse: {e}")
        failed = True
for line in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
    if re.search(r"(^|[;&|]\s*)sudo\s", line, flags=re.M):
        print(f"FAIL: a README command starts with sudo: {line.strip()[:80]}")
        failed = True
sys.exit(1 if failed else 0)
