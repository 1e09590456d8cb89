#!/usr/bin/env bash
# Label-fraction curve of the reference run: fine-tune its pre-trained checkpoint on 1 % and 10 % of the
# labelled training images (same steps and config as the 100 % fine-tune), evaluate, plot against 100 %.
# Needs a finished run-reference.sh. Resumable. About 10 minutes per fraction on 2 cores.
#   nohup nice -n 19 training/gkmvlp/configs/run-label-fractions.sh > training/runs/label-fractions.log 2>&1 &
# Knobs (env): REF_DIR, REF_THREADS, REF_SEED, FRACTIONS ("0.01 0.1").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
REF="${REF_DIR:-$ROOT/training/runs/small-ref}"
THREADS="${REF_THREADS:-2}"
SEED="${REF_SEED:-1}"
LOG_TAG=label-fractions
source "$ROOT/training/gkmvlp/configs/lib.sh"
cd "$ROOT/training"
[ -f "$REF/eval/metrics.json" ] || { echo "run training/gkmvlp/configs/run-reference.sh first ($REF/eval/metrics.json missing)" >&2; exit 2; }
runs=(--run 1.0 "$REF/eval/metrics.json")
for frac in ${FRACTIONS:-0.01 0.1}; do
  out="$REF/fraction-$frac"
  if [ ! -f "$out/eval/metrics.json" ]; then
    log "fine-tuning on $frac of the labels"
    quiet "$PY" -m gkmvlp.cli.finetune --config "$CFG/small-finetune.json" --data "$REF/data" --init-from "$REF/pretrain" \
      --out "$out/finetune" --threads "$THREADS" --seed "$SEED" --label-fraction "$frac"
    "$PY" -m gkmvlp.cli.evaluate --checkpoint "$out/finetune" --data "$REF/data" --out "$out/eval" --threads "$THREADS" \
      --examples 0 >/dev/null
  fi
  runs+=(--run "$frac" "$out/eval/metrics.json")
done
"$PY" -m gkmvlp.eval.label_fraction "${runs[@]}" --out "$REF"
log "done: $REF/label_fraction.png"
