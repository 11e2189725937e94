#!/usr/bin/env python3
"""Keeps upfault's C and C++ readable: no file over 450 lines, no function over 80 (issue 13's bar).

What it checks is derived from the tree: every C/C++ source and header under harness/, proxies/
and bench/, except under node_modules/, build trees (build*/, out/, CMakeFiles/, any directory
holding a CMakeCache.txt), hidden directories, and files marked generated in their first lines.
It fails when one of those directories holds no such file (a gate that checks nothing passes
nothing).

A function is a definition whose `{` ends a line after a `)`. It is measured from the first line
of its declaration (a signature wrapped over several lines, a template head, a return type on a
line of its own) to the `}` that balances that `{`, with comments and literals left out of the
count. Control statements, lambdas bound to a name and brace-initialised variables are not
functions; a lambda passed as an argument is measured like one.
Usage: sizes_test.py PROJECT_SOURCE_DIR
"""
import pathlib
import re
import sys

MAX_FILE, MAX_FUNCTION = 450, 80
CHECKED_DIRS = ("harness", "proxies", "bench")
SUFFIXES = {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".ipp", ".inl"}
GENERATED = re.compile(r"@generated|\bdo not edit\b|\bautomatically generated\b|\bgenerated (by|from)\b", re.I)
KEYWORDS = re.compile(r"^\s*(\}\s*)?(if|for|while|switch|else|catch|do|try|return|case|co_return|co_await)\b")
AGGREGATE = re.compile(r"^(class|struct|union|enum|namespace)\b")


def skipped_dir(path: pathlib.Path) -> bool:
    name = path.name
    return (name in ("node_modules", "CMakeFiles", "out", "_deps") or name.startswith((".", "build"))
            or (path / "CMakeCache.txt").exists())


def sources(root: pathlib.Path, generated: list):
    """The C/C++ files under root, skipping vendored, built and generated ones."""
    todo = [root]
    while todo:
        d = todo.pop()
        for p in sorted(d.iterdir()):
            if p.is_dir():
                if not skipped_dir(p):
                    todo.append(p)
            elif p.suffix in SUFFIXES:
                head = p.read_text(encoding="utf-8", errors="replace").splitlines()[:5]
                if any(GENERATED.search(line) for line in head):
                    generated.append(p)
                else:
                    yield p


def code_only(lines):
    """Each line with comments, string and character literals blanked out (same length)."""
    out, in_block = [], False
    for line in lines:
        chars, i, n = list(line), 0, len(line)
        while i < n:
            if in_block:
                end = line.find("*/", i)
                stop = n if end < 0 else end + 2
                chars[i:stop] = " " * (stop - i)
                in_block, i = end < 0, stop
            elif line.startswith("//", i):
                chars[i:] = " " * (n - i)
                break
            elif line.startswith("/*", i):
                in_block = True
            elif (raw := re.match(r'R"([^(\s]*)\(', line[i:])) and (i == 0 or not line[i - 1].isalnum()):
                end = line.find(")" + raw.group(1) + '"', i + raw.end())
                stop = n if end < 0 else end + len(raw.group(1)) + 2
                chars[i:stop] = " " * (stop - i)
                i = stop
            elif line[i] == '"' or (line[i] == "'" and not (i > 0 and line[i - 1].isalnum())):
                j = i + 1  # a ' after a digit or letter is a digit separator (16'384)
                while j < n and line[j] != line[i]:
                    j += 2 if line[j] == "\\" else 1
                stop = min(j + 1, n)
                chars[i:stop] = " " * (stop - i)
                i = stop
            else:
                i += 1
        out.append("".join(chars))
    return out


def continues_declaration(above: str, below: list) -> bool:
    """True when the line `above` belongs to the declaration or statement of the lines `below`:
    always while `below` closes a parenthesis it did not open (a wrapped `for (…;\n …) {`), else
    unless `above` is blank, a directive, a whole control header, or ends a statement or block."""
    if "".join(below).count("(") < "".join(below).count(")"):
        return True
    s = above.strip()
    if not s or s.startswith("#") or s.endswith((";", "{", "}", ":")):
        return False
    return not (KEYWORDS.match(s) and s.count("(") == s.count(")"))


def without_template_head(text: str) -> str:
    m = re.match(r"\s*template\s*<", text)
    if not m:
        return text.strip()
    depth, i = 1, m.end()
    while i < len(text) and depth:
        depth += {"<": 1, ">": -1}.get(text[i], 0)
        i += 1
    return text[i:].strip()


def is_function(declaration: str) -> bool:
    """False for control statements, lambdas bound to a name, initialisers and class heads."""
    if KEYWORDS.match(declaration):
        return False
    head = re.sub(r"^(\s*\[\[[^\]]*\]\]\s*)+", "", without_template_head(declaration)).split("(")[0]
    if AGGREGATE.match(head):
        return False
    return bool(re.search(r"\boperator\b", head)) or not ("[" in head or "=" in head)


def long_functions(lines, code):
    """(first line, length, declaration) of each function over MAX_FUNCTION lines."""
    for i, line in enumerate(code):
        stripped = line.rstrip()
        if not stripped.endswith("{") or ")" not in stripped:
            continue
        first = i
        while first > 0 and continues_declaration(code[first - 1], code[first:i + 1]):
            first -= 1
        declaration = " ".join(code[first:i + 1])
        if not is_function(declaration):
            continue
        depth = 0
        for j in range(i, len(code)):
            depth += code[j].count("{") - code[j].count("}")
            if depth <= 0:
                if j - first + 1 > MAX_FUNCTION:
                    yield first, j - first + 1, lines[first].strip()[:70]
                break


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    problems, generated, counts = [], [], {}
    for top in CHECKED_DIRS:
        files = list(sources(root / top, generated)) if (root / top).is_dir() else []
        counts[top] = len(files)
        if not files:
            problems.append(f"{root / top}: no C/C++ file found to check")
        for path in files:
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) > MAX_FILE:
                problems.append(f"{path}: {len(lines)} lines (at most {MAX_FILE})")
            for first, length, text in long_functions(lines, code_only(lines)):
                problems.append(f"{path}:{first + 1}: a function of {length} lines (at most {MAX_FUNCTION}): {text}")
    print(f"{sum(counts.values())} files checked:", ", ".join(f"{top}/ {n}" for top, n in counts.items()))
    for p in generated:
        print("skipped, generated:", p)
    for p in problems:
        print("FAIL:", p)
    print("PASS" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
