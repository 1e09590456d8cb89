#!/usr/bin/env bash
# The reference "small" GK-MVLP, from scratch: generate, pre-train, fine-tune, evaluate (synthetic test
# split and the real samples in shared/data), export with the parity check. About an hour on 2 cores.
# Resumable: rerun the same command after an interruption (data, checkpoints and finished stages are kept).
#   nohup nice -n 19 training/gkmvlp/configs/run-reference.sh > training/runs/small-ref.log 2>&1 &
# Writes training/runs/small-ref/{data,pretrain,finetune,eval,real}/ and models/gkmvlp-small-synthetic-$VERSION/.
# Knobs (env): REF_DIR, REF_TRAIN, REF_THREADS, REF_VERSION, REF_SEED, REF_REAL_DATA.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
REF="${REF_DIR:-$ROOT/training/runs/small-ref}"
THREADS="${REF_THREADS:-2}"
VERSION="${REF_VERSION:-0.1.0}"
SEED="${REF_SEED:-1}"
REAL="${REF_REAL_DATA:-$ROOT/../shared/data}"
BUNDLE="$ROOT/models/gkmvlp-small-synthetic-$VERSION"
LOG_TAG=reference
source "$ROOT/training/gkmvlp/configs/lib.sh"

"$ROOT/scripts/setup-python.sh"
cd "$ROOT/training"
mkdir -p "$REF"
if [ ! -f "$REF/data/dataset.json" ]; then
  log "generating synthetic data (seed $SEED)"
  run "$PY" -m gkmvlp.cli.generate --out "$REF/data" --seed "$SEED" --train "${REF_TRAIN:-12000}" --val 300 --test 500 \
    --image-size 128 --dicom 0 --previews 0 --workers "$THREADS" --overwrite
fi
log "pre-training"
run "$PY" -m gkmvlp.cli.pretrain --config "$CFG/small-pretrain.json" --data "$REF/data" --out "$REF/pretrain" \
  --threads "$THREADS" --seed "$SEED"
log "fine-tuning"
run "$PY" -m gkmvlp.cli.finetune --config "$CFG/small-finetune.json" --data "$REF/data" --init-from "$REF/pretrain" \
  --out "$REF/finetune" --threads "$THREADS" --seed "$SEED"
log "evaluating on the synthetic test split"
run "$PY" -m gkmvlp.cli.evaluate --checkpoint "$REF/finetune" --data "$REF/data" --out "$REF/eval" --threads "$THREADS"
log "exporting $BUNDLE (parity check)"
run "$PY" -m gkmvlp.cli.export --checkpoint "$REF/finetune" --data "$REF/data" --metrics "$REF/eval/metrics.json" \
  --out "$BUNDLE" --version "$VERSION" --threads "$THREADS" --overwrite
if [ -d "$REAL" ]; then
  log "evaluating the bundle on the real samples in $REAL"
  run "$PY" -m gkmvlp.cli.evaluate_real --bundle "$BUNDLE" --data "$REAL" --out "$REF/real" --threads "$THREADS"
fi
log "done: $BUNDLE"
