#!/usr/bin/env bash
# Long "small" reference training (resumable: rerun the same command after an interruption).
#   nohup nice -n 19 training/gkmvlp/configs/run-reference.sh > training/runs/small-ref/driver.log 2>&1 &
# Writes training/runs/small-ref/{data,pretrain,finetune,eval}/ and, after the parity check,
# models/gkmvlp-small-synthetic-0.1.0/. Knobs (env): REF_DIR, REF_TRAIN, REF_THREADS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
REF="${REF_DIR:-$ROOT/training/runs/small-ref}"
THREADS="${REF_THREADS:-1}"
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1  # see scripts/model-smoke.sh
PY="$ROOT/.venv/bin/python"
CFG="$ROOT/training/gkmvlp/configs"
cd "$ROOT/training"
mkdir -p "$REF"
[ -f "$REF/data/dataset.json" ] || "$PY" -m gkmvlp.cli.generate --out "$REF/data" --seed 1 --train "${REF_TRAIN:-4000}" \
  --val 300 --test 500 --image-size 128 --dicom 0 --previews 0 --no-progress --overwrite
"$PY" -m gkmvlp.cli.pretrain --config "$CFG/small-pretrain.json" --data "$REF/data" --out "$REF/pretrain" \
  --threads "$THREADS" 2>&1 | stdbuf -oL tr "\r" "\n" | grep --line-buffered -v "^\s*$" >> "$REF/train.log"
"$PY" -m gkmvlp.cli.finetune --config "$CFG/small-finetune.json" --data "$REF/data" --init-from "$REF/pretrain" \
  --out "$REF/finetune" --threads "$THREADS" 2>&1 | stdbuf -oL tr "\r" "\n" | grep --line-buffered -v "^\s*$" >> "$REF/train.log"
"$PY" -m gkmvlp.cli.evaluate --checkpoint "$REF/finetune" --data "$REF/data" --out "$REF/eval" --threads "$THREADS"
"$PY" -m gkmvlp.cli.export --checkpoint "$REF/finetune" --data "$REF/data" --metrics "$REF/eval/metrics.json" \
  --out "$ROOT/models/gkmvlp-small-synthetic-0.1.0" --version 0.1.0 --threads "$THREADS" --overwrite
