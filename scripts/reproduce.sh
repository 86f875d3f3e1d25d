#!/usr/bin/env bash
# The main job: set up, execute every claim notebook with the profile that fits this machine (paper on a
# CUDA GPU, smoke on CPU), then build the book into build/html.
#   PROFILE=smoke|paper   choose the profile instead
#   DEADLINE=SECONDS      start no claim after this many seconds; running training checkpoints and stops
#                         (run the script again to continue; finished claims are kept)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 PATH="$PWD/.venv/bin:$PATH"
profile=${PROFILE:-$(python -c 'import torch; print("paper" if torch.cuda.is_available() else "smoke")')}
echo "profile: $profile"
grokbook reproduce --profile "$profile" ${DEADLINE:+--deadline "$DEADLINE"}
grokbook book
