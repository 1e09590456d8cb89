#!/usr/bin/env bash
# The 0.8.0 trial: the corpus plus SIMHADRI29's 256 px copies of its own NIH training and validation films
# (assemble_real --second-copies; gkmvlp/data/real/holdout.py says why), fine-tuned with 0.6.0's member recipe from
# 0.6.0's pre-training, one arm per seed side by side (one thread each). The first seed's bundle is exported with
# calibration and the input check as V, the others as V-s<seed>; every arm is scored on the held-out NIH pneumonia
# set against its same-seed control (CP_CONTROLS), and the first on the real test films.
# Resumable: finished stages leave a DONE file and are skipped.
#   nohup training/gkmvlp/configs/run-copies.sh > training/runs/copies.log 2>&1 &
# Knobs (env): CP_CLONES (the source clones; default /work/.mirror), CP_CORPUS, CP_BASE_CORPUS (the corpus it
#   extends, for the check that its rows are unchanged), CP_PRETRAIN, CP_SYNTH, CP_SEEDS ("3 4"), CP_CONTROLS
#   (bundle per seed, "3=DIR 4=DIR"), CP_DIR, CP_VERSION (0.8.0), CP_OUT, CP_HOLDOUT. Evaluation looks at the TEST
#   films and the held-out set: write the rule that decides on the figures first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DIR="$(realpath -m "${CP_DIR:-$ROOT/training/runs/copies}")"
CLONES="$(realpath -m "${CP_CLONES:-/work/.mirror}")"
C="$(realpath -m "${CP_CORPUS:-$ROOT/.local/real-corpus-copies}")"
BASE="$(realpath -m "${CP_BASE_CORPUS:-$ROOT/.local/real-corpus}")"
OUT="$(realpath -m "${CP_OUT:-$ROOT/.local/trial-bundles}")"
PRE="$(realpath -m "${CP_PRETRAIN:-$ROOT/training/runs/e060/pretrain}")"
SYN="$(realpath -m "${CP_SYNTH:-$ROOT/training/runs/e060/synth}")"
HOLD="$(realpath -m "${CP_HOLDOUT:-$ROOT/.local/nih-holdout}")"
read -r -a SEEDS <<< "${CP_SEEDS:-3 4}"
read -r -a CONTROLS <<< "${CP_CONTROLS:-3=$ROOT/.local/trial-bundles/gkmvlp-tiny-mixed-0.6.0-a 4=$ROOT/.local/trial-bundles/gkmvlp-tiny-mixed-0.6.0-b}"
V="${CP_VERSION:-0.8.0}"
THREADS=1
LOG_TAG=copies
source "$ROOT/training/gkmvlp/configs/lib.sh"
export FT_CONFIG=real-finetune-0.5-copies.json CONT_CONFIG=real-finetune-jsrt-continue-copies.json
cd "$ROOT/training"
[ -f "$PRE/checkpoint.pt" ] || { echo "no pre-training at $PRE" >&2; exit 2; }
[ -f "$SYN/dataset.json" ] || { echo "no synthetic set at $SYN" >&2; exit 2; }
mkdir -p "$DIR" "$OUT"
if [ ! -f "$C/manifest.jsonl" ]; then
  log "assembling the corpus with second copies from $CLONES"
  OMP_NUM_THREADS=2 "$PY" -m gkmvlp.cli.assemble_real --clones "$CLONES" --out "$C" --second-copies --no-progress
fi
if [ -f "$BASE/manifest.jsonl" ]; then  # the copies are all that differs from the corpus it extends
  cmp <(grep -v '"id": "nih256:' "$C/manifest.jsonl") "$BASE/manifest.jsonl" \
    || { echo "$C differs from $BASE beyond the second copies" >&2; exit 2; }
fi

arm() {  # seed: the member recipe's fine-tunes on the corpus with copies, one thread
  mkdir -p "$DIR/s$1"
  member_finetunes "$C" "$SYN" "$1" "$PRE" "$DIR/s$1/ft" "$DIR/s$1/cont"
  log "seed $1: done"
}
two_at_a_time arm "$DIR/arm" "${SEEDS[@]}"

export OMP_NUM_THREADS=2
for s in "${SEEDS[@]}"; do
  d="$DIR/s$s"
  if [ "$s" = "${SEEDS[0]}" ]; then b="$OUT/gkmvlp-tiny-mixed-$V"; else b="$OUT/gkmvlp-tiny-mixed-$V-s$s"; fi
  if [ ! -f "$b/manifest.json" ]; then
    log "seed $s: exporting $b"
    quiet "$PY" -m gkmvlp.cli.evaluate --checkpoint "$d/cont" --data "$SYN" --out "$d/eval" --threads 2
    rel=()
    if [ "$s" = "${SEEDS[0]}" ]; then  # format 2 (calibration, input check): the bundle that could ship
      quiet "$PY" -m gkmvlp.cli.fit_reliability --checkpoint "$d/cont" --corpus "$C" --synthetic "$SYN" \
        --out "$d/rel" --threads 2 --seed "$s"
      rel=(--reliability "$d/rel")
    fi
    quiet "$PY" -m gkmvlp.cli.export --checkpoint "$d/cont" --data "$SYN" --metrics "$d/eval/metrics.json" \
      "${rel[@]}" --trained-on mixed --out "$b" --version "$V$([ "$s" = "${SEEDS[0]}" ] || echo "-s$s")" \
      --threads 2 --overwrite
  fi
  control=""
  for c in "${CONTROLS[@]}"; do [ "${c%%=*}" = "$s" ] && control="${c#*=}"; done
  if [ ! -f "$d/holdout.json" ]; then
    log "seed $s: held-out pneumonia set${control:+, against $control}"
    "$PY" -m gkmvlp.cli.holdout_eval --bundle "$b" --holdout "$HOLD" ${control:+--against "$control"} \
      > "$d/holdout.json.tmp"
    mv "$d/holdout.json.tmp" "$d/holdout.json"
  fi
done
log "real-film evaluation of $V (test films)"
quiet "$PY" -m gkmvlp.cli.real_eval --bundle "$OUT/gkmvlp-tiny-mixed-$V" --corpus "$BASE" --out "$DIR/real-eval" \
  --threads 2
log "done"
