#!/usr/bin/env bash
# The test command: set up, unit tests, execute every notebook once with its smoke profile, check the
# executed copies and their ledgers, build the book with warnings as errors. CPU only, 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 PATH="$PWD/.venv/bin:$PATH"
export GROKBOOK_CACHE="${GROKBOOK_CACHE:-$PWD/build/ci-cache}"   # fresh run cache: CI retrains the smoke runs
python -m pytest -q tests -n 2                     # unit tests over two workers
grokbook reproduce --profile smoke --jobs 2          # two notebooks at a time; shared runs train once
python -m pytest -q tests/executed                    # executed copies and ledgers (no re-execution)
grokbook book
grokbook claims
