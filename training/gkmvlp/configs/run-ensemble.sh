#!/usr/bin/env bash
# The 0.6.0 trial: one self-supervised pre-training, two fine-tunes (+ JSRT continuation) side by side with other
# seeds, member bundles exported, the ensemble bundle built (gkmvlp.cli.ensemble) and evaluated on real films.
# Resumable: finished stages leave a DONE file and are skipped. Needs the assembled corpus (run-real.sh makes it).
#   nohup training/gkmvlp/configs/run-ensemble.sh > training/runs/ensemble.log 2>&1 &
# Knobs (env): ENS_DIR, ENS_CORPUS, ENS_SEED (pre-training and member A; member B uses ENS_SEED + 1),
#   ENS_VERSION, ENS_OUT (folder of the three bundles). The real-film evaluation looks at the TEST films: write the
#   rule that decides on the figure before running it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DIR="$(realpath -m "${ENS_DIR:-$ROOT/training/runs/ensemble}")"
C="$(realpath -m "${ENS_CORPUS:-$ROOT/.local/real-corpus}")"
OUT="$(realpath -m "${ENS_OUT:-$ROOT/.local/trial-bundles}")"
S="${ENS_SEED:-3}"
V="${ENS_VERSION:-0.6.0}"
THREADS=2
LOG_TAG=ensemble
source "$ROOT/training/gkmvlp/configs/lib.sh"
cd "$ROOT/training"
[ -f "$C/manifest.jsonl" ] || { echo "no corpus at $C (training/gkmvlp/configs/run-real.sh assembles it)" >&2; exit 2; }
mkdir -p "$DIR" "$OUT"
if [ ! -f "$DIR/synth/dataset.json" ]; then
  log "synthetic set (seed $S)"
  quiet "$PY" -m gkmvlp.cli.generate --out "$DIR/synth" --seed "$S" --train 5000 --val 150 --test 250 --image-size 128 \
    --dicom 0 --previews 0 --workers 2 --overwrite
fi
if [ ! -f "$DIR/pretrain/DONE" ]; then
  log "self-supervised pre-training (seed $S)"
  quiet "$PY" -m gkmvlp.cli.pretrain --config "$CFG/real-pretrain-ssl.json" --size tiny --data "$DIR/synth" \
    --real-corpus "$C" --out "$DIR/pretrain" --steps 2900 --threads 2 --seed "$S"
  touch "$DIR/pretrain/DONE"
fi
member() {  # seed: the member recipe's fine-tunes, one thread (two members share the two cores)
  member_finetunes "$C" "$DIR/synth" "$1" "$DIR/pretrain" "$DIR/ft$1" "$DIR/cont$1"
}
log "fine-tuning members with seeds $S and $((S + 1)) side by side"
two_at_a_time member "$DIR/member" "$S" "$((S + 1))"
A="$OUT/gkmvlp-tiny-mixed-$V-a" B="$OUT/gkmvlp-tiny-mixed-$V-b" E="$OUT/gkmvlp-tiny-mixed-$V"
log "exporting member A (format 2: calibration and input check) and member B (its classifier is all that is used)"
quiet "$PY" -m gkmvlp.cli.evaluate --checkpoint "$DIR/cont$S" --data "$DIR/synth" --out "$DIR/eval-a" --threads 2
quiet "$PY" -m gkmvlp.cli.fit_reliability --checkpoint "$DIR/cont$S" --corpus "$C" --synthetic "$DIR/synth" \
  --out "$DIR/rel-a" --threads 2 --seed "$S"
quiet "$PY" -m gkmvlp.cli.export --checkpoint "$DIR/cont$S" --data "$DIR/synth" --metrics "$DIR/eval-a/metrics.json" \
  --reliability "$DIR/rel-a" --trained-on mixed --out "$A" --version "$V-a" --threads 2 --overwrite
quiet "$PY" -m gkmvlp.cli.evaluate --checkpoint "$DIR/cont$((S + 1))" --data "$DIR/synth" --out "$DIR/eval-b" --threads 2
quiet "$PY" -m gkmvlp.cli.export --checkpoint "$DIR/cont$((S + 1))" --data "$DIR/synth" \
  --metrics "$DIR/eval-b/metrics.json" --trained-on mixed --out "$B" --version "$V-b" --threads 2 --overwrite
log "building the ensemble (calibration refitted on the real validation films)"
rm -rf "$E"
"$PY" -m gkmvlp.cli.ensemble --primary "$A" --member "$B" --corpus "$C" --out "$E" --version "$V" --threads 2 \
  --seed "$S" > "$DIR/ensemble.json"
log "real-film evaluation of the ensemble (test films)"
quiet "$PY" -m gkmvlp.cli.real_eval --bundle "$E" --corpus "$C" --out "$DIR/real-eval" --threads 2 --stamp
log "done: $E"
