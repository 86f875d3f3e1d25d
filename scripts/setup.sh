#!/usr/bin/env bash
# Create .venv with the pinned stack and grokbook installed (editable). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -e .
echo "set up: $(.venv/bin/python -c 'import torch, grokbook; print("torch", torch.__version__)')"
