#!/usr/bin/env bash
# Unpack what scripts/device_paper.sh brought back from a lent GPU machine into this checkout: the notebooks and
# ledgers of finished claims into book/<paper>/ and benchmarks/results/*.json (replacing those files), the log and
# unfinished notebooks into build/device/ (git-ignored), and runcache.tar.gz, if it lies beside the results, into
# the run cache ($GROKBOOK_CACHE or .cache/runs, git-ignored; carry ".cache/runs" to resume there). Then git status.
#   bash scripts/device_unpack.sh PATH/TO/results.tar.gz      (or the folder holding it; .partNN pieces are joined)
set -euo pipefail
cd "$(dirname "$0")/.."
arg=${1:?usage: bash scripts/device_unpack.sh PATH/TO/results.tar.gz}
[ -d "$arg" ] && arg=${arg%/}/results.tar.gz
src=$(dirname "$arg")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$arg" ]; then
  cp "$arg" "$tmp/results.tar.gz"
elif compgen -G "$arg.part*" >/dev/null; then
  cat "$arg".part* >"$tmp/results.tar.gz"          # split -d names sort in order
else
  echo "error: neither $arg nor $arg.partNN exists" >&2
  exit 2
fi
# the packer writes book/, benchmarks/ and build/ only: refuse anything else (absolute paths, ..)
bad=$(tar tzf "$tmp/results.tar.gz" | grep -vE '^(\./)?(book|benchmarks|build)(/|$)' | grep -vE '^\.?/?$' || true)
bad+=$(tar tzf "$tmp/results.tar.gz" | grep -E '(^|/)\.\.(/|$)' || true)
if [ -n "$bad" ]; then
  echo "error: unexpected paths in the archive: $bad" >&2
  exit 2
fi
mkdir "$tmp/x"
tar xzf "$tmp/results.tar.gz" -C "$tmp/x" --no-same-owner
shopt -s nullglob
n=0
(cd "$tmp/x" && for f in book/*/*.ipynb book/*/*.ledger.json benchmarks/results/*.json; do
   [ -f "$f" ] && printf '%s\n' "$f"; done
 [ -d build/device ] && find build/device -type f) >"$tmp/files"
while read -r f; do
  mkdir -p "$(dirname "$f")"
  cp "$tmp/x/$f" "$f"
  n=$((n + 1))
done <"$tmp/files"
echo "unpacked $n file(s) from $arg"
if [ -f "$src/runcache.tar.gz" ]; then
  cache=${GROKBOOK_CACHE:-.cache/runs}
  if tar tzf "$src/runcache.tar.gz" | grep -qE '(^/|(^|/)\.\.(/|$))'; then
    echo "error: unexpected paths in $src/runcache.tar.gz: not unpacked" >&2
  else
    mkdir -p "$cache"
    tar xzf "$src/runcache.tar.gz" -C "$cache" --no-same-owner
    echo "run cache: $src/runcache.tar.gz -> $cache ($(du -sh "$cache" | cut -f1))"
  fi
fi
if [ -f build/device/device_paper.log ]; then
  echo "log: build/device/device_paper.log; $(grep -E '^steps: ' build/device/device_paper.log | tail -1)"
fi
if grep -q '^build/device/incomplete/' "$tmp/files"; then
  echo "unfinished or failed notebooks (not in book/): $(grep '^build/device/incomplete/.*ipynb$' "$tmp/files" | tr '\n' ' ')"
fi
{ grep -E '^book/.*\.ledger\.json$' "$tmp/files" || true; } | python3 -c '
import json, sys
for path in sys.stdin.read().split():   # the verdicts that came back in this archive
    e = json.load(open(path))
    print("{}: {} ({}, {}, {} s)".format(e.get("claim"), e.get("verdict"), e.get("profile"),
                                         e.get("device_name") or e.get("device"), e.get("wall_s")))
'
echo "git status --short (book/, benchmarks/):"
git status --short -- book benchmarks
echo "$(git status --short -- book benchmarks | wc -l) changed path(s) under book/ and benchmarks/"
