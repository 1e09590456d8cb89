#!/usr/bin/env bash
# The real-film GK-MVLP bundle, from scratch: assemble the real corpus from local clones, generate the
# synthetic set, pre-train (its tokenizer also learns the IU X-ray reports' words), fine-tune on
# synthetic + real films (unknown labels masked, JSRT/OpenIST anatomy as region boxes), evaluate on the
# synthetic test split, fit calibration and the input check on real validation films, export a
# format-2 bundle with the parity check, and run the real-film evaluation.
# Resumable: rerun the same command after an interruption (finished stages and checkpoints are kept).
#   nohup nice -n 19 training/gkmvlp/configs/run-real.sh > training/runs/real.log 2>&1 &
# Knobs (env): REAL_DIR, REAL_CLONES (folder of the source clones; default /work/.mirror),
#   REAL_CORPUS, REAL_TRAIN, REAL_SIZE, REAL_PRE_STEPS, REAL_FT_STEPS, REAL_DEC_STEPS, REAL_THREADS,
#   REAL_VERSION, REAL_SEED, REAL_SHARE, REAL_BUNDLE (output folder), REAL_PRE_CONFIG and REAL_FT_CONFIG
#   (pre-training and fine-tune config files in configs/, default real-pretrain.json and real-finetune.json),
#   REAL_SOUP (space-separated fine-tune folders from one pre-training: their weight average replaces the
#   pre-training and fine-tune stages; gkmvlp/train/soup.py), REAL_CONTINUE (a fine-tuned folder: its weights,
#   anatomy head included, start the fine-tune in place of a pre-training, which is skipped).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# paths as the caller gave them, made absolute before the script changes directory
DIR="$(realpath -m "${REAL_DIR:-$ROOT/training/runs/real}")"
CLONES="$(realpath -m "${REAL_CLONES:-/work/.mirror}")"
CORPUS="$(realpath -m "${REAL_CORPUS:-$ROOT/.local/real-corpus}")"
THREADS="${REAL_THREADS:-2}"
SIZE="${REAL_SIZE:-tiny}"
VERSION="${REAL_VERSION:-0.5.1}"
SEED="${REAL_SEED:-0}"
BUNDLE="$(realpath -m "${REAL_BUNDLE:-$ROOT/models/gkmvlp-$SIZE-mixed-$VERSION}")"
SOUP=()
for f in ${REAL_SOUP:-}; do SOUP+=("$(realpath -m "$f")"); done
CONTINUE="${REAL_CONTINUE:+$(realpath -m "$REAL_CONTINUE")}"
LOG_TAG=real
source "$ROOT/training/gkmvlp/configs/lib.sh"

"$ROOT/scripts/setup-python.sh"
cd "$ROOT/training"
mkdir -p "$DIR"
if [ ! -f "$CORPUS/manifest.jsonl" ]; then
  log "assembling the real corpus from $CLONES into $CORPUS"
  run "$PY" -m gkmvlp.cli.assemble_real --clones "$CLONES" --out "$CORPUS"
fi
if [ ! -f "$DIR/synth/dataset.json" ]; then
  log "generating synthetic data (seed $SEED)"
  run "$PY" -m gkmvlp.cli.generate --out "$DIR/synth" --seed "$SEED" --train "${REAL_TRAIN:-5000}" --val 150 --test 250 \
    --image-size 128 --dicom 0 --previews 0 --workers "$THREADS" --overwrite
fi
if [ "${#SOUP[@]}" -gt 0 ]; then
  log "averaging the fine-tunes ${SOUP[*]}"
  run "$PY" -m gkmvlp.cli.soup --out "$DIR/finetune" "${SOUP[@]}"
else
  INIT="$DIR/pretrain"
  if [ -n "$CONTINUE" ]; then
    INIT="$CONTINUE"
    log "continuing the fine-tune of $CONTINUE (no pre-training)"
  else
    log "pre-training ($SIZE)"
    quiet "$PY" -m gkmvlp.cli.pretrain --config "$CFG/${REAL_PRE_CONFIG:-real-pretrain.json}" --size "$SIZE" --data "$DIR/synth" \
      --real-corpus "$CORPUS" --out "$DIR/pretrain" --steps "${REAL_PRE_STEPS:-1450}" --threads "$THREADS" --seed "$SEED"
  fi
  log "fine-tuning on synthetic + real films"
  quiet "$PY" -m gkmvlp.cli.finetune --config "$CFG/${REAL_FT_CONFIG:-real-finetune.json}" --size "$SIZE" --data "$DIR/synth" \
    --real-corpus "$CORPUS" --real-share "${REAL_SHARE:-0.6}" --init-from "$INIT" --out "$DIR/finetune" \
    --steps "${REAL_FT_STEPS:-3500}" --decoder-steps "${REAL_DEC_STEPS:-600}" --threads "$THREADS" --seed "$SEED"
fi
log "evaluating on the synthetic test split"
quiet "$PY" -m gkmvlp.cli.evaluate --checkpoint "$DIR/finetune" --data "$DIR/synth" --out "$DIR/eval" --threads "$THREADS"
log "fitting calibration and the input check on real validation films"
quiet "$PY" -m gkmvlp.cli.fit_reliability --checkpoint "$DIR/finetune" --corpus "$CORPUS" --synthetic "$DIR/synth" \
  --out "$DIR/reliability" --threads "$THREADS" --seed "$SEED"
log "exporting $BUNDLE (parity check)"
quiet "$PY" -m gkmvlp.cli.export --checkpoint "$DIR/finetune" --data "$DIR/synth" --metrics "$DIR/eval/metrics.json" \
  --reliability "$DIR/reliability" --trained-on mixed --out "$BUNDLE" --version "$VERSION" --threads "$THREADS" --overwrite
log "real-film evaluation"
quiet "$PY" -m gkmvlp.cli.real_eval --bundle "$BUNDLE" --corpus "$CORPUS" --out "$DIR/real-eval" --threads "$THREADS" --stamp
log "done: $BUNDLE"
