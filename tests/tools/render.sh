#!/usr/bin/env bash
# Render a workbook to PNG pages, to look at what an annotated copy shows.
#
#   tests/tools/render.sh FILE.xlsx OUTDIR
#
# LibreOffice (soffice, headless, with a private profile so parallel runs do
# not clash, 120 s timeout) converts FILE to PDF, then `pdftoppm -png -r 60`
# writes OUTDIR/<name>-<page>.png; the PNG paths are printed, one a line.
# Needs soffice and pdftoppm (poppler-utils). Exit 2 on usage errors, 1 when
# a conversion fails.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 FILE.xlsx OUTDIR" >&2
  exit 2
fi
file=$1
outdir=$2
if [ ! -f "$file" ]; then
  echo "render.sh: $file is not a file" >&2
  exit 2
fi
for tool in soffice pdftoppm timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "render.sh: $tool not installed" >&2
    exit 1
  fi
done

mkdir -p "$outdir"
work=$(mktemp -d "${TMPDIR:-/tmp}/render-XXXXXX")
trap 'rm -rf "$work"' EXIT

abs_file=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
if ! timeout --kill-after=10 120 soffice "-env:UserInstallation=file://$work/profile" \
    --headless --norestore --convert-to pdf --outdir "$work/pdf" "$abs_file" >"$work/soffice.log" 2>&1; then
  echo "render.sh: soffice failed or timed out:" >&2
  cat "$work/soffice.log" >&2
  exit 1
fi
stem=$(basename "${file%.*}")
pdf="$work/pdf/$stem.pdf"
if [ ! -s "$pdf" ]; then
  echo "render.sh: soffice made no PDF:" >&2
  cat "$work/soffice.log" >&2
  exit 1
fi

rm -f "$outdir/$stem"-*.png
pdftoppm -png -r 60 "$pdf" "$outdir/$stem"
ls -1 "$outdir/$stem"-*.png
