#!/usr/bin/env bash
# Model smoke test (npm run model:smoke): set up Python, generate a small synthetic set, pre-train and
# fine-tune the tiny GK-MVLP, evaluate on the held-out test split, export + parity-check a bundle.
# The LAST line of stdout is one JSON object with the headline metrics and the bundle path.
#
# Sized for a 2-core CPU machine (target < 15 min). Knobs (env): SMOKE_DIR, SMOKE_TRAIN,
# SMOKE_PRETRAIN_STEPS, SMOKE_FINETUNE_STEPS, SMOKE_DECODER_STEPS, SMOKE_THREADS.
# The fine-tune trains the image side and the task heads jointly, then the report decoder alone on
# the frozen image side's cached memory (training/gkmvlp/train/decoder_phase.py says why).
# torch's OpenMP threads and OpenBLAS's own threads must not both take every core: oversubscribed,
# a training step took 2.3x as long here (1439 ms against 612 ms at batch 16), so BLAS stays at 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE_DIR="${SMOKE_DIR:-$ROOT/training/runs/smoke}"
TRAIN="${SMOKE_TRAIN:-6000}"
PRE_STEPS="${SMOKE_PRETRAIN_STEPS:-1450}"
FT_STEPS="${SMOKE_FINETUNE_STEPS:-850}"
DEC_STEPS="${SMOKE_DECODER_STEPS:-600}"
THREADS="${SMOKE_THREADS:-2}"
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1

start=$(date +%s)
log() { echo "[model-smoke $(( $(date +%s) - start )) s] $*" >&2; }

"$ROOT/scripts/setup-python.sh" >&2
PY="$ROOT/.venv/bin/python"
cd "$ROOT/training"

rm -rf "$SMOKE_DIR"
mkdir -p "$SMOKE_DIR"
DATA="$SMOKE_DIR/data"

log "generating synthetic data (train $TRAIN) ..."
"$PY" -m gkmvlp.cli.generate --out "$DATA" --seed 0 --train "$TRAIN" --val 150 --test 250 \
  --image-size 128 --dicom 0 --previews 0 --workers "$THREADS" --no-progress >&2

log "pre-training tiny ($PRE_STEPS steps) ..."
"$PY" -m gkmvlp.cli.pretrain --config "$ROOT/training/gkmvlp/configs/smoke-pretrain.json" --data "$DATA" \
  --out "$SMOKE_DIR/pretrain" --steps "$PRE_STEPS" --threads "$THREADS" --no-resume >&2

log "fine-tuning ($FT_STEPS steps, 100% labels, then $DEC_STEPS report-decoder steps) ..."
"$PY" -m gkmvlp.cli.finetune --config "$ROOT/training/gkmvlp/configs/smoke-finetune.json" --data "$DATA" \
  --init-from "$SMOKE_DIR/pretrain" --out "$SMOKE_DIR/finetune" --steps "$FT_STEPS" --decoder-steps "$DEC_STEPS" --threads "$THREADS" \
  --label-fraction 1.0 --no-resume >&2

log "evaluating on the held-out test split ..."
"$PY" -m gkmvlp.cli.evaluate --checkpoint "$SMOKE_DIR/finetune" --data "$DATA" --out "$SMOKE_DIR/eval" \
  --threads "$THREADS" >&2

log "exporting the bundle + parity check ..."
BUNDLE="$SMOKE_DIR/gkmvlp-tiny-synthetic-smoke"
"$PY" -m gkmvlp.cli.export --checkpoint "$SMOKE_DIR/finetune" --data "$DATA" --metrics "$SMOKE_DIR/eval/metrics.json" \
  --out "$BUNDLE" --version 0.0.3-smoke --threads "$THREADS" --overwrite >&2

log "done in $(( $(date +%s) - start )) s"
"$PY" - "$SMOKE_DIR/eval/metrics.json" "$BUNDLE" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
man = json.load(open(sys.argv[2] + "/manifest.json"))
print(json.dumps({
    "auc": round(m["auc_macro"], 4), "iou": round(m["localization_mean_iou"], 4),
    "pointing": round(m["pointing_game"], 4), "bleu4": round(m["bleu4"], 4), "rougeL": round(m["rougeL"], 4),
    "ce_f1": round(m["ce_f1"], 4), "vqa_closed_acc": round(m["vqa_closed_acc"], 4),
    "vqa_open_acc": round(m["vqa_open_acc"], 4), "parity_max_abs": man["parity"]["max_abs_diff"],
    "bundle": sys.argv[2]}))
PY
