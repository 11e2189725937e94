#!/usr/bin/env bash
# Man pages from the CLI's own --help (help2man): upfault(1), and upfault-COMMAND(1) for every
# subcommand `upfault --help` lists, so a page never lists an option the program does not have.
# Written gzipped (gzip -n: no timestamp, the package is reproducible) into OUTDIR.
# Usage: make-manpages.sh UPFAULT VERSION OUTDIR
set -euo pipefail
upfault=$(realpath "$1") version=$2 out=$3
command -v help2man > /dev/null || { echo "make-manpages: help2man is not installed (scripts/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*.1.gz

# "  run                         Run scenarios through …": the lines under "Subcommands:".
"$upfault" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1\t\2/p' > "$tmp/commands"
[[ -s $tmp/commands ]] || { echo "make-manpages: $upfault --help lists no subcommands" >&2; exit 1; }

page() {  # page NAME SUMMARY INCLUDE: help2man over a wrapper named NAME (its --help is the page)
  help2man --no-info --no-discard-stderr --version-string="$version" --name="$2" --include="$3" \
    --output="$tmp/$1.1" "$tmp/$1"
  gzip -9n < "$tmp/$1.1" > "$out/$1.1.gz"
}

{
  echo "[SEE ALSO]"
  sed 's/\t.*//; s/^/.BR upfault- /; s/$/ (1),/' "$tmp/commands" | sed '$ s/,$//'
  echo
  echo "The README (/usr/share/doc/upfault/README.md) walks through each command with examples."
} > "$tmp/see-also"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$upfault" > "$tmp/upfault"
chmod +x "$tmp/upfault"
page upfault "fault-injection test harness for HTTP reverse proxies" "$tmp/see-also"

while IFS=$'\t' read -r name summary; do
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$upfault" "$name" > "$tmp/upfault-$name"
  chmod +x "$tmp/upfault-$name"
  printf '[SEE ALSO]\n.BR upfault (1)\n' > "$tmp/see-upfault"
  # help2man's NAME line: "upfault-run \- run scenarios through a proxy …"
  page "upfault-$name" "${summary,}" "$tmp/see-upfault"
done < "$tmp/commands"
echo "make-manpages: $(ls "$out" | wc -l) pages in $out"
