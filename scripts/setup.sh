#!/usr/bin/env bash
# Create .venv with the pinned stack and grokbook installed (editable). Idempotent.
# On a machine without network, set WHEELS to a folder of wheels downloaded elsewhere (README, "Running on
# a machine without network"): everything is then installed from that folder only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if [ -n "${WHEELS:-}" ]; then
  offline=(--no-index --find-links "$WHEELS")
  .venv/bin/python -m pip install -q "${offline[@]}" -r requirements.txt setuptools
  .venv/bin/python -m pip install -q "${offline[@]}" --no-deps --no-build-isolation -e .
else
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps -e .
fi
echo "set up: $(.venv/bin/python -c 'import torch, grokbook; print("torch", torch.__version__)')"
