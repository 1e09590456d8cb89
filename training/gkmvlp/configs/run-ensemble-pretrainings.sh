#!/usr/bin/env bash
# The 0.6.1 trial: an ensemble whose members come from different self-supervised pre-trainings. Each seed runs the
# whole member pipeline of run-ensemble.sh (synthetic set, pre-training, fine-tune, JSRT continuation) with that
# seed; the seeds run side by side, one thread each. The first seed's bundle is the primary (anatomy, boxes, report,
# VQA, input check); every other seed contributes its classifier (gkmvlp.cli.ensemble), and the ensemble is
# evaluated on real films.
# Resumable: finished stages leave a DONE file and are skipped.
#   nohup training/gkmvlp/configs/run-ensemble-pretrainings.sh > training/runs/ensemble-pt.log 2>&1 &
# Knobs (env): ENS_DIR (one folder per seed, s<seed>/{synth,pretrain,ft,cont}), ENS_CORPUS, ENS_SEEDS ("3 5 6"),
#   ENS_VERSION, ENS_OUT. The real-film evaluation looks at the TEST films: write the rule that decides on the figure
#   before running it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DIR="$(realpath -m "${ENS_DIR:-$ROOT/training/runs/ensemble-pt}")"
C="$(realpath -m "${ENS_CORPUS:-$ROOT/.local/real-corpus}")"
OUT="$(realpath -m "${ENS_OUT:-$ROOT/.local/trial-bundles}")"
read -r -a SEEDS <<< "${ENS_SEEDS:-3 5 6}"
V="${ENS_VERSION:-0.6.1}"
THREADS=1
LOG_TAG=ensemble-pt
source "$ROOT/training/gkmvlp/configs/lib.sh"
cd "$ROOT/training"
[ -f "$C/manifest.jsonl" ] || { echo "no corpus at $C (training/gkmvlp/configs/run-real.sh assembles it)" >&2; exit 2; }
[ "${#SEEDS[@]}" -ge 2 ] || { echo "ENS_SEEDS needs at least two seeds" >&2; exit 2; }
mkdir -p "$DIR" "$OUT"

member() {  # seed: the member's whole pipeline on one thread
  local s=$1 d="$DIR/s$1"
  mkdir -p "$d"
  if [ ! -f "$d/synth/dataset.json" ]; then
    log "seed $s: synthetic set"
    quiet "$PY" -m gkmvlp.cli.generate --out "$d/synth" --seed "$s" --train 5000 --val 150 --test 250 \
      --image-size 128 --dicom 0 --previews 0 --workers 1 --overwrite
  fi
  if [ ! -f "$d/pretrain/DONE" ]; then
    log "seed $s: self-supervised pre-training"
    quiet "$PY" -m gkmvlp.cli.pretrain --config "$CFG/real-pretrain-ssl.json" --size tiny --data "$d/synth" \
      --real-corpus "$C" --out "$d/pretrain" --steps 2900 --threads 1 --seed "$s"
    touch "$d/pretrain/DONE"
  fi
  member_finetunes "$C" "$d/synth" "$s" "$d/pretrain" "$d/ft" "$d/cont"
  log "seed $s: done"
}
two_at_a_time member "$DIR/member" "${SEEDS[@]}"

export OMP_NUM_THREADS=2
P="${SEEDS[0]}"
PRIMARY="$OUT/gkmvlp-tiny-mixed-$V-s$P"
members=()
for s in "${SEEDS[@]}"; do
  d="$DIR/s$s" b="$OUT/gkmvlp-tiny-mixed-$V-s$s"
  [ -f "$b/manifest.json" ] && { [ "$s" = "$P" ] || members+=(--member "$b"); continue; }
  log "seed $s: exporting"
  quiet "$PY" -m gkmvlp.cli.evaluate --checkpoint "$d/cont" --data "$d/synth" --out "$d/eval" --threads 2
  if [ "$s" = "$P" ]; then  # format 2 (calibration and input check): the primary's
    quiet "$PY" -m gkmvlp.cli.fit_reliability --checkpoint "$d/cont" --corpus "$C" --synthetic "$d/synth" \
      --out "$d/rel" --threads 2 --seed "$s"
    quiet "$PY" -m gkmvlp.cli.export --checkpoint "$d/cont" --data "$d/synth" --metrics "$d/eval/metrics.json" \
      --reliability "$d/rel" --trained-on mixed --out "$b" --version "$V-s$s" --threads 2 --overwrite
  else  # only its classifier is used
    quiet "$PY" -m gkmvlp.cli.export --checkpoint "$d/cont" --data "$d/synth" --metrics "$d/eval/metrics.json" \
      --trained-on mixed --out "$b" --version "$V-s$s" --threads 2 --overwrite
    members+=(--member "$b")
  fi
done
E="$OUT/gkmvlp-tiny-mixed-$V"
log "building the ensemble (calibration refitted on the real validation films)"
rm -rf "$E"
"$PY" -m gkmvlp.cli.ensemble --primary "$PRIMARY" "${members[@]}" --corpus "$C" --out "$E" --version "$V" \
  --threads 2 --seed "$P" > "$DIR/ensemble.json"
log "real-film evaluation of the ensemble (test films)"
quiet "$PY" -m gkmvlp.cli.real_eval --bundle "$E" --corpus "$C" --out "$DIR/real-eval" --threads 2 --stamp
log "done: $E"
