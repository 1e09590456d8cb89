#!/usr/bin/env bash
# npm run model:real-eval: the real-film evaluation of the shipped default bundle (models/DEFAULT).
# Needs the assembled real corpus (.local/real-corpus; training/README.md, "Training on real films"),
# so it is not part of CI. The LAST line of stdout is one JSON object of headline figures, each beside
# its trivial baseline; training/runs/real-eval/metrics.json has every figure with its CI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export OMP_NUM_THREADS="${THREADS:-2}" OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1
"$ROOT/scripts/setup-python.sh" >&2
cd "$ROOT/training"
exec "$ROOT/.venv/bin/python" -m gkmvlp.cli.real_eval "$@"
