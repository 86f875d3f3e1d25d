#!/usr/bin/env bash
# The test command: set up, unit tests, execute every notebook with its smoke profile, nbval over the
# executed copies, build the book with warnings as errors. CPU only; 30-40 min on 2 cores (54 notebooks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 PATH="$PWD/.venv/bin:$PATH"
export GROKBOOK_CACHE="${GROKBOOK_CACHE:-$PWD/build/ci-cache}"   # fresh run cache: CI retrains the smoke runs
python -m pytest -q tests -n 2                     # unit tests over two workers
grokbook reproduce --profile smoke --jobs 2          # two notebooks at a time; shared runs train once
python -m pytest -q --nbval-lax build/smoke -p no:cacheprovider -n 2 --dist loadscope   # one notebook per worker
grokbook book
grokbook claims
