#!/usr/bin/env bash
# The 0.7.0 trial: fine-tune one self-supervised pre-training (128 px) at larger input sizes. Each arm (an input
# size) runs the member recipe of run-ensemble.sh from the same pre-training: fine-tune real-finetune-0.5.json
# 3500 + 600 decoder steps, then the JSRT continuation 600 + 150, at that size; the learned positions are resized
# from the pre-training's grid (gkmvlp/model/positions.py). Arms run side by side, one thread each. The arm is
# chosen on the VALIDATION films (val_scores; rule below), exported as a format-2 bundle and evaluated on the real
# test films.
# Resumable: finished stages leave a DONE file and are skipped.
#   nohup training/gkmvlp/configs/run-resolution.sh > training/runs/resolution.log 2>&1 &
# Knobs (env): RES_PRETRAIN (a pre-training run folder; default training/runs/e060/pretrain, 0.6.0's seed 3),
#   RES_SYNTH (its synthetic set), RES_SIZES ("192 256"), RES_SEED (3), RES_DIR, RES_CORPUS, RES_VERSION (0.7.0),
#   RES_OUT. The real-film evaluation looks at the TEST films: write the rule that decides on the figure first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DIR="$(realpath -m "${RES_DIR:-$ROOT/training/runs/resolution}")"
C="$(realpath -m "${RES_CORPUS:-$ROOT/.local/real-corpus}")"
OUT="$(realpath -m "${RES_OUT:-$ROOT/.local/trial-bundles}")"
PRE="$(realpath -m "${RES_PRETRAIN:-$ROOT/training/runs/e060/pretrain}")"
SYN="$(realpath -m "${RES_SYNTH:-$ROOT/training/runs/e060/synth}")"
read -r -a SIZES <<< "${RES_SIZES:-192 256}"
SEED="${RES_SEED:-3}"
V="${RES_VERSION:-0.7.0}"
THREADS=1
LOG_TAG=resolution
source "$ROOT/training/gkmvlp/configs/lib.sh"
cd "$ROOT/training"
[ -f "$C/manifest.jsonl" ] || { echo "no corpus at $C (training/gkmvlp/configs/run-real.sh assembles it)" >&2; exit 2; }
[ -f "$PRE/checkpoint.pt" ] || { echo "no pre-training at $PRE" >&2; exit 2; }
[ -f "$SYN/dataset.json" ] || { echo "no synthetic set at $SYN" >&2; exit 2; }
mkdir -p "$DIR" "$OUT"

arm() {  # size: the member recipe's fine-tunes at that input size, one thread
  mkdir -p "$DIR/px$1"
  member_finetunes "$C" "$SYN" "$SEED" "$PRE" "$DIR/px$1/ft" "$DIR/px$1/cont" --image-size "$1"
  log "$1 px: done"
}
two_at_a_time arm "$DIR/arm" "${SIZES[@]}"

export OMP_NUM_THREADS=2
if [ ! -f "$DIR/val.jsonl" ]; then
  log "validation scores of every arm"
  ckpts=()
  for px in "${SIZES[@]}"; do ckpts+=("$DIR/px$px/cont"); done
  "$PY" -m gkmvlp.cli.val_scores --corpus "$C" --checkpoint "${ckpts[@]}" --threads 2 > "$DIR/val.jsonl.tmp"
  mv "$DIR/val.jsonl.tmp" "$DIR/val.jsonl"
fi
# Rule (fixed before any figure): the highest validation pneumonia-vs-normal AUC, unless its validation NIH macro is
# more than 0.01 below the best macro of the arms; then the arm with the best macro.
CHOSEN="$("$PY" -m gkmvlp.cli.choose_arm "$DIR/val.jsonl")"
log "chosen on validation films: $CHOSEN"
d="$CHOSEN" b="$OUT/gkmvlp-tiny-mixed-$V"
if [ ! -f "$b/manifest.json" ]; then
  log "exporting $d as $V"
  quiet "$PY" -m gkmvlp.cli.evaluate --checkpoint "$d" --data "$SYN" --out "$d/../eval" --threads 2
  quiet "$PY" -m gkmvlp.cli.fit_reliability --checkpoint "$d" --corpus "$C" --synthetic "$SYN" --out "$d/../rel" \
    --threads 2 --seed "$SEED"
  quiet "$PY" -m gkmvlp.cli.export --checkpoint "$d" --data "$SYN" --metrics "$d/../eval/metrics.json" \
    --reliability "$d/../rel" --trained-on mixed --out "$b" --version "$V" --threads 2 --overwrite
fi
log "real-film evaluation of $V (test films)"
quiet "$PY" -m gkmvlp.cli.real_eval --bundle "$b" --corpus "$C" --out "$DIR/real-eval" --threads 2 --stamp
log "done: $b"
