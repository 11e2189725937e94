#!/usr/bin/env python3
"""Includes point down: the folders of harness/src are the architecture, and no include points up
or across it. The rules are the folders' (LAYERS below), never a list of files: a file moved or
added to a folder is checked by where it is. A public header (include/upfault/X.hpp) belongs to the
folder that holds X.cpp, else to the folder named X, else to base. Only the folders that may use
the network (io, and what stands on it) may include Asio or Beast's streams: the judge, the reports and the
matrix never see a socket.

Usage: dependencies_test.py HARNESS_DIR
"""
import os
import re
import sys

# Each folder and the folders it may include (besides its own). Order: from the bottom up.
LAYERS = {
    "base": [],  # text, durations, bounded input, patterns: vocabulary with no upfault type
    "model": ["base"],  # scenarios and evidence as data; TOML reading; HTTP/1 text
    "h2": ["base"],  # HTTP/2 frames and HPACK, no I/O
    "tls": ["base"],  # certificates and the in-memory TLS engine, no I/O
    "io": ["base"],  # Asio, sockets, listeners
    "judge": ["base", "model", "tls"],  # evaluate() and the checks
    "report": ["base", "model", "judge"],  # JSON, JUnit, Markdown, console, baselines, merge
    "client": ["base", "model", "io", "tls", "h2"],  # the client that talks to the proxy
    "upstream": ["base", "model", "io", "tls", "h2"],  # the fake upstream and its steps
    "proxy": ["base", "model", "io", "tls"],  # profiles, routes, processes, signals
    "matrix": ["base", "model", "judge", "report", "proxy"],  # the conformance page
    "scenario": ["base", "model", "judge", "upstream"],  # the loader: steps and checks parse here
    "run": ["base", "model", "io", "tls", "h2", "judge", "client", "upstream", "proxy", "scenario"],
    "bench": ["base", "model", "io", "tls", "h2", "client", "upstream", "proxy", "scenario", "run"],
}
# Beast's HTTP parser (boost/beast/http/) parses text and may serve any folder; its streams may not.
NETWORK = re.compile(r'#include\s*[<"](boost/asio|boost/beast/(core|ssl|websocket)|boost/beast\.hpp)')
INCLUDE = re.compile(r'#include\s*"([^"]+)"')


def main(harness):
    src = os.path.join(harness, "src")
    problems = []
    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    for d in folders:
        if d not in LAYERS:
            problems.append(f"src/{d}/ is no layer: give it its place in LAYERS (tests/dependencies_test.py)")
    for f in os.listdir(src):
        if os.path.isfile(os.path.join(src, f)):
            problems.append(f"src/{f} is in no folder: move it to the folder of its layer")
    stems = {}
    for d in folders:
        for root, _, files in os.walk(os.path.join(src, d)):
            for f in files:
                if f.endswith(".cpp"):
                    stems.setdefault(f[:-4], d)

    def public_folder(header):
        stem = os.path.splitext(header)[0]
        if stem in stems:
            return stems[stem]
        if stem in LAYERS:
            return stem
        if os.path.exists(os.path.join(harness, "gtest", stem + ".cpp")):
            return "gtest"  # the GoogleTest adapter: above every layer, included by none
        return "base"

    def folder_of_include(path):
        if path.startswith("upfault/"):
            return public_folder(path[len("upfault/"):])
        return path.split("/")[0] if "/" in path else None

    checked = 0
    files = []
    for d in folders:
        for root, _, names in os.walk(os.path.join(src, d)):
            files += [(os.path.join(root, n), d) for n in names if n.endswith((".cpp", ".hpp", ".in"))]
    public = os.path.join(harness, "include", "upfault")
    files += [(os.path.join(public, n), public_folder(n)) for n in os.listdir(public)]
    for path, folder in sorted(files):
        if folder == "gtest":
            continue
        rel = os.path.relpath(path, harness)
        allowed = set(LAYERS.get(folder, [])) | {folder}
        with open(path, encoding="utf-8") as text:
            for number, line in enumerate(text, 1):
                if NETWORK.match(line) and "io" not in allowed:
                    problems.append(f"{rel}:{number}: {folder}/ may not use the network: {line.strip()}")
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = folder_of_include(m.group(1))
                if target is None:
                    problems.append(f"{rel}:{number}: include \"{m.group(1)}\" by its folder (src/FOLDER/…)")
                elif target not in allowed:
                    problems.append(f"{rel}:{number}: {folder}/ includes {target}/, which is not below it: "
                                    f"{line.strip()} (may include: {', '.join(sorted(allowed))})")
        checked += 1
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print(f"ok: {checked} files in {len(folders)} folders; every include points down")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
